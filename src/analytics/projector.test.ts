/**
 * The analytics projector (spec part B, §B7–§B10) on the worked example of §B9, driven through a
 * real WorkspaceEngine, fed in order, shuffled within the watermark and twice; then seeded random
 * scenarios for the invariants (duplicates change nothing, shuffles within the watermark change
 * nothing, engagement times are non-negative and handling = engagement + wrap-up).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WorkspaceEngine } from '../engine/engine.ts';
import type { Command } from '../engine/commands.ts';
import type { EngineEvent, EventType } from '../engine/events.ts';
import { SequentialSids } from '../util/sid.ts';
import { AnalyticsProjector, type Kpis } from './projector.ts';

const DAY = Date.UTC(2024, 0, 1);
/** Epoch ms of h:m:s(.ms) on the example's day. */
const t = (h: number, m: number, s = 0): number => DAY + ((h * 60 + m) * 60) * 1000 + Math.round(s * 1000);

type Cmd = Record<string, unknown> & { type: Command['type'] };

/** A workspace, queue Support, a workflow with a 15 s reservation timeout, Alice (rank 2) and Bob (rank 1). */
function b9Engine(): { engine: WorkspaceEngine; run: (at: number, c: Cmd) => EngineEvent[]; setup: EngineEvent[]; alice: string; bob: string; activity: (n: string) => string } {
  const sids = new SequentialSids();
  const created = WorkspaceEngine.create({ friendlyName: 'B9', at: t(9, 0), newSid: sids.next });
  const engine = created.engine;
  const setup = [...created.events];
  const run = (at: number, c: Cmd): EngineEvent[] => {
    const outcome = engine.execute({ ...c, at } as unknown as Command);
    assert.equal(outcome.rejection, null, `${c.type}: ${outcome.rejection?.message ?? ''}`);
    return outcome.events;
  };
  const activity = (name: string): string => {
    for (const a of engine.activities.values()) if (a.friendlyName === name) return a.sid;
    throw new Error(name);
  };
  const sidOf = (events: EngineEvent[]): string => (events[0] as EngineEvent).resourceSid;
  const q = run(t(9, 0), { type: 'createTaskQueue', friendlyName: 'Support', targetWorkers: '1==1' });
  setup.push(...q);
  const queue = sidOf(q);
  setup.push(...run(t(9, 0), {
    type: 'createWorkflow',
    friendlyName: 'WW1',
    taskReservationTimeoutS: 15,
    configuration: JSON.stringify({ task_routing: { filters: [{ filter_friendly_name: 'Support', expression: '1==1', targets: [{ queue, order_by: 'worker.rank DESC' }] }] } }),
  }));
  const b = run(t(9, 0), { type: 'createWorker', friendlyName: 'Bob', attributes: JSON.stringify({ rank: 1, full_name: 'Bob B', team_name: 'Blue' }), activitySid: activity('Available') });
  const a = run(t(9, 0), { type: 'createWorker', friendlyName: 'Alice', attributes: JSON.stringify({ rank: 2, full_name: 'Alice A', team: 'Red' }), activitySid: activity('Offline') });
  setup.push(...b, ...a);
  const alice = sidOf(a);
  setup.push(...run(t(9, 55), { type: 'updateWorker', workerSid: alice, activitySid: activity('Available') }));
  return { engine, run, setup, alice, bob: sidOf(b), activity };
}

/** §B9 rows: stream type and instant. */
const B9: [EventType, number][] = [
  ['task.created', t(10, 0, 0)],
  ['workflow.entered', t(10, 0, 0.15)],
  ['workflow.target-matched', t(10, 0, 0.25)],
  ['task-queue.entered', t(10, 0, 0.4)],
  ['reservation.created', t(10, 0, 1)],
  ['reservation.timeout', t(10, 0, 16)],
  ['worker.activity.update', t(10, 0, 16.1)],
  ['reservation.created', t(10, 0, 17)],
  ['reservation.accepted', t(10, 0, 25)],
  ['task.wrapup', t(10, 4, 25)],
  ['reservation.wrapup', t(10, 4, 25.05)],
  ['task.completed', t(10, 5, 10)],
  ['reservation.completed', t(10, 5, 10.05)],
];

