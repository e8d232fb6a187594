/**
 * Mindful-compatible aliases of the callbacks API (spec callbacks-and-ewt §1.5, §3.2), for flows
 * written against Mindful's Scheduler API. JSON in and out, Mindful-shaped answers and errors
 * (`{status: "error", error: <Mindful code>, message}`), HTTP Basic auth with the account's
 * credentials (Mindful uses its own API keys; we have the account's). A widget is a call target:
 * `widget_id` = its `CT…` SID, looked up across the account's workspaces.
 *
 * - `GET  /api/widget/{widget_id}` — the offer (same as `…/CallTargets/{CT}/Status`)
 * - `POST /api/widget/{widget_id}/request_callback` — register: `contact_number`,
 *   `appointment_time` (UTC Unix seconds, one advertised slot; absent = ASAP), `user_data`
 *   (strings; filtered to the target's datastore template keys when it has one), `channel`
 * - `POST /v2/callback/agentAnswer` — `{data: {ani, metadata: {agentId, queueId}}}` (§3.2)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CallbackError } from '../../callbacks/errors.ts';
import type { CallbackService, Host } from '../../runtime/callback-service.ts';
import type { CallTarget } from '../../callbacks/call-target.ts';
import type { WorkspaceEngine } from '../../engine/index.ts';
import { authenticate } from '../auth.ts';
import type { Api } from '../context.ts';
import { ApiError } from '../twilio-errors.ts';
import { offerStatus } from './callbacks.ts';

/** HTTP status of a Mindful error code. */
const STATUS: Record<string, number> = { NotFound: 404, InvalidToken: 401, DuplicateRequest: 409, RequestRefusedDueToOperationMode: 403 };

function mindfulError(reply: FastifyReply, code: string, message: string): FastifyReply {
  return reply.code(STATUS[code] ?? 400).send({ status: 'error', error: code, message });
}

/** Runs `fn`; a CallbackError or an auth failure becomes a Mindful-shaped error answer. */
async function mindful(reply: FastifyReply, fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CallbackError) return mindfulError(reply, e.code, e.message);
    if (e instanceof ApiError && e.status === 401) return mindfulError(reply, 'InvalidToken', 'Authenticate with the Account SID and Auth Token');
    throw e;
  }
}

/** Registers the Mindful-compatible routes listed in the module comment on `app`; errors answer Mindful-shaped. */
export function mindfulRoutes(app: FastifyInstance, api: Api, service: CallbackService): void {
  const widget = (req: FastifyRequest): { host: Host; engine: WorkspaceEngine; target: CallTarget } => {
    const account = authenticate(api.runtime, req).accountSid;
    const id = String((req.params as Record<string, string>)['widgetId'] ?? '');
    for (const host of service.hostsOf(account)) {
      const target = host.center.getCallTarget(id);
      const engine = api.runtime.workspace(account, host.workspaceSid);
      if (target !== undefined && engine !== undefined) return { host, engine, target };
    }
    throw new CallbackError('NotFound', `widget ${id} was not found`, 'widget_id');
  };

  app.get('/api/widget/:widgetId', async (req, reply) =>
    mindful(reply, async () => {
      const { host, engine, target } = widget(req);
      const o = await offerStatus(service, engine, host, target, 'api');
      return { widget_state: o['widget_state'], message: o['message'], offer_asap: o['offer_asap'], offer_scheduled: o['offer_scheduled'], ewt: o['ewt'], scheduled_timeslots: o['scheduled_timeslots'] };
    }),
  );

  app.post('/api/widget/:widgetId/request_callback', async (req, reply) =>
    mindful(reply, async () => {
      const { host, target } = widget(req);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const at = body['appointment_time'];
      if (at !== undefined && at !== null && (typeof at !== 'number' || !Number.isInteger(at))) throw new CallbackError('InvalidParameters', 'appointment_time must be UTC Unix seconds', 'appointment_time');
      const userData = body['user_data'] ?? {};
      if (userData === null || typeof userData !== 'object' || Array.isArray(userData)) throw new CallbackError('InvalidParameters', 'user_data must be an object', 'user_data');
      const template = target.datastoreTemplateSid === null ? undefined : host.datastore.getTemplate(target.datastoreTemplateSid);
      const context: Record<string, string> = {};
      for (const [k, v] of Object.entries(userData)) {
        if (template !== undefined && !template.keys.includes(k)) continue;
        if (typeof v !== 'string') throw new CallbackError('InvalidParameters', `user_data.${k} must be a string`, `user_data.${k}`);
        context[k] = v;
      }
      const channel = typeof body['channel'] === 'string' ? body['channel'] : 'api';
      const out = await service.run(host, (center, now) =>
        center.register({ callTargetSid: target.sid, phoneNumber: body['contact_number'] as string, context, channel, ...(typeof at === 'number' ? { appointmentTime: at * 1000 } : {}) }, now),
      );
      const c = out.callback;
      return {
        status: 'success',
        message: c.type === 'asap' ? 'Callback requested' : 'Callback scheduled',
        callback_request_id: c.sid,
        requested_at: Math.floor(c.createdAt / 1000),
        ...(c.type === 'asap' ? { ewt: c.ecbtSeconds } : { appointment_time: Math.floor(c.window.start / 1000) }),
      };
    }),
  );

  app.post('/v2/callback/agentAnswer', async (req, reply) =>
    mindful(reply, async () => {
      const account = authenticate(api.runtime, req).accountSid;
      const data = ((req.body ?? {}) as { data?: { ani?: unknown; metadata?: { queueId?: unknown } } }).data;
      if (data === undefined || typeof data.ani !== 'string') throw new CallbackError('ContactRequired', 'data.ani is required', 'data.ani');
      const queueId = typeof data.metadata?.queueId === 'string' ? data.metadata.queueId : null;
      for (const host of service.hostsOf(account)) {
        if (queueId !== null && !host.center.listCallTargets().some((t) => t.taskQueueSid === queueId)) continue;
        const out = await service.run(host, (center, now) => center.agentAnswer(data.ani as string, now));
        if (out.callbackSid !== null) return { status: 'success', callback_request_id: out.callbackSid };
      }
      return { status: 'success', callback_request_id: null };
    }),
  );
}
