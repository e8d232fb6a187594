/**
 * The workspace's configuration commands (spec §1–§4): workspace settings, activities, task
 * channels, task queues and workflows. Each checks all of its input before it changes anything
 * (a refusal leaves the engine as it was), then updates the records, emits its events and
 * brings routing up to date (queue membership, worker readiness, waiting tasks). Times are the
 * engine's clock, epoch ms.
 */
import { LIMITS } from './limits.ts';
import {
  isTerminal,
  isWaiting,
  removeItem,
  type ActivityRecord,
  type TaskChannelRecord,
  type TaskQueueRecord,
  type WorkflowRecord,
} from './model.ts';
import { QueueIndex } from './queue-index.ts';
import { reject } from './rejections.ts';
import type { Command } from './commands.ts';
import { emit, emitActivity, emitChannel, emitQueue, emitWorkflow, workspaceData } from './event-data.ts';
import { markDirty, refreshWorker, unlist, updateMembership } from './matching.ts';
import { routeNow } from './offers.ts';
import { findChannel, type EngineState } from './state.ts';
import {
  activityOrReject,
  checkFriendlyName,
  checkInteger,
  compilePlan,
  compileTargetWorkers,
  queueOrReject,
  workflowOrReject,
} from './validation.ts';
import { reroute, restrictionFor } from './workflow-routing.ts';
import { newWorkerChannel } from './worker-records.ts';

/** A task channel's UniqueName: letters, digits, `_` and `$`, not starting with a digit. */
const UNIQUE_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** updateWorkspace: settings; a MultiTaskEnabled change re-evaluates every worker's readiness (spec §7.2). Returns the workspace SID. */
export function updateWorkspace(state: EngineState, c: Extract<Command, { type: 'updateWorkspace' }>): string {
  const ws = state.workspace;
  if (c.friendlyName !== undefined) checkFriendlyName(c.friendlyName);
  if (c.defaultActivitySid !== undefined) activityOrReject(state, c.defaultActivitySid, 'DefaultActivitySid');
  if (c.timeoutActivitySid !== undefined) activityOrReject(state, c.timeoutActivitySid, 'TimeoutActivitySid');
  if (c.prioritizeQueueOrder !== undefined && c.prioritizeQueueOrder !== 'FIFO' && c.prioritizeQueueOrder !== 'LIFO') {
    reject('invalid_parameter', 'PrioritizeQueueOrder must be FIFO or LIFO', 'PrioritizeQueueOrder');
  }
  if (c.friendlyName !== undefined) ws.friendlyName = c.friendlyName;
  if (c.eventCallbackUrl !== undefined) ws.eventCallbackUrl = c.eventCallbackUrl;
  if (c.eventsFilter !== undefined) ws.eventsFilter = c.eventsFilter;
  if (c.defaultActivitySid !== undefined) ws.defaultActivitySid = c.defaultActivitySid;
  if (c.timeoutActivitySid !== undefined) ws.timeoutActivitySid = c.timeoutActivitySid;
  if (c.prioritizeQueueOrder !== undefined) ws.prioritizeQueueOrder = c.prioritizeQueueOrder;
  const multitaskChanged = c.multiTaskEnabled !== undefined && c.multiTaskEnabled !== ws.multiTaskEnabled;
  if (c.multiTaskEnabled !== undefined) ws.multiTaskEnabled = c.multiTaskEnabled;
  ws.dateUpdated = state.now;
  emit(state, 'workspace.updated', 'workspace', ws.sid, workspaceData(state));
  if (multitaskChanged) for (const w of state.workers.values()) refreshWorker(state, w);
  return ws.sid;
}

/** Creates an activity without checks (seed activities and createActivity) and emits activity.created. */
export function addActivity(state: EngineState, friendlyName: string, available: boolean): ActivityRecord {
  const a: ActivityRecord = { sid: state.newSid('WA'), friendlyName, available, dateCreated: state.now, dateUpdated: state.now };
  state.activities.set(a.sid, a);
  emitActivity(state, 'activity.created', a);
  return a;
}

