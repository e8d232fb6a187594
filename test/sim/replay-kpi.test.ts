/**
 * The KPIs the analytics compute from the engine's events during a shadow replay must equal,
 * exactly and for every day, the KPIs computed straight from the call log by an independent
 * function (issue #3). The events go through the analytics projector (issue 14: one code path
 * with the live runtime) and the day figures are read off its engagements. The independent
 * function below shares no code with the importer, the replay or the analytics: it splits the
 * file's lines itself.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dailyKpis, ReplayAnalytics, type DailyKpis } from '../../src/analytics/kpi.ts';
import { AnalyticsProjector } from '../../src/analytics/projector.ts';
import { importAnonymousBank } from '../../src/sim/anonymous-bank.ts';
import { replayCalls } from '../../src/sim/replay.ts';

const SAMPLE = fileURLToPath(new URL('../../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));

/** Daily KPIs from the raw file: offered = AGENT + HANG, waits are q_time, handle times ser_time. */
function kpisStraightFromFile(path: string): DailyKpis[] {
  const lines = readFileSync(path, 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '');
  const byDay = new Map<string, { offered: number; answered: number; abandoned: number; wait: number; within: number; ser: number; max: number }>();
  for (const line of lines) {
    const f = line.split('\t').map((x) => x.trim());
    const outcome = f[12];
    if (outcome !== 'AGENT' && outcome !== 'HANG') continue;
    const yymmdd = f[5] as string;
    const date = `19${yymmdd.slice(0, 2)}-${yymmdd.slice(2, 4)}-${yymmdd.slice(4, 6)}`;
    const qTime = Number(f[11]);
    let d = byDay.get(date);
    if (d === undefined) byDay.set(date, (d = { offered: 0, answered: 0, abandoned: 0, wait: 0, within: 0, ser: 0, max: 0 }));
    d.offered += 1;
    d.max = Math.max(d.max, qTime);
    if (outcome === 'AGENT') {
      d.answered += 1;
      d.wait += qTime;
      if (qTime <= 20) d.within += 1;
      d.ser += Number(f[15]);
    } else {
      d.abandoned += 1;
    }
  }
  return [...byDay.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([date, d]) => ({
      date,
      offered: d.offered,
      answered: d.answered,
      abandoned: d.abandoned,
      asa_s: d.wait / d.answered,
      service_level_20s: d.within / d.offered,
      aht_s: d.ser / d.answered,
      max_wait_s: d.max,
    }));
}

test('KPIs from the engine events, through the projector, equal the KPIs straight from the log, every day', async () => {
  const imported = await importAnonymousBank(SAMPLE);
  const projector = new AnalyticsProjector();
  const fromEvents = new ReplayAnalytics(projector);
  let events = 0;
  replayCalls(imported.calls, { onEvent: (e) => (fromEvents.observe(e), (events += 1)) });
  const expected = kpisStraightFromFile(SAMPLE);
  const actual = fromEvents.days();
  assert.equal(expected.length, 14, 'the sample holds 14 days');
  assert.deepEqual(actual, expected);
  const stats = projector.stats();
  assert.deepEqual([stats.buffered, stats.late, stats.duplicates], [0, 0, 0], `every one of the ${events} events applied once`);

  // The same figures are a function of the projector's model alone: its engagements, and the
  // call's start (the log's VRU entry, the task's virtual start time) deciding the day.
  assert.deepEqual(dailyKpis(projector.engagements(), fromEvents.callStart), expected);
  // Without the call's start, a call counts on the day it queued: the 13 calls of the sample that
  // entered before midnight and asked for an agent after it move to the next day.
  const byQueueDay = dailyKpis(projector.engagements());
  const moved = byQueueDay.reduce((n, d, i) => n + Math.abs(d.offered - (expected[i]?.offered ?? 0)), 0);
  assert.ok(moved > 0 && moved <= 2 * 13, `calls asked for after midnight shift days (${moved})`);

  // Engagements per day agree with the KPIs: an answered call is one accepted queue engagement,
  // one accepted invitation and one agent engagement; an abandoned one a CustomerLeft engagement.
  const engagements = fromEvents.engagements(true);
  assert.deepEqual(engagements.map((d) => d.date), expected.map((d) => d.date));
  for (const [i, d] of engagements.entries()) {
    const k = expected[i] as DailyKpis;
    assert.deepEqual(
      [d.queue_engagements.Accepted, d.queue_engagements.CustomerLeft, d.invitations.Accepted, d.agent_engagements.count],
      [k.answered, k.abandoned, k.answered, k.answered],
      d.date,
    );
    assert.equal(d.queue_engagements.Moved + d.queue_engagements.Timeout + d.invitations.Missed, 0, 'a shadow replay has no moves, timeouts or missed invitations');
    assert.ok(Math.abs((d.agent_engagements.mean_handling_s ?? NaN) - k.aht_s) < 1e-9, `${d.date}: mean handling = AHT`);
    assert.ok(d.occupancy !== null && d.occupancy > 0 && d.occupancy <= 1, `${d.date}: occupancy ${d.occupancy}`);
    // The day's occupancy (one pass by day over the replay) is the projector's own for that UTC day.
    const dayStart = Date.parse(`${d.date}T00:00:00Z`);
    assert.equal(d.occupancy, projector.kpis({ from: dayStart, to: dayStart + 86_400_000 }).occupancy, `${d.date}: occupancy = kpis() of the day`);
  }
  // The conversation keeps the call's virtual start (the log's VRU entry): before its creation for the calls that waited in the VRU.
  const conversations = projector.conversations();
  assert.ok(conversations.every((c) => c.virtualStart <= c.start));
  assert.ok(conversations.some((c) => c.virtualStart < c.start), 'some calls spent time in the VRU before queueing');
});

test('a date range replays only those days, and their KPIs are unchanged', async () => {
  const imported = await importAnonymousBank(SAMPLE);
  const fromEvents = new ReplayAnalytics();
  const summary = replayCalls(imported.calls, { from: '1999-02-07', to: '1999-02-09', onEvent: (e) => fromEvents.observe(e) });
  const expected = kpisStraightFromFile(SAMPLE).filter((d) => d.date >= '1999-02-07' && d.date <= '1999-02-09');
  assert.deepEqual(fromEvents.days(), expected);
  assert.equal(summary.calls.length, expected.reduce((n, d) => n + d.offered, 0));
});
