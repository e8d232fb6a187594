/** The Mindful-compatible aliases (spec callbacks-and-ewt §1.5, §3.2): widget status, request_callback, agentAnswer. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCbHarness, type CbHarness } from './harness.ts';

let h: CbHarness;
before(async () => {
  h = await startCbHarness();
});
after(async () => {
  await h.close();
});

async function json(method: string, path: string, body?: unknown, auth: [string, string] | null = [h.account.sid, h.account.secret]): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (auth !== null) headers['authorization'] = `Basic ${Buffer.from(`${auth[0]}:${auth[1]}`).toString('base64')}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(h.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('widget status, request_callback (ASAP and scheduled, user_data filtered), Mindful-shaped errors, agentAnswer', async () => {
  const tpl = (await h.call('POST', `/v1/Workspaces/${h.ws}/DataSetTemplates`, { FriendlyName: 'W', DataKeys: 'AccNum' })).body;
  const ct = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid, Strategy: 'agent_first', MinimumCallbackDelay: '0', DatastoreTemplateSid: tpl.sid })).body;
  const status = await json('GET', `/api/widget/${ct.sid}`);
  assert.equal(status.status, 200, JSON.stringify(status.body));
  assert.deepEqual(Object.keys(status.body).sort(), ['ewt', 'message', 'offer_asap', 'offer_scheduled', 'scheduled_timeslots', 'widget_state']);
  assert.equal((await json('GET', `/api/widget/${ct.sid}`, undefined, null)).status, 401);
  const other = await h.runtime.createAccount('Other');
  const hidden = await json('GET', `/api/widget/${ct.sid}`, undefined, [other.sid, other.secret]);
  assert.equal(hidden.status, 404);
  assert.equal(hidden.body['error'], 'NotFound');

  const asap = await json('POST', `/api/widget/${ct.sid}/request_callback`, { contact_number: '+1 415-555-0181', user_data: { AccNum: '7', Secret: 'x' }, channel: 'web' });
  assert.equal(asap.status, 200, JSON.stringify(asap.body));
  assert.equal(asap.body['status'], 'success');
  assert.match(String(asap.body['callback_request_id']), /^CB/);
  assert.equal(typeof asap.body['ewt'], 'number');
  const cb = (await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${String(asap.body['callback_request_id'])}`)).body;
  assert.deepEqual(cb.context, { AccNum: '7' }, 'keys outside the template are dropped');
  assert.equal(cb.channel, 'web');
  const dup = await json('POST', `/api/widget/${ct.sid}/request_callback`, { contact_number: '+14155550181' });
  assert.equal(dup.status, 409);
  assert.equal(dup.body['error'], 'DuplicateRequest');
  const bad = await json('POST', `/api/widget/${ct.sid}/request_callback`, { contact_number: 'nope' });
  assert.equal(bad.body['error'], 'InvalidContact');
  const slot = 15 * 60;
  const at = Math.ceil((h.now() / 1000 + 3600) / slot) * slot;
  const scheduled = await json('POST', `/api/widget/${ct.sid}/request_callback`, { contact_number: '+14155550182', appointment_time: at });
  assert.equal(scheduled.status, 200, JSON.stringify(scheduled.body));
  assert.equal(scheduled.body['appointment_time'], at);

  // The agent-first task is offered; an agentAnswer for the number acknowledges it.
  let c = cb;
  for (let i = 0; i < 20 && c.reservation_sid === null; i++) {
    await h.step(200);
    c = (await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${cb.sid}`)).body;
  }
  const ack = await json('POST', '/v2/callback/agentAnswer', { data: { ani: '+14155550181', metadata: { agentId: 'a1', queueId: h.queueSid } } });
  assert.equal(ack.status, 200, JSON.stringify(ack.body));
  assert.equal(ack.body['callback_request_id'], cb.sid);
  const missing = await json('POST', '/v2/callback/agentAnswer', { data: {} });
  assert.equal(missing.body['error'], 'ContactRequired');
});
