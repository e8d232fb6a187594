/**
 * The what-if simulator (src/sim/simulate.ts and friends): the caller and agent models on small
 * hand-made logs where the right answer can be worked out by hand, then properties on the real
 * Anonymous Bank sample (volume, determinism per seed, a staffing file round trip, callbacks).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importAnonymousBank, type CallRecord } from '../../src/sim/anonymous-bank.ts';
import { drawHandleTime, drawPatience, estimateAbandonmentRates, handleTimeSamples } from '../../src/sim/patience.ts';
import type { EngineEvent } from '../../src/engine/events.ts';
import { simulateCalls } from '../../src/sim/simulate.ts';
import { DailyOccupancyAccumulator, totalOccupancy } from '../../src/sim/simulate-measures.ts';
import { renderSimulationHtml } from '../../src/sim/simulate-report-html.ts';
import { DEFAULT_CALLBACK_POLICY } from '../../src/sim/simulate-callbacks.ts';
import { runSimulateJob } from '../../src/sim/simulate-job.ts';
import { inferStaffing, parseStaffing, StaffingError, staffingCsv, type StaffingPlan } from '../../src/sim/staffing.ts';
import { Random } from '../../src/util/random.ts';

const SAMPLE = fileURLToPath(new URL('../../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));
const T0 = Date.UTC(1999, 1, 1, 8, 0, 0);
const S = 1000;

let line = 1;
/** A call asking for an agent at T0 + `atS`; served calls need `server`. */
function call(o: { atS: number; waitS: number; outcome: 'AGENT' | 'HANG'; serviceS?: number; server?: string | null; type?: string; priority?: number }): CallRecord {
  line += 1;
  const askedAt = T0 + o.atS * S;
  const served = o.outcome === 'AGENT';
  return {
    line,
    key: `AA0101-${line}`,
    customerId: '0',
    priority: o.priority ?? 1,
    type: o.type ?? 'PS',
    date: '1999-02-01',
    vruEntryAt: askedAt - 5 * S,
    vruExitAt: askedAt,
    outcome: o.outcome,
    queued: o.waitS > 0,
    askedAt,
    waitS: o.waitS,
    serviceStartAt: served ? askedAt + o.waitS * S : null,
    serviceS: served ? (o.serviceS ?? 0) : 0,
    server: served ? (o.server ?? 'ANNA') : null,
    anomalies: [],
  };
}

function plan(shifts: Array<{ agent: string; fromS: number; toS: number; types?: string[] }>): StaffingPlan {
  return { source: 'test', shifts: shifts.map((s) => ({ agent: s.agent, start: T0 + s.fromS * S, end: T0 + s.toS * S, types: s.types ?? ['PS'] })) };
}

test('a caller who hung up in reality abandons at their recorded wait; a served one waits longer than theirs', () => {
  const calls = [
    call({ atS: 0, waitS: 0, outcome: 'AGENT', serviceS: 600 }), // keeps the only agent busy until +600 s
    call({ atS: 10, waitS: 45, outcome: 'HANG' }), // patience 45 s: gone at +55 s
    call({ atS: 20, waitS: 580, outcome: 'AGENT', serviceS: 30 }), // really answered at +600 s after 580 s
  ];
  const r = simulateCalls(calls, { seed: 5, staffing: plan([{ agent: 'ANNA', fromS: -60, toS: 3600 }]), acceptDelayS: [0, 0] });
  const day = r.days[0];
  assert.ok(day !== undefined);
  assert.equal(day.offered, 3);
  assert.equal(day.abandoned, 1);
  assert.equal(day.answered, 2);
  // The third caller is answered when the agent frees up at +600 s: a 580 s wait, as patient as in reality.
  assert.equal(day.asa_s, (0 + 580) / 2);
  // The longest wait of any call: 580 s answered (the abandoned one left at 45 s).
  assert.equal(day.max_wait_s, 580);
});

