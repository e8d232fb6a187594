/**
 * The pure side of `switchboard simulate --voice` (docs/simulation.md, "Through the call flow"):
 * the call flow the simulated callers go through, what each caller does in it, and the IVR step's
 * measures. The run itself — the runtime, its voice core, the simulated telephone network and the
 * agents — is the CLI's (src/cli/simulate-voice.ts); this file knows the flow format only.
 *
 * The flow. By default {@link logVruFlow}: one `gather` step with the id `vru` that stands for the
 * bank's voice response unit, then `enqueue`. A flow of the user's (`--flow`) is any valid flow
 * whose `enqueue` steps name the workflow {@link WORKFLOW_PLACEHOLDER} and whose callback offers
 * name the call target {@link CALL_TARGET_PLACEHOLDER}; the run puts its own SIDs in their place
 * (one copy of the flow per call type, each offering callbacks on its own queue's call target).
 *
 * The callers (seconds):
 * - at the step `vru` (a gather), a caller keys in the first choice exactly their logged `vru_time`
 *   after reaching it (0 for the 17 negative ones), during the prompt if sooner: with the default
 *   flow each caller's IVR time is their logged VRU time. A caller slower than the gather's window
 *   is silent there; the prompt is repeated up to `attempts` times, so the default flow (timeout
 *   60 s, 10 attempts) follows logged times up to about 610 s (7 calls of the sample are longer);
 * - at any other gather, the first choice, a second after its prompt (the network's answer delay);
 * - at a callback offer (an `offer_callback` step, or the offer made while holding), the caller
 *   takes it with the policy's take rate (one seeded draw per caller); otherwise they stay silent
 *   until the offer's timeout;
 * - once enqueued, they hold for their patience and talk for their handle time (src/sim/patience.ts).
 *
 * Instants epoch ms; durations seconds unless named `…Ms`.
 */
import { readFile } from 'node:fs/promises';
import { FlowValidationError, kindOf, validateFlow, type CallFlow, type FlowStep } from '../callflows/index.ts';
import type { CallRecord } from './anonymous-bank.ts';

/** The id of the step that stands for the log's voice response unit. */
export const VRU_STEP = 'vru';
/** What a flow names as its `enqueue` steps' workflow: the simulation's workflow. */
export const WORKFLOW_PLACEHOLDER = 'WW_SIM';
/** What a flow names as its callback offers' call target: the call target of the caller's queue. */
export const CALL_TARGET_PLACEHOLDER = 'CT_SIM';

/** A flow file that cannot be simulated; the message names the file, the step and the field. */
export class FlowFileError extends Error {
  override name = 'FlowFileError';
}

/** How a simulated caller answers one step's gather (the simulated network's `SimulatedAnswer`). */
export interface StepAnswer {
  digits: string;
  /** Seconds after the caller first reached the step; absent: a second after the prompt. */
  afterSeconds?: number;
}

/** What a caller does in the flow (the simulated network's caller fields). */
export interface CallerScript {
  answers: Record<string, StepAnswer>;
  acceptCallbackOffer: boolean;
}

/** The default flow: the log's voice response unit as one gather (see the module comment), then the queue. */
export function logVruFlow(): CallFlow {
  return {
    version: 1,
    friendlyName: "The log's voice response unit",
    steps: [
      {
        id: VRU_STEP,
        gather: {
          input: 'dtmf',
          numDigits: 1,
          timeout: 60,
          attempts: 10,
          prompt: [{ say: { text: 'Welcome to the bank.', language: 'en-US' } }],
          choices: { '1': { next: 'queue' } },
        },
      },
      { id: 'queue', enqueue: { workflowSid: WORKFLOW_PLACEHOLDER } },
    ],
  };
}

/** A flow as the JSON `--flow` reads (written to the output folder, to copy and edit). */
export function flowJson(flow: CallFlow): string {
  return `${JSON.stringify(flow, null, 2)}\n`;
}

/** Whether a flow makes callback offers (an `offer_callback` step or an offer while holding). */
export function offersCallbacks(flow: CallFlow): boolean {
  return flow.steps.some((s) => 'offer_callback' in s || ('enqueue' in s && s.enqueue.hold?.callbackOffer !== undefined));
}

