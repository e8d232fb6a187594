/**
 * Workflow routing (spec §4.2): a task of a workflow goes to the first filter whose expression
 * matches its attributes, then through that filter's targets (steps) in order, each with its
 * queue, priority, target expression, known worker, OrderBy and skip condition. A step's timeout
 * counts from when the task entered the filter (cumulative deadlines, epoch ms); when it passes,
 * or a step is skipped, the task moves on to the next step, the next matching filter, the
 * default filter, or leaves the workflow canceled. Matching within a step is matching.ts, the
 * offers it leads to offers.ts. {@link resumeRouting} takes a task on after a reservation of it
 * ended unaccepted (spec §4.4).
 */
import { assert } from '../util/assert.ts';
import { LIMITS } from './limits.ts';
import type { StepRestriction, TaskRecord } from './model.ts';
import type { QueueIndex } from './queue-index.ts';
import type { RoutingPlan, RoutingStep } from './workflow-config.ts';
import { addQueueData, addWorkflowData, emit, emitTask, taskData } from './event-data.ts';
import { unlist } from './matching.ts';
import { routeNow } from './offers.ts';
import { endReservation } from './reservation-lifecycle.ts';
import type { EngineState } from './state.ts';
import { cancelTask } from './task-lifecycle.ts';
import { leaveQueue, openReservationsOf, touchTask } from './task-records.ts';

/**
 * After a reservation of a reserved task ended unaccepted: back to pending once none is
 * pending, then retry the current step (spec §4.4), or advance if its deadline passed; canceled
 * once it was reserved `LIMITS.reservationCycles` times (spec §5.2 attempt cap).
 */
export function resumeRouting(state: EngineState, task: TaskRecord): void {
  if (task.pendingReservations > 0 || task.assignmentStatus !== 'reserved') {
    if (task.assignmentStatus === 'reserved') routeNow(state, task);
    return;
  }
  task.assignmentStatus = 'pending';
  touchTask(state, task);
  if (task.reservationCycles >= LIMITS.reservationCycles) {
    cancelTask(state, task, 'Task TTL Exceeded or Max assignment count exceeded');
  } else if (task.routing.stepExpired) {
    advance(state, task, 'timeout');
  } else {
    routeNow(state, task);
  }
}

/** Sends a waiting task through its workflow again from the first filter (spec §4.4). */
export function reroute(state: EngineState, task: TaskRecord): void {
  unlist(state, task);
  for (const r of openReservationsOf(state, task)) {
    if (r.reservationStatus === 'pending') endReservation(state, r, 'canceled', null);
  }
  if (task.assignmentStatus === 'reserved') task.assignmentStatus = 'pending';
  if (task.workflowSid === null || !state.workflows.has(task.workflowSid)) {
    routeNow(state, task);
    return;
  }
  task.priority = task.basePriority;
  routeFromTop(state, task);
}

/** The compiled plan of the task's workflow, or null (no workflow, or it was deleted). */
export function planOf(state: EngineState, task: TaskRecord): RoutingPlan | null {
  return task.workflowSid === null ? null : (state.workflows.get(task.workflowSid)?.plan ?? null);
}

/** Routes a task from its workflow's first matching filter, else the default filter, else cancels it (spec §4.2). */
export function routeFromTop(state: EngineState, task: TaskRecord): void {
  const plan = planOf(state, task);
  assert(plan !== null, `task ${task.sid} has a workflow`);
  const f = firstMatchingFilter(state, plan, task, 0);
  if (f >= 0) {
    task.routing.filterEnteredAt = state.now;
    enterStep(state, task, plan, f, 0);
  } else if (plan.defaultFilter !== null) {
    enterDefault(state, task, plan);
  } else {
    emitTask(state, 'workflow.timeout', task);
    cancelTask(state, task, 'No matching filter');
  }
}

/** Index of the first filter from `from` whose expression matches the task's attributes, or -1. */
function firstMatchingFilter(state: EngineState, plan: RoutingPlan, task: TaskRecord, from: number): number {
  const scope = { nowMs: state.now, task: task.attributes };
  for (let i = from; i < plan.filters.length; i++) {
    if ((plan.filters[i] as RoutingPlan['filters'][number]).expression.evaluate(scope)) return i;
  }
  return -1;
}

