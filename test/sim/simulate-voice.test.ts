/**
 * `switchboard simulate --voice` (src/cli/simulate-voice.ts on the runtime's voice core, the callers
 * and measures of src/sim/voice-callers.ts) on slices of the real Anonymous Bank sample: with the
 * default flow every caller reaches the queue exactly their logged VRU time after dialing in; a
 * flow with one more menu adds that menu's time; a flow that offers a callback in the IVR has
 * callers take it and leave the IVR; the same seed gives the same run; the job puts the IVR step
 * in the report. The flow file's checks.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { simulateVoiceCalls } from '../../src/cli/simulate-voice.ts';
import type { CallFlow } from '../../src/callflows/index.ts';
import { importAnonymousBank, type CallRecord } from '../../src/sim/anonymous-bank.ts';
import { DEFAULT_CALLBACK_POLICY } from '../../src/sim/simulate-callbacks.ts';
import { runSimulateJob, type VoiceSimulationOptions } from '../../src/sim/simulate-job.ts';
import { renderSimulationHtml } from '../../src/sim/simulate-report-html.ts';
import { simulateCalls } from '../../src/sim/simulate.ts';
import { inferStaffing } from '../../src/sim/staffing.ts';
import {
  CALL_TARGET_PLACEHOLDER,
  checkSimulationFlow,
  FlowFileError,
  ivrMeasures,
  logVruFlow,
  logVruSeconds,
  readSimulationFlow,
  VRU_STEP,
  WORKFLOW_PLACEHOLDER,
} from '../../src/sim/voice-callers.ts';

const SAMPLE = fileURLToPath(new URL('../../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));
/** The simulated network's speech model (15 characters a second, at least 1 s), seconds. */
const sayS = (text: string): number => Math.round(Math.max(1, text.length / 15) * 1000) / 1000;
/** The default flow follows logged VRU times up to 10 attempts of (prompt + 60 s). */
const FOLLOWED_S = 600;

let all: CallRecord[] = [];
const day = (date: string): CallRecord[] => all.filter((c) => c.date === date);
const options = (calls: readonly CallRecord[], flow: CallFlow, extra: Partial<VoiceSimulationOptions> = {}): VoiceSimulationOptions => ({
  seed: 3,
  staffing: inferStaffing(calls),
  acceptDelayS: [0, 2],
  wrapUpS: 0,
  flow,
  callbacks: DEFAULT_CALLBACK_POLICY,
  ...extra,
});

before(async () => {
  all = (await importAnonymousBank(SAMPLE)).calls.filter((c) => c.outcome !== 'PHANTOM');
});

test('the default flow: each caller reaches the queue exactly their logged VRU time after dialing in, through the voice core, and the same seed gives the same run', async () => {
  const calls = day('1999-02-05');
  const run = await simulateVoiceCalls(calls, options(calls, logVruFlow()));
  assert.equal(run.voice.calls_placed, calls.length);
  assert.equal(run.voice.network_errors, 0);
  assert.ok(run.voice.agent_legs >= run.voice.calls_bridged && run.voice.calls_bridged > calls.length * 0.8, JSON.stringify(run.voice));
  assert.equal(run.ivr.length, calls.length);
  for (const c of run.ivr) {
    assert.ok(c.ivrS !== null, 'every caller reached the queue');
    if (c.logVruS <= FOLLOWED_S) assert.ok(Math.abs(c.ivrS - c.logVruS) < 0.0015, `IVR ${c.ivrS} s for a logged ${c.logVruS} s`);
  }
  const { total } = ivrMeasures(run.ivr);
  assert.equal(total.left_in_ivr, 0);
  assert.ok(Math.abs(total.mean_ivr_s - total.log_mean_vru_s) < 0.01, `${total.mean_ivr_s} vs ${total.log_mean_vru_s}`);
  assert.equal(total.median_ivr_s, total.log_median_vru_s);

  // The queue KPIs: every call offered once, on its own day; answered or abandoned (nothing left hanging).
  assert.equal(run.total.offered, calls.length);
  assert.equal(run.total.answered + run.total.abandoned, calls.length);
  assert.deepEqual(run.days.map((d) => d.date), ['1999-02-05']);
  const direct = simulateCalls(calls, { seed: 3, staffing: inferStaffing(calls) });
  assert.equal(run.total.offered, direct.total.offered);
  assert.ok(Math.abs(run.total.abandonment - direct.total.abandonment) < 0.03, `voice ${run.total.abandonment} vs direct ${direct.total.abandonment}: the same callers and agents`);

  const again = await simulateVoiceCalls(calls, options(calls, logVruFlow()));
  assert.deepEqual(again, run, 'the same seed, the same run');
});

