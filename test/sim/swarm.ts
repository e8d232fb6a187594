/**
 * A seeded swarm simulation of one workspace (STYLE.md, TigerBeetle's VOPR): one seed decides
 * the workspace's options (multitasking, queue orders, TargetWorkers, workflows, workers and
 * their capacities) and then thousands of random commands, with virtual time moving on randomly
 * so reservations, steps and TTLs time out. See {@link runSeed} for what is checked.
 *
 * The command stream depends only on the seed and the engine's state, never on which checks
 * run: checks draw from their own generator. So a run without checks gives the same events,
 * which is how the determinism check works.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  WorkspaceEngine,
  taskQueueCumulative,
  taskQueueRealtime,
  workflowCumulative,
  workspaceCumulative,
  workspaceRealtime,
  type Command,
  type EngineEvent,
  type Outcome,
  type ReservationRecord,
  type TaskRecord,
  type WorkerRecord,
  type WorkspaceSnapshot,
} from '../../src/engine/index.ts';
import { checkInvariants } from '../../src/engine/invariants.ts';
import { Random } from '../../src/util/random.ts';
import { SequentialSids } from '../../src/util/sid.ts';
import { expectedRealtime, StatisticsOracle } from './statistics-oracle.ts';

/** Monday 2024-01-01 09:00:00.000 UTC. */
const T0 = 1_704_099_600_000;
const MINUTE_MS = 60_000;
const SKILLS = ['billing', 'sales', 'support', 'tech'] as const;
const LANGS = ['en', 'es', 'fr'] as const;
const TASK_CHANNELS = ['default', 'voice', 'chat'] as const;
const SPLITS = [30, 120];

/** TargetWorkers expressions (worker scope); some read the activity name or friendly name. */
const TARGET_WORKERS = [
  '1==1',
  'skills HAS "billing"',
  'skills HAS "sales" OR level >= 4',
  'level >= 3',
  'langs HAS "es"',
  'team == "a"',
  "activity_name IN ['Available', 'OnCall']",
  "activity_name != 'Offline' AND skills HAS 'support'",
  "friendly_name IN ['w1', 'w2', 'w3', 'w5', 'w8']",
  'team == "b" AND level < 3',
  '',
];
const FILTER_EXPRESSIONS = ['type == "billing"', 'priority_level >= 3', 'lang IN ["en", "es"]', 'vip == true', '1==1', 'type IN ["sales", "support"]'];
const TARGET_EXPRESSIONS = [
  'worker.level >= task.min_level',
  'task.lang IN worker.langs',
  'worker.channel.voice.assigned_tasks == 0',
  'worker.channel.chat.available_capacity_percentage >= 50',
  "worker.activity_name == 'Available'",
  'task.type IN worker.skills',
  'worker.team == "b" OR task.vip == true',
];
const ORDER_BY = ['worker.level DESC', 'worker.level ASC, worker.rank DESC', 'worker.rank'];

export interface RunOptions {
  seed: number;
  steps: number;
  /** Run invariants, audits and oracles (off for the determinism re-run). */
  checks: boolean;
  /** Called before each step's command runs (debugging aid). */
  beforeStep?: (step: number, engine: WorkspaceEngine, command: Command) => void;
}

export interface RunResult {
  /** sha256 of the whole event log as JSON. */
  hash: string;
  events: number;
  rejections: number;
  /** How many steps were also run on a twin restored just before them. */
  rejectionsDeepChecked: number;
  tasksCreated: number;
  reservationsAccepted: number;
}

/** One line per event list: type, resource and, where they differ from it, task and worker. */
export function describeEvents(events: readonly EngineEvent[]): string {
  return events
    .map((e) => {
      const task = e.data['task_sid'];
      const worker = e.data['worker_sid'];
      const extra = [task !== undefined && task !== e.resourceSid ? `task ${String(task)}` : '', worker !== undefined && worker !== e.resourceSid ? `worker ${String(worker)}` : '']
        .filter((x) => x !== '')
        .join(', ');
      return `${e.eventType} ${e.resourceSid}${extra === '' ? '' : ` (${extra})`}`;
    })
    .join('; ');
}

/** Runs one seed; throws with the seed and the step on the first failed check. */
export function runSeed(options: RunOptions): RunResult {
  const swarm = new Swarm(options);
  return swarm.run();
}

interface Catalog {
  activities: Record<'Offline' | 'Available' | 'Unavailable' | 'Busy' | 'OnCall' | 'Break', string>;
  queues: string[];
  workflows: string[];
}

class Swarm {
  private readonly seed: number;
  private readonly steps: number;
  private readonly checks: boolean;
  private readonly beforeStep: RunOptions['beforeStep'];
  private readonly rng: Random;
  /** Decides which checks to run; separate so the command stream never depends on checks. */
  private readonly checkRng: Random;
  private readonly sids: SequentialSids;
  private readonly engine: WorkspaceEngine;
  private readonly hash = createHash('sha256');
  private readonly oracle = new StatisticsOracle();
  private readonly catalog: Catalog;
  private now = T0;
  private workerCounter = 0;
  private step = -1;
  private eventCount = 0;
  private rejections = 0;
  private deepChecked = 0;
  /** The events of the step being checked, for failure messages. */
  private lastEvents: readonly EngineEvent[] = [];
  /** Commands from the restore point on, and the JSON of the events each produced. */
  private restorePoint: { step: number; snapshot: WorkspaceSnapshot; counter: number } | null = null;
  private readonly replay: { command: Command; events: string }[] = [];

