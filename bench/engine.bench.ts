/**
 * Engine benchmark at TaskRouter's own ceiling (issue #2): 15,000 workers with 3 of 20 skills
 * and a level, voice and chat channels, 200 task queues (one per skill × minimum level), and a
 * workflow with 20 filters, one per task type. Prints:
 *
 * - task lifecycles per second (create → reserve → accept → complete) with 10,000 of the
 *   workers busy and no task waiting, over 1,000,000 lifecycles by default;
 * - p50 / p99 / p99.9 time per command;
 * - the same with 50,000 tasks already waiting (every worker busy; each completion takes the
 *   head of a queue, each new task joins the back), as backlog_ratio = that rate ÷ the first;
 * - heap used with 100,000 pending tasks of 200-byte attributes.
 *
 * Ends with one JSON line. Virtual time advances 1 ms per command. Run: `npm run bench:engine`
 * (node --expose-gc). `BENCH_LIFECYCLES=200000` shortens the run.
 */
import { WorkspaceEngine, type EngineEvent } from '../src/engine/index.ts';
import { Random } from '../src/util/random.ts';
import { SequentialSids } from '../src/util/sid.ts';

const WORKERS = 15_000;
const SKILLS = 20;
const LEVELS = 10;
const LIFECYCLES = Number(process.env['BENCH_LIFECYCLES'] ?? 1_000_000);
const BACKLOG_LIFECYCLES = Math.min(LIFECYCLES, 250_000);
const BACKLOG = 50_000;
const BUSY = 10_000;
const PENDING_FOR_HEAP = 100_000;

interface Bench {
  engine: WorkspaceEngine;
  at: number;
  random: Random;
}

function buildWorkspace(seed: number, workersAvailable: boolean): Bench {
  const random = new Random(seed);
  let at = Date.UTC(2026, 0, 5, 8, 0, 0);
  const ids = new SequentialSids(seed);
  const { engine } = WorkspaceEngine.create({ friendlyName: 'bench', at, newSid: ids.next });
  const activity = (name: string): string => [...engine.activities.values()].find((a) => a.friendlyName === name)!.sid;
  const must = (sid: string | null, what: string): string => {
    if (sid === null) throw new Error(`${what} failed`);
    return sid;
  };
  const queue: string[] = [];
  for (let level = 0; level < LEVELS; level++) {
    for (let skill = 0; skill < SKILLS; skill++) {
      const out = engine.execute({
        type: 'createTaskQueue',
        at,
        friendlyName: `skill ${skill} level ${level}+`,
        targetWorkers: `skills HAS "s${skill}" AND level >= ${level}`,
      });
      queue[level * SKILLS + skill] = must(out.sid, `queue ${out.rejection?.message}`);
    }
  }
  const filters = Array.from({ length: SKILLS }, (_, j) => ({
    filter_friendly_name: `type t${j}`,
    expression: `type == "t${j}"`,
    targets: [{ queue: queue[j], priority: 1 }],
  }));
  must(
    engine.execute({ type: 'createWorkflow', at, friendlyName: 'bench', configuration: JSON.stringify({ task_routing: { filters } }) }).sid,
    'workflow',
  );
  const available = activity(workersAvailable ? 'Available' : 'Offline');
  for (let i = 0; i < WORKERS; i++) {
    const skills = new Set<number>();
    while (skills.size < 3) skills.add(random.int(0, SKILLS - 1));
    const attributes = JSON.stringify({ skills: [...skills].map((s) => `s${s}`), level: random.int(0, LEVELS - 1) });
    const w = must(engine.execute({ type: 'createWorker', at, friendlyName: `agent ${i}`, attributes, activitySid: available }).sid, 'worker');
    engine.execute({ type: 'updateWorkerChannel', at, workerSid: w, workerChannel: 'chat', capacity: 2 });
  }
  at += 1000;
  return { engine, at, random };
}

/** Drives lifecycles: each step creates one task, accepts every reservation made, completes the oldest assigned task. */
class Driver {
  readonly assigned: string[] = [];
  private head = 0;
  readonly durations: Float64Array;
  private n = 0;
  completed = 0;

  private readonly b: Bench;

  constructor(b: Bench, capacity: number) {
    this.b = b;
    this.durations = new Float64Array(capacity);
  }

  private run(command: Parameters<WorkspaceEngine['execute']>[0], timed: boolean): EngineEvent[] {
    // performance.now(): sub-microsecond resolution without allocating a BigInt per call.
    const t0 = timed ? performance.now() : 0;
    const out = this.b.engine.execute(command);
    if (timed) this.durations[this.n++] = (performance.now() - t0) * 1e6; // ns
    if (out.rejection !== null) throw new Error(`${command.type} rejected: ${out.rejection.message}`);
    return out.events;
  }

  /** Accepts every reservation created by these events (and by the accepts themselves). */
  private acceptAll(events: EngineEvent[], timed: boolean): void {
    for (const e of events) {
      if (e.eventType === 'reservation.created') {
        this.run({ type: 'updateReservation', at: this.b.at++, reservationSid: e.resourceSid, reservationStatus: 'accepted' }, timed);
        this.assigned.push(e.data['task_sid'] as string);
      } else if (e.eventType === 'task.completed') {
        this.completed += 1;
      }
    }
  }

