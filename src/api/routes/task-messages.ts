/**
 * `GET|POST /v1/Workspaces/{WS}/Tasks/{WT}/Messages` — our extension: the messages of the
 * conversation a task stands for (the task's `conversationSid` attribute, as Flex and our
 * interactions write it), for an agent desktop holding a worker access token. Under the task's path,
 * the access rules of tasks apply unchanged (auth.ts `authorizeGrant`: a worker reaches only the
 * tasks it holds or held a reservation for); the Conversations API itself stays account-wide.
 *
 * - `GET` → `{ conversation_sid, state, date_inactive, date_closed, messages: [{index, author, body,
 *   date_created}] }` (instants ISO 8601; `date_inactive` is when the conversation's inactive timer
 *   fires, the agent desktop's countdown); `After=n` returns only messages after index `n`.
 * - `POST Body` (≤ 1,600 characters) adds a message: with a worker token its author is the
 *   worker's friendly name; with account credentials `Author` is required. 201 with the message.
 *   A closed conversation answers 400 (50377), as the Conversations API does.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Message } from '../../conversations/model.ts';
import { accountOf, bodyOf, pathParam, principalOf, queryOf, workspaceOf, type Api } from '../context.ts';
import { normalizeSid } from '../params.ts';
import { ApiError, badParameter, notFound } from '../twilio-errors.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Tasks/:TaskSid/Messages';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const messageJson = (m: Message): Record<string, unknown> => ({ index: m.index, author: m.author, body: m.body, date_created: iso(m.dateCreated) });

/** Registers `GET|POST /v1/Workspaces/{WS}/Tasks/{WT}/Messages` (see the module comment for shapes and errors). */
export function taskMessageRoutes(app: FastifyInstance, api: Api): void {
  /** The task's conversation SID; 404 when the task or its conversation is unknown. */
  const conversationOf = (req: FastifyRequest): { accountSid: string; conversationSid: string; taskSid: string; workerName: string | null } => {
    const engine = workspaceOf(api, req);
    const taskSid = normalizeSid(pathParam(req, 'TaskSid'));
    const task = engine.tasks.get(taskSid);
    if (task === undefined) throw notFound(`Task ${taskSid}`);
    const conversationSid = task.attributes['conversationSid'] ?? task.attributes['conversation_sid'];
    if (typeof conversationSid !== 'string') throw new ApiError(404, 20404, `Task ${taskSid} is not a conversation: its attributes name no conversationSid`);
    const accountSid = accountOf(req);
    if (api.runtime.conversations.center(accountSid).conversation(conversationSid) === undefined) throw notFound(`Conversation ${conversationSid}`);
    const workerSid = principalOf(req).token?.workerSid;
    const workerName = workerSid === undefined || workerSid === null ? null : (engine.workers.get(workerSid)?.friendlyName ?? null);
    return { accountSid, conversationSid, taskSid, workerName };
  };

  app.get(BASE, async (req) => {
    const { accountSid, conversationSid } = conversationOf(req);
    const center = api.runtime.conversations.center(accountSid);
    const c = center.conversation(conversationSid)!;
    const after = queryOf(req).integer('After');
    const messages = center.messages(conversationSid).filter((m) => after === undefined || m.index > after);
    return { conversation_sid: c.sid, state: c.state, date_inactive: iso(c.dateInactive), date_closed: iso(c.dateClosed), messages: messages.map(messageJson) };
  });

  app.post(BASE, async (req, reply) => {
    const { accountSid, conversationSid, workerName } = conversationOf(req);
    const body = bodyOf(req);
    const text = body.requiredString('Body');
    const author = workerName ?? body.string('Author');
    if (author === undefined || author === '') throw badParameter('Author', 'Author is required with account credentials (a worker token writes as its worker)');
    const r = await api.runtime.conversations.write(accountSid, (center, at) => center.addMessage(conversationSid, { author, body: text }, { at, source: 'API' }));
    return reply.code(201).send(messageJson(r.message));
  });
}
