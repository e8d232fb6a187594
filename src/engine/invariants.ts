/**
 * Invariants of a workspace engine (STYLE.md, "checkInvariants(state) runs after every step in
 * tests and sims"). {@link checkInvariants} recomputes everything it checks by brute force from
 * the engine's records: reservation counts, queue membership (TargetWorkers compiled afresh),
 * readiness and work conservation never read the engine's heaps or its derived counters, so a
 * bug in the incremental bookkeeping shows up as a disagreement here.
 *
 * It is pure (reads the engine, changes nothing) and usable from any test. On failure it throws
 * an {@link InvariantError} listing each violated invariant by name with the SIDs involved.
 *
 * What holds between commands (section numbers refer to shared/specs/taskrouter-semantics.md):
 * - records: every reservation belongs to exactly one task that lists it; open reservations
 *   (pending, accepted, wrapping) belong to existing workers;
 * - capacity (§7.2 rule 4, §7.3): a worker channel's `activeTasks`/`assignedTasks` equal its
 *   open/accepted+wrapping reservations; a reservation never took a channel past its configured
 *   capacity (IgnoreCapacity tasks routed to a worker excepted; a later capacity cut may leave
 *   a channel over capacity, so only reservations made after the channel's last update count);
 * - single-tasking (§7.2 rule 5): with multitasking off, a reservation is only made for a worker
 *   with no other open reservation (IgnoreCapacity tasks excepted);
 * - multi-reservation (§6): a task has at most its queue's MaxReservedWorkers pending
 *   reservations (1 when routed to a worker), and they are all in its current queue and channel;
 * - task status (§5.2): assigned ⇔ exactly one accepted reservation, wrapping ⇔ exactly one
 *   wrapping one, completed ⇔ exactly one completed one; reserved ⇔ at least one pending;
 *   `pendingReservations` matches;
 * - membership (§7.2 rule 1): a worker's `queues` are exactly the queues whose TargetWorkers
 *   match it now, and each queue's members and per-activity counts agree;
 * - readiness (§7.2 rules 3–5): every channel's `ready` flag agrees with a recomputation;
 * - listing: a waiting task with an open slot is listed where workers find it, and only then;
 * - timers: nothing is overdue (reservation timeouts, step deadlines, TTLs, purges are after now);
 * - work conservation (§7.2): no worker ready on a channel is left idle while a waiting task on
 *   that channel is eligible for it (pending, or reserved with open slots; step not expired;
 *   member of the step's queue; the step's target expression and known worker allow it; no
 *   pending reservation of that worker on that task). Expressions that read `taskrouter.*`
 *   (time of day) are skipped: their truth changes with time alone.
 * With the automaticRouting extension off (shadow replay) the capacity, listing and work
 * conservation checks are skipped: there, only `offerTask` makes reservations, and it ignores
 * activity and capacity by design. Using `offerTask` with automatic routing on is outside what
 * this checker covers.
 */
import { compileExpression, compileKeyReference } from '../expr/index.ts';
import type { ChannelView, CompiledExpression, WorkerView } from '../expr/types.ts';
import { LIMITS } from './limits.ts';
import { isTerminal, isWaiting, type ReservationRecord, type TaskRecord, type WorkerRecord } from './model.ts';
import { ENGINE_STATE, type EngineState, type HoldsEngineState } from './state.ts';

/** One violated invariant: its name, the SIDs involved and what was found. */
export interface InvariantViolation {
  readonly invariant: string;
  readonly sids: readonly string[];
  readonly message: string;
}

/** Thrown by {@link checkInvariants}; `violations` lists what failed (at most a few dozen). */
export class InvariantError extends Error {
  override name = 'InvariantError';
  readonly violations: readonly InvariantViolation[];

  constructor(violations: readonly InvariantViolation[]) {
    super(
      `${violations.length} invariant violation(s):\n` +
        violations.map((v) => `  [${v.invariant}] ${v.message} (${v.sids.join(', ')})`).join('\n'),
    );
    this.violations = violations;
  }
}