/**
 * The §B9 events from the engine. The engine emits each command's events at one instant, so the
 * sub-second pipeline delays of §B9 (workflow.entered at +150 ms, reservation.created 1 s after
 * the task…) are re-stamped by hand from the table, and so is Alice's time in her previous
 * activity (316 100 ms, consistent with the re-stamped instant); every other field is the engine's.
 */
function b9Events(): { events: EngineEvent[]; alice: string; bob: string; task: string } {
  const { run, setup, alice, bob, engine } = b9Engine();
  const stream: EngineEvent[] = [];
  const created = run(t(10, 0), { type: 'createTask', attributes: JSON.stringify({ type: 'inbound', from: '+15551230000', to: '+15559870000', customers: { phone: '+15551230000' } }) });
  stream.push(...created);
  const task = (created[0] as EngineEvent).resourceSid;
  stream.push(...engine.advanceTo(t(10, 0, 15)).events);
  const r2 = stream.find((e) => e.eventType === 'reservation.created' && e.data['worker_sid'] === bob) as EngineEvent;
  stream.push(...run(t(10, 0, 25), { type: 'updateReservation', reservationSid: r2.resourceSid, reservationStatus: 'accepted' }));
  stream.push(...run(t(10, 4, 25), { type: 'updateTask', taskSid: task, assignmentStatus: 'wrapping', reason: 'caller hung up' }));
  stream.push(...run(t(10, 5, 10), { type: 'updateTask', taskSid: task, assignmentStatus: 'completed', reason: 'Task completed' }));
  assert.deepEqual(stream.map((e) => e.eventType), B9.map(([type]) => type), 'the engine emits the §B9 stream');
  const events = stream.map((e, i) => {
    const at = (B9[i] as [EventType, number])[1];
    const data = { ...e.data };
    if (e.eventType === 'worker.activity.update') {
      assert.equal(data['worker_previous_activity_name'], 'Available');
      assert.equal(data['worker_activity_name'], 'Offline');
      data['worker_time_in_previous_activity_ms'] = at - t(9, 55);
      data['worker_time_in_previous_activity'] = Math.floor((at - t(9, 55)) / 1000);
    }
    return { ...e, at, data };
  });
  return { events: [...setup, ...events], alice, bob, task };
}

/** Everything the projector shows about a run, for equality checks. */
function view(p: AnalyticsProjector, from = t(10, 0), to = t(10, 15)): unknown {
  return {
    engagements: p.engagements(),
    conversations: p.conversations(),
    customers: p.customers(),
    agents: p.agents(),
    status: p.statusIntervals({ from: DAY, to: DAY + 86_400_000 }),
    kpis: p.kpis({ from, to }),
  };
}

/** 4 h (the default lateness) after the end of §B9's bucket: the watermark is then 10:15. */
const AFTER = t(14, 15);

function project(events: readonly EngineEvent[], until: number | null = null): AnalyticsProjector {
  const p = new AnalyticsProjector();
  for (const e of events) p.observe(e);
  if (until === null) p.flush();
  // Open status intervals count up to the watermark: past the end of §B9's bucket.
  p.advanceTo(until ?? AFTER);
  return p;
}

