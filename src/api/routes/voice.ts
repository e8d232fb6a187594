/**
 * Twilio's voice webhooks (spec voice-worker-sdk-console.md A1, A3–A5): the caller side goes to the
 * {@link VoiceInbound} and comes back as TwiML (src/voice/twiml.ts); what concerns the legs the
 * Twilio adapter placed goes through {@link TwilioVoice}.
 *
 * | route | Twilio calls it for | does |
 * |---|---|---|
 * | `/voice/incoming` | the number's Voice URL | `inbound.incoming` → TwiML |
 * | `/voice/gather` | `<Gather action>` | `inbound.gathered` (`Digits` / `SpeechResult`; neither = timeout, `null`) → TwiML |
 * | `/voice/hold` | `<Enqueue waitUrl>` | notes the caller's `QueueSid`; `inbound.hold` → TwiML |
 * | `/voice/enqueue` | `<Enqueue action>` | the caller left the queue (`QueueResult`) → TwiML |
 * | `/voice/status` | call status callbacks | `legStatus` (and `bridged` for `call`) → 204 |
 * | `/voice/bridged` | `<Queue url>` of a `dequeue` leg | `bridged` → empty TwiML |
 * | `/voice/join` | the caller moved to a `conference` | `bridged` → `<Dial><Conference>` |
 * | `/voice/conference-status` | conference status callbacks | the caller leaving → `legStatus` → 204 |
 *
 * Without a Twilio adapter (`twilio: null`) the last three are not served, and `/voice/status` and
 * `/voice/enqueue` report the caller's leg straight to the inbound side.
 *
 * Every request's `X-Twilio-Signature` is checked when an auth token is configured, over our public
 * URL (`publicUrl`, else the adapter's, else the request's own origin) plus the path and query:
 * a mismatch is a 403 in Twilio's error shape. A caller is never answered with a 5xx: when the
 * inbound side fails, the error is logged and the caller hears an apology and is hung up; a
 * `refused` answer is logged as a warning and played as it is.
 */
import { signedParams } from '../twilio-webhook.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VoiceAnswer, VoiceInbound } from '../../callflows/voice-port.ts';
import { callStatusOf, enqueueResult, joinTwiml, renderTwiml, voiceUrls, type TwilioParams, type VoiceUrls } from '../../voice/twiml.ts';
import type { TwilioVoice } from '../../voice/twilio-voice.ts';

/** What {@link voiceRoutes} serves from. */
export interface VoiceRoutesOptions {
  /** The caller side (the runtime's voice hosting). */
  inbound: VoiceInbound;
  /** The Twilio adapter (its webhooks and its caller → queue map), or null when none is configured. */
  twilio: TwilioVoice | null;
  /** Twilio auth token that signs the webhooks; null: signatures are not checked. */
  authToken: string | null;
  /** Our public base URL as Twilio calls it (default: the adapter's, else the request's origin). */
  publicUrl?: string;
  /** Clock for the `at` of caller statuses without an adapter, epoch ms (default: the adapter's, else Date.now). */
  now?: () => number;
}

/** What a caller hears when something went wrong on our side. */
const APOLOGY: VoiceAnswer = { verbs: [{ verb: 'say', text: 'We are sorry, something went wrong. Goodbye.' }, { verb: 'hangup' }] };

function queryOf(req: FastifyRequest): TwilioParams {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) out[k] = Array.isArray(v) ? String(v[0] ?? '') : String(v);
  return out;
}

const xml = (reply: FastifyReply, body: string): FastifyReply => reply.code(200).header('content-type', 'text/xml').send(body);

/**
 * Registers the voice webhooks (see the module comment) on `app`, which must parse
 * `application/x-www-form-urlencoded` bodies into a record (app.ts does).
 */
