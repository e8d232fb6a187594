/**
 * The callbacks REST API (spec callbacks-and-ewt §1.5, §3.2, §5; docs/api-callbacks.md), in the
 * TaskRouter style: form-encoded PascalCase parameters, snake_case JSON with `url`/`links`,
 * paged lists with `meta`, Twilio-shaped errors. Under `/v1/Workspaces/{WS}` with the same Basic
 * auth and account isolation as the rest of `/v1`:
 *
 * - `CallTargets` (create, list, fetch, update, delete), `CallTargets/{CT}/Status` (the offer),
 *   `CallTargets/{CT}/Callbacks` (register, list), `CallTargets/{CT}/AgentAnswer` (§3.2)
 * - `Callbacks` (list with filters), `Callbacks/{CB}` (fetch; update: cancel or reschedule)
 * - `DataSetTemplates` (create — the token is shown once —, list, fetch, delete is not offered)
 *
 * and, outside `/v1`, the datastore's Mindful-shaped endpoints with the template's Bearer token:
 * `POST /api/v1/data_sets`, `GET /api/v1/data_sets/search?customer_contact_number=`.
 *
 * Every operation goes through the CallbackService (one at a time, persisted before the answer).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallbackRequest, CallTarget, CallTargetInput, Strategy } from '../../callbacks/index.ts';
import { CALLBACK_STATUSES, CallbackError, hasTwilioWebhooks, liveEwtSeconds, rescheduleChoices } from '../../callbacks/index.ts';
import type { CallbackService } from '../../runtime/callback-service.ts';
import type { WorkspaceEngine } from '../../engine/index.ts';
import { isSid } from '../../util/sid.ts';
import { accountOf, bodyOf, originOf, pageRequest, pathOf, pathParam, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { isoDate, workspaceUrl } from '../serializers.ts';
import type { Params } from '../params.ts';
import { ApiError, badParameter, notFound } from '../twilio-errors.ts';
import { twilioSignature } from '../../runtime/signature.ts';

const WS = '/v1/Workspaces/:WorkspaceSid';


/**
 * A CallbackError as a Twilio-shaped API error. The Mindful code starts the message
 * (`DuplicateRequest: …`). Status: NotFound 404/20404, InvalidToken 401/20003, DuplicateRequest
 * 409/20409, RequestRefusedDueToOperationMode 403/20403, everything else 400/20001.
 */
export function fromCallbackError(e: CallbackError, path: string): ApiError {
  const message = `${e.code}: ${e.message}`;
  const field = e.field ?? undefined;
  switch (e.code) {
    case 'NotFound':
      return new ApiError(404, 20404, `The requested resource ${path} was not found (${e.message})`, field);
    case 'InvalidToken':
      return new ApiError(401, 20003, message, field);
    case 'DuplicateRequest':
      return new ApiError(409, 20409, message, field);
    case 'RequestRefusedDueToOperationMode':
      return new ApiError(403, 20403, message, field);
    default:
      return new ApiError(400, 20001, message, field);
  }
}

/** Runs `fn`, turning a CallbackError into the API error above. */
async function guarded<T>(req: FastifyRequest, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof CallbackError) throw fromCallbackError(error, pathOf(req));
    throw error;
  }
}

/** JSON of a call target: identity, the commonest settings flat, everything in `configuration` (camelCase, as stored). */
export function callTargetJson(origin: string, accountSid: string, ws: string, t: CallTarget): Record<string, unknown> {
  const url = `${workspaceUrl(origin, ws)}/CallTargets/${t.sid}`;
  return {
    account_sid: accountSid,
    workspace_sid: ws,
    sid: t.sid,
    friendly_name: t.friendlyName,
    task_queue_sid: t.taskQueueSid,
    workflow_sid: t.workflowSid,
    task_channel: t.taskChannel,
    strategy: t.strategy,
    caller_id: t.callerId,
    register_callbacks: t.registerCallbacks,
    process_callbacks: t.processCallbacks,
    max_requested_callbacks: t.maxRequestedCallbacks,
    return_priority: t.returnPriority,
    ring_timeout: t.ringTimeoutSeconds,
    max_retries: t.retry.maxRetries,
    datastore_template_sid: t.datastoreTemplateSid,
    configuration: t,
    url,
    links: { status: `${url}/Status`, callbacks: `${url}/Callbacks`, agent_answer: `${url}/AgentAnswer` },
  };
}