/** createActivity: unique FriendlyName, at most `LIMITS.activities`. Returns the new activity's SID. */
export function createActivity(state: EngineState, c: Extract<Command, { type: 'createActivity' }>): string {
  const name = checkFriendlyName(c.friendlyName);
  if (state.activities.size >= LIMITS.activities) reject('limit_exceeded', `A workspace holds at most ${LIMITS.activities} activities`);
  for (const a of state.activities.values()) {
    if (a.friendlyName === name) reject('duplicate', `Activity named ${name} already exists in workspace ${state.workspace.sid}`, 'FriendlyName');
  }
  return addActivity(state, name, c.available ?? false).sid;
}

/** updateActivity: a rename reaches the workers holding the activity (TargetWorkers may read activity_name). */
export function updateActivity(state: EngineState, c: Extract<Command, { type: 'updateActivity' }>): string {
  const a = state.activities.get(c.activitySid) ?? reject('not_found', `Activity ${c.activitySid} was not found`, 'ActivitySid');
  if (c.friendlyName !== undefined) {
    const name = checkFriendlyName(c.friendlyName);
    for (const other of state.activities.values()) {
      if (other !== a && other.friendlyName === name) reject('duplicate', `Activity named ${name} already exists`, 'FriendlyName');
    }
    a.friendlyName = name;
    for (const w of state.workers.values()) {
      if (w.activitySid !== a.sid) continue;
      w.activityName = name;
      // TargetWorkers and target expressions may read activity_name (spec §3.1).
      for (const q of state.activityQueues) updateMembership(state, w, q);
      markDirty(state, w, -1);
    }
  }
  a.dateUpdated = state.now;
  emitActivity(state, 'activity.updated', a);
  return a.sid;
}

/** deleteActivity: refused (`in_use`) for the default or timeout activity, one a worker holds, or one a queue moves workers to. */
export function deleteActivity(state: EngineState, c: Extract<Command, { type: 'deleteActivity' }>): string {
  const a = state.activities.get(c.activitySid) ?? reject('not_found', `Activity ${c.activitySid} was not found`, 'ActivitySid');
  const ws = state.workspace;
  if (a.sid === ws.defaultActivitySid || a.sid === ws.timeoutActivitySid) {
    reject('in_use', `Activity ${a.friendlyName} is the workspace's default or timeout activity and cannot be deleted`);
  }
  for (const w of state.workers.values()) {
    if (w.activitySid === a.sid) reject('in_use', `Activity ${a.friendlyName} is held by worker ${w.friendlyName} and cannot be deleted`);
  }
  for (const q of state.queues.values()) {
    if (q.record.reservationActivitySid === a.sid || q.record.assignmentActivitySid === a.sid) {
      reject('in_use', `Activity ${a.friendlyName} is used by task queue ${q.record.friendlyName} and cannot be deleted`);
    }
  }
  state.activities.delete(a.sid);
  emitActivity(state, 'activity.deleted', a);
  return a.sid;
}

/** Creates a task channel without checks (seed channels and createTaskChannel): every queue and worker gets a slot for it. */
export function addChannel(state: EngineState, friendlyName: string, uniqueName: string, optimized: boolean): TaskChannelRecord {
  const ch: TaskChannelRecord = {
    sid: state.newSid('TC'),
    friendlyName,
    uniqueName,
    channelOptimizedRouting: optimized,
    dateCreated: state.now,
    dateUpdated: state.now,
    index: state.channelList.length,
    deleted: false,
  };
  state.channels.set(ch.sid, ch);
  state.channelList.push(ch);
  for (const q of state.queues.values()) q.addChannel();
  for (const w of state.workers.values()) {
    w.channels.push(newWorkerChannel(state, ch));
    refreshWorker(state, w);
  }
  emitChannel(state, 'task-channel.created', ch);
  return ch;
}

/** createTaskChannel: UniqueName of letters, digits, `_` and `$`, unique, at most `LIMITS.taskChannels` live channels. */
export function createTaskChannel(state: EngineState, c: Extract<Command, { type: 'createTaskChannel' }>): string {
  const friendlyName = checkFriendlyName(c.friendlyName);
  if (typeof c.uniqueName !== 'string' || !UNIQUE_NAME.test(c.uniqueName)) {
    reject('invalid_parameter', 'UniqueName may contain only letters, digits, "_" and "$", and may not start with a digit', 'UniqueName');
  }
  if (findChannel(state, c.uniqueName) !== undefined) reject('duplicate', `TaskChannel ${c.uniqueName} already exists in this workspace`, 'UniqueName');
  if (state.channelList.filter((x) => !x.deleted).length >= LIMITS.taskChannels) {
    reject('limit_exceeded', `A workspace holds at most ${LIMITS.taskChannels} task channels`);
  }
  return addChannel(state, friendlyName, c.uniqueName, c.channelOptimizedRouting ?? false).sid;
}

