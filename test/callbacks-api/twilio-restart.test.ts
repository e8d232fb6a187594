/**
 * Twilio dials in flight survive a server restart: no dial lost, none placed twice.
 *
 * The live service with the Twilio Calls adapter (the official `twilio` client against a fake
 * Calls API on 127.0.0.1) places calls; the server restarts (harness restart: service, app and
 * runtime closed and opened again on the same data dir) with a NEW adapter whose call map is
 * empty, as after a process restart; then Twilio's webhooks for the calls placed before arrive.
 * The restarted service hands the adapter the dials its centers still wait on
 * (`TelephonyPort.resume`), so each webhook moves its callback exactly once, an unknown key is
 * still ignored, and the fake Calls API sees one call per attempt.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TwilioCalls, type TwilioCallsOptions } from '../../src/voice/twilio-calls.ts';
import { SimulatedNetwork } from '../../src/voice/simulated-network.ts';
import type { DialOutcome } from '../../src/callbacks/center.ts';
import type { DialRequest, DialResult, ResumedDial } from '../../src/callbacks/telephony-port.ts';
import { twilioSignature } from '../../src/runtime/signature.ts';
import { startFakeCallsApi, type FakeCallsApi } from '../support/fake-calls-api.ts';
import { startCbHarness, type CbHarness } from './harness.ts';

/**
 * The harness keeps one telephony port across restarts; a real restart starts a new process with
 * a new adapter. This port forwards to a TwilioCalls that {@link crash} replaces by a fresh one
 * (empty call map), and records what the restarted service resumed.
 */
class ProcessTwilioCalls extends TwilioCalls {
  private inner: TwilioCalls;
  private readonly options: TwilioCallsOptions;
  readonly resumed: ResumedDial[][] = [];
  constructor(options: TwilioCallsOptions) {
    super(options);
    this.options = options;
    this.inner = new TwilioCalls(options);
  }
  /** The process died: whatever the adapter held in memory is gone. */
  crash(): void {
    this.inner = new TwilioCalls(this.options);
  }
  override onOutcome(listener: (r: DialResult) => void): void {
    this.inner.onOutcome(listener);
  }
  override onCallPlaced(listener: (p: { key: string; callSid: string }) => void): void {
    this.inner.onCallPlaced(listener);
  }
  override onCustomerHangup(listener: (h: { key: string; at: number }) => void): void {
    this.inner.onCustomerHangup(listener);
  }
  override dial(request: DialRequest): Promise<void> {
    return this.inner.dial(request);
  }
  override hangup(key: string): Promise<void> {
    return this.inner.hangup(key);
  }
  override resume(dials: readonly ResumedDial[]): void {
    this.resumed.push([...dials]);
    this.inner.resume(dials);
  }
  override handleStatusCallback(params: Record<string, string | undefined>, key?: string): DialOutcome | null {
    return this.inner.handleStatusCallback(params, key);
  }
  override handleGather(key: string, digits: string | undefined, callSid?: string): DialOutcome | null {
    return this.inner.handleGather(key, digits, callSid);
  }
  override gatherTwiml(key: string): string {
    return this.inner.gatherTwiml(key);
  }
}

const TOKEN = 'e'.repeat(32);
let fake: FakeCallsApi;
let port: ProcessTwilioCalls;
let h: CbHarness;

before(async () => {
  fake = await startFakeCallsApi();
  const client = fake.client('AC' + '2'.repeat(32), TOKEN);
  port = new ProcessTwilioCalls({ client, defaultFrom: '+14155550000', url: 'https://flows.example.com/ready.xml', statusCallback: 'https://sb.example.com/telephony/twilio/status' });
  h = await startCbHarness({ telephony: port, telephonyAuthToken: TOKEN, workers: 5 });
});
after(async () => {
  await h.close();
  await fake.close();
});

async function post(path: string, params: Record<string, string>): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(TOKEN, h.base + path, params) };
  const res = await fetch(h.base + path, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
  return { status: res.status, text: await res.text() };
}

const statusPath = (key: string): string => `/telephony/twilio/status?key=${encodeURIComponent(key)}`;
const gatherPath = (key: string): string => `/telephony/twilio/gather?key=${encodeURIComponent(key)}`;