/** A seeded shuffle (mulberry32). */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function checkB9(p: AnalyticsProjector, alice: string, bob: string, task: string): void {
  const { queue, invitation, agent } = p.engagements();
  // Conversation C1 = WT1, 10:00:00 → 10:05:10 (310 s), voice... (the engine's default channel).
  const [c1] = p.conversations();
  assert.equal(c1?.taskSid, task);
  assert.equal(c1?.start, t(10, 0));
  assert.equal(c1?.end, t(10, 5, 10));
  assert.equal(c1?.durationS, 310);
  assert.equal(c1?.customerId, '+15551230000');
  assert.deepEqual(p.customers().map((c) => [c.customerId, c.source]), [['+15551230000', 'phone']]);
  // QE1 (Support): 10:00:00.4 → 10:00:25.0, Accepted, wait 24.6 s.
  assert.equal(queue.length, 1);
  assert.deepEqual([queue[0]?.queueName, queue[0]?.open, queue[0]?.close, queue[0]?.outcome, queue[0]?.waitS], ['Support', t(10, 0, 0.4), t(10, 0, 25), 'Accepted', 24.6]);
  // IE1 (Alice) Missed 15 s; IE2 (Bob) Accepted 8 s.
  assert.deepEqual(invitation.map((i) => [i.agentSid, i.open, i.close, i.outcome, i.invitationS]), [
    [alice, t(10, 0, 1), t(10, 0, 16), 'Missed', 15],
    [bob, t(10, 0, 17), t(10, 0, 25), 'Accepted', 8],
  ]);
  // AE1 (Bob): wait 24.6, invitation 8, engagement 240, wrap-up 45, handling 285.
  assert.equal(agent.length, 1);
  const ae = agent[0];
  assert.deepEqual([ae?.agentSid, ae?.accept, ae?.waitS, ae?.invitationS, ae?.engagementS, ae?.wrapupS, ae?.handlingS, ae?.transferred, ae?.agentTeam], [bob, t(10, 0, 25), 24.6, 8, 240, 45, 285, false, 'Blue']);
  // Status (Alice): [09:45,10:00) Available 300 s; [10:00,10:15) Available 16.1 s (Offline not stored).
  const status = p.statusIntervals({ from: t(9, 45), to: t(10, 15), agent: alice });
  assert.deepEqual(status.map((r) => [r.bucket, r.activity, Math.round(r.seconds * 1000) / 1000]), [
    [t(9, 45), 'Available', 300],
    [t(10, 0), 'Available', 16.1],
  ]);
  // KPIs, bucket 10:00–10:15.
  const k = p.kpis({ from: t(10, 0), to: t(10, 15) });
  assert.deepEqual(k.counts, { offered: 1, accepted: 1, acceptedWithinT: 0, abandoned: 0, abandonedWithinT: 0, shortAbandoned: 0, otherFailures: 0 });
  for (const v of Object.values(k.serviceLevel.variants)) assert.equal(v, 0);
  assert.equal(k.serviceLevel.value, 0);
  assert.equal(p.kpis({ from: t(10, 0), to: t(10, 15), thresholdS: 30 }).serviceLevel.value, 1);
  assert.equal(k.asaS, 24.6);
  assert.equal(k.abandonmentRate, 0);
  assert.equal(k.ahtS, 285);
  assert.equal(k.handled, 1);
  assert.equal(k.transferRate, 0);
  const bobK = p.kpis({ from: t(10, 0), to: t(10, 15), agent: bob });
  assert.equal(bobK.busyS, 293);
  assert.equal(bobK.availableIdleS + bobK.busyS, 900);
  assert.equal(((bobK.occupancy ?? 0) * 100).toFixed(1), '32.6');
  assert.equal(((bobK.occupancyExRinging ?? 0) * 100).toFixed(1), '31.7');
  assert.equal(bobK.utilization, 1);
  const aliceK = p.kpis({ from: t(10, 0), to: t(10, 15), agent: alice });
  assert.deepEqual(aliceK.agents, [{ agentSid: alice, invitations: 1, accepted: 0, missed: 1, rejected: 0, revoked: 0, acceptanceRate: 0, rejectRate: 0, occupancy: 15_000 / 16_100 }]);
  assert.equal(aliceK.staffedS, 16.1);
}

