/**
 * Dials are outbox rows (issue 10 item 2; docs/api-callbacks.md "How the server runs the callback
 * core"): written in the transaction that launches the attempt, delivered to the telephony port by
 * the one dispatcher, taken durably before the port is called.
 *
 * - A crash between the commit and the delivery (the dispatcher stopped, the runtime closed: what is
 *   on disk is whole batches) re-delivers the dial after the restart with the SAME key, once — the
 *   restarted port is not told the pending key is in flight (it would ignore the real dial).
 * - A dial taken and never placed (a crash between the take and the port call) is never placed:
 *   the center times it out and retries under a new key.
 *
 * On both stores (test/support/store.ts), in virtual time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCbHarness, type CbHarness } from './harness.ts';
import type { DialPayload } from '../../src/runtime/outbox.ts';

const PHONE = '+14155550123';

async function callback(h: CbHarness, sid: string): Promise<{ status: string; attempts: { result: string | null; dial_key: string | null }[] }> {
  const r = await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${sid}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Steps the clock by `stepMs` (default 1 s) until the callback reaches `status` (at most `steps` steps). */
async function until(h: CbHarness, sid: string, status: string, steps = 30, stepMs = 1000): Promise<void> {
  for (let i = 0; i < steps; i++) {
    if ((await callback(h, sid)).status === status) return;
    await h.step(stepMs);
  }
  assert.fail(`callback ${sid} never reached ${status}: ${JSON.stringify(await callback(h, sid))}`);
}

/** A callback registered with the dispatcher stopped, launched into `dialing`: its dial row committed and not delivered. */
async function launchUndelivered(h: CbHarness): Promise<string> {
  await h.stopDispatcher();
  const ct = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid, MinimumCallbackDelay: '0' });
  assert.equal(ct.status, 201, JSON.stringify(ct.body));
  const reg = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.body.sid}/Callbacks`, { PhoneNumber: PHONE });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const sid = reg.body.sid as string;
  await until(h, sid, 'dialing');
  assert.deepEqual(h.dialedKeys(), [], 'committed, not delivered');
  return sid;
}

/** The workspace's undelivered dial rows. */
async function pendingDials(h: CbHarness): Promise<Array<{ id: number; key: string; attempts: number }>> {
  return (await h.runtime.store.outboxLane(h.ws, 'dial', 100)).map((r) => ({ id: r.id, key: (JSON.parse(r.payload) as DialPayload).key, attempts: r.attempts }));
}

test('a crash between the commit and the delivery: after the restart the dial goes out once, with the same key', async () => {
  const h = await startCbHarness();
  try {
    const sid = await launchUndelivered(h);
    assert.deepEqual((await pendingDials(h)).map((d) => d.key), [`${sid}:1`], 'the dial row is in the outbox with its key');

    await h.restart(undefined, { dispatcher: false });
    h.network.script(PHONE, ['ready']);
    h.startDispatcher();
    await until(h, sid, 'customer_waiting');
    assert.deepEqual(h.dialedKeys(), [`${sid}:1`], 'the same key, dialed once');
    assert.equal(h.network.duplicates, 0, 'the restarted port was not told the pending key was in flight');
    assert.deepEqual(await pendingDials(h), []);
    const c = await callback(h, sid);
    assert.equal(c.attempts.length, 1, 'no second attempt');

    // Another restart: the taken (delivered) dial is not delivered again.
    await h.restart();
    await h.step(5_000);
    assert.deepEqual(h.dialedKeys(), [`${sid}:1`]);
  } finally {
    await h.close();
  }
});

test('a dial taken and never placed (a crash between the take and the port call) is never placed: the center retries under a new key', async () => {
  const h = await startCbHarness();
  try {
    const sid = await launchUndelivered(h);
    const [row] = await pendingDials(h);
    assert.equal(row?.key, `${sid}:1`);
    // What the dispatcher does before it calls the port; the process dies right after.
    assert.equal(await h.runtime.store.takeOutbox(row.id, 1, h.now()), true);

    await h.restart(undefined, { dispatcher: false });
    h.network.script(PHONE, ['ready']);
    h.startDispatcher();
    await h.step(5_000);
    assert.deepEqual(h.dialedKeys(), [], 'the taken key is not dialed');
    assert.equal((await callback(h, sid)).status, 'dialing');
    // Ring timeout (30 s) + dialGraceSeconds (120 s): a telephony failure, retried as attempt 2
    // after the retry delay.
    await h.step((30 + 120 + 1) * 1000);
    assert.equal((await callback(h, sid)).status, 'retry_wait');
    await until(h, sid, 'customer_waiting', 120, 10_000);
    const c = await callback(h, sid);
    assert.equal(c.attempts[0]!.result, 'failed');
    assert.deepEqual(h.dialedKeys(), [`${sid}:2`], 'only the new key is dialed, once');
    assert.equal(h.network.duplicates, 0);
  } finally {
    await h.close();
  }
});
