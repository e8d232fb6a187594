/**
 * Event data (spec §9.3 groups) and the engine's emit helpers, as functions of the engine's
 * state (state.ts): the workspace group, then task, worker, queue and workflow groups in a fixed
 * key order (event logs must come out byte-identical). Times in event data are whole seconds
 * (`task_age`, `task_date_created`, …) unless a key says `_ms`; the engine's clock is epoch ms.
 *
 * One path builds every event's data: {@link taskData} (or {@link workspaceData}) as an object
 * literal, then each further group added in turn. One object literal per combination of groups
 * saved 7 to 9 ns per routed event in a micro-benchmark, some 50 ns of a task lifecycle, and
 * bench/engine.bench.ts could not tell the two apart (6 alternating runs of 300,000 lifecycles
 * each: 60,000–75,000/s with the literals, 62,000–68,000/s without): not worth three hand-kept
 * copies of the task group in the same key order.
 */
import type { EngineEvent, EventType, EventValue, ResourceType } from './events.ts';
import type { ActivityRecord, ReservationRecord, TaskChannelRecord, TaskQueueRecord, TaskRecord, WorkerRecord, WorkflowRecord } from './model.ts';
import type { EngineState } from './state.ts';

/**
 * Appends an event at the engine's instant (a new `EV` SID) to the events of the command being
 * executed, and records it in the statistics. `worker`, for a reservation event, is its worker
 * record: the statistics recorder keeps a slot on it.
 */
export function emit(
  state: EngineState,
  eventType: EventType,
  resourceType: ResourceType,
  resourceSid: string,
  data: Record<string, EventValue>,
  worker?: WorkerRecord,
): void {
  const event: EngineEvent = { sid: state.newSid('EV'), eventType, at: state.now, resourceType, resourceSid, data };
  state.events.push(event);
  state.statistics.record(event, worker);
}

/** A new event data object with the workspace group (spec §9.3): `workspace_sid`, `workspace_name`. */
export function workspaceData(state: EngineState): Record<string, EventValue> {
  return { workspace_sid: state.workspace.sid, workspace_name: state.workspace.friendlyName };
}

/** The workspace and task groups of a task event; `task_age` in whole seconds since creation. */
export function taskData(state: EngineState, task: TaskRecord): Record<string, EventValue> {
  const channel = state.channels.get(task.taskChannelSid);
  return {
    workspace_sid: state.workspace.sid,
    workspace_name: state.workspace.friendlyName,
    task_sid: task.sid,
    task_attributes: task.attributesJson,
    task_age: Math.floor((state.now - task.dateCreated) / 1000),
    task_priority: task.priority,
    task_assignment_status: task.assignmentStatus,
    task_canceled_reason: task.assignmentStatus === 'canceled' ? task.reason : null,
    task_completed_reason: task.assignmentStatus === 'completed' ? task.reason : null,
    task_version: task.version,
    task_date_created: Math.floor(task.dateCreated / 1000),
    task_queue_entered_date: task.taskQueueEnteredAt === null ? null : Math.floor(task.taskQueueEnteredAt / 1000),
    task_channel_sid: task.taskChannelSid,
    task_channel_unique_name: channel?.uniqueName ?? null,
    task_virtual_start_time: Math.floor(task.virtualStartTime / 1000),
  };
}

/** Adds the worker group to `d` and returns it. */
function addWorkerData(d: Record<string, EventValue>, w: WorkerRecord): Record<string, EventValue> {
  d['worker_sid'] = w.sid;
  d['worker_name'] = w.friendlyName;
  d['worker_attributes'] = w.attributesJson;
  d['worker_activity_sid'] = w.activitySid;
  d['worker_activity_name'] = w.activityName;
  d['worker_version'] = w.version;
  return d;
}

/** Adds the task queue group to `d` when `queueSid` names a queue that still exists; returns `d`. */
export function addQueueData(state: EngineState, d: Record<string, EventValue>, queueSid: string | null): Record<string, EventValue> {
  const q = queueSid === null ? undefined : state.queues.get(queueSid);
  if (q !== undefined) {
    d['task_queue_sid'] = q.record.sid;
    d['task_queue_name'] = q.record.friendlyName;
    d['task_queue_target_expression'] = q.record.targetWorkers;
  }
  return d;
}

/** Adds the workflow group to `d` when `workflowSid` names a workflow that still exists; returns `d`. */
export function addWorkflowData(state: EngineState, d: Record<string, EventValue>, workflowSid: string | null): Record<string, EventValue> {
  const wf = workflowSid === null ? undefined : state.workflows.get(workflowSid);
  if (wf !== undefined) {
    d['workflow_sid'] = wf.sid;
    d['workflow_name'] = wf.friendlyName;
  }
  return d;
}

/** Task, Queue and Workflow groups: task.* and task-queue.* events (spec §9.3). */
export function emitTask(state: EngineState, type: EventType, task: TaskRecord, queueSid = task.taskQueueSid): void {
  const d = addWorkflowData(state, addQueueData(state, taskData(state, task), queueSid), task.workflowSid);
  emit(state, type, 'task', task.sid, d);
}

/** Reservation group events (spec §9.3): task, worker, queue and workflow groups plus `reservation_sid`. */
export function emitReservation(state: EngineState, type: EventType, r: ReservationRecord, task: TaskRecord, worker: WorkerRecord): void {
  const d = addWorkflowData(state, addQueueData(state, addWorkerData(taskData(state, task), worker), r.taskQueueSid), r.workflowSid);
  d['reservation_sid'] = r.sid;
  emit(state, type, 'reservation', r.sid, d, worker);
}

/** Worker group events; `extra` keys (previous activity, channel capacity…) go after the worker group. */
export function emitWorker(state: EngineState, type: EventType, w: WorkerRecord, extra?: Record<string, EventValue>): void {
  const d = addWorkerData(workspaceData(state), w);
  if (extra !== undefined) Object.assign(d, extra);
  emit(state, type, 'worker', w.sid, d);
}

/** task-queue.created/updated/deleted/expression.updated. */
export function emitQueue(state: EngineState, type: EventType, q: TaskQueueRecord): void {
  emit(state, type, 'taskqueue', q.sid, addQueueData(state, workspaceData(state), q.sid));
}

/** workflow.created/updated/deleted. */
export function emitWorkflow(state: EngineState, type: EventType, wf: WorkflowRecord): void {
  const d = workspaceData(state);
  d['workflow_sid'] = wf.sid;
  d['workflow_name'] = wf.friendlyName;
  emit(state, type, 'workflow', wf.sid, d);
}

/** activity.created/updated/deleted. */
export function emitActivity(state: EngineState, type: EventType, a: ActivityRecord): void {
  const d = workspaceData(state);
  d['activity_sid'] = a.sid;
  d['activity_name'] = a.friendlyName;
  d['activity_available'] = a.available;
  emit(state, type, 'activity', a.sid, d);
}

/** task-channel.created/updated/deleted. */
export function emitChannel(state: EngineState, type: EventType, c: TaskChannelRecord): void {
  const d = workspaceData(state);
  d['task_channel_sid'] = c.sid;
  d['task_channel_name'] = c.friendlyName;
  d['task_channel_unique_name'] = c.uniqueName;
  d['task_channel_optimized_routing'] = c.channelOptimizedRouting;
  emit(state, type, 'taskchannel', c.sid, d);
}
