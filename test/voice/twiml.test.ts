/**
 * Verbs → TwiML (src/voice/twiml.ts): each verb as Twilio reads it, checked by parsing the XML.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callStatusOf, enqueueResult, joinTwiml, renderTwiml, TWILIO_DEFAULT_HOLD_MUSIC_URL, voiceUrls } from '../../src/voice/twiml.ts';
import type { Verb } from '../../src/callflows/model.ts';
import { parseTwiml, type TwimlNode } from '../support/fake-twilio.ts';

const URLS = voiceUrls('https://sb.example.com/');

/** The verbs of the rendered answer, as plain {name, attrs, text, children}. */
function render(verbs: Verb[]): TwimlNode[] {
  const xml = renderTwiml({ verbs }, URLS);
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?><Response/);
  return parseTwiml(xml);
}

test('voiceUrls: our three webhook URLs under the public base, trailing slash or not', () => {
  assert.deepEqual(URLS, { gather: 'https://sb.example.com/voice/gather', hold: 'https://sb.example.com/voice/hold', enqueue: 'https://sb.example.com/voice/enqueue' });
  assert.deepEqual(voiceUrls('https://sb.example.com'), URLS);
});

test('say and play keep their attributes; text is escaped by the builder', () => {
  const [say, plain, play, once] = render([
    { verb: 'say', text: 'Tom & Jerry <3', voice: 'Polly.Joanna', language: 'en-US' },
    { verb: 'say', text: 'Hello' },
    { verb: 'play', url: 'https://cdn.example.com/a.mp3?x=1&y=2', loop: 3 },
    { verb: 'play', url: 'https://cdn.example.com/b.mp3' },
  ]);
  assert.deepEqual(say, { name: 'Say', attrs: { voice: 'Polly.Joanna', language: 'en-US' }, text: 'Tom & Jerry <3', children: [] });
  assert.deepEqual(plain?.attrs, {});
  assert.deepEqual(play, { name: 'Play', attrs: { loop: '3' }, text: 'https://cdn.example.com/a.mp3?x=1&y=2', children: [] });
  assert.deepEqual(once?.attrs, {});
});

test('gather: input, digits, timeout, our action by POST, and actionOnEmptyResult so a timeout reaches us; the prompt inside', () => {
  const [gather] = render([
    { verb: 'gather', input: 'dtmf speech', timeoutSeconds: 7, numDigits: 2, prompt: [{ verb: 'say', text: 'Press or say', language: 'en-US' }, { verb: 'play', url: 'https://cdn.example.com/beep.mp3' }] },
  ]);
  assert.equal(gather?.name, 'Gather');
  assert.deepEqual(gather?.attrs, { input: 'dtmf speech', numDigits: '2', timeout: '7', action: URLS.gather, method: 'POST', actionOnEmptyResult: 'true' });
  assert.deepEqual(
    gather?.children.map((c) => [c.name, c.text]),
    [
      ['Say', 'Press or say'],
      ['Play', 'https://cdn.example.com/beep.mp3'],
    ],
  );
  // No digit count: the attribute is left out (Twilio reads until the timeout or #).
  const [open] = render([{ verb: 'gather', input: 'speech', timeoutSeconds: 5, numDigits: null, prompt: [] }]);
  assert.equal(open?.attrs['numDigits'], undefined);
  assert.equal(open?.attrs['input'], 'speech');
});

test('enqueue: a queue named by the task SID, waitUrl and action ours by POST, no workflowSid (our engine routes); a hold right after it is the waitUrl’s to play', () => {
  const task = 'WT' + 'a'.repeat(32);
  const nodes = render([
    { verb: 'say', text: 'Please hold' },
    { verb: 'enqueue', taskSid: task, workflowSid: 'WW' + 'b'.repeat(32) },
    { verb: 'hold', parts: [], musicUrl: 'https://cdn.example.com/music.mp3' },
  ]);
  assert.deepEqual(
    nodes.map((n) => n.name),
    ['Say', 'Enqueue'],
  );
  assert.deepEqual(nodes[1], { name: 'Enqueue', attrs: { waitUrl: URLS.hold, waitUrlMethod: 'POST', action: URLS.enqueue, method: 'POST' }, text: task, children: [] });
});

