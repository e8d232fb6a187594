/**
 * The run behind `switchboard simulate --voice` (docs/simulation.md, "Through the call flow"): the
 * log's callers dial in and go through the call flow on the same voice core the server runs,
 * instead of the simulator creating their tasks. Everything is the server's own, in virtual time:
 *
 * - a {@link Runtime} (engine, callback core, voice core) on a scratch SQLite database in memory,
 *   a {@link VirtualScheduler}, and the outbox {@link WebhookDispatcher} delivering the voice
 *   core's `voice.connect`/`voice.hangup` rows (and the callback core's dials);
 * - the {@link SimulatedVoiceNetwork} as the voice port: each call of the log is a simulated caller
 *   who dials the center's number of their call type at their `vru_entry`, keys in at the flow's
 *   menus (src/sim/voice-callers.ts: at the step `vru` after their logged VRU time), holds for their
 *   patience and talks for their handle time (src/sim/patience.ts, as the direct simulation);
 * - one copy of the flow per call type (its own number, the type's queue's call target), one
 *   workflow routing `call_type` and `priority` (webhook parameters, task attributes in snake_case)
 *   to the type's queue at the call's priority;
 * - agents: one worker per agent of the staffing plan, with a phone (`contact_uri`), Available
 *   during their shifts. Reservations reach them through the runtime's event listener (the
 *   in-process counterpart of an assignment callback): for a call's task they answer with the
 *   `dequeue` instruction (`runtime.voice.instruct`), their phone rings for the accept delay and
 *   is bridged to the caller; when the call ends the task is wrapping and they complete it after
 *   the wrap-up. A callback's task is accepted after the accept delay and completed after the
 *   original call's handle time and the wrap-up.
 *
 * The KPIs, occupancy and callback figures are the direct simulation's, from the engine events the
 * runtime committed; the IVR time of each call is the network's (start of the call to `enqueue`).
 * Instants epoch ms; durations seconds unless named `…Ms`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DailyKpiAccumulator } from '../analytics/kpi.ts';
import type { EngineEvent } from '../engine/index.ts';
import { checkInstruction, isInstructionError, reservationContext } from '../runtime/instructions.ts';
import { Runtime } from '../runtime/runtime.ts';
import { VirtualScheduler } from '../runtime/scheduler.ts';
import type { CallRecord } from '../sim/anonymous-bank.ts';
import { drawHandleTime, drawPatience, estimateAbandonmentRates, handleTimeSamples } from '../sim/patience.ts';
import { CALL_TYPE_NAMES } from '../sim/replay.ts';
import { combineDays } from '../sim/report.ts';
import { callbackStatuses, summarizeCallbacks } from '../sim/simulate-callbacks.ts';
import type { VoiceSimulationOptions, VoiceSimulationResult } from '../sim/simulate-job.ts';
import { DailyOccupancyAccumulator, totalOccupancy, type DayOccupancy } from '../sim/simulate-measures.ts';
import type { SimulatedDay } from '../sim/simulate.ts';
import { UNIDENTIFIED_PREFIX } from '../sim/staffing.ts';
import { callerScripts, instantiateFlow, logVruSeconds, offersCallbacks, type IvrCall } from '../sim/voice-callers.ts';
import { Random } from '../util/random.ts';
import { SimulatedNetwork } from '../voice/simulated-network.ts';
import { SimulatedVoiceNetwork } from '../voice/simulated-voice.ts';
import { WebhookDispatcher } from '../webhooks/dispatcher.ts';

const DAY_MS = 86_400_000;
/** The reason the callback core gives a live task it cancels for a callback taken while holding (not an abandonment). */
const OPTED_OUT = 'Opted to request a callback';

/** The center's number for the `i`-th call type (E.164, Israel). */
function centerNumber(i: number): string {
  return `+9723555${1000 + i}`;
}

/**
 * Runs `input` (non-phantom calls of the chosen days, any order) through the call flow (see the
 * module comment). Throws RangeError for a bad accept delay range or wrap-up; rejects if the
 * runtime refuses the setup (a bug) or the flow (a flow `checkSimulationFlow` let through).
 */
