/**
 * The Twilio voice adapter and the voice routes against a fake Twilio (test/support/fake-twilio.ts):
 * real HTTP both ways on 127.0.0.1, the official `twilio` client for the REST side, signed
 * webhooks for the other. The caller side is a scripted VoiceInbound stub (no runtime): it answers
 * with the verbs a test sets and records what the network told it.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { voiceRoutes } from '../../src/api/routes/voice.ts';
import { TwilioVoice } from '../../src/voice/twilio-voice.ts';
import type { ConnectRequest, IncomingCall, LegStatusUpdate, VoiceAnswer, VoiceInbound } from '../../src/callflows/voice-port.ts';
import type { SayVerb } from '../../src/callflows/model.ts';
import { parseTwiml, startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';

const TOKEN = 'e'.repeat(32);
const NUMBER = '+14155550199';
const MUSIC = 'https://cdn.example.com/hold.mp3';
const AT = 1_800_000_000_000;

type Logged =
  | { kind: 'incoming'; call: IncomingCall }
  | { kind: 'gathered'; callSid: string; answer: { digits?: string; speech?: string } | null }
  | { kind: 'hold'; callSid: string }
  | { kind: 'legStatus'; update: LegStatusUpdate }
  | { kind: 'bridged'; key: string; workerCallSid: string; at: number };

/** The caller side, scripted: each method answers with what the test set (or throws `fail`). */
class StubInbound implements VoiceInbound {
  readonly log: Logged[] = [];
  onIncoming: (call: IncomingCall) => VoiceAnswer = () => ({ verbs: [] });
  onGathered: (callSid: string, answer: { digits?: string; speech?: string } | null) => VoiceAnswer = () => ({ verbs: [] });
  onHold: (callSid: string) => VoiceAnswer = () => ({ verbs: [{ verb: 'hold', parts: [], musicUrl: MUSIC }] });
  fail: Error | null = null;

  async incoming(call: IncomingCall): Promise<VoiceAnswer> {
    this.log.push({ kind: 'incoming', call });
    if (this.fail !== null) throw this.fail;
    return this.onIncoming(call);
  }
  async gathered(callSid: string, answer: { digits?: string; speech?: string } | null): Promise<VoiceAnswer> {
    this.log.push({ kind: 'gathered', callSid, answer });
    return this.onGathered(callSid, answer);
  }
  async hold(callSid: string): Promise<VoiceAnswer> {
    this.log.push({ kind: 'hold', callSid });
    return this.onHold(callSid);
  }
  async legStatus(update: LegStatusUpdate): Promise<void> {
    this.log.push({ kind: 'legStatus', update });
  }
  async bridged(key: string, workerCallSid: string, at: number): Promise<void> {
    this.log.push({ kind: 'bridged', key, workerCallSid, at });
  }
  /** The entries logged since `from`. */
  since(from: number): Logged[] {
    return this.log.slice(from);
  }
}

let fake: FakeTwilio;
let server: Server;
let app: FastifyInstance;
let base: string;
let voice: TwilioVoice;
let stub: StubInbound;
const logLines: Array<{ level: number; msg: string }> = [];

before(async () => {
  fake = await startFakeTwilio({ authToken: TOKEN });
  // Our server listens first, so that the adapter knows the public URL Twilio reaches.
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  app = Fastify({
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => server.on('request', handler),
    logger: { level: 'warn', stream: { write: (line: string) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) } },
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  voice = new TwilioVoice({ client: fake.client(), publicUrl: base, now: () => AT });
  stub = new StubInbound();
  voice.attach(stub);
  voiceRoutes(app, { inbound: stub, twilio: voice, authToken: TOKEN });
  await app.ready();
});

after(async () => {
  await app.close();
  // Fastify leaves a server it did not listen on to its owner.
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((err) => (err === undefined ? resolve() : reject(err))));
  await fake.close();
});

const say = (text: string): SayVerb => ({ verb: 'say', text });
const taskSid = (n: number): string => 'WT' + String(n).padStart(32, '0');

/** A caller who dialed in, chose at the menu and now holds in the queue of task `n`; their CallSid. */
async function callerHolding(n: number, from = '+1415555010' + String(n % 10)): Promise<string> {
  stub.onIncoming = () => ({ verbs: [say('Welcome'), { verb: 'gather', input: 'dtmf', timeoutSeconds: 5, numDigits: 1, prompt: [say('Press 1 for sales')] }] });
  stub.onGathered = () => ({ verbs: [{ verb: 'enqueue', taskSid: taskSid(n), workflowSid: 'WW' + '0'.repeat(32) }, { verb: 'hold', parts: [], musicUrl: MUSIC }] });
  const sid = await fake.placeInboundCall({ from, to: NUMBER, voiceUrl: `${base}/voice/incoming`, statusCallbackUrl: `${base}/voice/status` });
  await fake.press(sid, '1');
  assert.equal(fake.call(sid).queue, taskSid(n));
  return sid;
}