test('the abandoned caller leaves at exactly their patience, not before and not after', () => {
  for (const patience of [1, 30, 299]) {
    const calls = [call({ atS: 0, waitS: 0, outcome: 'AGENT', serviceS: 300 }), call({ atS: 0, waitS: patience, outcome: 'HANG' })];
    const r = simulateCalls(calls, { seed: 1, staffing: plan([{ agent: 'ANNA', fromS: -60, toS: 3600 }]), acceptDelayS: [0, 0] });
    assert.equal(r.total.abandoned, 1, `patience ${patience}`);
    assert.equal(r.total.max_wait_s, patience, `patience ${patience}`);
  }
  // With the agent free before that patience runs out, the same caller is answered instead.
  const calls = [call({ atS: 0, waitS: 0, outcome: 'AGENT', serviceS: 20 }), call({ atS: 0, waitS: 30, outcome: 'HANG' })];
  const r = simulateCalls(calls, { seed: 1, staffing: plan([{ agent: 'ANNA', fromS: -60, toS: 3600 }]), acceptDelayS: [0, 0] });
  assert.equal(r.total.abandoned, 0);
  assert.equal(r.total.answered, 2);
  assert.equal(r.total.max_wait_s, 20);
});

test('a caller never served in reality gets a handle time of a served call of the same type', () => {
  const calls = [
    call({ atS: 0, waitS: 0, outcome: 'AGENT', serviceS: 200, type: 'PS' }),
    call({ atS: 0, waitS: 0, outcome: 'AGENT', serviceS: 50, type: 'NW', server: 'BEN' }),
    call({ atS: 1000, waitS: 100, outcome: 'HANG', type: 'PS' }), // an agent is free: served in the simulation
  ];
  const r = simulateCalls(calls, { seed: 9, staffing: plan([{ agent: 'ANNA', fromS: -60, toS: 3600, types: ['PS', 'NW'] }, { agent: 'BEN', fromS: -60, toS: 3600, types: ['NW'] }]), acceptDelayS: [0, 0] });
  assert.equal(r.total.answered, 3);
  assert.equal(r.total.abandoned, 0);
  // Handle times 200 + 50 + the drawn one; only a PS service (200 s) may be drawn.
  assert.equal(r.total.aht_s, (200 + 50 + 200) / 3);
  assert.equal(r.facts.drawn_handle_times, 1);
  // After-call work lengthens every handle time by the same seconds.
  const wrapped = simulateCalls(calls, { seed: 9, staffing: plan([{ agent: 'ANNA', fromS: -60, toS: 3600, types: ['PS', 'NW'] }, { agent: 'BEN', fromS: -60, toS: 3600, types: ['NW'] }]), acceptDelayS: [0, 0], wrapUpS: 15 });
  assert.equal(wrapped.total.aht_s, (200 + 50 + 200) / 3 + 15);
});

test('agents follow their shifts: nobody answers before a shift starts or after it ends', () => {
  const calls = [
    call({ atS: 0, waitS: 0, outcome: 'AGENT', serviceS: 10 }),
    call({ atS: 1800, waitS: 0, outcome: 'AGENT', serviceS: 10 }),
    call({ atS: 4000, waitS: 5, outcome: 'AGENT', serviceS: 10 }),
  ];
  // Shift from +60 s to +3600 s: the first caller waits 60 s, the second is answered at once,
  // the third arrives after the shift and is never answered. No abandons in the log (θ̂ = 0):
  // infinite patience, so the task waits until TaskRouter's default task TTL (24 h) cancels it.
  const r = simulateCalls(calls, { seed: 1, staffing: plan([{ agent: 'ANNA', fromS: 60, toS: 3600 }]), acceptDelayS: [0, 0] });
  assert.equal(r.total.offered, 3);
  assert.equal(r.total.answered, 2);
  assert.equal(r.total.abandoned, 1);
  assert.equal(r.total.max_wait_s, 86_400);
  assert.equal(r.total.asa_s, 30);
  assert.equal(r.total.logged_in_hours, (3600 - 60) / 3600);
});