/** updateTaskChannel: a ChannelOptimizedRouting change re-ranks every worker (spec §7.2). */
export function updateTaskChannel(state: EngineState, c: Extract<Command, { type: 'updateTaskChannel' }>): string {
  const ch = findChannel(state, c.taskChannel) ?? reject('not_found', `TaskChannel ${c.taskChannel} was not found`, 'Sid');
  if (c.friendlyName !== undefined) ch.friendlyName = checkFriendlyName(c.friendlyName);
  if (c.channelOptimizedRouting !== undefined && c.channelOptimizedRouting !== ch.channelOptimizedRouting) {
    ch.channelOptimizedRouting = c.channelOptimizedRouting;
    for (const w of state.workers.values()) refreshWorker(state, w);
  }
  ch.dateUpdated = state.now;
  emitChannel(state, 'task-channel.updated', ch);
  return ch.sid;
}

/** deleteTaskChannel: refused while a task uses it; the channel stays in `channelList`, flagged deleted. */
export function deleteTaskChannel(state: EngineState, c: Extract<Command, { type: 'deleteTaskChannel' }>): string {
  const ch = findChannel(state, c.taskChannel) ?? reject('not_found', `TaskChannel ${c.taskChannel} was not found`, 'Sid');
  for (const t of state.tasks.values()) {
    if (t.taskChannelSid === ch.sid) reject('in_use', `TaskChannel ${ch.uniqueName} is used by task ${t.sid} and cannot be deleted`);
  }
  ch.deleted = true;
  for (const w of state.workers.values()) refreshWorker(state, w);
  emitChannel(state, 'task-channel.deleted', ch);
  return ch.sid;
}

/** Checks createTaskQueue/updateTaskQueue fields; `self` is the queue being updated (null on create). */
function checkQueueFields(state: EngineState, c: Extract<Command, { type: 'createTaskQueue' | 'updateTaskQueue' }>, self: QueueIndex | null): void {
  if (c.friendlyName !== undefined) {
    const name = checkFriendlyName(c.friendlyName);
    for (const q of state.queues.values()) {
      if (q !== self && q.record.friendlyName === name) {
        reject('duplicate', `Queue named ${name} already exists for workspace ${state.workspace.sid}`, 'FriendlyName');
      }
    }
  }
  if (c.maxReservedWorkers !== undefined) checkInteger(c.maxReservedWorkers, 'MaxReservedWorkers', 1, LIMITS.maxReservedWorkers);
  if (c.taskOrder !== undefined && c.taskOrder !== 'FIFO' && c.taskOrder !== 'LIFO') {
    reject('invalid_parameter', 'TaskOrder must be FIFO or LIFO', 'TaskOrder');
  }
  if (c.reservationActivitySid) activityOrReject(state, c.reservationActivitySid, 'ReservationActivitySid');
  if (c.assignmentActivitySid) activityOrReject(state, c.assignmentActivitySid, 'AssignmentActivitySid');
}

/** createTaskQueue: TargetWorkers defaults to `1==1`; every worker's membership is evaluated at once. */
export function createTaskQueue(state: EngineState, c: Extract<Command, { type: 'createTaskQueue' }>): string {
  checkFriendlyName(c.friendlyName);
  checkQueueFields(state, c, null);
  if (state.queues.size >= LIMITS.taskQueues) reject('limit_exceeded', `A workspace holds at most ${LIMITS.taskQueues} task queues`);
  const targetWorkers = c.targetWorkers === undefined ? '1==1' : c.targetWorkers;
  const expression = compileTargetWorkers(targetWorkers);
  const record: TaskQueueRecord = {
    sid: state.newSid('WQ'),
    friendlyName: c.friendlyName,
    targetWorkers,
    maxReservedWorkers: c.maxReservedWorkers ?? 1,
    taskOrder: c.taskOrder ?? 'FIFO',
    reservationActivitySid: c.reservationActivitySid || null,
    assignmentActivitySid: c.assignmentActivitySid || null,
    dateCreated: state.now,
    dateUpdated: state.now,
  };
  const q = new QueueIndex(record, expression, state.channelList.length);
  state.queues.set(record.sid, q);
  if (expression?.dependsOn.workerActivity) state.activityQueues.add(q);
  emitQueue(state, 'task-queue.created', record);
  for (const w of state.workers.values()) updateMembership(state, w, q);
  return record.sid;
}

