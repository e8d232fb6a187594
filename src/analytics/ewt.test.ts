/**
 * Wait-time predictors (ewt.ts) on small hand-built engine states, and the scoring math
 * (ewt-score.ts). Every expected number is worked out in the comment above its assertion.
 *
 * The engine runs with automatic routing off (as in shadow replay), so a state is built by hand:
 * tasks wait until `offer` gives them to a named worker, who accepts at once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WorkspaceEngine, type Command } from '../engine/index.ts';
import { taskQueueCumulative } from '../engine/statistics-query.ts';
import { SequentialSids } from '../util/sid.ts';
import {
  AcceptanceWindow,
  DEFAULT_PREDICTOR,
  PREDICTOR_LABELS,
  PREDICTORS,
  qlmExpectedWait,
  SlidingMedian,
  WaitTimeEstimator,
  type PredictorName,
  type WaitTimeEstimatorOptions,
} from './ewt.ts';
import { CALLBACK_THRESHOLD_S, scorePredictions, type ScoredPrediction } from './ewt-score.ts';

/** Monday 2024-01-01 12:00:00 UTC, on a whole minute. */
const T0 = 1_704_110_400_000;
type Cmd = Command extends infer C ? (C extends unknown ? Omit<C, 'at'> : never) : never;

/** A workspace with automatic routing off and an estimator fed every event. */
class Center {
  readonly engine: WorkspaceEngine;
  readonly estimator: WaitTimeEstimator;
  private readonly activities = new Map<string, string>();

  constructor(options: WaitTimeEstimatorOptions = {}, automaticRouting = false) {
    const created = WorkspaceEngine.create({ friendlyName: 'EWT test', at: T0, newSid: new SequentialSids(1).next, automaticRouting });
    this.engine = created.engine;
    this.estimator = new WaitTimeEstimator(options);
    for (const e of created.events) this.estimator.observe(e);
    for (const a of this.engine.activities.values()) this.activities.set(a.friendlyName, a.sid);
  }

  /** Runs a command at `seconds` after T0; it must succeed. */
  run(seconds: number, command: Cmd): string {
    const out = this.engine.execute({ ...command, at: T0 + seconds * 1000 } as Command);
    assert.equal(out.rejection, null, out.rejection?.message);
    for (const e of out.events) this.estimator.observe(e);
    return out.sid as string;
  }

  queue(name: string, targetWorkers = '1==1'): string {
    return this.run(0, { type: 'createTaskQueue', friendlyName: name, targetWorkers });
  }

  /** One workflow: tasks whose `q` attribute names a queue go there. */
  workflow(queues: Record<string, string>): void {
    const filters = Object.entries(queues).map(([name, sid]) => ({ filter_friendly_name: name, expression: `q == "${name}"`, targets: [{ queue: sid }] }));
    this.run(0, { type: 'createWorkflow', friendlyName: 'W', configuration: JSON.stringify({ task_routing: { filters } }) });
  }

  worker(name: string, skills: string[] = [], activity = 'Available'): string {
    return this.run(0, { type: 'createWorker', friendlyName: name, attributes: JSON.stringify({ skills }), activitySid: this.activities.get(activity) as string });
  }

  setActivity(seconds: number, worker: string, activity: string): void {
    this.run(seconds, { type: 'updateWorker', workerSid: worker, activitySid: this.activities.get(activity) as string });
  }

  task(seconds: number, q: string, priority = 0, virtualStartSeconds?: number): string {
    return this.run(seconds, {
      type: 'createTask',
      attributes: JSON.stringify({ q }),
      priority,
      ...(virtualStartSeconds === undefined ? {} : { virtualStartTime: T0 + virtualStartSeconds * 1000 }),
    });
  }

  /** The worker takes the task at `seconds` (reserved and accepted at once). */
  offer(seconds: number, task: string, worker: string): void {
    const reservationSid = this.run(seconds, { type: 'offerTask', taskSid: task, workerSid: worker });
    this.run(seconds, { type: 'updateReservation', reservationSid, reservationStatus: 'accepted' });
  }