/** Throws an {@link InvariantError} naming every violated invariant and the SIDs involved. */
export function checkInvariants(engine: HoldsEngineState): void {
  const violations = findInvariantViolations(engine);
  if (violations.length > 0) throw new InvariantError(violations);
}

/** The violated invariants, first `limit` of them; empty when everything holds. */
export function findInvariantViolations(engine: HoldsEngineState, limit = 40): InvariantViolation[] {
  const checker = new Checker(engine[ENGINE_STATE], limit);
  checker.run();
  return checker.violations;
}

/** Stop condition: enough violations collected to explain a failure. */
class Enough extends Error {}

const isOpen = (r: ReservationRecord): boolean =>
  r.reservationStatus === 'pending' || r.reservationStatus === 'accepted' || r.reservationStatus === 'wrapping';

/** Compiled expressions by scope and source; sources are few, so the cache stays small. */
const compiled = new Map<string, CompiledExpression | null>();

function compileCached(source: string, scope: 'worker' | 'target'): CompiledExpression | null {
  const key = `${scope}\u0000${source}`;
  let e = compiled.get(key);
  if (e === undefined) {
    if (compiled.size > 4096) compiled.clear();
    e = source.trim() === '' ? null : compileExpression(source, scope);
    compiled.set(key, e);
  }
  return e;
}

/** A workflow target as written in the configuration (the keys this checker reads). */
interface TargetDoc {
  expression?: unknown;
  known_worker_sid?: unknown;
  known_worker_friendly_name?: unknown;
}

const configurations = new Map<string, { task_routing?: { filters?: { targets?: TargetDoc[] }[] } }>();

function parseConfiguration(json: string): { task_routing?: { filters?: { targets?: TargetDoc[] }[] } } {
  let doc = configurations.get(json);
  if (doc === undefined) {
    if (configurations.size > 256) configurations.clear();
    doc = JSON.parse(json) as { task_routing?: { filters?: { targets?: TargetDoc[] }[] } };
    configurations.set(json, doc);
  }
  return doc;
}

/** Per worker channel: what its open reservations add up to, recomputed. */
interface ChannelTally {
  active: number;
  assigned: number;
  /** Open reservations on the channel, oldest first. */
  open: ReservationRecord[];
}

/** Who may take a task at its current step, recomputed from the workflow configuration. */
interface StepRule {
  expression: CompiledExpression | null;
  /** `undefined`: no known worker; `null`: the reference resolved to nothing (nobody eligible). */
  knownWorker: { value: string; byName: boolean } | null | undefined;
}

class Checker {
  readonly violations: InvariantViolation[] = [];
  private readonly e: EngineState;
  private readonly limit: number;
  /** Reservation SID → creation rank (the reservations map keeps insertion order). */
  private readonly rank = new Map<string, number>();
  private readonly tallies = new Map<string, ChannelTally>();
  private readonly openByWorker = new Map<string, ReservationRecord[]>();
  private readonly pendingByTask = new Map<string, ReservationRecord[]>();
  /** Worker SID → queue SIDs whose TargetWorkers match it, recomputed. */
  private readonly membership = new Map<string, Set<string>>();
  private readonly views = new Map<string, WorkerView>();
  /** `${workerSid}|${channelIndex}` → ready, recomputed. */
  private readonly ready = new Map<string, boolean>();

  constructor(state: EngineState, limit: number) {
    this.e = state;
    this.limit = limit;
  }

  run(): void {
    try {
      this.checkReservations();
      this.checkTasks();
      this.checkWorkers();
      this.checkMembership();
      this.checkReadiness();
      this.checkQueues();
      this.checkTimers();
      // With automatic routing off (shadow replay) tasks wait unlisted until offered, and
      // `offerTask` reserves whatever the worker's capacity.
      if (this.e.workspace.automaticRouting) {
        this.checkCapacity();
        this.checkListing();
        this.checkWorkConservation();
      }
    } catch (error) {
      if (!(error instanceof Enough)) throw error;
    }
  }