/** JSON of a callback request (spec §1.2). Times ISO-8601 UTC; durations seconds. */
export function callbackJson(origin: string, accountSid: string, ws: string, c: CallbackRequest, position: number | null): Record<string, unknown> {
  return {
    account_sid: accountSid,
    workspace_sid: ws,
    sid: c.sid,
    call_target_sid: c.callTargetSid,
    phone_number: c.phoneNumber,
    raw_number: c.rawNumber,
    type: c.type,
    strategy: c.strategy,
    status: c.status,
    status_reason: c.statusReason,
    channel: c.channel,
    ecbt: c.ecbtSeconds,
    current_ecbt: c.currentEcbtSeconds,
    estimated_for: isoDate(c.estimatedFor),
    appointment_time: c.type === 'scheduled' ? isoDate(c.window.start) : null,
    window_start: isoDate(c.window.start),
    window_end: isoDate(c.window.end),
    expires_at: isoDate(c.expiresAt),
    virtual_start_time: isoDate(c.virtualStartTime),
    virtual_queue_position: position,
    priority: c.priority,
    original_task_sid: c.originalTaskSid,
    task_sid: c.taskSid,
    reservation_sid: c.reservationSid,
    worker_sid: c.workerSid,
    context: c.context,
    attempts: c.attempts.map((a) => ({ n: a.n, leg: a.leg, started_at: isoDate(a.startedAt), ended_at: isoDate(a.endedAt), result: a.result, dial_key: a.dialKey, dialed_at: isoDate(a.dialedAt), call_sid: a.callSid })),
    date_created: isoDate(c.createdAt),
    date_updated: isoDate(c.updatedAt),
    url: `${workspaceUrl(origin, ws)}/Callbacks/${c.sid}`,
    links: { call_target: `${workspaceUrl(origin, ws)}/CallTargets/${c.callTargetSid}`, ...(c.taskSid !== null ? { task: `${workspaceUrl(origin, ws)}/Tasks/${c.taskSid}` } : {}) },
  };
}

/** Parses `Context` (a JSON object of strings) or throws 400 naming it. */
function contextOf(body: Params): Record<string, string> | undefined {
  const raw = body.json('Context');
  if (raw === undefined) return undefined;
  const v = JSON.parse(raw) as unknown;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badParameter('Context', 'Context must be a JSON object of string values');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw badParameter('Context', `Context.${k} must be a string`);
  return v as Record<string, string>;
}

/** Call target settings from form parameters: `Configuration` (JSON, CallTargetInput keys) overlaid by the flat parameters. */
function targetInput(body: Params, engine: WorkspaceEngine, sid: string, existing: CallTarget | undefined): CallTargetInput {
  const raw = body.json('Configuration');
  let config: Record<string, unknown> = {};
  if (raw !== undefined) {
    const v = JSON.parse(raw) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badParameter('Configuration', 'Configuration must be a JSON object');
    config = v as Record<string, unknown>;
  }
  const queueSid = body.sid('TaskQueueSid', 'WQ') ?? (config['taskQueueSid'] as string | undefined) ?? existing?.taskQueueSid;
  if (queueSid === undefined) throw badParameter('TaskQueueSid', 'Missing required parameter TaskQueueSid in the post body');
  if (!engine.queues.has(queueSid)) throw badParameter('TaskQueueSid', `TaskQueueSid ${queueSid} is not a task queue of this workspace`);
  const input: Record<string, unknown> = { ...config, sid, taskQueueSid: queueSid };
  const set = (key: string, v: unknown): void => {
    if (v !== undefined) input[key] = v;
  };
  set('friendlyName', body.string('FriendlyName'));
  set('strategy', body.oneOf<Strategy>('Strategy', ['customer_first', 'agent_first']));
  set('workflowSid', body.sid('WorkflowSid', 'WW'));
  set('callerId', body.string('CallerId'));
  set('taskChannel', body.string('TaskChannel'));
  set('registerCallbacks', body.boolean('RegisterCallbacks'));
  set('processCallbacks', body.boolean('ProcessCallbacks'));
  set('maxRequestedCallbacks', body.integer('MaxRequestedCallbacks', 0));
  set('returnPriority', body.integer('ReturnPriority', 0));
  set('ringTimeoutSeconds', body.integer('RingTimeout', 5, 600));
  set('minimumCallbackDelaySeconds', body.integer('MinimumCallbackDelay', 0));
  set('datastoreTemplateSid', body.string('DatastoreTemplateSid'));
  const maxRetries = body.integer('MaxRetries', 0, 20);
  if (maxRetries !== undefined) input['retry'] = { ...((input['retry'] as object | undefined) ?? {}), maxRetries };
  const minEwt = body.integer('OfferMinEwt', 0);
  if (minEwt !== undefined) input['offer'] = { ...((input['offer'] as object | undefined) ?? {}), minEwtSeconds: minEwt };
  return input as CallTargetInput;
}

