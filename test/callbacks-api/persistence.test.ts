/**
 * Persistence of the callbacks service (issue 5): one row per callback, written only when an
 * operation changed it; terminal callbacks pruned after the retention (docs/callbacks.md
 * "Retention"); a restart restores every callback exactly; a database written before migration
 * 0006 (callbacks inside the center JSON) still loads.
 */
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { dirname } from 'node:path';
import { afterEach, test } from 'node:test';
import type { CallbackRequest, CenterSnapshot } from '../../src/callbacks/center.ts';
import { queryTestDatabase, sqliteOnly } from '../support/store.ts';
import { startCbHarness, type CbHarness } from './harness.ts';

let h: CbHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const number = (i: number): string => `+1415555${String(1000 + i).padStart(4, '0')}`;

/** Every callback of the harness workspace, as plain JSON (what a restart must give back). */
function callbacks(x: CbHarness): CallbackRequest[] {
  return JSON.parse(JSON.stringify(x.service.host(x.account.sid, x.ws, false)?.center.listCallbacks() ?? [])) as CallbackRequest[];
}

async function target(x: CbHarness, config: Record<string, unknown>): Promise<string> {
  const res = await x.call('POST', `/v1/Workspaces/${x.ws}/CallTargets`, { TaskQueueSid: x.queueSid, Configuration: JSON.stringify(config) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.sid as string;
}

async function register(x: CbHarness, ct: string, i: number): Promise<string> {
  const res = await x.call('POST', `/v1/Workspaces/${x.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: number(i) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.sid as string;
}

/** Rows in callback_requests of the harness's database (either store). */
async function rowCount(x: CbHarness): Promise<number> {
  const [row] = await queryTestDatabase<{ n: number | string }>(dirname(x.databasePath), 'SELECT COUNT(*) AS n FROM callback_requests');
  return Number(row?.n);
}

test('an operation writes the callbacks it changed, not all of them; a restart restores every callback exactly', async () => {
  h = await startCbHarness();
  // A long minimum delay keeps the callbacks registered (nothing dials during the test).
  const ct = await target(h, { minimumCallbackDelaySeconds: 3000, maxRequestedCallbacks: 500 });
  const sids: string[] = [];
  for (let i = 0; i < 60; i++) sids.push(await register(h, ct, i));
  for (const sid of sids.slice(0, 10)) await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${sid}`, { Status: 'canceled' });
  await h.step(10);
  assert.equal(await rowCount(h), 60);

  // Canceling the last in line (nobody's position or ECBT moves): one callback row written, and
  // the workspace's small center row, whatever the total.
  const before = h.service.storeCounters;
  const res = await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${sids[59]}`, { Status: 'canceled' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const after = h.service.storeCounters;
  assert.equal(after.callbackRowsUpserted - before.callbackRowsUpserted, 1, 'only the canceled callback is written');
  assert.ok(after.stateRows - before.stateRows <= after.saves - before.saves, 'at most one center row per save');
  // A poll with nothing new writes nothing.
  const idle = h.service.storeCounters;
  await h.step(10);
  assert.deepEqual(h.service.storeCounters, idle);

  const expected = callbacks(h);
  assert.equal(expected.length, 60);
  await h.restart();
  assert.deepEqual(callbacks(h), expected, 'same callbacks, same order, same fields');
  // The restored center keeps working: a duplicate is still refused, a cancel still lands.
  const dup = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: number(40) });
  assert.equal(dup.status, 409, JSON.stringify(dup.body));
  assert.equal((await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${sids[41]}`, { Status: 'canceled' })).body.status, 'canceled');
});

