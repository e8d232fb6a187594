/**
 * The Twilio Calls adapter in the live service: the official `twilio` client places the call
 * against a configurable base URL (here a fake Calls API on 127.0.0.1), and Twilio's webhooks
 * — the readiness prompt's Gather and the StatusCallback, signed with X-Twilio-Signature — come
 * back to `/telephony/twilio/*` and move the callback.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TwilioCalls } from '../../src/voice/twilio-calls.ts';
import { twilioSignature } from '../../src/runtime/signature.ts';
import { startCbHarness, type CbHarness } from './harness.ts';
import { startFakeCallsApi, type FakeCallsApi } from '../support/fake-calls-api.ts';

const TOKEN = 'f'.repeat(32);
let fake: FakeCallsApi;
let h: CbHarness;

before(async () => {
  fake = await startFakeCallsApi();
  const client = fake.client('AC' + '1'.repeat(32), TOKEN);
  const telephony = new TwilioCalls({ client, defaultFrom: '+14155550000', url: 'https://flows.example.com/ready.xml', statusCallback: 'https://sb.example.com/telephony/twilio/status' });
  h = await startCbHarness({ telephony, telephonyAuthToken: TOKEN, workers: 3 });
});
after(async () => {
  await h.close();
  await fake.close();
});

async function post(path: string, params: Record<string, string>, signed = true): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (signed) headers['x-twilio-signature'] = twilioSignature(TOKEN, h.base + path, params);
  const res = await fetch(h.base + path, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
  return { status: res.status, text: await res.text() };
}

async function status(sid: string): Promise<Record<string, unknown>> {
  return (await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${sid}`)).body as Record<string, unknown>;
}

test('dial through the twilio client; Gather 1 → ready; a no-answer StatusCallback → retry_wait; unsigned webhooks are refused', async () => {
  const ct = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid, MinimumCallbackDelay: '0', MaxRetries: '1' })).body;
  const one = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: '+14155550191' })).body;
  await h.step(100);
  assert.equal(fake.placed.length, 1, 'one call placed through the Calls API');
  assert.equal(fake.placed[0]!['To'], '+14155550191');
  assert.equal(fake.placed[0]!['From'], '+14155550000');
  assert.equal(fake.placed[0]!['Url'], 'https://flows.example.com/ready.xml');
  const key = new URL(fake.placed[0]!['StatusCallback']!).searchParams.get('key')!;
  assert.equal(key, `${String(one.sid)}:1`);

  const path = `/telephony/twilio/gather?key=${encodeURIComponent(key)}`;
  assert.equal((await post(path, { Digits: '1', CallSid: 'CA' + '0'.repeat(31) + '1' }, false)).status, 403);
  const gather = await post(path, { Digits: '1', CallSid: 'CA' + '0'.repeat(31) + '1' });
  assert.equal(gather.status, 200);
  // The confirmed customer waits in a named conference (wait music until the agent starts it).
  const room = `callback-${String(one.sid)}-1`;
  assert.match(gather.text, new RegExp(`<Response>.*<Dial><Conference startConferenceOnEnter="false" endConferenceOnExit="true"[^>]*>${room}</Conference></Dial></Response>$`));
  await h.step(100);
  const waiting = await status(one.sid);
  assert.equal(waiting.status, 'customer_waiting');
  // The return task names the same conference, for the agent's leg (desktop or conference instruction).
  const task = await h.client.taskrouter.v1.workspaces(h.ws).tasks(waiting.task_sid as string).fetch();
  const attributes = JSON.parse(task.attributes) as Record<string, unknown>;
  assert.equal(attributes['conference_name'], room);
  assert.equal(attributes['callback_sid'], one.sid);
  // Twilio re-sending the same Gather gets the same room; nothing moves twice.
  const again = await post(path, { Digits: '1', CallSid: 'CA' + '0'.repeat(31) + '1' });
  assert.match(again.text, new RegExp(`<Conference[^>]*>${room}</Conference>`));
  await h.step(100);
  assert.equal((await status(one.sid)).status, 'customer_waiting');

  // A second callback whose call rings out.
  const two = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: '+14155550192' })).body;
  for (let i = 0; i < 10 && fake.placed.length < 2; i++) await h.step(200);
  assert.equal(fake.placed.length, 2);
  const key2 = new URL(fake.placed[1]!['StatusCallback']!).searchParams.get('key')!;
  const st = await post(`/telephony/twilio/status?key=${encodeURIComponent(key2)}`, { CallSid: 'CA' + '0'.repeat(31) + '2', CallStatus: 'no-answer' });
  assert.equal(st.status, 204);
  await h.step(100);
  const s2 = await status(two.sid);
  assert.equal(s2.status, 'retry_wait', JSON.stringify(s2));
  // A repeated webhook changes nothing.
  await post(`/telephony/twilio/status?key=${encodeURIComponent(key2)}`, { CallSid: 'CA' + '0'.repeat(31) + '2', CallStatus: 'no-answer' });
  await h.step(100);
  assert.equal(((await status(two.sid)).attempts as unknown[]).length, 1);
});

test('a customer who presses another digit is not put into a conference: goodbye and hang-up, retry later', async () => {
  const ct = ((await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets`)).body.call_targets as Array<{ sid: string }>)[0]!;
  const three = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: '+14155550193' })).body;
  const before = fake.placed.length;
  for (let i = 0; i < 10 && fake.placed.length === before; i++) await h.step(200);
  const key = new URL(fake.placed[fake.placed.length - 1]!['StatusCallback']!).searchParams.get('key')!;
  assert.equal(key, `${String(three.sid)}:1`);
  const gather = await post(`/telephony/twilio/gather?key=${encodeURIComponent(key)}`, { Digits: '2', CallSid: 'CA' + '0'.repeat(31) + '3' });
  assert.equal(gather.status, 200);
  assert.doesNotMatch(gather.text, /Conference/);
  assert.match(gather.text, /<Hangup\/><\/Response>$/);
  await h.step(100);
  assert.equal((await status(three.sid)).status, 'retry_wait');
});

test('a confirmed customer who hangs up before an agent joins: the callback fails (customer_declined) and its return task is canceled', async () => {
  const ct = ((await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets`)).body.call_targets as Array<{ sid: string }>)[0]!;
  const four = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: '+14155550194' })).body;
  const before = fake.placed.length;
  for (let i = 0; i < 10 && fake.placed.length === before; i++) await h.step(200);
  const key = new URL(fake.placed[fake.placed.length - 1]!['StatusCallback']!).searchParams.get('key')!;
  assert.equal(key, `${String(four.sid)}:1`);
  const callSid = 'CA' + '0'.repeat(31) + '4';
  await post(`/telephony/twilio/status?key=${encodeURIComponent(key)}`, { CallSid: callSid, CallStatus: 'in-progress', AnsweredBy: 'human' });
  await post(`/telephony/twilio/gather?key=${encodeURIComponent(key)}`, { Digits: '1', CallSid: callSid });
  await h.step(100);
  const waiting = await status(four.sid);
  assert.equal(waiting.status, 'customer_waiting', JSON.stringify(waiting));
  // The customer leaves the conference: the call's final status callback.
  assert.equal((await post(`/telephony/twilio/status?key=${encodeURIComponent(key)}`, { CallSid: callSid, CallStatus: 'completed', AnsweredBy: 'human' })).status, 204);
  await h.step(100);
  const gone = await status(four.sid);
  assert.equal(gone.status, 'failed', JSON.stringify(gone));
  assert.equal(gone.status_reason, 'customer_declined');
  const task = await h.client.taskrouter.v1.workspaces(h.ws).tasks(waiting.task_sid as string).fetch();
  assert.equal(task.assignmentStatus, 'canceled');
  // Twilio repeating the final status changes nothing.
  await post(`/telephony/twilio/status?key=${encodeURIComponent(key)}`, { CallSid: callSid, CallStatus: 'completed', AnsweredBy: 'human' });
  await h.step(100);
  assert.equal((await status(four.sid)).status, 'failed');
});