test('a flow with one more menu raises each caller\'s IVR time by that menu: its prompt and the second it takes to answer', async () => {
  const text = 'For service in Hebrew press 1. For English press 2.';
  const flow = logVruFlow();
  (flow.steps[0] as { gather: { choices: Record<string, unknown> } }).gather.choices = { '1': { next: 'language' } };
  flow.steps.splice(1, 0, { id: 'language', gather: { numDigits: 1, prompt: [{ say: { text } }], into: 'language', choices: { '1': 'hebrew', '2': 'english' } } });
  const calls = day('1999-02-06');
  const run = await simulateVoiceCalls(calls, options(calls, checkSimulationFlow(flow, 'test flow')));
  const extra = sayS(text) + 1;
  for (const c of run.ivr) if (c.logVruS <= FOLLOWED_S) assert.ok(Math.abs((c.ivrS as number) - c.logVruS - extra) < 0.0015, `IVR ${c.ivrS} s for a logged ${c.logVruS} s`);
  const { total } = ivrMeasures(run.ivr);
  assert.ok(total.mean_ivr_s > total.log_mean_vru_s + extra - 0.5, `${total.mean_ivr_s} vs ${total.log_mean_vru_s} + ${extra}`);
  assert.equal(run.total.offered, calls.length);
});

test('a flow that offers a callback in the IVR: offered when the wait is long, taken at the take rate, the takers leave the IVR and are called back', async () => {
  const flow = logVruFlow();
  (flow.steps[0] as { gather: { choices: Record<string, unknown> } }).gather.choices = { '1': { next: 'offer' } };
  flow.steps.splice(1, 0, { id: 'offer', offer_callback: { callTargetSid: CALL_TARGET_PLACEHOLDER, minEwtSeconds: 60 } });
  const calls = day('1999-02-03');
  const run = await simulateVoiceCalls(calls, options(calls, checkSimulationFlow(flow, 'test flow'), { callbacks: { ...DEFAULT_CALLBACK_POLICY, takeRate: 0.5 } }));
  const { total } = ivrMeasures(run.ivr);
  assert.ok(total.callbacks_offered_in_ivr > 20, `${total.callbacks_offered_in_ivr} offered`);
  assert.ok(total.callbacks_taken_in_ivr > 0 && total.callbacks_taken_in_ivr < total.callbacks_offered_in_ivr);
  assert.equal(total.left_in_ivr, total.callbacks_taken_in_ivr, 'only the callers who took a callback left in the IVR');
  assert.equal(run.total.offered, total.reached_queue, 'the takers never became live tasks');
  assert.equal(run.total.took_callback, total.callbacks_taken_in_ivr);
  const cb = run.callbacks;
  assert.ok(cb !== null);
  assert.equal(cb.total.offered, total.callbacks_offered_in_ivr);
  assert.equal(cb.total.taken, total.callbacks_taken_in_ivr);
  assert.ok(cb.total.completed > 0, JSON.stringify(cb.statuses));
  // A declined offer costs the caller its prompt and timeout: IVR time above the logged one.
  const declined = run.ivr.filter((c) => c.offeredInIvr && !c.tookInIvr && c.logVruS <= FOLLOWED_S);
  assert.ok(declined.length > 0 && declined.every((c) => (c.ivrS as number) > c.logVruS + 5));
});