/** updateTaskQueue: a TargetWorkers change re-evaluates membership; waiting tasks are routed again in queue order. */
export function updateTaskQueue(state: EngineState, c: Extract<Command, { type: 'updateTaskQueue' }>): string {
  const q = queueOrReject(state, c.taskQueueSid, 'Sid');
  checkQueueFields(state, c, q);
  const expressionChanged = c.targetWorkers !== undefined && c.targetWorkers !== q.record.targetWorkers;
  const expression = expressionChanged ? compileTargetWorkers(c.targetWorkers ?? null) : q.expression;
  const r = q.record;
  if (c.friendlyName !== undefined) r.friendlyName = c.friendlyName;
  if (c.maxReservedWorkers !== undefined) r.maxReservedWorkers = c.maxReservedWorkers;
  if (c.reservationActivitySid !== undefined) r.reservationActivitySid = c.reservationActivitySid || null;
  if (c.assignmentActivitySid !== undefined) r.assignmentActivitySid = c.assignmentActivitySid || null;
  const reordered = c.taskOrder !== undefined && c.taskOrder !== r.taskOrder;
  if (c.taskOrder !== undefined) r.taskOrder = c.taskOrder;
  r.dateUpdated = state.now;
  if (reordered) q.reorder();
  emitQueue(state, 'task-queue.updated', r);
  if (expressionChanged) {
    r.targetWorkers = c.targetWorkers ?? null;
    q.expression = expression;
    if (expression?.dependsOn.workerActivity) state.activityQueues.add(q);
    else state.activityQueues.delete(q);
    emitQueue(state, 'task-queue.expression.updated', r);
    for (const w of state.workers.values()) updateMembership(state, w, q);
  }
  // A larger MaxReservedWorkers opens slots for tasks already reserved. Offer in queue order
  // (spec §7.1): the set's insertion order is neither fair nor reproduced by a restore.
  const waiting = [...q.tasks].filter((t) => isWaiting(t.assignmentStatus));
  waiting.sort((a, b) => (q.before(a, b) ? -1 : 1));
  for (const t of waiting) routeNow(state, t);
  return r.sid;
}

/** deleteTaskQueue: refused while a workflow targets it or it holds tasks. */
export function deleteTaskQueue(state: EngineState, c: Extract<Command, { type: 'deleteTaskQueue' }>): string {
  const q = queueOrReject(state, c.taskQueueSid, 'Sid');
  for (const wf of state.workflows.values()) {
    if (wf.plan.queueSids.has(q.record.sid)) {
      reject('in_use', `TaskQueue ${q.record.friendlyName} is a target of workflow ${wf.friendlyName}; change the workflow first`);
    }
  }
  if (q.tasks.size > 0) reject('in_use', `TaskQueue ${q.record.friendlyName} still holds ${q.tasks.size} tasks`);
  for (const w of q.members) {
    w.queues.delete(q.record.sid);
    removeItem(w.queueIndexes, q);
  }
  state.queues.delete(q.record.sid);
  state.activityQueues.delete(q);
  emitQueue(state, 'task-queue.deleted', q.record);
  return q.record.sid;
}

/** Checks createWorkflow/updateWorkflow fields; `self` is the workflow being updated (null on create). */
function checkWorkflowFields(state: EngineState, c: Extract<Command, { type: 'createWorkflow' | 'updateWorkflow' }>, self: WorkflowRecord | null): void {
  if (c.friendlyName !== undefined) {
    const name = checkFriendlyName(c.friendlyName);
    for (const wf of state.workflows.values()) {
      if (wf !== self && wf.friendlyName === name) reject('duplicate', `Workflow named ${name} already exists in this workspace`, 'FriendlyName');
    }
  }
  if (c.taskReservationTimeoutS !== undefined) {
    checkInteger(c.taskReservationTimeoutS, 'TaskReservationTimeout', 1, LIMITS.taskReservationTimeoutMaxS);
  }
}

