/**
 * Prints the sha256 of the seeded swarm's event log (test/sim/swarm.ts, checks off) for a range
 * of seeds, one `seed steps hash` line each: a refactor of the engine must leave every line
 * unchanged. Default: seeds 1–60 × 2,500 steps and 61–200 × 5,000 steps.
 *
 *     node test/sim/swarm-hashes.ts > /tmp/before.txt      # before the change
 *     node test/sim/swarm-hashes.ts | diff /tmp/before.txt -   # after it
 *
 * `SIM_SEEDS=1-10 SIM_STEPS=2500` narrows the run to those seeds at that many steps.
 */
import { runSeed } from './swarm.ts';

function plan(): [seed: number, steps: number][] {
  const range = process.env['SIM_SEEDS'];
  if (range === undefined) {
    const out: [number, number][] = [];
    for (let seed = 1; seed <= 200; seed++) out.push([seed, seed <= 60 ? 2_500 : 5_000]);
    return out;
  }
  const steps = Number(process.env['SIM_STEPS'] ?? 2_500);
  const m = /^(\d+)-(\d+)$/.exec(range);
  const [from, to] = m === null ? [Number(range), Number(range)] : [Number(m[1]), Number(m[2])];
  return Array.from({ length: to - from + 1 }, (_, i) => [from + i, steps] as [number, number]);
}

for (const [seed, steps] of plan()) {
  const { hash } = runSeed({ seed, steps, checks: false });
  process.stdout.write(`${seed} ${steps} ${hash}\n`);
}
