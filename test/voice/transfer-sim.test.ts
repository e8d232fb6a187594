/**
 * A seeded random simulation of voice transfers and outbound calls (issue 15; docs/voice.md
 * "Transfers move the call" and "Outbound calls"; DESIGN.md: seeded simulation tests). The real
 * runtime, voice hosting, HTTP API and webhook dispatcher run on the simulated telephone network
 * (src/voice/simulated-voice.ts) in virtual time; the test plays four agents' desktops and the
 * callers' side, drawing every choice from one seeded generator:
 *
 * - inbound callers (Hindi or English, random patience and talk time, some hanging up at a random
 *   moment), outbound tasks whose customer answers, is busy, does not answer or fails (and, when
 *   answered, talks a random time — sometimes hanging up early);
 * - reservations answered with `conference`, `dequeue`, a plain accept, rejected, or left to time
 *   out; agents' phones answered or not (the network's draws);
 * - transfers COLD/WARM to a worker or a queue of assigned tasks (refused ones must change nothing:
 *   no task, no transfer made); holds, mutes and kicks through the participant path;
 * - workers going Offline and back, wrapping tasks completed, Wrap-Up workers made Available;
 * - server restarts between two steps (the runtime closed and reopened on its data directory; the
 *   network detached and attached to the new one).
 *
 * Checked after every step: no error recorded by the network; the engine's invariants; a worker's
 * phone in at most one room; no worker leg alone in a room (no caller) for longer than
 * {@link LONE_LEG_BOUND_MS}. Checked at the end, after a drain without new work: every call and leg
 * ended; no outbound customer dialed twice; every task completed or canceled (wrapping ones are
 * completed by the agents); every transfer completed, failed or canceled.
 *
 * Seeds 1–5, 2 virtual hours each plus a 3-hour drain, a few seconds of wall clock per seed. The
 * workspace's SIDs are seeded too, so a seed replays exactly. To explore: `SIM_SEEDS=6,7,8` runs
 * other seeds; `SIM_DEBUG=1` writes a failing seed's steps and final state to
 * `<tmpdir>/switchboard-sim-<seed>.log`. What the simulation found is kept below as small
 * deterministic examples.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findInvariantViolations } from '../../src/engine/invariants.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { Random } from '../../src/util/random.ts';
import { SimulatedVoiceNetwork, type AgentPhoneOutcome } from '../../src/voice/simulated-voice.ts';
import { CENTER_NUMBER, ENGLISH_AGENT, HINDI_AGENT, restartVoiceCenter, startVoiceCenter, T0, type VoiceCenter } from './support.ts';

/** Seeds run by the test, and the virtual time each one is driven for (ms) before its drain. */
const SEEDS = process.env['SIM_SEEDS']?.split(',').map(Number) ?? [1, 2, 3, 4, 5];
const BUSY_MS = 2 * 3600_000;
/** How long the drain lets calls end and tasks close, ms (callers' patience and talk are bounded well under it). */
const DRAIN_MS = 3 * 3600_000;
/**
 * [DECISION] The longest a worker's leg may stay in a room with no caller, ms: an outbound call's
 * worker waits there while the customer rings (the customer leg's ring timeout, 60 s), plus the
 * steps of the loop.
 */
const LONE_LEG_BOUND_MS = 90_000;
/** The chance that the server restarts after a step (steps are 1–15 s apart: a few restarts a run). */
const RESTART_CHANCE = 0.004;

interface Agent {
  sid: string;
  phone: string;
}

interface Plan {
  action: 'conference' | 'dequeue' | 'accept' | 'reject' | 'ignore';
  at: number;
  done: boolean;
}

interface Stats {
  calls: number;
  outbound: number;
  transfers: number;
  refusedTransfers: number;
  participantChanges: number;
  refusedInstructions: number;
  restarts: number;
}

class Sim {
  readonly rng: Random;
  readonly log: string[] = [];
  readonly plans = new Map<string, Plan>();
  readonly wrappingSeen = new Map<string, number>();
  /** Tasks accepted plainly (no leg placed): the agent deals with them by other means and completes them at this time. */
  readonly plainlyAccepted = new Map<string, number>();
  readonly loneSince = new Map<string, number>();
  readonly legPhone = new Map<string, string>();
  readonly customers = new Set<string>();
  readonly stats: Stats = { calls: 0, outbound: 0, transfers: 0, refusedTransfers: 0, participantChanges: 0, refusedInstructions: 0, restarts: 0 };
  agents: Agent[] = [];
  queues: string[] = [];
  draining = false;
  customerSeq = 0;