  complete(seconds: number, task: string): void {
    this.run(seconds, { type: 'updateTask', taskSid: task, assignmentStatus: 'completed' });
  }

  cancel(seconds: number, task: string): void {
    this.run(seconds, { type: 'updateTask', taskSid: task, assignmentStatus: 'canceled', reason: 'hangup' });
  }

  predict(task: string): Record<PredictorName, number> {
    return this.estimator.predict(this.engine, task);
  }
}

const close = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

describe('the public surface', () => {
  test('every predictor has a label, the default is one of them, names are unique', () => {
    assert.equal(new Set(PREDICTORS).size, PREDICTORS.length);
    assert.ok(PREDICTORS.includes(DEFAULT_PREDICTOR));
    for (const p of PREDICTORS) assert.ok(PREDICTOR_LABELS[p].length > 0, p);
    assert.deepEqual(Object.keys(PREDICTOR_LABELS).sort(), [...PREDICTORS].sort());
    assert.ok(['twilio_avg_acceptance', 'oldest_call_waiting', 'les', 'hol', 'qlm'].every((p) => PREDICTORS.includes(p as PredictorName)));
  });

  test('an empty workspace predicts 0 everywhere, finite', () => {
    const c = new Center();
    const q = c.queue('A');
    c.workflow({ A: q });
    const t = c.task(10, 'A');
    const p = c.predict(t);
    for (const name of PREDICTORS) assert.equal(p[name], 0, name);
    assert.equal(c.estimator.lastState?.cell, 'nomodel');
  });
});

describe('Twilio average acceptance', () => {
  test('mean task age at acceptance over the last 15 minutes, equal to the engine statistic', () => {
    const c = new Center();
    const q = c.queue('A');
    c.workflow({ A: q });
    const w = c.worker('ann');
    // Accepted after 10 s (at 10) and after 31 s (at 100): mean 20.5, rounded 21 (Twilio rounds).
    const t1 = c.task(0, 'A');
    c.offer(10, t1, w);
    c.complete(20, t1);
    const t2 = c.task(69, 'A');
    c.offer(100, t2, w);
    c.complete(110, t2);
    const t3 = c.task(120, 'A');
    assert.equal(c.predict(t3).twilio_avg_acceptance, 21);
    // At 15:30 the window starts at minute 0 (rounded down): both still in. At 16:00 it starts
    // at minute 1: t1's minute (0) has left, t2's (1, from 60 s to 120 s) is in: 31.
    const at = (s: number): number => {
      const t = c.task(s, 'A');
      const mine = c.predict(t).twilio_avg_acceptance;
      const api = taskQueueCumulative(c.engine, q, { startMs: T0 + s * 1000 - 15 * 60_000, endMs: T0 + s * 1000 })['avg_task_acceptance_time'];
      assert.equal(mine, api, `at ${s} s the window must equal the TaskQueue statistic`);
      return mine;
    };
    assert.equal(at(930), 21);
    assert.equal(at(960), 31);
    assert.equal(at(1019), 31);
    // Minute 1 leaves at 17:00: nothing accepted in the window, Twilio says 0.
    assert.equal(at(1020), 0);
  });

  test('the sliding window agrees with the engine on random acceptance times', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 500 })), { maxLength: 40 }), fc.integer({ min: 0, max: 4000 }), (raw, probe) => {
        const events = raw.map(([t, w]) => [t * 1000, w] as const).sort((a, b) => a[0] - b[0]);
        const window = new AcceptanceWindow(15 * 60_000);
        const now = Math.max(probe * 1000, events[events.length - 1]?.[0] ?? 0);
        for (const [t, w] of events) window.add(t, w);
        const first = Math.floor((now - 15 * 60_000) / 60_000);
        const end = Math.ceil(now / 60_000);
        const inside = events.filter(([t]) => Math.floor(t / 60_000) >= first && Math.floor(t / 60_000) < end);
        const expected = inside.length === 0 ? 0 : Math.round(inside.reduce((s, [, w]) => s + w, 0) / inside.length);
        assert.deepEqual(window.read(now), { avg: expected, accepted: inside.length });
      }),
    );
  });
});

