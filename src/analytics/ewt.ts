/**
 * Estimated wait time (EWT) of a task at the moment it is created, by the predictors of
 * shared/specs/callbacks-and-ewt.md §7 (docs/ewt.md explains each one, its sources and the
 * measured accuracy).
 *
 * The estimator is causal by construction: it sees the engine's events as they happen
 * ({@link WaitTimeEstimator.observe}) and the engine's state at the instant of the prediction
 * ({@link WaitTimeEstimator.predict}); it never reads a call log. The same object serves the live
 * server (fed from the event stream) and shadow replay (fed from the replayed engine).
 *
 * What it keeps from the events, all bounded:
 * - the last `serviceMemory` service times per task channel, with the worker who served
 *   (μ̂ = 1 / their mean, restricted to the pool of the task's queue);
 * - per task channel, abandonments and the total time waited by every caller who left the
 *   queue (θ̂ = abandonments ÷ time waited, the exponential-patience MLE, §7.3);
 * - the wait of the last task to enter service per queue and per (queue, priority) (LES, §7.2);
 * - for every task it predicted and is still waiting, the state cell it was in; when the task
 *   is accepted its real wait goes into that cell's memory (the online calibration of the
 *   default predictor, see {@link WaitTimeEstimator.predict}).
 *
 * Predictions are seconds, finite and ≥ 0.
 */
import type { EngineView, TaskQueueView } from '../engine/view.ts';
import type { EngineEvent } from '../engine/events.ts';
import type { TaskRecord } from '../engine/model.ts';

export type PredictorName = 'twilio_avg_acceptance' | 'oldest_call_waiting' | 'les' | 'hol' | 'ql' | 'qlm' | 'qlm_calibrated';

/** Every predictor, in a stable order (CSV columns, report rows). */
export const PREDICTORS: readonly PredictorName[] = ['twilio_avg_acceptance', 'oldest_call_waiting', 'les', 'hol', 'ql', 'qlm', 'qlm_calibrated'];

/** The predictor the product quotes and offers callbacks from. */
export const DEFAULT_PREDICTOR: PredictorName = 'qlm_calibrated';

export const PREDICTOR_LABELS: Record<PredictorName, string> = {
  twilio_avg_acceptance: 'Twilio average acceptance (15 min)',
  oldest_call_waiting: 'Oldest call waiting (Amazon Connect)',
  les: 'Last to enter service, same class (LES)',
  hol: 'Head of line, same class (HOL)',
  ql: 'Queue length, priority-aware (QL)',
  qlm: 'Queue length with abandonment, priority-aware (QLm)',
  qlm_calibrated: 'QLm calibrated online (state-conditional median)',
};

export interface WaitTimeEstimatorOptions {
  /**
   * Window of Twilio's `avg_task_acceptance_time`, minutes. Default 15: the TaskQueue
   * CumulativeStatistics `Minutes` default and the Flex EWT template's window (spec §7.1).
   */
  acceptanceWindowMinutes?: number;
  /** Services remembered per task channel for μ̂. Default 100 ("AHT of the last 100 tasks", spec §3.3). */
  serviceMemory?: number;
  /**
   * Real waits remembered per calibration cell (a sliding window, newest kept). Default 200:
   * large enough for a stable median (its standard error is about 1.25σ/√n, under 10 % of σ),
   * small enough to follow a change of regime within a day of a busy cell.
   */
  calibrationMemory?: number;
  /**
   * Real waits a calibration cell needs before its median replaces the model. Default 10 (the
   * median of 10 samples has a standard error of about 0.4σ, already better than a model that
   * is biased for this state); below it the next coarser cell or the QLm value is used.
   */
  calibrationMinSamples?: number;
}

/** What a prediction read from the state; exposed for tests and for the report's diagnostics. */
export interface QueueState {
  /** Tasks that will be served before this one, weighted by how much of their queue's pool is ours. */
  ahead: number;
  /** Free worker slots of the pool on the task's channel (ready to take a task). */
  free: number;
  /** Busy worker slots of the pool on the task's channel. */
  busy: number;
  /** Service rate per slot, 1/s (0 when no service was seen yet). */
  mu: number;
  /** Abandonment rate per waiting caller, 1/s (0 when none was seen yet). */
  theta: number;
  /** The calibration cell (see predict): `served`, `free<k>`, `wait<k>` or `nomodel`. */
  cell: string;
}

