/**
 * Statistics query parameters (spec §10): `Minutes`, `StartDate`, `EndDate`, `TaskChannel`,
 * `SplitByWaitTime`, resolved to a window by the engine; and the ISO conversion of the engine's
 * epoch-ms `start_time`/`end_time`.
 */
import { resolveWindow, type StatisticsWindow, type WorkspaceEngine } from '../engine/index.ts';
import type { Params } from './params.ts';
import { isoDate } from './serializers.ts';
import { badParameter, fromRejection } from './twilio-errors.ts';

export interface CumulativeQuery {
  window: StatisticsWindow;
  split: number[] | undefined;
}

/**
 * The window and `SplitByWaitTime` thresholds of a cumulative statistics request (spec §10).
 * `nowMs` is the request's instant (epoch ms, from the API's clock): the window ends there unless
 * `EndDate` says otherwise. Throws a 400 (20001, or 14241 for a window older than 30 days)
 * naming the parameter at fault.
 */
export function cumulativeQuery(engine: WorkspaceEngine, q: Params, nowMs: number): CumulativeQuery {
  const split = splitByWaitTime(q);
  const w = resolveWindow(
    engine,
    {
      minutes: q.integer('Minutes', 1),
      startMs: q.date('StartDate'),
      endMs: q.date('EndDate'),
      taskChannel: q.string('TaskChannel'),
      splitByWaitTime: split,
    },
    nowMs,
  );
  if ('code' in w) throw fromRejection(w);
  return { window: w, split };
}

/** The channel SID a realtime query narrows to (TC SID or unique name), if any. */
export function realtimeChannel(engine: WorkspaceEngine, q: Params): string | undefined {
  const ref = q.string('TaskChannel');
  if (ref === undefined) return undefined;
  const ch = engine.findChannel(ref);
  if (ch === undefined) throw badParameter('TaskChannel', `TaskChannel ${ref} is not a task channel SID or unique name in this workspace`);
  return ch.sid;
}

function splitByWaitTime(q: Params): number[] | undefined {
  const v = q.string('SplitByWaitTime');
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw badParameter('SplitByWaitTime', `SplitByWaitTime must be comma-separated whole seconds (got '${v}')`);
  return parts.map(Number);
}

/** Replaces epoch-ms `start_time`/`end_time` with ISO dates. */
export function isoWindow(stats: Record<string, unknown>): Record<string, unknown> {
  const out = { ...stats };
  if (typeof out['start_time'] === 'number') out['start_time'] = isoDate(out['start_time']);
  if (typeof out['end_time'] === 'number') out['end_time'] = isoDate(out['end_time']);
  return out;
}

/**
 * Real-time ages as of `now`. The engine computes them at its own instant (its last command),
 * which lags the wall clock between commands; the oldest task's SID does not change with time,
 * so its age is recomputed here.
 */
export function freshAges(engine: WorkspaceEngine, stats: Record<string, unknown>, now: number): Record<string, unknown> {
  const out = { ...stats };
  const oldest = typeof out['longest_task_waiting_sid'] === 'string' ? engine.tasks.get(out['longest_task_waiting_sid']) : undefined;
  if (oldest !== undefined) out['longest_task_waiting_age'] = Math.max(0, Math.floor((now - oldest.dateCreated) / 1000));
  const sidInQueue = out['longest_relative_task_sid_in_queue'];
  const inQueue = typeof sidInQueue === 'string' ? engine.tasks.get(sidInQueue) : undefined;
  if (inQueue !== undefined) {
    out['longest_relative_task_age_in_queue'] = Math.max(0, Math.floor((now - (inQueue.taskQueueEnteredAt ?? inQueue.dateCreated)) / 1000));
  }
  return out;
}