/** The next `count` slot starts (epoch ms) at least the minimum delay ahead, within `daysOut`. */
function slotStarts(t: CallTarget, now: number, count: number): number[] {
  const slot = t.scheduling.slotMinutes * 60_000;
  const first = Math.ceil((now + t.minimumCallbackDelaySeconds * 1000) / slot) * slot;
  const out: number[] = [];
  for (let s = first; out.length < count && s < now + t.scheduling.daysOut * 86_400_000; s += slot) out.push(s);
  return out;
}

type Host = NonNullable<ReturnType<CallbackService['host']>>;

/**
 * The offer for a caller of `target` now (spec §1.5 Status, §4): widget state, phrases, ECBT as
 * `ewt` (Mindful's meaning), the caller's EWT, the next slots (UTC Unix seconds). Runs through
 * the service (the center's clock moves). Throws CallbackError.
 */
export async function offerStatus(service: CallbackService, engine: WorkspaceEngine, host: Host, target: CallTarget, channel: 'voice' | 'api', taskSid?: string): Promise<Record<string, unknown>> {
  // A caller already holding (TaskSid): the default predictor's estimate made when the task
  // entered the queue (src/analytics/ewt.ts, as in the replay). A caller about to queue has no
  // task to predict for yet: the QLm estimate over the queue as it is.
  if (taskSid !== undefined && !isSid(taskSid, 'WT')) throw new CallbackError('InvalidParameters', 'TaskSid must be a Task SID (WT followed by 32 hex digits)', 'TaskSid');
  const predicted = taskSid === undefined ? undefined : host.predictions.get(taskSid);
  const ewt = predicted !== undefined ? Math.round(predicted) : liveEwtSeconds(engine, target, host.center.statsOf(target.sid));
  const d = await service.run(host, (center, now) => ({ decision: center.offer(target.sid, { ewtSeconds: ewt, channel }, now), now }));
  const o = d.decision;
  return {
    call_target_sid: target.sid,
    widget_state: o.widgetState,
    reason: o.reason,
    message: o.ecbtPhrase ?? o.phrase,
    offer_asap: o.offerAsap,
    offer_scheduled: o.offerScheduled,
    ewt: o.ecbtSeconds,
    ecbt: o.ecbtSeconds,
    estimated_wait_time: o.ewtSeconds,
    wait_phrase: o.phrase,
    ecbt_phrase: o.ecbtPhrase,
    pending_callbacks: host.center.pendingCount(target.sid),
    reschedule_choices: o.ecbtSeconds === null ? [] : rescheduleChoices(o.ecbtSeconds),
    scheduled_timeslots: o.offerScheduled ? slotStarts(target, d.now, 8).map((s) => Math.floor(s / 1000)) : [],
  };
}

function bearer(req: FastifyRequest): string {
  const h = String(req.headers['authorization'] ?? '');
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m === null ? '' : (m[1] as string);
}