  c: VoiceCenter;
  readonly network: SimulatedVoiceNetwork;

  constructor(seed: number, c: VoiceCenter, network: SimulatedVoiceNetwork) {
    this.c = c;
    this.network = network;
    this.rng = new Random(seed * 7919 + 1);
  }

  get now(): number {
    return this.c.scheduler.now();
  }

  note(s: string): void {
    this.log.push(`${((this.now - T0) / 1000).toFixed(0)}s ${s}`);
  }

  engine() {
    const e = this.c.runtime.workspace(this.c.accountSid, this.c.workspaceSid);
    assert.ok(e !== undefined);
    return e;
  }

  async post(path: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.c.api('POST', `/v1/Workspaces/${this.c.workspaceSid}${path}`, form);
    assert.ok(res.status < 500, `${path} ${JSON.stringify(form)} → ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  }

  async setUp(): Promise<void> {
    const extra = [
      { name: 'Chitra', languages: ['hindi', 'english'], phone: '+919800000003' },
      { name: 'Dev', languages: ['english'], phone: '+919800000004' },
    ];
    this.agents = [
      { sid: this.c.workers.hindi, phone: HINDI_AGENT },
      { sid: this.c.workers.english, phone: ENGLISH_AGENT },
    ];
    for (const x of extra) {
      const r = await this.post('/Workers', { FriendlyName: x.name, Attributes: JSON.stringify({ languages: x.languages, contact_uri: x.phone }), ActivitySid: this.c.activities.available });
      assert.equal(r.status, 201);
      this.agents.push({ sid: r.body['sid'] as string, phone: x.phone });
    }
    const qs = await this.c.api('GET', `/v1/Workspaces/${this.c.workspaceSid}/TaskQueues`);
    this.queues = (qs.body['task_queues'] as Array<Record<string, unknown>>).map((q) => q['sid'] as string);
  }

  // ── the world's moves ──

  inboundCall(): void {
    // Some hang up at a random moment; everyone does within 1.5 h (a caller left alone in a room
    // after their last agent was kicked stays there, as on Twilio, until they hang up).
    const hangupEarly = this.rng.chance(0.15);
    const sid = this.network.placeCall({
      from: `+1555100${String(this.rng.int(0, 9999)).padStart(4, '0')}`,
      to: CENTER_NUMBER,
      digits: [this.rng.pick(['1', '2', '2', ''])],
      patienceSeconds: this.rng.int(20, 600),
      talkSeconds: this.rng.int(10, 900),
      hangupAfterSeconds: hangupEarly ? this.rng.int(1, 900) : this.rng.int(1800, 5400),
    });
    this.stats.calls += 1;
    this.note(`call ${sid}`);
  }

  async outboundTask(): Promise<void> {
    this.customerSeq += 1;
    const to = `+1555900${String(this.customerSeq).padStart(4, '0')}`;
    this.customers.add(to);
    const outcome = this.rng.pick<AgentPhoneOutcome>(['answer', 'answer', 'answer', 'busy', 'no-answer', 'failed']);
    this.network.scriptAgent(to, [outcome]);
    const r = await this.post('/Tasks', { WorkflowSid: this.c.workflowSid, TaskChannel: 'voice', Attributes: JSON.stringify({ outbound_to: to, from: CENTER_NUMBER }) });
    assert.equal(r.status, 201);
    this.stats.outbound += 1;
    this.note(`outbound ${String(r.body['sid'])} to ${to} (${outcome})`);
  }

  /** Each pending reservation gets one plan when first seen; carried out at its time. */
  async reservations(): Promise<void> {
    const e = this.engine();
    for (const r of [...e.reservations.values()]) {
      if (r.reservationStatus !== 'pending') continue;
      let plan = this.plans.get(r.sid);
      if (plan === undefined) {
        const task = e.tasks.get(r.taskSid);
        const outbound = task?.attributes['outbound_to'] !== undefined && task.attributes['call_sid'] === undefined;
        const weights: Array<[Plan['action'], number]> = this.draining
          ? [['conference', 0.8], ['reject', 0.2]]
          : outbound
            ? [['conference', 0.75], ['dequeue', 0.05], ['reject', 0.1], ['ignore', 0.1]]
            : [['conference', 0.5], ['dequeue', 0.2], ['accept', 0.03], ['reject', 0.12], ['ignore', 0.15]];
        let x = this.rng.next();
        let action: Plan['action'] = 'ignore';
        for (const [a, w] of weights) {
          if (x < w) {
            action = a;
            break;
          }
          x -= w;
        }
        plan = { action, at: this.now + this.rng.int(1, 40) * 1000, done: false };
        this.plans.set(r.sid, plan);
      }
      if (plan.done || plan.at > this.now || plan.action === 'ignore') continue;
      plan.done = true;
      const path = `/Tasks/${r.taskSid}/Reservations/${r.sid}`;
      let res;
      switch (plan.action) {
        case 'conference':
          res = await this.post(path, { Instruction: 'conference', From: CENTER_NUMBER, PostWorkActivitySid: this.c.activities.wrapUp });
          break;
        case 'dequeue':
          res = await this.post(path, { Instruction: 'dequeue', DequeueFrom: CENTER_NUMBER, DequeuePostWorkActivitySid: this.c.activities.wrapUp });
          break;
        case 'accept':
          res = await this.post(path, { ReservationStatus: 'accepted' });
          if (res.status === 200) this.plainlyAccepted.set(r.taskSid, this.now + this.rng.int(30, 600) * 1000);
          break;
        default:
          res = await this.post(path, { ReservationStatus: 'rejected' });
      }
      this.note(`${plan.action} ${r.sid} (${r.taskSid}, ${r.workerSid}) → ${res.status}${res.status >= 400 ? ` ${String(res.body['message'])}` : ''}`);
      if (res.status >= 400) {
        this.stats.refusedInstructions += 1;
        // Refused (the call left, a transfer with nothing to join …): the agent rejects it later.
        if (this.engine().reservations.get(r.sid)?.reservationStatus === 'pending') this.plans.set(r.sid, { action: 'reject', at: this.now + 5_000, done: false });
      }
    }
  }

  /** The accepted reservation of an assigned task, if any. */
  accepted(taskSid: string): { sid: string; workerSid: string } | undefined {
    const e = this.engine();
    const t = e.tasks.get(taskSid);
    for (const rs of t?.reservationSids ?? []) {
      const r = e.reservations.get(rs);
      if (r?.reservationStatus === 'accepted') return { sid: r.sid, workerSid: r.workerSid };
    }
    return undefined;
  }

  async transfers(): Promise<void> {
    const e = this.engine();
    for (const t of [...e.tasks.values()]) {
      if (t.assignmentStatus !== 'assigned' || !this.rng.chance(0.03)) continue;
      const r = this.accepted(t.sid);
      if (r === undefined) continue;
      const others = this.agents.filter((a) => a.sid !== r.workerSid).map((a) => a.sid);
      const to = this.rng.pick([...others, ...this.queues]);
      const mode = this.rng.pick(['COLD', 'WARM'] as const);
      const before = { tasks: e.tasks.size, transfers: e.transfers.size, status: t.assignmentStatus, attributes: t.attributesJson };
      let refused: string | null = null;
      try {
        const out = await this.c.runtime.voice.transfer(this.c.workspaceSid, { type: 'transferTask', workerSid: r.workerSid, reservationSid: r.sid, taskSid: t.sid, to, mode }, { actor: { sid: this.c.accountSid, type: 'account' } });
        if (out.rejection !== null) refused = `engine: ${JSON.stringify(out.rejection)}`;
      } catch (err) {
        const status = (err as { status?: number }).status;
        assert.equal(status, 400, `transfer threw ${String(err)}`);
        refused = (err as Error).message;
      }
      if (refused !== null) {
        this.stats.refusedTransfers += 1;
        assert.equal(e.tasks.size, before.tasks, `a refused transfer made no task: ${refused}`);
        assert.equal(e.transfers.size, before.transfers, `a refused transfer made no transfer: ${refused}`);
        assert.equal(e.tasks.get(t.sid)?.attributesJson, before.attributes, 'a refused transfer left the attributes alone');
      } else {
        this.stats.transfers += 1;
      }
      this.note(`transfer ${mode} ${t.sid} by ${r.workerSid} to ${to}: ${refused ?? 'made'}`);
    }
  }

  async participants(): Promise<void> {
    const e = this.engine();
    for (const t of [...e.tasks.values()]) {
      if (t.assignmentStatus !== 'assigned' || !this.rng.chance(0.03)) continue;
      const kind = this.rng.pick(['hold', 'unhold', 'mute', 'kick', 'kick']);
      const worker = this.rng.pick(this.agents).sid;
      const target = kind === 'hold' || kind === 'unhold' ? ({ role: 'customer' } as const) : ({ role: 'worker', workerSid: worker } as const);
      const change = kind === 'hold' ? { action: 'update' as const, hold: true } : kind === 'unhold' ? { action: 'update' as const, hold: false } : kind === 'mute' ? { action: 'update' as const, muted: true } : { action: 'remove' as const };
      let result = 'ok';
      try {
        await this.c.runtime.voice.participant(this.c.workspaceSid, t.sid, target, change);
        this.stats.participantChanges += 1;
      } catch (err) {
        assert.equal((err as { status?: number }).status, 400, `participant threw ${String(err)}`);
        result = (err as Error).message;
      }
      this.note(`${kind} ${t.sid} ${target.role === 'worker' ? worker : 'customer'}: ${result}`);
    }
  }

  async desks(): Promise<void> {
    const e = this.engine();
    for (const [taskSid, at] of [...this.plainlyAccepted]) {
      if (at > this.now) continue;
      this.plainlyAccepted.delete(taskSid);
      if (e.tasks.get(taskSid)?.assignmentStatus !== 'assigned') continue;
      const res = await this.post(`/Tasks/${taskSid}`, { AssignmentStatus: 'completed', Reason: 'handled by other means' });
      this.note(`complete (plain accept) ${taskSid} → ${res.status}`);
    }
    for (const t of [...e.tasks.values()]) {
      if (t.assignmentStatus !== 'wrapping') continue;
      const seen = this.wrappingSeen.get(t.sid);
      if (seen === undefined) {
        this.wrappingSeen.set(t.sid, this.now + this.rng.int(3, 60) * 1000);
      } else if (seen <= this.now) {
        const res = await this.post(`/Tasks/${t.sid}`, { AssignmentStatus: 'completed', Reason: 'done' });
        this.note(`complete ${t.sid} → ${res.status}`);
      }
    }
    for (const a of this.agents) {
      const w = e.workers.get(a.sid);
      if (w === undefined) continue;
      let next: string | null = null;
      if (w.activitySid === this.c.activities.wrapUp && this.rng.chance(0.2)) next = this.c.activities.available;
      else if (w.activitySid === this.c.activities.offline && this.rng.chance(this.draining ? 1 : 0.05)) next = this.c.activities.available;
      else if (!this.draining && w.activitySid === this.c.activities.available && this.rng.chance(0.004)) next = this.c.activities.offline;
      if (next === null) continue;
      const res = await this.post(`/Workers/${a.sid}`, { ActivitySid: next });
      this.note(`worker ${a.sid} → ${next === this.c.activities.available ? 'Available' : 'Offline'}: ${res.status}`);
    }
  }

  // ── the checks ──

  phoneOf(callSid: string): string | undefined {
    if (!this.legPhone.has(callSid)) for (const l of this.network.legs()) this.legPhone.set(l.callSid, l.to);
    return this.legPhone.get(callSid);
  }

  check(): void {
    assert.deepEqual(this.network.errors, [], 'no error recorded by the network');
    const e = this.engine();
    assert.deepEqual(findInvariantViolations(e), [], "the engine's invariants");
    const roomsOfPhone = new Map<string, string[]>();
    for (const sid of e.tasks.keys()) {
      const room = this.network.conference(sid);
      const workers = (room?.participants ?? []).filter((p) => p.role === 'worker');
      for (const p of workers) {
        const phone = this.phoneOf(p.callSid) ?? p.callSid;
        roomsOfPhone.set(phone, [...(roomsOfPhone.get(phone) ?? []), sid]);
      }
      const lone = workers.length > 0 && !room!.participants.some((p) => p.role === 'customer');
      if (!lone) this.loneSince.delete(sid);
      else if (!this.loneSince.has(sid)) this.loneSince.set(sid, this.now);
      else assert.ok(this.now - this.loneSince.get(sid)! <= LONE_LEG_BOUND_MS, `room ${sid}: worker legs with no caller since ${this.loneSince.get(sid)! - T0} ms`);
    }
    for (const [phone, rooms] of roomsOfPhone) assert.ok(rooms.length <= 1, `the worker at ${phone} is in two rooms: ${rooms.join(', ')}`);
  }

  /** The server restarts on its data directory (between two steps: nothing in flight); the network carries on with the new one. */
  async restart(): Promise<void> {
    this.network.detach();
    this.c = await restartVoiceCenter(this.c, this.network);
    this.stats.restarts += 1;
    this.note('restart');
  }

  async tick(stepMs: number): Promise<void> {
    await this.c.scheduler.advance(stepMs);
    this.check();
    if (this.rng.chance(RESTART_CHANCE)) await this.restart();
    if (!this.draining) {
      if (this.rng.chance(0.12)) this.inboundCall();
      if (this.rng.chance(0.03)) await this.outboundTask();
    }
    await this.reservations();
    if (!this.draining) {
      await this.transfers();
      await this.participants();
    }
    await this.desks();
    this.check();
  }

  /** The state of every task (its reservations, its room), every call, leg and transfer: a debugging aid (SIM_DEBUG). */
  dump(): string {
    const e = this.engine();
    const out: string[] = [];
    for (const t of e.tasks.values()) {
      const rs = t.reservationSids.map((x) => e.reservations.get(x)).map((r) => `${r?.sid} ${r?.workerSid} ${r?.reservationStatus}`);
      out.push(`${t.sid} ${t.assignmentStatus} ${t.reason ?? ''} ${t.attributesJson} [${rs.join('; ')}] room=${JSON.stringify(this.network.conference(t.sid)?.participants ?? null)}`);
    }
    for (const x of this.network.calls()) out.push(`call ${x.callSid} enq=${x.enqueuedAt === null ? null : x.enqueuedAt - T0} bridged=${x.bridgedAt === null ? null : x.bridgedAt - T0} ended=${x.endedAt === null ? null : x.endedAt - T0} by ${x.endedBy} legs=${x.workerLegs.join(',')}`);
    for (const l of this.network.legs()) out.push(`leg ${l.callSid} ${l.key} to=${l.to} caller=${l.callerCallSid} ${l.outcome} placed=${l.placedAt - T0} answered=${l.answeredAt === null ? null : l.answeredAt - T0} ended=${l.endedAt === null ? null : l.endedAt - T0}`);
    for (const [k, v] of Object.entries(e.transfers.size > 0 ? Object.fromEntries(e.transfers) : {})) out.push(`transfer ${k} ${JSON.stringify(v)}`);
    return out.join('\n');
  }

  finalChecks(): void {
    const e = this.engine();
    const problems: string[] = [];
    for (const call of this.network.calls()) if (call.endedAt === null) problems.push(`call ${call.callSid} has not ended`);
    const dialed = new Map<string, number>();
    for (const leg of this.network.legs()) {
      if (leg.endedAt === null) problems.push(`leg ${leg.callSid} (${leg.key}) has not ended`);
      if (this.customers.has(leg.to)) dialed.set(leg.to, (dialed.get(leg.to) ?? 0) + 1);
    }
    for (const [to, n] of dialed) if (n !== 1) problems.push(`customer ${to} dialed ${n} times`);
    for (const t of e.tasks.values()) if (t.assignmentStatus !== 'completed' && t.assignmentStatus !== 'canceled') problems.push(`task ${t.sid} is ${t.assignmentStatus}`);
    for (const tr of e.transfers.values()) if (tr.status === 'initiated') problems.push(`transfer ${tr.sid} (${tr.taskSid} → ${tr.transferTaskSid}) is still initiated`);
    assert.deepEqual(problems, [], 'after the drain');
  }
}

/** Runs seed `seed` for `busyMs` of virtual time, then drains; returns what happened. */
async function simulate(seed: number, busyMs = BUSY_MS): Promise<Stats> {
  const scheduler = new VirtualScheduler(T0);
  const network = new SimulatedVoiceNetwork({ scheduler, seed, agentAnswerRate: 0.85, agentBusyRate: 0.05, talkMeanSeconds: 240, reportRinging: seed % 2 === 0 });
  const c = await startVoiceCenter(network, { scheduler, workspaceSidSeed: seed });
  const sim = new Sim(seed, c, network);
  try {
    await sim.setUp();
    const end = scheduler.now() + busyMs;
    while (scheduler.now() < end) await sim.tick(sim.rng.int(1, 15) * 1000);
    sim.draining = true;
    sim.note('draining');
    const drainEnd = scheduler.now() + DRAIN_MS;
    while (scheduler.now() < drainEnd) await sim.tick(10_000);
    sim.finalChecks();
    return sim.stats;
  } catch (err) {
    const tail = sim.log.slice(-60).join('\n');
    if (process.env['SIM_DEBUG'] !== undefined) writeFileSync(join(tmpdir(), `switchboard-sim-${seed}.log`), `${sim.log.join('\n')}\n--- state ---\n${sim.dump()}\n`);
    throw new Error(`seed ${seed}: ${(err as Error).message}\n--- last steps ---\n${tail}`, { cause: err });
  } finally {
    await sim.c.close();
  }
}

for (const seed of SEEDS) {
  test(`seeded voice simulation (transfers, outbound calls, participants), seed ${seed}: every leg ends, no worker in two rooms, every task and transfer ends`, async (t) => {
    const stats = await simulate(seed);
    t.diagnostic(JSON.stringify(stats));
    assert.ok(stats.calls > 0 && stats.outbound > 0);
    assert.ok(stats.transfers > 0, `some transfers were made: ${JSON.stringify(stats)}`);
  });
}

// ───────────── what the simulation found, minimised (deterministic examples) ─────────────

interface Small {
  c: VoiceCenter;
  network: SimulatedVoiceNetwork;
  queues: { hindi: string; english: string };
  engine: () => NonNullable<ReturnType<VoiceCenter['runtime']['workspace']>>;
  /** A caller pressing `digit` (1 Hindi → Asha, 2 English → Ben), answered with `conference`; resolves once they talk. */
  conferenceCall: (digit: '1' | '2') => Promise<{ callSid: string; taskSid: string; reservationSid: string; workerSid: string }>;
  /** The pending reservation of task `taskSid`. */
  pending: (taskSid: string) => { sid: string; workerSid: string } | undefined;
  instruct: (taskSid: string, reservationSid: string, form: Record<string, string>) => Promise<{ status: number; body: Record<string, unknown> }>;
  transfer: (taskSid: string, reservationSid: string, workerSid: string, to: string, mode: 'WARM' | 'COLD') => Promise<string>;
  kick: (taskSid: string, workerSid: string) => Promise<void>;
}

/** The seed center on the simulated network: phones answer after 3 s, conversations last an hour unless ended. */
async function small(): Promise<Small> {
  const scheduler = new VirtualScheduler(T0);
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 1, agentRingMinSeconds: 3, agentRingMaxSeconds: 3, agentAnswerRate: 1, agentBusyRate: 0 });
  const c = await startVoiceCenter(network, { scheduler, workspaceSidSeed: 1 });
  const engine = () => c.runtime.workspace(c.accountSid, c.workspaceSid) as NonNullable<ReturnType<VoiceCenter['runtime']['workspace']>>;
  const qs = await c.api('GET', `/v1/Workspaces/${c.workspaceSid}/TaskQueues`);
  const queues = Object.fromEntries((qs.body['task_queues'] as Array<Record<string, string>>).map((q) => [String(q['friendly_name']).toLowerCase(), q['sid']])) as Small['queues'];
  const pending = (taskSid: string) => [...engine().reservations.values()].find((r) => r.taskSid === taskSid && r.reservationStatus === 'pending');
  const instruct: Small['instruct'] = (taskSid, reservationSid, form) => c.api('POST', `/v1/Workspaces/${c.workspaceSid}/Tasks/${taskSid}/Reservations/${reservationSid}`, form);
  return {
    c,
    network,
    queues,
    engine,
    pending,
    instruct,
    conferenceCall: async (digit) => {
      const before = new Set(engine().tasks.keys());
      const callSid = network.placeCall({ from: '+15551230001', to: CENTER_NUMBER, digits: [digit], talkSeconds: 3600 });
      await scheduler.advance(30_000);
      const task = [...engine().tasks.values()].find((t) => !before.has(t.sid) && t.attributes['call_sid'] === callSid);
      assert.ok(task !== undefined);
      const r = pending(task.sid);
      assert.ok(r !== undefined);
      assert.equal((await instruct(task.sid, r.sid, { Instruction: 'conference', From: CENTER_NUMBER })).status, 200);
      await scheduler.advance(10_000);
      assert.equal(engine().tasks.get(task.sid)?.assignmentStatus, 'assigned');
      return { callSid, taskSid: task.sid, reservationSid: r.sid, workerSid: r.workerSid };
    },
    transfer: async (taskSid, reservationSid, workerSid, to, mode) => {
      const out = await c.runtime.voice.transfer(c.workspaceSid, { type: 'transferTask', workerSid, reservationSid, taskSid, to, mode }, { actor: { sid: c.accountSid, type: 'account' } });
      assert.equal(out.rejection, null);
      return engine().outgoingTransfer(taskSid)?.transferTaskSid as string;
    },
    kick: async (taskSid, workerSid) => {
      await c.runtime.voice.participant(c.workspaceSid, taskSid, { role: 'worker', workerSid }, { action: 'remove' });
      await scheduler.advance(1_000);
    },
  };
}

test('found by the simulation: the agent ending a conference call while a COLD transfer of it waits in a queue cancels the transfer task (hangup): the transfer fails', async () => {
  const s = await small();
  try {
    const scheduler = s.c.scheduler;
    // Nobody speaks Hindi: the transfer waits in the Hindi queue.
    await s.c.api('POST', `/v1/Workspaces/${s.c.workspaceSid}/Workers/${s.c.workers.hindi}`, { ActivitySid: s.c.activities.offline });
    const call = await s.conferenceCall('2');
    const t2 = await s.transfer(call.taskSid, call.reservationSid, call.workerSid, s.queues.hindi, 'COLD');
    assert.equal(s.engine().tasks.get(t2)?.assignmentStatus, 'pending');
    // Ben's side ends the conversation (the agent hangs up; the caller's call ends with it).
    const benLeg = s.network.legs().find((l) => l.to === ENGLISH_AGENT)?.callSid as string;
    await s.network.hangup({ callSid: benLeg }, scheduler.now());
    await scheduler.advance(1_000);
    assert.notEqual(s.network.call(call.callSid)?.endedAt, null);
    assert.equal(s.engine().tasks.get(t2)?.assignmentStatus, 'canceled');
    assert.equal(s.engine().tasks.get(t2)?.reason, 'hangup');
    assert.equal(s.engine().outgoingTransfer(call.taskSid)?.status, 'failed');
    assert.equal(s.engine().tasks.get(call.taskSid)?.assignmentStatus, 'wrapping');
  } finally {
    await s.c.close();
  }
});

test('found by the simulation: kicking the only worker of a conference while a COLD transfer of it waits cancels the transfer task (nobody can join the room any more); the caller stays in the room, as on Twilio, until they hang up', async () => {
  const s = await small();
  try {
    await s.c.api('POST', `/v1/Workspaces/${s.c.workspaceSid}/Workers/${s.c.workers.hindi}`, { ActivitySid: s.c.activities.offline });
    const call = await s.conferenceCall('2');
    const t2 = await s.transfer(call.taskSid, call.reservationSid, call.workerSid, s.queues.hindi, 'COLD');
    await s.kick(call.taskSid, call.workerSid);
    assert.equal(s.engine().tasks.get(t2)?.assignmentStatus, 'canceled');
    assert.equal(s.engine().outgoingTransfer(call.taskSid)?.status, 'failed');
    assert.equal(s.engine().tasks.get(call.taskSid)?.assignmentStatus, 'wrapping');
    assert.deepEqual(s.network.conference(call.taskSid)?.participants.map((p) => p.role), ['customer']);
    await s.network.hangup({ callSid: call.callSid }, s.c.scheduler.now());
    await s.c.scheduler.advance(1_000);
    assert.notEqual(s.network.call(call.callSid)?.endedAt, null);
    assert.deepEqual(s.network.errors, []);
  } finally {
    await s.c.close();
  }
});

test('found by the simulation: a worker already on a call is not given a second leg — a transfer to them (RoutingTarget ignores capacity) answered with conference is refused (400 naming the call), nothing placed, the reservation still pending', async () => {
  const s = await small();
  try {
    const ben = await s.conferenceCall('2');
    const asha = await s.conferenceCall('1');
    const t2 = await s.transfer(ben.taskSid, ben.reservationSid, ben.workerSid, s.c.workers.hindi, 'WARM');
    const r2 = s.pending(t2);
    assert.equal(r2?.workerSid, s.c.workers.hindi, 'the engine reserves Asha although she is busy');
    const legs = s.network.legs().length;
    const refused = await s.instruct(t2, r2.sid, { Instruction: 'conference', From: CENTER_NUMBER });
    assert.equal(refused.status, 400);
    assert.match(String(refused.body['message']), new RegExp(`already on a call \\(reservation ${asha.reservationSid} of task ${asha.taskSid}\\)`));
    const dequeue = await s.instruct(t2, r2.sid, { Instruction: 'dequeue', DequeueFrom: CENTER_NUMBER });
    assert.equal(dequeue.status, 400);
    await s.c.scheduler.advance(10_000);
    assert.equal(s.network.legs().length, legs, 'no leg placed');
    assert.equal(s.engine().reservations.get(r2.sid)?.reservationStatus, 'pending');
    assert.equal(s.network.conference(asha.taskSid)?.participants.length, 2);
    assert.equal(s.network.conference(ben.taskSid)?.participants.length, 2);
    // Once her own call is over she can take it.
    await s.kick(asha.taskSid, asha.workerSid);
    assert.equal((await s.instruct(t2, r2.sid, { Instruction: 'conference', From: CENTER_NUMBER })).status, 200);
    await s.c.scheduler.advance(10_000);
    assert.equal(s.network.conference(ben.taskSid)?.participants.length, 3, 'three-way');
  } finally {
    await s.c.close();
  }
});

test('found by the simulation: a transfer waiting for a call whose own worker already left (another worker kept the room live) is canceled when the room ends', async () => {
  const s = await small();
  try {
    const ben = await s.conferenceCall('2');
    // Ben brings Asha in (WARM); she joins.
    const t2 = await s.transfer(ben.taskSid, ben.reservationSid, ben.workerSid, s.c.workers.hindi, 'WARM');
    const r2 = s.pending(t2) as { sid: string };
    assert.equal((await s.instruct(t2, r2.sid, { Instruction: 'conference', From: CENTER_NUMBER })).status, 200);
    await s.c.scheduler.advance(10_000);
    assert.equal(s.network.conference(ben.taskSid)?.participants.length, 3);
    // Asha transfers her task to the English queue: nobody free there (Ben is on the call), it waits.
    const t3 = await s.transfer(t2, r2.sid, s.c.workers.hindi, s.queues.english, 'COLD');
    assert.equal(s.engine().tasks.get(t3)?.assignmentStatus, 'pending');
    // Asha leaves: the room is live with Ben, so the transfer still has a call to join.
    await s.kick(t2, s.c.workers.hindi);
    assert.equal(s.engine().tasks.get(t3)?.assignmentStatus, 'pending');
    // Ben leaves too: the conference is not live any more, so the waiting transfer is canceled.
    await s.kick(ben.taskSid, ben.workerSid);
    assert.deepEqual(s.network.conference(ben.taskSid)?.participants.map((p) => p.role), ['customer']);
    assert.equal(s.engine().tasks.get(t3)?.assignmentStatus, 'canceled');
    assert.equal(s.engine().tasks.get(t3)?.reason, 'hangup');
    assert.equal(s.engine().outgoingTransfer(t2)?.status, 'failed');
  } finally {
    await s.c.close();
  }
});

test('found by the simulation: a task accepted plainly (no leg moved) whose call has since ended cannot be transferred (400, nothing made): its transfer task would wait forever for a call to join; nor can one whose caller still holds', async () => {
  const s = await small();
  try {
    const ben = await s.conferenceCall('2');
    const t2 = await s.transfer(ben.taskSid, ben.reservationSid, ben.workerSid, s.c.workers.hindi, 'WARM');
    const r2 = s.pending(t2) as { sid: string };
    assert.equal((await s.instruct(t2, r2.sid, { ReservationStatus: 'accepted' })).status, 200);
    assert.equal(s.engine().tasks.get(t2)?.assignmentStatus, 'assigned');
    // The call ends (the caller hangs up); Asha's task is still assigned: nothing of hers was on the call.
    await s.network.hangup({ callSid: ben.callSid }, s.c.scheduler.now());
    await s.c.scheduler.advance(1_000);
    assert.equal(s.engine().tasks.get(t2)?.assignmentStatus, 'assigned');
    const before = { tasks: s.engine().tasks.size, transfers: s.engine().transfers.size };
    await assert.rejects(
      s.c.runtime.voice.transfer(s.c.workspaceSid, { type: 'transferTask', workerSid: s.c.workers.hindi, reservationSid: r2.sid, taskSid: t2, to: s.queues.english, mode: 'COLD' }, { actor: { sid: s.c.accountSid, type: 'account' } }),
      (e: Error & { status?: number; field?: string }) => e.status === 400 && e.field === 'TaskSid' && /is not in a conference in progress/.test(e.message),
    );
    assert.deepEqual({ tasks: s.engine().tasks.size, transfers: s.engine().transfers.size }, before, 'nothing made');
    // An inbound task accepted plainly while its caller holds: no conference to move them through.
    assert.equal((await s.c.api('POST', `/v1/Workspaces/${s.c.workspaceSid}/Tasks/${ben.taskSid}`, { AssignmentStatus: 'completed', Reason: 'done' })).status, 200);
    const held = s.network.placeCall({ from: '+15551230002', to: CENTER_NUMBER, digits: ['2'], talkSeconds: 60 });
    await s.c.scheduler.advance(30_000);
    const t = [...s.engine().tasks.values()].find((x) => x.attributes['call_sid'] === held) as { sid: string };
    const r = s.pending(t.sid) as { sid: string; workerSid: string };
    assert.equal((await s.instruct(t.sid, r.sid, { ReservationStatus: 'accepted' })).status, 200);
    await assert.rejects(
      s.c.runtime.voice.transfer(s.c.workspaceSid, { type: 'transferTask', workerSid: r.workerSid, reservationSid: r.sid, taskSid: t.sid, to: s.queues.hindi, mode: 'COLD' }, { actor: { sid: s.c.accountSid, type: 'account' } }),
      /is not in a conference in progress/,
    );
  } finally {
    await s.c.close();
  }
});
