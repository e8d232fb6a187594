/**
 * Statistics resources (spec §10): Workspace, TaskQueue, TaskQueues (paged), Workflow, Workers
 * and Worker instance; RealTime, Cumulative and the combined `Statistics`; and the bulk
 * `POST TaskQueues/RealTimeStatistics`. Figures come from src/engine/statistics-query.ts.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  taskQueueCumulative,
  taskQueueRealtime,
  workerInstanceCumulative,
  workersCumulative,
  workersRealtime,
  workflowCumulative,
  workflowRealtime,
  workspaceCumulative,
  workspaceRealtime,
  type StatisticsWindow,
  type WorkerFilter,
  type WorkspaceEngine,
} from '../../engine/index.ts';
import { accountOf, originOf, pageRequest, pathOf, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { isSidOf, type Params } from '../params.ts';
import { cumulativeQuery, freshAges, isoWindow, realtimeChannel } from '../statistics-params.ts';
import { badParameter } from '../twilio-errors.ts';
import { queueOf } from './task-queues.ts';
import { workerOf } from './workers.ts';
import { workflowOf } from './workflows.ts';

const WS = '/v1/Workspaces/:WorkspaceSid';
const BULK_LIMIT = 50;

type Json = Record<string, unknown>;

function workerFilter(q: Params): WorkerFilter {
  return { taskQueueSid: q.string('TaskQueueSid'), taskQueueName: q.string('TaskQueueName'), friendlyName: q.string('FriendlyName') };
}

/**
 * Registers the statistics routes. Every figure is taken as of the request's instant,
 * `api.clock()` (spec §10; docs/compatibility.md S1, S5, A14), not the workspace's last command.
 */
