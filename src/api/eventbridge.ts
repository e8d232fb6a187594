/**
 * The worker SDK's own object shapes ("EventBridge", spec voice-worker-sdk-console.md B4) — not the
 * public REST shapes of serializers.ts: dates are epoch **seconds**, every object has `version`, a
 * task names its queue `queue_sid`/`queue_name` and has `virtual_start_time` in epoch seconds, a
 * worker channel has `last_reserved_time` in epoch **milliseconds**, a reservation has
 * `reservation_timeout` (seconds) and its task embedded. The SDK's descriptors throw when a listed
 * key is missing (`twilio-taskrouter` 2.1.1 `*Properties`), so every one of them is always present.
 * Attributes and addons stay JSON in a string (the SDK parses them).
 *
 * Also: the frames the WebSocket sends for an engine event (B3), and the `contents`/`after_sid`
 * pages of the envelope's lists.
 */
import type { ActivityRecord, EngineEvent, ReservationRecord, ReservationStatus, TaskQueueRecord, TaskRecord, TaskStatus, TransferRecord, WorkerChannelRecord, WorkerRecord, WorkspaceEngine } from '../engine/index.ts';

/** What every serializer needs: the workspace, its account, and now (epoch ms, for a task's `age`). */
export interface EbCtx {
  engine: WorkspaceEngine;
  accountSid: string;
  now: number;
}

/** Epoch ms → epoch seconds (whole). */
const s = (ms: number): number => Math.floor(ms / 1000);

function common(c: EbCtx): { account_sid: string; workspace_sid: string } {
  return { account_sid: c.accountSid, workspace_sid: c.engine.workspace.sid };
}

/** `WorkerDescriptor`: account_sid … version (B4). */
export function ebWorker(c: EbCtx, w: WorkerRecord): Record<string, unknown> {
  return {
    ...common(c),
    activity_name: w.activityName,
    activity_sid: w.activitySid,
    attributes: w.attributesJson,
    available: w.activityAvailable,
    date_created: s(w.dateCreated),
    date_status_changed: s(w.dateStatusChanged),
    date_updated: s(w.dateUpdated),
    friendly_name: w.friendlyName,
    sid: w.sid,
    version: w.version,
  };
}

/** `ActivityDescriptor`. */
export function ebActivity(c: EbCtx, a: ActivityRecord): Record<string, unknown> {
  return { ...common(c), available: a.available, date_created: s(a.dateCreated), date_updated: s(a.dateUpdated), friendly_name: a.friendlyName, sid: a.sid };
}

/** `WorkerChannelDescriptor` (`last_reserved_time` in epoch ms, null when never reserved). */
export function ebChannel(c: EbCtx, w: WorkerRecord, ch: WorkerChannelRecord): Record<string, unknown> {
  return {
    ...common(c),
    assigned_tasks: ch.assignedTasks,
    available: ch.available,
    available_capacity_percentage: ch.availableCapacityPercentage,
    configured_capacity: ch.configuredCapacity,
    date_created: s(ch.dateCreated),
    date_updated: s(ch.dateUpdated),
    last_reserved_time: ch.lastReservedAt,
    sid: ch.sid,
    task_channel_sid: ch.taskChannelSid,
    task_channel_unique_name: c.engine.channels.get(ch.taskChannelSid)?.uniqueName ?? null,
    worker_sid: w.sid,
  };
}

/** `TaskDescriptor`; `status` overrides `assignment_status` (an event's payload tells the status it reports). */
export function ebTask(c: EbCtx, t: TaskRecord, status: TaskStatus = t.assignmentStatus): Record<string, unknown> {
  return {
    ...common(c),
    addons: t.addons,
    age: Math.max(0, s(c.now - t.dateCreated)),
    assignment_status: status,
    attributes: t.attributesJson,
    date_created: s(t.dateCreated),
    date_updated: s(t.dateUpdated),
    priority: t.priority,
    queue_name: t.taskQueueSid === null ? null : (c.engine.queues.get(t.taskQueueSid)?.record.friendlyName ?? null),
    queue_sid: t.taskQueueSid,
    reason: t.reason,
    routing_target: t.routingTarget,
    sid: t.sid,
    task_channel_sid: t.taskChannelSid,
    task_channel_unique_name: c.engine.channels.get(t.taskChannelSid)?.uniqueName ?? null,
    timeout: t.timeoutS,
    version: t.version,
    virtual_start_time: s(t.virtualStartTime),
    workflow_name: t.workflowSid === null ? null : (c.engine.workflows.get(t.workflowSid)?.friendlyName ?? null),
    workflow_sid: t.workflowSid,
  };
}