  private fail(invariant: string, sids: readonly string[], message: string): void {
    this.violations.push({ invariant, sids, message });
    if (this.violations.length >= this.limit) throw new Enough();
  }

  private channelIndexOf(channelSid: string): number {
    return this.e.channels.get(channelSid)?.index ?? -1;
  }

  private tally(workerSid: string, channel: number): ChannelTally {
    const key = `${workerSid}|${channel}`;
    let t = this.tallies.get(key);
    if (t === undefined) this.tallies.set(key, (t = { active: 0, assigned: 0, open: [] }));
    return t;
  }

  /** Reservation records: owned by a task that lists them; open ones by an existing worker. */
  private checkReservations(): void {
    const e = this.e;
    let n = 0;
    for (const [sid, r] of e.reservations) {
      this.rank.set(sid, n++);
      if (r.sid !== sid) this.fail('record-key', [sid, r.sid], `reservation stored under ${sid} has sid ${r.sid}`);
      const task = e.tasks.get(r.taskSid);
      if (task === undefined) {
        this.fail('reservation-has-task', [r.sid, r.taskSid], `reservation ${r.sid} belongs to missing task ${r.taskSid}`);
        continue;
      }
      if (!isOpen(r)) continue;
      if (!e.workers.has(r.workerSid)) {
        this.fail('open-reservation-has-worker', [r.sid, r.workerSid], `${r.reservationStatus} reservation ${r.sid} belongs to missing worker ${r.workerSid}`);
        continue;
      }
      const channel = this.channelIndexOf(r.taskChannelSid);
      const t = this.tally(r.workerSid, channel);
      t.active += 1;
      if (r.reservationStatus !== 'pending') t.assigned += 1;
      t.open.push(r);
      let list = this.openByWorker.get(r.workerSid);
      if (list === undefined) this.openByWorker.set(r.workerSid, (list = []));
      list.push(r);
      if (r.reservationStatus === 'pending') {
        let pending = this.pendingByTask.get(r.taskSid);
        if (pending === undefined) this.pendingByTask.set(r.taskSid, (pending = []));
        pending.push(r);
      }
    }
  }

  /** Task status against its reservations (spec §5.2, §6). */
  private checkTasks(): void {
    const e = this.e;
    const listed = new Set<string>();
    for (const [sid, task] of e.tasks) {
      if (task.sid !== sid) this.fail('record-key', [sid, task.sid], `task stored under ${sid} has sid ${task.sid}`);
      const count = { pending: 0, accepted: 0, wrapping: 0, completed: 0 };
      for (const rsid of task.reservationSids) {
        const r = e.reservations.get(rsid);
        if (r === undefined || r.taskSid !== task.sid) {
          this.fail('task-reservations-exist', [task.sid, rsid], `task ${task.sid} lists reservation ${rsid}, which is missing or belongs to another task`);
          continue;
        }
        if (listed.has(rsid)) this.fail('task-reservations-unique', [task.sid, rsid], `reservation ${rsid} is listed twice`);
        listed.add(rsid);
        if (r.reservationStatus in count) count[r.reservationStatus as keyof typeof count] += 1;
      }
      const status = task.assignmentStatus;
      const expect = (ok: boolean, message: string): void => {
        if (!ok) this.fail('task-status-matches-reservations', [task.sid], `task ${task.sid} is ${status} with ${JSON.stringify(count)} reservations: ${message}`);
      };
      expect(count.accepted === (status === 'assigned' ? 1 : 0), 'an assigned task has exactly one accepted reservation, other tasks none');
      expect(count.wrapping === (status === 'wrapping' ? 1 : 0), 'a wrapping task has exactly one wrapping reservation, other tasks none');
      expect(status !== 'completed' || count.completed === 1, 'a completed task has exactly one completed reservation');
      expect((status === 'reserved') === count.pending > 0, 'reserved ⇔ at least one pending reservation');
      if (task.pendingReservations !== count.pending) {
        this.fail('pending-count', [task.sid], `task ${task.sid} counts ${task.pendingReservations} pending reservations, has ${count.pending}`);
      }
      if (task.reservationCycles > LIMITS.reservationCycles) {
        this.fail('reservation-cycle-cap', [task.sid], `task ${task.sid} went pending→reserved ${task.reservationCycles} times`);
      }
      this.checkPendingOfTask(task);
    }
    for (const sid of e.reservations.keys()) {
      if (!listed.has(sid)) this.fail('reservation-listed-by-task', [sid], `reservation ${sid} is not listed by its task`);
    }
  }

