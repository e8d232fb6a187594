/**
 * Outbox kinds delivered through `deliverers` (docs/webhooks.md "Other outbox kinds"): an
 * at-most-once deliverer that rejects (a port that threw before placing the call) is retried with
 * the backoff and jitter, under the same row and payload; a hang-up behind its dial waits for it.
 * Virtual time, the tests' store (test/support/store.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testStoreOptions } from '../support/store.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import type { OutboxDeliverer, OutboxDelivery } from '../../src/runtime/outbox.ts';
import { WebhookDispatcher, type DeliveryFailure } from '../../src/webhooks/dispatcher.ts';

test('a deliverer that throws is retried with backoff and jitter, same key; the hang-up of that key waits behind it', async () => {
  const scheduler = new VirtualScheduler();
  const runtime = await Runtime.open({ ...testStoreOptions(mkdtempSync(join(tmpdir(), 'switchboard-kinds-'))), scheduler });
  const account = await runtime.createAccount('Acme');
  const { engine } = await runtime.createWorkspace(account.sid, { friendlyName: 'W' });
  const ws = engine.workspace.sid;
  const t0 = scheduler.now();
  await new Promise<void>((resolve, reject) =>
    runtime.store.commit([], (e) => (e === null ? resolve() : reject(e)), {
      events: [],
      outbox: [
        { workspaceSid: ws, kind: 'dial', payload: JSON.stringify({ key: 'CB1:1' }), dueAt: t0 },
        { workspaceSid: ws, kind: 'hangup', payload: JSON.stringify({ key: 'CB1:1' }), dueAt: t0 },
        { workspaceSid: ws, kind: 'dial', payload: JSON.stringify({ key: 'CB2:1' }), dueAt: t0 },
      ],
      callbackStates: [],
    }),
  );
  const seen: Array<{ kind: string; key: string; at: number; attempts: number }> = [];
  let throws = 1;
  const orderKey = (d: OutboxDelivery): string => (JSON.parse(d.payload) as { key: string }).key;
  const dial: OutboxDeliverer = {
    destination: 'telephony',
    guarantee: 'at-most-once',
    orderKey,
    deliver: async (d) => {
      seen.push({ kind: d.kind, key: orderKey(d), at: scheduler.now() - t0, attempts: d.attempts });
      if (orderKey(d) === 'CB1:1' && throws-- > 0) throw new Error('the port is down');
    },
  };
  const hangup: OutboxDeliverer = { ...dial, guarantee: 'at-least-once' };
  const failures: DeliveryFailure[] = [];
  const dispatcher = new WebhookDispatcher(runtime, { scheduler, pollMs: 0, backoffMs: 1_000, random: () => 0.5, deliverers: { dial, hangup }, onDeliveryFailure: (f) => failures.push(f) });
  dispatcher.start();
  try {
    await scheduler.advance(10_000);
    assert.deepEqual(seen, [
      { kind: 'dial', key: 'CB1:1', at: 0, attempts: 0 },
      { kind: 'dial', key: 'CB2:1', at: 0, attempts: 0 },
      // 1 s backoff × (1 + 0.5 / 2) jitter
      { kind: 'dial', key: 'CB1:1', at: 1_250, attempts: 1 },
      { kind: 'hangup', key: 'CB1:1', at: 1_250, attempts: 0 },
    ]);
    assert.deepEqual(failures.map((f) => [f.kind, f.attempts, f.final]), [['dial', 1, false]]);
    assert.equal(await runtime.store.pendingOutbox(), 0);
  } finally {
    await dispatcher.stop();
    await runtime.close();
  }
});