export function voiceRoutes(app: FastifyInstance, options: VoiceRoutesOptions): void {
  const { inbound, twilio, authToken } = options;
  const now = options.now ?? twilio?.now ?? Date.now;
  const configuredBase = options.publicUrl?.replace(/\/+$/, '');
  // The adapter's URL is read per request: a server that listens on port 0 sets it after listening.
  const baseOf = (req: FastifyRequest): string => configuredBase ?? twilio?.publicUrl ?? `${req.protocol}://${req.host}`;
  const urlsOf = (req: FastifyRequest): VoiceUrls => voiceUrls(baseOf(req));

  /** The request's parameters once its signature checks out; null after answering 403. */
  const signed = (req: FastifyRequest, reply: FastifyReply): Record<string, string> | null => signedParams(req, reply, authToken, baseOf(req), 'voice webhook');

  /** Renders a caller-side answer; a refusal is logged. */
  const answer = (req: FastifyRequest, reply: FastifyReply, a: VoiceAnswer): FastifyReply => {
    if (a.refused !== undefined) req.log.warn({ callSid: (req.body as Record<string, unknown> | undefined)?.['CallSid'], refused: a.refused }, `voice call refused: ${a.refused}`);
    return xml(reply, renderTwiml(a, urlsOf(req)));
  };

  /** A caller-facing TwiML route: the handler's TwiML, or the apology when it throws. */
  const callerRoute = (path: string, handle: (params: Record<string, string>, req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>): void => {
    app.post(path, async (req, reply) => {
      const params = signed(req, reply);
      if (params === null) return reply;
      try {
        return await handle(params, req, reply);
      } catch (err) {
        req.log.error({ err, url: req.url, callSid: params['CallSid'] }, 'voice webhook failed; the caller hears an apology');
        return xml(reply, renderTwiml(APOLOGY, urlsOf(req)));
      }
    });
  };

  callerRoute('/voice/incoming', async (params, req, reply) => {
    const call = { callSid: params['CallSid'] ?? '', from: params['From'] ?? '', to: params['To'] ?? '', parameters: params };
    return answer(req, reply, await inbound.incoming(call));
  });

  callerRoute('/voice/gather', async (params, req, reply) => {
    const digits = params['Digits'] ?? '';
    const speech = params['SpeechResult'] ?? '';
    const given = digits === '' && speech === '' ? null : { ...(digits === '' ? {} : { digits }), ...(speech === '' ? {} : { speech }) };
    return answer(req, reply, await inbound.gathered(params['CallSid'] ?? '', given));
  });

  callerRoute('/voice/hold', async (params, req, reply) => {
    const callSid = params['CallSid'] ?? '';
    if (twilio !== null && params['QueueSid'] !== undefined) twilio.noteQueue(callSid, params['QueueSid']);
    return answer(req, reply, await inbound.hold(callSid));
  });

  callerRoute('/voice/enqueue', async (params, _req, reply) => {
    if (twilio !== null) return xml(reply, await twilio.handleEnqueueResult(params));
    const result = enqueueResult(params);
    if (result.callerEnded) await inbound.legStatus({ callSid: params['CallSid'] ?? '', status: 'completed', at: now() });
    return xml(reply, result.twiml);
  });

  /** A status callback: 204; a failure is logged (Twilio ignores the answer, and never retries it). */
  const statusRoute = (path: string, handle: (params: Record<string, string>, query: TwilioParams) => Promise<void>): void => {
    app.post(path, async (req, reply) => {
      const params = signed(req, reply);
      if (params === null) return reply;
      try {
        await handle(params, queryOf(req));
      } catch (err) {
        req.log.error({ err, url: req.url, callSid: params['CallSid'] }, 'voice status callback failed');
      }
      return reply.code(204).send();
    });
  };

  statusRoute('/voice/status', async (params, query) => {
    if (twilio !== null) return twilio.handleStatus(params, query);
    const status = callStatusOf(params['CallStatus']);
    if (params['CallSid'] === undefined || params['CallSid'] === '' || status === null) return;
    await inbound.legStatus({ callSid: params['CallSid'], status, at: now() });
  });

  if (twilio === null) return;

  statusRoute('/voice/conference-status', (params, query) => twilio.handleConferenceStatus(params, query));

  // The bridge goes ahead on Twilio whatever we answer; when our side fails the caller is still
  // connected (an apology and a hang-up would drop a caller an agent is about to take), and the
  // error is logged.
  app.post('/voice/bridged', async (req, reply) => {
    const params = signed(req, reply);
    if (params === null) return reply;
    try {
      return xml(reply, await twilio.handleBridged(params, queryOf(req)));
    } catch (err) {
      req.log.error({ err, url: req.url, callSid: params['CallSid'] }, 'voice bridged webhook failed; the bridge goes ahead');
      return xml(reply, renderTwiml({ verbs: [] }, urlsOf(req)));
    }
  });

  // Likewise the caller sent to a conference joins it even when our side fails.
  app.post('/voice/join', async (req, reply) => {
    const params = signed(req, reply);
    if (params === null) return reply;
    const query = queryOf(req);
    try {
      return xml(reply, await twilio.handleJoin(params, query));
    } catch (err) {
      const room = query['conference'];
      req.log.error({ err, url: req.url, callSid: params['CallSid'] }, room ? 'voice join webhook failed; the caller joins anyway' : 'voice join webhook failed');
      return xml(reply, room ? joinTwiml(room, query['end'] === 'true') : renderTwiml(APOLOGY, urlsOf(req)));
    }
  });
}