function connectRequest(n: number, instruction: ConnectRequest['instruction'], callerCallSid: string | null, extra: Partial<ConnectRequest> = {}): ConnectRequest {
  const reservationSid = 'WR' + String(n).padStart(32, '0');
  return {
    key: `${reservationSid}:${instruction}`,
    instruction,
    accountSid: fake.accountSid,
    workspaceSid: 'WS' + '0'.repeat(32),
    taskSid: taskSid(n),
    reservationSid,
    workerSid: 'WK' + '0'.repeat(32),
    callerCallSid,
    to: '+14155550111',
    from: NUMBER,
    timeoutSeconds: 20,
    parameters: {},
    ...extra,
  };
}

const statuses = (entries: Logged[], callSid: string): string[] =>
  entries.flatMap((e) => (e.kind === 'legStatus' && e.update.callSid === callSid ? [`${e.update.status}${e.update.key === undefined ? '' : ' ' + e.update.key}`] : []));

test('a caller dials in, chooses, holds; dequeue places the worker’s leg that takes exactly that caller; the bridge is reported; the hang-ups end both sides', async () => {
  const start = stub.log.length;
  stub.onIncoming = () => ({ verbs: [say('Welcome'), { verb: 'gather', input: 'dtmf', timeoutSeconds: 5, numDigits: 1, prompt: [say('Press 1 for sales')] }] });
  const caller = await fake.placeInboundCall({ from: '+14155550100', to: NUMBER, voiceUrl: `${base}/voice/incoming`, statusCallbackUrl: `${base}/voice/status` });
  const incoming = stub.since(start)[0];
  assert.equal(incoming?.kind, 'incoming');
  if (incoming?.kind === 'incoming') {
    assert.deepEqual({ callSid: incoming.call.callSid, from: incoming.call.from, to: incoming.call.to }, { callSid: caller, from: '+14155550100', to: NUMBER });
    // Every webhook parameter comes along (they become the task's attributes).
    assert.equal(incoming.call.parameters['FromCity'], 'SAN FRANCISCO');
    assert.equal(incoming.call.parameters['Direction'], 'inbound');
    assert.equal(incoming.call.parameters['AccountSid'], fake.accountSid);
  }
  const menu = parseTwiml(fake.call(caller).documents[0] as string);
  assert.deepEqual(menu.map((n) => n.name), ['Say', 'Gather']);
  assert.equal(menu[1]?.attrs['action'], `${base}/voice/gather`);
  assert.deepEqual(fake.call(caller).heard, ['say:Welcome', 'say:Press 1 for sales']);

  // The caller presses 1: the answer enqueues them in their task's queue, whose waitUrl is fetched.
  stub.onGathered = () => ({ verbs: [{ verb: 'enqueue', taskSid: taskSid(1), workflowSid: 'WW' + '0'.repeat(32) }, { verb: 'hold', parts: [], musicUrl: MUSIC }] });
  stub.onHold = () => ({ verbs: [{ verb: 'hold', parts: [say('You are first in line.')], musicUrl: MUSIC }] });
  await fake.press(caller, '1');
  assert.deepEqual(
    stub.since(start).filter((e) => e.kind === 'gathered' || e.kind === 'hold'),
    [
      { kind: 'gathered', callSid: caller, answer: { digits: '1' } },
      { kind: 'hold', callSid: caller },
    ],
  );
  const queue = fake.queues.get(taskSid(1));
  assert.deepEqual(queue?.members, [caller]);
  const holdRequest = fake.webhooksTo('/voice/hold')[0];
  assert.equal(holdRequest?.params['QueuePosition'], '1');
  assert.equal(holdRequest?.params['QueueSid'], queue?.sid);
  assert.equal(voice.queueOf(caller), queue?.sid, 'the adapter learned the caller’s queue');
  assert.deepEqual(fake.call(caller).heard.slice(2), ['say:You are first in line.', `play:${MUSIC}`]);
  // The music played out: Twilio asks again.
  await fake.holdAgain(caller);
  assert.equal(fake.webhooksTo('/voice/hold').length, 2);

  // The engine reserved a worker: the dequeue instruction places their leg.
  const request = connectRequest(1, 'dequeue', caller, { record: 'record-from-answer' });
  const before = fake.requests.length;
  await voice.connect(request, AT);
  const created = fake.requests.slice(before);
  assert.equal(created.length, 1);
  assert.equal(created[0]?.method, 'POST');
  assert.equal(created[0]?.path, `/2010-04-01/Accounts/${fake.accountSid}/Calls.json`);
  const p = created[0]?.params ?? {};
  const key = encodeURIComponent(request.key);
  assert.deepEqual(
    { To: p['To'], From: p['From'], Timeout: p['Timeout'], StatusCallback: p['StatusCallback'], StatusCallbackMethod: p['StatusCallbackMethod'], StatusCallbackEvent: p['StatusCallbackEvent'], Record: p['Record'] },
    {
      To: '+14155550111',
      From: NUMBER,
      Timeout: '20',
      StatusCallback: `${base}/voice/status?key=${key}`,
      StatusCallbackMethod: 'POST',
      StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      Record: 'true',
    },
  );
  const [dial] = parseTwiml(p['Twiml'] as string);
  assert.equal(dial?.name, 'Dial');
  assert.deepEqual(dial?.children[0], { name: 'Queue', attrs: { url: `${base}/voice/bridged?key=${key}`, method: 'POST' }, text: taskSid(1), children: [] });

  // The worker answers: ringing, in progress, then the <Queue url> request for the caller = bridged.
  const worker = fake.outboundCalls().at(-1)?.sid as string;
  const mark = stub.log.length;
  await fake.answer(worker);
  assert.deepEqual(statuses(stub.since(mark), worker), [`initiated ${request.key}`, `ringing ${request.key}`, `in-progress ${request.key}`]);
  assert.deepEqual(
    stub.since(mark).filter((e) => e.kind === 'bridged'),
    [{ kind: 'bridged', key: request.key, workerCallSid: worker, at: AT }],
  );
  const bridgedHook = fake.webhooksTo('/voice/bridged')[0];
  assert.equal(bridgedHook?.params['CallSid'], caller);
  assert.equal(bridgedHook?.params['DequeingCallSid'], worker);
  assert.equal(fake.call(caller).bridgedWith, worker);
  assert.deepEqual(queue?.members, []);

  // The worker hangs up: the caller's <Enqueue action> says bridged, we hang them up.
  const end = stub.log.length;
  await fake.hangup(worker);
  assert.equal(fake.call(caller).status, 'completed');
  const action = fake.webhooksTo('/voice/enqueue').at(-1);
  assert.equal(action?.params['QueueResult'], 'bridged');
  assert.deepEqual(parseTwiml(action?.body ?? '').map((n) => n.name), ['Hangup']);
  assert.deepEqual(statuses(stub.since(end), worker), [`completed ${request.key}`]);
  assert.deepEqual(statuses(stub.since(end), caller), ['completed']);

  // The leg is over: a hang-up of its key asks nothing of Twilio.
  const count = fake.requests.length;
  await voice.hangup({ key: request.key }, AT);
  assert.equal(fake.requests.length, count);
});

