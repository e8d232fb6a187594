/**
 * The KPIs the analytics compute from the engine's events during a shadow replay must equal,
 * exactly and for every day, the KPIs computed straight from the call log by an independent
 * function (issue #3). The independent function below shares no code with the importer, the
 * replay or the analytics: it splits the file's lines itself.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DailyKpiAccumulator, type DailyKpis } from '../../src/analytics/kpi.ts';
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

test('KPIs from the engine events equal the KPIs straight from the log, every day', async () => {
  const imported = await importAnonymousBank(SAMPLE);
  const fromEvents = new DailyKpiAccumulator();
  replayCalls(imported.calls, { onEvent: (e) => fromEvents.observe(e) });
  const expected = kpisStraightFromFile(SAMPLE);
  const actual = fromEvents.result();
  assert.equal(expected.length, 14, 'the sample holds 14 days');
  assert.deepEqual(actual, expected);
});

test('a date range replays only those days, and their KPIs are unchanged', async () => {
  const imported = await importAnonymousBank(SAMPLE);
  const fromEvents = new DailyKpiAccumulator();
  const summary = replayCalls(imported.calls, { from: '1999-02-07', to: '1999-02-09', onEvent: (e) => fromEvents.observe(e) });
  const expected = kpisStraightFromFile(SAMPLE).filter((d) => d.date >= '1999-02-07' && d.date <= '1999-02-09');
  assert.deepEqual(fromEvents.result(), expected);
  assert.equal(summary.calls.length, expected.reduce((n, d) => n + d.offered, 0));
});
