/** `/v1/Workspaces/{WS}/Tasks[/{WT}]` (spec §1.4 Task, §2 filters, §5). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TaskRecord, TaskStatus, WorkspaceEngine } from '../../engine/index.ts';
import { ctxOf, pageRequest, queryOf, workspaceOf, type Api } from '../context.ts';
import { comparator, compileFilter, parseOrdering } from '../list-filters.ts';
import { page } from '../paging.ts';
import { ifMatch } from '../params.ts';
import { taskJson } from '../serializers.ts';
import { badParameter } from '../twilio-errors.ts';
import { found, resourceRoutes } from './resource.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Tasks';
const STATUSES: readonly TaskStatus[] = ['pending', 'reserved', 'assigned', 'canceled', 'completed', 'wrapping'];

/** The task named by the path parameter `param`; 20404 when there is none. */
export function taskOf(engine: WorkspaceEngine, req: FastifyRequest, param = 'Sid'): TaskRecord {
  return found(req, (sid) => engine.tasks.get(sid), param);
}

export function taskRoutes(app: FastifyInstance, api: Api): void {
  app.get(BASE, async (req) => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    const priority = q.integer('Priority');
    const statuses = q.all('AssignmentStatus').flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    // An unknown status matches no task (spec §2: unknown filter values give an empty list).
    const workflowSid = q.string('WorkflowSid');
    const workflowName = q.string('WorkflowName');
    const queueSid = q.string('TaskQueueSid');
    const queueName = q.string('TaskQueueName');
    const routingTarget = q.string('RoutingTarget');
    const hasAddons = q.boolean('HasAddons');
    const expression = compileFilter(q, 'EvaluateTaskAttributes', 'task');
    const ordering = parseOrdering(q, ['DateCreated', 'Priority', 'VirtualStartTime']);
    if (ordering !== undefined && ordering.some((o) => o.field === 'DateCreated') && ordering.some((o) => o.field === 'VirtualStartTime')) {
      throw badParameter('Ordering', 'Ordering cannot combine DateCreated and VirtualStartTime');
    }
    const now = Math.max(api.clock(), engine.now);
    const workflowNameOf = (t: TaskRecord): string | undefined => (t.workflowSid === null ? undefined : engine.workflows.get(t.workflowSid)?.friendlyName);
    const queueNameOf = (t: TaskRecord): string | undefined => (t.taskQueueSid === null ? undefined : engine.queues.get(t.taskQueueSid)?.record.friendlyName);
    let items = [...engine.tasks.values()].filter(
      (t) =>
        (priority === undefined || t.priority === priority) &&
        (statuses.length === 0 || statuses.includes(t.assignmentStatus)) &&
        (workflowSid === undefined || t.workflowSid === workflowSid) &&
        (workflowName === undefined || workflowNameOf(t) === workflowName) &&
        (queueSid === undefined || t.taskQueueSid === queueSid) &&
        (queueName === undefined || queueNameOf(t) === queueName) &&
        (routingTarget === undefined || t.routingTarget === routingTarget) &&
        (hasAddons === undefined || (t.addons !== '{}' && t.addons !== '') === hasAddons) &&
        (expression === undefined || expression.evaluate({ nowMs: now, task: t.attributes })),
    );
    const clauses = ordering ?? [{ field: 'DateCreated', desc: false }];
    const key = (t: TaskRecord, f: string): number => (f === 'Priority' ? t.priority : f === 'VirtualStartTime' ? t.virtualStartTime : t.dateCreated);
    items = items.sort(comparator(clauses, key, () => 0));
    const c = ctxOf(api, req, engine);
    return page(pageRequest(api, req, 'tasks'), items, (t) => t.sid, (t) => taskJson(c, t));
  });

  resourceRoutes(app, api, {
    base: BASE,
    find: (engine, sid) => engine.tasks.get(sid),
    json: taskJson,
    version: (t) => t.version,
    create: (body) => ({
      type: 'createTask',
      workflowSid: body.sid('WorkflowSid', 'WW'),
      attributes: body.json('Attributes'),
      priority: body.integer('Priority', 0, 2_147_483_647),
      timeoutS: body.integer('Timeout', 1, 1_209_600),
      taskChannel: body.string('TaskChannel'),
      virtualStartTime: body.date('VirtualStartTime'),
      routingTarget: body.string('RoutingTarget'),
      ignoreCapacity: body.boolean('IgnoreCapacity'),
      taskQueueSid: body.sid('TaskQueueSid', 'WQ'),
    }),
    update: (t, body, req) => ({
      type: 'updateTask',
      taskSid: t.sid,
      ifMatch: ifMatch(req.headers['if-match']),
      attributes: body.json('Attributes'),
      priority: body.integer('Priority', 0, 2_147_483_647),
      assignmentStatus: body.oneOf('AssignmentStatus', STATUSES),
      reason: body.string('Reason'),
      taskChannel: body.string('TaskChannel'),
      virtualStartTime: body.date('VirtualStartTime'),
    }),
    remove: (t, req) => ({ type: 'deleteTask', taskSid: t.sid, ifMatch: ifMatch(req.headers['if-match']) }),
  });
}