test('a repeated connect key places nothing', async () => {
  const caller = await callerHolding(2);
  const request = connectRequest(2, 'dequeue', caller);
  const before = fake.requestsTo('/Calls.json').length;
  await voice.connect(request, AT);
  await voice.connect(request, AT);
  await voice.connect({ ...request, to: '+14155550999' }, AT);
  assert.equal(fake.requestsTo('/Calls.json').length, before + 1);
  await fake.hangup(caller);
});

test('hang-ups: the caller leaving the queue is reported; a ringing leg is canceled, an answered one completed; by CallSid too', async () => {
  // The caller hangs up while their worker's leg rings.
  const caller = await callerHolding(3);
  const request = connectRequest(3, 'dequeue', caller);
  await voice.connect(request, AT);
  const worker = fake.outboundCalls().at(-1)?.sid as string;
  await fake.ring(worker);
  let mark = stub.log.length;
  await fake.hangup(caller);
  const action = fake.webhooksTo('/voice/enqueue').at(-1);
  assert.equal(action?.params['QueueResult'], 'hangup');
  assert.equal(action?.params['CallSid'], caller);
  // Once from the <Enqueue action>, once from the caller's own status callback.
  assert.deepEqual(statuses(stub.since(mark), caller), ['completed', 'completed']);
  assert.equal(voice.queueOf(caller), undefined);
  // The core hangs up the ringing leg: canceled.
  mark = stub.log.length;
  await voice.hangup({ key: request.key }, AT);
  assert.deepEqual(fake.requests.at(-1), { method: 'POST', path: `/2010-04-01/Accounts/${fake.accountSid}/Calls/${worker}.json`, params: { Status: 'canceled' } });
  await fake.settle();
  assert.equal(fake.call(worker).status, 'canceled');
  assert.deepEqual(statuses(stub.since(mark), worker), [`canceled ${request.key}`]);

  // An answered, bridged leg is completed; the caller's bridge ends with it.
  const caller2 = await callerHolding(4);
  const request2 = connectRequest(4, 'dequeue', caller2);
  await voice.connect(request2, AT);
  const worker2 = fake.outboundCalls().at(-1)?.sid as string;
  await fake.answer(worker2);
  await voice.hangup({ key: request2.key }, AT);
  assert.deepEqual(fake.requests.at(-1)?.params, { Status: 'completed' });
  await fake.settle();
  assert.equal(fake.call(worker2).status, 'completed');
  assert.equal(fake.call(caller2).status, 'completed');

  // The worker does not answer: no-answer is reported with the key.
  const caller3 = await callerHolding(5);
  const request3 = connectRequest(5, 'dequeue', caller3);
  await voice.connect(request3, AT);
  const worker3 = fake.outboundCalls().at(-1)?.sid as string;
  mark = stub.log.length;
  await fake.noAnswer(worker3);
  assert.deepEqual(statuses(stub.since(mark), worker3), [`initiated ${request3.key}`, `ringing ${request3.key}`, `no-answer ${request3.key}`]);
  // By CallSid (a caller's call): completed.
  await voice.hangup({ callSid: caller3 }, AT);
  assert.deepEqual(fake.requests.at(-1), { method: 'POST', path: `/2010-04-01/Accounts/${fake.accountSid}/Calls/${caller3}.json`, params: { Status: 'completed' } });
  await fake.settle();
  assert.equal(fake.call(caller3).status, 'completed');
  // Unknown keys are ignored; a call Twilio does not know is taken as gone.
  const count = fake.requests.length;
  await voice.hangup({ key: 'WR' + 'f'.repeat(32) + ':dequeue' }, AT);
  assert.equal(fake.requests.length, count);
  await voice.hangup({ callSid: 'CA' + 'f'.repeat(32) }, AT);
});