describe('oldest call waiting, HOL and LES', () => {
  test('OCW is the longest wait in the queue; HOL the longest of the same priority', () => {
    const c = new Center();
    const q = c.queue('A');
    c.workflow({ A: q });
    c.task(0, 'A', 0);
    c.task(60, 'A', 1);
    c.task(80, 'A', 1);
    // At 100: the priority-0 task waited 100 s, the priority-1 ones 40 s and 20 s.
    const p1 = c.predict(c.task(100, 'A', 1));
    assert.equal(p1.oldest_call_waiting, 100);
    assert.equal(p1.hol, 40);
    // Nobody of priority 2 waits: HOL 0.
    const p2 = c.predict(c.task(100, 'A', 2));
    assert.equal(p2.oldest_call_waiting, 100);
    assert.equal(p2.hol, 0);
  });

  test('LES is the wait of the last task of the same queue and priority to be answered, else of the queue', () => {
    const c = new Center();
    const q = c.queue('A');
    c.workflow({ A: q });
    const w = c.worker('ann');
    assert.equal(c.predict(c.task(0, 'A', 1)).les, 0, 'nothing answered yet');
    const a = c.task(10, 'A', 1);
    c.offer(50, a, w); // priority 1 answered after 40 s
    c.complete(60, a);
    const b = c.task(60, 'A', 0);
    c.offer(75, b, w); // priority 0 answered after 15 s, the last answer in the queue
    c.complete(80, b);
    assert.equal(c.predict(c.task(90, 'A', 1)).les, 40);
    assert.equal(c.predict(c.task(90, 'A', 0)).les, 15);
    assert.equal(c.predict(c.task(90, 'A', 2)).les, 15, 'no priority-2 answer yet: the queue LES');
  });
});

/**
 * The QL/QLm scenario: two agents, services of 100 s and 300 s (μ̂ = 1/200 per second), one
 * abandonment after 50 s and one answer after 150 s (θ̂ = 1 / (50 + 150) = 1/200 per second).
 *
 * | s   | what                                                              |
 * |-----|-------------------------------------------------------------------|
 * | 0   | x1 → ann, x2 → bob (answered at once)                             |
 * | 100 | x1 completed (100 s)                                              |
 * | 300 | x2 completed (300 s); y and z created                             |
 * | 350 | y hangs up after 50 s                                             |
 * | 450 | z → ann after 150 s; z2 created and → bob at once: both busy       |
 * | 460 | p1, p2 created (priority 0): 2 callers wait                       |
 */
function busyCenter(): { c: Center; q: string; ann: string; bob: string } {
  const c = new Center();
  const q = c.queue('A');
  c.workflow({ A: q });
  const ann = c.worker('ann');
  const bob = c.worker('bob');
  const x1 = c.task(0, 'A');
  const x2 = c.task(0, 'A');
  c.offer(0, x1, ann);
  c.offer(0, x2, bob);
  c.complete(100, x1);
  c.complete(300, x2);
  const y = c.task(300, 'A');
  const z = c.task(300, 'A');
  c.cancel(350, y);
  c.offer(450, z, ann);
  c.offer(450, c.task(450, 'A'), bob);
  c.task(460, 'A');
  c.task(460, 'A');
  return { c, q, ann, bob };
}

