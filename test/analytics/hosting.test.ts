/**
 * The analytics core inside the runtime (src/runtime/analytics-hosting.ts): a failed commit leaves
 * no trace in the analytics (the workspace's projector goes back to its stored rows, and the next
 * write is counted once), a deleted workspace's analytics are gone and do not come back on a
 * restart, and the stored rows equal the projector's whole model after a run. Both stores.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness } from '../api/helpers.ts';
import { failCommits, queryTestDatabase, testStoreOptions } from '../support/store.ts';
import { Runtime } from '../../src/runtime/runtime.ts';

test('a failed commit leaves no analytics behind; the next write is counted once; a deleted workspace is forgotten', async () => {
  const h = await startHarness();
  try {
    const tr = h.client.taskrouter.v1;
    const ws = await tr.workspaces.create({ friendlyName: 'Rollback' });
    const w = tr.workspaces(ws.sid);
    const queue = await w.taskQueues.create({ friendlyName: 'Q', targetWorkers: '1==1' });
    const workflow = await w.workflows.create({ friendlyName: 'W', configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }) });
    const first = await w.tasks.create({ workflowSid: workflow.sid, attributes: '{"from":"+1"}' });
    const projector = () => h.runtime.analytics.projector(ws.sid);
    const before = projector().rows();
    assert.deepEqual(projector().conversations().map((c) => c.taskSid), [first.sid]);

    const full = await failCommits(h.runtime, h.dataDir);
    await h.clock.advance(1_000);
    const refused = await h.raw('POST', `/v1/Workspaces/${ws.sid}/Tasks`, { body: new URLSearchParams({ WorkflowSid: workflow.sid, Attributes: '{"from":"+2"}' }).toString() });
    assert.equal(refused.status, 503);
    assert.deepEqual(projector().rows(), before, 'the projector is back to its stored rows');
    await full.stop();

    await h.clock.advance(1_000);
    const second = await w.tasks.create({ workflowSid: workflow.sid, attributes: '{"from":"+3"}' });
    assert.deepEqual(projector().conversations().map((c) => [c.taskSid, c.customerId]), [[first.sid, '+1'], [second.sid, '+3']]);
    assert.equal(projector().engagements().queue.length, 2);

    // What is stored is the whole model, row for row.
    const stored = await queryTestDatabase<{ key: string; body: string }>(h.dataDir, "SELECT key, body FROM core_rows WHERE core = 'analytics' AND workspace_sid = ?", ws.sid);
    assert.deepEqual(new Map(stored.map((r) => [r.key, r.body])), new Map(projector().rows().map((r) => [r.key, r.body])));

    await w.remove();
    assert.deepEqual(h.runtime.analytics.projector(ws.sid).conversations(), [], 'forgotten on delete');
    await h.app.close();
    await h.runtime.close();
    const reopened = await Runtime.open({ ...testStoreOptions(h.dataDir), scheduler: h.scheduler });
    try {
      assert.deepEqual(reopened.analytics.projector(ws.sid).conversations(), [], 'a deleted workspace is not loaded again');
    } finally {
      await reopened.close();
    }
  } finally {
    await h.app.close();
    await h.runtime.close();
  }
});