export async function simulateVoiceCalls(input: readonly CallRecord[], options: VoiceSimulationOptions): Promise<VoiceSimulationResult> {
  const [acceptMin, acceptMax] = options.acceptDelayS;
  if (!(acceptMin >= 0 && acceptMax >= acceptMin && Number.isFinite(acceptMax))) throw new RangeError(`accept delay must be 0 ≤ min ≤ max seconds, got [${acceptMin}, ${acceptMax}]`);
  const wrapUpS = options.wrapUpS;
  if (!(wrapUpS >= 0 && Number.isFinite(wrapUpS))) throw new RangeError(`wrap-up must be a number of seconds, 0 or more, got ${wrapUpS}`);
  const policy = options.callbacks;
  const offers = offersCallbacks(options.flow);

  // The caller model, drawn as the direct simulation draws it (same order, same seeds).
  const calls = input.filter((c) => c.outcome !== 'PHANTOM').sort((a, b) => a.askedAt - b.askedAt || a.line - b.line);
  const callerRandom = new Random(options.seed);
  const rates = estimateAbandonmentRates(calls);
  const samples = handleTimeSamples(calls);
  const patienceS = calls.map((c) => drawPatience(c, rates, callerRandom));
  const handleS = calls.map((c) => drawHandleTime(c, samples, callerRandom));
  const takeRandom = new Random(options.seed + 2);
  const takes = calls.map(() => offers && takeRandom.chance(policy.takeRate));
  const agentRandom = new Random(options.seed + 1);
  const script = callerScripts(options.flow);
  const shifts = options.staffing.shifts;
  const firstAt = Math.min(calls.reduce((m, c) => Math.min(m, c.vruEntryAt), Infinity), shifts[0]?.start ?? Infinity);
  const start = (Number.isFinite(firstAt) ? firstAt : 0) - 3_600_000;

  // The server, in virtual time, on a scratch database.
  const scheduler = new VirtualScheduler(start);
  const network = new SimulatedVoiceNetwork({ scheduler, seed: options.seed, agentAnswerRate: 1, agentBusyRate: 0, agentRingMinSeconds: acceptMin, agentRingMaxSeconds: acceptMax, wrapHangupBy: 'agent', reportRinging: false });
  const telephony = new SimulatedNetwork({ seed: options.seed ^ 0x5eed, answerRate: policy.answerRate, voicemailRate: (1 - policy.answerRate) * 0.4, busyRate: (1 - policy.answerRate) * 0.2 });
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-simulate-'));
  const problems: string[] = [];
  /** Commands the runtime refused to take (a failed commit): the run cannot be trusted then. */
  const failures: string[] = [];
  const failed = (what: string) => (error: unknown): void => {
    failures.push(`${what}: ${(error as Error).message}`);
  };
  let runtime: Runtime | null = null;
  let dispatcher: WebhookDispatcher | null = null;
  try {
    runtime = await Runtime.open({
      dataDir,
      databasePath: ':memory:',
      synchronous: 'OFF',
      scheduler,
      voice: { port: network, onError: (e) => problems.push(`voice port: ${(e as Error).message}`) },
      callbacks: { telephony, ewtWarmup: { hours: 0 }, center: { terminalRetentionSeconds: null }, onError: (e) => problems.push(`telephony: ${(e as Error).message}`) },
      // One workspace whose log nobody replays: a snapshot would only cost time (measured: +4–8 s on the sample).
      snapshotEvery: Number.MAX_SAFE_INTEGER,
      forceSnapshotAfter: Number.MAX_SAFE_INTEGER,
    });
    const rt = runtime;
    const dispatchRandom = new Random(options.seed + 3);
    dispatcher = new WebhookDispatcher(rt, {
      scheduler,
      pollMs: 0,
      keepDoneMs: 3_600_000,
      random: () => dispatchRandom.next(),
      onAlert: (a) => problems.push(`alert ${a.code}: ${a.message}`),
      onDeliveryFailure: (f) => problems.push(`${f.kind} delivery failed: ${(f.error as Error)?.message ?? String(f.error)}`),
      deliverers: { ...rt.callbacks.deliverers(), ...rt.voice.deliverers() },
    });
    dispatcher.start();

    // The center: queues by call type, one workflow, the agents, a number and flow per type.
    const account = await rt.createAccount('What-if simulation');
    const { engine } = await rt.createWorkspace(account.sid, { friendlyName: 'What-if simulation through the call flow' }, undefined, (options.seed >>> 0) % 2 ** 31);
    const ws = engine.workspace.sid;
    const setup = async (command: Parameters<Runtime['execute']>[1]): Promise<string> => {
      const out = await rt.execute(ws, command);
      if (out.rejection !== null) throw new Error(`simulate --voice: ${command.type} was refused: ${out.rejection.message}`);
      return out.sid as string;
    };
    const activity = (name: string): string => [...engine.activities.values()].find((a) => a.friendlyName === name)?.sid as string;
    const available = activity('Available');
    const offline = activity('Offline');
    const types = [...new Set([...calls.map((c) => c.type), ...shifts.flatMap((s) => s.types)])].sort();
    const queueOf = new Map<string, string>();
    for (const type of types) {
      const name = CALL_TYPE_NAMES[type] === undefined ? type : `${type} ${CALL_TYPE_NAMES[type]}`;
      queueOf.set(type, await setup({ type: 'createTaskQueue', friendlyName: name, targetWorkers: `types HAS "${type}"` }));
    }
    const priorities = [...new Set(calls.map((c) => c.priority))].sort((a, b) => b - a);
    const filters = types.flatMap((type) =>
      priorities.map((p) => ({ filter_friendly_name: `${type} priority ${p}`, expression: `call_type == "${type}" AND priority == "${p}"`, targets: [{ queue: queueOf.get(type), priority: p }] })),
    );
    const workflowSid = await setup({ type: 'createWorkflow', friendlyName: 'By call type', configuration: JSON.stringify({ task_routing: { filters } }) });
    const workerOf = new Map<string, string>();
    const attributesOf = new Map<string, string>();
    const agents = [...new Set(shifts.map((s) => s.agent))].sort();
    for (const [i, name] of agents.entries()) {
      const attributes = { types: shifts.find((s) => s.agent === name)?.types ?? [], contact_uri: `+97250${String(i + 1).padStart(7, '0')}` };
      attributesOf.set(name, JSON.stringify(attributes));
      workerOf.set(name, await setup({ type: 'createWorker', friendlyName: name, attributes: JSON.stringify(attributes), activitySid: offline }));
    }
    const callbackHost = offers ? rt.callbacks.host(account.sid, ws, true) : undefined;
    const numberOf = new Map<string, string>();
    for (const [i, type] of types.entries()) {
      const number = centerNumber(i);
      numberOf.set(type, number);
      const queueSid = queueOf.get(type) as string;
      const callTargetSid = `CT${queueSid.slice(2)}`;
      if (callbackHost !== undefined) {
        await rt.runCallbacks(callbackHost, (center) =>
          center.putCallTarget({ sid: callTargetSid, friendlyName: `${type} callbacks`, taskQueueSid: queueSid, callerId: number, strategy: policy.strategy, offer: { minEwtSeconds: policy.offerThresholdS, asap: true, scheduledVoice: false, scheduledApi: false, sampleRate: 1 } }),
        );
      }
      const flow = await rt.voice.putFlow(account.sid, ws, null, { friendlyName: `${options.flow.friendlyName ?? 'Call flow'} (${type})`, definition: instantiateFlow(options.flow, { workflowSid, callTargetSid }) });
      await rt.voice.putNumber(account.sid, ws, null, { phoneNumber: number, friendlyName: `${type} line`, callFlowSid: flow.sid });
    }

    // Measures, from the events each commit made durable (as the direct simulation's).
    const indexOfKey = new Map(calls.map((c, i) => [c.key, i]));
    const indexOfCall = new Map<string, number>();
    const kpis = new DailyKpiAccumulator();
    const occupancy = new DailyOccupancyAccumulator(['Available'], (name) => name.startsWith(UNIDENTIFIED_PREFIX));
    const liveTasks = new Set<string>();
    const offeredInIvr = new Set<number>();
    const tookInIvr = new Set<number>();
    const offered = new Set<number>();
    const took = new Set<number>();
    const offeredByDay = new Map<string, number>();
    const tookByDay = new Map<string, number>();
    let events = 0;
    let batches = 0;
    let bridged = 0;
    const complete = (taskSid: string, afterS: number): void => {
      scheduler.setTimer(() => {
        const status = engine.tasks.get(taskSid)?.assignmentStatus;
        if (status === 'assigned' || status === 'wrapping') void rt.execute(ws, { type: 'updateTask', taskSid, assignmentStatus: 'completed', reason: 'handled' }).catch(failed('complete a task'));
      }, afterS * 1000);
    };
    const callOfCallback = (attributes: Record<string, unknown>): number | undefined => {
      const context = attributes['context'] as Record<string, unknown> | undefined;
      const callSid = context?.['call_sid'];
      return typeof callSid === 'string' ? indexOfCall.get(callSid) : undefined;
    };
    const onEngineEvent = (e: EngineEvent): void => {
      events += 1;
      occupancy.observe(e);
      if (e.resourceType === 'task') {
        if (e.eventType === 'task.created') {
          const attributes = JSON.parse(e.data['task_attributes'] as string) as Record<string, unknown>;
          const i = typeof attributes['call_key'] === 'string' && attributes['callback_sid'] === undefined ? indexOfKey.get(attributes['call_key']) : undefined;
          if (i === undefined) return;
          liveTasks.add(e.resourceSid);
          // A call counts on the day it entered the center, as in the replay and the direct simulation.
          kpis.observe({ ...e, data: { ...e.data, task_virtual_start_time: Math.floor((calls[i] as CallRecord).vruEntryAt / 1000) } });
        } else if (liveTasks.has(e.resourceSid)) {
          if (e.eventType === 'task.canceled' && e.data['task_canceled_reason'] === OPTED_OUT) return;
          kpis.observe(e);
          if (e.eventType === 'task.wrapup') complete(e.resourceSid, wrapUpS);
        }
      } else if (e.resourceType === 'reservation') {
        const taskSid = e.data['task_sid'] as string;
        if (e.eventType === 'reservation.accepted' && liveTasks.has(taskSid)) {
          bridged += 1;
          kpis.observe(e);
        } else if (e.eventType === 'reservation.created') {
          const r = engine.reservations.get(e.resourceSid);
          const task = engine.tasks.get(taskSid);
          if (r === undefined || task === undefined || r.reservationStatus !== 'pending') return;
          if (typeof task.attributes['call_sid'] === 'string') {
            // A caller holding: the agent's app answers with `dequeue`, from the number the caller dialed.
            const checked = checkInstruction('dequeue', { from: String(task.attributes['to'] ?? '') }, reservationContext(engine, r));
            if (isInstructionError(checked)) {
              problems.push(`dequeue refused: ${checked.message}`);
              return;
            }
            void rt.voice.instruct(account.sid, ws, r.sid, checked, null).catch(failed('dequeue'));
          } else {
            // A callback's task: accepted at the desk after the accept delay, handled as the original call.
            const i = callOfCallback(task.attributes);
            const delay = acceptMin + agentRandom.next() * (acceptMax - acceptMin);
            scheduler.setTimer(() => {
              void rt
                .execute(ws, { type: 'updateReservation', reservationSid: r.sid, reservationStatus: 'accepted' })
                .then((out) => {
                  if (out.rejection === null) complete(task.sid, (i === undefined ? 0 : (handleS[i] as number)) + wrapUpS);
                })
                .catch(failed('accept a callback'));
            }, delay * 1000);
          }
        }
      }
    };
    rt.onEvents(({ records, coreEvents }) => {
      batches += 1;
      for (const r of records) for (const e of r.events) onEngineEvent(e);
      for (const { event } of coreEvents) {
        if (event.eventType !== 'callflow.offered' && event.eventType !== 'callflow.ended') continue;
        const i = indexOfCall.get(event.resourceSid);
        if (i === undefined) continue;
        const data = (event as { data?: Record<string, unknown> }).data ?? {};
        const date = (calls[i] as CallRecord).date;
        if (event.eventType === 'callflow.offered') {
          offeredByDay.set(date, (offeredByDay.get(date) ?? 0) + 1);
          offered.add(i);
          if (data['in_queue'] === false) offeredInIvr.add(i);
        } else if (data['outcome'] === 'callback') {
          tookByDay.set(date, (tookByDay.get(date) ?? 0) + 1);
          took.add(i);
          if (offeredInIvr.has(i) && network.ivrSeconds(event.resourceSid) === null) tookInIvr.add(i);
        }
      }
    });

    // The timeline: shifts, and each caller dialing in at their VRU entry.
    for (const s of shifts) {
      const workerSid = workerOf.get(s.agent) as string;
      scheduler.setTimer(() => {
        const attributes = JSON.stringify({ ...(JSON.parse(attributesOf.get(s.agent) as string) as object), types: s.types });
        const changed = attributes !== attributesOf.get(s.agent);
        attributesOf.set(s.agent, attributes);
        void rt.execute(ws, { type: 'updateWorker', workerSid, activitySid: available, ...(changed ? { attributes } : {}) }).catch(failed('start a shift'));
      }, s.start - start);
      scheduler.setTimer(() => void rt.execute(ws, { type: 'updateWorker', workerSid, activitySid: offline, rejectPendingReservations: true }).catch(failed('end a shift')), s.end - start);
    }
    const order = calls.map((_, i) => i).sort((a, b) => (calls[a] as CallRecord).vruEntryAt - (calls[b] as CallRecord).vruEntryAt || a - b);
    const callSids: string[] = new Array(calls.length);
    let placed = 0;
    for (const i of order) {
      const c = calls[i] as CallRecord;
      scheduler.setTimer(() => {
        const { answers, acceptCallbackOffer } = script(logVruSeconds(c), takes[i] as boolean);
        const callSid = network.placeCall({
          from: `+97252${String(i + 1).padStart(7, '0')}`,
          to: numberOf.get(c.type) as string,
          parameters: { CallKey: c.key, CallType: c.type, Priority: String(c.priority), CustomerId: c.customerId },
          answers,
          acceptCallbackOffer,
          patienceSeconds: patienceS[i] as number,
          talkSeconds: handleS[i] as number,
        });
        callSids[i] = callSid;
        indexOfCall.set(callSid, i);
        placed += 1;
      }, c.vruEntryAt - start);
    }

    // Run: up to the last arrival or shift change, then until the last caller is done (at most a day more).
    const last = Math.max(calls.reduce((m, c) => Math.max(m, c.vruEntryAt), start), shifts.reduce((m, s) => Math.max(m, s.end), start));
    const stepMs = 900_000;
    for (let t = start; t < last; t += stepMs) {
      await scheduler.advanceTo(Math.min(t + stepMs, last));
      // Nobody reads the stored events back: keep the last hour's, so the database in memory stays
      // small (measured on the sample: 1.2 GB resident without this, 0.6 GB with it, same time).
      await rt.store.pruneEvents(scheduler.now() - 3_600_000);
      options.onProgress?.(placed, calls.length);
    }
    for (let next = scheduler.nextDue(); next !== null && next <= last + DAY_MS && network.activeCalls > 0; next = scheduler.nextDue()) {
      await scheduler.advanceTo(next);
    }
    options.onProgress?.(placed, calls.length);

    // The measures.
    const kpiDays = kpis.result();
    const occDays = occupancy.result();
    const days = kpiDays.map((k) => simulatedDay(k, occDays.find((o) => o.date === k.date) ?? null, tookByDay.get(k.date) ?? 0));
    const total = simulatedDay(combineDays(kpiDays), totalOccupancy(occDays.filter((o) => kpiDays.some((k) => k.date === o.date))), took.size);
    const callbacks = callbackHost === undefined ? [] : callbackHost.center.listCallbacks();
    const ivr: IvrCall[] = calls.map((c, i) => {
      const callSid = callSids[i];
      return { date: c.date, logVruS: logVruSeconds(c), ivrS: callSid === undefined ? null : network.ivrSeconds(callSid), offeredInIvr: offeredInIvr.has(i), tookInIvr: tookInIvr.has(i) };
    });
    if (failures.length > 0) throw new Error(`simulate --voice: the runtime refused ${failures.length} write(s), the run is void; the first: ${failures[0]}`);
    if (problems.length + network.errors.length > 0) {
      const first = problems[0] ?? `${network.errors[0]?.operation}: ${(network.errors[0]?.error as Error)?.message}`;
      process.stderr.write(`switchboard simulate --voice: ${problems.length + network.errors.length} problem(s) in the run, the first: ${first}\n`);
    }
    return {
      days,
      total,
      callbacks: offers
        ? {
            ...summarizeCallbacks(offeredByDay, callbacks, (cb) => {
              const i = callOfCallback({ context: cb.context });
              return i === undefined ? null : (calls[i] as CallRecord).date;
            }),
            statuses: callbackStatuses(callbacks),
            // Callers who pressed the key but were not registered (the center refused): they went on in the flow.
            refused: [...offered].filter((i) => takes[i] === true && !took.has(i)).length,
          }
        : null,
      facts: {
        calls: calls.length,
        agents: workerOf.size,
        shifts: shifts.length,
        abandonment_rates: rates,
        drawn_handle_times: calls.filter((c) => c.outcome !== 'AGENT').length,
        events,
      },
      ivr,
      voice: { calls_placed: placed, calls_bridged: bridged, agent_legs: network.legs().length, network_errors: network.errors.length + problems.length, batches },
    };
  } finally {
    await dispatcher?.stop();
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function simulatedDay(k: ReturnType<typeof combineDays>, o: DayOccupancy | null, took: number): SimulatedDay {
  return {
    ...k,
    took_callback: took,
    abandonment: k.offered === 0 ? 0 : k.abandoned / k.offered,
    occupancy: o?.occupancy ?? 0,
    logged_in_hours: o?.logged_in_hours ?? 0,
    busy_hours: o?.busy_hours ?? 0,
  };
}