describe('QL and QLm', () => {
  test('the formula: Σ 1/(sμ + kθ), QL when θ = 0, a fraction of the next term for a weighted caller', () => {
    close(qlmExpectedWait(2, 2, 0.005, 0), 300, 'QL (n+1)/(sμ)');
    close(qlmExpectedWait(2, 2, 0.005, 0.005), 100 + 1 / 0.015 + 50, 'QLm');
    close(qlmExpectedWait(0, 4, 0.01, 1), 25, 'nobody ahead: 1/(sμ)');
    close(qlmExpectedWait(1.5, 1, 0.01, 0.01), 100 + 50 + 0.5 / 0.03, 'fractional');
    assert.ok(Number.isNaN(qlmExpectedWait(3, 0, 0.01, 0.01)), 'no server: no model');
    assert.ok(Number.isNaN(qlmExpectedWait(3, 2, 0, 0.01)), 'no service seen: no model');
  });

  test('two busy agents, two callers ahead: QL 300 s, QLm 216.7 s', () => {
    const { c } = busyCenter();
    const p = c.predict(c.task(470, 'A'));
    const s = c.estimator.lastState;
    assert.deepEqual({ ahead: s?.ahead, busy: s?.busy, free: s?.free }, { ahead: 2, busy: 2, free: 0 });
    close(s?.mu as number, 1 / 200, 'μ̂ = 1 / mean(100, 300)');
    close(s?.theta as number, 1 / 200, 'θ̂ = 1 abandonment / (50 + 150 + 0 + 0) s waited');
    // QL: (2 + 1) / (2 × 1/200) = 300. QLm: 1/0.01 + 1/0.015 + 1/0.02 = 100 + 66.67 + 50.
    close(p.ql, 300, 'QL');
    close(p.qlm, 100 + 1 / 0.015 + 50, 'QLm');
    assert.equal(s?.cell, 'wait8', 'round(log2 216.7) = 8');
    assert.equal(p.qlm_calibrated, p.qlm, 'no calibration sample yet: the model');
  });

  test('higher priority and older virtual start go ahead; lower priority stays behind', () => {
    const { c } = busyCenter();
    c.task(465, 'A', 1); // a priority-1 caller, created after p1 and p2
    // Priority 1 now: only the earlier priority-1 caller is ahead: 1/0.01 + 1/0.015.
    const p1 = c.predict(c.task(470, 'A', 1));
    assert.equal(c.estimator.lastState?.ahead, 1);
    close(p1.qlm, 100 + 1 / 0.015, 'QLm with one ahead');
    // Priority 0 with a virtual start before p1 and p2 (it entered the center at 455): ahead of
    // them, behind the two priority-1 callers.
    c.predict(c.task(470, 'A', 0, 455));
    assert.equal(c.estimator.lastState?.ahead, 2);
    // Priority 0, plain: p1, p2, the two priority-1 callers and the one with the old start.
    c.predict(c.task(470, 'A', 0));
    assert.equal(c.estimator.lastState?.ahead, 5);
  });

  test('a free eligible agent for the task: QL and QLm say 0', () => {
    const { c } = busyCenter();
    c.worker('cy'); // Available and idle: one free slot, two callers ahead → still waits
    c.predict(c.task(470, 'A'));
    assert.deepEqual([c.estimator.lastState?.free, c.estimator.lastState?.ahead], [1, 2]);
    c.worker('dee');
    c.worker('eve');
    // Three free slots, three ahead (p1, p2 and the task of 470): still waits, on the busy
    // agents' rate: 1/0.01 + 1/0.015 + 1/0.02 + 1/0.025.
    const waits = c.predict(c.task(471, 'A'));
    close(waits.qlm, 100 + 1 / 0.015 + 50 + 40, 'QLm');
    c.worker('fay');
    c.worker('gus');
    // Five free slots, four ahead: a slot is left for it.
    const p = c.predict(c.task(472, 'A'));
    assert.equal(c.estimator.lastState?.cell, 'free0');
    assert.equal(p.ql, 0);
    assert.equal(p.qlm, 0);
    assert.equal(p.qlm_calibrated, 0);
  });

  test('an agent of several queues: tasks of the other queue count with its share of our pool', () => {
    const c = new Center();
    const a = c.queue('A', 'skills HAS "a"');
    const b = c.queue('B', 'skills HAS "b"');
    c.workflow({ A: a, B: b });
    const ann = c.worker('ann', ['a', 'b']);
    const bob = c.worker('bob', ['b']);
    // Both busy with a 100 s service history each.
    const first = [c.task(0, 'B'), c.task(0, 'B')] as const;
    c.offer(0, first[0], ann);
    c.offer(0, first[1], bob);
    c.complete(100, first[0]);
    c.complete(100, first[1]);
    c.offer(100, c.task(100, 'B'), ann);
    c.offer(100, c.task(100, 'B'), bob);
    c.task(110, 'B');
    c.task(110, 'B');
    c.task(115, 'A');
    // A task of A: pool {ann}; one A caller ahead, and two B callers, each with weight ½ (half
    // of B's members serve A): 2. QL = (2 + 1) / (1 × 1/100) = 300.
    const pa = c.predict(c.task(120, 'A'));
    assert.equal(c.estimator.lastState?.ahead, 2);
    assert.equal(c.estimator.lastState?.busy, 1);
    close(pa.ql, 300, 'QL with weighted callers ahead');
    // A task of B: pool {ann, bob}; the two B callers, and the A callers with weight 1 (all of A's
    // members serve B): 4 ahead. QL = 5 / (2/100) = 250.
    const pb = c.predict(c.task(120, 'B'));
    assert.equal(c.estimator.lastState?.ahead, 4);
    close(pb.ql, 250, 'QL over the shared pool');
  });

  test('no agent busy and none free (nobody staffed): the §7.6 fallback chain', () => {
    const c = new Center();
    const q = c.queue('A');
    c.workflow({ A: q });
    const ann = c.worker('ann');
    c.setActivity(0, ann, 'Offline');
    c.task(0, 'A');
    // Nothing accepted in the window: HOL of the class (waited 30 s).
    const p = c.predict(c.task(30, 'A'));
    assert.equal(c.estimator.lastState?.cell, 'nomodel');
    assert.equal(p.qlm, 30);
    assert.equal(p.ql, 30);
    // With an acceptance in the window (after 40 s), Twilio's average.
    const t = c.task(40, 'A');
    c.offer(80, t, ann);
    c.complete(90, t);
    c.setActivity(90, ann, 'Offline');
    const p2 = c.predict(c.task(100, 'A'));
    assert.equal(p2.twilio_avg_acceptance, 40);
    assert.equal(p2.qlm, 40);
  });

  test('a task already reserved when predicted (live routing found an agent) waits 0 by the state-based predictors', () => {
    const c = new Center({}, true);
    const q = c.queue('A');
    c.workflow({ A: q });
    c.worker('ann');
    const t = c.task(0, 'A');
    assert.equal(c.engine.tasks.get(t)?.assignmentStatus, 'reserved');
    const p = c.predict(t);
    assert.deepEqual([p.ql, p.qlm, p.qlm_calibrated], [0, 0, 0]);
    assert.equal(c.estimator.lastState?.cell, 'served');
  });
});

