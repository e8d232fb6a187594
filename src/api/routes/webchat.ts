/**
 * The web chat endpoint a customer's browser uses (issue 13 item 4; docs/conversations.md "Web
 * chat"). Public — outside `/v1`, no account credentials — and small:
 *
 * | route | does |
 * |---|---|
 * | `POST /webchat/v1/Sessions` (`Address`, `Name`?, `Body`?) | a guest's conversation on a web chat address (type `chat`, auto-creation enabled; its built-in route makes the task, channel type `web`) → 201 `{session_token, conversation_sid, identity}` |
 * | `POST /webchat/v1/Session/Messages` (`Body`) | the guest's message → 201 `{index, date_created}`; 400/50377 when the conversation is closed |
 * | `GET /webchat/v1/Session/Messages?After=n` | the messages after index n (at most 100, by index) and the conversation's state |
 *
 * The session token goes in `Authorization: Bearer <token>` (never in the path, so it stays out of
 * access logs and proxies' URLs). An unknown, malformed or missing token is a 401 that says no more
 * (same body whatever was wrong). Bodies are form-encoded or JSON, at most {@link WEBCHAT_BODY_LIMIT}
 * bytes; `Body` at most 1,600 characters (the core's rule).
 *
 * CORS: the page's origin must be on the allow-list (`origins`, default `*`). Tokens travel in a
 * header, never in cookies, so no request carries ambient credentials and `*` is safe to answer;
 * with a list, a request whose `Origin` is not on it is refused (403) — a page elsewhere cannot
 * even start sessions through its visitors' browsers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConversationError } from '../../conversations/model.ts';
import type { ConversationsHosting, WebChatSession } from '../../runtime/conversations-hosting.ts';
import { isoDate } from '../serializers.ts';
import { ApiError, errorBody } from '../twilio-errors.ts';

/** Largest request body on the web chat routes (bytes): a 1,600-character message, encoded, and room to spare. */
export const WEBCHAT_BODY_LIMIT = 16 * 1024;

/** Most messages one `GET …/Messages` returns (the page asks again after the last index). */
export const WEBCHAT_PAGE = 100;

export interface WebChatRoutesOptions {
  conversations: ConversationsHosting;
  /** Origins allowed to call from a browser: `*` (default) or exact origins (`https://shop.example.com`). */
  origins?: '*' | readonly string[];
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const send = (reply: FastifyReply, e: ApiError): FastifyReply => reply.code(e.status).header('cache-control', 'no-store').send(errorBody(e));

const unauthorized = (reply: FastifyReply): FastifyReply =>
  send(reply.header('www-authenticate', 'Bearer realm="Switchboard web chat"'), new ApiError(401, 20003, 'Authenticate'));

function fromCore(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof ConversationError) return send(reply, new ApiError(error.status, error.code, error.message, error.field ?? undefined));
  throw error;
}

/** A string parameter of a form or JSON body (first value of a repeated name), or undefined. */
function param(req: FastifyRequest, name: string): string | undefined {
  const body = req.body;
  if (body === null || typeof body !== 'object') return undefined;
  const v = (body as Record<string, unknown>)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

/** Registers the web chat routes (see the module comment) on `app` (outside `/v1`). */
export function webChatRoutes(app: FastifyInstance, options: WebChatRoutesOptions): void {
  const { conversations } = options;
  const origins = options.origins ?? '*';

  void app.register(async (web) => {
    // CORS on every answer of these routes (errors included); a listed-origins setting refuses others.
    web.addHook('onRequest', async (req, reply) => {
      const origin = req.headers.origin;
      if (origin === undefined) return;
      if (origins === '*') {
        void reply.header('access-control-allow-origin', '*');
        return;
      }
      void reply.header('vary', 'Origin');
      if (!origins.includes(origin)) return send(reply, new ApiError(403, 20403, 'This origin may not use the web chat'));
      void reply.header('access-control-allow-origin', origin);
    });
    const preflight = async (_req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      void reply
        .code(204)
        .header('access-control-allow-methods', 'GET, POST')
        .header('access-control-allow-headers', 'Authorization, Content-Type')
        .header('access-control-max-age', '600')
        .send();
    };
    web.options('/webchat/v1/Sessions', preflight);
    web.options('/webchat/v1/Session/Messages', preflight);

    /** The session of the request's bearer token, or null after answering 401. */
    const sessionOf = (req: FastifyRequest, reply: FastifyReply): WebChatSession | null => {
      const m = /^Bearer ([^\s]+)$/i.exec(String(req.headers.authorization ?? ''));
      const token = m?.[1];
      const session = token !== undefined && TOKEN.test(token) ? conversations.webChatSession(token) : undefined;
      if (session === undefined) {
        void unauthorized(reply);
        return null;
      }
      return session;
    };

    web.post('/webchat/v1/Sessions', { bodyLimit: WEBCHAT_BODY_LIMIT }, async (req, reply) => {
      const address = param(req, 'Address');
      if (address === undefined || address === '') return send(reply, new ApiError(400, 20001, 'Missing required parameter Address in the post body', 'Address'));
      const body = param(req, 'Body');
      const name = param(req, 'Name');
      try {
        const started = await conversations.startWebChat({ address, name: name ?? null, body: body === undefined || body === '' ? null : body });
        if (started === null) return send(reply, new ApiError(404, 20404, 'The requested resource was not found'));
        return reply.code(201).header('cache-control', 'no-store').send({ session_token: started.token, conversation_sid: started.conversationSid, identity: started.identity });
      } catch (error) {
        return fromCore(reply, error);
      }
    });

    web.post('/webchat/v1/Session/Messages', { bodyLimit: WEBCHAT_BODY_LIMIT }, async (req, reply) => {
      const session = sessionOf(req, reply);
      if (session === null) return reply;
      const body = param(req, 'Body');
      if (body === undefined || body === '') return send(reply, new ApiError(400, 20001, 'Missing required parameter Body in the post body', 'Body'));
      try {
        const m = await conversations.webChatSay(session, body);
        return reply.code(201).header('cache-control', 'no-store').send({ index: m.index, date_created: isoDate(m.dateCreated) });
      } catch (error) {
        return fromCore(reply, error);
      }
    });

    web.get('/webchat/v1/Session/Messages', async (req, reply) => {
      const session = sessionOf(req, reply);
      if (session === null) return reply;
      const raw = (req.query as Record<string, unknown>)['After'];
      const after = raw === undefined || raw === '' ? -1 : Number(raw);
      if (!Number.isInteger(after) || after < -1) return send(reply, new ApiError(400, 20001, 'After must be a message index', 'After'));
      const center = conversations.center(session.accountSid);
      const conversation = center.conversation(session.conversationSid);
      if (conversation === undefined) return unauthorized(reply);
      const messages = center
        .messages(session.conversationSid)
        .filter((m) => m.index > after)
        .slice(0, WEBCHAT_PAGE)
        .map((m) => ({ index: m.index, author: m.author, body: m.body, date_created: isoDate(m.dateCreated) }));
      return reply.header('cache-control', 'no-store').send({ messages, state: conversation.state, identity: session.identity });
    });
  });
}