  constructor(options: RunOptions) {
    this.seed = options.seed;
    this.steps = options.steps;
    this.checks = options.checks;
    this.beforeStep = options.beforeStep;
    this.rng = new Random(options.seed);
    this.checkRng = new Random(options.seed ^ 0x5eed5eed);
    this.sids = new SequentialSids(options.seed);
    const { engine, events } = WorkspaceEngine.create({
      friendlyName: `Swarm ${options.seed}`,
      at: T0,
      newSid: this.sids.next,
      multiTaskEnabled: this.rng.chance(0.5),
      prioritizeQueueOrder: this.rng.chance(0.7) ? 'FIFO' : 'LIFO',
    });
    this.engine = engine;
    this.record(events);
    const byName = (name: string): string => [...engine.activities.values()].find((a) => a.friendlyName === name)?.sid as string;
    this.catalog = {
      activities: {
        Offline: byName('Offline'),
        Available: byName('Available'),
        Unavailable: byName('Unavailable'),
        Busy: '',
        OnCall: '',
        Break: '',
      },
      queues: [],
      workflows: [],
    };
  }

  run(): RunResult {
    this.setUp();
    const restoreAt = this.rng.int(Math.floor(this.steps / 3), Math.floor((2 * this.steps) / 3));
    const statsAt = new Set([Math.floor(this.steps / 3), Math.floor((2 * this.steps) / 3)]);
    for (this.step = 0; this.step < this.steps; this.step++) {
      if (this.checks && this.step === restoreAt) this.takeRestorePoint();
      this.advanceClock();
      const { command, invalid } = this.nextCommand();
      this.beforeStep?.(this.step, this.engine, command);
      this.guard(command, () => this.perform(command, invalid));
      if (this.checks && statsAt.has(this.step)) this.guard(command, () => this.checkStatistics());
    }
    this.step = this.steps;
    this.lastEvents = [];
    const last: Command = { type: 'tick', at: this.now };
    if (this.checks) {
      this.guard(last, () => this.checkStatistics());
      this.guard(last, () => this.checkRestoreReplay());
    }
    return {
      hash: this.hash.digest('hex'),
      events: this.eventCount,
      rejections: this.rejections,
      rejectionsDeepChecked: this.deepChecked,
      tasksCreated: this.engine.statistics.cumulative(this.engine.workspace.sid, { startMs: T0, endMs: this.now + 1 }).tasksCreated,
      reservationsAccepted: this.engine.statistics.cumulative(this.engine.workspace.sid, { startMs: T0, endMs: this.now + 1 }).reservationsAccepted,
    };
  }

