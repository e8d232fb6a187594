/**
 * Events the engine emits, one per TaskRouter event type (spec §9.3), in the order TaskRouter
 * emits them. `data` carries the callback parameter groups of spec §9.2 under their snake_case
 * names (the Event resource's `event_data`); values are JSON-native (numbers stay numbers) and
 * the API turns them into Twilio's wire strings.
 */
export type EventType =
  | 'activity.created'
  | 'activity.updated'
  | 'activity.deleted'
  | 'reservation.created'
  | 'reservation.accepted'
  | 'reservation.rejected'
  | 'reservation.timeout'
  | 'reservation.canceled'
  | 'reservation.rescinded'
  | 'reservation.wrapup'
  | 'reservation.completed'
  | 'reservation.failed'
  | 'task.created'
  | 'task.updated'
  | 'task.canceled'
  | 'task.wrapup'
  | 'task.completed'
  | 'task.deleted'
  | 'task.system-deleted'
  | 'task-channel.created'
  | 'task-channel.updated'
  | 'task-channel.deleted'
  | 'task-queue.created'
  | 'task-queue.updated'
  | 'task-queue.deleted'
  | 'task-queue.expression.updated'
  | 'task-queue.entered'
  | 'task-queue.timeout'
  | 'task-queue.moved'
  | 'worker.created'
  | 'worker.updated'
  | 'worker.deleted'
  | 'worker.activity.update'
  | 'worker.attributes.update'
  | 'worker.capacity.update'
  | 'worker.channel.availability.update'
  | 'workflow.created'
  | 'workflow.updated'
  | 'workflow.deleted'
  | 'workflow.entered'
  | 'workflow.target-matched'
  | 'workflow.timeout'
  | 'workflow.skipped'
  | 'workspace.created'
  | 'workspace.updated'
  | 'workspace.deleted';

/** Every event type, for validation of filters and for tests. */
export const EVENT_TYPES: readonly EventType[] = [
  'activity.created', 'activity.updated', 'activity.deleted',
  'reservation.created', 'reservation.accepted', 'reservation.rejected', 'reservation.timeout',
  'reservation.canceled', 'reservation.rescinded', 'reservation.wrapup', 'reservation.completed',
  'reservation.failed',
  'task.created', 'task.updated', 'task.canceled', 'task.wrapup', 'task.completed', 'task.deleted',
  'task.system-deleted',
  'task-channel.created', 'task-channel.updated', 'task-channel.deleted',
  'task-queue.created', 'task-queue.updated', 'task-queue.deleted', 'task-queue.expression.updated',
  'task-queue.entered', 'task-queue.timeout', 'task-queue.moved',
  'worker.created', 'worker.updated', 'worker.deleted', 'worker.activity.update', 'worker.attributes.update',
  'worker.capacity.update', 'worker.channel.availability.update',
  'workflow.created', 'workflow.updated', 'workflow.deleted', 'workflow.entered', 'workflow.target-matched',
  'workflow.timeout', 'workflow.skipped',
  'workspace.created', 'workspace.updated', 'workspace.deleted',
];

export type ResourceType =
  | 'task'
  | 'reservation'
  | 'worker'
  | 'taskqueue'
  | 'workflow'
  | 'workspace'
  | 'activity'
  | 'taskchannel';

/** A JSON-native value in event data. */
export type EventValue = string | number | boolean | null;

/** One event. Plain data: it serializes byte for byte the same for the same commands. */
export interface EngineEvent {
  /** `EV…` SID from the injected generator. */
  sid: string;
  eventType: EventType;
  /** When it happened, epoch milliseconds. */
  at: number;
  resourceType: ResourceType;
  resourceSid: string;
  /** Human text, e.g. "Worker Alice updated to Available Activity". */
  description: string;
  /** Callback parameters of spec §9.2 in snake_case (`task_sid`, `worker_activity_name`, …). */
  data: Record<string, EventValue>;
}
