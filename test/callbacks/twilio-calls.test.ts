/**
 * The Twilio telephony adapter against a tiny fake Calls API on 127.0.0.1, called through the
 * real `twilio` client (its api base URL pointed at the fake).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import twilio from 'twilio';
import { TwilioCalls } from '../../src/voice/twilio-calls.ts';
import type { DialResult } from '../../src/callbacks/telephony-port.ts';

const ACCOUNT = 'AC' + 'a'.repeat(32);
const created: Array<Record<string, string>> = [];
const updates: Array<{ sid: string; body: Record<string, string> }> = [];
let n = 0;
const app = Fastify();
let base = '';

before(async () => {
  // The Calls API takes form bodies; parse them into a plain object (last value of a repeated key wins).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.post('/2010-04-01/Accounts/:account/Calls.json', async (req, reply) => {
    const body = req.body as Record<string, string>;
    created.push(body);
    if (body['To'] === '+15005550001') {
      return reply.code(400).send({ code: 21211, message: "The 'To' number +15005550001 is not a valid phone number.", more_info: 'https://www.twilio.com/docs/errors/21211', status: 400 });
    }
    const sid = 'CA' + String(++n).padStart(32, '0');
    return reply.code(201).send({ sid, account_sid: ACCOUNT, to: body['To'], from: body['From'], status: 'queued', date_created: new Date().toUTCString() });
  });
  app.post('/2010-04-01/Accounts/:account/Calls/:sid', async (req) => {
    const sid = (req.params as { sid: string }).sid.replace(/\.json$/, '');
    updates.push({ sid, body: req.body as Record<string, string> });
    return { sid, account_sid: ACCOUNT, status: 'completed' };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app.close();
});

function adapter() {
  const client = twilio(ACCOUNT, 'secret');
  client.api.baseUrl = base;
  const results: DialResult[] = [];
  const calls = new TwilioCalls({ client, defaultFrom: '+18005550100', url: 'https://example.test/prompt', statusCallback: 'https://example.test/status', now: () => 42 });
  calls.onOutcome((r) => results.push(r));
  return { calls, results };
}

test('dial places one call per idempotency key with the callback parameters', async () => {
  const { calls } = adapter();
  const before = created.length;
  const req = { key: 'CB1:1', callbackSid: 'CB1', to: '+14155550101', from: null, ringTimeoutSeconds: 30 };
  await calls.dial(req);
  await calls.dial(req);
  const mine = created.slice(before);
  assert.equal(mine.length, 1, 'a repeated key is not dialed again');
  const p = mine[0] as Record<string, string>;
  assert.equal(p['To'], '+14155550101');
  assert.equal(p['From'], '+18005550100');
  assert.equal(p['Url'], 'https://example.test/prompt');
  assert.equal(p['StatusCallback'], 'https://example.test/status?key=CB1%3A1');
  assert.equal(p['Timeout'], '30');
  assert.equal(p['MachineDetection'], 'Enable');
  await calls.hangup('CB1:1');
  assert.equal(updates.at(-1)?.body['Status'], 'completed');
});

test('status callbacks map to outcomes, once per key', async () => {
  const { calls, results } = adapter();
  const keys = ['A:1', 'B:1', 'C:1', 'D:1', 'E:1', 'F:1'];
  for (const key of keys) await calls.dial({ key, callbackSid: key, to: '+14155550101', from: '+18005550199', ringTimeoutSeconds: 20 });
  assert.equal(calls.handleStatusCallback({ CallStatus: 'busy' }, 'A:1'), 'busy');
  assert.equal(calls.handleStatusCallback({ CallStatus: 'no-answer' }, 'B:1'), 'no_answer');
  assert.equal(calls.handleStatusCallback({ CallStatus: 'completed', AnsweredBy: 'machine_end_beep' }, 'C:1'), 'voicemail');
  assert.equal(calls.handleStatusCallback({ CallStatus: 'in-progress', AnsweredBy: 'human' }, 'D:1'), null);
  assert.equal(calls.handleGather('D:1', '1'), 'ready');
  assert.equal(calls.handleStatusCallback({ CallStatus: 'completed', AnsweredBy: 'human' }, 'D:1'), null, 'already delivered');
  assert.equal(calls.handleStatusCallback({ CallStatus: 'completed', AnsweredBy: 'human' }, 'E:1'), 'not_ready');
  assert.equal(calls.handleStatusCallback({ CallStatus: 'failed', ErrorCode: '31005' }, 'F:1'), 'failed');
  assert.deepEqual(results.map((r) => [r.key, r.outcome, r.at]), [
    ['A:1', 'busy', 42], ['B:1', 'no_answer', 42], ['C:1', 'voicemail', 42], ['D:1', 'ready', 42], ['E:1', 'not_ready', 42], ['F:1', 'failed', 42],
  ]);
  assert.match(results[0]?.callSid ?? '', /^CA\d{32}$/);
  // by CallSid when the key is absent
  await calls.dial({ key: 'G:1', callbackSid: 'G', to: '+14155550101', from: null, ringTimeoutSeconds: 20 });
  const sid = `CA${String(n).padStart(32, '0')}`;
  assert.equal(calls.handleStatusCallback({ CallSid: sid, CallStatus: 'busy' }), 'busy');
});

test('a refused call (Twilio error 21211) becomes invalid_number', async () => {
  const { calls, results } = adapter();
  await calls.dial({ key: 'X:1', callbackSid: 'X', to: '+15005550001', from: null, ringTimeoutSeconds: 20 });
  assert.deepEqual(results.map((r) => r.outcome), ['invalid_number']);
});

test('gather TwiML: a ready customer joins the named callback conference (wait URL escaped); others are hung up', async () => {
  const client = twilio(ACCOUNT, 'secret');
  client.api.baseUrl = base;
  const calls = new TwilioCalls({ client, defaultFrom: '+18005550100', url: 'https://example.test/prompt', statusCallback: 'https://example.test/status', conferenceWaitUrl: 'https://example.test/hold?a=1&b=2' });
  await calls.dial({ key: 'CBabc:2', callbackSid: 'CBabc', to: '+14155550101', from: null, ringTimeoutSeconds: 20 });
  await calls.dial({ key: 'CBdef:1', callbackSid: 'CBdef', to: '+14155550102', from: null, ringTimeoutSeconds: 20 });
  assert.match(calls.gatherTwiml('CBabc:2'), /<Hangup\/>/, 'before any digit: no conference');
  assert.equal(calls.handleGather('CBabc:2', '1'), 'ready');
  const twiml = calls.gatherTwiml('CBabc:2');
  assert.match(twiml, /<Dial><Conference startConferenceOnEnter="false" endConferenceOnExit="true" beep="false" waitUrl="https:\/\/example\.test\/hold\?a=1&amp;b=2" waitMethod="GET">callback-CBabc-2<\/Conference><\/Dial><\/Response>$/);
  assert.equal(calls.handleGather('CBdef:1', '9'), 'not_ready');
  assert.doesNotMatch(calls.gatherTwiml('CBdef:1'), /Conference/);
  assert.doesNotMatch(calls.gatherTwiml('unknown:1'), /Conference/);
});

test('hang-up reaches a customer holding in the callback conference, and nobody who already left', async () => {
  const { calls } = adapter();
  for (const key of ['H:1', 'G:1']) await calls.dial({ key, callbackSid: key, to: '+14155550101', from: null, ringTimeoutSeconds: 20 });
  assert.equal(calls.handleGather('H:1', '1'), 'ready');
  const before = updates.length;
  await calls.hangup('H:1');
  assert.equal(updates.length, before + 1, 'the holding customer is hung up');
  assert.equal(updates.at(-1)?.body['Status'], 'completed');
  assert.equal(calls.handleGather('G:1', '1'), 'ready');
  calls.handleStatusCallback({ CallStatus: 'completed', AnsweredBy: 'human' }, 'G:1');
  assert.equal(calls.handleStatusCallback({ CallStatus: 'busy' }, 'X:9'), null);
  await calls.hangup('G:1');
  assert.equal(updates.length, before + 1, 'a customer who hung up is not hung up again');
});