describe('analytics projector: the worked example of §B9', () => {
  const { events, alice, bob, task } = b9Events();

  test('fed in order', () => {
    checkB9(project(events), alice, bob, task);
  });

  test('shuffled within the watermark (seeds 1..20), with advanceTo past the watermark', () => {
    const reference = view(project(events));
    for (let seed = 1; seed <= 20; seed++) {
      const p = project(shuffled(events, seed), AFTER);
      checkB9(p, alice, bob, task);
      assert.deepEqual(view(p), reference, `seed ${seed}`);
    }
  });

  test('every event sent twice (and a third time after it was applied)', () => {
    const p = project([...events, ...shuffled(events, 7)]);
    checkB9(p, alice, bob, task);
    for (const e of events) p.observe(e);
    p.flush();
    p.advanceTo(AFTER);
    checkB9(p, alice, bob, task);
    assert.deepEqual(view(p), view(project(events)));
  });

  test('an event older than the watermark is counted late and dropped; buffering waits for the watermark', () => {
    const p = new AnalyticsProjector();
    for (const e of events) p.observe(e);
    p.advanceTo(t(10, 5));
    assert.equal(p.engagements().queue.length, 0, 'nothing applied before 4 h have passed');
    p.advanceTo(AFTER);
    checkB9(p, alice, bob, task);
    p.observe({ ...(events[0] as EngineEvent), sid: 'EVlate' });
    assert.equal(p.stats().late, 1);
  });

  test('Kpis per interval in one pass (kpiSeries) equal kpis() per row; the 10:00 row holds §B9\'s figures', () => {
    const p = project(events);
    for (const intervalMs of [60_000, 15 * 60_000, 3_600_000]) {
      for (const filter of [{}, { agent: bob }, { agent: alice }]) {
        const series = p.kpiSeries({ from: t(9, 0), to: t(11, 0), intervalMs, ...filter });
        assert.deepEqual(series, series.map((r) => p.kpis({ ...filter, from: r.from, to: r.to })));
      }
    }
    const bobRows = p.kpiSeries({ from: t(9, 30), to: t(10, 30), intervalMs: 15 * 60_000, agent: bob });
    assert.deepEqual(bobRows.map((r) => r.from), [t(9, 30), t(9, 45), t(10, 0), t(10, 15)]);
    const row = bobRows[2] as Kpis;
    assert.equal(row.busyS, 293);
    assert.equal(((row.occupancy ?? 0) * 100).toFixed(1), '32.6');
    assert.equal(((row.occupancyExRinging ?? 0) * 100).toFixed(1), '31.7');
    assert.equal(p.kpiSeries({ from: t(9, 30), to: t(10, 30), intervalMs: 15 * 60_000 })[2]?.asaS, 24.6);
    assert.throws(() => p.kpiSeries({ from: t(10, 0), to: t(10, 0), intervalMs: 60_000 }), RangeError);
    assert.throws(() => p.kpiSeries({ from: t(10, 0), to: t(11, 0), intervalMs: 0 }), RangeError);
  });

  test('snapshot and restore give the same projector, also mid-buffer', () => {
    const p = new AnalyticsProjector();
    events.slice(0, 20).forEach((e) => p.observe(e));
    p.advanceTo(t(13, 0));
    const q = AnalyticsProjector.restore(JSON.parse(JSON.stringify(p.snapshot())));
    for (const x of [p, q]) {
      for (const e of events) x.observe(e);
      x.flush();
      x.advanceTo(AFTER);
    }
    checkB9(q, alice, bob, task);
    assert.deepEqual(view(q), view(p));
  });
});

