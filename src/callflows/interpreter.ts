/**
 * The call-flow core (DESIGN.md "Cores and the one runtime"; spec voice-worker-sdk-console.md A1,
 * A5.3): the flows of a workspace and the calls running through them, as one deterministic state
 * machine shaped like the engine and the callback center. Inputs come in with their instant
 * (`execute`), events and effects go out; the core's own timers (hold announcements) are data
 * behind `nextDeadline`/`advanceTo`; `snapshot`/`restore` round-trip as plain JSON. No clock,
 * randomness, I/O or SIDs of its own: call SIDs come from the telephony, task and callback SIDs
 * from the host's answers to the effects.
 *
 * The host (the runtime next session) carries effects out in order and answers those that ask:
 * `create_task` → `task_created`/`task_refused`; `decide_offer` → `offer_decided`;
 * `register_callback` → `callback_registered`/`callback_refused`. Answers given in the same turn
 * complete the call's `respond` effect, which is then the TwiML answer to the webhook.
 */
import { Heap } from '../engine/heap.ts';
import { assert } from '../util/assert.ts';
import type { CallFlow } from './flow.ts';
import { applyInput, callDeadline, fireDeadline, newCall, startCall } from './machine.ts';
import type { CallState, FlowInput, FlowOutcome } from './model.ts';
import { validateFlow } from './validate.ts';

/** The interpreter as plain data (exact JSON round trip). */
export interface CallFlowSnapshot {
  version: 1;
  /** Epoch ms. */
  now: number;
  /** flow SID → the key of its current version. */
  current: Array<[string, string]>;
  /** Flow versions in use: the current ones and those calls still run. */
  flows: Array<[string, CallFlow]>;
  /** Revision counter for flow versions. */
  revision: number;
  calls: CallState[];
}

interface DeadlineEntry {
  at: number;
  callSid: string;
}

const ORDER = {
  major: (e: DeadlineEntry) => e.at,
  minor: () => 0,
  tieBefore: (a: DeadlineEntry, b: DeadlineEntry) => a.callSid < b.callSid,
};

export class CallFlowInterpreter {
  private now: number;
  private revision = 0;
  /** flow SID → version key (`<sid>#<revision>`). */
  private readonly current = new Map<string, string>();
  private readonly versions = new Map<string, CallFlow>();
  private readonly calls = new Map<string, CallState>();
  /** Calls' deadlines, lazily: an entry is stale unless `scheduled` still holds its instant. */
  private readonly deadlines = new Heap<DeadlineEntry>(ORDER);
  private readonly scheduled = new Map<string, number>();

  /** `now`: the epoch ms the core starts at. */
  constructor(now = 0) {
    this.now = now;
  }

  /** Sets (or replaces) a flow after validating it (throws FlowValidationError). Calls already running keep the version they started with. */
  putFlow(flowSid: string, doc: unknown): CallFlow {
    const flow = validateFlow(structuredClone(doc));
    const key = `${flowSid}#${++this.revision}`;
    this.current.set(flowSid, key);
    this.versions.set(key, flow);
    this.pruneVersions();
    return flow;
  }

  /** Removes a flow: new calls to it are refused; running calls finish on their version. */
  removeFlow(flowSid: string): void {
    this.current.delete(flowSid);
    this.pruneVersions();
  }

  /** The current version of a flow. */
  flow(flowSid: string): CallFlow | undefined {
    const key = this.current.get(flowSid);
    return key === undefined ? undefined : this.versions.get(key);
  }

  /** A running call's state (read-only), or undefined once it ended. */
  call(callSid: string): Readonly<CallState> | undefined {
    return this.calls.get(callSid);
  }

  /** How many calls are in the flow now. */
  get activeCalls(): number {
    return this.calls.size;
  }

  /**
   * Applies one input at its instant, after firing what was due before it. Inputs for unknown or
   * ended calls, or that do not fit the call's phase (a webhook retried), change nothing and come
   * back with `ignored` set. A `call_started` for an unknown flow is a bug of the host (asserted).
   */
  execute(input: FlowInput): FlowOutcome {
    assert(input.at >= this.now, `input at ${input.at} is before the core's now ${this.now}`);
    const out = this.advanceTo(input.at);
    let r: FlowOutcome;
    if (input.type === 'call_started') {
      if (this.calls.has(input.callSid)) return { ...out, ignored: `call ${input.callSid} already started` };
      const key = this.current.get(input.flowSid);
      assert(key !== undefined, `no flow ${input.flowSid}`);
      const flow = this.versions.get(key) as CallFlow;
      const c = newCall(input, key, flow);
      this.calls.set(c.callSid, c);
      r = startCall(flow, c, input.at);
      this.settle(c);
    } else {
      const c = this.calls.get(input.callSid);
      if (c === undefined) return { ...out, ignored: `no call ${input.callSid} in a flow` };
      r = applyInput(this.versions.get(c.flowKey) as CallFlow, c, input);
      this.settle(c);
    }
    return { events: [...out.events, ...r.events], effects: [...out.effects, ...r.effects], ...(r.ignored === undefined ? {} : { ignored: r.ignored }) };
  }