  /** Pending reservations: within MaxReservedWorkers, in the task's current queue and channel. */
  private checkPendingOfTask(task: TaskRecord): void {
    const pending = this.pendingByTask.get(task.sid) ?? [];
    if (pending.length === 0) return;
    for (const r of pending) {
      if (r.taskQueueSid !== task.taskQueueSid || r.taskChannelSid !== task.taskChannelSid) {
        this.fail('pending-in-current-queue', [task.sid, r.sid], `pending reservation ${r.sid} was made in queue ${r.taskQueueSid} on channel ${r.taskChannelSid}; the task is in ${task.taskQueueSid} on ${task.taskChannelSid}`);
      }
    }
    const q = task.taskQueueSid === null ? undefined : this.e.queues.get(task.taskQueueSid);
    const slots = task.taskQueueSid === null ? 1 : (q?.record.maxReservedWorkers ?? 1);
    if (pending.length <= slots) return;
    // A MaxReservedWorkers cut keeps existing reservations; only later ones must respect it.
    const changedAt = q?.record.dateUpdated ?? -Infinity;
    const late = pending.filter((r) => r.dateCreated > changedAt);
    if (late.length > 0) {
      this.fail('max-reserved-workers', [task.sid, ...pending.map((r) => r.sid)], `task ${task.sid} has ${pending.length} pending reservations, more than its ${slots} slots`);
    }
  }

  /** Worker records: derived fields and per-channel counters agree with a recomputation. */
  private checkWorkers(): void {
    const e = this.e;
    for (const [sid, w] of e.workers) {
      if (w.sid !== sid) this.fail('record-key', [sid, w.sid], `worker stored under ${sid} has sid ${w.sid}`);
      const activity = e.activities.get(w.activitySid);
      if (activity === undefined) {
        this.fail('worker-activity-exists', [w.sid, w.activitySid], `worker ${w.sid} holds missing activity ${w.activitySid}`);
      } else if (activity.friendlyName !== w.activityName || activity.available !== w.activityAvailable) {
        this.fail('worker-activity-derived', [w.sid, w.activitySid], `worker ${w.sid} caches activity ${w.activityName}/${String(w.activityAvailable)}, the activity is ${activity.friendlyName}/${String(activity.available)}`);
      }
      const attributes = JSON.parse(w.attributesJson) as Record<string, unknown>;
      if (JSON.stringify(attributes) !== JSON.stringify(w.attributes)) {
        this.fail('worker-attributes-derived', [w.sid], `worker ${w.sid}'s parsed attributes differ from its attributes JSON`);
      }
      const open = this.openByWorker.get(w.sid) ?? [];
      const expected = new Set(open.map((r) => r.sid));
      if (expected.size !== w.openReservations.size || [...w.openReservations].some((r) => !expected.has(r))) {
        this.fail('worker-open-reservations', [w.sid], `worker ${w.sid} tracks open reservations [${[...w.openReservations].join(', ')}], has [${[...expected].join(', ')}]`);
      }
      if (w.channels.length !== e.channelList.length) {
        this.fail('worker-channels', [w.sid], `worker ${w.sid} has ${w.channels.length} channels, the workspace ${e.channelList.length}`);
      }
      w.channels.forEach((ch, index) => {
        const t = this.tally(w.sid, index);
        if (ch.channelIndex !== index || ch.taskChannelSid !== e.channelList[index]?.sid) {
          this.fail('worker-channels', [w.sid, ch.sid], `worker ${w.sid}'s channel ${ch.sid} sits at index ${index} but names index ${ch.channelIndex}`);
        }
        if (ch.activeTasks !== t.active || ch.assignedTasks !== t.assigned) {
          this.fail('channel-counts', [w.sid, ch.sid], `worker ${w.sid} channel ${ch.sid} counts ${ch.activeTasks} active/${ch.assignedTasks} assigned, has ${t.active}/${t.assigned} (${t.open.map((r) => `${r.sid}:${r.reservationStatus}`).join(', ')})`);
        }
      });
      this.views.set(w.sid, this.viewOf(w, attributes));
    }
  }

