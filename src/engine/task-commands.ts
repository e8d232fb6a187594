/**
 * Task commands (spec §5): create, update (attributes, priority, channel, virtual start time,
 * and AssignmentStatus canceled, wrapping or completed) and delete a task. Each checks its input
 * before it changes anything (a refusal leaves the engine as it was), then starts or resumes
 * routing: to a worker, a queue, or a workflow's first matching filter (spec §5.1
 * RoutingTarget). Instants are epoch ms; Timeout is in seconds.
 */
import { LIMITS } from './limits.ts';
import { isTerminal, isWaiting, type TaskRecord } from './model.ts';
import { reject } from './rejections.ts';
import type { Command } from './commands.ts';
import { emitTask } from './event-data.ts';
import { unlist } from './matching.ts';
import { routeNow } from './offers.ts';
import { endReservation, releaseReservation } from './reservation-lifecycle.ts';
import type { EngineState } from './state.ts';
import { cancelTask, completeTask, removeTask, wrapTask } from './task-lifecycle.ts';
import { openReservationsOf, setStatusTimer, touchTask, ttlAt } from './task-records.ts';
import {
  channelOrReject,
  checkInteger,
  checkVersion,
  parseAttributes,
  queueOrReject,
  taskOrReject,
  workerOrReject,
  workflowOrReject,
} from './validation.ts';
import { enterQueue, reroute, routeFromTop } from './workflow-routing.ts';

/**
 * createTask (spec §5.1): attributes, priority, Timeout (TTL), channel, VirtualStartTime and where
 * it goes (RoutingTarget, TaskQueueSid or WorkflowSid; the only workflow when none is named).
 * Returns the new task's SID.
 */
export function createTask(state: EngineState, c: Extract<Command, { type: 'createTask' }>): string {
  const attributesJson = c.attributes ?? '{}';
  const attributes = parseAttributes(attributesJson);
  if (c.priority !== undefined) checkInteger(c.priority, 'Priority', 0, LIMITS.taskPriorityMax);
  if (c.timeoutS !== undefined) checkInteger(c.timeoutS, 'Timeout', 1, LIMITS.taskTimeoutMaxS);
  const channel = channelOrReject(state, c.taskChannel ?? 'default', 'TaskChannel');
  if (c.virtualStartTime !== undefined) {
    if (!Number.isFinite(c.virtualStartTime) || c.virtualStartTime > state.now || c.virtualStartTime < -2_208_988_800_000) {
      reject('invalid_parameter', 'VirtualStartTime must be a date between 1900 and now', 'VirtualStartTime');
    }
  }
  // Where the task goes: a worker, a queue, or a workflow (spec §5.1 RoutingTarget).
  let workflowSid: string | null = null;
  let queueSid: string | null = null;
  let workerTarget: string | null = null;
  const target = c.routingTarget ?? (c.taskQueueSid !== undefined ? c.taskQueueSid : undefined);
  const field = c.routingTarget !== undefined ? 'RoutingTarget' : 'TaskQueueSid';
  if (target !== undefined) {
    const prefix = target.slice(0, 2);
    if (prefix === 'WK') workerTarget = workerOrReject(state, target, field).sid;
    else if (prefix === 'WQ') queueSid = queueOrReject(state, target, field).record.sid;
    else if (prefix === 'WW') workflowSid = workflowOrReject(state, target, field).sid;
    else reject('invalid_parameter', `${field} must be a Worker (WK), TaskQueue (WQ) or Workflow (WW) SID`, field);
  }
  if (c.workflowSid !== undefined) {
    const wf = workflowOrReject(state, c.workflowSid);
    if (workflowSid !== null && workflowSid !== wf.sid) reject('invalid_parameter', 'WorkflowSid and RoutingTarget name different workflows', 'WorkflowSid');
    workflowSid = wf.sid;
  }
  if (workflowSid === null && queueSid === null && workerTarget === null) {
    if (state.workflows.size !== 1) {
      reject('invalid_parameter', `WorkflowSid is required: the workspace has ${state.workflows.size} workflows`, 'WorkflowSid');
    }
    workflowSid = state.workflows.keys().next().value as string;
  }
  if (c.ignoreCapacity !== undefined && workerTarget === null) {
    reject('invalid_parameter', 'IgnoreCapacity applies only with a worker (WK) RoutingTarget', 'IgnoreCapacity');
  }
  if (state.tasks.size >= LIMITS.tasks) reject('limit_exceeded', `A workspace holds at most ${LIMITS.tasks} tasks`);

  const priority = c.priority ?? 0;
  const task: TaskRecord = {
    sid: state.newSid('WT'),
    attributesJson,
    assignmentStatus: 'pending',
    priority,
    basePriority: priority,
    timeoutS: c.timeoutS ?? LIMITS.taskTimeoutDefaultS,
    reason: null,
    taskQueueSid: null,
    taskQueueEnteredAt: null,
    workflowSid,
    taskChannelSid: channel.sid,
    virtualStartTime: c.virtualStartTime ?? state.now,
    routingTarget: c.routingTarget ?? null,
    ignoreCapacity: workerTarget !== null ? (c.ignoreCapacity ?? true) : false,
    addons: '{}',
    dateCreated: state.now,
    dateUpdated: state.now,
    version: 0,
    routing: { filterIndex: null, stepIndex: 0, filterEnteredAt: state.now, stepDeadlineAt: null, stepExpired: false },
    reservationCycles: 0,
    reservationSids: [],
    lastReservation: null,
    statusChangedAt: state.now,
    attributes,
    pendingReservations: 0,
    stamp: 0,
    restriction: null,
    listedIn: null,
    listedChannel: channel.index,
    queueList: null,
    queuePrev: null,
    queueNext: null,
    statusTimer: null,
  };
  state.tasks.set(task.sid, task);
  emitTask(state, 'task.created', task);
  setStatusTimer(state, task, ttlAt(task), 'taskTtl');
  startRouting(state, task, workerTarget, queueSid);
  return task.sid;
}