  /** The earliest instant a call has something to do on its own (an announcement), or null. */
  nextDeadline(): number | null {
    for (;;) {
      const top = this.deadlines.peek();
      if (top === undefined) return null;
      if (this.scheduled.get(top.callSid) === top.at) return top.at;
      this.deadlines.pop();
    }
  }

  /** Fires every deadline due at or before `now`, in order of instant (then call SID). */
  advanceTo(now: number): FlowOutcome {
    assert(now >= this.now, `advanceTo ${now} is before the core's now ${this.now}`);
    const out: FlowOutcome = { events: [], effects: [] };
    for (let due = this.nextDeadline(); due !== null && due <= now; due = this.nextDeadline()) {
      const e = this.deadlines.pop() as DeadlineEntry;
      this.scheduled.delete(e.callSid);
      const c = this.calls.get(e.callSid) as CallState;
      this.now = e.at;
      const r = fireDeadline(this.versions.get(c.flowKey) as CallFlow, c, e.at);
      out.events.push(...r.events);
      out.effects.push(...r.effects);
      this.settle(c);
    }
    this.now = now;
    return out;
  }

  /**
   * The calls whose own deadline is due at or before `now` (epoch ms), in no particular order: the
   * host refreshes their place in line and EWT (`queue_update`) before it advances the core.
   */
  dueCalls(now: number): string[] {
    const out: string[] = [];
    for (const [callSid, at] of this.scheduled) if (at <= now) out.push(callSid);
    return out;
  }

  /** Every running call's SID. */
  callSids(): IterableIterator<string> {
    return this.calls.keys();
  }

  /**
   * The flows part of the snapshot (no calls): what a host persists when a flow changes, keeping
   * each call in a row of its own. {@link restore} takes it back with the calls.
   */
  flowsSnapshot(): Omit<CallFlowSnapshot, 'calls'> {
    this.pruneVersions();
    return structuredClone({ version: 1 as const, now: this.now, current: [...this.current], flows: [...this.versions], revision: this.revision });
  }

  /** The core as plain data. */
  snapshot(): CallFlowSnapshot {
    this.pruneVersions();
    return structuredClone({
      version: 1 as const,
      now: this.now,
      current: [...this.current],
      flows: [...this.versions],
      revision: this.revision,
      calls: [...this.calls.values()],
    });
  }

  /** A core from a snapshot; it continues exactly as the one snapshotted would. */
  static restore(snapshot: CallFlowSnapshot): CallFlowInterpreter {
    assert(snapshot.version === 1, `unknown call-flow snapshot version ${snapshot.version}`);
    const s = structuredClone(snapshot);
    const core = new CallFlowInterpreter(s.now);
    core.revision = s.revision;
    for (const [key, flow] of s.flows) core.versions.set(key, flow);
    for (const [sid, key] of s.current) core.current.set(sid, key);
    for (const c of s.calls) {
      assert(core.versions.has(c.flowKey), `call ${c.callSid} runs a flow version the snapshot lacks (${c.flowKey})`);
      core.calls.set(c.callSid, c);
      core.settle(c);
    }
    return core;
  }

  /** After an operation on a call: drop it once ended (unless a task is still to be canceled), or (re)schedule its deadline. */
  private settle(c: CallState): void {
    if (c.phase === 'ended' && !c.callerGone) {
      this.calls.delete(c.callSid);
      this.scheduled.delete(c.callSid);
      return;
    }
    const at = callDeadline(c);
    if (at === null) this.scheduled.delete(c.callSid);
    else if (this.scheduled.get(c.callSid) !== at) {
      this.scheduled.set(c.callSid, at);
      this.deadlines.push({ at, callSid: c.callSid });
    }
  }

  private pruneVersions(): void {
    const used = new Set(this.current.values());
    for (const c of this.calls.values()) used.add(c.flowKey);
    for (const key of this.versions.keys()) if (!used.has(key)) this.versions.delete(key);
  }
}