  /** An independent view of a worker for expressions: fresh attributes, recomputed channels. */
  private viewOf(w: WorkerRecord, attributes: Record<string, unknown>): WorkerView {
    const e = this.e;
    const activityName = e.activities.get(w.activitySid)?.friendlyName ?? w.activityName;
    const channel = (uniqueName: string): ChannelView | undefined => {
      const tc = e.channelList.find((c) => !c.deleted && c.uniqueName === uniqueName);
      const ch = tc === undefined ? undefined : w.channels[tc.index];
      if (tc === undefined || ch === undefined) return undefined;
      const t = this.tally(w.sid, tc.index);
      const configured = ch.configuredCapacity;
      return {
        configuredCapacity: configured,
        assignedTasks: t.assigned,
        availableCapacityPercentage: configured <= 0 ? 0 : Math.max(0, Math.floor((1 - t.active / configured) * 100)),
      };
    };
    return { sid: w.sid, friendlyName: w.friendlyName, activitySid: w.activitySid, activityName, attributes, channel };
  }

  /** Queue membership equals TargetWorkers evaluated now (spec §7.2 rule 1). */
  private checkMembership(): void {
    const e = this.e;
    for (const w of e.workers.values()) this.membership.set(w.sid, new Set());
    for (const [qsid, q] of e.queues) {
      const expression = compileCached(q.record.targetWorkers ?? '', 'worker');
      let available = 0;
      const byActivity = new Map<string, number>();
      const members = new Set<string>();
      for (const w of e.workers.values()) {
        const view = this.views.get(w.sid) as WorkerView;
        if (expression === null || !expression.evaluate({ nowMs: e.now, worker: view })) continue;
        if (expression.dependsOn.time) continue;
        members.add(w.sid);
        (this.membership.get(w.sid) as Set<string>).add(qsid);
        byActivity.set(w.activitySid, (byActivity.get(w.activitySid) ?? 0) + 1);
        if (e.activities.get(w.activitySid)?.available === true) available += 1;
      }
      if (expression?.dependsOn.time) continue;
      const indexed = new Set([...q.members].map((w) => w.sid));
      const missing = [...members].filter((s) => !indexed.has(s));
      const extra = [...indexed].filter((s) => !members.has(s));
      if (missing.length > 0 || extra.length > 0) {
        this.fail('queue-members', [qsid, ...missing, ...extra], `queue ${qsid} (${q.record.targetWorkers}) misses members [${missing.join(', ')}] and wrongly holds [${extra.join(', ')}]`);
      }
      if (q.availableMembers !== available) {
        this.fail('queue-available-members', [qsid], `queue ${qsid} counts ${q.availableMembers} available members, has ${available}`);
      }
      for (const a of new Set([...byActivity.keys(), ...q.membersByActivity.keys()])) {
        if ((byActivity.get(a) ?? 0) !== q.countByActivity(a)) {
          this.fail('queue-members-by-activity', [qsid, a], `queue ${qsid} counts ${q.countByActivity(a)} members in activity ${a}, has ${byActivity.get(a) ?? 0}`);
        }
      }
    }
    for (const w of e.workers.values()) {
      const expected = this.membership.get(w.sid) as Set<string>;
      const actual = new Set([...w.queues].filter((qsid) => {
        const expression = e.queues.get(qsid)?.expression;
        return expression?.dependsOn.time !== true;
      }));
      if (expected.size !== actual.size || [...expected].some((q) => !actual.has(q))) {
        this.fail('worker-queues', [w.sid], `worker ${w.sid} is in queues [${[...actual].join(', ')}], its attributes match [${[...expected].join(', ')}]`);
      }
      const sids = [...w.queues];
      const indexes = [...w.queueIndexes];
      if (indexes.length !== sids.length || indexes.some((q, i) => q.record.sid !== sids[i] || e.queues.get(q.record.sid) !== q)) {
        this.fail('worker-queues', [w.sid], `worker ${w.sid} has queue indexes [${indexes.map((q) => q.record.sid).join(', ')}] for queues [${sids.join(', ')}]`);
      }
    }
  }