test('the engine routes: a priority caller who arrived later is answered first', () => {
  const calls = [
    call({ atS: 0, waitS: 0, outcome: 'AGENT', serviceS: 100 }), // agent busy until +100 s
    call({ atS: 10, waitS: 5, outcome: 'AGENT', serviceS: 50, priority: 0 }),
    call({ atS: 20, waitS: 5, outcome: 'AGENT', serviceS: 50, priority: 2 }),
  ];
  const r = simulateCalls(calls, { seed: 1, staffing: plan([{ agent: 'ANNA', fromS: -60, toS: 3600 }]), acceptDelayS: [0, 0] });
  // No abandons in this log (θ̂ = 0): nobody hangs up. The priority-2 caller is answered at
  // +100 s (80 s wait), the earlier priority-0 caller after that service, at +150 s (140 s wait).
  assert.equal(r.total.answered, 3);
  assert.equal(r.total.asa_s, (0 + 80 + 140) / 3);
  assert.equal(r.total.max_wait_s, 140);
});

test('accept delays stay inside the given range', () => {
  const calls = Array.from({ length: 40 }, (_, i) => call({ atS: i * 100, waitS: 0, outcome: 'AGENT', serviceS: 10 }));
  const r = simulateCalls(calls, { seed: 3, staffing: plan([{ agent: 'ANNA', fromS: -60, toS: 7200 }]), acceptDelayS: [1, 3] });
  assert.equal(r.total.answered, 40);
  assert.ok(r.total.asa_s >= 1 && r.total.asa_s <= 3, `ASA ${r.total.asa_s}`);
  assert.ok(r.total.max_wait_s <= 3);
  assert.throws(() => simulateCalls(calls, { seed: 3, staffing: plan([]), acceptDelayS: [3, 1] }), /accept delay/);
});

test('θ̂ is abandons over seconds waited, and served callers draw patience beyond their wait with mean 1/θ̂', () => {
  const calls = [
    call({ atS: 0, waitS: 100, outcome: 'HANG' }),
    call({ atS: 0, waitS: 300, outcome: 'AGENT', serviceS: 10 }),
    call({ atS: 0, waitS: 600, outcome: 'AGENT', serviceS: 10 }),
    call({ atS: 0, waitS: 20, outcome: 'HANG', type: 'NW' }),
    call({ atS: 0, waitS: 10, outcome: 'AGENT', type: 'NE', serviceS: 5 }),
    call({ atS: 0, waitS: 0, outcome: 'AGENT', type: 'IN', serviceS: 5 }), // served at once: not in θ̂
    call({ atS: 0, waitS: 0, outcome: 'HANG' }), // hung up as they asked: never queued, not in θ̂
  ];
  const rates = estimateAbandonmentRates(calls);
  assert.equal(rates.byType['PS'], 1 / 1000);
  assert.equal(rates.byType['NW'], 1 / 20);
  assert.equal(rates.pooled, 2 / 1030);
  assert.equal(rates.byType['IN'], undefined, 'no IN caller queued');
  assert.equal(rates.byType['NE'], rates.pooled, 'a type without abandons falls back to the pooled rate');
  const random = new Random(11);
  const served = calls[1] as CallRecord;
  let sum = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const p = drawPatience(served, rates, random);
    assert.ok(p > served.waitS);
    sum += p - served.waitS;
  }
  assert.ok(Math.abs(sum / n - 1000) < 40, `mean excess ${sum / n}`);
  assert.equal(drawPatience(calls[0] as CallRecord, rates, random), 100);
  const samples = handleTimeSamples(calls);
  // NW has no served call: a draw from all served calls' service times (10, 10, 5, 5 s).
  for (let i = 0; i < 20; i++) assert.ok([10, 5].includes(drawHandleTime(calls[3] as CallRecord, samples, random)), 'NW has no served call: pooled sample');
  assert.equal(drawHandleTime(calls[1] as CallRecord, samples, random), 10, 'a served call keeps its recorded service time');
});

