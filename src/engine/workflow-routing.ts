/**
 * Workflow routing (spec §4.2): a task of a workflow goes to the first filter whose expression
 * matches its attributes, then through that filter's targets (steps) in order, each with its
 * queue, priority, target expression, known worker, OrderBy and skip condition. A step's timeout
 * counts from when the task entered the filter (cumulative deadlines, epoch ms); when it passes,
 * or a step is skipped, the task moves on to the next step, the next matching filter, the
 * default filter, or leaves the workflow canceled. Matching within a step is matching.ts.
 */
import { assert } from '../util/assert.ts';
import type { WorkspaceEngine } from './engine.ts';
import type { StepRestriction, TaskRecord } from './model.ts';
import type { QueueIndex } from './queue-index.ts';
import type { RoutingPlan, RoutingStep } from './workflow-config.ts';
import { addQueueData, addWorkflowData, emitTask, taskData } from './event-data.ts';
import { routeNow, unlist } from './matching.ts';

/** Sends a waiting task through its workflow again from the first filter (spec §4.4). */
export function reroute(engine: WorkspaceEngine, task: TaskRecord): void {
  unlist(engine, task);
  for (const r of engine.openReservationsOf(task)) {
    if (r.reservationStatus === 'pending') engine.endReservation(r, 'canceled', null, false);
  }
  if (task.assignmentStatus === 'reserved') task.assignmentStatus = 'pending';
  if (task.workflowSid === null || !engine.workflows.has(task.workflowSid)) {
    routeNow(engine, task);
    return;
  }
  task.priority = task.basePriority;
  routeFromTop(engine, task);
}

/** The compiled plan of the task's workflow, or null (no workflow, or it was deleted). */
export function planOf(engine: WorkspaceEngine, task: TaskRecord): RoutingPlan | null {
  return task.workflowSid === null ? null : (engine.workflows.get(task.workflowSid)?.plan ?? null);
}

/** Routes a task from its workflow's first matching filter, else the default filter, else cancels it (spec §4.2). */
export function routeFromTop(engine: WorkspaceEngine, task: TaskRecord): void {
  const plan = planOf(engine, task);
  assert(plan !== null, `task ${task.sid} has a workflow`);
  const f = firstMatchingFilter(engine, plan, task, 0);
  if (f >= 0) {
    task.routing.filterEnteredAt = engine.now;
    enterStep(engine, task, plan, f, 0);
  } else if (plan.defaultFilter !== null) {
    enterDefault(engine, task, plan);
  } else {
    emitTask(engine, 'workflow.timeout', task);
    engine.cancelTask(task, 'No matching filter');
  }
}

/** Index of the first filter from `from` whose expression matches the task's attributes, or -1. */
function firstMatchingFilter(engine: WorkspaceEngine, plan: RoutingPlan, task: TaskRecord, from: number): number {
  const scope = { nowMs: engine.now, task: task.attributes };
  for (let i = from; i < plan.filters.length; i++) {
    if ((plan.filters[i] as RoutingPlan['filters'][number]).expression.evaluate(scope)) return i;
  }
  return -1;
}

/** Sends the task to the default filter's queue (no step restriction, no timeout). */
function enterDefault(engine: WorkspaceEngine, task: TaskRecord, plan: RoutingPlan): void {
  const d = plan.defaultFilter as NonNullable<RoutingPlan['defaultFilter']>;
  task.routing = { filterIndex: -1, stepIndex: 0, filterEnteredAt: engine.now, stepDeadlineAt: null, stepExpired: false };
  if (d.priority !== null) task.priority = d.priority;
  task.restriction = null;
  moveOut(engine, task, d.queueSid);
  emitTask(engine, 'workflow.target-matched', task, d.queueSid);
  enterQueue(engine, task, d.queueSid);
  routeNow(engine, task);
}