describe('analytics projector: invariants on seeded random engine runs', () => {
  /** A random run of the engine: tasks arrive, reservations are accepted/rejected/left to time out, tasks are canceled or completed, workers change activity. */
  function randomRun(seed: number, steps: number): EngineEvent[] {
    const { engine, setup, run, alice, bob, activity } = b9Engine();
    const events = [...setup];
    let a = seed >>> 0;
    const rnd = (n: number): number => {
      a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
      return (a >>> 8) % n;
    };
    let now = t(10, 0);
    const attempt = (c: Cmd): void => {
      const o = engine.execute({ ...c, at: now } as unknown as Command);
      events.push(...o.events);
    };
    for (let i = 0; i < steps; i++) {
      now += rnd(6_000);
      events.push(...engine.advanceTo(now).events);
      const tasks = [...engine.tasks.values()].filter((x) => x.assignmentStatus !== 'completed' && x.assignmentStatus !== 'canceled');
      const busy = tasks.filter((x) => x.assignmentStatus === 'assigned' || x.assignmentStatus === 'wrapping');
      const task = busy.length > 0 && rnd(4) !== 0 ? busy[rnd(busy.length)] : tasks[rnd(Math.max(1, tasks.length))];
      const reservations = [...engine.reservations.values()].filter((x) => x.reservationStatus === 'pending' || x.reservationStatus === 'accepted' || x.reservationStatus === 'wrapping');
      const r = reservations[rnd(Math.max(1, reservations.length))];
      switch (rnd(8)) {
        case 0:
        case 1:
          attempt({ type: 'createTask', attributes: JSON.stringify({ from: `+1555${rnd(5)}`, customers: rnd(2) === 0 ? { email: `c${rnd(3)}@x` } : {} }) });
          break;
        case 2:
          if (r !== undefined) attempt({ type: 'updateReservation', reservationSid: r.sid, reservationStatus: 'accepted' });
          break;
        case 3:
          if (r !== undefined) attempt({ type: 'updateReservation', reservationSid: r.sid, reservationStatus: rnd(2) === 0 ? 'rejected' : 'completed' });
          break;
        case 4:
          if (task !== undefined) attempt({ type: 'updateTask', taskSid: task.sid, assignmentStatus: 'wrapping' });
          break;
        case 5:
          if (task !== undefined && (rnd(3) === 0 || task.assignmentStatus === 'assigned' || task.assignmentStatus === 'wrapping')) attempt({ type: 'updateTask', taskSid: task.sid, assignmentStatus: task.assignmentStatus === 'pending' || task.assignmentStatus === 'reserved' ? 'canceled' : 'completed', reason: rnd(2) === 0 ? 'hangup' : 'other' });
          break;
        case 6:
          attempt({ type: 'updateWorker', workerSid: rnd(2) === 0 ? alice : bob, activitySid: activity(['Available', 'Offline', 'Unavailable'][rnd(3)] as string) });
          break;
        default:
          if (task !== undefined && rnd(3) === 0) attempt({ type: 'deleteTask', taskSid: task.sid });
          else if (r !== undefined) attempt({ type: 'updateReservation', reservationSid: r.sid, reservationStatus: r.reservationStatus === 'pending' ? 'accepted' : r.reservationStatus === 'accepted' ? 'wrapping' : 'completed' });
      }
    }
    events.push(...run(now + 1, { type: 'tick' }));
    return events;
  }

  test('duplicates never change results; any shuffle gives identical results; times are non-negative and add up', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 5, max: 120 }), (seed, shuffleSeed, steps) => {
        const events = randomRun(seed, steps);
        const from = t(9, 0);
        const to = t(23, 0);
        const reference = view(project(events), from, to);
        assert.deepEqual(view(project(shuffled(events, shuffleSeed)), from, to), reference);
        assert.deepEqual(view(project([...events, ...shuffled(events, shuffleSeed + 1)]), from, to), reference);
        // Delivered late by up to the lateness (60 s here), with advanceTo at each arrival: nothing is dropped, same result.
        const lateness = 60_000;
        const arrivals = shuffled(events, shuffleSeed).map((e, i) => [e.at + ((i * 7919 + shuffleSeed) % lateness), e] as const);
        arrivals.sort((x, y) => x[0] - y[0]);
        const live = new AnalyticsProjector({ latenessMs: lateness });
        for (const [arrival, e] of arrivals) {
          live.observe(e);
          live.observe(e);
          live.advanceTo(arrival);
        }
        live.flush();
        live.advanceTo(t(10, 15) + lateness); // the same watermark as project(): open intervals count up to it
        assert.equal(live.stats().late, 0);
        assert.deepEqual(view(live, from, to), reference);
        const p = project(events);
        for (const ae of p.engagements().agent) {
          for (const v of [ae.waitS, ae.invitationS, ae.engagementS, ae.wrapupS, ae.handlingS]) assert.ok(v === null || v >= 0, `non-negative ${JSON.stringify(ae)}`);
          if (ae.handlingS !== null) assert.ok(Math.abs(ae.handlingS - ((ae.engagementS ?? 0) + (ae.wrapupS ?? 0))) < 1e-9);
        }
        for (const qe of p.engagements().queue) assert.ok(qe.waitS === null || qe.waitS >= 0);
        for (const ie of p.engagements().invitation) assert.ok(ie.invitationS === null || ie.invitationS >= 0);
      }),
      { seed: 14, numRuns: 60 },
    );
  });

  test('kpiSeries (one pass) gives exactly the rows of one kpis() call per interval, every filter and interval length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 20, max: 160 }), fc.integer({ min: 0, max: 3_599_999 }), (seed, steps, offset) => {
        const events = randomRun(seed, steps);
        const p = project(events);
        const queue = p.engagements().queue[0]?.queueSid ?? 'WQnone';
        const agents = [...new Set(p.engagements().agent.map((x) => x.agentSid))];
        // Unaligned period ends; the open intervals count up to the watermark, or to a later asOf.
        const from = t(9, 0) + offset;
        const to = t(11, 0) + (offset % 777_777);
        let rows = 0;
        for (const intervalMs of [7_001, 60_000, 15 * 60_000, 3_600_000, 86_400_000]) {
          for (const filter of [{}, { queue }, { agent: agents[0] ?? 'WKnone' }, { channel: 'default' }, { asOf: t(10, 20), thresholdS: 3, shortAbandonS: 1 }]) {
            const series = p.kpiSeries({ from, to, intervalMs, ...filter });
            const first = Math.floor(from / intervalMs) * intervalMs;
            assert.equal(series.length, Math.ceil((to - first) / intervalMs));
            const perRow = series.map((r) => p.kpis({ ...filter, from: r.from, to: r.to }));
            assert.deepEqual(series, perRow, `interval ${intervalMs} ms, filter ${JSON.stringify(filter)}`);
            assert.equal(series[0]?.from, from);
            assert.equal(series.at(-1)?.to, to);
            rows += series.length;
          }
        }
        // The rows add up to the period's counts (QEs and AEs each count in one row).
        const whole = p.kpis({ from, to });
        const hourly = p.kpiSeries({ from, to, intervalMs: 3_600_000 });
        assert.equal(hourly.reduce((n, r) => n + r.counts.offered, 0), whole.counts.offered);
        assert.equal(hourly.reduce((n, r) => n + r.handled, 0), whole.handled);
        assert.ok(Math.abs(hourly.reduce((n, r) => n + r.busyS, 0) - whole.busyS) < 1e-6);
        assert.ok(rows > 0);
      }),
      { seed: 7, numRuns: 25 },
    );
  });
});