type PoolState = Omit<QueueState, 'cell'>;

interface ServiceRing {
  seconds: number[];
  workers: string[];
  next: number;
}

interface InService {
  at: number;
  workerSid: string;
  channelSid: string;
}

interface Patience {
  abandonments: number;
  waitedS: number;
}

/**
 * A sliding window of the last `capacity` values with its median in O(capacity) per insertion
 * (kept sorted beside the arrival order; capacity is a few hundred).
 */
export class SlidingMedian {
  private readonly capacity: number;
  private readonly arrivals: number[] = [];
  private head = 0;
  private readonly sorted: number[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.sorted.length;
  }

  add(value: number): void {
    if (this.sorted.length === this.capacity) {
      const old = this.arrivals[this.head] as number;
      this.arrivals[this.head] = value;
      this.head = (this.head + 1) % this.capacity;
      this.sorted.splice(lowerBound(this.sorted, old), 1);
    } else {
      this.arrivals.push(value);
    }
    this.sorted.splice(lowerBound(this.sorted, value), 0, value);
  }

  /** The median (mean of the two middle values for an even count); NaN when empty. */
  median(): number {
    const n = this.sorted.length;
    if (n === 0) return NaN;
    const mid = n >> 1;
    return n % 2 === 1 ? (this.sorted[mid] as number) : ((this.sorted[mid - 1] as number) + (this.sorted[mid] as number)) / 2;
  }
}

function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const MINUTE_MS = 60_000;

/**
 * Twilio's `avg_task_acceptance_time` of one task queue over the last `windowMs`, kept from
 * `reservation.accepted` events in one-minute buckets exactly as the engine's cumulative
 * statistics are (statistics.ts: the window's start rounded down and its end up to whole minutes,
 * waits as whole-second `task_age`, the average rounded), so it equals what our TaskQueue
 * CumulativeStatistics endpoint returns, at O(window minutes) instead of a scan of the retained
 * buckets (spec §7.1).
 */
export class AcceptanceWindow {
  private readonly windowMs: number;
  /** [minute, total seconds, count], oldest first. */
  private readonly buckets: [number, number, number][] = [];

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  add(at: number, waitS: number): void {
    const minute = Math.floor(at / MINUTE_MS);
    const last = this.buckets[this.buckets.length - 1];
    if (last !== undefined && last[0] === minute) {
      last[1] += waitS;
      last[2] += 1;
    } else {
      this.buckets.push([minute, waitS, 1]);
    }
    this.prune(at);
  }

  /** Average acceptance wait (whole seconds) and tasks accepted in the window ending at `now`. */
  read(now: number): { avg: number; accepted: number } {
    this.prune(now);
    const end = Math.ceil(now / MINUTE_MS);
    let total = 0;
    let count = 0;
    for (const [minute, t, c] of this.buckets) {
      if (minute >= end) break;
      total += t;
      count += c;
    }
    return { avg: count === 0 ? 0 : Math.round(total / count), accepted: count };
  }

  private prune(now: number): void {
    const first = Math.floor((now - this.windowMs) / MINUTE_MS);
    while (this.buckets.length > 0 && (this.buckets[0] as [number, number, number])[0] < first) this.buckets.shift();
  }
}

/**
 * QLm (spec §7.3): the expected wait of a caller with `ahead` callers before them when `servers`
 * busy servers complete at rate `mu` each and every caller still waiting abandons at rate
 * `theta`: Σ_{k=0}^{n} 1/(sμ + kθ). A fractional `ahead` (weighted callers from queues that
 * share part of the pool) adds the fraction of the next term. `theta` = 0 gives QL, (n+1)/(sμ).
 */
export function qlmExpectedWait(ahead: number, servers: number, mu: number, theta: number): number {
  const rate = servers * mu;
  if (!(rate > 0)) return NaN;
  const whole = Math.floor(ahead);
  let sum = 0;
  for (let k = 0; k <= whole; k++) sum += 1 / (rate + k * theta);
  const part = ahead - whole;
  if (part > 0) sum += part / (rate + (whole + 1) * theta);
  return sum;
}

