/**
 * Simulation benchmark (issue 5, item 6): runs the whole `switchboard simulate --callbacks` job
 * on the two-week Anonymous Bank sample — import, the shadow replay for "what really happened",
 * the simulation without and with callbacks, report files — and prints calls per second and
 * total seconds. Best of two runs (the machine is shared). Ends with one JSON line
 * `{"simulate_two_weeks_s":…,"calls_per_s":…}`. Target: under 20 s. Run: `npm run bench:simulate`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CALLBACK_POLICY } from '../src/sim/simulate-callbacks.ts';
import { writeSimulationOutputs } from '../src/sim/simulate-files.ts';
import { runSimulateJob } from '../src/sim/simulate-job.ts';

const SAMPLE = fileURLToPath(new URL('../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));
const RUNS = 2;

const out = mkdtempSync(join(tmpdir(), 'switchboard-simulate-bench-'));
let best = Infinity;
let calls = 0;
let phases = { replay_s: 0, simulated_s: 0, simulated_with_callbacks_s: 0 as number | null };
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const result = await runSimulateJob({ path: SAMPLE, seed: 1, callbacks: DEFAULT_CALLBACK_POLICY });
  await writeSimulationOutputs(out, result);
  const s = (performance.now() - t0) / 1000;
  if (s < best) {
    best = s;
    calls = result.report.runs.simulated.calls;
    phases = result.report.timing;
  }
}
const rate = Math.round(calls / best);
console.log(`Switchboard simulate benchmark — ${calls.toLocaleString('en-US')} calls (two weeks, Anonymous Bank sample), Node ${process.version}, best of ${RUNS}`);
console.log(`shadow replay (what really happened): ${phases.replay_s.toFixed(2)} s`);
console.log(`simulation without callbacks:         ${phases.simulated_s.toFixed(2)} s = ${Math.round(calls / phases.simulated_s).toLocaleString('en-US')} calls/s`);
if (phases.simulated_with_callbacks_s !== null) {
  console.log(`simulation with callbacks:            ${phases.simulated_with_callbacks_s.toFixed(2)} s = ${Math.round(calls / phases.simulated_with_callbacks_s).toLocaleString('en-US')} calls/s`);
}
console.log(`whole job (import, replay, both simulations, report files): ${best.toFixed(2)} s = ${rate.toLocaleString('en-US')} calls/s (target: under 20 s)`);
console.log(JSON.stringify({ simulate_two_weeks_s: Number(best.toFixed(2)), calls_per_s: rate }));