test('conference: the worker joins the room named by the task; once answered the caller is moved out of their queue (Queue Member API) into it; their leaving is reported', async () => {
  const caller = await callerHolding(6);
  const queueSid = voice.queueOf(caller) as string;
  const request = connectRequest(6, 'conference', caller, { conferenceName: taskSid(6), parameters: { end_conference_on_exit: 'true' } });
  await voice.connect(request, AT);
  const created = fake.requestsTo('/Participants.json').at(-1);
  assert.equal(created?.path, `/2010-04-01/Accounts/${fake.accountSid}/Conferences/${taskSid(6)}/Participants.json`);
  const p = created?.params ?? {};
  const key = encodeURIComponent(request.key);
  assert.deepEqual(
    {
      From: p['From'],
      To: p['To'],
      Label: p['Label'],
      Timeout: p['Timeout'],
      StartConferenceOnEnter: p['StartConferenceOnEnter'],
      EndConferenceOnExit: p['EndConferenceOnExit'],
      StatusCallbackEvent: p['StatusCallbackEvent'],
      ConferenceStatusCallback: p['ConferenceStatusCallback'],
      ConferenceStatusCallbackEvent: p['ConferenceStatusCallbackEvent'],
    },
    {
      From: NUMBER,
      To: '+14155550111',
      Label: `worker:${request.reservationSid}`,
      Timeout: '20',
      StartConferenceOnEnter: 'true',
      EndConferenceOnExit: 'true',
      StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      ConferenceStatusCallback: `${base}/voice/conference-status?key=${key}`,
      ConferenceStatusCallbackEvent: ['start', 'end', 'join', 'leave'],
    },
  );
  assert.equal(new URL(p['StatusCallback'] as string).searchParams.get('caller'), caller);

  const worker = fake.outboundCalls().at(-1)?.sid as string;
  const mark = stub.log.length;
  await fake.answer(worker);
  // The caller is moved with the Queue Member API, to our join URL.
  const member = fake.requestsTo(`/Members/${caller}.json`).at(-1);
  assert.equal(member?.path, `/2010-04-01/Accounts/${fake.accountSid}/Queues/${queueSid}/Members/${caller}.json`);
  const joinUrl = new URL(member?.params['Url'] as string);
  assert.equal(joinUrl.origin + joinUrl.pathname, `${base}/voice/join`);
  assert.deepEqual(Object.fromEntries(joinUrl.searchParams), { key: request.key, conference: taskSid(6), worker });
  assert.equal(member?.params['Method'], 'POST');
  // Fetching it is the bridge; the caller dials into the room.
  assert.deepEqual(
    stub.since(mark).filter((e) => e.kind === 'bridged'),
    [{ kind: 'bridged', key: request.key, workerCallSid: worker, at: AT }],
  );
  const [dial] = parseTwiml(fake.call(caller).documents.at(-1) as string);
  assert.deepEqual(dial?.children[0], { name: 'Conference', attrs: { startConferenceOnEnter: 'true', endConferenceOnExit: 'false', participantLabel: 'customer' }, text: taskSid(6), children: [] });
  const room = fake.conferences.get(taskSid(6));
  assert.deepEqual([...(room?.participants.keys() ?? [])], [worker, caller]);
  assert.deepEqual(fake.queues.get(taskSid(6))?.members, []);
  assert.deepEqual(statuses(stub.since(mark), worker), [`initiated ${request.key}`, `ringing ${request.key}`, `in-progress ${request.key}`]);

  // The caller hangs up: their participant-leave is the caller's call ending.
  const end = stub.log.length;
  await fake.hangup(caller);
  const leaves = fake.webhooksTo('/voice/conference-status').filter((w) => w.params['StatusCallbackEvent'] === 'participant-leave');
  assert.equal(leaves.at(-1)?.params['CallSid'], caller);
  assert.equal(statuses(stub.since(end), caller)[0], 'completed');
  // The worker leaves too: the room ends (their endConferenceOnExit); their leg reports through its status callback only.
  const last = stub.log.length;
  await fake.hangup(worker);
  assert.equal(room?.status, 'completed');
  assert.deepEqual(statuses(stub.since(last), worker), [`completed ${request.key}`]);
});

test('conference without a known queue SID: the caller’s call is redirected to the join URL instead', async () => {
  const caller = await callerHolding(7);
  voice.noteQueue(caller, null);
  const request = connectRequest(7, 'conference', caller, { conferenceName: taskSid(7) });
  await voice.connect(request, AT);
  const worker = fake.outboundCalls().at(-1)?.sid as string;
  await fake.answer(worker);
  const update = fake.requestsTo(`/Calls/${caller}.json`).at(-1);
  assert.equal(new URL(update?.params['Url'] as string).pathname, '/voice/join');
  assert.equal(fake.call(caller).conference, taskSid(7));
  await fake.hangup(worker);
  await fake.hangup(caller);
});