/**
 * The flow with the simulation's SIDs in place of the placeholders: every string value equal to
 * {@link WORKFLOW_PLACEHOLDER} or {@link CALL_TARGET_PLACEHOLDER} is replaced (a copy; the
 * argument is left alone).
 */
export function instantiateFlow(flow: CallFlow, sids: { workflowSid: string; callTargetSid: string }): CallFlow {
  const swap = (v: unknown): unknown => {
    if (v === WORKFLOW_PLACEHOLDER) return sids.workflowSid;
    if (v === CALL_TARGET_PLACEHOLDER) return sids.callTargetSid;
    if (Array.isArray(v)) return v.map(swap);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
    return v;
  };
  return swap(flow) as CallFlow;
}

/**
 * Checks a flow document for the simulation and returns it (placeholders kept): valid as a flow
 * (validateFlow, with stand-in SIDs for the placeholders), every `enqueue` step naming
 * {@link WORKFLOW_PLACEHOLDER} and every callback offer {@link CALL_TARGET_PLACEHOLDER}. Throws
 * {@link FlowFileError} naming `source`, the step and the field.
 */
export function checkSimulationFlow(doc: unknown, source: string): CallFlow {
  // The placeholders first: a real SID here is the likelier mistake than a malformed one.
  const steps = (doc as { steps?: unknown } | null)?.steps;
  if (Array.isArray(steps)) {
    steps.forEach((step: unknown, i) => {
      const s = (typeof step === 'object' && step !== null ? step : {}) as Record<string, Record<string, unknown> | undefined>;
      const id = typeof s['id'] === 'string' ? ` (step "${s['id']}")` : '';
      const where = `${source}: steps[${i}]`;
      const enqueue = s['enqueue'];
      if (enqueue !== undefined && enqueue['workflowSid'] !== WORKFLOW_PLACEHOLDER) {
        throw new FlowFileError(`${where}.enqueue.workflowSid must be "${WORKFLOW_PLACEHOLDER}", the simulation's workflow${id}, not ${JSON.stringify(enqueue['workflowSid'])}`);
      }
      const held = (enqueue?.['hold'] as Record<string, Record<string, unknown> | undefined> | undefined)?.['callbackOffer'];
      if (held !== undefined && held['callTargetSid'] !== CALL_TARGET_PLACEHOLDER) {
        throw new FlowFileError(`${where}.enqueue.hold.callbackOffer.callTargetSid must be "${CALL_TARGET_PLACEHOLDER}", the call target of the caller's queue${id}`);
      }
      const offer = s['offer_callback'];
      if (offer !== undefined && offer['callTargetSid'] !== CALL_TARGET_PLACEHOLDER) {
        throw new FlowFileError(`${where}.offer_callback.callTargetSid must be "${CALL_TARGET_PLACEHOLDER}", the call target of the caller's queue${id}`);
      }
    });
  }
  const stand = instantiateFlow(doc as CallFlow, { workflowSid: `WW${'0'.repeat(32)}`, callTargetSid: `CT${'0'.repeat(32)}` });
  try {
    validateFlow(structuredClone(stand));
  } catch (error) {
    if (error instanceof FlowValidationError) throw new FlowFileError(`${source}: ${error.message}`);
    throw error;
  }
  const flow = doc as CallFlow;
  if (!flow.steps.some((s) => 'enqueue' in s)) throw new FlowFileError(`${source}: the flow has no enqueue step, so no caller would ever reach an agent`);
  return flow;
}

/** Reads and checks a flow file (JSON) for `--flow`; throws {@link FlowFileError}. */
export async function readSimulationFlow(path: string): Promise<CallFlow> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new FlowFileError(`--flow ${path}: no such file, or no permission to read it`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new FlowFileError(`--flow ${path}: not valid JSON (${(error as Error).message})`);
  }
  return checkSimulationFlow(doc, path);
}

/** A call's time in the log's voice response unit, seconds (a negative `vru_time` counts as 0). */
export function logVruSeconds(call: CallRecord): number {
  return Math.max(0, (call.vruExitAt - call.vruEntryAt) / 1000);
}