/** Registers the callbacks REST routes listed in the module comment on `app`; every operation runs through `service`. */
export function callbackRoutes(app: FastifyInstance, api: Api, service: CallbackService): void {
  /** The workspace's callback host (created on first use when `create`); 404 for another account's workspace. */
  const hostOf = (req: FastifyRequest, create: boolean) => {
    const engine = workspaceOf(api, req);
    const host = service.host(accountOf(req), engine.workspace.sid, create);
    return { engine, host };
  };
  const targetOf = (req: FastifyRequest) => {
    const { engine, host } = hostOf(req, false);
    const t = host?.center.getCallTarget(pathParam(req, 'Sid'));
    if (host === undefined || t === undefined) throw notFound(pathOf(req));
    return { engine, host, target: t };
  };
  const cbJson = (req: FastifyRequest, ws: string, c: CallbackRequest, position: number | null) => callbackJson(originOf(api, req), accountOf(req), ws, c, position);
  const ctJson = (req: FastifyRequest, ws: string, t: CallTarget) => callTargetJson(originOf(api, req), accountOf(req), ws, t);

  // ── call targets ──

  app.post(`${WS}/CallTargets`, async (req, reply) => {
    const { engine, host } = hostOf(req, true);
    const body = bodyOf(req);
    if (host === undefined) throw notFound(pathOf(req));
    const input = targetInput(body, engine, service.newSid('CT'), undefined);
    const t = await guarded(req, () => service.run(host, (center) => ({ target: center.putCallTarget(input) })));
    return reply.code(201).send(ctJson(req, engine.workspace.sid, t.target));
  });

  app.get(`${WS}/CallTargets`, async (req) => {
    const { engine, host } = hostOf(req, false);
    const items = host?.center.listCallTargets() ?? [];
    return page(pageRequest(api, req, 'call_targets'), items, (t) => t.sid, (t) => ctJson(req, engine.workspace.sid, t));
  });

  app.get(`${WS}/CallTargets/:Sid`, async (req) => {
    const { engine, target } = targetOf(req);
    return ctJson(req, engine.workspace.sid, target);
  });

  app.post(`${WS}/CallTargets/:Sid`, async (req) => {
    const { engine, host, target } = targetOf(req);
    const input = targetInput(bodyOf(req), engine, target.sid, target);
    const out = await guarded(req, () =>
      service.run(host, (center, now) => {
        const t = center.putCallTarget(input);
        // A changed target may let callbacks launch now (docs/callbacks.md "Driving the center" 5).
        return { ...center.advanceTo(now), target: t };
      }),
    );
    return ctJson(req, engine.workspace.sid, out.target);
  });

  app.delete(`${WS}/CallTargets/:Sid`, async (req, reply) => {
    const { host, target } = targetOf(req);
    const pending = host.center.pendingCount(target.sid);
    if (pending > 0) throw new ApiError(400, 20001, `Call target ${target.sid} has ${pending} pending callbacks: cancel them or turn RegisterCallbacks off first`, 'Sid');
    // The center has no removal: the service rebuilds it without the target and its (terminal) callbacks.
    await guarded(req, () => service.removeCallTarget(host, target.sid));
    return reply.code(204).send();
  });

  // ── offer ──

  app.get(`${WS}/CallTargets/:Sid/Status`, async (req) => {
    const { engine, host, target } = targetOf(req);
    const query = queryOf(req);
    const channel = query.oneOf('Channel', ['voice', 'api'] as const) ?? 'voice';
    const taskSid = query.string('TaskSid');
    const body = await guarded(req, () => offerStatus(service, engine, host, target, channel, taskSid));
    return { ...body, url: `${workspaceUrl(originOf(api, req), engine.workspace.sid)}/CallTargets/${target.sid}/Status` };
  });

  // ── callbacks ──

  app.post(`${WS}/CallTargets/:Sid/Callbacks`, async (req, reply) => {
    const { engine, host, target } = targetOf(req);
    const body = bodyOf(req);
    const phone = body.string('PhoneNumber');
    const appointment = body.date('AppointmentTime') ?? null;
    const context = contextOf(body);
    const channel = body.string('Channel');
    const ani = body.string('Ani');
    const originalTaskSid = body.sid('OriginalTaskSid', 'WT');
    let original: { sid: string; dateCreated: number; attributesJson: string } | null = null;
    if (originalTaskSid !== undefined) {
      const task = engine.tasks.get(originalTaskSid);
      if (task === undefined) throw badParameter('OriginalTaskSid', `OriginalTaskSid ${originalTaskSid} is not a task of this workspace`);
      if (task.assignmentStatus !== 'pending' && task.assignmentStatus !== 'reserved') throw badParameter('OriginalTaskSid', `task ${originalTaskSid} is ${task.assignmentStatus}, not waiting`);
      original = { sid: task.sid, dateCreated: task.dateCreated, attributesJson: task.attributesJson };
    }
    const request = {
      callTargetSid: target.sid,
      phoneNumber: phone as string,
      ...(appointment !== null ? { appointmentTime: appointment } : {}),
      ...(context !== undefined ? { context } : {}),
      ...(channel !== undefined ? { channel } : {}),
      ...(ani !== undefined ? { ani } : {}),
    };
    const out = await guarded(req, () => service.run(host, (center, now) => (original === null ? center.register(request, now) : center.acceptInQueue(original, request, now))));
    const c = host.center.getCallback(out.callback.sid) ?? out.callback;
    return reply.code(201).send(cbJson(req, engine.workspace.sid, c, host.center.position(c.sid)?.position ?? null));
  });

  const listCallbacks = (req: FastifyRequest, targetSid: string | undefined) => {
    const { engine, host } = hostOf(req, false);
    const q = queryOf(req);
    const status = q.oneOf('Status', CALLBACK_STATUSES);
    const ct = targetSid ?? q.string('CallTargetSid');
    const phone = q.string('PhoneNumber');
    let items = host?.center.listCallbacks({ ...(ct !== undefined ? { callTargetSid: ct } : {}), ...(status !== undefined ? { status } : {}) }) ?? [];
    if (phone !== undefined) items = items.filter((c) => c.phoneNumber === phone || c.rawNumber === phone);
    items = [...items].sort((a, b) => a.createdAt - b.createdAt); // stable: registration order within an instant
    return page(pageRequest(api, req, 'callbacks'), items, (c) => c.sid, (c) => cbJson(req, engine.workspace.sid, c, host?.center.position(c.sid)?.position ?? null));
  };

  app.get(`${WS}/CallTargets/:Sid/Callbacks`, async (req) => {
    const { target } = targetOf(req);
    return listCallbacks(req, target.sid);
  });

  app.get(`${WS}/Callbacks`, async (req) => listCallbacks(req, undefined));

  const callbackOf = (req: FastifyRequest) => {
    const { engine, host } = hostOf(req, false);
    const c = host?.center.getCallback(pathParam(req, 'Sid'));
    if (host === undefined || c === undefined) throw notFound(pathOf(req));
    return { engine, host, callback: c };
  };

  app.get(`${WS}/Callbacks/:Sid`, async (req) => {
    const { engine, host, callback } = callbackOf(req);
    return cbJson(req, engine.workspace.sid, callback, host.center.position(callback.sid)?.position ?? null);
  });

  app.post(`${WS}/Callbacks/:Sid`, async (req) => {
    const { engine, host, callback } = callbackOf(req);
    const body = bodyOf(req);
    const status = body.oneOf('Status', ['canceled'] as const);
    const appointment = body.date('AppointmentTime');
    const reason = body.string('Reason') ?? 'api';
    if (status === undefined && appointment === undefined) throw badParameter('Status', 'Give Status=canceled or a new AppointmentTime');
    if (status !== undefined && appointment !== undefined) throw badParameter('AppointmentTime', 'Give either Status=canceled or AppointmentTime, not both');
    await guarded(req, () => service.run(host, (center, now) => (status !== undefined ? center.cancel(callback.sid, reason, now) : center.reschedule(callback.sid, appointment as number, now))));
    const c = host.center.getCallback(callback.sid) as CallbackRequest;
    return cbJson(req, engine.workspace.sid, c, host.center.position(c.sid)?.position ?? null);
  });

  app.post(`${WS}/CallTargets/:Sid/AgentAnswer`, async (req) => {
    const { host, target } = targetOf(req);
    const body = bodyOf(req);
    const number = body.requiredString('PhoneNumber');
    const out = await guarded(req, () => service.run(host, (center, now) => center.agentAnswer(number, now)));
    return { call_target_sid: target.sid, callback_sid: out.callbackSid, acknowledged: out.callbackSid !== null };
  });

  // ── datastore ──

  const templateJson = (req: FastifyRequest, ws: string, t: { sid: string; name: string; keys: string[]; timeToExpireHours: number; createdAt: number }, token?: string) => ({
    account_sid: accountOf(req),
    workspace_sid: ws,
    sid: t.sid,
    friendly_name: t.name,
    data_keys: t.keys,
    time_to_expire: t.timeToExpireHours,
    ...(token !== undefined ? { token } : {}),
    date_created: isoDate(t.createdAt),
    url: `${workspaceUrl(originOf(api, req), ws)}/DataSetTemplates/${t.sid}`,
  });

  app.post(`${WS}/DataSetTemplates`, async (req, reply) => {
    const { engine, host } = hostOf(req, true);
    if (host === undefined) throw notFound(pathOf(req));
    const body = bodyOf(req);
    const name = body.requiredString('FriendlyName');
    const keys = body.all('DataKeys').flatMap((k) => k.split(',')).map((k) => k.trim()).filter((k) => k !== '');
    if (keys.length === 0) throw badParameter('DataKeys', 'Missing required parameter DataKeys (repeat it or separate keys with commas)');
    const ttl = body.integer('TimeToExpire', 1, 48);
    const out = await guarded(req, () => service.run(host, (_c, now, ds) => ({ template: ds.createTemplate({ name, keys, ...(ttl !== undefined ? { timeToExpireHours: ttl } : {}) }, now) })));
    return reply.code(201).send(templateJson(req, engine.workspace.sid, out.template, out.template.token));
  });

  app.get(`${WS}/DataSetTemplates`, async (req) => {
    const { engine, host } = hostOf(req, false);
    const items = host?.datastore.snapshot().templates ?? [];
    return page(pageRequest(api, req, 'data_set_templates'), items, (t) => t.sid, (t) => templateJson(req, engine.workspace.sid, t));
  });

  app.get(`${WS}/DataSetTemplates/:Sid`, async (req) => {
    const { engine, host } = hostOf(req, false);
    const t = host?.datastore.getTemplate(pathParam(req, 'Sid'));
    if (t === undefined) throw notFound(pathOf(req));
    return templateJson(req, engine.workspace.sid, t);
  });

  const invalidToken = (reply: FastifyReply) => reply.code(401).send({ error: 'InvalidToken' });
  const datastoreError = (reply: FastifyReply, e: unknown) => {
    if (!(e instanceof CallbackError)) throw e;
    if (e.code === 'InvalidToken') return invalidToken(reply);
    if (e.code === 'NotFound') return reply.code(404).send({ error: 'NotFound', message: e.message });
    return reply.code(400).send({ error: e.code, message: e.message, field: e.field });
  };

  app.post('/api/v1/data_sets', async (req, reply) => {
    const token = bearer(req);
    const host = service.hostForToken(token);
    if (host === undefined) return invalidToken(reply);
    const body = (req.body ?? {}) as { customer_contact_number?: unknown; data_values?: unknown; ani?: unknown };
    try {
      const out = await service.run(host, (_c, now, ds) => ({
        result: ds.submit(token, { customer_contact_number: body.customer_contact_number as string, data_values: body.data_values as Record<string, unknown>, ani: (body.ani as string | undefined) ?? null }, now),
      }));
      return reply.code(200).send({ ...out.result.response, dropped_keys: out.result.dropped });
    } catch (e) {
      return datastoreError(reply, e);
    }
  });

  app.get('/api/v1/data_sets/search', async (req, reply) => {
    const token = bearer(req);
    const host = service.hostForToken(token);
    if (host === undefined) return invalidToken(reply);
    const number = String((req.query as Record<string, unknown>)['customer_contact_number'] ?? '');
    try {
      const out = await service.run(host, (_c, now, ds) => ({ result: ds.search(token, number, now) }));
      return reply.code(200).send(out.result);
    } catch (e) {
      return datastoreError(reply, e);
    }
  });

  // ── telephone provider webhooks (a port that takes them: the Twilio Calls adapter) ──

  const telephony = service.telephony;
  if (hasTwilioWebhooks(telephony)) {
    /** Checks `X-Twilio-Signature` over our public URL and the form parameters when a token is configured; 403 otherwise. */
    const checkSignature = (req: FastifyRequest): Record<string, string> => {
      const params = Object.fromEntries(Object.entries((req.body ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      const token = service.telephonyAuthToken;
      if (token !== null) {
        const expected = twilioSignature(token, originOf(api, req) + req.url, params);
        if (req.headers['x-twilio-signature'] !== expected) throw new ApiError(403, 20403, 'X-Twilio-Signature does not match this request');
      }
      return params;
    };
    const keyOf = (req: FastifyRequest): string | undefined => {
      const k = (req.query as Record<string, unknown>)['key'];
      return typeof k === 'string' && k !== '' ? k : undefined;
    };
    // StatusCallback of every call placed (`?key=` = the dial's idempotency key).
    app.post('/telephony/twilio/status', async (req, reply) => {
      const params = checkSignature(req);
      telephony.handleStatusCallback(params, keyOf(req));
      return reply.code(204).send();
    });
    // Action of the readiness prompt's <Gather>: 1 = ready. The caller then waits in the callback
    // conference named in the return task's `conference_name` attribute, until the agent joins.
    app.post('/telephony/twilio/gather', async (req, reply) => {
      const params = checkSignature(req);
      const key = keyOf(req);
      if (key === undefined) throw badParameter('key', 'Missing query parameter key');
      telephony.handleGather(key, params['Digits'], params['CallSid']);
      return reply.code(200).header('content-type', 'text/xml').send(telephony.gatherTwiml(key));
    });
  }
}