/** Puts the task on step `stepIndex` of filter `filterIndex` (spec §4.2 enterFilter). */
function enterStep(engine: WorkspaceEngine, task: TaskRecord, plan: RoutingPlan, filterIndex: number, stepIndex: number): void {
  const filter = plan.filters[filterIndex] as RoutingPlan['filters'][number];
  const step = filter.steps[stepIndex] as RoutingStep;
  let cumulativeS = 0;
  for (let i = 0; i <= stepIndex; i++) cumulativeS += (filter.steps[i] as RoutingStep).timeoutS ?? 0;
  const deadline = step.timeoutS === null ? null : task.routing.filterEnteredAt + cumulativeS * 1000;
  // In place: the routing object belongs to this task alone (a snapshot copies it).
  const routing = task.routing;
  routing.filterIndex = filterIndex;
  routing.stepIndex = stepIndex;
  routing.stepDeadlineAt = deadline;
  routing.stepExpired = false;
  if (step.priority !== null) task.priority = step.priority;
  task.restriction = restrictionFor(step, task);
  moveOut(engine, task, step.queueSid);
  const d = addWorkflowData(engine, addQueueData(engine, taskData(engine, task), step.queueSid), task.workflowSid);
  d['filter_friendly_name'] = filter.friendlyName;
  d['target_index'] = stepIndex;
  engine.emit('workflow.target-matched', 'task', task.sid, d);
  enterQueue(engine, task, step.queueSid);
  if (deadline !== null) engine.timers.schedule(deadline, 'stepTimeout', task.sid, task);
  // Deadlines are cumulative (spec §4.2): a task that reaches a step after its deadline (it was
  // held by reservations at the step before) is not offered there, it times out below.
  const created = deadline !== null && deadline <= engine.now ? 0 : routeNow(engine, task);
  if (created > 0) return;
  if (step.skipIf !== null) {
    const q = engine.queues.get(step.queueSid) as QueueIndex;
    const counts = {
      available: q.availableMembers,
      unavailable: q.members.size - q.availableMembers,
      byActivitySid: (sid: string) => q.countByActivity(sid),
    };
    if (step.skipIf.evaluate({ nowMs: engine.now, workers: counts })) {
      advance(engine, task, 'skip');
      return;
    }
  }
  if (deadline !== null && deadline <= engine.now) advance(engine, task, 'timeout');
}

/** What a step asks of a worker beyond queue membership (target expression, known worker, OrderBy), or null. */
export function restrictionFor(step: RoutingStep, task: TaskRecord): StepRestriction | null {
  if (step.expression === null && step.knownWorker === null && step.orderBy === null) return null;
  let knownWorker: string | null = null;
  let knownWorkerMissing = false;
  if (step.knownWorker !== null) {
    const value = step.knownWorker.read(task.attributes);
    if (typeof value === 'string' && value !== '') knownWorker = value;
    else knownWorkerMissing = true;
  }
  return { expression: step.expression, knownWorker, knownWorkerMissing, byName: step.knownWorker?.byName ?? false, orderBy: step.orderBy };
}

/** Moves the task on after a step timed out or was skipped (spec §4.2 advance). */
export function advance(engine: WorkspaceEngine, task: TaskRecord, cause: 'timeout' | 'skip'): void {
  const plan = planOf(engine, task);
  const f = task.routing.filterIndex;
  unlist(engine, task);
  if (cause === 'timeout') emitTask(engine, 'task-queue.timeout', task);
  if (plan === null || f === null || f < 0) {
    finishWorkflow(engine, task, cause);
    return;
  }
  const filter = plan.filters[f];
  if (filter !== undefined && task.routing.stepIndex + 1 < filter.steps.length) {
    enterStep(engine, task, plan, f, task.routing.stepIndex + 1);
    return;
  }
  const next = firstMatchingFilter(engine, plan, task, f + 1);
  if (next >= 0) {
    task.routing.filterEnteredAt = engine.now;
    enterStep(engine, task, plan, next, 0);
  } else if (cause === 'skip' && plan.defaultFilter !== null) {
    enterDefault(engine, task, plan);
  } else {
    finishWorkflow(engine, task, cause);
  }
}

/** The task leaves its workflow canceled: `workflow.timeout` or `workflow.skipped` first (spec §4.2). */
function finishWorkflow(engine: WorkspaceEngine, task: TaskRecord, cause: 'timeout' | 'skip'): void {
  if (cause === 'timeout') {
    emitTask(engine, 'workflow.timeout', task);
    engine.cancelTask(task, 'Workflow Timeout');
  } else {
    emitTask(engine, 'workflow.skipped', task);
    engine.cancelTask(task, 'Workflow Skipped');
  }
}

/** Emits task-queue.moved when the task is about to leave its queue for another one. */
function moveOut(engine: WorkspaceEngine, task: TaskRecord, queueSid: string): void {
  const previous = task.taskQueueSid;
  if (previous === null || previous === queueSid) return;
  const d = addWorkflowData(engine, addQueueData(engine, taskData(engine, task), previous), task.workflowSid);
  d['task_queue_moved_to_sid'] = queueSid;
  engine.emit('task-queue.moved', 'task', task.sid, d);
  engine.leaveQueue(task);
}

/**
 * Puts the task in a queue and emits task-queue.entered. A caller moving it from another queue
 * calls moveOut first (task-queue.moved comes before workflow.target-matched, spec §5.2), so
 * this only leaves the old queue's set: a second moveOut here would emit task-queue.moved twice.
 */
export function enterQueue(engine: WorkspaceEngine, task: TaskRecord, queueSid: string): void {
  engine.leaveQueue(task);
  task.taskQueueSid = queueSid;
  task.taskQueueEnteredAt = engine.now;
  (engine.queues.get(queueSid) as QueueIndex).tasks.add(task);
  engine.touchTask(task);
  emitTask(engine, 'task-queue.entered', task);
}
