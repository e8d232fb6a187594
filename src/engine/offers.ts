/**
 * Offers (spec §6, §7.2): matching's picks become reservations. {@link routeNow} offers one task
 * to the best ready workers at once; {@link settle} serves every worker marked dirty until no
 * ready worker can take a listed task. Matching (matching.ts) decides who gets what; the
 * reservation lifecycle (reservation-lifecycle.ts) makes each reservation.
 */
import { assert } from '../util/assert.ts';
import type { TaskRecord, WorkerChannelRecord, WorkerRecord } from './model.ts';
import { hasOpenSlot, inChannelMask, list, pickTask, pickTaskOnAnyChannel, pickWorkers, publishReady, slotsOf, unlist } from './matching.ts';
import { createReservation } from './reservation-lifecycle.ts';
import type { EngineState } from './state.ts';

/**
 * Offers the task to the best ready workers now, up to its open slots (spec §6
 * multi-reservation), and lists it as waiting if slots remain. Returns how many reservations
 * were created. With automatic routing off (shadow replay) it only takes the task off the indexes.
 */
export function routeNow(state: EngineState, task: TaskRecord): number {
  unlist(state, task);
  if (!state.workspace.automaticRouting || !hasOpenSlot(state, task)) return 0;
  const workers = pickWorkers(state, task, slotsOf(state, task) - task.pendingReservations);
  for (const w of workers) createReservation(state, task, w);
  if (hasOpenSlot(state, task)) list(state, task);
  return workers.length;
}

/** Serves workers that became ready until no ready worker can take a waiting task. */
export function settle(state: EngineState): void {
  const queue = state.dirtyWorkers;
  if (!state.workspace.automaticRouting) {
    for (const w of queue) w.queuedToServe = false;
    queue.length = 0;
    return;
  }
  // Serving may queue more workers (and this one again): they are pushed behind `next`.
  for (let next = 0; next < queue.length; next++) {
    const w = queue[next] as WorkerRecord;
    w.queuedToServe = false;
    if (!w.deleted) serveWorker(state, w);
  }
  queue.length = 0;
}

/**
 * Gives a worker marked dirty the best listed tasks it can take on the channels it was marked
 * for (one task over all channels when single-tasking), then publishes its ready entries.
 */
function serveWorker(state: EngineState, w: WorkerRecord): void {
  const mask = w.dirtyChannels;
  w.dirtyChannels = 0;
  if (!state.workspace.multiTaskEnabled) {
    // Single-tasking: one task over all channels. A new reservation marks the worker dirty again
    // while direct (IgnoreCapacity) tasks remain.
    const best = pickTaskOnAnyChannel(state, w);
    if (best !== null) createReservation(state, best, w);
    publishReady(w, mask);
    return;
  }
  const channels = w.channels;
  for (let i = 0; i < channels.length; i++) {
    if (!inChannelMask(mask, i)) continue;
    const ch = channels[i] as WorkerChannelRecord;
    let guard = 0;
    while (ch.ready || (guard === 0 && state.directListed > 0 && w.directTasks.size > 0)) {
      const task = pickTask(state, w, ch.channelIndex);
      if (task === null) break;
      createReservation(state, task, w);
      guard += 1;
      assert(guard < 10_000, 'serveWorker loops');
    }
  }
  publishReady(w, mask);
}