describe('QLm calibrated online', () => {
  test('the median real wait of earlier tasks of the same queue, priority and state cell', () => {
    const c = new Center({ calibrationMinSamples: 3 });
    const q = c.queue('A');
    c.workflow({ A: q });
    const ann = c.worker('ann');
    // Each task finds ann free (cell free0) but she answers only after 10, 60 and then 20 s.
    let now = 0;
    for (const wait of [10, 60, 20]) {
      const t = c.task(now, 'A', 1);
      const p = c.predict(t);
      assert.equal(c.estimator.lastState?.cell, 'free0');
      assert.equal(p.qlm_calibrated, 0, 'fewer than 3 samples: the model (free agent: 0)');
      c.offer(now + wait, t, ann);
      c.complete(now + wait + 5, t);
      now += wait + 10;
    }
    // Three samples: median(10, 60, 20) = 20.
    assert.equal(c.predict(c.task(now, 'A', 1)).qlm_calibrated, 20);
    // Priority 2 has no sample of its own in free0: the cell over all queues and priorities.
    assert.equal(c.predict(c.task(now, 'A', 2)).qlm_calibrated, 20);
  });

  test('only answered tasks teach it; the sliding window keeps the newest', () => {
    const c = new Center({ calibrationMinSamples: 2, calibrationMemory: 2 });
    const q = c.queue('A');
    c.workflow({ A: q });
    const ann = c.worker('ann');
    const waits = [100, 10, 30];
    let now = 0;
    for (const wait of waits) {
      const t = c.task(now, 'A');
      c.predict(t);
      c.offer(now + wait, t, ann);
      c.complete(now + wait, t);
      now += wait + 1;
    }
    // A task predicted, then canceled: no sample.
    const gone = c.task(now, 'A');
    c.predict(gone);
    c.cancel(now + 500, gone);
    now += 501;
    // The window holds the last two answers (10, 30): median 20.
    assert.equal(c.predict(c.task(now, 'A')).qlm_calibrated, 20);
  });

  test('SlidingMedian matches a brute-force median of the last k values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 40 }), (k, values) => {
        const m = new SlidingMedian(k);
        values.forEach((v, i) => {
          m.add(v);
          const last = values.slice(Math.max(0, i + 1 - k), i + 1).sort((a, b) => a - b);
          const n = last.length;
          const expected = n % 2 === 1 ? (last[(n - 1) / 2] as number) : ((last[n / 2 - 1] as number) + (last[n / 2] as number)) / 2;
          assert.equal(m.size, n);
          assert.equal(m.median(), expected);
        });
      }),
    );
  });
});