  /** Ready flags (spec §7.2 rules 3–5) agree with a recomputation. */
  private checkReadiness(): void {
    const e = this.e;
    const multitask = e.workspace.multiTaskEnabled;
    for (const w of e.workers.values()) {
      const activityAvailable = e.activities.get(w.activitySid)?.available === true;
      const busy = (this.openByWorker.get(w.sid)?.length ?? 0) > 0;
      w.channels.forEach((ch, index) => {
        const tc = e.channelList[index];
        const ready =
          tc !== undefined && !tc.deleted && activityAvailable && ch.available && this.tally(w.sid, index).active < ch.configuredCapacity && (multitask || !busy);
        this.ready.set(`${w.sid}|${index}`, ready);
        if (ch.ready !== ready) {
          this.fail('channel-ready', [w.sid, ch.sid], `worker ${w.sid} channel ${tc?.uniqueName ?? index} is flagged ${ch.ready ? 'ready' : 'not ready'} but should be ${ready ? 'ready' : 'not ready'}`);
        }
      });
    }
  }

  private isIgnoreCapacity(r: ReservationRecord): boolean {
    const task = this.e.tasks.get(r.taskSid);
    return task !== undefined && task.ignoreCapacity && task.taskQueueSid === null;
  }

  /**
   * No reservation took a channel past its capacity, or a single-tasking worker past one open
   * reservation. Reservations are checked in creation order: the i-th open one on a channel was
   * made while the i−1 before it were open, so i must be within the capacity it was made under.
   */
  private checkCapacity(): void {
    const e = this.e;
    for (const w of e.workers.values()) {
      w.channels.forEach((ch, index) => {
        const open = this.tally(w.sid, index).open;
        open.forEach((r, i) => {
          if (this.isIgnoreCapacity(r) || r.dateCreated <= ch.dateUpdated) return;
          if (i + 1 > ch.configuredCapacity) {
            this.fail('channel-capacity', [w.sid, ch.sid, r.sid], `reservation ${r.sid} is open reservation #${i + 1} on worker ${w.sid}'s channel ${ch.sid} of capacity ${ch.configuredCapacity}`);
          }
        });
      });
      if (e.workspace.multiTaskEnabled) continue;
      const open = this.openByWorker.get(w.sid) ?? [];
      open.forEach((r, i) => {
        if (i === 0 || this.isIgnoreCapacity(r) || r.dateCreated <= e.workspace.dateUpdated) return;
        this.fail('single-tasking', [w.sid, r.sid, (open[0] as ReservationRecord).sid], `single-tasking worker ${w.sid} got reservation ${r.sid} while ${(open[0] as ReservationRecord).sid} was open`);
      });
    }
  }

  /** Each queue's task set holds exactly its non-terminal tasks. */
  private checkQueues(): void {
    const e = this.e;
    const expected = new Map<string, Set<string>>();
    for (const qsid of e.queues.keys()) expected.set(qsid, new Set());
    for (const t of e.tasks.values()) {
      if (isTerminal(t.assignmentStatus) || t.taskQueueSid === null) continue;
      const set = expected.get(t.taskQueueSid);
      if (set === undefined) this.fail('task-queue-exists', [t.sid, t.taskQueueSid], `${t.assignmentStatus} task ${t.sid} is in missing queue ${t.taskQueueSid}`);
      else set.add(t.sid);
    }
    for (const [qsid, q] of e.queues) {
      const want = expected.get(qsid) as Set<string>;
      const have = new Set([...q.tasks].map((t) => t.sid));
      const missing = [...want].filter((s) => !have.has(s));
      const extra = [...have].filter((s) => !want.has(s));
      if (missing.length > 0 || extra.length > 0) {
        this.fail('queue-tasks', [qsid, ...missing, ...extra], `queue ${qsid}'s task set misses [${missing.join(', ')}] and wrongly holds [${extra.join(', ')}]`);
      }
    }
  }

