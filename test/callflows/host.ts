/**
 * A test host for the call-flow core: real parts (a WorkspaceEngine with the seed workflow "Incoming
 * Customer Requests", a CallbackCenter with one call target) carry the interpreter's effects out and
 * answer them in the same turn, as the runtime will. It records every effect per call.
 * Time starts at T0 (Monday 2024-01-01 12:00 UTC); SIDs are sequential.
 */
import { CallbackCenter, CallbackError, rangePhrase } from '../../src/callbacks/index.ts';
import { WorkspaceEngine } from '../../src/engine/engine.ts';
import { SequentialSids } from '../../src/util/sid.ts';
import { CallFlowInterpreter, SEED_WORKFLOW_NAME, type FlowEffect, type FlowEvent, type FlowInput, type Verb } from '../../src/callflows/index.ts';

export const T0 = 1_704_110_400_000;
export const TARGET = 'CT-support';

/** The incoming-call webhook parameters of a caller (Twilio's names). */
export function callParams(callSid: string, from: string, to = '+18005550100'): Record<string, string> {
  return {
    CallSid: callSid,
    AccountSid: 'AC' + '0'.repeat(32),
    From: from,
    To: to,
    CallStatus: 'ringing',
    Direction: 'inbound',
    ApiVersion: '2010-04-01',
    Caller: from,
    Called: to,
    FromCity: 'MUMBAI',
    FromCountry: 'IN',
  };
}

export class Host {
  readonly engine: WorkspaceEngine;
  readonly center: CallbackCenter;
  core: CallFlowInterpreter;
  readonly workflowSid: string;
  readonly hindiQueue: string;
  readonly englishQueue: string;
  /** Every effect and event, in order. */
  readonly effects: FlowEffect[] = [];
  readonly events: FlowEvent[] = [];
  /** The caller's EWT the host reports to the callback core's offer decision, seconds. */
  ewtOf: (callSid: string) => number | null = () => 300;

  constructor() {
    const sids = new SequentialSids(1);
    const { engine } = WorkspaceEngine.create({ friendlyName: 'Voice', at: T0, newSid: sids.next });
    this.engine = engine;
    this.hindiQueue = engine.execute({ type: 'createTaskQueue', at: T0, friendlyName: 'Hindi', targetWorkers: 'languages HAS "hindi"' }).sid as string;
    this.englishQueue = engine.execute({ type: 'createTaskQueue', at: T0, friendlyName: 'English', targetWorkers: 'languages HAS "english"' }).sid as string;
    const configuration = JSON.stringify({
      task_routing: { filters: [{ expression: 'selected_language == "hindi"', targets: [{ queue: this.hindiQueue }] }], default_filter: { queue: this.englishQueue } },
    });
    const wf = engine.execute({ type: 'createWorkflow', at: T0, friendlyName: SEED_WORKFLOW_NAME, configuration });
    if (wf.rejection !== null) throw new Error(JSON.stringify(wf.rejection));
    this.workflowSid = wf.sid as string;
    const centerSids = new SequentialSids(2);
    this.center = new CallbackCenter({ newSid: (p) => centerSids.next(p), now: T0 });
    this.center.putCallTarget({ sid: TARGET, taskQueueSid: this.englishQueue, callerId: '+18005550100' });
    this.core = new CallFlowInterpreter(T0);
  }

  /** Feeds an input and carries out its effects, answering those that ask, until none is left. */
  send(input: FlowInput): FlowEffect[] {
    const r = this.core.execute(input);
    return this.carry(r.events, r.effects, input.at);
  }

  /** Moves time to `at`, carrying out what the core's deadlines produce. */
  advance(at: number): FlowEffect[] {
    const r = this.core.advanceTo(at);
    return this.carry(r.events, r.effects, at);
  }

  effectsOf(callSid: string): FlowEffect[] {
    return this.effects.filter((e) => e.callSid === callSid);
  }

  responsesOf(callSid: string): Verb[][] {
    return this.effectsOf(callSid).flatMap((e) => (e.kind === 'respond' ? [e.verbs] : []));
  }

  private carry(events: FlowEvent[], effects: FlowEffect[], at: number): FlowEffect[] {
    const done: FlowEffect[] = [];
    this.events.push(...events);
    for (const e of effects) {
      this.effects.push(e);
      done.push(e);
      const answer = this.answer(e, at);
      if (answer !== null) done.push(...this.send(answer));
    }
    return done;
  }

  private answer(e: FlowEffect, at: number): FlowInput | null {
    switch (e.kind) {
      case 'create_task': {
        const o = this.engine.execute(e.command);
        return o.rejection === null ? { type: 'task_created', at, callSid: e.callSid, taskSid: o.sid as string } : { type: 'task_refused', at, callSid: e.callSid, reason: o.rejection.message };
      }
      case 'cancel_task': {
        const o = this.engine.execute(e.command);
        if (o.rejection !== null) throw new Error(`cancel refused: ${o.rejection.message}`);
        return null;
      }
      case 'decide_offer':
        return { type: 'offer_decided', at, callSid: e.callSid, decision: this.center.offer(e.callTargetSid, { ewtSeconds: this.ewtOf(e.callSid), channel: 'voice' }, at) };
      case 'register_callback':
        try {
          const req = { callTargetSid: e.callTargetSid, phoneNumber: e.phoneNumber, context: e.context };
          let out;
          if (e.inQueueTaskSid === null) out = this.center.register(req, at);
          else {
            const task = this.engine.tasks.get(e.inQueueTaskSid);
            if (task === undefined) throw new Error(`no task ${e.inQueueTaskSid}`);
            out = this.center.acceptInQueue(task, req, at);
          }
          for (const fx of out.effects) if (fx.kind === 'engine' && fx.purpose === 'cancel_task') this.engine.execute(fx.command);
          return { type: 'callback_registered', at, callSid: e.callSid, callbackSid: out.callback.sid, ecbtPhrase: rangePhrase(out.callback.ecbtSeconds ?? 0) };
        } catch (err) {
          if (err instanceof CallbackError) return { type: 'callback_refused', at, callSid: e.callSid, reason: err.message };
          throw err;
        }
      case 'respond':
      case 'end_call':
        return null;
    }
  }
}