describe('scorePredictions', () => {
  const row = (realWaitS: number, answered: boolean, value: (p: PredictorName) => number): ScoredPrediction => ({
    realWaitS,
    answered,
    predictions: Object.fromEntries(PREDICTORS.map((p) => [p, value(p)])) as Record<PredictorName, number>,
  });

  test('MAE, RMSE, bias and callback accuracy over answered calls only', () => {
    // Real waits 0, 30, 90 (answered) and 500 (abandoned, ignored). Predictions 10, 70, 60:
    // errors +10, +40, −30 → MAE 80/3, RMSE √(2600/3), bias 20/3. Decisions (> 60): no, yes, no
    // against truths (> 60): no, no, yes → one right of three.
    const rows = [row(0, true, () => 10), row(30, true, () => 70), row(90, true, () => 60), row(500, false, () => 0)];
    const s = scorePredictions(rows)[DEFAULT_PREDICTOR];
    close(s.mae_s, 80 / 3, 'MAE');
    close(s.rmse_s, Math.sqrt(2600 / 3), 'RMSE');
    close(s.bias_s, 20 / 3, 'bias');
    close(s.callback_decision_accuracy, 1 / 3, 'accuracy');
    assert.equal(s.n, 3);
  });

  test('each predictor is scored on its own column; 60 s exactly is no offer and not late', () => {
    assert.equal(CALLBACK_THRESHOLD_S, 60);
    const rows = [row(60, true, (p) => (p === 'hol' ? 61 : 60)), row(61, true, (p) => (p === 'hol' ? 61 : 60))];
    const scores = scorePredictions(rows);
    assert.equal(scores.hol.callback_decision_accuracy, 0.5);
    assert.equal(scores.qlm.callback_decision_accuracy, 0.5);
    close(scores.hol.mae_s, 0.5, 'hol MAE');
    close(scores.qlm.mae_s, 0.5, 'qlm MAE');
    close(scores.hol.bias_s, 0.5, 'hol bias');
    close(scores.qlm.bias_s, -0.5, 'qlm bias');
  });

  test('no answered call: zeros', () => {
    const s = scorePredictions([row(10, false, () => 5)]);
    assert.deepEqual(s.les, { mae_s: 0, rmse_s: 0, bias_s: 0, callback_decision_accuracy: 0, n: 0 });
  });
});
