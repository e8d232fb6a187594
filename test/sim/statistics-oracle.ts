/**
 * An independent model of TaskRouter statistics (spec §10) for the simulation: it reads the
 * event log and the engine's records with naive code of its own, never src/engine/statistics.ts,
 * and says what the statistics endpoints must answer (TigerBeetle's "auditor").
 *
 * Cumulative figures are counts of events inside a window [startMs, endMs). Where an event
 * belongs is decided by this model's own tracking of each task (the queue it last entered, the
 * workflow it entered, when it was created), not by the queue/workflow fields of the event:
 * - a task event (canceled, completed, deleted, moved) counts for the workspace, the task's
 *   workflow and the queue the task was in;
 * - a reservation event counts for the workspace, the task's workflow and the queue the task was
 *   in when the reservation was created;
 * - tasks_entered counts task-queue.entered for a queue and workflow.entered for a workflow.
 * Waits are whole seconds: until accepted/canceled from the task's creation (floor of the
 * difference); in queue from the second the task entered its queue to the second of the accept
 * (task_queue_entered_date is a second-precision date). split_by_wait_time puts a wait equal to
 * the threshold "below" (as the engine documents).
 */
import { compileExpression } from '../../src/expr/index.ts';
import type { EngineEvent, WorkspaceEngine } from '../../src/engine/index.ts';

type FactKind =
  | 'created'
  | 'entered'
  | 'moved'
  | 'canceled'
  | 'completed'
  | 'deleted'
  | 'timedOutInWorkflow'
  | 'reservation.created'
  | 'reservation.accepted'
  | 'reservation.rejected'
  | 'reservation.timeout'
  | 'reservation.canceled'
  | 'reservation.rescinded';

interface Fact {
  at: number;
  kind: FactKind;
  scopes: string[];
  /** Seconds from the task's creation (accepted, canceled). */
  wait?: number;
  /** Seconds from entering the queue (accepted). */
  queueWait?: number;
}

interface Durations {
  avg: number;
  min: number;
  max: number;
  total: number;
}

function durations(values: number[]): Durations {
  if (values.length === 0) return { avg: 0, min: 0, max: 0, total: 0 };
  const total = values.reduce((a, b) => a + b, 0);
  return { avg: Math.round(total / values.length), min: Math.min(...values), max: Math.max(...values), total };
}

type Json = Record<string, unknown>;

export class StatisticsOracle {
  private readonly facts: Fact[] = [];
  private readonly createdAt = new Map<string, number>();
  private readonly queueOf = new Map<string, string>();
  private readonly enteredAt = new Map<string, number>();
  private readonly workflowOf = new Map<string, string>();
  private readonly reservationScopes = new Map<string, string[]>();
  private workspaceSid = '';