/** Octave of a positive number of seconds or slots: round(log2 x), 0 at or below 1 (wait6 = 45–90 s). */
function octave(x: number): number {
  return x <= 1 ? 0 : Math.round(Math.log2(x));
}

export class WaitTimeEstimator {
  private readonly acceptanceWindowMs: number;
  private readonly serviceMemory: number;
  private readonly calibrationMemory: number;
  private readonly calibrationMinSamples: number;

  /** Task channel SID → the last services on it. */
  private readonly services = new Map<string, ServiceRing>();
  /** Task SID → when it was accepted, by whom: tasks in service. */
  private readonly inService = new Map<string, InService>();
  /** Task channel SID → abandonments and time waited. */
  private readonly patience = new Map<string, Patience>();
  /** Queue SID → wait of the last task to enter service, s. */
  private readonly lastEntered = new Map<string, number>();
  /** `queue|priority` → wait of the last task of that class to enter service, s. */
  private readonly lastEnteredByClass = new Map<string, number>();
  /** Calibration cell → its recent real waits. */
  private readonly cells = new Map<string, SlidingMedian>();
  /** Task SID → the cells it was predicted in, until it is accepted or leaves. */
  private readonly pendingCells = new Map<string, string[]>();
  /** Queue SID → its acceptance-time window (Twilio's statistic). */
  private readonly acceptance = new Map<string, AcceptanceWindow>();
  /** Queue SID pair `a|b` → share of a's members who are members of b (cached, see poolWeight). */
  private readonly weights = new Map<string, number>();
  private last: QueueState | null = null;

  constructor(options: WaitTimeEstimatorOptions = {}) {
    this.acceptanceWindowMs = (options.acceptanceWindowMinutes ?? 15) * 60_000;
    this.serviceMemory = options.serviceMemory ?? 100;
    this.calibrationMemory = options.calibrationMemory ?? 200;
    this.calibrationMinSamples = options.calibrationMinSamples ?? 10;
  }

  /** Takes one engine event into account. Feed every event, in order. */
  observe(e: EngineEvent): void {
    const d = e.data;
    switch (e.eventType) {
      case 'reservation.accepted': {
        const taskSid = d['task_sid'] as string;
        const wait = d['task_age'] as number;
        const queueSid = d['task_queue_sid'] as string | undefined;
        this.inService.set(taskSid, { at: e.at, workerSid: d['worker_sid'] as string, channelSid: d['task_channel_sid'] as string });
        this.patienceOf(d['task_channel_sid'] as string).waitedS += wait;
        if (queueSid !== undefined) {
          let window = this.acceptance.get(queueSid);
          if (window === undefined) this.acceptance.set(queueSid, (window = new AcceptanceWindow(this.acceptanceWindowMs)));
          window.add(e.at, wait);
          this.lastEntered.set(queueSid, wait);
          this.lastEnteredByClass.set(`${queueSid}|${d['task_priority'] as number}`, wait);
        }
        const cells = this.pendingCells.get(taskSid);
        if (cells !== undefined) {
          this.pendingCells.delete(taskSid);
          for (const cell of cells) this.cellOf(cell).add(wait);
        }
        return;
      }
      case 'task.completed': {
        const s = this.inService.get(e.resourceSid);
        if (s === undefined) return;
        this.inService.delete(e.resourceSid);
        this.remember(s.channelSid, s.workerSid, (e.at - s.at) / 1000);
        return;
      }
      case 'task.canceled': {
        this.pendingCells.delete(e.resourceSid);
        if (this.inService.delete(e.resourceSid)) return;
        // A caller who left the queue: time waited counts; an abandonment only after a wait
        // (a cancel at age 0 is a hang-up before queueing, which says nothing about patience).
        const wait = d['task_age'] as number;
        const p = this.patienceOf(d['task_channel_sid'] as string);
        p.waitedS += wait;
        if (wait > 0) p.abandonments += 1;
        return;
      }
      case 'task.deleted':
      case 'task.system-deleted':
        this.pendingCells.delete(e.resourceSid);
        this.inService.delete(e.resourceSid);
        return;
      default:
        // Queue membership can change with any worker or queue change (attributes, activity
        // for activity-reading TargetWorkers, a new expression): forget the pool overlaps.
        if (e.resourceType === 'worker' || e.resourceType === 'taskqueue') this.weights.clear();
        return;
    }
  }

