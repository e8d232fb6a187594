/**
 * The analytics projector and task transfers (spec conversations-events-analytics.md §B5/§B6
 * `task.transfer-*` and their `transfer_*` fields, §B8 transfer rate; voice-worker-sdk-console.md
 * B5: a transfer is routed as a new task). Each scenario runs through a real WorkspaceEngine:
 * a cold transfer to a worker, a warm transfer to a queue whose first attempt fails, a transfer
 * that fails, one canceled by its worker, and two transfers at the same instant. Each is fed in
 * order, shuffled within the watermark, with every event twice, and through the storage rows
 * (fromRows), and must give the same model.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkspaceEngine } from '../engine/engine.ts';
import type { Command } from '../engine/commands.ts';
import type { EngineEvent } from '../engine/events.ts';
import { SequentialSids } from '../util/sid.ts';
import { AnalyticsProjector, type AgentEngagement, type Conversation, type Transfer } from './projector.ts';

const DAY = Date.UTC(2024, 0, 1);
/** Epoch ms of h:m:s on the day. */
const t = (h: number, m: number, s = 0): number => DAY + ((h * 60 + m) * 60 + s) * 1000;
/** 4 h (the default lateness) after the last event of every scenario. */
const AFTER = t(15, 0);

type Cmd = Record<string, unknown> & { type: Command['type'] };

/** A workspace with queue Support (every worker), a workflow into it, and workers (Offline unless named available). */
class Center {
  readonly engine: WorkspaceEngine;
  readonly events: EngineEvent[] = [];
  readonly queue: string;
  readonly workers: Record<string, string> = {};
  private readonly activities = new Map<string, string>();

  constructor(names: string[]) {
    const created = WorkspaceEngine.create({ friendlyName: 'Transfers', at: t(9, 0), newSid: new SequentialSids().next });
    this.engine = created.engine;
    this.events.push(...created.events);
    for (const a of this.engine.activities.values()) this.activities.set(a.friendlyName, a.sid);
    this.queue = this.run(t(9, 0), { type: 'createTaskQueue', friendlyName: 'Support', targetWorkers: '1==1' })[0]?.resourceSid as string;
    this.run(t(9, 0), {
      type: 'createWorkflow',
      friendlyName: 'Inbound',
      taskReservationTimeoutS: 60,
      configuration: JSON.stringify({ task_routing: { filters: [{ filter_friendly_name: 'Support', expression: '1==1', targets: [{ queue: this.queue }] }] } }),
    });
    for (const name of names) {
      const e = this.run(t(9, 0), { type: 'createWorker', friendlyName: name, attributes: JSON.stringify({ full_name: name, team: 'Blue' }), activitySid: this.activity('Offline') });
      this.workers[name] = (e[0] as EngineEvent).resourceSid;
    }
  }

  activity(name: string): string {
    const sid = this.activities.get(name);
    if (sid === undefined) throw new Error(name);
    return sid;
  }

  /** Fires the timers due by `at`, then runs `c` at `at`; returns (and records) the command's events. */
  run(at: number, c: Cmd): EngineEvent[] {
    this.events.push(...this.engine.advanceTo(at).events);
    const outcome = this.engine.execute({ ...c, at } as unknown as Command);
    assert.equal(outcome.rejection, null, `${c.type}: ${outcome.rejection?.message ?? ''}`);
    this.events.push(...outcome.events);
    return outcome.events;
  }

  available(at: number, name: string): void {
    this.run(at, { type: 'updateWorker', workerSid: this.workers[name], activitySid: this.activity('Available') });
  }

  /** Creates a task for `phone`; returns its SID. */
  task(at: number, phone: string): string {
    return (this.run(at, { type: 'createTask', attributes: JSON.stringify({ type: 'inbound', from: phone, customers: { phone } }) })[0] as EngineEvent).resourceSid;
  }

  /** The reservation of `task` offered to worker `name` (the latest one). */
  reservation(task: string, name: string): string {
    const created = this.events.filter((e) => e.eventType === 'reservation.created' && e.data['task_sid'] === task && e.data['worker_sid'] === this.workers[name]);
    const last = created[created.length - 1];
    assert.ok(last !== undefined, `a reservation of ${task} for ${name}`);
    return last.resourceSid;
  }

  reserve(at: number, task: string, name: string, status: 'accepted' | 'rejected' | 'completed', extra: Record<string, unknown> = {}): string {
    const sid = this.reservation(task, name);
    this.run(at, { type: 'updateReservation', reservationSid: sid, reservationStatus: status, ...extra });
    return sid;
  }