  /** Takes the next event of the log into account (events must come in order). */
  observe(e: EngineEvent): void {
    const d = e.data;
    const task = d['task_sid'] as string | undefined;
    if (e.eventType === 'workspace.created') this.workspaceSid = e.resourceSid;
    const taskScopes = (t: string): string[] => {
      const scopes = [this.workspaceSid];
      const q = this.queueOf.get(t);
      const wf = this.workflowOf.get(t);
      if (q !== undefined) scopes.push(q);
      if (wf !== undefined) scopes.push(wf);
      return scopes;
    };
    const add = (kind: FactKind, scopes: string[], extra: Partial<Fact> = {}): void => {
      this.facts.push({ at: e.at, kind, scopes, ...extra });
    };
    const waitOf = (t: string): number => Math.floor((e.at - (this.createdAt.get(t) as number)) / 1000);
    switch (e.eventType) {
      case 'task.created':
        this.createdAt.set(e.resourceSid, e.at);
        add('created', [this.workspaceSid]);
        return;
      case 'workflow.entered':
        this.workflowOf.set(e.resourceSid, d['workflow_sid'] as string);
        add('entered', [d['workflow_sid'] as string]);
        return;
      case 'task-queue.entered': {
        const q = d['task_queue_sid'] as string;
        const previous = this.queueOf.get(e.resourceSid);
        if (previous !== undefined && previous !== q && !this.movedOut.has(e.resourceSid)) {
          throw new Error(`oracle: task ${e.resourceSid} entered ${q} from ${previous} without task-queue.moved`);
        }
        this.movedOut.delete(e.resourceSid);
        this.queueOf.set(e.resourceSid, q);
        this.enteredAt.set(e.resourceSid, e.at);
        add('entered', [q]);
        return;
      }
      case 'task-queue.moved': {
        const from = this.queueOf.get(e.resourceSid);
        if (from !== d['task_queue_sid']) {
          throw new Error(`oracle: task ${e.resourceSid} moved out of ${String(d['task_queue_sid'])} but it was in ${String(from)}`);
        }
        this.movedOut.add(e.resourceSid);
        add('moved', taskScopes(e.resourceSid));
        return;
      }
      case 'task.canceled':
        add('canceled', taskScopes(e.resourceSid), { wait: waitOf(e.resourceSid) });
        return;
      case 'task.completed':
        add('completed', taskScopes(e.resourceSid));
        return;
      case 'task.deleted':
        add('deleted', taskScopes(e.resourceSid));
        return;
      case 'workflow.timeout': {
        const wf = this.workflowOf.get(e.resourceSid);
        add('timedOutInWorkflow', wf === undefined ? [this.workspaceSid] : [this.workspaceSid, wf]);
        return;
      }
      case 'reservation.created':
        this.reservationScopes.set(e.resourceSid, taskScopes(task as string));
        add('reservation.created', taskScopes(task as string));
        return;
      case 'reservation.accepted': {
        const t = task as string;
        const entered = this.enteredAt.get(t);
        const queueWait = entered === undefined ? undefined : Math.floor(e.at / 1000) - Math.floor(entered / 1000);
        add('reservation.accepted', this.scopesOfReservation(e.resourceSid), { wait: waitOf(t), ...(queueWait === undefined ? {} : { queueWait }) });
        return;
      }
      case 'reservation.rejected':
      case 'reservation.timeout':
      case 'reservation.canceled':
      case 'reservation.rescinded':
        add(e.eventType, this.scopesOfReservation(e.resourceSid));
        return;
      default:
        return;
    }
  }

  private readonly movedOut = new Set<string>();

  private scopesOfReservation(sid: string): string[] {
    const scopes = this.reservationScopes.get(sid);
    if (scopes === undefined) throw new Error(`oracle: reservation ${sid} ended without reservation.created`);
    return scopes;
  }

  /** What a cumulative endpoint must answer for `scope` over [startMs, endMs). */
  cumulative(kind: 'workspace' | 'taskQueue' | 'workflow', scope: string, startMs: number, endMs: number, split: number[]): Json {
    const facts = this.facts.filter((f) => f.at >= startMs && f.at < endMs && f.scopes.includes(scope));
    const count = (k: FactKind): number => facts.filter((f) => f.kind === k).length;
    const accepted = facts.filter((f) => f.kind === 'reservation.accepted');
    const canceled = facts.filter((f) => f.kind === 'canceled');
    const acceptedWaits = durations(accepted.map((f) => f.wait as number));
    const splitOut: Json = {};
    for (const s of split) {
      const side = (wait: number): 'below' | 'above' => (wait <= s ? 'below' : 'above');
      const out = { above: { tasks_canceled: 0, reservations_accepted: 0 }, below: { tasks_canceled: 0, reservations_accepted: 0 } };
      for (const f of accepted) out[side(f.wait as number)].reservations_accepted += 1;
      for (const f of canceled) out[side(f.wait as number)].tasks_canceled += 1;
      splitOut[String(s)] = out;
    }
    const base: Json = {
      avg_task_acceptance_time: acceptedWaits.avg,
      start_time: startMs,
      end_time: endMs,
      reservations_created: count('reservation.created'),
      reservations_accepted: accepted.length,
      reservations_rejected: count('reservation.rejected'),
      reservations_timed_out: count('reservation.timeout'),
      reservations_canceled: count('reservation.canceled'),
      reservations_rescinded: count('reservation.rescinded'),
      split_by_wait_time: split.length === 0 ? null : splitOut,
      wait_duration_until_accepted: acceptedWaits,
      wait_duration_until_canceled: durations(canceled.map((f) => f.wait as number)),
      tasks_canceled: canceled.length,
      tasks_completed: count('completed'),
      tasks_deleted: count('deleted'),
      tasks_moved: count('moved'),
    };
    if (kind === 'workspace') return { ...base, tasks_created: count('created'), tasks_timed_out_in_workflow: count('timedOutInWorkflow') };
    if (kind === 'workflow') return { ...base, tasks_entered: count('entered'), tasks_timed_out_in_workflow: count('timedOutInWorkflow') };
    return {
      ...base,
      tasks_entered: count('entered'),
      wait_duration_in_queue_until_accepted: durations(accepted.filter((f) => f.queueWait !== undefined).map((f) => f.queueWait as number)),
    };
  }
}