test('staffing files: CSV and JSON parse; bad ones are refused naming the line or shift and the field', () => {
  const csv = 'agent,start,end,types\nANNA,1999-02-01T07:00,1999-02-01T15:00:00,PS|NW\nBEN,1999-02-01T08:00:00,1999-02-01T12:00:00,PS\n';
  const p = parseStaffing(csv, 'plan.csv', ['PS', 'NW']);
  assert.deepEqual(p.shifts.map((s) => [s.agent, s.types]), [['ANNA', ['NW', 'PS']], ['BEN', ['PS']]]);
  assert.equal(p.shifts[0]?.start, Date.UTC(1999, 1, 1, 7));
  const json = JSON.stringify({ shifts: [{ agent: 'ANNA', start: '1999-02-01T07:00:00', end: '1999-02-01T15:00:00', types: ['PS'] }] });
  assert.equal(parseStaffing(json, 'plan.json', ['PS']).shifts.length, 1);
  const bad: Array<[string, string, RegExp]> = [
    ['agent,begin,end,types\n', 'a.csv', /line 1: expected the header/],
    ['agent,start,end,types\nANNA,yesterday,1999-02-01T15:00,PS\n', 'a.csv', /line 2: start "yesterday"/],
    ['agent,start,end,types\nANNA,1999-02-01T15:00,1999-02-01T07:00,PS\n', 'a.csv', /line 2: end .* is before start/],
    ['agent,start,end,types\nANNA,1999-02-01T07:00,1999-02-01T15:00,XX\n', 'a.csv', /line 2: types XX do not occur in the log/],
    ['agent,start,end,types\nANNA,1999-02-01T07:00,1999-02-01T15:00\n', 'a.csv', /line 2: has 3 fields/],
    ['agent,start,end,types\nANNA,1999-02-01T07:00,1999-02-01T15:00,PS\nANNA,1999-02-01T14:00,1999-02-01T18:00,PS\n', 'a.csv', /ANNA has overlapping shifts/],
    ['agent,start,end,types\n', 'a.csv', /no shifts/],
    ['{"shifts":[{"agent":"","start":"1999-02-01T07:00","end":"1999-02-01T08:00","types":["PS"]}]}', 'a.json', /shifts\[0\]: agent is missing/],
    ['{"shifts":[{"agent":"A","start":"1999-02-30T07:00","end":"1999-02-01T08:00","types":["PS"]}]}', 'a.json', /shifts\[0\]: start "1999-02-30T07:00"/],
    ['{"shifts":[{"agent":"A","start":"1999-02-01T07:00","end":"1999-02-01T08:00","types":[]}]}', 'a.json', /shifts\[0\]: types must list/],
    ['{"shift":[]}', 'a.json', /"shifts" array/],
    ['{', 'a.json', /not valid JSON/],
  ];
  for (const [text, name, message] of bad) assert.throws(() => parseStaffing(text, name, ['PS', 'NW']), (e: unknown) => e instanceof StaffingError && message.test(e.message), text);
});

test('occupancy per day splits logged-in and busy time at midnight and leaves out excluded workers', () => {
  const H = 3_600_000;
  const midnight = Date.UTC(1999, 1, 2);
  let n = 0;
  const ev = (eventType: EngineEvent['eventType'], at: number, worker: string, data: Record<string, string> = {}): EngineEvent => ({
    sid: `EV${n++}`, eventType, at, resourceType: eventType.startsWith('worker') ? 'worker' : 'reservation', resourceSid: data['rs'] ?? `WK${worker}`,
    data: { worker_sid: `WK${worker}`, worker_name: worker, ...data },
  });
  const acc = new DailyOccupancyAccumulator(['Available'], (name) => name.startsWith('Unidentified'));
  for (const w of ['ANNA', 'Unidentified agent 1']) {
    acc.observe(ev('worker.activity.update', midnight - H, w, { worker_activity_name: 'Available' }));
    acc.observe(ev('reservation.accepted', midnight - H / 2, w, { rs: `WR${w}` }));
    acc.observe(ev('reservation.completed', midnight + H / 2, w, { rs: `WR${w}` }));
    // A reservation that was never accepted does not make the agent busy.
    acc.observe(ev('reservation.canceled', midnight + H / 2, w, { rs: 'WRother' }));
    acc.observe(ev('worker.activity.update', midnight + H, w, { worker_activity_name: 'Offline' }));
  }
  const days = acc.result();
  assert.deepEqual(days.map((d) => [d.date, d.logged_in_hours, d.busy_hours, d.occupancy]), [['1999-02-01', 1, 0.5, 0.5], ['1999-02-02', 1, 0.5, 0.5]]);
  assert.deepEqual(totalOccupancy(days), { date: 'total', logged_in_hours: 2, busy_hours: 1, occupancy: 0.5 });
});

