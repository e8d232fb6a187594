/** `/v1/Workspaces/{WS}/Events[/{EV}]` (spec §9.3, §2 filters). Events are read from the store. */
import type { FastifyInstance } from 'fastify';
import type { EngineEvent } from '../../engine/index.ts';
import { accountOf, originOf, pageRequest, pathParam, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { eventJson } from '../serializers.ts';
import { badParameter } from '../twilio-errors.ts';
import { found } from './resource.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Events';
const RETENTION_MS = 30 * 24 * 3_600_000;
/** Most events one list request looks at. */
const SCAN_LIMIT = 200_000;

/** Filter parameter → event data key. */
const DATA_FILTERS: [string, string][] = [
  ['ReservationSid', 'reservation_sid'],
  ['TaskSid', 'task_sid'],
  ['TaskQueueSid', 'task_queue_sid'],
  ['WorkerSid', 'worker_sid'],
  ['WorkflowSid', 'workflow_sid'],
];

export function eventRoutes(app: FastifyInstance, api: Api): void {
  app.get(BASE, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    const now = Math.max(api.clock(), engine.now);
    const minutes = q.integer('Minutes', 1, 43_200);
    const endMs = q.date('EndDate') ?? now;
    const startMs = q.date('StartDate') ?? endMs - (minutes ?? 15) * 60_000;
    if (startMs > endMs) throw badParameter('StartDate', 'StartDate must be before EndDate');
    if (startMs < now - RETENTION_MS) throw badParameter('StartDate', 'StartDate must be within the last 30 days');
    const types = q.all('EventType').flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    const sid = q.string('Sid');
    const channel = q.string('TaskChannel');
    const filters = DATA_FILTERS.map(([param, key]) => [key, q.string(param)] as const).filter(([, v]) => v !== undefined);
    const matches = (e: EngineEvent): boolean =>
      (types.length === 0 || types.includes(e.eventType)) &&
      (sid === undefined || e.sid === sid) &&
      (channel === undefined || e.data['task_channel_sid'] === channel || e.data['task_channel_unique_name'] === channel) &&
      filters.every(([key, v]) => e.data[key] === v || (key === 'reservation_sid' && e.resourceType === 'reservation' && e.resourceSid === v));
    const items = (await api.runtime.store.events(engine.workspace.sid, startMs, endMs + 1, SCAN_LIMIT)).filter(matches);
    const origin = originOf(api, req);
    const account = accountOf(req);
    return page(pageRequest(api, req, 'events'), items, (e) => e.sid, (e) => eventJson(origin, account, engine.workspace.sid, e));
  });

  app.get(`${BASE}/:Sid`, async (req) => {
    const engine = workspaceOf(api, req);
    const stored = await api.runtime.store.event(engine.workspace.sid, pathParam(req, 'Sid'));
    const e = found(req, () => stored);
    return eventJson(originOf(api, req), accountOf(req), engine.workspace.sid, e);
  });
}
