/**
 * A failed commit leaves nothing behind (issue 10 item 8): when the store cannot take a batch (a
 * full disk, injected inside the real transaction, which is then rolled back — SQLite: the store's
 * transaction hook; PostgreSQL: a trigger raising "No space left on device" on the commands table;
 * see test/support/store.ts `failCommits`), the callers get 503 with a Twilio-shaped body, the
 * workspace in memory goes back to what is on disk, and the next write after "space returns"
 * succeeds without a restart. Nothing acknowledged is lost.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness } from '../api/helpers.ts';
import { failCommits, testStoreOptions } from '../support/store.ts';
import { Runtime } from '../../src/runtime/runtime.ts';

test('disk full: refused writes answer 503 and are not visible; writes succeed again once space returns; nothing acknowledged is lost', async () => {
  const h = await startHarness();
  const ws = await h.client.taskrouter.v1.workspaces.create({ friendlyName: 'Full disk' });
  const wsc = h.client.taskrouter.v1.workspaces(ws.sid);
  const activities = await wsc.activities.list();
  const available = activities.find((a) => a.friendlyName === 'Available')!;
  const offline = activities.find((a) => a.friendlyName === 'Offline')!;
  const queue = await wsc.taskQueues.create({ friendlyName: 'Q', targetWorkers: '1==1' });
  const workflow = await wsc.workflows.create({ friendlyName: 'W', configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }) });
  const worker = await wsc.workers.create({ friendlyName: 'Ada', activitySid: offline.sid });
  const first = await wsc.tasks.create({ workflowSid: workflow.sid, attributes: '{"n":1}' });

  const engine = () => h.runtime.workspace(h.account.sid, ws.sid)!;
  const before = engine().snapshot();
  const full = await failCommits(h.runtime, h.dataDir);
  // A create and a worker update, refused: 503, code 20503, nothing applied.
  const create = await h.raw('POST', `/v1/Workspaces/${ws.sid}/Tasks`, { body: new URLSearchParams({ WorkflowSid: workflow.sid, Attributes: '{"n":2}' }).toString() });
  assert.equal(create.status, 503, JSON.stringify(create.body));
  assert.deepEqual(Object.keys(create.body as object).sort(), ['code', 'message', 'more_info', 'status']);
  assert.equal((create.body as { code: number }).code, 20503);
  await assert.rejects(wsc.workers(worker.sid).update({ activitySid: available.sid }), (e: { status?: number }) => e.status === 503);
  const refused = full.refused();
  if (refused !== null) assert.ok(refused >= 2, `${refused} commits refused`);
  assert.deepEqual(engine().snapshot(), before, 'memory is what is on disk');
  assert.deepEqual((await wsc.tasks.list()).map((t) => t.sid), [first.sid], 'the refused task is not listed');
  assert.equal((await wsc.workers(worker.sid).fetch()).activitySid, offline.sid);

  // Space returns: the next writes succeed without a restart.
  await full.stop();
  // Virtual time stands still unless moved: make `second` younger than `first`, as on the wall
  // clock, so that routing has one oldest task to offer (equal ages would tie).
  await h.clock.advance(1_000);
  const second = await wsc.tasks.create({ workflowSid: workflow.sid, attributes: '{"n":3}' });
  await wsc.workers(worker.sid).update({ activitySid: available.sid });
  const reserved = await wsc.tasks(first.sid).fetch();
  assert.equal(reserved.assignmentStatus, 'reserved', 'routing goes on');

  // Nothing acknowledged is lost, nothing refused appears after a restart.
  const expected = engine().snapshot();
  await h.app.close();
  await h.runtime.close();
  const reopened = await Runtime.open(testStoreOptions(h.dataDir));
  try {
    const again = reopened.workspace(h.account.sid, ws.sid)!;
    assert.deepEqual(again.snapshot(), expected);
    assert.deepEqual([...again.tasks.keys()].sort(), [first.sid, second.sid].sort());
  } finally {
    await reopened.close();
  }
});