  /**
   * Every predictor's estimate for a task, in seconds; call it right after the task was created
   * (it registers the task's state cell, so the calibration learns from the task's real wait).
   */
  predict(engine: EngineView, taskSid: string): Record<PredictorName, number> {
    const task = engine.tasks.get(taskSid);
    if (task === undefined) throw new RangeError(`unknown task ${taskSid}`);
    const q = task.taskQueueSid === null ? undefined : engine.queues.get(task.taskQueueSid);
    if (q === undefined) return zeros();
    const now = engine.now;

    const twilio = this.twilio(engine, q);
    const { oldest, headOfClass } = heads(q, task, now);
    const les = this.lastEnteredByClass.get(`${q.record.sid}|${task.priority}`) ?? this.lastEntered.get(q.record.sid) ?? 0;
    // When the model cannot run (nobody staffed, or no service seen yet): spec §7.6's chain.
    const fallback = twilio.accepted > 0 ? twilio.avg : headOfClass;

    const state = this.queueState(engine, q, task);
    const waiting = task.assignmentStatus === 'pending';
    let ql = 0;
    let qlm = 0;
    let cell = 'served';
    if (waiting && state.free > state.ahead) {
      // A free eligible slot is left for this task once those ahead take theirs: the model says
      // it is answered at once. The cell keeps how many such slots, on a log2 scale (1 | 2 |
      // 3–5 | 6–11 | …), since an "Available" worker is not always really taking calls
      // (docs/ewt.md, "Replay and the free-agent signal").
      cell = `free${octave(Math.ceil(state.free - state.ahead))}`;
    } else if (waiting) {
      // Everyone ahead must be served (or abandon) first, by the slots that are serving now.
      qlm = qlmExpectedWait(state.ahead, state.busy, state.mu, state.theta);
      ql = qlmExpectedWait(state.ahead, state.busy, state.mu, 0);
      cell = Number.isFinite(qlm) ? `wait${octave(qlm)}` : 'nomodel';
      if (!Number.isFinite(qlm)) {
        ql = fallback;
        qlm = fallback;
      }
    }
    this.last = { ...state, cell };

    // The calibrated estimate: the median real wait of recent tasks of the same queue and
    // priority that were created in the same state cell; the cell over all queues when that is
    // thin; QLm itself until either has enough samples.
    let calibrated = qlm;
    if (waiting) {
      const cells = [`${q.record.sid}|${task.priority}|${cell}`, `*|*|${cell}`];
      this.pendingCells.set(task.sid, cells);
      for (const c of cells) {
        const m = this.cells.get(c);
        if (m !== undefined && m.size >= this.calibrationMinSamples) {
          calibrated = m.median();
          break;
        }
      }
    }
    return {
      twilio_avg_acceptance: twilio.avg,
      oldest_call_waiting: oldest,
      les,
      hol: headOfClass,
      ql: clean(ql),
      qlm: clean(qlm),
      qlm_calibrated: clean(calibrated),
    };
  }

  /** The state the last {@link predict} read (diagnostics and tests); null before the first. */
  get lastState(): QueueState | null {
    return this.last;
  }

  // ───────────────────────────── pieces ─────────────────────────────

  private twilio(engine: EngineView, q: TaskQueueView): { avg: number; accepted: number } {
    return this.acceptance.get(q.record.sid)?.read(engine.now) ?? { avg: 0, accepted: 0 };
  }

