/**
 * Statistics resources (spec §10): real-time figures computed from the live state and
 * cumulative figures summed from the {@link StatisticsRecorder}'s minute buckets.
 *
 * Results use Twilio's JSON field names (snake_case) so the API only adds `account_sid`,
 * `workspace_sid`, `url` and turns `start_time`/`end_time` (epoch ms here) into ISO-8601.
 * Real-time queries scan the tasks of their scope; they are reads, not routing work.
 */
import type { EngineView as WorkspaceEngine } from './view.ts';
import { isWaiting, type TaskRecord } from './model.ts';
import type { Rejection } from './rejections.ts';
import { Counters, STATISTICS_RETENTION_MS, type StatisticsWindow } from './statistics.ts';

/** Query parameters of the cumulative statistics endpoints (spec §10). */
export interface StatisticsQuery {
  /** Window length ending at `endMs` (default 15 minutes). */
  minutes?: number;
  /** Epoch ms. */
  startMs?: number;
  /** Epoch ms; default the request's instant. */
  endMs?: number;
  /** TC SID or unique name. */
  taskChannel?: string;
  /** Thresholds in seconds for `split_by_wait_time`. */
  splitByWaitTime?: number[];
}

type Json = Record<string, unknown>;

/**
 * Resolves a query into a window, or a rejection naming the bad parameter (spec §10).
 *
 * `nowMs` (epoch ms) is the request's instant, which the caller reads from its clock: the engine
 * reads none. A window without `EndDate` ends there (`Minutes=5` is the five minutes before the
 * request), the 30-day retention counts back from there, and time in a worker's current activity
 * counts up to there. An instant before the engine's own clock (its last command) is taken as the
 * engine's clock: time never goes back (docs/compatibility.md R19).
 */
export function resolveWindow(engine: WorkspaceEngine, q: StatisticsQuery, nowMs: number): StatisticsWindow | Rejection {
  const now = Math.max(nowMs, engine.now);
  const endMs = q.endMs ?? now;
  if (q.minutes !== undefined && (!Number.isSafeInteger(q.minutes) || q.minutes < 1)) {
    return { code: 'invalid_parameter', field: 'Minutes', message: 'Minutes must be a positive whole number' };
  }
  const startMs = q.startMs ?? endMs - (q.minutes ?? 15) * 60_000;
  if (startMs > endMs) return { code: 'invalid_parameter', field: 'StartDate', message: 'StartDate must be before EndDate' };
  if (startMs < now - STATISTICS_RETENTION_MS) {
    return { code: 'window_too_old', field: 'StartDate', message: 'StartDate must be within the last 30 days' };
  }
  const window: StatisticsWindow = { startMs, endMs, asOfMs: now };
  if (q.taskChannel !== undefined) {
    const ch = engine.findChannel(q.taskChannel);
    if (ch === undefined) return { code: 'invalid_parameter', field: 'TaskChannel', message: `TaskChannel ${q.taskChannel} does not exist` };
    window.taskChannelSid = ch.sid;
  }
  return window;
}

function splitByWaitTime(c: Counters, thresholds: number[] | undefined): Json | null {
  if (thresholds === undefined || thresholds.length === 0) return null;
  const out: Json = {};
  for (const s of thresholds) {
    const split = { above: { tasks_canceled: 0, reservations_accepted: 0 }, below: { tasks_canceled: 0, reservations_accepted: 0 } };
    for (const [wait, n] of c.acceptedWaits ?? []) split[wait <= s ? 'below' : 'above'].reservations_accepted += n;
    for (const [wait, n] of c.canceledWaits ?? []) split[wait <= s ? 'below' : 'above'].tasks_canceled += n;
    out[String(s)] = split;
  }
  return out;
}

function reservationCounts(c: Counters): Json {
  return {
    reservations_created: c.reservationsCreated,
    reservations_accepted: c.reservationsAccepted,
    reservations_rejected: c.reservationsRejected,
    reservations_timed_out: c.reservationsTimedOut,
    reservations_canceled: c.reservationsCanceled,
    reservations_rescinded: c.reservationsRescinded,
  };
}

