/**
 * A SIGKILL between deciding a worker's leg and its answer never places it twice (issue 12 item 3;
 * DESIGN.md rule 2). `switchboard serve` runs as a child process with Twilio telephony pointed at
 * a fake Twilio (test/support/fake-twilio.ts) on a fixed port: a caller holds in the seed flow,
 * the reservation gets `dequeue`, the fake receives the Calls API request for the agent's leg, and
 * the server is killed before the leg is answered. After a restart on the same data directory,
 * the agent answers: the fake's status callbacks and bridge request (carrying the leg's key) reach
 * the new process, which accepts the reservation and writes `worker_call_sid`. One Calls API
 * request in all, one line in the connect log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import twilio from 'twilio';
import { seedFlow } from '../../src/callflows/index.ts';
import { killServe, sleep, startServe, type ServeChild } from '../support/serve-child.ts';
import { startFakeTwilio } from '../support/fake-twilio.ts';
import { CENTER_NUMBER, HINDI_AGENT } from './support.ts';

const TOKEN = 'a'.repeat(32);

/** A port free now (the server takes it on both starts, so Twilio's callback URLs stay valid). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('SIGKILL after the agent leg was requested and before it answered: after a restart the bridge completes, one leg placed', { timeout: 120_000 }, async () => {
  const fake = await startFakeTwilio({ authToken: TOKEN });
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-voicecrash-'));
  const connectLog = join(dataDir, 'connects.jsonl');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    SWITCHBOARD_TELEPHONY: 'twilio',
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: TOKEN,
    SWITCHBOARD_TWILIO_API_BASE_URL: fake.baseUrl,
    SWITCHBOARD_CALLBACK_FROM: CENTER_NUMBER,
    SWITCHBOARD_CALLBACK_TWIML_URL: `${base}/unused`,
    SWITCHBOARD_CALLBACK_STATUS_URL: `${base}/telephony/twilio/status`,
    SWITCHBOARD_VOICE_CONNECT_LOG: connectLog,
  };
  const args = ['--port', String(port), '--public-base-url', base];
  let server: ServeChild = await startServe(dataDir, { firstStart: true, env, args });
  try {
    const { sid, token } = server.credentials!;
    const auth = `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`;
    const post = async (path: string, form: Record<string, string>): Promise<Record<string, unknown>> => {
      const res = await fetch(base + path, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
      const body = (await res.json()) as Record<string, unknown>;
      if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
      return body;
    };
    const client = twilio(sid, token);
    client.taskrouter.baseUrl = base;
    const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Voice crash' });
    const wsApi = client.taskrouter.v1.workspaces(ws.sid);
    const q = await wsApi.taskQueues.create({ friendlyName: 'Hindi', targetWorkers: 'languages HAS "hindi"' });
    const wf = await wsApi.workflows.create({ friendlyName: 'Incoming Customer Requests', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: q.sid } } }), taskReservationTimeout: 600 });
    const available = (await wsApi.activities.list()).find((a) => a.friendlyName === 'Available')!;
    await wsApi.workers.create({ friendlyName: 'Asha', activitySid: available.sid, attributes: JSON.stringify({ languages: ['hindi'], contact_uri: HINDI_AGENT }) });
    const flow = await post(`/v1/Workspaces/${ws.sid}/CallFlows`, { Definition: JSON.stringify(seedFlow(wf.sid)) });
    await post(`/v1/Workspaces/${ws.sid}/PhoneNumbers`, { PhoneNumber: CENTER_NUMBER, CallFlowSid: String(flow['sid']) });

    const caller = await fake.placeInboundCall({ from: '+919811112222', to: CENTER_NUMBER, voiceUrl: `${base}/voice/incoming`, statusCallbackUrl: `${base}/voice/status` });
    await fake.press(caller, '1');
    const [task] = await wsApi.tasks.list();
    const [r] = await wsApi.tasks(task!.sid).reservations.list();
    await wsApi.tasks(task!.sid).reservations(r!.sid).update({ instruction: 'dequeue', dequeueFrom: CENTER_NUMBER });
    const leg = await until('the agent leg', () => fake.outboundCalls()[0]);
    assert.equal(leg.to, HINDI_AGENT);

    await killServe(server);
    server = await startServe(dataDir, { firstStart: false, env, args });

    await fake.answer(leg.sid);
    await until('the reservation accepted', async () => ((await wsApi.tasks(task!.sid).reservations(r!.sid).fetch()).reservationStatus === 'accepted' ? true : undefined));
    const attrs = JSON.parse((await wsApi.tasks(task!.sid).fetch()).attributes) as Record<string, unknown>;
    assert.equal(attrs['worker_call_sid'], leg.sid);
    assert.equal(fake.call(caller).bridgedWith, leg.sid);
    assert.equal(fake.requestsTo('/Calls.json').length, 1, 'the agent leg was placed once');
    const lines = readFileSync(connectLog, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0]!) as { key: string }).key, `${r!.sid}:dequeue`);
  } finally {
    await killServe(server);
    await fake.close();
  }
});