const imported = await importAnonymousBank(SAMPLE);
const slice = (from: string, to: string): CallRecord[] => imported.calls.filter((c) => c.outcome !== 'PHANTOM' && c.date >= from && c.date <= to);

test('inferred staffing matches the replay: every agent who served, NO_SERVER answers spread over stand-ins', () => {
  const calls = slice('1999-02-01', '1999-02-14');
  const p = inferStaffing(calls);
  const named = new Set(calls.filter((c) => c.outcome === 'AGENT' && c.server !== null).map((c) => c.server));
  const agents = new Set(p.shifts.map((s) => s.agent));
  for (const name of named) assert.ok(agents.has(name as string), `${name} has shifts`);
  const standIns = [...agents].filter((a) => a.startsWith('Unidentified agent'));
  assert.ok(standIns.length >= 1);
  // Every service lies inside a shift of its agent.
  for (const c of calls) {
    if (c.outcome !== 'AGENT' || c.server === null) continue;
    const start = c.askedAt + c.waitS * S;
    assert.ok(p.shifts.some((s) => s.agent === c.server && s.start <= start && start + c.serviceS * S <= s.end), c.key);
  }
});

test('without callbacks, every arrival of the log becomes a task: offered per day equals the log, answered + abandoned = offered', () => {
  const calls = slice('1999-02-01', '1999-02-14');
  const r = simulateCalls(calls, { seed: 1, staffing: inferStaffing(calls) });
  const perDay = new Map<string, number>();
  for (const c of calls) perDay.set(c.date, (perDay.get(c.date) ?? 0) + 1);
  assert.equal(r.days.length, perDay.size);
  for (const d of r.days) {
    assert.equal(d.offered, perDay.get(d.date), d.date);
    assert.equal(d.answered + d.abandoned, d.offered, d.date);
    assert.equal(d.took_callback, 0);
    assert.ok(d.occupancy > 0 && d.occupancy <= 1, `${d.date} occupancy ${d.occupancy}`);
  }
  assert.equal(r.total.offered, calls.length);
  assert.equal(r.callbacks, null);
  // Reality is the bound: with agents on shift for the whole of every inferred stretch, fewer callers hang up.
  const realAbandoned = calls.filter((c) => c.outcome === 'HANG').length;
  assert.ok(r.total.abandoned < realAbandoned);
});

test('the same seed gives the identical report; another seed changes the random draws', async () => {
  const job = (seed: number) => runSimulateJob({ path: SAMPLE, from: '1999-02-03', to: '1999-02-03', seed, callbacks: DEFAULT_CALLBACK_POLICY });
  const strip = (r: Awaited<ReturnType<typeof job>>) => ({ ...r.report, timing: null });
  const [a, b, c] = [await job(42), await job(42), await job(43)];
  assert.deepEqual(strip(a), strip(b));
  assert.notDeepEqual(strip(a).total, strip(c).total);
  assert.equal(a.report.total.real.offered, a.report.total.simulated.offered);
});

test('a staffing file written from the inferred plan reproduces the inferred simulation exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-staffing-'));
  const inferred = await runSimulateJob({ path: SAMPLE, from: '1999-02-01', to: '1999-02-02', seed: 7, callbacks: null });
  const file = join(dir, 'staffing.csv');
  writeFileSync(file, staffingCsv(inferred.staffing));
  const given = await runSimulateJob({ path: SAMPLE, from: '1999-02-01', to: '1999-02-02', seed: 7, callbacks: null, staffingPath: file });
  assert.equal(given.report.options.staffing, file);
  assert.deepEqual(given.report.days, inferred.report.days);
  // Half the staff (every other agent's shifts dropped) makes things worse.
  const agents = [...new Set(inferred.staffing.shifts.map((s) => s.agent))].sort();
  const half = { source: 'half', shifts: inferred.staffing.shifts.filter((s) => agents.indexOf(s.agent) % 2 === 0) };
  writeFileSync(file, staffingCsv(half));
  const fewer = await runSimulateJob({ path: SAMPLE, from: '1999-02-01', to: '1999-02-02', seed: 7, callbacks: null, staffingPath: file });
  assert.ok(fewer.report.total.simulated.abandonment > inferred.report.total.simulated.abandonment);
  assert.ok(fewer.report.total.simulated.asa_s > inferred.report.total.simulated.asa_s);
});

