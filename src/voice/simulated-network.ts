/**
 * A simulated telephone network in VIRTUAL time. Each dialed call gets an outcome and a time it
 * happens; outcomes sit in a due-time queue until the driver advances the network
 * ({@link SimulatedNetwork.deliverUntil}). Deterministic: scripted outcomes per number are used
 * first, then seeded random ones (src/util/random.ts). No clock, no I/O.
 *
 * Timing model (seconds): busy after `busySeconds`; no answer at the ring timeout; otherwise a
 * ring time uniform in [ringMin, ringMax] (capped below the ring timeout), then for a human the
 * readiness prompt (`promptSeconds`) before `ready` / `not_ready` / `declined` is known; a
 * machine answers after the ring time (`voicemail`); `invalid_number` and `failed` after 1 s.
 */
import type { DialOutcome } from '../callbacks/center.ts';
import { Random, type RandomState } from '../util/random.ts';
import { checkResumedDials, type DialRequest, type DialResult, type ResumedDial, type TelephonyPort } from '../callbacks/telephony-port.ts';

/** Outcome probabilities and timings of the simulated network (seconds); see the module comment. */
export interface SimulatedNetworkOptions {
  seed?: number;
  /** Probability a call is answered by a human. Default 0.7. */
  answerRate?: number;
  /** Probability a call reaches voicemail / a machine. Default 0.1. */
  voicemailRate?: number;
  /** Probability the line is busy. Default 0.05. (The rest rings out: no_answer.) */
  busyRate?: number;
  /** Given a human answered: probability they confirm readiness. Default 0.95 (the rest are not ready). */
  readyRate?: number;
  ringMinSeconds?: number;
  ringMaxSeconds?: number;
  promptSeconds?: number;
  busySeconds?: number;
}

interface Pending {
  due: number;
  seq: number;
  key: string;
  outcome: DialOutcome;
}

/** Everything a dial did, for tests and reports. */
export interface DialRecord {
  key: string;
  to: string;
  /** Epoch ms the dial was placed. */
  at: number;
  outcome: DialOutcome;
  /** Epoch ms the outcome is (was) delivered. */
  due: number;
}

/** The network's state as plain JSON ({@link SimulatedNetwork.snapshot}); times epoch ms. */
export interface NetworkSnapshot {
  random: RandomState;
  seq: number;
  pending: Pending[];
  dials: DialRecord[];
  scripts: Array<[string, DialOutcome[]]>;
  hangups: string[];
  duplicates: number;
}

/**
 * The simulated telephone port (see the module comment): outcomes are queued by due time and
 * delivered by {@link deliverUntil}; at most one call per key (repeats counted in {@link duplicates}).
 */
export class SimulatedNetwork implements TelephonyPort {
  private random: Random;
  private readonly o: Required<Omit<SimulatedNetworkOptions, 'seed'>>;
  private pending: Pending[] = [];
  private seq = 0;
  private readonly listeners: Array<(r: DialResult) => void> = [];
  private readonly scripts = new Map<string, DialOutcome[]>();
  /** Every dial placed, in order. */
  readonly dials: DialRecord[] = [];
  private readonly keys = new Set<string>();
  /** Keys hung up by the service. */
  readonly hangups: string[] = [];
  /** `dial` calls ignored because their key was dialed before. */
  duplicates = 0;

  constructor(options: SimulatedNetworkOptions = {}) {
    this.random = new Random(options.seed ?? 1);
    this.o = {
      answerRate: options.answerRate ?? 0.7,
      voicemailRate: options.voicemailRate ?? 0.1,
      busyRate: options.busyRate ?? 0.05,
      readyRate: options.readyRate ?? 0.95,
      ringMinSeconds: options.ringMinSeconds ?? 5,
      ringMaxSeconds: options.ringMaxSeconds ?? 20,
      promptSeconds: options.promptSeconds ?? 10,
      busySeconds: options.busySeconds ?? 3,
    };
    const rates = this.o.answerRate + this.o.voicemailRate + this.o.busyRate;
    if (!(rates <= 1 + 1e-9) || this.o.answerRate < 0 || this.o.voicemailRate < 0 || this.o.busyRate < 0) {
      throw new RangeError('answerRate + voicemailRate + busyRate must be rates summing to at most 1');
    }
    if (this.o.ringMinSeconds > this.o.ringMaxSeconds) throw new RangeError('ringMinSeconds must not exceed ringMaxSeconds');
  }

  /** Outcomes for the next calls to `number` (E.164), used in order before any random outcome. */
  script(number: string, outcomes: DialOutcome[]): void {
    this.scripts.set(number, [...(this.scripts.get(number) ?? []), ...outcomes]);
  }

