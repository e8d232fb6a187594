/**
 * The seed tutorial against a fake Twilio on 127.0.0.1 (issue 12, "What it must show"): the real
 * server (runtime, store, HTTP API, voice webhooks, dispatcher) with the Twilio voice adapter
 * talking to test/support/fake-twilio.ts through the official `twilio` client; the fake posts
 * Twilio's webhooks back, signed with the account's auth token. A caller dials, presses 1, holds;
 * the assignment callback answers `dequeue`; the fake receives exactly one Calls API request that
 * rings the Hindi agent with the center's caller ID and dequeues the caller's own queue; the agent
 * answers and is bridged; the agent hangs up. The exact sequence of API requests and of TwiML
 * documents each leg received is asserted.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SEED_HOLD_MUSIC_URL } from '../../src/callflows/index.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { TwilioVoice } from '../../src/voice/twilio-voice.ts';
import { parseTwiml, startFakeTwilio, type TwimlNode } from '../support/fake-twilio.ts';
import { CENTER_NUMBER, HINDI_AGENT, startVoiceCenter } from './support.ts';

const TOKEN = 'f'.repeat(32);

/** A TwiML document as `Verb(attr=…)[children]` lines, for exact comparison. */
function shape(xml: string): string[] {
  const out: string[] = [];
  const walk = (n: TwimlNode, depth: number): void => {
    const attrs = Object.entries(n.attrs)
      .map(([k, v]) => `${k}=${v.replace(/^http:\/\/127\.0\.0\.1:\d+/, '')}`)
      .join(' ');
    out.push(`${'  '.repeat(depth)}${n.name}${attrs === '' ? '' : ` ${attrs}`}${n.text === '' ? '' : `: ${n.text}`}`);
    for (const c of n.children) walk(c, depth + 1);
  };
  out.push('Response');
  for (const n of parseTwiml(xml)) walk(n, 1);
  return out;
}

test('the seed tutorial against a fake Twilio: the exact API requests and TwiML documents', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const fake = await startFakeTwilio({ authToken: TOKEN });
  const adapter = new TwilioVoice({ client: fake.client(), publicUrl: 'http://placeholder', now: () => scheduler.now() });
  let wrapUp = '';
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ instruction: 'dequeue', from: CENTER_NUMBER, post_work_activity_sid: wrapUp })));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const c = await startVoiceCenter(adapter, { scheduler, twilio: { adapter, authToken: TOKEN } });
  wrapUp = c.activities.wrapUp;
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    await wsApi.workflows(c.workflowSid).update({ assignmentCallbackUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/assignment` });
    await wsApi.workers(c.workers.hindi).update({ activitySid: c.activities.offline });

    const caller = await fake.placeInboundCall({ from: '+919811112222', to: CENTER_NUMBER, voiceUrl: `${c.base}/voice/incoming`, statusCallbackUrl: `${c.base}/voice/status` });
    await fake.press(caller, '1');
    const [task] = await wsApi.tasks.list();
    assert.equal((JSON.parse(task!.attributes) as Record<string, unknown>)['selected_language'], 'hindi');
    assert.equal(fake.call(caller).queue, task!.sid, 'one Twilio queue per task (pattern P1)');

    // The agent becomes available: reservation → assignment callback → dequeue → one Calls API request.
    await wsApi.workers(c.workers.hindi).update({ activitySid: c.activities.available });
    for (let i = 0; i < 20 && fake.outboundCalls().length === 0; i++) {
      await scheduler.advance(50);
      await fake.settle();
    }
    const calls = fake.requestsTo('/Calls.json');
    assert.equal(calls.length, 1);
    const p = calls[0]!.params;
    assert.equal(p['To'], HINDI_AGENT);
    assert.equal(p['From'], CENTER_NUMBER);
    assert.equal(p['Timeout'], '60');
    const [worker] = fake.outboundCalls();
    assert.deepEqual(shape(worker!.twiml ?? ''), ['Response', '  Dial', `    Queue url=/voice/bridged?key=${(await wsApi.tasks(task!.sid).reservations.list())[0]!.sid}%3Adequeue method=POST: ${task!.sid}`]);

    await fake.answer(worker!.sid);
    await scheduler.advance(10);
    const [r] = await wsApi.tasks(task!.sid).reservations.list();
    assert.equal(r!.reservationStatus, 'accepted');
    const assigned = await wsApi.tasks(task!.sid).fetch();
    assert.equal((JSON.parse(assigned.attributes) as Record<string, unknown>)['worker_call_sid'], worker!.sid);
    assert.equal(fake.call(caller).bridgedWith, worker!.sid);

    await fake.hangup(worker!.sid);
    await scheduler.advance(10);
    assert.equal((await wsApi.workers(c.workers.hindi).fetch()).activitySid, c.activities.wrapUp);
    assert.equal((await wsApi.tasks(task!.sid).fetch()).assignmentStatus, 'wrapping');

    // Exactly these API requests, in order: one Calls create (the agent's leg).
    assert.deepEqual(fake.requests.map((q) => `${q.method} ${q.path.replace(/AC[0-9a-f]{32}/, 'AC…')}`), ['POST /2010-04-01/Accounts/AC…/Calls.json']);
    // Exactly these TwiML documents for the caller: the welcome and menu, the queue, the hold
    // treatment, and the hang-up when the bridge ended.
    const docs = fake.call(caller).documents.map(shape);
    assert.deepEqual(docs[0], [
      'Response',
      '  Say language=en-US: Thank you for calling. Your call is important to us.',
      `  Gather input=dtmf numDigits=1 timeout=5 action=/voice/gather method=POST actionOnEmptyResult=true`,
      '    Say language=hi-IN: Hindi ke liye ek dabaiye.',
      '    Say language=en-US: For English, press two, or stay on the line.',
    ]);
    assert.deepEqual(docs[1], ['Response', `  Enqueue waitUrl=/voice/hold waitUrlMethod=POST action=/voice/enqueue method=POST: ${task!.sid}`]);
    assert.deepEqual(docs[2], ['Response', `  Play: ${SEED_HOLD_MUSIC_URL}`]);
    assert.deepEqual(docs.at(-1), ['Response', '  Hangup']);
  } finally {
    await c.close();
    receiver.close();
    await fake.close();
  }
});
