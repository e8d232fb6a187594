/** `/v1/Workspaces/{WS}/Workers[/{WK}]` (spec §1.4 Worker, §2 filters and If-Match). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WorkerRecord, WorkspaceEngine } from '../../engine/index.ts';
import { ctxOf, pageRequest, queryOf, workspaceOf, type Api } from '../context.ts';
import { comparator, compileFilter, parseOrdering } from '../list-filters.ts';
import { page } from '../paging.ts';
import { ifMatch } from '../params.ts';
import { workerJson } from '../serializers.ts';
import { found, resourceRoutes } from './resource.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Workers';

/** The worker named by the path parameter `param`; 20404 when there is none. */
export function workerOf(engine: WorkspaceEngine, req: FastifyRequest, param = 'Sid'): WorkerRecord {
  return found(req, (sid) => engine.workers.get(sid), param);
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

  resourceRoutes(app, api, {
    base: BASE,
    find: (engine, sid) => engine.workers.get(sid),
    json: workerJson,
    version: (w) => w.version,
    create: (body) => ({
      type: 'createWorker',
      friendlyName: body.requiredString('FriendlyName'),
      activitySid: body.sid('ActivitySid', 'WA'),
      attributes: body.json('Attributes'),
    }),
    update: (w, body, req) => ({
      type: 'updateWorker',
      workerSid: w.sid,
      ifMatch: ifMatch(req.headers['if-match']),
      friendlyName: body.string('FriendlyName'),
      activitySid: body.sid('ActivitySid', 'WA'),
      attributes: body.json('Attributes'),
      rejectPendingReservations: body.boolean('RejectPendingReservations'),
    }),
    remove: (w, req) => ({ type: 'deleteWorker', workerSid: w.sid, ifMatch: ifMatch(req.headers['if-match']) }),
  });
}
