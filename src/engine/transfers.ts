/**
 * Task transfers (the worker SDK's `task.transfer(to, {mode, attributes, priority})` and
 * `outgoingTransfer.cancel()`; spec voice-worker-sdk-console.md B4/B5, taskrouter-semantics.md
 * §9.3 `task.transfer-*`). A worker holding an accepted reservation hands its task to another
 * worker (`WK…`) or a task queue (`WQ…`), WARM (both keep it until the first one lets go) or COLD
 * (the first one's task wraps up once the target accepts).
 *
 * [DECISION, spec B5] A transfer is routed as a **new task** composed of the existing commands:
 * the original's attributes (or the given ones), priority and channel, its workflow, routed to
 * the worker (RoutingTarget) or to the queue (TaskQueueSid). Twilio re-routes the *same* task
 * (docs/worker-sdk.md says what differs). The transfer record (`TT…`) follows the new task:
 *
 * - the target accepts a reservation → `completed`, `task.transfer-completed`; COLD: the
 *   original task (and its accepted reservation) moves to wrapping;
 * - a reservation of the new task is rejected or times out → `task.transfer-attempt-failed`; to a
 *   worker that ends the transfer (`failed`, the new task canceled, `task.transfer-failed`); to a
 *   queue it is routed on;
 * - the new task is canceled otherwise (TTL, workflow timeout, REST) → `failed`,
 *   `task.transfer-failed`;
 * - the initiating worker cancels → the new task is canceled, `canceled`, `task.transfer-canceled`.
 *
 * Transfer events are task events of the **original** task (task, queue and workflow groups)
 * plus the transfer fields of the Event Streams schema (`task_transfer_sid`, `transfer_*`).
 * Instants are epoch ms; event times in whole seconds.
 */
import type { Command } from './commands.ts';
import { addQueueData, addWorkflowData, emit, taskData } from './event-data.ts';
import type { EngineEvent } from './events.ts';
import { isWaiting } from './model.ts';
import { reject } from './rejections.ts';
import type { EngineState } from './state.ts';
import { cancelTask, wrapTask } from './task-lifecycle.ts';
import { createTask } from './task-commands.ts';
import { indexTransfer } from './transfer-index.ts';

/** What a transfer is at: the SDK's TRANSFER_STATUS values (`completed` for its "complete"). */
export type TransferStatus = 'initiated' | 'completed' | 'failed' | 'canceled';

/** One transfer (plain data; persisted in the snapshot). */
export interface TransferRecord {
  /** `TT…`. */
  sid: string;
  /** The task transferred (the initiating reservation's). */
  taskSid: string;
  /** The task the transfer created and routes to the target. */
  transferTaskSid: string;
  initiatingReservationSid: string;
  initiatingWorkerSid: string;
  initiatingQueueSid: string | null;
  initiatingWorkflowSid: string | null;
  mode: 'WARM' | 'COLD';
  type: 'WORKER' | 'QUEUE';
  /** The target: a WK or WQ SID. */
  to: string;
  status: TransferStatus;
  /** Why it failed (or the last attempt failed), else null. */
  failedReason: string | null;
  /** Epoch ms. */
  dateCreated: number;
  dateUpdated: number;
}

/**
 * transferTask: validates (the reservation is the worker's, accepted, on `taskSid`; no other
 * transfer of the task is in progress; `to` an existing worker other than the initiating one or
 * an existing queue; mode WARM or COLD), then creates the transfer task (createTask validates
 * attributes and priority) and the transfer record, and emits `task.transfer-initiated`.
 * Returns the transfer's SID.
 */
export function transferTask(state: EngineState, c: Extract<Command, { type: 'transferTask' }>): string {
  const r = state.reservations.get(c.reservationSid);
  if (r === undefined || r.workerSid !== c.workerSid) reject('not_found', `Reservation ${c.reservationSid} of worker ${c.workerSid} was not found`, 'ReservationSid');
  if (r.taskSid !== c.taskSid) reject('invalid_parameter', `Reservation ${r.sid} is not a reservation of task ${c.taskSid}`, 'TaskSid');
  if (r.reservationStatus !== 'accepted') reject('invalid_state', `Reservation ${r.sid} is ${r.reservationStatus}: only an accepted reservation's task can be transferred`, 'ReservationSid');
  const mode = c.mode ?? 'WARM';
  if (mode !== 'WARM' && mode !== 'COLD') reject('invalid_parameter', 'Mode must be WARM or COLD', 'Mode');
  const open = state.transfers.byTask.get(r.taskSid);
  if (open !== undefined && open.status === 'initiated') reject('invalid_state', `Task ${r.taskSid} already has transfer ${open.sid} in progress`, 'TaskSid');
  let type: TransferRecord['type'];
  if (c.to.startsWith('WK')) {
    if (!state.workers.has(c.to)) reject('not_found', `Worker ${c.to} was not found`, 'To');
    if (c.to === c.workerSid) reject('invalid_parameter', 'To must be another worker than the one transferring', 'To');
    type = 'WORKER';
  } else if (c.to.startsWith('WQ')) {
    if (!state.queues.has(c.to)) reject('not_found', `TaskQueue ${c.to} was not found`, 'To');
    type = 'QUEUE';
  } else {
    reject('invalid_parameter', 'To must be a Worker (WK) or TaskQueue (WQ) SID', 'To');
  }
  const task = r.task;
  const transferTaskSid = createTask(state, {
    type: 'createTask',
    at: c.at,
    attributes: c.attributes ?? task.attributesJson,
    priority: c.priority ?? task.priority,
    taskChannel: task.taskChannelSid,
    ...(type === 'WORKER' ? { routingTarget: c.to } : { taskQueueSid: c.to }),
    ...(type === 'WORKER' && task.workflowSid !== null ? { workflowSid: task.workflowSid } : {}),
  });
  const t: TransferRecord = {
    sid: state.newSid('TT'),
    taskSid: task.sid,
    transferTaskSid,
    initiatingReservationSid: r.sid,
    initiatingWorkerSid: r.workerSid,
    initiatingQueueSid: r.taskQueueSid,
    initiatingWorkflowSid: r.workflowSid,
    mode,
    type,
    to: c.to,
    status: 'initiated',
    failedReason: null,
    dateCreated: state.now,
    dateUpdated: state.now,
  };
  indexTransfer(state.transfers, t);
  emitTransfer(state, 'task.transfer-initiated', t);
  return t.sid;
}

