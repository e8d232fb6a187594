/**
 * The routing engine's public surface: one workspace as a pure, deterministic state machine.
 * See engine.ts for how it is driven and shared/specs/taskrouter-semantics.md for behaviour.
 */
export { WorkspaceEngine, type CreateWorkspaceOptions, type Outcome } from './engine.ts';
export type { EngineView, QueueTasksView, TaskQueueView } from './view.ts';
export type { OrderKey } from './queue-index.ts';
export type { Command, CommandType, TaskQueueFields, WorkflowFields } from './commands.ts';
export { describeEvent, EVENT_TYPES, type EngineEvent, type EventType, type EventValue, type ResourceType } from './events.ts';
export type { Rejection, RejectionCode } from './rejections.ts';
export { LIMITS } from './limits.ts';
export type {
  ActivityRecord,
  QueueOrder,
  ReservationRecord,
  ReservationStatus,
  TaskChannelRecord,
  TaskQueueRecord,
  TaskRecord,
  TaskStatus,
  WorkerChannelRecord,
  WorkerRecord,
  WorkflowRecord,
  WorkspaceRecord,
} from './model.ts';
export type { WorkspaceSnapshot } from './snapshot.ts';
export type { TransferRecord, TransferStatus } from './transfers.ts';
export { StatisticsRecorder, STATISTICS_RETENTION_MS, type StatisticsWindow } from './statistics.ts';
export * from './statistics-query.ts';
