/**
 * Same-process comparison of two engine builds on bench/engine.bench.ts's lifecycle load (15,000
 * workers, 200 queues, a 20-filter workflow, 10,000 workers busy; create → accept → complete).
 * The engine of this checkout and that of a base checkout each get a workspace in one process,
 * and chunks of lifecycles alternate between them, so both see the same machine load (this
 * machine is shared) and the same process. Prints each engine's rate (lifecycles per second of
 * wall clock and of process CPU time), the ratio new ÷ base, and the median of the per-round
 * ratios; with `BENCH_BACKLOG=1` both also start with 50,000 tasks waiting.
 *
 *     git worktree add /tmp/engine-base <commit>
 *     BENCH_BASE=/tmp/engine-base node --expose-gc --max-semi-space-size=64 bench/engine-compare.ts
 *
 * Env: `BENCH_BASE` (checkout to compare with, default /tmp/engine-base), `BENCH_NEW` (default this
 * checkout; another copy of the base gives an A/A run, to see the method's noise), `BENCH_ROUNDS` (chunks on
 * each engine, default 20), `BENCH_CHUNK` (lifecycles per chunk, default 20,000), `BENCH_BACKLOG`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command, EngineEvent, WorkspaceEngine } from '../src/engine/index.ts';
import { Random } from '../src/util/random.ts';
import { SequentialSids, type SidGenerator } from '../src/util/sid.ts';

interface EngineClass {
  create(options: { friendlyName: string; at: number; newSid: SidGenerator }): { engine: WorkspaceEngine };
}

const WORKERS = 15_000;
const SKILLS = 20;
const LEVELS = 10;
const BUSY = 10_000;
const BACKLOG = process.env['BENCH_BACKLOG'] === '1' ? 50_000 : 0;
const CHUNK = Number(process.env['BENCH_CHUNK'] ?? 20_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 20);
const BASE = resolve(process.env['BENCH_BASE'] ?? '/tmp/engine-base');
const NEW = resolve(process.env['BENCH_NEW'] ?? resolve(import.meta.dirname, '..'));

async function load(dir: string): Promise<EngineClass> {
  const mod = (await import(pathToFileURL(resolve(dir, 'src/engine/index.ts')).href)) as { WorkspaceEngine: EngineClass };
  return mod.WorkspaceEngine;
}

/** A workspace with BUSY workers busy (and BACKLOG tasks waiting); `step(n)` runs n lifecycles and returns how many tasks completed. */
function prepare(Engine: EngineClass, seed: number): { step: (n: number) => number } {
  const random = new Random(seed);
  let at = Date.UTC(2026, 0, 5, 8, 0, 0);
  const { engine } = Engine.create({ friendlyName: 'bench', at, newSid: new SequentialSids(seed).next });
  const exec = (command: Command): EngineEvent[] => {
    const out = engine.execute(command);
    if (out.rejection !== null) throw new Error(`${command.type} rejected: ${out.rejection.message}`);
    return out.events;
  };
  const queues: string[] = [];
  for (let level = 0; level < LEVELS; level++) {
    for (let skill = 0; skill < SKILLS; skill++) {
      const out = engine.execute({ type: 'createTaskQueue', at, friendlyName: `skill ${skill} level ${level}+`, targetWorkers: `skills HAS "s${skill}" AND level >= ${level}` });
      queues[level * SKILLS + skill] = out.sid as string;
    }
  }
  const filters = Array.from({ length: SKILLS }, (_, j) => ({ filter_friendly_name: `type t${j}`, expression: `type == "t${j}"`, targets: [{ queue: queues[j], priority: 1 }] }));
  exec({ type: 'createWorkflow', at, friendlyName: 'bench', configuration: JSON.stringify({ task_routing: { filters } }) });
  const available = [...engine.activities.values()].find((a) => a.friendlyName === 'Available')?.sid as string;
  for (let i = 0; i < WORKERS; i++) {
    const skills = new Set<number>();
    while (skills.size < 3) skills.add(random.int(0, SKILLS - 1));
    const attributes = JSON.stringify({ skills: [...skills].map((s) => `s${s}`), level: random.int(0, LEVELS - 1) });
    const out = engine.execute({ type: 'createWorker', at, friendlyName: `agent ${i}`, attributes, activitySid: available });
    exec({ type: 'updateWorkerChannel', at, workerSid: out.sid as string, workerChannel: 'chat', capacity: 2 });
  }
  at += 1000;
  const assigned: string[] = [];
  let head = 0;
  let completed = 0;
  const acceptAll = (events: EngineEvent[]): void => {
    for (const e of events) {
      if (e.eventType === 'reservation.created') {
        exec({ type: 'updateReservation', at: at++, reservationSid: e.resourceSid, reservationStatus: 'accepted' });
        assigned.push(e.data['task_sid'] as string);
      } else if (e.eventType === 'task.completed') {
        completed += 1;
      }
    }
  };
  const createTask = (): void => {
    acceptAll(exec({ type: 'createTask', at: at++, attributes: `{"type":"t${random.int(0, SKILLS - 1)}","customer":"c${at}"}`, taskChannel: 'voice' }));
  };
  const completeOldest = (): void => {
    const taskSid = assigned[head++] as string;
    if (head > 100_000) {
      assigned.splice(0, head);
      head = 0;
    }
    acceptAll(exec({ type: 'updateTask', at: at++, taskSid, assignmentStatus: 'completed' }));
  };
  while (assigned.length - head < BUSY) createTask();
  if (BACKLOG > 0) while (engine.tasks.size < WORKERS + BACKLOG) createTask();
  return {
    step(n: number): number {
      completed = 0;
      for (let i = 0; i < n; i++) {
        createTask();
        completeOldest();
      }
      return completed;
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const engines: [name: string, Engine: EngineClass][] = [
  ['new', await load(NEW)],
  ['base', await load(BASE)],
];
const gc = (globalThis as { gc?: () => void }).gc;
const benches = engines.map(([name, Engine]) => ({ name, bench: prepare(Engine, 1), wall: 0, cpu: 0, done: 0 }));
console.log(`engine compare: ${ROUNDS} rounds of ${CHUNK.toLocaleString('en-US')} lifecycles on each engine, interleaved; backlog ${BACKLOG}; base ${BASE}`);
for (const b of benches) b.bench.step(CHUNK); // warm-up, not counted
const ratios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so neither always runs right after a collection.
  const order = round % 2 === 0 ? benches : [...benches].reverse();
  const perRound = new Map<string, number>();
  for (const b of order) {
    gc?.();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const done = b.bench.step(CHUNK);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    b.wall += wall;
    b.cpu += (cpu.user + cpu.system) / 1e6;
    b.done += done;
    perRound.set(b.name, done / ((cpu.user + cpu.system) / 1e6));
  }
  ratios.push((perRound.get('new') as number) / (perRound.get('base') as number));
}
for (const b of benches) {
  console.log(`  ${b.name.padEnd(4)}: ${Math.round(b.done / b.wall).toLocaleString('en-US')}/s wall, ${Math.round(b.done / b.cpu).toLocaleString('en-US')}/s CPU`);
}
const [fresh, base] = benches as [(typeof benches)[number], (typeof benches)[number]];
console.log(
  JSON.stringify({
    new_per_s_cpu: Math.round(fresh.done / fresh.cpu),
    base_per_s_cpu: Math.round(base.done / base.cpu),
    ratio_cpu: Number((fresh.done / fresh.cpu / (base.done / base.cpu)).toFixed(3)),
    ratio_wall: Number((fresh.done / fresh.wall / (base.done / base.wall)).toFixed(3)),
    median_round_ratio_cpu: Number(median(ratios).toFixed(3)),
  }),
);