/**
 * `ReservationDescriptor` with its task embedded; undefined when its task is gone (purged).
 * `status` overrides `reservation_status` (an event's payload reports the status of its event).
 */
export function ebReservation(c: EbCtx, r: ReservationRecord, status: ReservationStatus = r.reservationStatus): Record<string, unknown> | undefined {
  const task = c.engine.tasks.get(r.taskSid);
  if (task === undefined) return undefined;
  // The SDK reads these two only when they are objects (null would be malformed): absent unless set.
  const incoming = c.engine.incomingTransfer(r.taskSid);
  const outgoing = c.engine.outgoingTransfer(r.taskSid);
  return {
    ...(incoming === undefined ? {} : { task_transfer: ebTransfer(c, incoming) }),
    ...(outgoing === undefined || outgoing.initiatingReservationSid !== r.sid || outgoing.status !== 'initiated' ? {} : { active_outgoing_task_transfer: ebTransfer(c, outgoing) }),
    ...common(c),
    date_created: s(r.dateCreated),
    date_updated: s(r.dateUpdated),
    reservation_status: status,
    reservation_timeout: Math.max(0, Math.round((r.timeoutAt - r.dateCreated) / 1000)),
    sid: r.sid,
    task: ebTask(c, task, taskStatusFor(status, task.assignmentStatus)),
    task_sid: r.taskSid,
    // A reservation's version is its task's, as its REST ETag is (routes/reservations.ts): the
    // SDK's If-Match on a reservation update is then checked against the task.
    version: task.version,
    worker_name: c.engine.workers.get(r.workerSid)?.friendlyName ?? null,
    worker_sid: r.workerSid,
  };
}

/**
 * `TransferDescriptor` (the SDK's `TransferProperties`, B4) plus `task_sid` (the task transferred:
 * the SDK matches a `task.transfer-*` event to the initiating reservation's task by it) and
 * `transfer_failed_reason`. Statuses: `initiated`, `completed`, `failed`, `canceled`.
 */
export function ebTransfer(c: EbCtx, t: TransferRecord): Record<string, unknown> {
  return {
    ...common(c),
    date_created: s(t.dateCreated),
    date_updated: s(t.dateUpdated),
    initiating_queue_sid: t.initiatingQueueSid,
    initiating_reservation_sid: t.initiatingReservationSid,
    initiating_worker_sid: t.initiatingWorkerSid,
    initiating_workflow_sid: t.initiatingWorkflowSid,
    sid: t.sid,
    task_sid: t.taskSid,
    transfer_failed_reason: t.failedReason,
    transfer_mode: t.mode,
    transfer_status: t.status,
    transfer_to: t.to,
    transfer_type: t.type,
  };
}

/** The task status a reservation event reports alongside its own (a created reservation's task is reserved …). */
function taskStatusFor(status: ReservationStatus, current: TaskStatus): TaskStatus {
  if (status === 'pending') return 'reserved';
  if (status === 'accepted') return current === 'wrapping' || current === 'completed' ? current : 'assigned';
  if (status === 'wrapping') return current === 'completed' ? current : 'wrapping';
  if (status === 'completed') return 'completed';
  return current;
}

/** `TaskQueueDescriptor` (with `lifo_queue`). */
export function ebTaskQueue(c: EbCtx, q: TaskQueueRecord): Record<string, unknown> {
  const name = (sid: string | null): string | null => (sid === null ? null : (c.engine.activities.get(sid)?.friendlyName ?? null));
  return {
    ...common(c),
    assignment_activity_name: name(q.assignmentActivitySid),
    assignment_activity_sid: q.assignmentActivitySid,
    date_created: s(q.dateCreated),
    date_updated: s(q.dateUpdated),
    friendly_name: q.friendlyName,
    lifo_queue: q.taskOrder === 'LIFO',
    max_reserved_workers: q.maxReservedWorkers,
    reservation_activity_name: name(q.reservationActivitySid),
    reservation_activity_sid: q.reservationActivitySid,
    sid: q.sid,
    target_workers: q.targetWorkers,
    task_order: q.taskOrder,
  };
}

/** Largest page the envelope's lists serve (the SDK asks for 1,000 activities). */
export const EB_MAX_PAGE = 1000;

/**
 * A page of `items` after the one with SID `afterSid` (from the start when undefined or unknown):
 * `{contents, after_sid, meta: {list_key, next_token, page_size}}`, `after_sid` being the last
 * SID of this page when more follow, else null (B4).
 */