test('hold: its parts (a gather among them, the in-queue offer), then the music once — the default classical track when none is named', () => {
  const nodes = render([
    {
      verb: 'hold',
      parts: [
        { verb: 'say', text: 'You are number 2 in line.' },
        { verb: 'gather', input: 'dtmf', timeoutSeconds: 5, numDigits: 1, prompt: [{ verb: 'say', text: 'Press 1 for a callback.' }] },
      ],
      musicUrl: 'https://cdn.example.com/music.mp3',
    },
  ]);
  assert.deepEqual(
    nodes.map((n) => [n.name, n.text]),
    [
      ['Say', 'You are number 2 in line.'],
      ['Gather', ''],
      ['Play', 'https://cdn.example.com/music.mp3'],
    ],
  );
  assert.equal(nodes[1]?.attrs['action'], URLS.gather);
  assert.deepEqual(nodes[2]?.attrs, {});
  const [music] = render([{ verb: 'hold', parts: [], musicUrl: null }]);
  assert.deepEqual(music, { name: 'Play', attrs: {}, text: TWILIO_DEFAULT_HOLD_MUSIC_URL, children: [] });
});

test('hangup, and an empty answer', () => {
  assert.deepEqual(render([{ verb: 'say', text: 'Goodbye' }, { verb: 'hangup' }]).map((n) => n.name), ['Say', 'Hangup']);
  assert.equal(renderTwiml({ verbs: [] }, URLS), '<?xml version="1.0" encoding="UTF-8"?><Response/>');
  // A refusal renders its verbs like any answer (the route raises the alert).
  assert.deepEqual(parseTwiml(renderTwiml({ verbs: [{ verb: 'say', text: 'Not in service' }, { verb: 'hangup' }], refused: 'unknown number' }, URLS)).map((n) => n.name), ['Say', 'Hangup']);
});

test('enqueueResult: hangup is the caller leaving; a bridge that ended hangs up; a failed queue apologizes and hangs up; anything else answers empty', () => {
  assert.deepEqual(enqueueResult({ QueueResult: 'hangup' }), { twiml: '<?xml version="1.0" encoding="UTF-8"?><Response/>', callerEnded: true });
  assert.deepEqual(enqueueResult({ QueueResult: 'bridged' }), { twiml: '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>', callerEnded: false });
  for (const r of ['queue-full', 'error', 'system-error']) {
    const out = enqueueResult({ QueueResult: r });
    assert.equal(out.callerEnded, true, r);
    assert.deepEqual(parseTwiml(out.twiml).map((n) => n.name), ['Say', 'Hangup'], r);
  }
  for (const r of ['leave', 'redirected', undefined]) assert.deepEqual(enqueueResult({ QueueResult: r }).callerEnded, false);
});

test('joinTwiml: the caller dials into the named room, labelled customer, starting it; endConferenceOnExit as asked', () => {
  const [dial] = parseTwiml(joinTwiml('WT' + 'c'.repeat(32), true));
  assert.equal(dial?.name, 'Dial');
  assert.deepEqual(dial?.children[0], { name: 'Conference', attrs: { startConferenceOnEnter: 'true', endConferenceOnExit: 'true', participantLabel: 'customer' }, text: 'WT' + 'c'.repeat(32), children: [] });
  assert.equal(parseTwiml(joinTwiml('room', false))[0]?.children[0]?.attrs['endConferenceOnExit'], 'false');
});

test('callStatusOf: Twilio’s values only', () => {
  assert.equal(callStatusOf('in-progress'), 'in-progress');
  assert.equal(callStatusOf('no-answer'), 'no-answer');
  assert.equal(callStatusOf('answered'), null);
  assert.equal(callStatusOf(undefined), null);
});