describe('analytics projector: outcomes the §B9 run does not reach (hand-built events in the engine shape)', () => {
  let n = 0;
  const ev = (eventType: EventType, at: number, resourceSid: string, data: Record<string, string | number | null>): EngineEvent => ({
    sid: `EVh${String(n++).padStart(4, '0')}`,
    eventType,
    at,
    resourceType: eventType.startsWith('reservation') ? 'reservation' : eventType.startsWith('worker') ? 'worker' : 'task',
    resourceSid,
    data,
  });
  const task = (sid: string, extra: Record<string, string | number | null> = {}): Record<string, string | number | null> => ({ task_sid: sid, task_channel_unique_name: 'chat', ...extra });
  const q1 = { task_queue_sid: 'WQ1', task_queue_name: 'Support' };
  const q2 = { task_queue_sid: 'WQ2', task_queue_name: 'Billing' };

  test('moved, timeout followed by entered within 1 s, transfer, expiry, customer-left, SCD-2 team, customer precedence', () => {
    const T = t(11, 0);
    const events = [
      ev('worker.created', T - 60_000, 'WKc', { worker_name: 'Carol', worker_attributes: '{"team":"Red"}', worker_activity_name: 'Available' }),
      // WT2: Support → moved → Billing (timeout then entered within 1 s: Moved) → accepted by Carol → transferred to Support → accepted again.
      ev('task.created', T, 'WT2', task('WT2', { task_attributes: '{"customers":{"external_id":"X-1","phone":"+1"},"from":"+2"}' })),
      ev('task-queue.entered', T, 'WT2', task('WT2', q1)),
      ev('task-queue.moved', T + 10_000, 'WT2', task('WT2', q1)),
      ev('task-queue.entered', T + 10_000, 'WT2', task('WT2', q2)),
      ev('task-queue.timeout', T + 20_000, 'WT2', task('WT2', q2)),
      ev('task-queue.entered', T + 20_500, 'WT2', task('WT2', q1)),
      ev('reservation.created', T + 21_000, 'WR3', task('WT2', { ...q1, worker_sid: 'WKc' })),
      ev('worker.attributes.update', T + 22_000, 'WKc', { worker_name: 'Carol', worker_attributes: '{"team":"Green"}' }),
      ev('reservation.accepted', T + 25_000, 'WR3', task('WT2', { ...q1, worker_sid: 'WKc' })),
      ev('task-queue.entered', T + 85_000, 'WT2', task('WT2', q2)),
      ev('reservation.wrapup', T + 86_000, 'WR3', task('WT2', { worker_sid: 'WKc' })),
      ev('reservation.completed', T + 90_000, 'WR3', task('WT2', { worker_sid: 'WKc' })),
      ev('task.system-deleted', T + 100_000, 'WT2', task('WT2')),
      // WT3: the caller hangs up after 3 s (a short abandon); WT4 is canceled by the workflow timeout; WT5 by an API cancel with another reason.
      ev('task.created', T, 'WT3', task('WT3', { task_attributes: 'not json' })),
      ev('task-queue.entered', T, 'WT3', task('WT3', q1)),
      ev('task.canceled', T + 3_000, 'WT3', task('WT3', { task_canceled_reason: 'hangup' })),
      ev('task.created', T, 'WT4', task('WT4', { task_attributes: '{"direction":"outbound","from":"+3","to":"+4"}' })),
      ev('task-queue.entered', T, 'WT4', task('WT4', q1)),
      ev('task.canceled', T + 30_000, 'WT4', task('WT4', { task_canceled_reason: 'Task canceled on Workflow timeout' })),
      ev('task.created', T, 'WT5', task('WT5', { task_attributes: '{"customers":{"email":"e@x"}}' })),
      ev('task-queue.entered', T, 'WT5', task('WT5', q1)),
      ev('task.canceled', T + 8_000, 'WT5', task('WT5', { task_canceled_reason: 'spam' })),
    ];
    for (const order of [events, shuffled(events, 3), [...events, ...events]]) {
      const p = project(order, t(16, 0));
      const { queue, agent } = p.engagements();
      assert.deepEqual(queue.filter((q) => q.taskSid === 'WT2').map((q) => [q.queueName, q.outcome, q.waitS]), [
        ['Support', 'Moved', 10],
        ['Billing', 'Moved', 10],
        ['Support', 'Accepted', 4.5],
        ['Billing', 'Expired', 15],
      ]);
      assert.deepEqual(queue.filter((q) => q.taskSid !== 'WT2').map((q) => [q.taskSid, q.outcome]), [['WT3', 'CustomerLeft'], ['WT4', 'Timeout'], ['WT5', 'Canceled']]);
      assert.deepEqual(agent.map((a) => [a.agentTeam, a.waitS, a.invitationS, a.engagementS, a.wrapupS, a.handlingS, a.transferred]), [['Green', 4.5, 4, 61, 4, 65, true]]);
      assert.deepEqual(p.agents()[0]?.versions.map((v) => [v.team, v.validFrom, v.validTo]), [['Red', T - 60_000, T + 22_000], ['Green', T + 22_000, null]]);
      assert.deepEqual(p.conversations().map((c) => [c.taskSid, c.customerId, c.endReason]), [
        ['WT2', 'X-1', 'system-deleted'], ['WT3', 'WT3', 'canceled'], ['WT4', '+4', 'canceled'], ['WT5', 'e@x', 'canceled'],
      ]);
      const k = p.kpis({ from: T, to: T + 3_600_000 });
      // O excludes Moved: Accepted, Expired, CustomerLeft, Timeout, Canceled.
      assert.deepEqual(k.counts, { offered: 5, accepted: 1, acceptedWithinT: 1, abandoned: 1, abandonedWithinT: 1, shortAbandoned: 1, otherFailures: 3 });
      assert.equal(k.serviceLevel.variants['answered-only'], 1);
      assert.equal(k.serviceLevel.variants['abandons-count-against'], 0.5);
      assert.equal(k.serviceLevel.variants['ignore-early-abandons'], 1);
      assert.equal(k.serviceLevel.variants['early-abandons-succeed'], 1);
      assert.equal(k.serviceLevel.value, 1 / 4); // A_T / (A + B − S + X)
      assert.equal(k.abandonmentRate, 1 / 5);
      assert.equal(k.abandonmentRateExShort, 0);
      assert.equal(k.transferRate, 1);
      assert.equal(k.asaS, 4.5);
      assert.equal(p.kpis({ from: T, to: T + 3_600_000, queue: 'WQ2' }).counts.offered, 1);
      assert.equal(p.kpis({ from: T, to: T + 3_600_000, channel: 'voice' }).counts.offered, 0);
    }
  });
});

