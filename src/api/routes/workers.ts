/** `/v1/Workspaces/{WS}/Workers[/{WK}]` (spec §1.4 Worker, §2 filters and If-Match). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WorkerRecord, WorkspaceEngine } from '../../engine/index.ts';
import { bodyOf, ctxOf, execute, pageRequest, pathOf, pathParam, queryOf, workspaceOf, type Api } from '../context.ts';
import { comparator, compileFilter, parseOrdering } from '../list-filters.ts';
import { page } from '../paging.ts';
import { ifMatch } from '../params.ts';
import { workerJson } from '../serializers.ts';
import { notFound } from '../twilio-errors.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Workers';

export function workerOf(engine: WorkspaceEngine, req: FastifyRequest, param = 'Sid'): WorkerRecord {
  const w = engine.workers.get(pathParam(req, param));
  if (w === undefined) throw notFound(pathOf(req));
  return w;
}

export function etag(version: number): string {
  return `"${version}"`;
}

export function workerRoutes(app: FastifyInstance, api: Api): void {
  app.get(BASE, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    const activityName = q.string('ActivityName');
    const activitySid = q.string('ActivitySid');
    const available = q.boolean('Available');
    const friendlyName = q.string('FriendlyName');
    const expression = compileFilter(q, 'TargetWorkersExpression', 'worker');
    const queueName = q.string('TaskQueueName');
    let queueSid = q.string('TaskQueueSid');
    if (queueName !== undefined) {
      const byName = [...engine.queues.values()].find((qi) => qi.record.friendlyName === queueName);
      queueSid = queueSid !== undefined && queueSid !== byName?.record.sid ? '-' : (byName?.record.sid ?? '-');
    }
    const ordering = parseOrdering(q, ['DateCreated', 'DateStatusChanged', 'FriendlyName']);
    const now = Math.max(api.clock(), engine.now);
    let items = [...engine.workers.values()].filter(
      (w) =>
        (activityName === undefined || w.activityName === activityName) &&
        (activitySid === undefined || w.activitySid === activitySid) &&
        (available === undefined || w.activityAvailable === available) &&
        (friendlyName === undefined || w.friendlyName.toLowerCase() === friendlyName.toLowerCase()) &&
        (queueSid === undefined || w.queues.has(queueSid)) &&
        (expression === undefined || expression.evaluate({ nowMs: now, worker: w })),
    );
    if (ordering !== undefined) {
      const key = (w: WorkerRecord, f: string): number | string =>
        f === 'FriendlyName' ? w.friendlyName : f === 'DateStatusChanged' ? w.dateStatusChanged : w.dateCreated;
      items = items.sort(comparator(ordering, key, (a, b) => (a.sid < b.sid ? -1 : 1)));
    }
    const c = ctxOf(api, req, engine);
    return page(pageRequest(api, req, 'workers'), items, (w) => w.sid, (w) => workerJson(c, w));
  });

  app.post(BASE, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const body = bodyOf(req);
    const command = {
      type: 'createWorker' as const,
      friendlyName: body.requiredString('FriendlyName'),
      activitySid: body.sid('ActivitySid', 'WA'),
      attributes: body.json('Attributes'),
    };
    const outcome = await execute(api, req, engine, command, body);
    const w = engine.workers.get(outcome.sid as string) as WorkerRecord;
    return reply.code(201).header('ETag', etag(w.version)).send(workerJson(ctxOf(api, req, engine), w));
  });

  app.get(`${BASE}/:Sid`, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const w = workerOf(engine, req);
    return reply.header('ETag', etag(w.version)).send(workerJson(ctxOf(api, req, engine), w));
  });

  app.post(`${BASE}/:Sid`, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const w = workerOf(engine, req);
    const body = bodyOf(req);
    const command = {
      type: 'updateWorker' as const,
      workerSid: w.sid,
      ifMatch: ifMatch(req.headers['if-match']),
      friendlyName: body.string('FriendlyName'),
      activitySid: body.sid('ActivitySid', 'WA'),
      attributes: body.json('Attributes'),
      rejectPendingReservations: body.boolean('RejectPendingReservations'),
    };
    await execute(api, req, engine, command, body);
    const after = workerOf(engine, req);
    return reply.header('ETag', etag(after.version)).send(workerJson(ctxOf(api, req, engine), after));
  });

  app.delete(`${BASE}/:Sid`, async (req, reply) => {
    const engine = workspaceOf(api, req);
    const w = workerOf(engine, req);
    await execute(api, req, engine, { type: 'deleteWorker', workerSid: w.sid, ifMatch: ifMatch(req.headers['if-match']) });
    return reply.code(204).send();
  });
}