export function ebPage<T>(items: readonly T[], sidOf: (item: T) => string, serialize: (item: T) => unknown, pageSize: number, afterSid: string | undefined): Record<string, unknown> {
  const start = afterSid === undefined ? 0 : items.findIndex((i) => sidOf(i) === afterSid) + 1;
  const slice = items.slice(start, start + pageSize);
  const more = start + pageSize < items.length;
  const last = slice[slice.length - 1];
  const after = more && last !== undefined ? sidOf(last) : null;
  return { contents: slice.map(serialize), after_sid: after, meta: { list_key: 'contents', next_token: null, page_size: pageSize } };
}

/** The task events the SDK consumes (its `getTREventsToHandlerMapping`), with the status each reports. */
const TASK_EVENTS: Partial<Record<string, TaskStatus | null>> = { 'task.updated': null, 'task.canceled': 'canceled', 'task.completed': 'completed', 'task.wrapup': 'wrapping' };

/** The reservation events the SDK consumes, with the status each reports. */
const RESERVATION_EVENTS: Partial<Record<string, ReservationStatus>> = {
  'reservation.created': 'pending',
  'reservation.accepted': 'accepted',
  'reservation.rejected': 'rejected',
  'reservation.timeout': 'timeout',
  'reservation.canceled': 'canceled',
  'reservation.rescinded': 'rescinded',
  'reservation.wrapup': 'wrapping',
  'reservation.completed': 'completed',
};

/** One frame for one worker's sockets. */
export interface WorkerFrame {
  workerSid: string;
  /** `{"event_type":…,"payload":…}` as sent. */
  text: string;
}

const frame = (eventType: string, payload: unknown): string => JSON.stringify({ event_type: eventType, payload });

/**
 * The frames an engine event makes for the workers it concerns (B3: only a worker's own events):
 * worker events to that worker (the worker object; the channel object for channel events),
 * reservation events to the reservation's worker (the reservation with its task), task events to
 * every worker holding a reservation of the task (the task object), `task.transfer-*` events to
 * the transfer's initiating worker (the transfer object, with the status of the event). Built from the engine's state
 * when called (after the commit), with the event's own status. Other events make none.
 */
export function framesFor(c: EbCtx, e: EngineEvent): WorkerFrame[] {
  const { engine } = c;
  if (e.eventType === 'worker.activity.update' || e.eventType === 'worker.attributes.update') {
    const w = engine.workers.get(e.resourceSid);
    return w === undefined ? [] : [{ workerSid: w.sid, text: frame(e.eventType, ebWorker(c, w)) }];
  }
  if (e.eventType === 'worker.capacity.update' || e.eventType === 'worker.channel.availability.update') {
    const w = engine.workers.get(e.resourceSid);
    const ch = w?.channels.find((x) => x.taskChannelSid === e.data['task_channel_sid']);
    return w === undefined || ch === undefined ? [] : [{ workerSid: w.sid, text: frame(e.eventType, ebChannel(c, w, ch)) }];
  }
  const reservationStatus = RESERVATION_EVENTS[e.eventType];
  if (reservationStatus !== undefined) {
    const r = engine.reservations.get(e.resourceSid);
    const payload = r === undefined ? undefined : ebReservation(c, r, reservationStatus);
    return r === undefined || payload === undefined ? [] : [{ workerSid: r.workerSid, text: frame(e.eventType, payload) }];
  }
  if (e.eventType.startsWith('task.transfer-')) {
    // To the initiating worker (its SDK emits them on the task's outgoing transfer).
    const t = engine.transfers.get(String(e.data['task_transfer_sid']));
    return t === undefined ? [] : [{ workerSid: t.initiatingWorkerSid, text: frame(e.eventType, { ...ebTransfer(c, t), transfer_status: e.data['transfer_status'] }) }];
  }
  const taskStatus = TASK_EVENTS[e.eventType];
  if (taskStatus !== undefined) {
    const t = engine.tasks.get(e.resourceSid);
    if (t === undefined) return [];
    const workers = new Set<string>();
    for (const sid of t.reservationSids) {
      const r = engine.reservations.get(sid);
      if (r !== undefined) workers.add(r.workerSid);
    }
    const text = frame(e.eventType, ebTask(c, t, taskStatus ?? t.assignmentStatus));
    return [...workers].map((workerSid) => ({ workerSid, text }));
  }
  return [];
}
