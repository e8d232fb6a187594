/**
 * Crash-restart of the callbacks service (DESIGN.md rule 2; issue 5 "crash-restart in the middle
 * of a scheduled callback: nothing lost, nothing dialed twice"). `switchboard serve` runs as a
 * child process with the simulated telephone network, which logs every dial to a file. Two
 * callbacks are pending when the server is SIGKILLed: one waits to retry, one has a dial in
 * flight (the restarted network never reports it: the center times it out and retries with a
 * NEW key). After a restart on the same data dir both complete through a worker using the
 * official twilio client; no key was dialed twice, and every attempt's key is in the log once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import twilio from 'twilio';
import { killServe, sleep, startServe, type ServeChild } from '../support/serve-child.ts';

const A = '+14155550171';
const B = '+14155550172';

/** The server with the simulated telephone network, logging every dial to `dialLog`. */
function startServer(dataDir: string, dialLog: string, firstStart: boolean): Promise<ServeChild> {
  const env = {
    ...process.env,
    SWITCHBOARD_TELEPHONY: 'simulated',
    SWITCHBOARD_CALLBACK_HOLD_UNTIL_QUOTE: '0',
    SWITCHBOARD_CALLBACK_DIAL_GRACE_SECONDS: '1',
    SWITCHBOARD_CALLBACK_DIAL_LOG: dialLog,
    // Both numbers ring out on their first attempt (in each process); then every call is answered and ready.
    SWITCHBOARD_SIM_NETWORK: JSON.stringify({ seed: 3, answerRate: 1, voicemailRate: 0, busyRate: 0, readyRate: 1, ringMinSeconds: 1, ringMaxSeconds: 1, promptSeconds: 1, script: { [A]: ['no_answer'], [B]: ['no_answer'] } }),
  };
  return startServe(dataDir, { firstStart, env });
}

test('SIGKILL with one callback in retry_wait and one dial in flight: after restart both complete, no key dialed twice', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-cbcrash-'));
  const dialLog = join(dataDir, 'dials.jsonl');
  let server = await startServer(dataDir, dialLog, true);
  const { sid: accountSid, token } = server.credentials!;
  const call = async (base: string, method: string, path: string, form?: Record<string, string>) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Basic ${Buffer.from(`${accountSid}:${token}`).toString('base64')}`, ...(form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form === undefined ? undefined : new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  try {
    const client = twilio(accountSid, token);
    client.taskrouter.baseUrl = server.base;
    const w = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Crash' });
    const wsc = client.taskrouter.v1.workspaces(w.sid);
    const available = (await wsc.activities.list()).find((a) => a.friendlyName === 'Available')!;
    const queue = await wsc.taskQueues.create({ friendlyName: 'Support', targetWorkers: '1==1' });
    await wsc.workers.create({ friendlyName: 'Agent', activitySid: available.sid });
    await wsc.workers.create({ friendlyName: 'Agent 2', activitySid: available.sid });
    const ct = await call(server.base, 'POST', `/v1/Workspaces/${w.sid}/CallTargets`, {
      TaskQueueSid: queue.sid,
      MinimumCallbackDelay: '0',
      Configuration: JSON.stringify({ ringTimeoutSeconds: 5, retry: { maxRetries: 4, delaySeconds: { noAnswer: 3, busy: 3 } } }),
    });
    assert.equal(ct.status, 201, JSON.stringify(ct.body));
    const register = async (n: string) => (await call(server.base, 'POST', `/v1/Workspaces/${w.sid}/CallTargets/${String(ct.body['sid'])}/Callbacks`, { PhoneNumber: n })).body['sid'] as string;
    const status = async (sid: string) => (await call(server.base, 'GET', `/v1/Workspaces/${w.sid}/Callbacks/${sid}`)).body;
    const a = await register(A);
    // B is registered while A's first attempt rings, so B dials when A waits to retry.
    await sleep(3_500);
    const b = await register(B);
    let sa = await status(a);
    let sb = await status(b);
    for (let i = 0; i < 60 && !(sa['status'] === 'retry_wait' && sb['status'] === 'dialing'); i++) {
      await sleep(100);
      [sa, sb] = [await status(a), await status(b)];
    }
    assert.equal(sa['status'], 'retry_wait', JSON.stringify(sa));
    assert.equal(sb['status'], 'dialing', JSON.stringify(sb));
    const dialsBefore = readFileSync(dialLog, 'utf8').trim().split('\n').length;
    await killServe(server);

    server = await startServer(dataDir, dialLog, false);
    client.taskrouter.baseUrl = server.base;
    // Nothing lost: both callbacks are still there, not terminal.
    for (const sid of [a, b]) assert.ok(!['completed', 'failed', 'canceled', 'expired'].includes(String((await status(sid))['status'])));
    // Serve both: accept reservations and complete tasks until both are completed.
    const done = new Set<string>();
    const deadline = Date.now() + 60_000;
    while (done.size < 2 && Date.now() < deadline) {
      for (const t of await wsc.tasks.list({ assignmentStatus: ['reserved'] })) {
        for (const r of await wsc.tasks(t.sid).reservations.list({ reservationStatus: 'pending' })) await wsc.tasks(t.sid).reservations(r.sid).update({ reservationStatus: 'accepted' });
      }
      for (const t of await wsc.tasks.list({ assignmentStatus: ['assigned'] })) {
        const cb = (JSON.parse(t.attributes) as { callback_sid?: string }).callback_sid;
        if (cb !== undefined && (await status(cb))['status'] === 'agent_connected') await wsc.tasks(t.sid).update({ assignmentStatus: 'completed', reason: 'handled' });
      }
      for (const sid of [a, b]) if ((await status(sid))['status'] === 'completed') done.add(sid);
      await sleep(250);
    }
    const final = [await status(a), await status(b)];
    for (const f of final) assert.equal(f['status'], 'completed', JSON.stringify(f));
    assert.ok(existsSync(dialLog));
    const keys = readFileSync(dialLog, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
    assert.ok(keys.length > dialsBefore, 'dials continued after the restart');
    assert.equal(new Set(keys).size, keys.length, `no key dialed twice: ${keys.join(', ')}`);
    for (const f of final) {
      const attemptKeys = (f['attempts'] as { dial_key: string | null; result: string | null }[]).map((x) => x.dial_key).filter((k): k is string => k !== null);
      assert.deepEqual(keys.filter((k) => k.startsWith(`${String(f['sid'])}:`)).sort(), attemptKeys.sort(), 'every dialed key is an attempt of the callback, once');
    }
    // B's in-flight attempt was lost with the process: it ended as a telephony failure, not re-dialed.
    const bAttempts = final[1]!['attempts'] as { result: string | null }[];
    assert.ok(bAttempts.length >= 2);
  } finally {
    await killServe(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