function cumulativeFields(c: Counters, w: StatisticsWindow, split: number[] | undefined): Json {
  const accepted = c.waitUntilAccepted.toJSON();
  return {
    avg_task_acceptance_time: accepted.avg,
    start_time: w.startMs,
    end_time: w.endMs,
    ...reservationCounts(c),
    split_by_wait_time: splitByWaitTime(c, split),
    wait_duration_until_accepted: accepted,
    wait_duration_until_canceled: c.waitUntilCanceled.toJSON(),
    tasks_canceled: c.tasksCanceled,
    tasks_completed: c.tasksCompleted,
    tasks_deleted: c.tasksDeleted,
    tasks_moved: c.tasksMoved,
  };
}

/** Workspace cumulative statistics over a window. */
export function workspaceCumulative(engine: WorkspaceEngine, w: StatisticsWindow, split?: number[]): Json {
  const c = engine.statistics.cumulative(engine.workspace.sid, w);
  return { ...cumulativeFields(c, w, split), tasks_created: c.tasksCreated, tasks_timed_out_in_workflow: c.tasksTimedOutInWorkflow };
}

/** Task queue cumulative statistics over a window. */
export function taskQueueCumulative(engine: WorkspaceEngine, queueSid: string, w: StatisticsWindow, split?: number[]): Json {
  const c = engine.statistics.cumulative(queueSid, w);
  return {
    ...cumulativeFields(c, w, split),
    tasks_entered: c.tasksEntered,
    wait_duration_in_queue_until_accepted: c.waitInQueueUntilAccepted.toJSON(),
  };
}

/** Workflow cumulative statistics over a window. */
export function workflowCumulative(engine: WorkspaceEngine, workflowSid: string, w: StatisticsWindow, split?: number[]): Json {
  const c = engine.statistics.cumulative(workflowSid, w);
  return { ...cumulativeFields(c, w, split), tasks_entered: c.tasksEntered, tasks_timed_out_in_workflow: c.tasksTimedOutInWorkflow };
}

/** Status, priority and oldest-task figures over a set of tasks (spec §10 real-time). */
function taskFigures(engine: WorkspaceEngine, tasks: Iterable<TaskRecord>, channelSid: string | undefined): Json & { oldestInQueue: TaskRecord | null } {
  const byStatus = { pending: 0, reserved: 0, assigned: 0, wrapping: 0 };
  const byPriority: Record<string, number> = {};
  let oldest: TaskRecord | null = null;
  let oldestInQueue: TaskRecord | null = null;
  for (const t of tasks) {
    const s = t.assignmentStatus;
    if (s === 'completed' || s === 'canceled') continue;
    if (channelSid !== undefined && t.taskChannelSid !== channelSid) continue;
    byStatus[s] += 1;
    if (!isWaiting(s)) continue;
    byPriority[String(t.priority)] = (byPriority[String(t.priority)] ?? 0) + 1;
    if (oldest === null || t.dateCreated < oldest.dateCreated || (t.dateCreated === oldest.dateCreated && t.sid < oldest.sid)) oldest = t;
    const entered = t.taskQueueEnteredAt ?? t.dateCreated;
    const best = oldestInQueue === null ? Infinity : (oldestInQueue.taskQueueEnteredAt ?? oldestInQueue.dateCreated);
    if (oldestInQueue === null || entered < best || (entered === best && t.sid < oldestInQueue.sid)) oldestInQueue = t;
  }
  return {
    tasks_by_status: byStatus,
    tasks_by_priority: byPriority,
    total_tasks: byStatus.pending + byStatus.reserved + byStatus.assigned + byStatus.wrapping,
    longest_task_waiting_age: oldest === null ? 0 : Math.floor((engine.now - oldest.dateCreated) / 1000),
    longest_task_waiting_sid: oldest?.sid ?? null,
    oldestInQueue,
  };
}

function activityStatistics(engine: WorkspaceEngine, count: (activitySid: string) => number): Json[] {
  return [...engine.activities.values()].map((a) => ({ sid: a.sid, friendly_name: a.friendlyName, workers: count(a.sid) }));
}

function workerActivityCounts(engine: WorkspaceEngine): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of engine.workers.values()) counts.set(w.activitySid, (counts.get(w.activitySid) ?? 0) + 1);
  return counts;
}

/** Workspace real-time statistics; `channelSid` narrows the task figures to one channel. */
export function workspaceRealtime(engine: WorkspaceEngine, channelSid?: string): Json {
  const { oldestInQueue: _unused, ...figures } = taskFigures(engine, engine.tasks.values(), channelSid);
  const counts = workerActivityCounts(engine);
  return { ...figures, activity_statistics: activityStatistics(engine, (sid) => counts.get(sid) ?? 0), total_workers: engine.workers.size };
}

