/**
 * Same-process comparison of two engine builds on bench/engine.bench.ts's lifecycle load (15,000
 * workers, 200 queues, a 20-filter workflow, 10,000 workers busy; create → accept → complete):
 * runs of the engine in this checkout and of a base checkout alternate in one process, each on a
 * fresh workspace, so both see the same machine load and JIT state. Prints each run's rate
 * (lifecycles per second of wall clock, and per second of process CPU time) and the medians'
 * ratio new ÷ base; with `BENCH_BACKLOG=1` each run also starts with 50,000 tasks waiting.
 *
 *     git worktree add /tmp/engine-base <commit>
 *     BENCH_BASE=/tmp/engine-base node --expose-gc --max-semi-space-size=64 bench/engine-compare.ts
 *
 * Env: `BENCH_BASE` (checkout to compare with, default /tmp/engine-base), `BENCH_ROUNDS` (runs of
 * each, default 4), `BENCH_LIFECYCLES` (per run, default 200,000), `BENCH_BACKLOG`.
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
const LIFECYCLES = Number(process.env['BENCH_LIFECYCLES'] ?? 200_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 4);
const BASE = resolve(process.env['BENCH_BASE'] ?? '/tmp/engine-base');

async function load(dir: string): Promise<EngineClass> {
  const mod = (await import(pathToFileURL(resolve(dir, 'src/engine/index.ts')).href)) as { WorkspaceEngine: EngineClass };
  return mod.WorkspaceEngine;
}

/** One measured run: a fresh workspace, BUSY workers busy (and BACKLOG tasks waiting), then LIFECYCLES lifecycles. */
function run(Engine: EngineClass, seed: number): { wall: number; cpu: number } {
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
  completed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < LIFECYCLES; i++) {
    createTask();
    completeOldest();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall: completed / seconds, cpu: completed / ((cpu.user + cpu.system) / 1e6) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const engines: [name: string, Engine: EngineClass][] = [
  ['new', await load(resolve(import.meta.dirname, '..'))],
  ['base', await load(BASE)],
];
const results: Record<string, { wall: number[]; cpu: number[] }> = { new: { wall: [], cpu: [] }, base: { wall: [], cpu: [] } };
console.log(`engine compare: ${LIFECYCLES.toLocaleString('en-US')} lifecycles per run, ${ROUNDS} rounds, backlog ${BACKLOG}, base ${BASE}`);
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so neither always runs on the warmer machine.
  const order = round % 2 === 0 ? engines : [...engines].reverse();
  for (const [name, Engine] of order) {
    (globalThis as { gc?: () => void }).gc?.();
    const r = run(Engine, 1);
    results[name]?.wall.push(r.wall);
    results[name]?.cpu.push(r.cpu);
    console.log(`  round ${round + 1} ${name.padEnd(4)}: ${Math.round(r.wall).toLocaleString('en-US')}/s wall, ${Math.round(r.cpu).toLocaleString('en-US')}/s CPU`);
  }
}
const ratio = (k: 'wall' | 'cpu'): number => median(results['new']?.[k] ?? []) / median(results['base']?.[k] ?? []);
console.log(
  JSON.stringify({
    new_median_per_s: Math.round(median(results['new']?.wall ?? [])),
    base_median_per_s: Math.round(median(results['base']?.wall ?? [])),
    ratio_wall: Number(ratio('wall').toFixed(3)),
    ratio_cpu: Number(ratio('cpu').toFixed(3)),
  }),
);