async function callback(sid: string): Promise<Record<string, unknown>> {
  return (await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${sid}`)).body as Record<string, unknown>;
}

/** The calls the fake Calls API placed to `to`, with the key of each (from its StatusCallback URL). */
function callsTo(to: string): Array<{ key: string; sid: string }> {
  const out: Array<{ key: string; sid: string }> = [];
  fake.placed.forEach((form, i) => {
    if (form['To'] === to) out.push({ key: new URL(form['StatusCallback']!).searchParams.get('key')!, sid: `CA${String(i + 1).padStart(32, '0')}` });
  });
  return out;
}

test('webhooks for calls placed before a restart move their callbacks once; unknown keys are ignored; nothing is dialed twice', async () => {
  const ct = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid, MinimumCallbackDelay: '0', MaxRetries: '2' })).body;
  const numbers = { a: '+14155550181', b: '+14155550182', c: '+14155550183', d: '+14155550184', e: '+14155550187' };
  const sids: Record<keyof typeof numbers, string> = { a: '', b: '', c: '', d: '', e: '' };
  for (const k of Object.keys(numbers) as Array<keyof typeof numbers>) {
    sids[k] = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: numbers[k] })).body.sid as string;
  }
  for (let i = 0; i < 20 && fake.placed.length < 5; i++) await h.step(100);
  assert.equal(fake.placed.length, 5, 'one call per callback placed through the Calls API');
  const [a, b, c, d, e] = [callsTo(numbers.a)[0]!, callsTo(numbers.b)[0]!, callsTo(numbers.c)[0]!, callsTo(numbers.d)[0]!, callsTo(numbers.e)[0]!];
  assert.equal(a.key, `${sids.a}:1`);

  // Before the restart: A was answered by a human; C pressed 1 and waits in the conference.
  await post(statusPath(a.key), { CallSid: a.sid, CallStatus: 'in-progress', AnsweredBy: 'human' });
  await post(gatherPath(c.key), { Digits: '1', CallSid: c.sid });
  await h.step(100);
  const cWaiting = await callback(sids.c);
  assert.equal(cWaiting.status, 'customer_waiting');

  await h.restart(() => port.crash());

  // The restarted service handed the new adapter exactly the dials it still waits on, each with
  // the CallSid the Calls API returned when it was placed (saved on the attempt, not learned from
  // a webhook: B, D and E had none before the restart). The first open, on an empty database,
  // resumed nothing.
  assert.deepEqual(port.resumed.map((r) => r.length), [0, 5]);
  assert.deepEqual(
    [...port.resumed[1]!].sort((x, y) => x.key.localeCompare(y.key)),
    [
      { key: a.key, callSid: a.sid, stage: 'dialing' },
      { key: b.key, callSid: b.sid, stage: 'dialing' },
      { key: c.key, callSid: c.sid, stage: 'ready' },
      { key: d.key, callSid: d.sid, stage: 'dialing' },
      { key: e.key, callSid: e.sid, stage: 'dialing' },
    ].sort((x, y) => x.key.localeCompare(y.key)),
  );

  // E is canceled through the API before any webhook arrived after the restart: the center's
  // hang-up reaches the ringing call through its saved CallSid.
  assert.equal((await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${sids.e}`, { Status: 'canceled' })).body.status, 'canceled');
  await h.step(100);
  assert.deepEqual(fake.updates.map((u) => [u.sid, u.form['Status']]), [[e.sid, 'completed']], 'E hung up by the CallSid saved before the restart');

  // An unknown key is still ignored.
  const unknown = `CB${'9'.repeat(32)}:1`;
  assert.equal((await post(statusPath(unknown), { CallSid: 'CA' + '9'.repeat(32), CallStatus: 'no-answer' })).status, 204);
  assert.match((await post(gatherPath(unknown), { Digits: '1', CallSid: 'CA' + '9'.repeat(32) })).text, /Goodbye.*<Hangup\/>/);

  // A presses 1: into the conference, the callback moves on to its return task.
  const gather = await post(gatherPath(a.key), { Digits: '1', CallSid: a.sid });
  assert.equal(gather.status, 200);
  assert.match(gather.text, new RegExp(`<Conference[^>]*>callback-${sids.a}-1</Conference>`));
  // B rang out: retry_wait on its first attempt (not a dial timeout).
  assert.equal((await post(statusPath(b.key), { CallSid: b.sid, CallStatus: 'no-answer' })).status, 204);
  // C, in the conference when the server died, hangs up: the hang-up notice still arrives.
  await post(statusPath(c.key), { CallSid: c.sid, CallStatus: 'completed', AnsweredBy: 'human' });
  // D is answered (the adapter learns its CallSid from the webhook), then canceled through the
  // API while the prompt plays: the center hangs the live call up, by that CallSid.
  await post(statusPath(d.key), { CallSid: d.sid, CallStatus: 'in-progress', AnsweredBy: 'human' });
  await h.step(100);
  assert.equal((await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${sids.d}`, { Status: 'canceled' })).body.status, 'canceled');
  await h.step(100);

  const sa = await callback(sids.a);
  assert.equal(sa.status, 'customer_waiting', JSON.stringify(sa));
  const task = await h.client.taskrouter.v1.workspaces(h.ws).tasks(sa.task_sid as string).fetch();
  assert.equal((JSON.parse(task.attributes) as Record<string, unknown>)['callback_sid'], sids.a);
  const sb = await callback(sids.b);
  assert.equal(sb.status, 'retry_wait', JSON.stringify(sb));
  assert.deepEqual((sb.attempts as Array<{ result: string | null }>).map((x) => x.result), ['no_answer']);
  assert.deepEqual((sb.attempts as Array<{ call_sid: string | null }>).map((x) => x.call_sid), [b.sid], 'the attempt shows the CallSid saved before the restart');
  const sc = await callback(sids.c);
  assert.equal(sc.status, 'failed', JSON.stringify(sc));
  assert.equal(sc.status_reason, 'customer_declined');
  assert.equal((await h.client.taskrouter.v1.workspaces(h.ws).tasks(cWaiting.task_sid as string).fetch()).assignmentStatus, 'canceled');
  assert.equal((await callback(sids.d)).status, 'canceled');
  assert.equal((await callback(sids.e)).status, 'canceled');
  assert.deepEqual(fake.updates.map((u) => [u.sid, u.form['Status']]), [[e.sid, 'completed'], [d.sid, 'completed']], 'only E and D were hung up, each by its CallSid');

  // Twilio repeating the webhooks changes nothing; the ready customer's re-sent Gather gets the same room.
  await post(statusPath(b.key), { CallSid: b.sid, CallStatus: 'no-answer' });
  await post(statusPath(c.key), { CallSid: c.sid, CallStatus: 'completed', AnsweredBy: 'human' });
  assert.match((await post(gatherPath(a.key), { Digits: '1', CallSid: a.sid })).text, new RegExp(`<Conference[^>]*>callback-${sids.a}-1</Conference>`));
  await h.step(100);
  assert.equal((await callback(sids.a)).status, 'customer_waiting');
  assert.equal(((await callback(sids.b)).attempts as unknown[]).length, 1);
  assert.equal((await callback(sids.c)).status, 'failed');

  // Exactly one call per attempt: the calls in flight at the restart were not placed again.
  for (const n of Object.values(numbers)) assert.deepEqual(callsTo(n).map((x) => x.key).filter((k) => k.endsWith(':1')), [callsTo(n)[0]!.key], `one call for ${n}'s first attempt`);
  assert.equal(new Set(fake.placed.map((f) => new URL(f['StatusCallback']!).searchParams.get('key'))).size, fake.placed.length, 'no key placed twice');
});