test('terminal callbacks are pruned after the retention, on the center clock; pending ones stay', async () => {
  h = await startCbHarness({ terminalRetentionSeconds: 3600 });
  const ct = await target(h, { minimumCallbackDelaySeconds: 20_000, asapExpiryHours: 48 });
  const gone = await register(h, ct, 1);
  const kept = await register(h, ct, 2);
  await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${gone}`, { Status: 'canceled' });
  // Just inside the retention: still there.
  await h.step(3590 * 1000);
  assert.equal((await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${gone}`)).status, 200);
  const deletedBefore = h.service.storeCounters.callbackRowsDeleted;
  await h.step(20 * 1000);
  assert.equal((await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${gone}`)).status, 404);
  assert.equal(h.service.storeCounters.callbackRowsDeleted - deletedBefore, 1);
  assert.equal(await rowCount(h), 1);
  // The canceled callback's events stay in the event stream.
  const events = await h.client.taskrouter.v1.workspaces(h.ws).events.list({ eventType: 'callback.canceled', startDate: new Date(h.now() - 2 * 3_600_000) });
  assert.deepEqual(events.map((e) => e.resourceSid), [gone]);
  // The number is free again; the pending one is untouched, also after a restart.
  await h.restart();
  assert.equal((await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${gone}`)).status, 404);
  assert.equal((await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${kept}`)).body.status, 'registered');
  assert.deepEqual(callbacks(h).map((c) => c.sid), [kept]);
});

test('a database written before migration 0006 (callbacks inside the center row) loads every callback', { ...sqliteOnly('it rewrites the SQLite file to the schema of migration 0005 (PostgreSQL starts at the current schema)') }, async () => {
  h = await startCbHarness();
  const ct = await target(h, { minimumCallbackDelaySeconds: 3000 });
  for (let i = 0; i < 5; i++) await register(h, ct, i);
  const first = callbacks(h)[0]!.sid;
  await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${first}`, { Status: 'canceled' });
  const expected = callbacks(h);
  await h.restart((path) => {
    // Rewrite the file the way migration 0005 left it: the whole center in one row, no rows table.
    const db = new DatabaseSync(path);
    try {
      const row = db.prepare('SELECT workspace_sid, center FROM callback_state').get() as { workspace_sid: string; center: string };
      const center = JSON.parse(row.center) as CenterSnapshot;
      const bodies = db.prepare('SELECT body FROM callback_requests WHERE workspace_sid = ? ORDER BY rowid').all(row.workspace_sid) as { body: string }[];
      center.callbacks = bodies.map((b) => JSON.parse(b.body) as CallbackRequest);
      db.prepare('UPDATE callback_state SET center = ? WHERE workspace_sid = ?').run(JSON.stringify(center), row.workspace_sid);
      db.exec('DROP TABLE callback_requests');
      db.prepare('DELETE FROM schema_migrations WHERE version = 6').run();
    } finally {
      db.close();
    }
  });
  assert.deepEqual(callbacks(h), expected);
  assert.equal(await rowCount(h), 5, 'migration 0006 moved the callbacks to rows');
  const db = new DatabaseSync(h.databasePath, { readOnly: true });
  const center = JSON.parse((db.prepare('SELECT center FROM callback_state').get() as { center: string }).center) as CenterSnapshot;
  db.close();
  assert.deepEqual(center.callbacks, []);
});

test('one commit: the batch that writes reservation.completed also holds the callback launch it caused (no second transaction, no polling)', async () => {
  h = await startCbHarness();
  const ct = await target(h, { minimumCallbackDelaySeconds: 0 });
  const wsc = h.client.taskrouter.v1.workspaces(h.ws);
  // The only agent is busy with a call: the callback waits for a free agent (customer-first pacing).
  const task = await wsc.tasks.create({ workflowSid: h.workflowSid, taskChannel: 'voice', attributes: '{}' });
  const [reservation] = await wsc.tasks(task.sid).reservations.list({ reservationStatus: 'pending' });
  await wsc.tasks(task.sid).reservations(reservation!.sid).update({ reservationStatus: 'accepted' });
  const sid = await register(h, ct, 1);
  await h.step(1_000);
  assert.equal(callbacks(h).find((c) => c.sid === sid)?.status, 'registered', 'nobody free: not launched');

  // Every commit from now on, as the store receives it.
  const store = h.runtime.store;
  const commit = store.commit.bind(store);
  const batches: Array<{ engine: string[]; callbacks: string[]; callbackRows: string[] }> = [];
  store.commit = (records, onDurable, cores) => {
    batches.push({
      engine: records.flatMap((r) => r.events.map((e) => e.eventType)),
      callbacks: (cores?.events ?? []).map((e) => e.event.eventType),
      callbackRows: (cores?.callbackStates ?? []).flatMap((st) => st.changed.map((c) => `${c.sid} ${c.status}`)),
    });
    commit(records, onDurable, cores);
  };
  try {
    await wsc.tasks(task.sid).update({ assignmentStatus: 'completed', reason: 'handled' });
  } finally {
    store.commit = commit;
  }
  const completing = batches.filter((b) => b.engine.includes('reservation.completed'));
  assert.equal(completing.length, 1, JSON.stringify(batches));
  const [b] = completing;
  assert.ok(b!.callbacks.includes('callback.dialing'), `the launch is in the same commit: ${JSON.stringify(b)}`);
  assert.ok(b!.callbackRows.includes(`${sid} dialing`), 'with the callback row that holds the dial key');
  assert.equal(batches.length, 1, 'and no other transaction');
  // The dial leaves the process only once that commit is on disk: one key, dialed once.
  await h.step(10);
  assert.deepEqual(h.dialedKeys(), [`${sid}:1`]);
});