  /** Runs `body`; on failure rethrows with the seed, the step, the command and how to re-run. */
  private guard(command: Command, body: () => void): void {
    try {
      body();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `swarm seed ${this.seed}, step ${this.step} of ${this.steps}: ${message}\n` +
          `  command: ${JSON.stringify(command)}\n` +
          `  events: ${describeEvents(this.lastEvents)}\n` +
          `  re-run: SIM_SEEDS=${this.seed} SIM_STEPS=${this.steps} node --test test/sim/engine.sim.test.ts`,
        { cause: error },
      );
    }
  }

  private record(events: readonly EngineEvent[]): string {
    const json = JSON.stringify(events);
    this.hash.update(json);
    this.hash.update('\n');
    this.eventCount += events.length;
    for (const e of events) this.oracle.observe(e);
    return json;
  }

  /** Executes a command that must succeed (set-up). */
  private must(command: Command): string {
    const out = this.engine.execute(command);
    this.record(out.events);
    if (out.rejection !== null) throw new Error(`set-up command ${command.type} was refused: ${out.rejection.message}`);
    if (this.checks) checkInvariants(this.engine);
    return out.sid as string;
  }

  // ───────────────────────────── the workspace ─────────────────────────────

  private setUp(): void {
    const rng = this.rng;
    const at = this.now;
    const a = this.catalog.activities;
    a.Busy = this.must({ type: 'createActivity', at, friendlyName: 'Busy', available: false });
    a.OnCall = this.must({ type: 'createActivity', at, friendlyName: 'OnCall', available: true });
    a.Break = this.must({ type: 'createActivity', at, friendlyName: 'Break', available: false });
    if (rng.chance(0.3)) this.must({ type: 'updateTaskChannel', at, taskChannel: 'chat', channelOptimizedRouting: true });
    const queueCount = rng.int(2, 5);
    for (let i = 0; i < queueCount; i++) {
      this.catalog.queues.push(
        this.must({
          type: 'createTaskQueue',
          at,
          friendlyName: `q${i}`,
          targetWorkers: i === 0 ? '1==1' : rng.pick(TARGET_WORKERS),
          maxReservedWorkers: rng.int(1, 3),
          taskOrder: rng.chance(0.25) ? 'LIFO' : 'FIFO',
          ...this.queueActivities(),
        }),
      );
    }
    const workflowCount = rng.int(1, 2);
    for (let i = 0; i < workflowCount; i++) {
      this.catalog.workflows.push(
        this.must({
          type: 'createWorkflow',
          at,
          friendlyName: `wf${i}`,
          configuration: this.workflowConfiguration(),
          taskReservationTimeoutS: rng.int(5, 60),
        }),
      );
    }
    const workers = rng.int(4, 14);
    for (let i = 0; i < workers; i++) this.addWorker();
  }

  private queueActivities(): { reservationActivitySid?: string | null; assignmentActivitySid?: string | null } {
    const a = this.catalog.activities;
    const out: { reservationActivitySid?: string | null; assignmentActivitySid?: string | null } = {};
    if (this.rng.chance(0.2)) out.reservationActivitySid = this.rng.pick([a.OnCall, a.Busy, a.Unavailable]);
    if (this.rng.chance(0.25)) out.assignmentActivitySid = this.rng.pick([a.Busy, a.OnCall, a.Unavailable]);
    return out;
  }

  private workflowConfiguration(): string {
    const rng = this.rng;
    const queues = this.catalog.queues;
    const filters = [];
    const filterCount = rng.int(1, 4);
    for (let f = 0; f < filterCount; f++) {
      const targets = [];
      const targetCount = rng.int(1, 3);
      for (let t = 0; t < targetCount; t++) {
        const target: Record<string, unknown> = {};
        if (t === 0 || rng.chance(0.6)) target['queue'] = rng.pick(queues);
        if (rng.chance(0.3)) target['priority'] = rng.int(0, 10);
        if (t < targetCount - 1 ? rng.chance(0.8) : rng.chance(0.4)) target['timeout'] = rng.int(5, 90);
        if (rng.chance(0.3)) target['expression'] = rng.pick(TARGET_EXPRESSIONS);
        if (rng.chance(0.2)) target['order_by'] = rng.pick(ORDER_BY);
        if (rng.chance(0.15)) target['skip_if'] = rng.chance(0.7) ? 'workers.available == 0' : `workers.${this.catalog.activities.Offline} > 1`;
        if (rng.chance(0.1)) {
          if (rng.chance(0.5)) target['known_worker_sid'] = 'task.agent_sid';
          else target['known_worker_friendly_name'] = 'task.agent_name';
        }
        targets.push(target);
      }
      filters.push({ filter_friendly_name: `f${f}`, expression: rng.pick(FILTER_EXPRESSIONS), targets });
    }
    const routing: Record<string, unknown> = { filters };
    if (rng.chance(0.6)) routing['default_filter'] = rng.chance(0.3) ? { queue: rng.pick(queues), priority: rng.int(0, 5) } : { queue: rng.pick(queues) };
    return JSON.stringify({ task_routing: routing });
  }

  private workerAttributes(): string {
    const rng = this.rng;
    const attrs: Record<string, unknown> = {
      skills: SKILLS.filter(() => rng.chance(0.45)),
      level: rng.chance(0.1) ? String(rng.int(1, 5)) : rng.int(1, 5),
      langs: LANGS.filter(() => rng.chance(0.5)),
      team: rng.pick(['a', 'b']),
    };
    if (rng.chance(0.7)) attrs['rank'] = rng.int(0, 100);
    return JSON.stringify(attrs);
  }

  private addWorker(): void {
    const rng = this.rng;
    const a = this.catalog.activities;
    this.workerCounter += 1;
    const sid = this.must({
      type: 'createWorker',
      at: this.now,
      friendlyName: `w${this.workerCounter}`,
      attributes: this.workerAttributes(),
      activitySid: rng.chance(0.7) ? a.Available : rng.pick([a.Offline, a.OnCall, a.Break]),
    });
    this.must({ type: 'updateWorkerChannel', at: this.now, workerSid: sid, workerChannel: 'default', capacity: rng.int(0, 3) });
    if (rng.chance(0.2)) this.must({ type: 'updateWorkerChannel', at: this.now, workerSid: sid, workerChannel: 'voice', capacity: rng.int(0, 2) });
    this.must({ type: 'updateWorkerChannel', at: this.now, workerSid: sid, workerChannel: 'chat', capacity: rng.int(1, 4), available: rng.chance(0.9) });
  }

  // ───────────────────────────── commands ─────────────────────────────

  private advanceClock(): void {
    const rng = this.rng;
    const roll = rng.next();
    if (roll < 0.1) return;
    if (roll < 0.75) this.now += rng.int(1, 2_000);
    else if (roll < 0.96) this.now += rng.int(2_000, 20_000);
    else this.now += rng.int(20_000, 120_000);
  }

  private tasks(filter: (t: TaskRecord) => boolean): TaskRecord[] {
    return [...this.engine.tasks.values()].filter(filter);
  }

  private reservations(filter: (r: ReservationRecord) => boolean): ReservationRecord[] {
    return [...this.engine.reservations.values()].filter(filter);
  }

  private workers(): WorkerRecord[] {
    return [...this.engine.workers.values()];
  }

  /** Channels tasks use: the seeded three, and `email` once a step created it. */
  private taskChannels(): readonly string[] {
    return this.engine.findChannel('email') === undefined ? TASK_CHANNELS : [...TASK_CHANNELS, 'email'];
  }

  /** Rare channel changes: a new channel, a deleted (unused) one, channel-optimized routing. */
  private changeChannels(): Command {
    const rng = this.rng;
    const at = this.now;
    if (this.engine.findChannel('email') === undefined) return { type: 'createTaskChannel', at, friendlyName: 'E-mail', uniqueName: 'email' };
    if (this.engine.findChannel('sms') !== undefined && rng.chance(0.3)) return { type: 'deleteTaskChannel', at, taskChannel: 'sms' };
    const channel = rng.pick(['chat', 'voice', 'email']);
    return { type: 'updateTaskChannel', at, taskChannel: channel, channelOptimizedRouting: !this.engine.findChannel(channel)?.channelOptimizedRouting };
  }

  private nextCommand(): { command: Command; invalid: boolean } {
    const rng = this.rng;
    const at = this.now;
    const roll = rng.next() * 100;
    let command: Command | null = null;
    let invalid = false;
    if (roll < 22) command = this.createTask();
    else if (roll < 40) command = this.answerReservation('accepted');
    else if (roll < 47) command = this.answerReservation('rejected');
    else if (roll < 53) command = this.wrapTask();
    else if (roll < 63) command = this.completeTask();
    else if (roll < 66) command = this.cancelTask();
    else if (roll < 71) command = this.updateTask();
    else if (roll < 81) command = this.changeActivity();
    else if (roll < 85) command = this.changeWorkerAttributes();
    else if (roll < 89) command = this.changeWorkerChannel();
    else if (roll < 90.5) command = this.updateQueue();
    else if (roll < 92) command = this.deleteTask();
    else if (roll < 92.7) command = this.deleteWorker();
    else if (roll < 93.3) command = this.updateWorkflow();
    else if (roll < 93.6) command = this.renameSomething();
    else if (roll < 93.8) command = this.updateWorkspace();
    else if (roll < 94) command = this.changeChannels();
    else if (roll < 97.5) {
      command = this.invalidCommand();
      invalid = true;
    }
    if (command === null && this.engine.workers.size < 4) command = this.createWorkerCommand();
    return { command: command ?? { type: 'tick', at }, invalid };
  }

  private createWorkerCommand(): Command {
    this.workerCounter += 1;
    return {
      type: 'createWorker',
      at: this.now,
      friendlyName: `w${this.workerCounter}`,
      attributes: this.workerAttributes(),
      activitySid: this.catalog.activities.Available,
    };
  }

  private taskAttributes(): string {
    const rng = this.rng;
    const attrs: Record<string, unknown> = {
      type: rng.pick(['billing', 'sales', 'support', 'tech']),
      priority_level: rng.int(0, 5),
      lang: rng.pick(LANGS),
      vip: rng.chance(0.2),
      min_level: rng.int(1, 5),
    };
    const workers = this.workers();
    if (rng.chance(0.4) && workers.length > 0) attrs['agent_sid'] = rng.chance(0.9) ? rng.pick(workers).sid : 'WK00000000000000000000000000000000';
    if (rng.chance(0.4) && workers.length > 0) attrs['agent_name'] = rng.chance(0.5) ? rng.pick(workers).friendlyName.toUpperCase() : rng.pick(workers).friendlyName;
    return JSON.stringify(attrs);
  }

  private createTask(): Command {
    const rng = this.rng;
    const c: Extract<Command, { type: 'createTask' }> = { type: 'createTask', at: this.now, attributes: this.taskAttributes() };
    if (rng.chance(0.5)) c.priority = rng.int(0, 10);
    if (rng.chance(0.6)) c.timeoutS = rng.int(20, 900);
    if (rng.chance(0.85)) c.taskChannel = rng.pick(this.taskChannels());
    if (rng.chance(0.1)) c.virtualStartTime = this.now - rng.int(0, 3_600_000);
    const route = rng.next();
    const workers = this.workers();
    if (route < 0.12) {
      c.routingTarget = rng.pick(this.catalog.queues);
    } else if (route < 0.17) {
      c.taskQueueSid = rng.pick(this.catalog.queues);
    } else if (route < 0.25 && workers.length > 0) {
      c.routingTarget = rng.pick(workers).sid;
      const ignore = rng.next();
      if (ignore < 0.3) c.ignoreCapacity = false;
      else if (ignore < 0.5) c.ignoreCapacity = true;
    } else if (route < 0.28) {
      c.routingTarget = rng.pick(this.catalog.workflows);
    } else if (this.catalog.workflows.length > 1 || rng.chance(0.5)) {
      c.workflowSid = rng.pick(this.catalog.workflows);
    }
    return c;
  }

  private answerReservation(status: 'accepted' | 'rejected'): Command | null {
    const pending = this.reservations((r) => r.reservationStatus === 'pending');
    if (pending.length === 0) return null;
    const r = this.rng.pick(pending);
    const c: Extract<Command, { type: 'updateReservation' }> = { type: 'updateReservation', at: this.now, reservationSid: r.sid, reservationStatus: status };
    // Addressed as the API does: by SID alone, or under the task's or the worker's path.
    const path = this.rng.next();
    if (path < 0.3) c.taskSid = r.taskSid;
    else if (path < 0.5) c.workerSid = r.workerSid;
    if (status === 'rejected' && this.rng.chance(0.5)) c.workerActivitySid = this.pickActivity();
    return c;
  }

  private pickActivity(): string {
    const a = this.catalog.activities;
    return this.rng.chance(0.5) ? a.Available : this.rng.pick([a.Offline, a.Unavailable, a.Busy, a.OnCall, a.Break]);
  }

  private wrapTask(): Command | null {
    const assigned = this.tasks((t) => t.assignmentStatus === 'assigned');
    if (assigned.length === 0) return null;
    const t = this.rng.pick(assigned);
    if (this.rng.chance(0.5)) return { type: 'updateTask', at: this.now, taskSid: t.sid, assignmentStatus: 'wrapping' };
    const r = this.reservations((x) => x.taskSid === t.sid && x.reservationStatus === 'accepted')[0];
    if (r === undefined) return null;
    return { type: 'updateReservation', at: this.now, reservationSid: r.sid, reservationStatus: 'wrapping' };
  }

  private completeTask(): Command | null {
    const active = this.tasks((t) => t.assignmentStatus === 'assigned' || t.assignmentStatus === 'wrapping');
    if (active.length === 0) return null;
    const t = this.rng.pick(active);
    if (this.rng.chance(0.5)) return { type: 'updateTask', at: this.now, taskSid: t.sid, assignmentStatus: 'completed', ...(this.rng.chance(0.3) ? { reason: 'done' } : {}) };
    const r = this.reservations((x) => x.taskSid === t.sid && (x.reservationStatus === 'accepted' || x.reservationStatus === 'wrapping'))[0];
    if (r === undefined) return null;
    return { type: 'updateReservation', at: this.now, reservationSid: r.sid, reservationStatus: 'completed' };
  }

  private cancelTask(): Command | null {
    const waiting = this.tasks((t) => t.assignmentStatus === 'pending' || t.assignmentStatus === 'reserved');
    if (waiting.length === 0) return null;
    return { type: 'updateTask', at: this.now, taskSid: this.rng.pick(waiting).sid, assignmentStatus: 'canceled', reason: 'caller hung up' };
  }

  private updateTask(): Command | null {
    const all = this.tasks(() => true);
    if (all.length === 0) return null;
    const rng = this.rng;
    const t = rng.pick(all);
    const c: Extract<Command, { type: 'updateTask' }> = { type: 'updateTask', at: this.now, taskSid: t.sid };
    const roll = rng.next();
    if (roll < 0.5) c.attributes = this.taskAttributes();
    else if (roll < 0.8) c.priority = rng.int(0, 10);
    else if (roll < 0.9) c.taskChannel = rng.pick(this.taskChannels());
    else c.virtualStartTime = this.now - rng.int(0, 600_000);
    if (rng.chance(0.1)) c.ifMatch = t.version;
    return c;
  }

  private changeActivity(): Command | null {
    const workers = this.workers();
    if (workers.length === 0) return null;
    const rng = this.rng;
    const w = rng.pick(workers);
    const activity = this.pickActivity();
    const c: Extract<Command, { type: 'updateWorker' }> = { type: 'updateWorker', at: this.now, workerSid: w.sid, activitySid: activity };
    const available = this.engine.activities.get(activity)?.available === true;
    if (!available && rng.chance(0.3)) c.rejectPendingReservations = true;
    return c;
  }

  private changeWorkerAttributes(): Command | null {
    const workers = this.workers();
    if (workers.length === 0) return null;
    return { type: 'updateWorker', at: this.now, workerSid: this.rng.pick(workers).sid, attributes: this.workerAttributes() };
  }

  private changeWorkerChannel(): Command | null {
    const workers = this.workers();
    if (workers.length === 0) return null;
    const rng = this.rng;
    const c: Extract<Command, { type: 'updateWorkerChannel' }> = {
      type: 'updateWorkerChannel',
      at: this.now,
      workerSid: rng.pick(workers).sid,
      workerChannel: rng.pick(this.taskChannels()),
    };
    if (rng.chance(0.6)) c.capacity = rng.int(0, 4);
    else c.available = rng.chance(0.7);
    return c;
  }

  private updateQueue(): Command {
    const rng = this.rng;
    const c: Extract<Command, { type: 'updateTaskQueue' }> = { type: 'updateTaskQueue', at: this.now, taskQueueSid: rng.pick(this.catalog.queues) };
    const roll = rng.next();
    if (roll < 0.4) c.targetWorkers = rng.pick(TARGET_WORKERS);
    else if (roll < 0.7) c.maxReservedWorkers = rng.int(1, 3);
    else if (roll < 0.85) c.taskOrder = rng.chance(0.5) ? 'LIFO' : 'FIFO';
    else Object.assign(c, { reservationActivitySid: null, assignmentActivitySid: null }, this.queueActivities());
    return c;
  }

  private deleteTask(): Command | null {
    const all = this.tasks(() => true);
    if (all.length === 0) return null;
    return { type: 'deleteTask', at: this.now, taskSid: this.rng.pick(all).sid };
  }

  private deleteWorker(): Command | null {
    const workers = this.workers();
    if (workers.length <= 4) return this.createWorkerCommand();
    const idle = workers.filter((w) => [...w.openReservations].every((r) => this.engine.reservations.get(r)?.reservationStatus === 'pending'));
    if (idle.length === 0) return null;
    return { type: 'deleteWorker', at: this.now, workerSid: this.rng.pick(idle).sid };
  }

  private updateWorkflow(): Command {
    const rng = this.rng;
    const c: Extract<Command, { type: 'updateWorkflow' }> = { type: 'updateWorkflow', at: this.now, workflowSid: rng.pick(this.catalog.workflows) };
    if (rng.chance(0.7)) {
      // Without ReEvaluateTasks, waiting tasks keep their filter and step indexes, which now
      // point into the new plan (or past its end).
      c.configuration = this.workflowConfiguration();
      c.reEvaluateTasks = rng.chance(0.5);
    } else {
      c.taskReservationTimeoutS = rng.int(5, 60);
      if (rng.chance(0.5)) c.reEvaluateTasks = rng.chance(0.5);
    }
    return c;
  }

  private renameSomething(): Command | null {
    const rng = this.rng;
    if (rng.chance(0.5)) {
      const a = this.catalog.activities;
      const sid = rng.pick([a.Available, a.OnCall]);
      const current = this.engine.activities.get(sid)?.friendlyName ?? '';
      const base = sid === a.Available ? 'Available' : 'OnCall';
      return { type: 'updateActivity', at: this.now, activitySid: sid, friendlyName: current === base ? `${base}2` : base };
    }
    const workers = this.workers();
    if (workers.length === 0) return null;
    this.workerCounter += 1;
    return { type: 'updateWorker', at: this.now, workerSid: rng.pick(workers).sid, friendlyName: rng.chance(0.5) ? `w${rng.int(1, 8)}` : `w${this.workerCounter}` };
  }

  private updateWorkspace(): Command {
    const rng = this.rng;
    if (rng.chance(0.5)) return { type: 'updateWorkspace', at: this.now, prioritizeQueueOrder: rng.chance(0.5) ? 'FIFO' : 'LIFO' };
    return { type: 'updateWorkspace', at: this.now, multiTaskEnabled: !this.engine.workspace.multiTaskEnabled };
  }

  /** A command that should be refused (it sometimes turns out valid; that is fine too). */
  private invalidCommand(): Command | null {
    const rng = this.rng;
    const at = this.now;
    const workers = this.workers();
    const w = workers.length > 0 ? rng.pick(workers) : undefined;
    const tasks = this.tasks(() => true);
    const t = tasks.length > 0 ? rng.pick(tasks) : undefined;
    const closed = this.reservations((r) => r.reservationStatus !== 'pending');
    const a = this.catalog.activities;
    switch (rng.int(0, 17)) {
      case 0:
        return closed.length === 0 ? null : { type: 'updateReservation', at, reservationSid: rng.pick(closed).sid, reservationStatus: rng.chance(0.5) ? 'accepted' : 'rejected' };
      case 1: {
        const pending = this.reservations((r) => r.reservationStatus === 'pending');
        return pending.length === 0 ? null : { type: 'updateReservation', at, reservationSid: rng.pick(pending).sid, reservationStatus: rng.chance(0.5) ? 'wrapping' : 'completed' };
      }
      case 2: {
        const assigned = this.tasks((x) => x.assignmentStatus === 'assigned' || x.assignmentStatus === 'wrapping');
        return assigned.length === 0 ? null : { type: 'updateTask', at, taskSid: rng.pick(assigned).sid, assignmentStatus: 'canceled' };
      }
      case 3: {
        const waiting = this.tasks((x) => x.assignmentStatus === 'pending' || x.assignmentStatus === 'reserved');
        return waiting.length === 0 ? null : { type: 'updateTask', at, taskSid: rng.pick(waiting).sid, assignmentStatus: rng.chance(0.5) ? 'wrapping' : 'completed' };
      }
      case 4:
        return { type: 'createTask', at, attributes: '{"type": "billing"', workflowSid: this.catalog.workflows[0] as string };
      case 5:
        return { type: 'createTask', at, priority: -1, workflowSid: this.catalog.workflows[0] as string };
      case 6:
        return { type: 'createTask', at, taskChannel: 'fax', workflowSid: this.catalog.workflows[0] as string };
      case 7:
        return { type: 'createTask', at, ignoreCapacity: true, routingTarget: rng.pick(this.catalog.queues) };
      case 8:
        return w === undefined ? null : { type: 'updateWorker', at, workerSid: w.sid, activitySid: a.Available, rejectPendingReservations: true };
      case 9:
        return w === undefined ? null : { type: 'updateWorker', at, workerSid: w.sid, activitySid: a.Offline, ifMatch: w.version + 1 };
      case 10: {
        const other = workers.find((x) => x !== w);
        return w === undefined || other === undefined ? null : { type: 'updateWorker', at, workerSid: w.sid, friendlyName: other.friendlyName.toUpperCase(), attributes: '{}' };
      }
      case 11:
        return w === undefined ? null : { type: 'updateWorkerChannel', at, workerSid: w.sid, workerChannel: 'chat', capacity: 99 };
      case 12: {
        const busy = workers.filter((x) => [...x.openReservations].some((r) => this.engine.reservations.get(r)?.reservationStatus !== 'pending'));
        return busy.length === 0 ? null : { type: 'deleteWorker', at, workerSid: rng.pick(busy).sid };
      }
      case 13:
        return { type: 'updateTaskQueue', at, taskQueueSid: rng.pick(this.catalog.queues), targetWorkers: 'skill-level > 3', maxReservedWorkers: 2 };
      case 14:
        return { type: 'updateWorkflow', at, workflowSid: rng.pick(this.catalog.workflows), configuration: '{"task_routing":{"filters":[{"expression":"1==1","targets":[{"queue":"WQ00000000000000000000000000000000"}]}]}}', reEvaluateTasks: true };
      case 15:
        return t === undefined ? null : { type: 'updateTask', at, taskSid: t.sid, priority: 5, ifMatch: t.version + 1 };
      case 16: {
        const terminal = this.tasks((x) => x.assignmentStatus === 'completed' || x.assignmentStatus === 'canceled');
        return terminal.length === 0 ? null : { type: 'updateTask', at, taskSid: rng.pick(terminal).sid, attributes: '{"type":"sales"}' };
      }
      default:
        return { type: 'deleteActivity', at, activitySid: a.Offline };
    }
  }

  // ───────────────────────────── executing and checking ─────────────────────────────

  private perform(command: Command, invalid: boolean): void {
    const e = this.engine;
    // Some steps also run on a twin restored from a snapshot taken just before (see below).
    const deep = this.checks && this.checkRng.chance(invalid ? 0.2 : 0.01);
    const before = deep ? { snapshot: e.snapshot(), counter: this.sids.counter } : null;
    const timerDue = (e.nextDeadline() ?? Infinity) <= command.at;
    const previousNow = e.now;
    const out = e.execute(command);
    this.lastEvents = out.events;
    const json = this.record(out.events);
    if (this.restorePoint !== null) this.replay.push({ command, events: json });
    if (out.rejection !== null) this.rejections += 1;
    if (!this.checks) return;
    let last = previousNow;
    for (const ev of out.events) {
      assert.ok(ev.at >= last && ev.at <= command.at, `event ${ev.sid} ${ev.eventType} at ${ev.at} is outside [${last}, ${command.at}]`);
      last = ev.at;
    }
    checkInvariants(e);
    if (out.rejection !== null) {
      if (!timerDue) assert.deepEqual(out.events.map((x) => x.eventType), [], `refused ${command.type} (${out.rejection.code}) emitted events with no timer due`);
      if (before !== null) this.checkRejectionChangedNothing(command, out, before);
    } else {
      this.audit(command, out);
      if (before !== null) this.checkTwin(command, out, before);
    }
  }

  /** A twin restored from the snapshot before the step runs it to the same events and state. */
  private checkTwin(command: Command, out: Outcome, before: { snapshot: WorkspaceSnapshot; counter: number }): void {
    const twinSids = new SequentialSids(this.seed, before.counter);
    const twin = WorkspaceEngine.restore(before.snapshot, twinSids.next);
    const expected = twin.execute(command);
    if (JSON.stringify(out.events) !== JSON.stringify(expected.events)) {
      throw new Error(`a twin restored just before ${command.type} emitted other events\n  original: ${describeEvents(out.events)}\n  restored: ${describeEvents(expected.events)}`);
    }
    assert.equal(JSON.stringify(twin.snapshot()), JSON.stringify(this.engine.snapshot()), `a twin restored just before ${command.type} ended in another state`);
    this.deepChecked += 1;
  }

  /** A refused command did exactly what a bare tick to its instant does, and nothing else. */
  private checkRejectionChangedNothing(command: Command, out: Outcome, before: { snapshot: WorkspaceSnapshot; counter: number }): void {
    const twinSids = new SequentialSids(this.seed, before.counter);
    const twin = WorkspaceEngine.restore(before.snapshot, twinSids.next);
    const expected = twin.advanceTo(command.at);
    assert.equal(JSON.stringify(out.events), JSON.stringify(expected.events), `refused ${command.type} emitted other events than a tick would`);
    assert.equal(JSON.stringify(this.engine.snapshot()), JSON.stringify(twin.snapshot()), `refused ${command.type} (${out.rejection?.code}) changed the state`);
    assert.equal(this.sids.counter, twinSids.counter, `refused ${command.type} used SIDs`);
    this.deepChecked += 1;
  }

  /** Command-level expectations beyond the invariants (an auditor's view of each reply). */
  private audit(command: Command, out: Outcome): void {
    const e = this.engine;
    switch (command.type) {
      case 'updateReservation': {
        const r = e.reservations.get(command.reservationSid) as ReservationRecord;
        const task = e.tasks.get(r.taskSid) as TaskRecord;
        if (command.reservationStatus === 'accepted') {
          assert.ok(r.reservationStatus === 'accepted' && task.assignmentStatus === 'assigned', `accepted reservation ${r.sid} is ${r.reservationStatus}, task ${task.assignmentStatus}`);
        } else if (command.reservationStatus === 'rejected') {
          assert.equal(r.reservationStatus, 'rejected');
          const w = e.workers.get(r.workerSid) as WorkerRecord;
          if (command.workerActivitySid !== undefined && !e.activities.get(command.workerActivitySid)?.available) {
            assert.equal(w.activitySid, command.workerActivitySid, `worker ${w.sid} rejected ${r.sid} with WorkerActivitySid but holds another activity`);
          }
        }
        return;
      }
      case 'updateWorker': {
        const w = e.workers.get(command.workerSid) as WorkerRecord;
        if (command.rejectPendingReservations === true) {
          assert.equal(w.activitySid, command.activitySid, `worker ${w.sid} asked for ${command.activitySid} with RejectPendingReservations but holds ${w.activitySid}`);
          // A task routed to this worker with IgnoreCapacity is offered to it again at once.
          const pending = [...w.openReservations].filter((rsid) => {
            const r = e.reservations.get(rsid) as ReservationRecord;
            const t = e.tasks.get(r.taskSid) as TaskRecord;
            return r.reservationStatus === 'pending' && !(t.taskQueueSid === null && t.ignoreCapacity);
          });
          assert.deepEqual(pending, [], `worker ${w.sid} keeps pending reservations after RejectPendingReservations`);
        }
        return;
      }
      case 'updateTask': {
        const t = e.tasks.get(command.taskSid) as TaskRecord;
        if (command.assignmentStatus !== undefined) assert.equal(t.assignmentStatus, command.assignmentStatus);
        return;
      }
      case 'createTask':
        assert.ok(out.sid !== null && out.events.some((x) => x.eventType === 'task.created' && x.resourceSid === out.sid));
        return;
      default:
        return;
    }
  }

  private takeRestorePoint(): void {
    this.restorePoint = { step: this.step, snapshot: this.engine.snapshot(), counter: this.sids.counter };
  }

  /** A restored engine given the same commands from the restore point emits the same events. */
  private checkRestoreReplay(): void {
    const point = this.restorePoint;
    if (point === null) return;
    const sids = new SequentialSids(this.seed, point.counter);
    const restored = WorkspaceEngine.restore(point.snapshot, sids.next);
    checkInvariants(restored);
    this.replay.forEach(({ command, events }, i) => {
      const out = restored.execute(command);
      const json = JSON.stringify(out.events);
      if (json !== events) {
        const original = JSON.parse(events) as EngineEvent[];
        throw new Error(
          `after restoring the snapshot of step ${point.step}, replayed step ${point.step + i} (${JSON.stringify(command)}) emitted other events\n` +
            `  original: ${describeEvents(original)}\n  restored: ${describeEvents(out.events)}`,
        );
      }
    });
    assert.equal(JSON.stringify(restored.snapshot()), JSON.stringify(this.engine.snapshot()), 'the restored engine ended in another state');
  }

  /** Cumulative and real-time statistics equal the independent oracle's (spec §10). */
  private checkStatistics(): void {
    const e = this.engine;
    const end = Math.ceil((e.now + 1) / MINUTE_MS) * MINUTE_MS;
    const start = Math.floor(T0 / MINUTE_MS) * MINUTE_MS;
    const windows = [
      { startMs: start, endMs: end },
      { startMs: end - 15 * MINUTE_MS, endMs: end },
    ];
    const minutes = (end - start) / MINUTE_MS;
    const from = this.checkRng.int(0, minutes - 1);
    windows.push({ startMs: start + from * MINUTE_MS, endMs: start + this.checkRng.int(from + 1, minutes) * MINUTE_MS });
    for (const w of windows) {
      const label = `window [${new Date(w.startMs).toISOString()}, ${new Date(w.endMs).toISOString()})`;
      const pick = (actual: Record<string, unknown>, expected: Record<string, unknown>): Record<string, unknown> =>
        Object.fromEntries(Object.keys(expected).map((k) => [k, actual[k]]));
      const ws = this.oracle.cumulative('workspace', e.workspace.sid, w.startMs, w.endMs, SPLITS);
      assert.deepEqual(pick(workspaceCumulative(e, w, SPLITS), ws), ws, `workspace cumulative statistics, ${label}`);
      for (const q of this.catalog.queues) {
        const expected = this.oracle.cumulative('taskQueue', q, w.startMs, w.endMs, SPLITS);
        assert.deepEqual(pick(taskQueueCumulative(e, q, w, SPLITS), expected), expected, `queue ${q} cumulative statistics, ${label}`);
      }
      for (const wf of this.catalog.workflows) {
        const expected = this.oracle.cumulative('workflow', wf, w.startMs, w.endMs, SPLITS);
        assert.deepEqual(pick(workflowCumulative(e, wf, w, SPLITS), expected), expected, `workflow ${wf} cumulative statistics, ${label}`);
      }
    }
    const realtimeWs = expectedRealtime(e);
    const actualWs = workspaceRealtime(e);
    assert.deepEqual(Object.fromEntries(Object.keys(realtimeWs).map((k) => [k, actualWs[k]])), realtimeWs, 'workspace real-time statistics');
    for (const q of this.catalog.queues) {
      const expected = expectedRealtime(e, q);
      const actual = taskQueueRealtime(e, q);
      const tied = expected['longest_relative_task_sid_in_queue'];
      if (Array.isArray(tied)) {
        assert.ok(tied.includes(actual['longest_relative_task_sid_in_queue']), `queue ${q}: oldest task in queue is one of ${tied.join(', ')}`);
        expected['longest_relative_task_sid_in_queue'] = actual['longest_relative_task_sid_in_queue'];
      }
      assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, actual[k]])), expected, `queue ${q} real-time statistics`);
    }
  }
}