/** Routes a new task: to its worker, into its queue, or into its workflow from the top. */
function startRouting(state: EngineState, task: TaskRecord, workerTarget: string | null, queueSid: string | null): void {
  if (workerTarget !== null) {
    routeNow(state, task);
  } else if (queueSid !== null) {
    enterQueue(state, task, queueSid);
    routeNow(state, task);
  } else {
    emitTask(state, 'workflow.entered', task, null);
    routeFromTop(state, task);
  }
}

/**
 * updateTask (spec §5.2): changed fields route a waiting task again (a new workflow pass when its
 * attributes or channel changed); an AssignmentStatus cancels, wraps up or completes it.
 */
export function updateTask(state: EngineState, c: Extract<Command, { type: 'updateTask' }>): string {
  const task = taskOrReject(state, c.taskSid);
  checkVersion(c.ifMatch, task.version, `Task ${task.sid}`);
  const status = task.assignmentStatus;
  const changesFields = c.attributes !== undefined || c.priority !== undefined || c.taskChannel !== undefined || c.virtualStartTime !== undefined;
  if (changesFields && isTerminal(status)) reject('invalid_state', `Task ${task.sid} is ${status} and can no longer change`);
  const attributes = c.attributes !== undefined ? parseAttributes(c.attributes) : null;
  if (c.priority !== undefined) checkInteger(c.priority, 'Priority', 0, LIMITS.taskPriorityMax);
  const channel = c.taskChannel !== undefined ? channelOrReject(state, c.taskChannel, 'TaskChannel') : null;
  if (c.virtualStartTime !== undefined && (!Number.isFinite(c.virtualStartTime) || c.virtualStartTime > state.now)) {
    reject('invalid_parameter', 'VirtualStartTime must not be in the future', 'VirtualStartTime');
  }
  if (c.assignmentStatus !== undefined) checkStatusChange(task, c.assignmentStatus);

  if (changesFields) {
    const rerouteNeeded = isWaiting(status) && (attributes !== null || (channel !== null && channel.sid !== task.taskChannelSid));
    if (isWaiting(status)) unlist(state, task);
    if (attributes !== null && c.attributes !== undefined) {
      task.attributesJson = c.attributes;
      task.attributes = attributes;
    }
    if (c.priority !== undefined) {
      task.priority = c.priority;
      task.basePriority = c.priority;
    }
    if (channel !== null) task.taskChannelSid = channel.sid;
    if (c.virtualStartTime !== undefined) task.virtualStartTime = c.virtualStartTime;
    touchTask(state, task);
    emitTask(state, 'task.updated', task);
    if (rerouteNeeded) reroute(state, task);
    else if (isWaiting(status)) routeNow(state, task);
  }
  if (c.assignmentStatus !== undefined && c.assignmentStatus !== task.assignmentStatus) {
    if (c.reason !== undefined) task.reason = c.reason;
    if (c.assignmentStatus === 'canceled') cancelTask(state, task, c.reason ?? null);
    else if (c.assignmentStatus === 'wrapping') wrapTask(state, task);
    else completeTask(state, task, c.reason ?? null);
  }
  return task.sid;
}

/** Validates a requested AssignmentStatus against the task's status (spec §5.2 rules). */
function checkStatusChange(task: TaskRecord, to: string): void {
  const from = task.assignmentStatus;
  // No idempotent repeats: canceling a canceled task or completing a completed one is a 400
  // like any other change to a terminal task (spec §5.2 rules).
  switch (to) {
    case 'canceled':
      if (!isWaiting(from)) reject('invalid_state', `Cannot cancel task ${task.sid} because it is not pending or reserved (it is ${from})`, 'AssignmentStatus');
      return;
    case 'wrapping':
      if (from !== 'assigned') reject('invalid_state', `Cannot wrap up task ${task.sid} because it's not currently assigned (it is ${from})`, 'AssignmentStatus');
      return;
    case 'completed':
      if (from !== 'assigned' && from !== 'wrapping') {
        reject('invalid_state', `Cannot complete task ${task.sid} because it is not assigned or wrapping (it is ${from})`, 'AssignmentStatus');
      }
      return;
    default:
      reject('invalid_parameter', `AssignmentStatus can be set to canceled, wrapping or completed, not ${to}`, 'AssignmentStatus');
  }
}

/** deleteTask: pending reservations are canceled, accepted ones released, and the task is removed (task.deleted). */
export function deleteTask(state: EngineState, c: Extract<Command, { type: 'deleteTask' }>): string {
  const task = taskOrReject(state, c.taskSid);
  checkVersion(c.ifMatch, task.version, `Task ${task.sid}`);
  unlist(state, task);
  for (const r of openReservationsOf(state, task)) {
    if (r.reservationStatus === 'pending') endReservation(state, r, 'canceled', null);
    else releaseReservation(state, r);
  }
  emitTask(state, 'task.deleted', task);
  removeTask(state, task);
  return task.sid;
}