export function statisticsRoutes(app: FastifyInstance, api: Api): void {
  const fresh = (engine: WorkspaceEngine, stats: Json): Json => freshAges(engine, stats, Math.max(api.clock(), engine.now));
  /** Common identifiers plus the absolute URL of this request's resource. */
  const ids = (req: FastifyRequest, engine: WorkspaceEngine): Json => ({
    account_sid: accountOf(req),
    workspace_sid: engine.workspace.sid,
    url: originOf(api, req) + pathOf(req),
  });

  // ── Workspace ──
  app.get(`${WS}/RealTimeStatistics`, async (req) => {
    const engine = workspaceOf(api, req);
    return { ...fresh(engine, workspaceRealtime(engine, realtimeChannel(engine, queryOf(req)))), ...ids(req, engine) };
  });
  app.get(`${WS}/CumulativeStatistics`, async (req) => {
    const engine = workspaceOf(api, req);
    const { window, split } = cumulativeQuery(engine, queryOf(req), api.clock());
    return { ...isoWindow(workspaceCumulative(engine, window, split)), ...ids(req, engine) };
  });
  app.get(`${WS}/Statistics`, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    const { window, split } = cumulativeQuery(engine, q, api.clock());
    return {
      realtime: fresh(engine, workspaceRealtime(engine, window.taskChannelSid)),
      cumulative: isoWindow(workspaceCumulative(engine, window, split)),
      ...ids(req, engine),
    };
  });

  // ── TaskQueues (list and bulk) ──
  app.get(`${WS}/TaskQueues/Statistics`, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    const name = q.string('FriendlyName');
    const { window, split } = cumulativeQuery(engine, q, api.clock());
    const items = [...engine.queues.values()].filter((qi) => name === undefined || qi.record.friendlyName === name);
    const account = accountOf(req);
    return page(pageRequest(api, req, 'task_queues_statistics'), items, (qi) => qi.record.sid, (qi) => ({
      account_sid: account,
      cumulative: isoWindow(taskQueueCumulative(engine, qi.record.sid, window, split)),
      realtime: fresh(engine, taskQueueRealtime(engine, qi.record.sid, window.taskChannelSid)),
      task_queue_sid: qi.record.sid,
      workspace_sid: engine.workspace.sid,
    }));
  });
  app.post(`${WS}/TaskQueues/RealTimeStatistics`, async (req) => {
    const engine = workspaceOf(api, req);
    const sids = bulkSids(req.body);
    const data = sids.map((sid) => {
      if (!engine.queues.has(sid)) throw badParameter('TaskQueueSids', `TaskQueue ${sid} was not found in workspace ${engine.workspace.sid}`);
      return { ...fresh(engine, taskQueueRealtime(engine, sid)), task_queue_sid: sid };
    });
    return { ...ids(req, engine), task_queue_data: data, task_queue_response_count: data.length };
  });

  /**
   * RealTimeStatistics, CumulativeStatistics and Statistics (both) of one TaskQueue or Workflow
   * under `base`, named by the path parameter `param`, answered with its SID as `key`.
   */
  const oneResource = (
    base: string,
    param: string,
    lookup: (engine: WorkspaceEngine, req: FastifyRequest, param: string) => { sid: string },
    key: 'task_queue_sid' | 'workflow_sid',
    realtime: (engine: WorkspaceEngine, sid: string, channelSid?: string) => Json,
    cumulative: (engine: WorkspaceEngine, sid: string, window: StatisticsWindow, split?: number[]) => Json,
  ): void => {
    app.get(`${base}/RealTimeStatistics`, async (req) => {
      const engine = workspaceOf(api, req);
      const sid = lookup(engine, req, param).sid;
      return { ...fresh(engine, realtime(engine, sid, realtimeChannel(engine, queryOf(req)))), [key]: sid, ...ids(req, engine) };
    });
    app.get(`${base}/CumulativeStatistics`, async (req) => {
      const engine = workspaceOf(api, req);
      const sid = lookup(engine, req, param).sid;
      const { window, split } = cumulativeQuery(engine, queryOf(req), api.clock());
      return { ...isoWindow(cumulative(engine, sid, window, split)), [key]: sid, ...ids(req, engine) };
    });
    app.get(`${base}/Statistics`, async (req) => {
      const engine = workspaceOf(api, req);
      const sid = lookup(engine, req, param).sid;
      const { window, split } = cumulativeQuery(engine, queryOf(req), api.clock());
      return {
        cumulative: isoWindow(cumulative(engine, sid, window, split)),
        realtime: fresh(engine, realtime(engine, sid, window.taskChannelSid)),
        [key]: sid,
        ...ids(req, engine),
      };
    });
  };
  oneResource(`${WS}/TaskQueues/:TaskQueueSid`, 'TaskQueueSid', queueOf, 'task_queue_sid', taskQueueRealtime, taskQueueCumulative);
  oneResource(`${WS}/Workflows/:WorkflowSid`, 'WorkflowSid', workflowOf, 'workflow_sid', workflowRealtime, workflowCumulative);

  // ── Workers ──
  app.get(`${WS}/Workers/RealTimeStatistics`, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    realtimeChannel(engine, q);
    return { ...workersRealtime(engine, workerFilter(q)), ...ids(req, engine) };
  });
  app.get(`${WS}/Workers/CumulativeStatistics`, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    const { window } = cumulativeQuery(engine, q, api.clock());
    return { ...isoWindow(workersCumulative(engine, window, workerFilter(q))), ...ids(req, engine) };
  });
  app.get(`${WS}/Workers/Statistics`, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    const { window } = cumulativeQuery(engine, q, api.clock());
    const f = workerFilter(q);
    return { realtime: workersRealtime(engine, f), cumulative: isoWindow(workersCumulative(engine, window, f)), ...ids(req, engine) };
  });
  app.get(`${WS}/Workers/:WorkerSid/Statistics`, async (req) => {
    const engine = workspaceOf(api, req);
    const w = workerOf(engine, req, 'WorkerSid');
    const { window } = cumulativeQuery(engine, queryOf(req), api.clock());
    return { cumulative: isoWindow(workerInstanceCumulative(engine, w.sid, window)), worker_sid: w.sid, ...ids(req, engine) };
  });
}

/**
 * The bulk request's queue SIDs (undocumented body, OUR CHOICE): a JSON array of SIDs, or an
 * object with `task_queue_sids`/`TaskQueueSids`; at most 50.
 */
function bulkSids(body: unknown): string[] {
  let list: unknown = body;
  if (list !== null && typeof list === 'object' && !Array.isArray(list)) {
    const o = list as Record<string, unknown>;
    list = o['task_queue_sids'] ?? o['TaskQueueSids'] ?? o['TaskQueueSid'];
    if (typeof list === 'string') list = [list];
  }
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && isSidOf(s, 'WQ'))) {
    throw badParameter('TaskQueueSids', 'Send a JSON array of TaskQueue SIDs (or {"task_queue_sids": [...]})');
  }
  if (list.length > BULK_LIMIT) throw badParameter('TaskQueueSids', `At most ${BULK_LIMIT} TaskQueue SIDs per request (got ${list.length})`);
  return list as string[];
}