  /** Can the task get (more) reservations now: waiting, routable, step not expired, slots left. */
  private slotsOpen(t: TaskRecord): boolean {
    if (!isWaiting(t.assignmentStatus) || t.routing.stepExpired) return false;
    const direct = t.taskQueueSid === null;
    if (direct && t.routingTarget?.startsWith('WK') !== true) return false;
    const slots = direct ? 1 : (this.e.queues.get(t.taskQueueSid as string)?.record.maxReservedWorkers ?? 0);
    return (this.pendingByTask.get(t.sid)?.length ?? 0) < slots;
  }

  /** A waiting task with an open slot is listed where ready workers look, and only such a task. */
  private checkListing(): void {
    const e = this.e;
    for (const t of e.tasks.values()) {
      const open = this.slotsOpen(t);
      if (open !== (t.listedIn !== null)) {
        this.fail('task-listed', [t.sid], `${t.assignmentStatus} task ${t.sid} ${open ? 'has open slots but is not listed' : `is listed (${t.listedIn}) without open slots`}`);
        continue;
      }
      if (t.listedIn === 'direct' && e.workers.get(t.routingTarget as string)?.directTasks.has(t.sid) !== true) {
        this.fail('task-listed', [t.sid, t.routingTarget as string], `task ${t.sid} is listed for worker ${t.routingTarget}, who does not list it`);
      }
      const q = t.taskQueueSid === null ? undefined : e.queues.get(t.taskQueueSid);
      if (t.listedIn === 'restricted' && q?.holdsRestricted(t) !== true) {
        this.fail('task-listed', [t.sid], `task ${t.sid} is listed as restricted but its queue does not hold it`);
      }
      if (t.listedIn === 'known' && ![...(q?.knownWorkerTasks.values() ?? [])].some((set) => set.has(t))) {
        this.fail('task-listed', [t.sid], `task ${t.sid} is listed for a known worker but its queue does not hold it`);
      }
      if (isWaiting(t.assignmentStatus) && t.taskQueueSid === null && t.routingTarget?.startsWith('WK') === true && !e.workers.has(t.routingTarget)) {
        this.fail('direct-task-has-worker', [t.sid, t.routingTarget], `waiting task ${t.sid} is routed to missing worker ${t.routingTarget}`);
      }
    }
  }

  /** No timer is overdue: everything due at or before now has fired. */
  private checkTimers(): void {
    const e = this.e;
    const now = e.now;
    for (const r of e.reservations.values()) {
      if (r.reservationStatus === 'pending' && r.timeoutAt <= now) {
        this.fail('timer-overdue', [r.sid], `pending reservation ${r.sid} timed out at ${r.timeoutAt}, now is ${now}`);
      }
    }
    for (const t of e.tasks.values()) {
      const s = t.assignmentStatus;
      let due: number;
      let what: string;
      if (isWaiting(s)) {
        const ttl = t.dateCreated + t.timeoutS * 1000;
        const step = t.routing.stepExpired ? null : t.routing.stepDeadlineAt;
        due = step !== null && step < ttl ? step : ttl;
        what = step !== null && step < ttl ? 'step deadline' : 'TTL';
        if (t.routing.stepExpired && (this.pendingByTask.get(t.sid)?.length ?? 0) === 0) {
          this.fail('step-expired-while-reserved', [t.sid], `task ${t.sid} is ${s} with an expired step but no pending reservation to wait for`);
        }
      } else if (s === 'assigned' || s === 'wrapping') {
        due = t.statusChangedAt + LIMITS.assignedRetentionMs;
        what = 'assigned limit';
      } else {
        due = t.statusChangedAt + LIMITS.terminalRetentionMs;
        what = 'purge';
      }
      if (due <= now) this.fail('timer-overdue', [t.sid], `${s} task ${t.sid}'s ${what} was due at ${due}, now is ${now}`);
    }
  }

