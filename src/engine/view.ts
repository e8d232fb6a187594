/**
 * The read-only view of a workspace engine for code outside src/engine: the API, analytics
 * (EWT predictors), the callback center's queue readings, statistics queries. `WorkspaceEngine`
 * (engine.ts) is one; its state (state.ts) and the queues' routing indexes (queue-index.ts:
 * heaps, listed tasks, stamps) stay behind it.
 *
 * The records handed out are the engine's live records, not copies: read them, never write
 * them; a change goes through `WorkspaceEngine.execute` as a command. Instants are epoch ms.
 */
import type { WorkerView } from '../expr/types.ts';
import type {
  ActivityRecord,
  QueueOrder,
  ReservationRecord,
  TaskChannelRecord,
  TaskQueueRecord,
  TaskRecord,
  WorkerRecord,
  WorkflowRecord,
  WorkspaceRecord,
} from './model.ts';
import type { OrderKey } from './queue-index.ts';
import type { StatisticsRecorder } from './statistics.ts';

/** The tasks currently in a queue (pending, reserved, assigned, wrapping), in the order they entered it. */
export interface QueueTasksView extends Iterable<TaskRecord> {
  readonly size: number;
  has(task: TaskRecord): boolean;
}

/** One task queue as its readers see it: the record, its members and its tasks (spec §3, §10 real-time). */
export interface TaskQueueView {
  readonly record: Readonly<TaskQueueRecord>;
  /** The queue's TaskOrder (spec §7.1). */
  readonly order: QueueOrder;
  /** The queue's order as a "comes before" test: true when `a` is served before `b` (spec §7.1). */
  readonly before: (a: OrderKey, b: OrderKey) => boolean;
  /** Workers whose attributes match the queue's TargetWorkers now (spec §3.1). */
  readonly members: ReadonlySet<WorkerRecord>;
  /** Members whose current activity is an available one. */
  readonly availableMembers: number;
  /** Members whose current activity is `activitySid`. */
  countByActivity(activitySid: string): number;
  /** Would a worker with these fields match TargetWorkers at `nowMs` (epoch ms)? False when it is empty (spec §3.1). */
  matchesWorker(worker: WorkerView, nowMs: number): boolean;
  readonly tasks: QueueTasksView;
}

/** One workspace, read-only: its records, its clock and its statistics recorder. */
export interface EngineView {
  readonly workspace: Readonly<WorkspaceRecord>;
  /** The engine's current instant, epoch ms: the last command's or timer's. */
  readonly now: number;
  readonly activities: ReadonlyMap<string, ActivityRecord>;
  /** Task channels by SID, deleted ones included (flagged `deleted`). */
  readonly channels: ReadonlyMap<string, TaskChannelRecord>;
  /** Task channels by dense index, deleted ones included (flagged `deleted`). */
  readonly channelList: readonly TaskChannelRecord[];
  readonly queues: ReadonlyMap<string, TaskQueueView>;
  readonly workflows: ReadonlyMap<string, WorkflowRecord>;
  readonly workers: ReadonlyMap<string, WorkerRecord>;
  /** Tasks by SID, including completed and canceled ones until they are purged (spec §5.2). */
  readonly tasks: ReadonlyMap<string, TaskRecord>;
  readonly reservations: ReadonlyMap<string, ReservationRecord>;
  /** Cumulative statistics in minute buckets (statistics.ts); read it with its query methods. */
  readonly statistics: StatisticsRecorder;
  /** A live task channel by SID or unique name (spec §1.2). */
  findChannel(ref: string): TaskChannelRecord | undefined;
  /** A worker by friendly name, case-insensitively (spec §1.4). */
  findWorkerByName(name: string): WorkerRecord | undefined;
}