  /** `name` transfers `task` (its accepted reservation) to `to`; returns the transfer SID and its task's SID. */
  transfer(at: number, task: string, name: string, to: string, mode: 'WARM' | 'COLD'): { tt: string; task: string } {
    const events = this.run(at, { type: 'transferTask', workerSid: this.workers[name], reservationSid: this.reservation(task, name), taskSid: task, to, mode });
    const initiated = events.find((e) => e.eventType === 'task.transfer-initiated') as EngineEvent;
    const tt = String(initiated.data['task_transfer_sid']);
    return { tt, task: this.engine.transfers.get(tt)?.transferTaskSid as string };
  }

  complete(at: number, task: string): void {
    const status = this.engine.tasks.get(task)?.assignmentStatus;
    if (status === 'assigned') this.run(at, { type: 'updateTask', taskSid: task, assignmentStatus: 'wrapping' });
    this.run(at + 5000, { type: 'updateTask', taskSid: task, assignmentStatus: 'completed', reason: 'done' });
  }
}

function project(events: readonly EngineEvent[]): AnalyticsProjector {
  const p = new AnalyticsProjector();
  for (const e of events) p.observe(e);
  p.advanceTo(AFTER);
  return p;
}

/** A seeded shuffle (mulberry32). */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function view(p: AnalyticsProjector): unknown {
  return { engagements: p.engagements(), conversations: p.conversations(), customers: p.customers(), transfers: p.transfers(), kpis: p.kpis({ from: t(9, 0), to: t(12, 0), asOf: AFTER }) };
}

/** The same model fed in order, shuffled (seeds 1..10), twice over, and through the stored rows one event at a time. */
function checkDelivery(events: readonly EngineEvent[]): AnalyticsProjector {
  const p = project(events);
  const reference = view(p);
  for (let seed = 1; seed <= 10; seed++) assert.deepEqual(view(project(shuffled(events, seed))), reference, `shuffled, seed ${seed}`);
  assert.deepEqual(view(project([...events, ...shuffled(events, 99)])), reference, 'every event twice');
  const tracked = new AnalyticsProjector({ latenessMs: 0, trackChanges: true });
  const stored = new Map<string, string>();
  for (const e of events) {
    tracked.observe(e);
    tracked.flush();
    for (const r of tracked.takeChangedRows()) {
      if (r.body === null) stored.delete(r.key);
      else stored.set(r.key, r.body);
    }
  }
  assert.deepEqual(new Map(tracked.rows().map((r) => [r.key, r.body])), stored, 'the changed rows are the rows');
  const restored = AnalyticsProjector.fromRows([...stored].map(([key, body]) => ({ key, body })), { latenessMs: 0 });
  restored.advanceTo(AFTER);
  assert.deepEqual(view(restored), reference, 'fromRows');
  assert.deepEqual(view(AnalyticsProjector.restore(JSON.parse(JSON.stringify(p.snapshot())))), reference, 'snapshot/restore');
  return p;
}

const aeOf = (p: AnalyticsProjector, reservationSid: string): AgentEngagement => {
  const ae = p.engagements().agent.find((x) => x.reservationSid === reservationSid);
  assert.ok(ae !== undefined, `AE ${reservationSid}`);
  return ae;
};
const convOf = (p: AnalyticsProjector, task: string): Conversation => p.conversation(task) as Conversation;
const only = (p: AnalyticsProjector): Transfer => {
  const all = p.transfers();
  assert.equal(all.length, 1);
  return all[0] as Transfer;
};