  /** The step restriction of a waiting task; undefined when it cannot be recomputed. */
  private stepRule(t: TaskRecord): StepRule | undefined {
    const f = t.routing.filterIndex;
    if (f === null || f < 0) return { expression: null, knownWorker: undefined };
    const wf = t.workflowSid === null ? undefined : this.e.workflows.get(t.workflowSid);
    if (wf === undefined) return undefined;
    const target = parseConfiguration(wf.configuration).task_routing?.filters?.[f]?.targets?.[t.routing.stepIndex];
    if (target === undefined) return undefined;
    const expression = typeof target.expression === 'string' ? compileCached(target.expression, 'target') : null;
    if (expression?.dependsOn.time) return undefined;
    const ref = target.known_worker_sid ?? target.known_worker_friendly_name;
    if (typeof ref !== 'string') return { expression, knownWorker: undefined };
    const value = compileKeyReference(ref)(JSON.parse(t.attributesJson) as Record<string, unknown>);
    const byName = target.known_worker_sid === undefined;
    return { expression, knownWorker: typeof value === 'string' && value !== '' ? { value, byName } : null };
  }

  private allows(rule: StepRule, t: TaskRecord, attributes: Record<string, unknown>, view: WorkerView): boolean {
    if (rule.knownWorker === null) return false;
    if (rule.knownWorker !== undefined) {
      const k = rule.knownWorker;
      if (k.byName ? view.friendlyName.toLowerCase() !== k.value.toLowerCase() : view.sid !== k.value) return false;
    }
    return rule.expression === null || rule.expression.evaluate({ nowMs: this.e.now, task: attributes, worker: view });
  }

  /** No ready worker is idle while a waiting task it may take is on its channel (spec §7.2). */
  private checkWorkConservation(): void {
    const e = this.e;
    const readyWorkers: WorkerRecord[][] = e.channelList.map(() => []);
    for (const w of e.workers.values()) {
      w.channels.forEach((_ch, index) => {
        if (this.ready.get(`${w.sid}|${index}`) === true) (readyWorkers[index] as WorkerRecord[]).push(w);
      });
    }
    for (const t of e.tasks.values()) {
      if (!this.slotsOpen(t)) continue;
      const channel = this.channelIndexOf(t.taskChannelSid);
      const pendingWorkers = new Set((this.pendingByTask.get(t.sid) ?? []).map((r) => r.workerSid));
      if (t.taskQueueSid === null) {
        const w = e.workers.get(t.routingTarget as string);
        if (w === undefined || pendingWorkers.has(w.sid)) continue;
        if (t.ignoreCapacity || this.ready.get(`${w.sid}|${channel}`) === true) {
          this.fail('work-conservation', [t.sid, w.sid], `${t.assignmentStatus} task ${t.sid} routed to worker ${w.sid} waits although the worker can take it${t.ignoreCapacity ? ' (IgnoreCapacity)' : ''}`);
        }
        continue;
      }
      const candidates = readyWorkers[channel] ?? [];
      if (candidates.length === 0) continue;
      const rule = this.stepRule(t);
      if (rule === undefined) continue;
      const attributes = JSON.parse(t.attributesJson) as Record<string, unknown>;
      for (const w of candidates) {
        if (pendingWorkers.has(w.sid) || this.membership.get(w.sid)?.has(t.taskQueueSid) !== true) continue;
        if (!this.allows(rule, t, attributes, this.views.get(w.sid) as WorkerView)) continue;
        this.fail('work-conservation', [t.sid, w.sid], `${t.assignmentStatus} task ${t.sid} waits in queue ${t.taskQueueSid} (step ${t.routing.filterIndex}/${t.routing.stepIndex}) while eligible worker ${w.sid} is ready on its channel`);
      }
    }
  }
}