/** Sends the task to the default filter's queue (no step restriction, no timeout). */
function enterDefault(state: EngineState, task: TaskRecord, plan: RoutingPlan): void {
  const d = plan.defaultFilter as NonNullable<RoutingPlan['defaultFilter']>;
  task.routing = { filterIndex: -1, stepIndex: 0, filterEnteredAt: state.now, stepDeadlineAt: null, stepExpired: false };
  if (d.priority !== null) task.priority = d.priority;
  task.restriction = null;
  moveOut(state, task, d.queueSid);
  emitTask(state, 'workflow.target-matched', task, d.queueSid);
  enterQueue(state, task, d.queueSid);
  routeNow(state, task);
}

/** Puts the task on step `stepIndex` of filter `filterIndex` (spec §4.2 enterFilter). */
function enterStep(state: EngineState, task: TaskRecord, plan: RoutingPlan, filterIndex: number, stepIndex: number): void {
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
  moveOut(state, task, step.queueSid);
  const d = addWorkflowData(state, addQueueData(state, taskData(state, task), step.queueSid), task.workflowSid);
  d['filter_friendly_name'] = filter.friendlyName;
  d['target_index'] = stepIndex;
  emit(state, 'workflow.target-matched', 'task', task.sid, d);
  enterQueue(state, task, step.queueSid);
  if (deadline !== null) state.timers.schedule(deadline, 'stepTimeout', task.sid, task);
  // Deadlines are cumulative (spec §4.2): a task that reaches a step after its deadline (it was
  // held by reservations at the step before) is not offered there, it times out below.
  const created = deadline !== null && deadline <= state.now ? 0 : routeNow(state, task);
  if (created > 0) return;
  if (step.skipIf !== null) {
    const q = state.queues.get(step.queueSid) as QueueIndex;
    const counts = {
      available: q.availableMembers,
      unavailable: q.members.size - q.availableMembers,
      byActivitySid: (sid: string) => q.countByActivity(sid),
    };
    if (step.skipIf.evaluate({ nowMs: state.now, workers: counts })) {
      advance(state, task, 'skip');
      return;
    }
  }
  if (deadline !== null && deadline <= state.now) advance(state, task, 'timeout');
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
export function advance(state: EngineState, task: TaskRecord, cause: 'timeout' | 'skip'): void {
  const plan = planOf(state, task);
  const f = task.routing.filterIndex;
  unlist(state, task);
  if (cause === 'timeout') emitTask(state, 'task-queue.timeout', task);
  if (plan === null || f === null || f < 0) {
    finishWorkflow(state, task, cause);
    return;
  }
  const filter = plan.filters[f];
  if (filter !== undefined && task.routing.stepIndex + 1 < filter.steps.length) {
    enterStep(state, task, plan, f, task.routing.stepIndex + 1);
    return;
  }
  const next = firstMatchingFilter(state, plan, task, f + 1);
  if (next >= 0) {
    task.routing.filterEnteredAt = state.now;
    enterStep(state, task, plan, next, 0);
  } else if (cause === 'skip' && plan.defaultFilter !== null) {
    enterDefault(state, task, plan);
  } else {
    finishWorkflow(state, task, cause);
  }
}

/** The task leaves its workflow canceled: `workflow.timeout` or `workflow.skipped` first (spec §4.2). */
function finishWorkflow(state: EngineState, task: TaskRecord, cause: 'timeout' | 'skip'): void {
  if (cause === 'timeout') {
    emitTask(state, 'workflow.timeout', task);
    cancelTask(state, task, 'Workflow Timeout');
  } else {
    emitTask(state, 'workflow.skipped', task);
    cancelTask(state, task, 'Workflow Skipped');
  }
}

/** Emits task-queue.moved when the task is about to leave its queue for another one. */
function moveOut(state: EngineState, task: TaskRecord, queueSid: string): void {
  const previous = task.taskQueueSid;
  if (previous === null || previous === queueSid) return;
  const d = addWorkflowData(state, addQueueData(state, taskData(state, task), previous), task.workflowSid);
  d['task_queue_moved_to_sid'] = queueSid;
  emit(state, 'task-queue.moved', 'task', task.sid, d);
  leaveQueue(task);
}

/**
 * Puts the task in a queue and emits task-queue.entered. A caller moving it from another queue
 * calls moveOut first (task-queue.moved comes before workflow.target-matched, spec §5.2), so
 * this only leaves the old queue's set: a second moveOut here would emit task-queue.moved twice.
 */
export function enterQueue(state: EngineState, task: TaskRecord, queueSid: string): void {
  leaveQueue(task);
  task.taskQueueSid = queueSid;
  task.taskQueueEnteredAt = state.now;
  (state.queues.get(queueSid) as QueueIndex).tasks.add(task);
  touchTask(state, task);
  emitTask(state, 'task-queue.entered', task);
}