  createTask(timed: boolean): void {
    const type = `t${this.b.random.int(0, SKILLS - 1)}`;
    const events = this.run({ type: 'createTask', at: this.b.at++, attributes: `{"type":"${type}","customer":"c${this.b.at}"}`, taskChannel: 'voice' }, timed);
    this.acceptAll(events, timed);
  }

  completeOldest(timed: boolean): void {
    const taskSid = this.assigned[this.head++] as string;
    if (this.head > 100_000) {
      this.assigned.splice(0, this.head);
      this.head = 0;
    }
    // Its task.completed event is counted by acceptAll, with the reservations the freed worker got.
    this.acceptAll(this.run({ type: 'updateTask', at: this.b.at++, taskSid, assignmentStatus: 'completed' }, timed), timed);
  }

  get busy(): number {
    return this.assigned.length - this.head;
  }

  percentiles(): { p50: number; p99: number; p999: number } {
    const d = this.durations.subarray(0, this.n).sort();
    const at = (q: number): number => (d[Math.min(d.length - 1, Math.floor(q * d.length))] as number) / 1000;
    return { p50: at(0.5), p99: at(0.99), p999: at(0.999) };
  }
}

function measure(label: string, lifecycles: number, prepare: (d: Driver) => void, b: Bench): { rate: number; d: Driver } {
  const d = new Driver(b, lifecycles * 3 + 10);
  prepare(d);
  d.completed = 0;
  const t0 = process.hrtime.bigint();
  let lastPrint = t0;
  for (let i = 0; i < lifecycles; i++) {
    d.createTask(true);
    d.completeOldest(true);
    if ((i & 0x3fff) === 0 && process.stderr.isTTY) {
      const now = process.hrtime.bigint();
      if (now - lastPrint > 500_000_000n) {
        process.stderr.write(`\r  ${label}: ${((i / lifecycles) * 100).toFixed(0)}% `);
        lastPrint = now;
      }
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const rate = d.completed / seconds;
  const p = d.percentiles();
  console.log(
    `${label}: ${d.completed.toLocaleString('en-US')} lifecycles in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')}/s; ` +
      `per command p50 ${p.p50.toFixed(1)} µs, p99 ${p.p99.toFixed(1)} µs, p99.9 ${p.p999.toFixed(1)} µs`,
  );
  return { rate, d };
}

function heapWithPending(): number {
  // Workers offline: every task stays pending.
  const b = buildWorkspace(3, false);
  const pad = 'x'.repeat(140);
  for (let i = 0; i < PENDING_FOR_HEAP; i++) {
    const attributes = JSON.stringify({ type: `t${i % SKILLS}`, customer: `c${i}`, note: pad }).slice(0, 200);
    const fixed = attributes.endsWith('}') ? attributes : `${attributes.slice(0, 198)}"}`;
    const out = b.engine.execute({ type: 'createTask', at: b.at++, attributes: fixed, taskChannel: 'voice' });
    if (out.rejection !== null) throw new Error(out.rejection.message);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const mb = process.memoryUsage().heapUsed / 2 ** 20;
  console.log(`heap used with ${PENDING_FOR_HEAP.toLocaleString('en-US')} pending tasks (200-byte attributes) and ${WORKERS.toLocaleString('en-US')} workers: ${mb.toFixed(0)} MB`);
  if (b.engine.tasks.size !== PENDING_FOR_HEAP) throw new Error('tasks were lost');
  return mb;
}

console.log(`Switchboard engine benchmark — ${WORKERS.toLocaleString('en-US')} workers, ${SKILLS * LEVELS} task queues, 20-filter workflow, Node ${process.version}`);

const heapMb = heapWithPending();
(globalThis as { gc?: () => void }).gc?.();

const base = buildWorkspace(1, true);
const baseline = measure(
  `no backlog (${BUSY.toLocaleString('en-US')} busy workers)`,
  LIFECYCLES,
  (d) => {
    while (d.busy < BUSY) d.createTask(false);
  },
  base,
);
const p99 = baseline.d.percentiles().p99;

const loaded = buildWorkspace(2, true);
const backlog = measure(
  `with ${BACKLOG.toLocaleString('en-US')} waiting`,
  BACKLOG_LIFECYCLES,
  (d) => {
    while (loaded.engine.tasks.size < WORKERS + BACKLOG) d.createTask(false);
    const waiting = [...loaded.engine.tasks.values()].filter((t) => t.assignmentStatus === 'pending').length;
    console.log(`  prepared: ${d.busy.toLocaleString('en-US')} busy workers, ${waiting.toLocaleString('en-US')} tasks waiting`);
  },
  loaded,
);
const backlogRatio = backlog.rate / baseline.rate;
console.log(`backlog ratio: ${backlogRatio.toFixed(2)}`);

console.log(
  JSON.stringify({
    lifecycles_per_s: Math.round(baseline.rate),
    p99_command_us: Number(p99.toFixed(1)),
    backlog_ratio: Number(backlogRatio.toFixed(3)),
    heap_mb_100k_pending: Math.round(heapMb),
  }),
);
