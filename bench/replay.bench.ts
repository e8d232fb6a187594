/**
 * Replay benchmark (issue #3): replays the two-week Anonymous Bank sample through the engine
 * and prints calls replayed per second — the engine alone, and the whole `switchboard replay`
 * job (import, replay with KPI, traffic and wait-time predictors, report files). Each is run
 * three times and the best run is reported, since the machine is shared. Ends with one JSON line.
 * Run: `npm run bench:replay`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importAnonymousBank } from '../src/sim/anonymous-bank.ts';
import { writeReplayOutputs } from '../src/sim/report-files.ts';
import { runReplayJob } from '../src/sim/replay-job.ts';
import { replayCalls } from '../src/sim/replay.ts';

const SAMPLE = fileURLToPath(new URL('../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));
const RUNS = 3;

const best = async (f: () => Promise<void> | void): Promise<number> => {
  let min = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await f();
    min = Math.min(min, (performance.now() - t0) / 1000);
  }
  return min;
};

const { calls } = await importAnonymousBank(SAMPLE);
let replayed = 0;
const engineS = await best(() => {
  replayed = replayCalls(calls).calls.length;
});
const out = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
const jobS = await best(async () => {
  await writeReplayOutputs(out, await runReplayJob({ path: SAMPLE }));
});
console.log(`Switchboard replay benchmark — ${replayed.toLocaleString('en-US')} calls (two weeks, Anonymous Bank sample), Node ${process.version}, best of ${RUNS}`);
console.log(`engine replay only:            ${engineS.toFixed(2)} s = ${Math.round(replayed / engineS).toLocaleString('en-US')} calls/s`);
console.log(`whole job (import → report):   ${jobS.toFixed(2)} s = ${Math.round(replayed / jobS).toLocaleString('en-US')} calls/s`);
console.log(JSON.stringify({ calls: replayed, engine_calls_per_s: Math.round(replayed / engineS), job_calls_per_s: Math.round(replayed / jobS), job_seconds: Number(jobS.toFixed(2)) }));