// The two-week run with callbacks, shared by the callback tests below.
const twoWeeks = await runSimulateJob({ path: SAMPLE, seed: 1, callbacks: { ...DEFAULT_CALLBACK_POLICY, offerThresholdS: 60 } });

test('two weeks with callbacks offered above 60 s: fewer abandons than without, every taken callback accounted for', () => {
  const { simulated, simulated_with_callbacks: withCb, real } = twoWeeks.report.total;
  assert.ok(withCb !== null);
  assert.equal(real.offered, 17_313);
  assert.equal(simulated.offered, 17_313);
  assert.equal(withCb.offered, 17_313);
  assert.ok(withCb.abandonment < simulated.abandonment, `with ${withCb.abandonment} vs without ${simulated.abandonment}`);
  assert.ok((withCb.callbacks_offered ?? 0) > 0);
  assert.ok((withCb.callbacks_taken ?? 0) > 0 && (withCb.callbacks_taken ?? 0) <= (withCb.callbacks_offered ?? 0));
  // Live calls: answered + abandoned + took a callback = offered.
  assert.equal(withCb.answered + withCb.abandoned + (withCb.callbacks_taken ?? 0), withCb.offered);
  const statuses = twoWeeks.report.runs.simulated_with_callbacks?.callback_statuses ?? {};
  assert.equal(Object.values(statuses).reduce((a, b) => a + b, 0), withCb.callbacks_taken);
  assert.equal(statuses['completed'] ?? 0, withCb.callbacks_completed);
});

test('callback punctuality is counted over completed callbacks, and most start within their quoted range', () => {
  const t = twoWeeks.report.total.simulated_with_callbacks;
  assert.ok(t !== null && t.callback_punctuality !== null && t.callbacks_completed !== null);
  assert.equal(t.callback_punctuality, (t.callbacks_within_quoted_range ?? 0) / t.callbacks_completed);
  assert.ok((t.callbacks_bridged_within_quoted_range ?? 0) <= t.callbacks_completed);
  assert.ok(t.callback_punctuality > 0.5, `punctuality ${t.callback_punctuality}`);
});

test('at least 90 % of completed callbacks start within their quoted ECBT range (two weeks, customer-first, seed 1)', () => {
  const t = twoWeeks.report.total.simulated_with_callbacks;
  assert.ok(t !== null && t.callback_punctuality !== null && t.callbacks_completed !== null);
  assert.ok(t.callbacks_completed > 100, `only ${t.callbacks_completed} completed callbacks`);
  assert.ok(t.callback_punctuality >= 0.9, `punctuality ${t.callback_punctuality}`);
});

test('seeds 2 and 3: callbacks still lower abandonment and ≥ 90 % of completed callbacks start within their quoted range', () => {
  const calls = imported.calls.filter((c) => c.outcome !== 'PHANTOM');
  const staffing = inferStaffing(calls);
  for (const seed of [2, 3]) {
    const without = simulateCalls(calls, { seed, staffing });
    const withCb = simulateCalls(calls, { seed, staffing, callbacks: { ...DEFAULT_CALLBACK_POLICY, offerThresholdS: 60 } });
    const cb = withCb.callbacks?.total;
    assert.ok(cb !== undefined && cb.completed > 100, `seed ${seed}: ${cb?.completed} completed callbacks`);
    assert.ok(withCb.total.abandonment < without.total.abandonment, `seed ${seed}: with ${withCb.total.abandonment} vs without ${without.total.abandonment}`);
    assert.ok(cb.punctuality >= 0.9, `seed ${seed}: punctuality ${cb.punctuality}`);
  }
});

test('the HTML page escapes what comes from the report and needs nothing from the network', async () => {
  const report = structuredClone(twoWeeks.report);
  report.source.path = '/tmp/<script>alert(1)</script>.tsv';
  report.options.staffing = 'plan "<b>".csv';
  const html = await renderSimulationHtml(report);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(!html.includes('<script'));
  assert.ok(!html.includes('<b>'));
  assert.equal((html.match(/<svg/g) ?? []).length, 4);
  assert.match(html, /Completed callbacks started within the quoted ECBT range/);
});
