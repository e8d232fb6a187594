/**
 * Voice simulation benchmark (issue 12 item 5): runs the whole `switchboard simulate --voice` job
 * on the two-week Anonymous Bank sample — import, the shadow replay for "what really happened",
 * every call through the default call flow on the runtime's voice core over the simulated
 * telephone network, report files — and prints seconds and calls per second. Best of two runs
 * (the machine is shared). Ends with one JSON line `{"simulate_voice_two_weeks_s":…,"calls_per_s":…}`.
 * Target: under 30 s. Run: `npm run bench:simulate-voice`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulateVoiceCalls } from '../src/cli/simulate-voice.ts';
import { writeSimulationOutputs } from '../src/sim/simulate-files.ts';
import { runSimulateJob } from '../src/sim/simulate-job.ts';

const SAMPLE = fileURLToPath(new URL('../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));
const RUNS = 2;

const out = mkdtempSync(join(tmpdir(), 'switchboard-simulate-voice-bench-'));
let best = Infinity;
let calls = 0;
let phases = { replay_s: 0, simulated_s: 0 };
let batches = 0;
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const result = await runSimulateJob({ path: SAMPLE, seed: 1, callbacks: null, voice: { run: simulateVoiceCalls } });
  await writeSimulationOutputs(out, result);
  const s = (performance.now() - t0) / 1000;
  if (s < best) {
    best = s;
    calls = result.report.runs.simulated.calls;
    phases = result.report.timing;
    batches = result.report.runs.simulated.voice?.batches ?? 0;
  }
}
const rate = Math.round(calls / best);
console.log(`Switchboard simulate --voice benchmark — ${calls.toLocaleString('en-US')} calls (two weeks, Anonymous Bank sample), Node ${process.version}, best of ${RUNS}`);
console.log(`shadow replay (what really happened): ${phases.replay_s.toFixed(2)} s`);
console.log(`calls through the call flow:          ${phases.simulated_s.toFixed(2)} s = ${Math.round(calls / phases.simulated_s).toLocaleString('en-US')} calls/s, ${batches.toLocaleString('en-US')} runtime batches`);
console.log(`whole job (import, replay, voice run, report files): ${best.toFixed(2)} s = ${rate.toLocaleString('en-US')} calls/s (target: under 30 s)`);
console.log(JSON.stringify({ simulate_voice_two_weeks_s: Number(best.toFixed(2)), calls_per_s: rate }));
