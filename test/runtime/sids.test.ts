/**
 * Workspace SIDs (src/runtime/sids.ts): scheme 1 counts event SIDs up under the workspace's own
 * digits and keeps every other SID random; scheme 0 is exactly the old random generator; a saved
 * state continues exactly; a workspace rebuilt after a crash or from a snapshot keeps making new,
 * ascending event SIDs that never collide with the stored ones.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testStoreOptions } from '../support/store.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { WorkspaceSids } from '../../src/runtime/sids.ts';
import { isSid, RandomSids, type SidPrefix } from '../../src/util/sid.ts';

const PREFIXES: SidPrefix[] = ['WT', 'EV', 'WR', 'EV', 'EV', 'WK', 'EV'];

test('scheme 1: event SIDs count up under the workspace SID digits; other SIDs stay random', () => {
  const sids = new WorkspaceSids(42, 1);
  const ws = sids.next('WS');
  assert.equal(ws, new RandomSids(42).next('WS'), 'the workspace SID is the random one');
  const made = Array.from({ length: 300 }, (_, i) => sids.next(PREFIXES[i % PREFIXES.length] as SidPrefix));
  const events = made.filter((s) => s.startsWith('EV'));
  assert.ok(made.every((s) => isSid(s)), 'every SID has the spec §1.1 shape');
  assert.ok(events.every((s) => s.slice(2, 18) === ws.slice(2, 18)), 'event SIDs carry the workspace digits');
  assert.deepEqual([...events].sort(), events, 'event SIDs ascend');
  assert.equal(new Set(made).size, made.length, 'no SID twice');
  const tasks = made.filter((s) => s.startsWith('WT'));
  assert.notEqual(tasks[0]?.slice(2, 18), tasks[1]?.slice(2, 18), 'task SIDs are not counted');
});

test('scheme 1 refuses an event SID before the workspace SID, and bad saved states', () => {
  assert.throws(() => new WorkspaceSids(1, 1).next('EV'), /before the workspace SID/);
  const random = new RandomSids(1).save();
  assert.throws(() => new WorkspaceSids(1, 1, random), /scheme 1 needs/);
  assert.throws(() => new WorkspaceSids(1, 0, { random, eventHead: '0'.repeat(16), events: 0 }), /scheme 0 needs/);
  assert.throws(() => new WorkspaceSids(1, 1, { random, eventHead: 'xyz', events: 0 }), /16 hex digits/);
  assert.throws(() => new WorkspaceSids(1, 2 as 1), /unknown SID scheme 2/);
});

test('scheme 0 is the random generator; a saved state continues exactly in both schemes', () => {
  const old = new WorkspaceSids(7, 0);
  const reference = new RandomSids(7);
  for (const p of PREFIXES) assert.equal(old.next(p), reference.next(p));
  for (const scheme of [0, 1] as const) {
    const a = new WorkspaceSids(9, scheme);
    a.next('WS');
    for (const p of PREFIXES) a.next(p);
    const b = new WorkspaceSids(9, scheme, JSON.parse(JSON.stringify(a.save())));
    for (let i = 0; i < 50; i++) {
      const p = PREFIXES[i % PREFIXES.length] as SidPrefix;
      assert.equal(b.next(p), a.next(p), `scheme ${scheme}, SID ${i}`);
    }
  }
});

test('a workspace rebuilt after a crash, and from a snapshot, goes on with new ascending event SIDs', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-sids-'));
  const rt = await Runtime.open({ ...testStoreOptions(dataDir), snapshotEvery: 1_000 });
  const account = await rt.createAccount('Acme');
  const ws = (await rt.createWorkspace(account.sid, { friendlyName: 'Support', template: 'FIFO' })).engine.workspace.sid;
  const createTasks = async (runtime: Runtime, n: number): Promise<string[]> => {
    const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => runtime.execute(ws, { type: 'createTask', attributes: JSON.stringify({ i }) })));
    assert.ok(outcomes.every((o) => o.rejection === null));
    return outcomes.flatMap((o) => o.events.map((e) => e.sid));
  };
  const first = await createTasks(rt, 20);
  assert.ok(first.every((s) => s.slice(2, 18) === ws.slice(2, 18)));

  // Crash (no close): the next process rebuilds from the command log and must not reuse a SID —
  // the events table's primary key would refuse the commit.
  const second = await Runtime.open({ ...testStoreOptions(dataDir), snapshotEvery: 1_000 });
  const afterCrash = await createTasks(second, 20);
  await second.close(); // takes a snapshot, with the generator's state; awaited: the checkpointer thread must let go of the file before the reopen
  const third = await Runtime.open(testStoreOptions(dataDir));
  assert.ok(((await third.store.loadWorkspaces())[0]?.snapshotSeq ?? 0) > 0, 'reopened from a snapshot');
  const afterSnapshot = await createTasks(third, 20);
  const all = [...first, ...afterCrash, ...afterSnapshot];
  assert.equal(new Set(all).size, all.length, 'no event SID twice');
  assert.ok((afterCrash[0] as string) > (first.at(-1) as string) && (afterSnapshot[0] as string) > (afterCrash.at(-1) as string), 'they keep ascending');
  await third.close();
});
