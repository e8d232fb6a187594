/** `/v1/Workspaces/{WS}/TaskQueues[/{WQ}]` (spec §1.4 TaskQueue, §2 filters). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TaskQueueFields, TaskQueueRecord, WorkspaceEngine } from '../../engine/index.ts';
import { ctxOf, pageRequest, queryOf, workspaceOf, type Api } from '../context.ts';
import { comparator, jsonObject, parseOrdering } from '../list-filters.ts';
import { page } from '../paging.ts';
import type { Params } from '../params.ts';
import { taskQueueJson } from '../serializers.ts';
import { found, resourceRoutes } from './resource.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/TaskQueues';

/** The task queue named by the path parameter `param`; 20404 when there is none. */
export function queueOf(engine: WorkspaceEngine, req: FastifyRequest, param = 'Sid'): TaskQueueRecord {
  return found(req, (sid) => engine.queues.get(sid)?.record, param);
}

function queueFields(body: Params): TaskQueueFields {
  const activity = (name: string): string | null | undefined => (body.string(name) === '' ? null : body.sid(name, 'WA'));
  return {
    friendlyName: body.string('FriendlyName'),
    targetWorkers: body.string('TargetWorkers'),
    maxReservedWorkers: body.integer('MaxReservedWorkers', 1, 50),
    taskOrder: body.oneOf('TaskOrder', ['FIFO', 'LIFO'] as const),
    reservationActivitySid: activity('ReservationActivitySid'),
    assignmentActivitySid: activity('AssignmentActivitySid'),
  };
}

export function taskQueueRoutes(app: FastifyInstance, api: Api): void {
  app.get(BASE, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    const name = q.string('FriendlyName');
    const workerSid = q.string('WorkerSid');
    const attrs = jsonObject(q, 'EvaluateWorkerAttributes');
    const ordering = parseOrdering(q, ['DateCreated', 'FriendlyName']);
    const worker = workerSid === undefined ? undefined : engine.workers.get(workerSid);
    const now = Math.max(api.clock(), engine.now);
    let items = [...engine.queues.values()].filter((qi) => {
      if (name !== undefined && qi.record.friendlyName !== name) return false;
      if (workerSid !== undefined && (worker === undefined || !worker.queues.has(qi.record.sid))) return false;
      if (attrs !== undefined) {
        const view = { sid: '', friendlyName: '', activitySid: '', activityName: '', attributes: attrs, channel: () => undefined };
        if (!qi.matchesWorker(view, now)) return false;
      }
      return true;
    });
    if (ordering !== undefined) {
      items = items.sort(
        comparator(ordering, (qi, f) => (f === 'FriendlyName' ? qi.record.friendlyName : qi.record.dateCreated), (a, b) => (a.record.sid < b.record.sid ? -1 : 1)),
      );
    }
    const c = ctxOf(api, req, engine);
    return page(pageRequest(api, req, 'task_queues'), items, (qi) => qi.record.sid, (qi) => taskQueueJson(c, qi.record));
  });

  resourceRoutes(app, api, {
    base: BASE,
    find: (engine, sid) => engine.queues.get(sid)?.record,
    json: taskQueueJson,
    create: (body) => {
      const friendlyName = body.requiredString('FriendlyName');
      return { type: 'createTaskQueue', ...queueFields(body), friendlyName };
    },
    update: (q, body) => ({ type: 'updateTaskQueue', taskQueueSid: q.sid, ...queueFields(body) }),
    remove: (q) => ({ type: 'deleteTaskQueue', taskQueueSid: q.sid }),
  });
}