describe('analytics projector: model rows (storage)', () => {
  /** Applies `events` one at a time, as the runtime's host does (lateness 0, flush after each). */
  function tracked(events: readonly EngineEvent[]): { p: AnalyticsProjector; stored: Map<string, string>; writes: number[] } {
    const p = new AnalyticsProjector({ latenessMs: 0, trackChanges: true });
    const stored = new Map<string, string>();
    const writes: number[] = [];
    for (const e of events) {
      p.observe(e);
      p.flush();
      const rows = p.takeChangedRows();
      writes.push(rows.length);
      for (const r of rows) {
        if (r.body === null) stored.delete(r.key);
        else stored.set(r.key, r.body);
      }
    }
    return { p, stored, writes };
  }

  test('the rows changed event by event rebuild the same model (fromRows), and equal rows()', () => {
    const { events, alice, bob, task } = b9Events();
    const { p, stored, writes } = tracked(events);
    assert.ok(Math.max(...writes) <= 8, `at most a handful of rows per event (got ${Math.max(...writes)})`);
    assert.deepEqual(new Map(p.rows().map((r) => [r.key, r.body])), stored);
    const restored = AnalyticsProjector.fromRows([...stored].map(([key, body]) => ({ key, body })), { latenessMs: 0 });
    p.advanceTo(AFTER);
    restored.advanceTo(AFTER);
    assert.deepEqual(view(restored), view(p));
    checkB9(restored, alice, bob, task);
    // Status intervals are one row each; the open one has its own row.
    assert.ok([...stored.keys()].some((k) => k.startsWith(`st:${alice}:`)));
    assert.ok(stored.has(`sto:${bob}`));
    assert.ok(stored.has(`qe:${task}/0`));
  });

  test('without trackChanges nothing is tracked; a restored projector goes on from where it was', () => {
    const { events } = b9Events();
    const plain = new AnalyticsProjector();
    for (const e of events) plain.observe(e);
    plain.flush();
    assert.deepEqual(plain.takeChangedRows(), []);
    const half = Math.floor(events.length / 2);
    const first = tracked(events.slice(0, half));
    const resumed = AnalyticsProjector.fromRows([...first.stored].map(([key, body]) => ({ key, body })), { latenessMs: 0 });
    for (const e of events.slice(half)) {
      resumed.observe(e);
      resumed.flush();
    }
    const whole = tracked(events).p;
    resumed.advanceTo(AFTER);
    whole.advanceTo(AFTER);
    assert.deepEqual(view(resumed), view(whole));
  });
});