/** Task queue real-time statistics. */
export function taskQueueRealtime(engine: WorkspaceEngine, queueSid: string, channelSid?: string): Json {
  const q = engine.queues.get(queueSid);
  if (q === undefined) throw new RangeError(`unknown task queue ${queueSid}`);
  const { oldestInQueue, ...figures } = taskFigures(engine, q.tasks, channelSid);
  return {
    ...figures,
    longest_relative_task_age_in_queue:
      oldestInQueue === null ? 0 : Math.floor((engine.now - (oldestInQueue.taskQueueEnteredAt ?? oldestInQueue.dateCreated)) / 1000),
    longest_relative_task_sid_in_queue: oldestInQueue?.sid ?? null,
    activity_statistics: activityStatistics(engine, (sid) => q.countByActivity(sid)),
    total_eligible_workers: q.members.size,
    total_available_workers: q.availableMembers,
  };
}

/** Workflow real-time statistics. */
export function workflowRealtime(engine: WorkspaceEngine, workflowSid: string, channelSid?: string): Json {
  const tasks = [...engine.tasks.values()].filter((t) => t.workflowSid === workflowSid);
  const { oldestInQueue: _unused, ...figures } = taskFigures(engine, tasks, channelSid);
  return figures;
}

/** Worker filters of the Workers statistics endpoints (spec §10). */
export interface WorkerFilter {
  taskQueueSid?: string;
  taskQueueName?: string;
  friendlyName?: string;
}

/** The workers a filter selects, in creation order. */
export function filterWorkers(engine: WorkspaceEngine, f: WorkerFilter): string[] {
  let queueSid = f.taskQueueSid;
  if (f.taskQueueName !== undefined) {
    queueSid = [...engine.queues.values()].find((q) => q.record.friendlyName === f.taskQueueName)?.record.sid ?? '-';
  }
  const out: string[] = [];
  for (const w of engine.workers.values()) {
    if (queueSid !== undefined && !w.queues.has(queueSid)) continue;
    if (f.friendlyName !== undefined && w.friendlyName.toLowerCase() !== f.friendlyName.toLowerCase()) continue;
    out.push(w.sid);
  }
  return out;
}

/** Workers real-time statistics: workers per activity and in total. */
export function workersRealtime(engine: WorkspaceEngine, f: WorkerFilter = {}): Json {
  const sids = filterWorkers(engine, f);
  const counts = new Map<string, number>();
  for (const sid of sids) {
    const a = engine.workers.get(sid)?.activitySid as string;
    counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  return { activity_statistics: activityStatistics(engine, (sid) => counts.get(sid) ?? 0), total_workers: sids.length };
}

/**
 * Workers cumulative statistics: time in each activity and reservation counts over a window.
 * `activity_durations` per activity: `total` is the seconds all selected workers spent in it,
 * `min`/`max` the least and most one worker spent, `avg` the mean over the selected workers.
 */
export function workersCumulative(engine: WorkspaceEngine, w: StatisticsWindow, f: WorkerFilter = {}): Json {
  const sids = filterWorkers(engine, f);
  return workerCumulative(engine, sids, w);
}

/** One worker's cumulative statistics (the Worker instance Statistics resource). */
export function workerInstanceCumulative(engine: WorkspaceEngine, workerSid: string, w: StatisticsWindow): Json {
  return workerCumulative(engine, [workerSid], w);
}

function workerCumulative(engine: WorkspaceEngine, sids: string[], w: StatisticsWindow): Json {
  // The current activity of each worker counts up to the request's instant, not beyond it.
  const time = engine.statistics.activityTime(sids, w.startMs, Math.min(w.endMs, w.asOfMs ?? w.endMs));
  const durations = [...engine.activities.values()].map((a) => {
    const perWorker = time.get(a.sid);
    const values = sids.map((sid) => Math.floor((perWorker?.get(sid) ?? 0) / 1000));
    const total = values.reduce((x, y) => x + y, 0);
    return {
      sid: a.sid,
      friendly_name: a.friendlyName,
      avg: values.length === 0 ? 0 : Math.round(total / values.length),
      min: values.length === 0 ? 0 : Math.min(...values),
      max: values.length === 0 ? 0 : Math.max(...values),
      total,
    };
  });
  const sum = new Counters();
  for (const sid of sids) sum.merge(engine.statistics.cumulative(sid, w));
  return { start_time: w.startMs, end_time: w.endMs, activity_durations: durations, ...reservationCounts(sum) };
}
