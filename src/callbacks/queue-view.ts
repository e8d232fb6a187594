/**
 * The queue view a call target's pacing and ECBT read ({@link QueueView}), computed from the
 * engine's read-only view. Pure: the runtime's callback hosting and the simulator's virtual-time
 * driver both call it after engine events.
 */
import type { EngineView } from '../engine/view.ts';
import { qlmExpectedWait } from '../analytics/ewt.ts';
import type { CallTarget } from './call-target.ts';
import type { QueueView } from './center.ts';
import { DEFAULT_AHT_SECONDS } from './offer.ts';

/**
 * The live view of one task queue for the center (QueueView): its waiting tasks (pending or
 * reserved) on the channel and its members' slots on the channel (`channel`: unique name or TC SID) — idle
 * (ready, free capacity), busy (active tasks), busy in an available activity (they take the
 * next task when they finish; a member finishing a call after going offline does not) and
 * staffed (available activity or busy).
 * Null when the queue does not exist. Reads engine state only.
 */
export function queueViewOf(engine: EngineView, taskQueueSid: string, channel: string): QueueView | null {
  const q = engine.queues.get(taskQueueSid);
  if (q === undefined) return null;
  const ch = engine.findChannel(channel);
  const index = ch?.index ?? 0;
  const waiting: QueueView['waiting'] = [];
  for (const t of q.tasks) {
    // Tasks of another channel wait for other slots: they are not ahead on this one.
    if (ch !== undefined && t.taskChannelSid !== ch.sid) continue;
    if (t.assignmentStatus === 'pending' || t.assignmentStatus === 'reserved') waiting.push({ taskSid: t.sid, priority: t.priority, virtualStartTime: t.virtualStartTime });
  }
  let idle = 0;
  let busy = 0;
  let staffed = 0;
  let busyAvailable = 0;
  for (const w of q.members) {
    const c = w.channels[index];
    if (c === undefined) continue;
    busy += Math.min(c.activeTasks, c.configuredCapacity);
    if (w.activityAvailable) busyAvailable += Math.min(c.activeTasks, c.configuredCapacity);
    if (c.ready) idle += Math.max(0, c.configuredCapacity - c.activeTasks);
    if (w.activityAvailable || c.activeTasks > 0) staffed += 1;
  }
  return { waiting, idleServers: idle, busyServers: busy, staffed, busyAvailableServers: busyAvailable };
}

/**
 * The caller's EWT for the Status offer: QLm (spec §7.3) over the live tasks waiting in the
 * target's queue beyond the idle worker slots, with μ̂ = 1 / mean of the center's last services
 * (DEFAULT_AHT_SECONDS, 180 s, before any) and θ̂ = abandonments ÷ time waited. Seconds; 0 when an idle slot is left;
 * null when nobody is staffed. By default for a caller who has no task yet (everyone waiting is
 * ahead); `position` (1 = next) counts only those ahead of a caller already waiting (the voice
 * core's announcements and in-queue offers). The Status offer quotes a holding caller (TaskSid) the
 * default predictor's estimate instead (see offerStatus).
 */
export function liveEwtSeconds(
  engine: EngineView,
  t: Pick<CallTarget, 'taskQueueSid' | 'taskChannel'>,
  stats: { services: number[]; abandonments: number; waitedSeconds: number },
  position?: number,
): number | null {
  const view = queueViewOf(engine, t.taskQueueSid, t.taskChannel);
  if (view === null || view.staffed === 0) return null;
  const ahead = (position === undefined ? view.waiting.length : position - 1) - view.idleServers;
  if (ahead < 0) return 0;
  const meanService = stats.services.length === 0 ? DEFAULT_AHT_SECONDS : stats.services.reduce((a, b) => a + b, 0) / stats.services.length;
  const theta = stats.waitedSeconds > 0 ? stats.abandonments / stats.waitedSeconds : 0;
  return qlmExpectedWait(ahead, Math.max(1, view.busyServers), 1 / meanService, theta);
}