/**
 * What callers do in `flow` (see the module comment), as a function of the caller's VRU time and
 * whether they take a callback offer. The answers that do not depend on the caller are worked out
 * once here.
 */
export function callerScripts(flow: CallFlow): (vruSeconds: number, takesCallback: boolean) => CallerScript {
  const fixed: Record<string, StepAnswer> = {};
  const offers: Array<[string, string]> = [];
  let vru: string | null = null;
  for (const step of flow.steps) {
    const kind = kindOf(step);
    if (kind === 'gather') {
      const g = (step as Extract<FlowStep, { gather: unknown }>).gather;
      const first = Object.keys(g.choices)[0] ?? '';
      if (step.id === VRU_STEP) vru = first;
      else fixed[step.id] = { digits: first };
    } else if (kind === 'offer_callback') {
      offers.push([step.id, (step as Extract<FlowStep, { offer_callback: unknown }>).offer_callback.key ?? '1']);
    }
  }
  return (vruSeconds, takes) => {
    const answers: Record<string, StepAnswer> = { ...fixed };
    if (vru !== null) answers[VRU_STEP] = { digits: vru, afterSeconds: Math.max(0, vruSeconds) };
    for (const [id, key] of offers) answers[id] = { digits: takes ? key : '' };
    return { answers, acceptCallbackOffer: takes };
  };
}

/** One simulated call, as the IVR measures need it. */
export interface IvrCall {
  /** The log's day of the call (YYYY-MM-DD). */
  date: string;
  /** The log's VRU time, seconds ({@link logVruSeconds}). */
  logVruS: number;
  /** Seconds from the call's start to joining the queue in the simulation; null if it never did. */
  ivrS: number | null;
  /** Offered a callback in the IVR (before the queue). */
  offeredInIvr: boolean;
  /** …and took it. */
  tookInIvr: boolean;
}

/** The IVR step of one day (or the total), report.json's `ivr`. Durations seconds. */
export interface IvrMeasures {
  /** YYYY-MM-DD or "total". */
  date: string;
  /** Calls that entered the flow. */
  calls: number;
  /** …that reached the queue (a task was created). */
  reached_queue: number;
  /** …that ended in the flow (hung up there, a `hangup` step, or a callback taken there). */
  left_in_ivr: number;
  /** Mean and median seconds from the call's start to the queue, calls that reached it. */
  mean_ivr_s: number;
  median_ivr_s: number;
  /** The log's mean and median VRU time, every call of the day. */
  log_mean_vru_s: number;
  log_median_vru_s: number;
  /** Mean |simulated IVR time − logged VRU time| of the calls that reached the queue. */
  mean_abs_diff_s: number;
  /** Callbacks offered in the flow before the queue (`offer_callback` steps), and taken. */
  callbacks_offered_in_ivr: number;
  callbacks_taken_in_ivr: number;
}

/** The IVR measures per day (date order) and in total. */
export function ivrMeasures(calls: readonly IvrCall[]): { days: IvrMeasures[]; total: IvrMeasures } {
  const byDay = new Map<string, IvrCall[]>();
  for (const c of calls) {
    let list = byDay.get(c.date);
    if (list === undefined) byDay.set(c.date, (list = []));
    list.push(c);
  }
  const days = [...byDay.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([date, list]) => measure(date, list));
  return { days, total: measure('total', calls) };
}

function measure(date: string, calls: readonly IvrCall[]): IvrMeasures {
  const reached = calls.filter((c) => c.ivrS !== null);
  const ivr = reached.map((c) => c.ivrS as number);
  const log = calls.map((c) => c.logVruS);
  return {
    date,
    calls: calls.length,
    reached_queue: reached.length,
    left_in_ivr: calls.length - reached.length,
    mean_ivr_s: mean(ivr),
    median_ivr_s: median(ivr),
    log_mean_vru_s: mean(log),
    log_median_vru_s: median(log),
    mean_abs_diff_s: mean(reached.map((c) => Math.abs((c.ivrS as number) - c.logVruS))),
    callbacks_offered_in_ivr: calls.filter((c) => c.offeredInIvr).length,
    callbacks_taken_in_ivr: calls.filter((c) => c.tookInIvr).length,
  };
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