test('TwilioCalls.resume: a resumed key is never dialed again, a malformed entry is refused naming the field and nothing is taken', async () => {
  const created: string[] = [];
  const client = { calls: { create: async (o: { to: string }) => (created.push(o.to), { sid: 'CA' + '3'.repeat(32) }) } } as unknown as TwilioCallsOptions['client'];
  const calls = new TwilioCalls({ client, defaultFrom: '+14155550000', twiml: '<Response/>', statusCallback: 'https://sb.example.com/s' });
  const outcomes: DialResult[] = [];
  calls.onOutcome((r) => outcomes.push(r));
  assert.throws(() => calls.resume([{ key: 'CBx:1', callSid: null, stage: 'dialing' }, { key: '', callSid: null, stage: 'dialing' }]), /dials\[1\]\.key must be a non-empty string/);
  assert.throws(() => calls.resume([{ key: 'CBx:1', callSid: null, stage: 'ringing' as 'dialing' }]), /dials\[0\]\.stage/);
  assert.equal(calls.handleStatusCallback({ CallStatus: 'busy' }, 'CBx:1'), null, 'nothing was taken from the refused lists');
  calls.resume([{ key: 'CBx:1', callSid: 'CA' + '4'.repeat(32), stage: 'dialing' }]);
  await calls.dial({ key: 'CBx:1', callbackSid: 'CBx', to: '+14155550185', from: null, ringTimeoutSeconds: 30 });
  assert.deepEqual(created, [], 'a resumed key is not dialed');
  // A known CallSid also finds the key when the callback lacks `?key=`.
  assert.equal(calls.handleStatusCallback({ CallSid: 'CA' + '4'.repeat(32), CallStatus: 'busy' }), 'busy');
  assert.equal(calls.handleStatusCallback({ CallSid: 'CA' + '4'.repeat(32), CallStatus: 'busy' }, 'CBx:1'), null);
  assert.deepEqual(outcomes.map((o) => [o.key, o.outcome, o.callSid]), [['CBx:1', 'busy', 'CA' + '4'.repeat(32)]]);
});

test('SimulatedNetwork.resume: calls placed before the restart are gone (no outcome), but their keys are never dialed again', () => {
  const network = new SimulatedNetwork({ seed: 1 });
  network.resume([{ key: 'CBy:1', callSid: null, stage: 'dialing' }]);
  network.dial({ key: 'CBy:1', callbackSid: 'CBy', to: '+14155550186', from: null, ringTimeoutSeconds: 30 }, 0);
  assert.equal(network.duplicates, 1);
  assert.equal(network.dialCount('CBy:1'), 0);
  assert.equal(network.nextDue(), null, 'no outcome queued for a resumed key');
  network.dial({ key: 'CBy:2', callbackSid: 'CBy', to: '+14155550186', from: null, ringTimeoutSeconds: 30 }, 0);
  assert.equal(network.dialCount('CBy:2'), 1);
  assert.throws(() => network.resume([{ key: 'CBy:3', callSid: '', stage: 'dialing' }]), /dials\[0\]\.callSid/);
});
