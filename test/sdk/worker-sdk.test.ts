/**
 * The unmodified `twilio-taskrouter` worker SDK against the server (issue 15 item 2; spec
 * voice-worker-sdk-console.md B1–B4): connect, activity change, reservations accepted, rejected
 * with an activity, timed out and canceled, task wrap-up and complete, `closeExistingSessions`,
 * offline after disconnect, token expiry, and a worker token refused on another worker's
 * reservation. Virtual time (harness.ts): nothing waits on the wall clock.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSdkHarness, stopWorker, type SdkHarness } from './harness.ts';

let h: SdkHarness;
before(async () => {
  h = await startSdkHarness();
});
after(async () => {
  await h.close();
});

test('the SDK connects: init over the socket, then its worker, activities and channels over the envelope (ready)', async () => {
  const wk = await h.newWorker('Alice');
  const w = await h.connect(wk);
  assert.equal(w.sid, wk);
  assert.equal(w.workspaceSid, h.workspaceSid);
  assert.equal(w.accountSid, h.account.sid);
  assert.equal(w.activity.name, 'Offline');
  assert.deepEqual([...w.activities.values()].map((a) => a.name).sort(), ['Available', 'Offline', 'Unavailable']);
  assert.ok(w.channels.size >= 5);
  assert.equal(h.hub.connections(wk), 1);
  stopWorker(w);
});