test('participants: hold and mute go out as Participants API updates with only the fields given, on the room’s CF SID; a kick is a DELETE that ends the worker’s leg; a gone participant is ignored; after a restart the CF SID is looked up by name', async () => {
  const caller = await callerHolding(21);
  const request = connectRequest(21, 'conference', caller, { conferenceName: taskSid(21) });
  await voice.connect(request, AT);
  const worker = fake.outboundCalls().at(-1)?.sid as string;
  await fake.answer(worker);
  const room = fake.conferences.get(taskSid(21));
  assert.ok(room !== undefined && room.participants.has(caller) && room.participants.has(worker));
  const participantPath = (callSid: string): string => `/2010-04-01/Accounts/${fake.accountSid}/Conferences/${room.sid}/Participants/${callSid}.json`;
  const of21 = { key: request.key, conferenceName: taskSid(21) } as const;

  await voice.participant({ ...of21, callSid: caller, role: 'customer', action: 'update', hold: true, holdUrl: 'https://music.example.com/wait.mp3', holdMethod: 'GET' }, AT);
  const hold = fake.requests.at(-1);
  assert.deepEqual(hold, { method: 'POST', path: participantPath(caller), params: { Hold: 'true', HoldUrl: 'https://music.example.com/wait.mp3', HoldMethod: 'GET' } });
  assert.equal(room.participants.get(caller)?.hold, true);
  assert.equal(fake.call(caller).heard.at(-1), 'play:https://music.example.com/wait.mp3');
  await voice.participant({ ...of21, callSid: caller, role: 'customer', action: 'update', hold: false }, AT);
  assert.deepEqual(fake.requests.at(-1)?.params, { Hold: 'false' });
  assert.equal(room.participants.get(caller)?.hold, false);
  await voice.participant({ ...of21, callSid: worker, role: 'worker', action: 'update', muted: true, endConferenceOnExit: false, beepOnExit: true }, AT);
  assert.deepEqual(fake.requests.at(-1), { method: 'POST', path: participantPath(worker), params: { Muted: 'true', EndConferenceOnExit: 'false', BeepOnExit: 'true' } });
  assert.equal(room.participants.get(worker)?.muted, true);

  // Kicked: a DELETE; the worker's leg ends and reports it; the caller stays in the room.
  const mark = stub.log.length;
  await voice.participant({ ...of21, callSid: worker, role: 'worker', action: 'remove' }, AT);
  assert.deepEqual(fake.requests.at(-1), { method: 'DELETE', path: participantPath(worker), params: {} });
  await fake.settle();
  assert.equal(fake.call(worker).status, 'completed');
  assert.deepEqual(statuses(stub.since(mark), worker), [`completed ${request.key}`]);
  assert.deepEqual([...room.participants.keys()], [caller]);
  // Again: Twilio says 20404, nothing to do.
  await voice.participant({ ...of21, callSid: worker, role: 'worker', action: 'remove' }, AT);

  // A restarted adapter does not know the CF SID: it lists the room in progress by its name first.
  const restarted = new TwilioVoice({ client: fake.client(), publicUrl: base, now: () => AT });
  restarted.attach(new StubInbound());
  const count = fake.requests.length;
  await restarted.participant({ ...of21, callSid: caller, role: 'customer', action: 'update', hold: true }, AT);
  const [list, update] = fake.requests.slice(count);
  assert.equal(list?.method, 'GET');
  assert.equal(list?.path, `/2010-04-01/Accounts/${fake.accountSid}/Conferences.json`);
  assert.deepEqual([list?.params['FriendlyName'], list?.params['Status']], [taskSid(21), 'in-progress']);
  assert.deepEqual(update, { method: 'POST', path: participantPath(caller), params: { Hold: 'true' } });
  // No room of that name in progress: nothing is sent beyond the look-up.
  const before = fake.requests.length;
  await restarted.participant({ ...of21, conferenceName: taskSid(99), callSid: caller, role: 'customer', action: 'update', hold: true }, AT);
  assert.equal(fake.requests.length, before + 1);
  await fake.hangup(caller);
});

test('call: the worker’s leg runs the instruction’s URL and is bridged when answered; redirect: the caller is sent to the URL, bridged at once', async () => {
  const agentUrl = 'https://flows.example.com/agent.xml';
  fake.serveTwiml(agentUrl, '<Response><Say>A customer is waiting.</Say><Pause length="1"/></Response>');
  const request = connectRequest(8, 'call', null, { url: agentUrl });
  await voice.connect(request, AT);
  const p = fake.requestsTo('/Calls.json').at(-1)?.params ?? {};
  assert.equal(p['Url'], agentUrl);
  assert.equal(p['StatusCallback'], `${base}/voice/status?key=${encodeURIComponent(request.key)}`);
  const worker = fake.outboundCalls().at(-1)?.sid as string;
  const mark = stub.log.length;
  await fake.answer(worker);
  assert.deepEqual(
    stub.since(mark).filter((e) => e.kind === 'bridged'),
    [{ kind: 'bridged', key: request.key, workerCallSid: worker, at: AT }],
  );
  assert.deepEqual(fake.call(worker).heard, ['say:A customer is waiting.']);

  const caller = await callerHolding(9);
  const target = 'https://flows.example.com/elsewhere.xml';
  fake.serveTwiml(target, '<Response><Say>Transferring you.</Say><Hangup/></Response>');
  const redirect = connectRequest(9, 'redirect', caller, { url: target });
  const before = stub.log.length;
  await voice.connect(redirect, AT);
  assert.deepEqual(fake.requests.at(-1), { method: 'POST', path: `/2010-04-01/Accounts/${fake.accountSid}/Calls/${caller}.json`, params: { Url: target, Method: 'POST' } });
  assert.deepEqual(
    stub.since(before).filter((e) => e.kind === 'bridged'),
    [{ kind: 'bridged', key: redirect.key, workerCallSid: caller, at: AT }],
  );
  await fake.settle();
  assert.equal(fake.call(caller).heard.at(-1), 'say:Transferring you.');
  assert.equal(fake.call(caller).status, 'completed');
  await assert.rejects(voice.connect(connectRequest(10, 'redirect', null, { url: target }), AT), RangeError);
});