describe('analytics projector: transfers', () => {
  test('cold to a worker, completed: the initiating AE is transferred, the new task joins the journey, transfer rate 1 of 2', () => {
    const c = new Center(['Alice', 'Bob']);
    c.available(t(9, 50), 'Alice');
    const task = c.task(t(10, 0), '+15550001');
    const ra = c.reserve(t(10, 0, 10), task, 'Alice', 'accepted');
    c.available(t(10, 1), 'Bob');
    const x = c.transfer(t(10, 2), task, 'Alice', c.workers['Bob'] as string, 'COLD');
    const rb = c.reserve(t(10, 2, 20), x.task, 'Bob', 'accepted');
    assert.equal(c.engine.tasks.get(task)?.assignmentStatus, 'wrapping', 'COLD: the original wraps once Bob accepts');
    c.run(t(10, 3), { type: 'updateTask', taskSid: task, assignmentStatus: 'completed', reason: 'handed over' });
    c.complete(t(10, 8), x.task);

    const p = checkDelivery(c.events);
    const alice = aeOf(p, ra);
    assert.deepEqual([alice.transferred, alice.transferSid], [true, x.tt]);
    assert.equal(alice.engagementS, 130, 'Alice engaged from her accept to the wrap-up at Bob\'s accept');
    const bob = aeOf(p, rb);
    assert.deepEqual([bob.transferred, bob.transferSid, bob.taskSid], [false, null, x.task]);
    assert.deepEqual(only(p), {
      transferSid: x.tt, taskSid: task, transferTaskSid: x.task, initiatingReservationSid: ra, initiatingWorkerSid: c.workers['Alice'],
      mode: 'COLD', type: 'WORKER', to: c.workers['Bob'], status: 'completed', started: t(10, 2), end: t(10, 2, 20), attemptsFailed: 0, failedReason: null,
    });
    const moved = convOf(p, x.task);
    assert.deepEqual([moved.transferredFrom, moved.transferSid, moved.journeyTaskSid], [task, x.tt, task]);
    assert.deepEqual([convOf(p, task).transferredFrom, convOf(p, task).journeyTaskSid], [null, task]);
    assert.deepEqual(p.journey(task).map((x) => x.taskSid), [task, x.task]);
    assert.deepEqual(p.customers().map((x) => [x.customerId, x.conversations]), [['+15550001', 1]], 'one journey, one conversation of the customer');
    const k = p.kpis({ from: t(10, 0), to: t(11, 0) });
    assert.deepEqual([k.handled, k.transferRate], [2, 0.5]);
    assert.equal(p.kpis({ from: t(10, 0), to: t(11, 0), agent: c.workers['Alice'] }).transferRate, 1);
    assert.equal(p.kpis({ from: t(10, 0), to: t(11, 0), agent: c.workers['Bob'] }).transferRate, 0);
  });

  test('warm to a queue, an attempt fails then another worker accepts: completed, one failed attempt, the original keeps its agent', () => {
    const c = new Center(['Alice', 'Bob', 'Carol']);
    c.available(t(9, 50), 'Alice');
    const task = c.task(t(10, 0), '+15550002');
    const ra = c.reserve(t(10, 0, 5), task, 'Alice', 'accepted');
    c.available(t(10, 1), 'Bob');
    const x = c.transfer(t(10, 2), task, 'Alice', c.queue, 'WARM');
    const rBob = c.reserve(t(10, 2, 10), x.task, 'Bob', 'rejected', { workerActivitySid: c.activity('Offline') });
    c.available(t(10, 3), 'Carol');
    const rCarol = c.reserve(t(10, 3, 5), x.task, 'Carol', 'accepted');
    assert.equal(c.engine.tasks.get(task)?.assignmentStatus, 'assigned', 'WARM: the original stays with Alice');
    c.complete(t(10, 5), task);
    c.complete(t(10, 9), x.task);

    const p = checkDelivery(c.events);
    assert.deepEqual([aeOf(p, ra).transferred, aeOf(p, ra).transferSid], [true, x.tt]);
    assert.equal(aeOf(p, ra).engagementS, 295, 'WARM: Alice stays engaged until she wraps up');
    assert.equal(aeOf(p, rCarol).transferred, false);
    const tr = only(p);
    assert.deepEqual([tr.status, tr.mode, tr.type, tr.to, tr.transferTaskSid, tr.attemptsFailed, tr.end], ['completed', 'WARM', 'QUEUE', c.queue, x.task, 1, t(10, 3, 5)]);
    assert.match(tr.failedReason ?? '', /rejected the transfer/);
    assert.equal(p.engagements().invitation.find((ie) => ie.reservationSid === rBob)?.outcome, 'Rejected');
    const qe = p.engagements().queue.find((q) => q.taskSid === x.task);
    assert.deepEqual([qe?.outcome, qe?.waitS], ['Accepted', 65], 'the transfer task waited in Support from 10:02:00 to Carol\'s accept');
    assert.equal(convOf(p, x.task).transferredFrom, task);
    assert.deepEqual(p.kpis({ from: t(10, 0), to: t(11, 0) }).transferRate, 0.5);
  });

  test('to a worker who rejects: the transfer fails, nobody is transferred, the failed leg is linked to the journey', () => {
    const c = new Center(['Alice', 'Bob']);
    c.available(t(9, 50), 'Alice');
    const task = c.task(t(10, 0), '+15550003');
    const ra = c.reserve(t(10, 0, 5), task, 'Alice', 'accepted');
    c.available(t(10, 1), 'Bob');
    const x = c.transfer(t(10, 2), task, 'Alice', c.workers['Bob'] as string, 'COLD');
    c.reserve(t(10, 2, 30), x.task, 'Bob', 'rejected');
    assert.equal(c.engine.tasks.get(x.task)?.assignmentStatus, 'canceled');
    c.complete(t(10, 4), task);

    const p = checkDelivery(c.events);
    assert.deepEqual([aeOf(p, ra).transferred, aeOf(p, ra).transferSid], [false, null]);
    const tr = only(p);
    assert.deepEqual([tr.status, tr.transferTaskSid, tr.attemptsFailed, tr.end], ['failed', x.task, 1, t(10, 2, 30)]);
    assert.match(tr.failedReason ?? '', /rejected the transfer/);
    assert.deepEqual([convOf(p, x.task).transferredFrom, convOf(p, x.task).endReason], [task, 'canceled']);
    const k = p.kpis({ from: t(10, 0), to: t(11, 0) });
    assert.deepEqual([k.handled, k.transferRate], [1, 0]);
  });

  test('canceled by its worker while the target waits: canceled, nobody transferred', () => {
    const c = new Center(['Alice', 'Bob']);
    c.available(t(9, 50), 'Alice');
    const task = c.task(t(10, 0), '+15550004');
    const ra = c.reserve(t(10, 0, 5), task, 'Alice', 'accepted');
    const x = c.transfer(t(10, 2), task, 'Alice', c.workers['Bob'] as string, 'WARM');
    c.run(t(10, 2, 40), { type: 'updateTransfer', transferSid: x.tt, workerSid: c.workers['Alice'], transferStatus: 'canceled' });
    c.complete(t(10, 4), task);

    const p = checkDelivery(c.events);
    assert.equal(aeOf(p, ra).transferred, false);
    const tr = only(p);
    assert.deepEqual([tr.status, tr.transferTaskSid, tr.end, tr.attemptsFailed], ['canceled', x.task, t(10, 2, 40), 0]);
    assert.equal(convOf(p, x.task).transferSid, x.tt);
    assert.equal(p.kpis({ from: t(10, 0), to: t(11, 0) }).transferRate, 0);
  });

  test('two transfers started and completed at the same instants each link their own task', () => {
    const c = new Center(['Alice', 'Dan', 'Bob', 'Carol']);
    c.available(t(9, 50), 'Alice');
    const t1 = c.task(t(10, 0), '+15550005');
    const r1 = c.reserve(t(10, 0, 5), t1, 'Alice', 'accepted');
    c.available(t(10, 0, 6), 'Dan');
    const t2 = c.task(t(10, 0, 7), '+15550006');
    const r2 = c.reserve(t(10, 0, 8), t2, 'Dan', 'accepted');
    c.available(t(10, 1), 'Bob');
    c.available(t(10, 1), 'Carol');
    const x1 = c.transfer(t(10, 2), t1, 'Alice', c.workers['Carol'] as string, 'COLD');
    const x2 = c.transfer(t(10, 2), t2, 'Dan', c.workers['Bob'] as string, 'COLD');
    c.reserve(t(10, 2, 10), x2.task, 'Bob', 'accepted');
    c.reserve(t(10, 2, 10), x1.task, 'Carol', 'accepted');
    for (const task of [t1, t2, x1.task, x2.task]) c.complete(t(10, 6), task);

    const p = checkDelivery(c.events);
    assert.deepEqual([aeOf(p, r1).transferSid, aeOf(p, r2).transferSid], [x1.tt, x2.tt]);
    assert.deepEqual([convOf(p, x1.task).transferredFrom, convOf(p, x2.task).transferredFrom], [t1, t2]);
    assert.deepEqual(p.transfers().map((x) => [x.transferSid, x.transferTaskSid]).sort(), [[x1.tt, x1.task], [x2.tt, x2.task]].sort());
    assert.equal(p.kpis({ from: t(10, 0), to: t(11, 0) }).transferRate, 0.5);
  });

  test('a later queue engagement on the same task still counts as a transfer (the rule for other moves)', () => {
    const c = new Center(['Alice', 'Bob']);
    c.available(t(9, 50), 'Alice');
    const task = c.task(t(10, 0), '+15550007');
    const ra = c.reserve(t(10, 0, 5), task, 'Alice', 'accepted');
    // Hand-built: the task re-enters a queue after Alice's engagement (no transfer event).
    const reentered: EngineEvent = { ...(c.events.find((e) => e.eventType === 'task-queue.entered' && e.data['task_sid'] === task) as EngineEvent), sid: 'EVreentered', at: t(10, 3) };
    const p = project([...c.events, reentered]);
    assert.deepEqual([aeOf(p, ra).transferred, aeOf(p, ra).transferSid], [true, null]);
    assert.deepEqual(p.transfers(), []);
  });
});