  /**
   * The pool and the line in front of the task. The pool is the queue's members on the task's
   * channel. A waiting task is ahead when the queue's order serves it first (FIFO: priority
   * higher, or equal with an older virtual start; spec §7.1 and taskrouter-semantics); one of
   * another queue counts with the share of that queue's members who are also ours — the chance
   * that it takes one of our workers (Google CCAI counts a k-queue agent 1/k, spec §7.1; this is
   * the same idea seen from the queue).
   */
  private queueState(engine: EngineView, q: TaskQueueView, task: TaskRecord): PoolState {
    const channel = engine.channels.get(task.taskChannelSid);
    const index = channel?.index ?? 0;
    let busy = 0;
    let free = 0;
    for (const w of q.members) {
      const ch = w.channels[index];
      if (ch === undefined) continue;
      busy += Math.min(ch.activeTasks, ch.configuredCapacity);
      if (ch.ready) free += ch.configuredCapacity - ch.activeTasks;
    }
    let ahead = 0;
    const before = q.before;
    for (const other of engine.queues.values()) {
      if (other.tasks.size === 0) continue;
      const weight = other === q ? 1 : this.poolWeight(other, q);
      if (weight === 0) continue;
      for (const t of other.tasks) {
        if (t === task || t.assignmentStatus !== 'pending' || t.taskChannelSid !== task.taskChannelSid) continue;
        if (before(t, task)) ahead += weight;
      }
    }
    return { ahead, free, busy, mu: this.mu(engine, task.taskChannelSid, q), theta: this.theta(task.taskChannelSid) };
  }

  /** Share of `other`'s members who are members of `q` (cached until membership may change). */
  private poolWeight(other: TaskQueueView, q: TaskQueueView): number {
    const key = `${other.record.sid}|${q.record.sid}`;
    let w = this.weights.get(key);
    if (w === undefined) {
      let shared = 0;
      for (const m of other.members) if (q.members.has(m)) shared += 1;
      w = other.members.size === 0 ? 0 : shared / other.members.size;
      this.weights.set(key, w);
    }
    return w;
  }

  /** 1 / mean of the remembered services on the channel by the pool's members (all, if none). */
  private mu(engine: EngineView, channelSid: string, q: TaskQueueView): number {
    const ring = this.services.get(channelSid);
    if (ring === undefined || ring.seconds.length === 0) return 0;
    let total = 0;
    let n = 0;
    let all = 0;
    for (let i = 0; i < ring.seconds.length; i++) {
      const s = ring.seconds[i] as number;
      all += s;
      const w = engine.workers.get(ring.workers[i] as string);
      if (w !== undefined && q.members.has(w)) {
        total += s;
        n += 1;
      }
    }
    const mean = n > 0 ? total / n : all / ring.seconds.length;
    return mean > 0 ? 1 / mean : 0;
  }

  private theta(channelSid: string): number {
    const p = this.patience.get(channelSid);
    return p === undefined || p.waitedS <= 0 ? 0 : p.abandonments / p.waitedS;
  }

  private remember(channelSid: string, workerSid: string, seconds: number): void {
    let ring = this.services.get(channelSid);
    if (ring === undefined) this.services.set(channelSid, (ring = { seconds: [], workers: [], next: 0 }));
    if (ring.seconds.length < this.serviceMemory) {
      ring.seconds.push(seconds);
      ring.workers.push(workerSid);
    } else {
      ring.seconds[ring.next] = seconds;
      ring.workers[ring.next] = workerSid;
    }
    ring.next = (ring.next + 1) % this.serviceMemory;
  }

  private patienceOf(channelSid: string): Patience {
    let p = this.patience.get(channelSid);
    if (p === undefined) this.patience.set(channelSid, (p = { abandonments: 0, waitedS: 0 }));
    return p;
  }

  private cellOf(key: string): SlidingMedian {
    let m = this.cells.get(key);
    if (m === undefined) this.cells.set(key, (m = new SlidingMedian(this.calibrationMemory)));
    return m;
  }
}

/** Oldest waiting task's time in the queue (Connect's OCW) and the oldest of the task's class (HOL). */
function heads(q: TaskQueueView, task: TaskRecord, now: number): { oldest: number; headOfClass: number } {
  let oldest = 0;
  let headOfClass = 0;
  for (const t of q.tasks) {
    if (t === task || (t.assignmentStatus !== 'pending' && t.assignmentStatus !== 'reserved')) continue;
    const age = Math.max(0, (now - (t.taskQueueEnteredAt ?? t.dateCreated)) / 1000);
    if (age > oldest) oldest = age;
    if (t.priority === task.priority && age > headOfClass) headOfClass = age;
  }
  return { oldest, headOfClass };
}

function clean(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}

function zeros(): Record<PredictorName, number> {
  return Object.fromEntries(PREDICTORS.map((p) => [p, 0])) as Record<PredictorName, number>;
}
