/**
 * Engine records → Twilio's JSON bodies (snake_case, exactly the OpenAPI schemas'
 * `taskrouter.v1.workspace…` fields): ISO-8601 dates with a `Z` and second precision, absolute
 * `url` and `links` on our own origin, JSON-in-a-string attributes and configuration.
 */
import {
  describeEvent,
  type ActivityRecord,
  type EngineEvent,
  type ReservationRecord,
  type TaskChannelRecord,
  type TaskQueueRecord,
  type TaskRecord,
  type WorkerChannelRecord,
  type WorkerRecord,
  type WorkflowRecord,
  type WorkspaceEngine,
} from '../engine/index.ts';
import { instructionDataOf, originOf } from '../runtime/outbox.ts';

/** Everything a serializer needs besides the record. */
export interface Ctx {
  /** Our public origin, e.g. `http://127.0.0.1:3000` (no trailing slash). */
  origin: string;
  accountSid: string;
  engine: WorkspaceEngine;
  /** Now, epoch ms (for `age`). */
  now: number;
}

/** `2014-05-14T18:50:02Z`; null stays null. */
export function isoDate(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function workspaceUrl(origin: string, wsSid: string): string {
  return `${origin}/v1/Workspaces/${wsSid}`;
}

function ws(c: Ctx): string {
  return workspaceUrl(c.origin, c.engine.workspace.sid);
}

function common(c: Ctx): { account_sid: string; workspace_sid: string } {
  return { account_sid: c.accountSid, workspace_sid: c.engine.workspace.sid };
}

export function workspaceJson(origin: string, accountSid: string, e: WorkspaceEngine): Record<string, unknown> {
  const w = e.workspace;
  const u = workspaceUrl(origin, w.sid);
  return {
    account_sid: accountSid,
    date_created: isoDate(w.dateCreated),
    date_updated: isoDate(w.dateUpdated),
    default_activity_name: e.activities.get(w.defaultActivitySid)?.friendlyName ?? null,
    default_activity_sid: w.defaultActivitySid || null,
    event_callback_url: w.eventCallbackUrl,
    events_filter: w.eventsFilter,
    friendly_name: w.friendlyName,
    multi_task_enabled: w.multiTaskEnabled,
    sid: w.sid,
    timeout_activity_name: e.activities.get(w.timeoutActivitySid)?.friendlyName ?? null,
    timeout_activity_sid: w.timeoutActivitySid || null,
    prioritize_queue_order: w.prioritizeQueueOrder,
    url: u,
    links: {
      activities: `${u}/Activities`,
      statistics: `${u}/Statistics`,
      real_time_statistics: `${u}/RealTimeStatistics`,
      cumulative_statistics: `${u}/CumulativeStatistics`,
      task_queues: `${u}/TaskQueues`,
      tasks: `${u}/Tasks`,
      workers: `${u}/Workers`,
      workflows: `${u}/Workflows`,
      task_channels: `${u}/TaskChannels`,
      events: `${u}/Events`,
    },
  };
}

export function activityJson(c: Ctx, a: ActivityRecord): Record<string, unknown> {
  return {
    account_sid: c.accountSid,
    available: a.available,
    date_created: isoDate(a.dateCreated),
    date_updated: isoDate(a.dateUpdated),
    friendly_name: a.friendlyName,
    sid: a.sid,
    workspace_sid: c.engine.workspace.sid,
    url: `${ws(c)}/Activities/${a.sid}`,
    links: { workspace: ws(c) },
  };
}

export function taskChannelJson(c: Ctx, t: TaskChannelRecord): Record<string, unknown> {
  return {
    ...common(c),
    date_created: isoDate(t.dateCreated),
    date_updated: isoDate(t.dateUpdated),
    friendly_name: t.friendlyName,
    sid: t.sid,
    unique_name: t.uniqueName,
    channel_optimized_routing: t.channelOptimizedRouting,
    url: `${ws(c)}/TaskChannels/${t.sid}`,
    links: { workspace: ws(c) },
  };
}

export function taskQueueJson(c: Ctx, q: TaskQueueRecord): Record<string, unknown> {
  const u = `${ws(c)}/TaskQueues/${q.sid}`;
  const links: Record<string, string> = {};
  if (q.assignmentActivitySid !== null) links['assignment_activity'] = `${ws(c)}/Activities/${q.assignmentActivitySid}`;
  if (q.reservationActivitySid !== null) links['reservation_activity'] = `${ws(c)}/Activities/${q.reservationActivitySid}`;
  Object.assign(links, {
    workspace: ws(c),
    statistics: `${u}/Statistics`,
    real_time_statistics: `${u}/RealTimeStatistics`,
    cumulative_statistics: `${u}/CumulativeStatistics`,
    list_statistics: `${ws(c)}/TaskQueues/Statistics`,
    bulk_real_time_statistics: `${ws(c)}/TaskQueues/RealTimeStatistics`,
  });
  const activityName = (sid: string | null): string | null => (sid === null ? null : (c.engine.activities.get(sid)?.friendlyName ?? null));
  return {
    ...common(c),
    assignment_activity_sid: q.assignmentActivitySid,
    assignment_activity_name: activityName(q.assignmentActivitySid),
    date_created: isoDate(q.dateCreated),
    date_updated: isoDate(q.dateUpdated),
    friendly_name: q.friendlyName,
    max_reserved_workers: q.maxReservedWorkers,
    reservation_activity_sid: q.reservationActivitySid,
    reservation_activity_name: activityName(q.reservationActivitySid),
    sid: q.sid,
    target_workers: q.targetWorkers,
    task_order: q.taskOrder,
    url: u,
    links,
  };
}

export function workflowJson(c: Ctx, w: WorkflowRecord): Record<string, unknown> {
  const u = `${ws(c)}/Workflows/${w.sid}`;
  return {
    ...common(c),
    assignment_callback_url: w.assignmentCallbackUrl,
    configuration: w.configuration,
    date_created: isoDate(w.dateCreated),
    date_updated: isoDate(w.dateUpdated),
    document_content_type: 'application/json',
    fallback_assignment_callback_url: w.fallbackAssignmentCallbackUrl,
    friendly_name: w.friendlyName,
    sid: w.sid,
    task_reservation_timeout: w.taskReservationTimeoutS,
    url: u,
    links: { statistics: `${u}/Statistics`, real_time_statistics: `${u}/RealTimeStatistics`, cumulative_statistics: `${u}/CumulativeStatistics` },
  };
}

export function workerJson(c: Ctx, w: WorkerRecord): Record<string, unknown> {
  const u = `${ws(c)}/Workers/${w.sid}`;
  return {
    ...common(c),
    activity_name: w.activityName,
    activity_sid: w.activitySid,
    attributes: w.attributesJson,
    available: w.activityAvailable,
    date_created: isoDate(w.dateCreated),
    date_status_changed: isoDate(w.dateStatusChanged),
    date_updated: isoDate(w.dateUpdated),
    friendly_name: w.friendlyName,
    sid: w.sid,
    url: u,
    links: {
      channels: `${u}/Channels`,
      activity: `${ws(c)}/Activities/${w.activitySid}`,
      workspace: ws(c),
      statistics: `${ws(c)}/Workers/Statistics`,
      real_time_statistics: `${ws(c)}/Workers/RealTimeStatistics`,
      cumulative_statistics: `${ws(c)}/Workers/CumulativeStatistics`,
      worker_statistics: `${u}/Statistics`,
      worker_channels: `${u}/Channels`,
      reservations: `${u}/Reservations`,
    },
  };
}

export function workerChannelJson(c: Ctx, w: WorkerRecord, ch: WorkerChannelRecord): Record<string, unknown> {
  return {
    ...common(c),
    assigned_tasks: ch.assignedTasks,
    available: ch.available,
    available_capacity_percentage: ch.availableCapacityPercentage,
    configured_capacity: ch.configuredCapacity,
    date_created: isoDate(ch.dateCreated),
    date_updated: isoDate(ch.dateUpdated),
    sid: ch.sid,
    task_channel_sid: ch.taskChannelSid,
    task_channel_unique_name: c.engine.channels.get(ch.taskChannelSid)?.uniqueName ?? null,
    worker_sid: w.sid,
    url: `${ws(c)}/Workers/${w.sid}/Channels/${ch.sid}`,
  };
}

export function taskJson(c: Ctx, t: TaskRecord): Record<string, unknown> {
  const u = `${ws(c)}/Tasks/${t.sid}`;
  const links: Record<string, string> = {};
  if (t.taskQueueSid !== null) links['task_queue'] = `${ws(c)}/TaskQueues/${t.taskQueueSid}`;
  if (t.workflowSid !== null) links['workflow'] = `${ws(c)}/Workflows/${t.workflowSid}`;
  links['workspace'] = ws(c);
  links['reservations'] = `${u}/Reservations`;
  return {
    ...common(c),
    age: Math.max(0, Math.floor((c.now - t.dateCreated) / 1000)),
    assignment_status: t.assignmentStatus,
    attributes: t.attributesJson,
    addons: t.addons,
    date_created: isoDate(t.dateCreated),
    date_updated: isoDate(t.dateUpdated),
    task_queue_entered_date: isoDate(t.taskQueueEnteredAt),
    priority: t.priority,
    reason: t.reason,
    sid: t.sid,
    task_queue_sid: t.taskQueueSid,
    task_queue_friendly_name: t.taskQueueSid === null ? null : (c.engine.queues.get(t.taskQueueSid)?.record.friendlyName ?? null),
    task_channel_sid: t.taskChannelSid,
    task_channel_unique_name: c.engine.channels.get(t.taskChannelSid)?.uniqueName ?? null,
    timeout: t.timeoutS,
    workflow_sid: t.workflowSid,
    workflow_friendly_name: t.workflowSid === null ? null : (c.engine.workflows.get(t.workflowSid)?.friendlyName ?? null),
    url: u,
    links,
    virtual_start_time: isoDate(t.virtualStartTime),
    ignore_capacity: t.ignoreCapacity,
    routing_target: t.routingTarget,
  };
}

/** A reservation under `Tasks/{WT}/Reservations` (`via` = task) or `Workers/{WK}/Reservations`. */
export function reservationJson(c: Ctx, r: ReservationRecord, via: 'task' | 'worker'): Record<string, unknown> {
  const url = via === 'task' ? `${ws(c)}/Tasks/${r.taskSid}/Reservations/${r.sid}` : `${ws(c)}/Workers/${r.workerSid}/Reservations/${r.sid}`;
  return {
    ...common(c),
    date_created: isoDate(r.dateCreated),
    date_updated: isoDate(r.dateUpdated),
    reservation_status: r.reservationStatus,
    sid: r.sid,
    task_sid: r.taskSid,
    worker_name: c.engine.workers.get(r.workerSid)?.friendlyName ?? null,
    worker_sid: r.workerSid,
    url,
    links: { task: `${ws(c)}/Tasks/${r.taskSid}`, worker: `${ws(c)}/Workers/${r.workerSid}`, workspace: ws(c) },
  };
}

const RESOURCE_PATHS: Record<string, string> = {
  task: 'Tasks',
  reservation: '',
  worker: 'Workers',
  taskqueue: 'TaskQueues',
  workflow: 'Workflows',
  activity: 'Activities',
  taskchannel: 'TaskChannels',
};

/** The Event resource (spec §9.3); `event_data` values are Twilio's wire strings. */
export function eventJson(origin: string, accountSid: string, wsSid: string, e: EngineEvent): Record<string, unknown> {
  const w = workspaceUrl(origin, wsSid);
  let resourceUrl: string;
  if (e.resourceType === 'workspace') resourceUrl = w;
  else if (e.resourceType === 'reservation') resourceUrl = `${w}/Tasks/${String(e.data['task_sid'] ?? '')}/Reservations/${e.resourceSid}`;
  else resourceUrl = `${w}/${RESOURCE_PATHS[e.resourceType] ?? ''}/${e.resourceSid}`;
  const data: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(e.data)) data[k] = v === null ? null : String(v);
  Object.assign(data, instructionDataOf(e));
  // actor_*: who caused it (spec §9.3) — the account or API key of a REST request, the workflow
  // for its assignment callback's instruction, the workspace itself for timers and routing.
  // Accounts and keys are not resources this server serves, so their actor_url is null.
  const cause = originOf(e);
  const actor = cause?.actor;
  return {
    account_sid: accountSid,
    actor_sid: actor?.sid ?? wsSid,
    actor_type: actor?.type ?? 'workspace',
    actor_url: actor === undefined ? w : actor.type === 'workflow' ? `${w}/Workflows/${actor.sid}` : null,
    description: describeEvent(e),
    event_data: data,
    event_date: isoDate(e.at),
    event_date_ms: e.at,
    event_type: e.eventType,
    resource_sid: e.resourceSid,
    resource_type: e.resourceType,
    resource_url: resourceUrl,
    sid: e.sid,
    source: 'twilio',
    source_ip_address: cause?.ip ?? null,
    url: `${w}/Events/${e.sid}`,
    workspace_sid: wsSid,
  };
}
