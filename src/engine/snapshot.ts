/**
 * The plain-data form of a workspace: everything needed to rebuild an engine that behaves
 * exactly as the original from then on (same events for the same commands). Derived indexes,
 * compiled expressions and timers are not saved; restore rebuilds them from these records.
 */
import type { TransferRecord } from './transfers.ts';
import type { ActivityRecord, ReservationRecord, TaskChannelRecord, TaskQueueRecord, TaskRecord, WorkspaceRecord } from './model.ts';
import type { StatisticsSnapshot } from './statistics.ts';

export const SNAPSHOT_VERSION = 1;

export interface WorkerChannelSnapshot {
  sid: string;
  taskChannelSid: string;
  channelIndex: number;
  configuredCapacity: number;
  available: boolean;
  dateCreated: number;
  dateUpdated: number;
  lastReservedAt: number | null;
}

export interface WorkerSnapshot {
  sid: string;
  friendlyName: string;
  attributesJson: string;
  activitySid: string;
  dateStatusChanged: number;
  dateCreated: number;
  dateUpdated: number;
  version: number;
  channels: WorkerChannelSnapshot[];
}

export type WorkflowSnapshot = {
  sid: string;
  friendlyName: string;
  configuration: string;
  assignmentCallbackUrl: string | null;
  fallbackAssignmentCallbackUrl: string | null;
  taskReservationTimeoutS: number;
  dateCreated: number;
  dateUpdated: number;
};

/** Persisted reservation fields (ReservationRecord without the derived ones). */
export type ReservationSnapshot = Omit<ReservationRecord, 'timer' | 'worker' | 'workerChannel' | 'task'>;

/** Persisted task fields (TaskRecord without the derived ones). */
export type TaskSnapshot = Omit<TaskRecord, 'attributes' | 'pendingReservations' | 'stamp' | 'restriction' | 'listedIn' | 'listedChannel' | 'statusTimer' | 'lastReservation' | 'queueList' | 'queuePrev' | 'queueNext'>;

export interface WorkspaceSnapshot {
  version: typeof SNAPSHOT_VERSION;
  /** The engine's clock, epoch ms. */
  now: number;
  workspace: WorkspaceRecord;
  activities: ActivityRecord[];
  channels: TaskChannelRecord[];
  queues: TaskQueueRecord[];
  workflows: WorkflowSnapshot[];
  workers: WorkerSnapshot[];
  tasks: TaskSnapshot[];
  reservations: ReservationSnapshot[];
  /** Task transfers (transfers.ts); absent in snapshots taken before they existed. */
  transfers?: TransferRecord[];
  statistics: StatisticsSnapshot;
}

/** A deep copy through JSON, so a snapshot shares nothing with the live engine. */
export function clonePlain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function saveTask(t: TaskRecord): TaskSnapshot {
  return {
    sid: t.sid,
    attributesJson: t.attributesJson,
    assignmentStatus: t.assignmentStatus,
    priority: t.priority,
    basePriority: t.basePriority,
    timeoutS: t.timeoutS,
    reason: t.reason,
    taskQueueSid: t.taskQueueSid,
    taskQueueEnteredAt: t.taskQueueEnteredAt,
    workflowSid: t.workflowSid,
    taskChannelSid: t.taskChannelSid,
    virtualStartTime: t.virtualStartTime,
    routingTarget: t.routingTarget,
    ignoreCapacity: t.ignoreCapacity,
    addons: t.addons,
    dateCreated: t.dateCreated,
    dateUpdated: t.dateUpdated,
    version: t.version,
    routing: { ...t.routing },
    reservationCycles: t.reservationCycles,
    reservationSids: [...t.reservationSids],
    statusChangedAt: t.statusChangedAt,
  };
}