test('silence at a gather reaches us as a timeout; the in-queue callback offer is a gather in the hold answer', async () => {
  stub.onIncoming = () => ({ verbs: [{ verb: 'gather', input: 'dtmf', timeoutSeconds: 5, numDigits: 1, prompt: [say('Press 1')] }] });
  stub.onGathered = (_sid, answer) =>
    answer === null ? { verbs: [{ verb: 'enqueue', taskSid: taskSid(11), workflowSid: 'WW' + '0'.repeat(32) }] } : { verbs: [say('We will call you back. Goodbye.'), { verb: 'hangup' }] };
  stub.onHold = () => ({ verbs: [{ verb: 'hold', parts: [{ verb: 'gather', input: 'dtmf', timeoutSeconds: 5, numDigits: 1, prompt: [say('Press 1 for a callback')] }], musicUrl: null }] });
  const caller = await fake.placeInboundCall({ from: '+14155550111', to: NUMBER, voiceUrl: `${base}/voice/incoming`, statusCallbackUrl: `${base}/voice/status` });
  const mark = stub.log.length;
  await fake.silence(caller);
  assert.deepEqual(stub.since(mark)[0], { kind: 'gathered', callSid: caller, answer: null });
  assert.equal(fake.call(caller).queue, taskSid(11));
  assert.equal(fake.call(caller).heard.at(-1), 'say:Press 1 for a callback');
  // The caller takes the offer: the answer says goodbye and hangs up, which ends their wait.
  await fake.press(caller, '1');
  assert.deepEqual(stub.log.filter((e) => e.kind === 'gathered').at(-1), { kind: 'gathered', callSid: caller, answer: { digits: '1' } });
  assert.equal(fake.call(caller).status, 'completed');
  assert.equal(fake.webhooksTo('/voice/enqueue').at(-1)?.params['QueueResult'], 'hangup');
});

test('signatures: a bad or missing X-Twilio-Signature is a 403 in Twilio’s error shape; nothing reaches the inbound side', async () => {
  const mark = stub.log.length;
  for (const headers of [{ 'x-twilio-signature': 'bm90IGl0' }, {}]) {
    const res = await fetch(`${base}/voice/incoming`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ CallSid: 'CA' + '9'.repeat(32), From: '+1', To: NUMBER }).toString(),
    });
    assert.equal(res.status, 403);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body['code'], 20403);
    assert.equal(body['status'], 403);
    assert.equal(typeof body['message'], 'string');
  }
  const status = await fetch(`${base}/voice/status?key=x`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'x' }, body: 'CallSid=CA1&CallStatus=completed' });
  assert.equal(status.status, 403);
  assert.equal(stub.log.length, mark);
});

test('a refused call is played as answered and logged as a warning; an inbound failure is an apology, never a 5xx', async () => {
  stub.onIncoming = () => ({ verbs: [say('This number is not in service.'), { verb: 'hangup' }], refused: 'no flow for +14155550199' });
  const refused = await fake.placeInboundCall({ from: '+14155550122', to: NUMBER, voiceUrl: `${base}/voice/incoming` });
  assert.deepEqual(fake.call(refused).heard, ['say:This number is not in service.']);
  assert.equal(fake.call(refused).status, 'completed');
  assert.ok(logLines.some((l) => l.level === 40 && l.msg.includes('no flow for +14155550199')), JSON.stringify(logLines));

  stub.fail = new Error('store unavailable');
  try {
    const failed = await fake.placeInboundCall({ from: '+14155550123', to: NUMBER, voiceUrl: `${base}/voice/incoming` });
    assert.equal(fake.webhooks.at(-1)?.status, 200);
    assert.deepEqual(fake.call(failed).heard, ['say:We are sorry, something went wrong. Goodbye.']);
    assert.equal(fake.call(failed).status, 'completed');
    assert.ok(logLines.some((l) => l.level === 50));
  } finally {
    stub.fail = null;
  }
});

test('a hang-up while the create request is out is carried out once the CallSid is back', async () => {
  const caller = await callerHolding(12);
  const request = connectRequest(12, 'dequeue', caller);
  const placing = voice.connect(request, AT);
  await voice.hangup({ key: request.key }, AT);
  await placing;
  const worker = fake.outboundCalls().at(-1)?.sid as string;
  assert.deepEqual(fake.requests.at(-1), { method: 'POST', path: `/2010-04-01/Accounts/${fake.accountSid}/Calls/${worker}.json`, params: { Status: 'canceled' } });
  await fake.settle();
  assert.equal(fake.call(worker).status, 'canceled');
  await fake.hangup(caller);
});