  /** Adds a listener called with every outcome as {@link deliverUntil} releases it. */
  onOutcome(listener: (result: DialResult) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Places a call at `now` (epoch ms): draws its outcome (script first, then random) and queues
   * it for `now + its delay` (see the timing model above). A key dialed before is ignored and
   * counted in {@link duplicates}.
   */
  dial(request: DialRequest, now: number): void {
    if (this.keys.has(request.key)) {
      this.duplicates += 1;
      return;
    }
    this.keys.add(request.key);
    const script = this.scripts.get(request.to);
    const outcome = script !== undefined && script.length > 0 ? (script.shift() as DialOutcome) : this.draw();
    const ring = Math.min(request.ringTimeoutSeconds - 1, this.o.ringMinSeconds + this.random.next() * (this.o.ringMaxSeconds - this.o.ringMinSeconds));
    let after: number;
    switch (outcome) {
      case 'busy':
        after = this.o.busySeconds;
        break;
      case 'no_answer':
        after = request.ringTimeoutSeconds;
        break;
      case 'voicemail':
        after = ring;
        break;
      case 'failed':
      case 'invalid_number':
        after = 1;
        break;
      default:
        after = ring + this.o.promptSeconds;
    }
    const due = now + Math.round(Math.max(0, after) * 1000);
    this.pending.push({ due, seq: this.seq++, key: request.key, outcome });
    this.pending.sort((a, b) => a.due - b.due || a.seq - b.seq);
    this.dials.push({ key: request.key, to: request.to, at: now, outcome, due });
  }

  /**
   * A restarted service's dials in flight (TelephonyPort.resume). A simulated call lives only in
   * this process, so a call placed before the restart has no outcome left to report: the keys are
   * only marked as dialed (a repeated `dial` is refused and counted in {@link duplicates}) and the
   * center times those dials out (ring timeout + `dialGraceSeconds`). To keep calls across a
   * restart in virtual time, use {@link snapshot} / {@link restore} instead. Throws RangeError
   * naming the bad field, before taking any entry.
   */
  resume(dials: readonly ResumedDial[]): void {
    checkResumedDials(dials);
    for (const d of dials) this.keys.add(d.key);
  }

  /** Records that the service hung up the call of `key` (the queued outcome, if any, still arrives; the center ignores it). */
  hangup(key: string): void {
    this.hangups.push(key);
  }

  private draw(): DialOutcome {
    const x = this.random.next();
    const o = this.o;
    if (x < o.answerRate) return this.random.chance(o.readyRate) ? 'ready' : 'not_ready';
    if (x < o.answerRate + o.voicemailRate) return 'voicemail';
    if (x < o.answerRate + o.voicemailRate + o.busyRate) return 'busy';
    return 'no_answer';
  }

  /** When the next outcome is due (epoch ms), or null. */
  nextDue(): number | null {
    return this.pending.length === 0 ? null : (this.pending[0] as Pending).due;
  }

  /** Delivers (to the listeners, and returns) every outcome due up to `now`, in due order. */
  deliverUntil(now: number): DialResult[] {
    const out: DialResult[] = [];
    while (this.pending.length > 0 && (this.pending[0] as Pending).due <= now) {
      const p = this.pending.shift() as Pending;
      const r: DialResult = { key: p.key, outcome: p.outcome, at: p.due, callSid: null };
      out.push(r);
      for (const l of this.listeners) l(r);
    }
    return out;
  }

  /** How many times a key was dialed (0 or 1: duplicates are refused). */
  dialCount(key: string): number {
    return this.dials.filter((d) => d.key === key).length;
  }

  /** The network's whole state as plain JSON data (generator state, queued outcomes, dial log, scripts). */
  snapshot(): NetworkSnapshot {
    return structuredClone({
      random: this.random.save(),
      seq: this.seq,
      pending: this.pending,
      dials: this.dials,
      scripts: [...this.scripts.entries()],
      hangups: this.hangups,
      duplicates: this.duplicates,
    });
  }

  /** A network continuing from `s` (same options as the original; listeners are not kept). */
  static restore(s: NetworkSnapshot, options: SimulatedNetworkOptions = {}): SimulatedNetwork {
    const n = new SimulatedNetwork(options);
    const c = structuredClone(s);
    n.random = Random.restore(c.random);
    n.seq = c.seq;
    n.pending = c.pending;
    for (const d of c.dials) {
      n.dials.push(d);
      n.keys.add(d.key);
    }
    for (const [k, v] of c.scripts) n.scripts.set(k, v);
    n.hangups.push(...c.hangups);
    n.duplicates = c.duplicates;
    return n;
  }
}