/**
 * updateTransfer (`TransferStatus=canceled`, the SDK's `outgoingTransfer.cancel()`): only the
 * initiating worker, only while `initiated` and the transfer task still waits; its task is
 * canceled ("Transfer canceled"). Returns the transfer's SID.
 */
export function updateTransfer(state: EngineState, c: Extract<Command, { type: 'updateTransfer' }>): string {
  const t = state.transfers.bySid.get(c.transferSid);
  if (t === undefined || (c.workerSid !== undefined && t.initiatingWorkerSid !== c.workerSid) || (c.taskSid !== undefined && t.taskSid !== c.taskSid)) {
    reject('not_found', `Transfer ${c.transferSid} was not found`, 'TransferSid');
  }
  if (c.transferStatus !== 'canceled') reject('invalid_parameter', 'TransferStatus can only be set to canceled', 'TransferStatus');
  const target = state.tasks.get(t.transferTaskSid);
  if (t.status !== 'initiated' || target === undefined || !isWaiting(target.assignmentStatus)) {
    reject('invalid_state', `Transfer ${t.sid} is ${t.status === 'initiated' ? 'already accepted' : t.status} and can no longer be canceled`, 'TransferStatus');
  }
  setStatus(state, t, 'canceled', null);
  cancelTask(state, target, 'Transfer canceled');
  emitTransfer(state, 'task.transfer-canceled', t);
  return t.sid;
}

/**
 * Follows the transfers through the events emitted since `from` (an index into
 * `state.events`): see the module comment. Runs after each command and timer, before routing
 * settles; the events it emits are scanned too. Returns whether it changed anything.
 */
export function followTransfers(state: EngineState, from: number): boolean {
  if (state.transfers.byTransferTask.size === 0) return false;
  let changed = false;
  for (let i = from; i < state.events.length; i++) {
    const e = state.events[i] as EngineEvent;
    if (e.eventType !== 'reservation.accepted' && e.eventType !== 'reservation.rejected' && e.eventType !== 'reservation.timeout' && e.eventType !== 'task.canceled') continue;
    const t = state.transfers.byTransferTask.get(String(e.data['task_sid']));
    if (t === undefined || t.status !== 'initiated') continue;
    changed = true;
    if (e.eventType === 'reservation.accepted') {
      setStatus(state, t, 'completed', null);
      emitTransfer(state, 'task.transfer-completed', t);
      const original = state.tasks.get(t.taskSid);
      const initiating = state.reservations.get(t.initiatingReservationSid);
      if (t.mode === 'COLD' && original !== undefined && original.assignmentStatus === 'assigned' && initiating?.reservationStatus === 'accepted') wrapTask(state, original);
    } else if (e.eventType === 'task.canceled') {
      setStatus(state, t, 'failed', `The transfer task was canceled: ${String(e.data['task_canceled_reason'] ?? '')}`);
      emitTransfer(state, 'task.transfer-failed', t);
    } else {
      const why = `Worker ${String(e.data['worker_sid'])} ${e.eventType === 'reservation.rejected' ? 'rejected' : 'did not answer'} the transfer`;
      t.failedReason = why;
      t.dateUpdated = state.now;
      emitTransfer(state, 'task.transfer-attempt-failed', t);
      const target = state.tasks.get(t.transferTaskSid);
      if (t.type === 'WORKER') {
        setStatus(state, t, 'failed', why);
        if (target !== undefined && isWaiting(target.assignmentStatus)) cancelTask(state, target, 'Transfer failed');
        emitTransfer(state, 'task.transfer-failed', t);
      }
    }
  }
  return changed;
}

function setStatus(state: EngineState, t: TransferRecord, status: TransferStatus, failedReason: string | null): void {
  t.status = status;
  if (failedReason !== null) t.failedReason = failedReason;
  t.dateUpdated = state.now;
}

/** A `task.transfer-*` event: the original task's groups (or the bare transfer when it is gone) and the transfer fields. */
function emitTransfer(state: EngineState, type: Extract<EngineEvent['eventType'], `task.transfer-${string}`>, t: TransferRecord): void {
  const task = state.tasks.get(t.taskSid);
  const d = task === undefined ? { workspace_sid: state.workspace.sid, workspace_name: state.workspace.friendlyName, task_sid: t.taskSid } : addWorkflowData(state, addQueueData(state, taskData(state, task), task.taskQueueSid), task.workflowSid);
  d['task_transfer_sid'] = t.sid;
  d['transfer_initiating_reservation_sid'] = t.initiatingReservationSid;
  d['transfer_initiating_worker_sid'] = t.initiatingWorkerSid;
  d['transfer_mode'] = t.mode;
  d['transfer_type'] = t.type;
  d['transfer_status'] = t.status;
  d['transfer_started'] = Math.floor(t.dateCreated / 1000);
  d['transfer_to'] = t.to;
  d['transfer_failed_reason'] = t.failedReason;
  emit(state, type, 'task', t.taskSid, d);
}