test('after a restart, a conference leg’s answer still moves its caller: the status callback URL carries the room and the caller', async () => {
  const caller = await callerHolding(13);
  const restarted = new TwilioVoice({ client: fake.client(), publicUrl: base, now: () => AT });
  const inbound = new StubInbound();
  restarted.attach(inbound);
  const key = 'WR' + '0'.repeat(31) + 'd:conference';
  const worker = 'CA' + 'd'.repeat(32);
  await restarted.handleStatus({ CallSid: worker, CallStatus: 'in-progress' }, { key, conference: taskSid(13), caller });
  assert.deepEqual(inbound.log, [{ kind: 'legStatus', update: { callSid: worker, key, status: 'in-progress', at: AT } }]);
  // No queue SID known after the restart: the caller's call is redirected to the join URL.
  const update = fake.requestsTo(`/Calls/${caller}.json`).at(-1);
  assert.deepEqual(Object.fromEntries(new URL(update?.params['Url'] as string).searchParams), { key, conference: taskSid(13), worker });
  // A repeated in-progress does not move them twice.
  const count = fake.requests.length;
  await restarted.handleStatus({ CallSid: worker, CallStatus: 'in-progress' }, { key, conference: taskSid(13), caller });
  assert.equal(fake.requests.length, count);
  await fake.settle();
  assert.equal(fake.call(caller).conference, taskSid(13));
  await fake.hangup(caller);
});

test('routes without a Twilio adapter: caller webhooks only, signed over the configured public URL', async () => {
  const inbound = new StubInbound();
  inbound.onIncoming = () => ({ verbs: [{ verb: 'gather', input: 'dtmf', timeoutSeconds: 5, numDigits: 1, prompt: [] }] });
  const bare = Fastify();
  bare.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  voiceRoutes(bare, { inbound, twilio: null, authToken: TOKEN, publicUrl: 'https://sb.example.com/', now: () => AT });
  const post = (path: string, params: Record<string, string>) =>
    bare.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, `https://sb.example.com${path}`, params) },
      payload: new URLSearchParams(params).toString(),
    });
  const callSid = 'CA' + '7'.repeat(32);
  const incoming = await post('/voice/incoming', { CallSid: callSid, From: '+14155550177', To: NUMBER });
  assert.equal(incoming.statusCode, 200);
  assert.match(String(incoming.headers['content-type']), /^text\/xml/);
  assert.equal(parseTwiml(incoming.body)[0]?.attrs['action'], 'https://sb.example.com/voice/gather');
  assert.equal((await post('/voice/status', { CallSid: callSid, CallStatus: 'completed' })).statusCode, 204);
  assert.equal((await post('/voice/enqueue', { CallSid: callSid, QueueResult: 'hangup' })).statusCode, 200);
  assert.deepEqual(
    inbound.log.filter((e) => e.kind === 'legStatus'),
    [
      { kind: 'legStatus', update: { callSid, status: 'completed', at: AT } },
      { kind: 'legStatus', update: { callSid, status: 'completed', at: AT } },
    ],
  );
  // The adapter's own webhooks are not served.
  assert.equal((await post('/voice/bridged?key=k', { CallSid: callSid })).statusCode, 404);
  await bare.close();
});