/**
 * What a real-time endpoint must answer, recomputed from the engine's task and worker records
 * (spec §10): the workspace's, or one queue's when `queueSid` is given. For the oldest task in
 * queue only the age is given when several tasks share the oldest entry time.
 */
export function expectedRealtime(engine: WorkspaceEngine, queueSid?: string): Json {
  const byStatus = { pending: 0, reserved: 0, assigned: 0, wrapping: 0 };
  const byPriority: Record<string, number> = {};
  let oldest: { at: number; sid: string } | null = null;
  let oldestInQueue: { at: number; sids: string[] } | null = null;
  for (const t of engine.tasks.values()) {
    const s = t.assignmentStatus;
    if (s === 'completed' || s === 'canceled') continue;
    if (queueSid !== undefined && t.taskQueueSid !== queueSid) continue;
    byStatus[s] += 1;
    if (s !== 'pending' && s !== 'reserved') continue;
    byPriority[String(t.priority)] = (byPriority[String(t.priority)] ?? 0) + 1;
    if (oldest === null || t.dateCreated < oldest.at || (t.dateCreated === oldest.at && t.sid < oldest.sid)) oldest = { at: t.dateCreated, sid: t.sid };
    const entered = t.taskQueueEnteredAt ?? t.dateCreated;
    if (oldestInQueue === null || entered < oldestInQueue.at) oldestInQueue = { at: entered, sids: [t.sid] };
    else if (entered === oldestInQueue.at) oldestInQueue.sids.push(t.sid);
  }
  const out: Json = {
    tasks_by_status: byStatus,
    tasks_by_priority: byPriority,
    total_tasks: byStatus.pending + byStatus.reserved + byStatus.assigned + byStatus.wrapping,
    longest_task_waiting_age: oldest === null ? 0 : Math.floor((engine.now - oldest.at) / 1000),
    longest_task_waiting_sid: oldest?.sid ?? null,
  };
  if (queueSid === undefined) {
    out['total_workers'] = engine.workers.size;
    return out;
  }
  const q = engine.queues.get(queueSid);
  const target = q?.record.targetWorkers ?? '';
  const expression = target.trim() === '' ? null : compileExpression(target, 'worker');
  let eligible = 0;
  let available = 0;
  for (const w of engine.workers.values()) {
    const activity = engine.activities.get(w.activitySid);
    const view = { sid: w.sid, friendlyName: w.friendlyName, activitySid: w.activitySid, activityName: activity?.friendlyName ?? '', attributes: JSON.parse(w.attributesJson) as Record<string, unknown>, channel: () => undefined };
    if (expression === null || !expression.evaluate({ nowMs: engine.now, worker: view })) continue;
    eligible += 1;
    if (activity?.available === true) available += 1;
  }
  out['longest_relative_task_age_in_queue'] = oldestInQueue === null ? 0 : Math.floor((engine.now - oldestInQueue.at) / 1000);
  out['longest_relative_task_sid_in_queue'] = oldestInQueue === null ? null : oldestInQueue.sids.length === 1 ? oldestInQueue.sids[0] : oldestInQueue.sids;
  out['total_eligible_workers'] = eligible;
  out['total_available_workers'] = available;
  return out;
}