test('the job with the voice run: the simulated column went through the flow, the report has the IVR step and the page shows it', async () => {
  const result = await runSimulateJob({ path: SAMPLE, from: '1999-02-13', to: '1999-02-13', seed: 2, callbacks: null, voice: { run: simulateVoiceCalls } });
  const r = result.report;
  assert.deepEqual(r.options.voice, { flow: 'default', vru_step: VRU_STEP, offers_callbacks: false, callbacks: null });
  assert.equal(r.options.callbacks, null);
  assert.equal(r.total.simulated_with_callbacks, null);
  assert.equal(r.total.simulated.offered, r.total.real.offered);
  assert.ok(r.ivr !== null);
  assert.deepEqual(r.ivr.days.map((d) => d.date), ['1999-02-13']);
  assert.equal(r.ivr.total.calls, r.total.real.offered);
  assert.equal(r.ivr.total.mean_abs_diff_s, 0);
  assert.equal(r.runs.simulated.voice?.calls_placed, r.ivr.total.calls);
  assert.deepEqual(result.flow, logVruFlow());
  const html = await renderSimulationHtml(r);
  assert.match(html, /<h2>IVR step<\/h2>/);
  assert.match(html, /Simulated through the call flow/);
  assert.equal((html.match(/<svg/g) ?? []).length, 5, 'the four per-day charts and the IVR chart');
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
});

test('flow files: placeholders required, the flow validated with the step and field named, a missing or broken file named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-flow-'));
  const bad: Array<[unknown, RegExp]> = [
    [{ steps: [{ id: 'q', enqueue: { workflowSid: `WW${'1'.repeat(32)}` } }] }, new RegExp(`steps\\[0\\]\\.enqueue\\.workflowSid must be "${WORKFLOW_PLACEHOLDER}"`)],
    [{ steps: [{ id: 'o', offer_callback: { callTargetSid: 'CTsomething' } }, { id: 'q', enqueue: { workflowSid: WORKFLOW_PLACEHOLDER } }] }, /steps\[0\]\.offer_callback\.callTargetSid must be "CT_SIM"/],
    [{ steps: [{ id: 'q', enqueue: { workflowSid: WORKFLOW_PLACEHOLDER, hold: { announceEvery: 30, callbackOffer: { callTargetSid: 'x' } } } }] }, /callbackOffer\.callTargetSid must be "CT_SIM"/],
    [{ steps: [{ id: 'vru', gather: { timeout: 99, prompt: [{ say: { text: 'Hi' } }], choices: { '1': {} } } }, { id: 'q', enqueue: { workflowSid: WORKFLOW_PLACEHOLDER } }] }, /steps\[0\]\.gather\.timeout .*\(step "vru"\)/],
    [{ steps: [{ id: 'bye', hangup: {} }] }, /no enqueue step/],
  ];
  for (const [doc, message] of bad) {
    const path = join(dir, 'flow.json');
    writeFileSync(path, JSON.stringify(doc));
    await assert.rejects(readSimulationFlow(path), (e: unknown) => e instanceof FlowFileError && message.test(e.message) && e.message.includes(path), JSON.stringify(doc));
  }
  writeFileSync(join(dir, 'broken.json'), '{ "steps": [');
  await assert.rejects(readSimulationFlow(join(dir, 'broken.json')), /--flow .*broken\.json: not valid JSON/);
  await assert.rejects(readSimulationFlow(join(dir, 'absent.json')), /--flow .*absent\.json: no such file/);
  assert.deepEqual(checkSimulationFlow(JSON.parse(JSON.stringify(logVruFlow())), 'default'), logVruFlow());
  assert.equal(logVruSeconds({ ...(all[0] as CallRecord), vruEntryAt: 10_000, vruExitAt: 5_000 }), 0, 'a negative logged VRU time counts as 0');
});