test('a transfer joins the live conference (Participants API on its CF SID, no caller move); a COLD handover removes the first leg; an outbound call adds the worker, then dials the customer into the same conference', async () => {
  // The caller is in the conference of task 31 with the first worker.
  const caller = await callerHolding(31);
  const first = connectRequest(31, 'conference', caller, { conferenceName: taskSid(31) });
  await voice.connect(first, AT);
  const firstLeg = fake.outboundCalls().at(-1)?.sid as string;
  await fake.answer(firstLeg);
  const room = fake.conferences.get(taskSid(31));
  assert.ok(room !== undefined);
  assert.deepEqual([...room.participants.keys()], [firstLeg, caller]);

  // The transfer task 32 answered with dequeue: the target's leg joins the room of task 31.
  const join = connectRequest(32, 'dequeue', caller, { conferenceName: taskSid(31), placement: 'join' });
  const count = fake.requests.length;
  await voice.connect(join, AT);
  const [create] = fake.requests.slice(count);
  assert.equal(create?.method, 'POST');
  assert.equal(create?.path, `/2010-04-01/Accounts/${fake.accountSid}/Conferences/${room.sid}/Participants.json`, 'the live room by its CF SID');
  assert.deepEqual([create?.params['Label'], create?.params['To'], create?.params['From'], create?.params['EndConferenceOnExit'], create?.params['StartConferenceOnEnter']], [`worker:${join.reservationSid}`, '+14155550111', NUMBER, 'false', 'false']);
  assert.deepEqual(Object.fromEntries(new URL(create?.params['StatusCallback'] as string).searchParams), { key: join.key, conference: taskSid(31), placement: 'join' });
  const target = fake.outboundCalls().at(-1)?.sid as string;
  const mark = stub.log.length;
  const moved = fake.requests.length;
  await fake.answer(target);
  assert.deepEqual(stub.since(mark).filter((e) => e.kind === 'bridged'), [{ kind: 'bridged', key: join.key, workerCallSid: target, at: AT }], 'joining is the bridge');
  assert.equal(fake.requests.slice(moved).filter((r) => r.path.includes('/Members/') || r.path.includes(`/Calls/${caller}`)).length, 0, 'the caller is not moved');
  assert.deepEqual([...room.participants.keys()], [firstLeg, caller, target], 'three-way');

  // COLD: the first worker's leg is removed from the room (DELETE on the CF SID); the caller stays with the target.
  await voice.participant({ key: first.key, conferenceName: taskSid(31), callSid: firstLeg, role: 'worker', action: 'remove' }, AT);
  assert.deepEqual(fake.requests.at(-1), { method: 'DELETE', path: `/2010-04-01/Accounts/${fake.accountSid}/Conferences/${room.sid}/Participants/${firstLeg}.json`, params: {} });
  await fake.settle();
  assert.equal(fake.call(firstLeg).status, 'completed');
  assert.deepEqual([...room.participants.keys()], [caller, target]);
  await fake.hangup(caller);
  // The target leaving: the room's callback (the first leg's key) sees a label `worker:<WR…>` of
  // another leg — a worker, not the caller: only its own status callback reports it.
  const leaving = stub.log.length;
  await fake.hangup(target);
  assert.equal(fake.webhooksTo('/voice/conference-status').filter((w) => w.params['StatusCallbackEvent'] === 'participant-leave').at(-1)?.params['ParticipantLabel'], `worker:${join.reservationSid}`);
  assert.deepEqual(statuses(stub.since(leaving), target), [`completed ${join.key}`]);

  // Outbound (task 33): the worker's leg opens the conference; once in, the customer is dialed into it.
  const agent = connectRequest(33, 'conference', null, { conferenceName: taskSid(33), placement: 'outbound' });
  await voice.connect(agent, AT);
  const opened = fake.requestsTo('/Participants.json').at(-1);
  assert.equal(opened?.path, `/2010-04-01/Accounts/${fake.accountSid}/Conferences/${taskSid(33)}/Participants.json`);
  assert.deepEqual([opened?.params['Label'], opened?.params['StartConferenceOnEnter']], [`worker:${agent.reservationSid}`, 'true']);
  const agentLeg = fake.outboundCalls().at(-1)?.sid as string;
  let since = stub.log.length;
  await fake.answer(agentLeg);
  assert.deepEqual(stub.since(since).filter((e) => e.kind === 'bridged'), [{ kind: 'bridged', key: agent.key, workerCallSid: agentLeg, at: AT }]);
  const customer: ConnectRequest = { ...connectRequest(33, 'conference', null), key: 'WR' + String(33).padStart(32, '0') + ':customer', to: '+14155550177', from: NUMBER, conferenceName: taskSid(33), placement: 'customer' };
  await voice.connect(customer, AT);
  const dialed = fake.requestsTo('/Participants.json').at(-1);
  assert.equal(dialed?.path, `/2010-04-01/Accounts/${fake.accountSid}/Conferences/${taskSid(33)}/Participants.json`);
  assert.deepEqual([dialed?.params['Label'], dialed?.params['To'], dialed?.params['From'], dialed?.params['EndConferenceOnExit']], ['customer', '+14155550177', NUMBER, 'true']);
  const customerLeg = fake.outboundCalls().at(-1)?.sid as string;
  since = stub.log.length;
  await fake.answer(customerLeg);
  assert.deepEqual(statuses(stub.since(since), customerLeg).at(-1), `in-progress ${customer.key}`, 'the customer reports with their own key');
  assert.equal(stub.since(since).filter((e) => e.kind === 'bridged').length, 0, 'no bridge report for the customer');
  assert.deepEqual([...(fake.conferences.get(taskSid(33))?.participants.keys() ?? [])], [agentLeg, customerLeg]);
  // The call ends from our side: hang-ups by key.
  await voice.hangup({ key: customer.key }, AT);
  await voice.hangup({ key: agent.key }, AT);
  await fake.settle();
  assert.equal(fake.call(customerLeg).status, 'completed');
  assert.equal(fake.call(agentLeg).status, 'completed');
});

test('after a restart, a hang-up by a key this process never placed falls back to the call SID it carries (completed); without one it is ignored', async () => {
  const caller = await callerHolding(41);
  const request = connectRequest(41, 'conference', caller, { conferenceName: taskSid(41) });
  await voice.connect(request, AT);
  const worker = fake.outboundCalls().at(-1)?.sid as string;
  await fake.answer(worker);
  assert.equal(fake.call(worker).status, 'in-progress');
  const restarted = new TwilioVoice({ client: fake.client(), publicUrl: base, now: () => AT });
  restarted.attach(new StubInbound());
  const count = fake.requests.length;
  await restarted.hangup({ key: request.key }, AT);
  assert.equal(fake.requests.length, count, 'an unknown key alone: nothing to address');
  await restarted.hangup({ key: request.key, callSid: worker }, AT);
  assert.deepEqual(fake.requests.at(-1), { method: 'POST', path: `/2010-04-01/Accounts/${fake.accountSid}/Calls/${worker}.json`, params: { Status: 'completed' } });
  await fake.settle();
  assert.equal(fake.call(worker).status, 'completed');
  // Again (at least once): Twilio's answer for a call that is over is taken as done.
  await restarted.hangup({ key: request.key, callSid: worker }, AT);
  await fake.hangup(caller);
});
