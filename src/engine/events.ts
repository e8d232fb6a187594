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
  | 'task.transfer-initiated'
  | 'task.transfer-attempt-failed'
  | 'task.transfer-failed'
  | 'task.transfer-canceled'
  | 'task.transfer-completed'
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
  'task.transfer-initiated', 'task.transfer-attempt-failed', 'task.transfer-failed', 'task.transfer-canceled', 'task.transfer-completed',
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

/** One event (its human description comes from {@link describeEvent}). Plain data: it serializes byte for byte the same for the same commands. */
export interface EngineEvent {
  /** `EV…` SID from the injected generator. */
  sid: string;
  eventType: EventType;
  /** When it happened, epoch milliseconds. */
  at: number;
  resourceType: ResourceType;
  resourceSid: string;
  /** Callback parameters of spec §9.2 in snake_case (`task_sid`, `worker_activity_name`, …). */
  data: Record<string, EventValue>;
}

/**
 * The Event resource's `description`: one sentence a person reads in a log, built from the
 * event's own data (e.g. "Worker Alice updated to Available Activity"). Computed on demand so
 * routing does not pay for text nobody reads.
 */
export function describeEvent(e: EngineEvent): string {
  const d = e.data;
  const str = (key: string): string => String(d[key] ?? '');
  const [kind, ...rest] = e.eventType.split('.');
  const what = rest.join(' ');
  switch (kind) {
    case 'reservation':
      return `Reservation ${e.resourceSid} for task ${str('task_sid')} and worker ${str('worker_name')} ${what}`;
    case 'task': {
      const reason = str('task_canceled_reason') || str('task_completed_reason');
      return `Task ${e.resourceSid} ${what}${reason === '' ? '' : `: ${reason}`}`;
    }
    case 'task-queue':
      return e.resourceType === 'task'
        ? `Task ${e.resourceSid} ${what} task queue ${str('task_queue_name')}`
        : `TaskQueue ${str('task_queue_name')} ${what}`;
    case 'worker':
      if (e.eventType === 'worker.activity.update') return `Worker ${str('worker_name')} updated to ${str('worker_activity_name')} Activity`;
      return `Worker ${str('worker_name')} ${what}`;
    case 'workflow':
      return e.resourceType === 'task' ? `Task ${e.resourceSid} ${what} in workflow ${str('workflow_name')}` : `Workflow ${str('workflow_name')} ${what}`;
    case 'activity':
      return `Activity ${str('activity_name')} ${what}`;
    case 'task-channel':
      return `TaskChannel ${str('task_channel_unique_name')} ${what}`;
    default:
      return `Workspace ${str('workspace_name')} ${what}`;
  }
}
