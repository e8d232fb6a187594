/** Datastore (spec callbacks-and-ewt §5, acceptance test §9.7). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Datastore, type DatastoreOptions } from '../../src/callbacks/datastore.ts';
import { CallbackError } from '../../src/callbacks/errors.ts';
import { Random } from '../../src/util/random.ts';

const T0 = 1_704_110_400_000;
const H = 3_600_000;

function options(seed = 1): DatastoreOptions {
  const r = new Random(seed);
  let n = 0;
  return {
    newToken: () => Array.from({ length: 8 }, () => r.nextUint32().toString(16).padStart(8, '0')).join(''),
    newSid: () => `DT${String(++n).padStart(32, '0')}`,
    hashToken: (token) => createHash('sha256').update(token).digest('hex'),
  };
}

const code = (c: string) => (e: unknown) => e instanceof CallbackError && e.code === c;

test('§9.7: POST then GET with the same raw number returns the KVPs; unknown keys dropped; bad token → InvalidToken', () => {
  const ds = new Datastore(options());
  const t = ds.createTemplate({ name: 'Banking', keys: ['FirstName', 'AccNum'], timeToExpireHours: 2 }, T0);
  assert.match(t.token, /^[0-9a-f]{64}$/);
  const { response, dropped } = ds.submit(t.token, { customer_contact_number: '(415) 555-0101'.replace('(', '+1 ('), data_values: { FirstName: 'Ada', AccNum: '42', Secret: 'x' } }, T0);
  assert.deepEqual(dropped, ['Secret']);
  assert.equal(response['data_set_template_id'], t.sid);
  assert.equal(response['time_to_expire'], 2);
  assert.equal(response['Secret'], undefined);
  const got = ds.search(t.token, '+1 (415) 555-0101', T0 + 1000);
  assert.deepEqual(got, { customer_contact_number: '+1 (415) 555-0101', ani: null, ecbt: null, FirstName: 'Ada', AccNum: '42' });
  // the normalized form finds it as well
  assert.equal(ds.search(t.token, '+14155550101', T0 + 1000)['AccNum'], '42');
  assert.throws(() => ds.search('not-a-token', '+14155550101', T0), code('InvalidToken'));
  assert.equal(ds.ownsToken(t.token), true);
  assert.equal(ds.ownsToken('not-a-token'), false);
  assert.equal(Datastore.restore(ds.snapshot(), options(2)).ownsToken(t.token), true);
  assert.throws(() => ds.submit('not-a-token', { customer_contact_number: '+14155550101', data_values: {} }, T0), code('InvalidToken'));
  assert.throws(() => ds.search(t.token, 'abc', T0), code('InvalidContact'));
  assert.throws(() => ds.search(t.token, '+14155550199', T0), code('NotFound'));
});

test('the token is shown once and kept only as its hash: the state does not hold it, and a state saved before hashing is hashed on restore', () => {
  const ds = new Datastore(options());
  const t = ds.createTemplate({ name: 'Banking', keys: ['A'] }, T0);
  const state = JSON.stringify(ds.snapshot());
  assert.equal(state.includes(t.token), false, 'the clear token is nowhere in the saved state');
  assert.equal((ds.getTemplate(t.sid) as unknown as Record<string, unknown>)['token'], undefined, 'nor in a fetched template');
  assert.equal(ds.ownsToken(t.token), true);
  // A template saved with its token in clear (before this change) still authenticates, and its
  // restored state holds the hash only.
  const legacy = JSON.parse(state) as { templates: Array<Record<string, unknown>> };
  delete legacy.templates[0]!['tokenHash'];
  legacy.templates[0]!['token'] = t.token;
  const back = Datastore.restore(legacy as never, options(2));
  assert.equal(back.ownsToken(t.token), true);
  assert.equal(JSON.stringify(back.snapshot()).includes(t.token), false);
  assert.deepEqual(back.snapshot(), JSON.parse(state));
});

test('upsert per (template, number): later values replace earlier ones, others stay', () => {
  const ds = new Datastore(options());
  const t = ds.createTemplate({ name: 'x', keys: ['A', 'B'] }, T0);
  ds.submit(t.token, { customer_contact_number: '+14155550101', data_values: { A: '1', B: '2' } }, T0);
  ds.submit(t.token, { customer_contact_number: '14155550101', data_values: { B: '3' } }, T0 + 1000);
  assert.equal(ds.size, 1);
  const got = ds.search(t.token, '+14155550101', T0 + 2000);
  assert.equal(got['A'], '1');
  assert.equal(got['B'], '3');
});

test('expiry after the retention: not returned and really deleted; a registered callback extends it by its ECBT', () => {
  const ds = new Datastore(options());
  const t = ds.createTemplate({ name: 'x', keys: ['A'], timeToExpireHours: 1 }, T0);
  ds.submit(t.token, { customer_contact_number: '+14155550101', data_values: { A: '1' } }, T0);
  ds.submit(t.token, { customer_contact_number: '+14155550102', data_values: { A: '2' } }, T0);
  ds.noteCallback('+14155550102', 1800, T0 + 60_000);
  assert.equal(ds.search(t.token, '+14155550101', T0 + H - 1)['A'], '1');
  assert.throws(() => ds.search(t.token, '+14155550101', T0 + H), code('NotFound'));
  assert.deepEqual(ds.contextFor(t.sid, '+14155550101', T0 + H), {});
  // the callback's data set lives ECBT longer and shows the ECBT
  const kept = ds.search(t.token, '+14155550102', T0 + H + 60_000);
  assert.equal(kept['ecbt'], 1800);
  assert.deepEqual(ds.contextFor(t.sid, '+14155550102', T0 + H), { A: '2' });
  assert.equal(ds.size, 1, 'the expired set is gone from storage, not just hidden');
  assert.equal(ds.sweep(T0 + 60_000 + (1800 + 3600) * 1000), 1);
  assert.equal(ds.size, 0);
  assert.equal(JSON.stringify(ds.snapshot()).includes('"A":"1"'), false);
});

test("one template's token cannot read or write another's data", () => {
  const ds = new Datastore(options());
  const a = ds.createTemplate({ name: 'a', keys: ['A'] }, T0);
  const b = ds.createTemplate({ name: 'b', keys: ['A', 'B'] }, T0);
  assert.notEqual(a.token, b.token);
  ds.submit(a.token, { customer_contact_number: '+14155550101', data_values: { A: 'from-a' } }, T0);
  assert.throws(() => ds.search(b.token, '+14155550101', T0), code('NotFound'));
  ds.submit(b.token, { customer_contact_number: '+14155550101', data_values: { A: 'from-b', B: 'b' } }, T0);
  assert.equal(ds.search(a.token, '+14155550101', T0)['A'], 'from-a');
  assert.equal(ds.search(a.token, '+14155550101', T0)['B'], undefined);
  assert.equal(ds.search(b.token, '+14155550101', T0)['A'], 'from-b');
});

test('template validation names the field; snapshot round trip', () => {
  const ds = new Datastore(options());
  const field = (f: string) => (e: unknown) => e instanceof CallbackError && e.code === 'InvalidParameters' && e.field === f;
  assert.throws(() => ds.createTemplate({ name: 'x', keys: ['A'], timeToExpireHours: 49 }, T0), field('timeToExpireHours'));
  assert.throws(() => ds.createTemplate({ name: 'x', keys: ['A'], timeToExpireHours: 0.5 }, T0), field('timeToExpireHours'));
  assert.throws(() => ds.createTemplate({ name: 'x', keys: ['9x'] }, T0), field('keys[0]'));
  assert.throws(() => ds.createTemplate({ name: '', keys: ['A'] }, T0), field('name'));
  const t = ds.createTemplate({ name: 'x', keys: ['A'] }, T0);
  assert.throws(() => ds.submit(t.token, { customer_contact_number: '+14155550101', data_values: { A: 5 } }, T0), field('data_values.A'));
  ds.submit(t.token, { customer_contact_number: '+14155550101', data_values: { A: 'v' } }, T0);
  const s = JSON.stringify(ds.snapshot());
  const back = Datastore.restore(JSON.parse(s), options(2));
  assert.equal(JSON.stringify(back.snapshot()), s);
  assert.equal(back.search(t.token, '+14155550101', T0)['A'], 'v');
});

test('the return task carries the stored context of the callback number (driver merge, §5)', async () => {
  const { world } = await import('./helpers.ts');
  const { CallbackDriver } = await import('../../src/sim/callback-driver.ts');
  const ds = new Datastore(options());
  const t = ds.createTemplate({ name: 'ctx', keys: ['FirstName', 'AccNum'] }, T0);
  ds.submit(t.token, { customer_contact_number: '+14155550101', data_values: { FirstName: 'Ada', AccNum: '7', Other: 'x' } }, T0);
  const w = world({ target: { datastoreTemplateSid: t.sid } });
  const driver = new CallbackDriver({ engine: w.engine, center: w.center, network: w.network, datastore: ds, agents: { onReservation: () => ({ action: 'accept', afterSeconds: 1 }), handleSeconds: () => 30 } });
  w.network.script('+14155550101', ['ready']);
  const c = driver.register({ callTargetSid: w.targetSid, phoneNumber: '+14155550101', context: { AccNum: '8' } });
  driver.runFor(3600);
  const created = driver.engineEvents.find((e) => e.eventType === 'task.created');
  assert.deepEqual(JSON.parse(created?.data['task_attributes'] as string).context, { FirstName: 'Ada', AccNum: '8' });
  assert.equal(w.center.getCallback(c.sid)?.status, 'completed');
});