/** createWorkflow: Configuration compiled against the queues (spec §4.1); TaskReservationTimeout defaults to 120 s. */
export function createWorkflow(state: EngineState, c: Extract<Command, { type: 'createWorkflow' }>): string {
  checkFriendlyName(c.friendlyName);
  checkWorkflowFields(state, c, null);
  if (typeof c.configuration !== 'string') reject('invalid_parameter', 'Configuration is required', 'Configuration');
  if (state.workflows.size >= LIMITS.workflows) reject('limit_exceeded', `A workspace holds at most ${LIMITS.workflows} workflows`);
  const plan = compilePlan(state, c.configuration);
  const wf: WorkflowRecord = {
    sid: state.newSid('WW'),
    friendlyName: c.friendlyName,
    configuration: c.configuration,
    assignmentCallbackUrl: c.assignmentCallbackUrl ?? null,
    fallbackAssignmentCallbackUrl: c.fallbackAssignmentCallbackUrl ?? null,
    taskReservationTimeoutS: c.taskReservationTimeoutS ?? 120,
    dateCreated: state.now,
    dateUpdated: state.now,
    plan,
  };
  state.workflows.set(wf.sid, wf);
  emitWorkflow(state, 'workflow.created', wf);
  return wf.sid;
}

/** updateWorkflow: with ReEvaluateTasks, waiting tasks go through the workflow again from the top (spec §4.4). */
export function updateWorkflow(state: EngineState, c: Extract<Command, { type: 'updateWorkflow' }>): string {
  const wf = workflowOrReject(state, c.workflowSid, 'Sid');
  checkWorkflowFields(state, c, wf);
  const plan = c.configuration !== undefined ? compilePlan(state, c.configuration) : wf.plan;
  if (c.friendlyName !== undefined) wf.friendlyName = c.friendlyName;
  if (c.configuration !== undefined) wf.configuration = c.configuration;
  if (c.assignmentCallbackUrl !== undefined) wf.assignmentCallbackUrl = c.assignmentCallbackUrl;
  if (c.fallbackAssignmentCallbackUrl !== undefined) wf.fallbackAssignmentCallbackUrl = c.fallbackAssignmentCallbackUrl;
  if (c.taskReservationTimeoutS !== undefined) wf.taskReservationTimeoutS = c.taskReservationTimeoutS;
  wf.plan = plan;
  wf.dateUpdated = state.now;
  emitWorkflow(state, 'workflow.updated', wf);
  if (c.reEvaluateTasks === true) {
    const affected = [...state.tasks.values()].filter((t) => t.workflowSid === wf.sid && isWaiting(t.assignmentStatus));
    for (const t of affected) reroute(state, t);
  } else if (c.configuration !== undefined) {
    // Waiting tasks keep their filter and step indexes, but their step's restriction comes
    // from the new plan: that is all a restored engine can derive (restoreState in
    // snapshot-restore.ts), so the live engine must do the same or a snapshot would not restore
    // to the same state.
    for (const t of state.tasks.values()) {
      if (t.workflowSid !== wf.sid || !isWaiting(t.assignmentStatus)) continue;
      const f = t.routing.filterIndex;
      const step = f !== null && f >= 0 ? plan.filters[f]?.steps[t.routing.stepIndex] : undefined;
      unlist(state, t);
      t.restriction = step === undefined ? null : restrictionFor(step, t);
      routeNow(state, t);
    }
  }
  return wf.sid;
}

/** deleteWorkflow: refused while a task of it is not yet completed or canceled. */
export function deleteWorkflow(state: EngineState, c: Extract<Command, { type: 'deleteWorkflow' }>): string {
  const wf = workflowOrReject(state, c.workflowSid, 'Sid');
  for (const t of state.tasks.values()) {
    if (t.workflowSid === wf.sid && !isTerminal(t.assignmentStatus)) {
      reject('in_use', `Workflow ${wf.friendlyName} still routes task ${t.sid}; cancel or complete its tasks first`);
    }
  }
  state.workflows.delete(wf.sid);
  emitWorkflow(state, 'workflow.deleted', wf);
  return wf.sid;
}
