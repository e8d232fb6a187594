/** Call targets, the offer (Status) and registration checks over HTTP (spec callbacks-and-ewt §1.5, §4, §9.1, §9.2). */
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

test('call target CRUD: create bound to a task queue, fetch, list, update, delete; bad input names the field', async () => {
  const path = `/v1/Workspaces/${h.ws}/CallTargets`;
  const created = await h.call('POST', path, { FriendlyName: 'Support callbacks', TaskQueueSid: h.queueSid, Strategy: 'agent_first', MaxRequestedCallbacks: '3' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const ct = created.body;
  assert.match(ct.sid, /^CT[0-9a-f]{32}$/);
  assert.equal(ct.task_queue_sid, h.queueSid);
  assert.equal(ct.strategy, 'agent_first');
  assert.equal(ct.max_requested_callbacks, 3);
  assert.equal(ct.url, `${h.base}${path}/${ct.sid}`);
  assert.equal(ct.links.status, `${ct.url}/Status`);

  const fetched = await h.call('GET', `${path}/${ct.sid}`);
  assert.deepEqual(fetched.body, ct);
  const list = await h.call('GET', path);
  assert.deepEqual(list.body.call_targets.map((t: { sid: string }) => t.sid), [ct.sid]);
  assert.equal(list.body.meta.key, 'call_targets');

  const updated = await h.call('POST', `${path}/${ct.sid}`, { Strategy: 'customer_first', Configuration: JSON.stringify({ ringTimeoutSeconds: 40 }) });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.equal(updated.body.strategy, 'customer_first');
  assert.equal(updated.body.ring_timeout, 40);
  assert.equal(updated.body.max_requested_callbacks, 3, 'unset settings are kept');

  // The queue is bound 1:1.
  const second = await h.call('POST', path, { TaskQueueSid: h.queueSid });
  assert.equal(second.status, 400);
  assert.match(second.body.message, /already bound/);
  const badQueue = await h.call('POST', path, { TaskQueueSid: 'WQ' + '0'.repeat(32) });
  assert.equal(badQueue.status, 400);
  assert.match(badQueue.body.message, /TaskQueueSid/);
  const badConfig = await h.call('POST', `${path}/${ct.sid}`, { Configuration: JSON.stringify({ retry: { delaySeconds: { busy: -1 } } }) });
  assert.equal(badConfig.status, 400);
  assert.match(badConfig.body.message, /retry\.delaySeconds\.busy/);
  assert.equal((await h.call('GET', `${path}/${ct.sid}`)).body.ring_timeout, 40, 'a refused update changes nothing');

  // Another account cannot see it.
  const other = await h.runtime.createAccount('Other');
  assert.equal((await h.call('GET', `${path}/${ct.sid}`, undefined, [other.sid, other.secret])).status, 404);
  assert.equal((await h.call('GET', `${path}/${ct.sid}`, undefined, null)).status, 401);

  assert.equal((await h.call('DELETE', `${path}/${ct.sid}`)).status, 204);
  assert.equal((await h.call('GET', `${path}/${ct.sid}`)).status, 404);
  assert.deepEqual((await h.call('GET', path)).body.call_targets, []);
});

test('offer, E.164 validation, DuplicateRequest, and max pending → display_ewt_only', async () => {
  const path = `/v1/Workspaces/${h.ws}/CallTargets`;
  // A fresh queue for this target (the first test's queue stays bound to its deleted target).
  const q = await h.client.taskrouter.v1.workspaces(h.ws).taskQueues.create({ friendlyName: 'Offers', targetWorkers: '1==2' });
  const ct = (await h.call('POST', path, { TaskQueueSid: q.sid, MaxRequestedCallbacks: '2', OfferMinEwt: '0', Configuration: JSON.stringify({ minimumCallbackDelaySeconds: 600 }) })).body;
  const status = await h.call('GET', `${path}/${ct.sid}/Status`);
  assert.equal(status.status, 200, JSON.stringify(status.body));
  assert.ok(['offer_callback', 'offer_asap_callback', 'display_ewt_only', 'offer_scheduled_callback', 'platform_unavailable'].includes(status.body.widget_state));
  assert.equal(typeof status.body.offer_asap, 'boolean');
  assert.equal(status.body.pending_callbacks, 0);

  const reg = (n: string) => h.call('POST', `${path}/${ct.sid}/Callbacks`, { PhoneNumber: n, Context: JSON.stringify({ reason: 'billing' }) });
  const bad = await reg('12ab');
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /^InvalidContact: PhoneNumber/);
  const missing = await h.call('POST', `${path}/${ct.sid}/Callbacks`, {});
  assert.equal(missing.status, 400);
  assert.match(missing.body.message, /^ContactRequired/);
  const badContext = await h.call('POST', `${path}/${ct.sid}/Callbacks`, { PhoneNumber: '+14155550100', Context: '[1]' });
  assert.equal(badContext.status, 400);
  assert.match(badContext.body.message, /Context/);

  const first = await reg('+1 (415) 555-0101');
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.equal(first.body.phone_number, '+14155550101');
  assert.equal(first.body.status, 'registered');
  assert.equal(first.body.context.reason, 'billing');
  assert.ok(first.body.ecbt >= 600, 'the minimum delay is in the ECBT');
  const dup = await reg('+14155550101');
  assert.equal(dup.status, 409);
  assert.equal(dup.body.code, 20409);
  assert.match(dup.body.message, /^DuplicateRequest/);
  assert.equal((await reg('+14155550102')).status, 201);

  const full = await h.call('GET', `${path}/${ct.sid}/Status`);
  assert.equal(full.body.widget_state, 'display_ewt_only');
  assert.equal(full.body.pending_callbacks, 2);
  const refused = await reg('+14155550103');
  assert.equal(refused.status, 403);
  assert.match(refused.body.message, /^RequestRefusedDueToOperationMode/);

  const list = await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks`, { CallTargetSid: ct.sid, Status: 'registered' });
  assert.equal(list.body.callbacks.length, 2);
  const badFilter = await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks`, { Status: 'nope' });
  assert.equal(badFilter.status, 400);

  // The callback events are in the workspace's event stream.
  const events = await h.client.taskrouter.v1.workspaces(h.ws).events.list({ eventType: 'callback.registered' });
  assert.equal(events.length, 2);
  assert.equal(events[0]!.resourceType, 'callback');
});

test('callback lists page with meta and the twilio-style cursor', async () => {
  const q = await h.client.taskrouter.v1.workspaces(h.ws).taskQueues.create({ friendlyName: 'Paging', targetWorkers: '1==2' });
  const ct = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: q.sid, Configuration: JSON.stringify({ minimumCallbackDelaySeconds: 900 }) })).body;
  const sids: string[] = [];
  for (let i = 0; i < 5; i++) sids.push((await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: `+1415555030${i}` })).body.sid);
  const first = await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PageSize: '2' });
  assert.deepEqual(first.body.callbacks.map((c: { sid: string }) => c.sid), sids.slice(0, 2));
  assert.ok(first.body.meta.next_page_url.startsWith(`${h.base}/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks?`));
  const next = await fetch(first.body.meta.next_page_url, { headers: { authorization: `Basic ${Buffer.from(`${h.account.sid}:${h.account.secret}`).toString('base64')}` } });
  const body = (await next.json()) as { callbacks: { sid: string }[] };
  assert.deepEqual(body.callbacks.map((c) => c.sid), sids.slice(2, 4));
  assert.equal((await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks`, { PageSize: '0' })).status, 400);
});

test('offer with callers holding and the only agent busy: ASAP on voice, ASAP and scheduled on api, EWT from QLm, phrases', async () => {
  const wsc = h.client.taskrouter.v1.workspaces(h.ws);
  const ct = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid, OfferMinEwt: '60' })).body;
  const quiet = (await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Status`)).body;
  assert.equal(quiet.estimated_wait_time, 0, 'an idle agent: no wait');
  assert.equal(quiet.widget_state, 'display_ewt_only');
  assert.equal(quiet.reason, 'ewt_below_threshold');
  const tasks = [];
  for (let i = 0; i < 4; i++) tasks.push(await wsc.tasks.create({ workflowSid: h.workflowSid, taskChannel: 'voice', attributes: JSON.stringify({ n: i }) }));
  const reserved = await wsc.tasks(tasks[0]!.sid).reservations.list();
  await wsc.tasks(tasks[0]!.sid).reservations(reserved[0]!.sid).update({ reservationStatus: 'accepted' });
  const busy = (await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Status`)).body;
  // 3 callers waiting, 1 busy agent, AHT 180 s before any service: (3 + 1) × 180 s = 720 s.
  assert.equal(busy.estimated_wait_time, 720, JSON.stringify((await wsc.tasks.list()).map((t) => [t.assignmentStatus, t.taskQueueSid === h.queueSid])));
  assert.equal(busy.wait_phrase, 'more than 10 minutes');
  // Voice: scheduled callbacks are not offered by default (offer.scheduledVoice false).
  assert.equal(busy.widget_state, 'offer_asap_callback', JSON.stringify(busy));
  assert.equal(busy.offer_asap, true);
  assert.deepEqual(busy.scheduled_timeslots, []);
  assert.equal(typeof busy.ewt, 'number');
  assert.ok(busy.ewt < busy.estimated_wait_time, 'the callback jumps the live line (return priority 5)');
  assert.match(busy.ecbt_phrase, /^between \d+ and \d+ minutes$/);
  // A caller already holding (TaskSid) is quoted the replay's default predictor, as predicted when
  // the service saw the task enter the queue (cold here: no service seen yet, so the predictor's
  // fallback, Twilio's average acceptance time, 0 s); an unknown task gets the QLm estimate.
  await h.step(0);
  const host = h.service.host(h.account.sid, h.ws, false)!;
  for (const t of tasks.slice(1)) {
    const predicted = host.predictions.get(t.sid);
    assert.ok(predicted !== undefined && predicted >= 0, `a prediction for ${t.sid}`);
    const holding = (await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Status`, { TaskSid: t.sid })).body;
    assert.equal(holding.estimated_wait_time, Math.round(predicted));
  }
  assert.equal(host.predictions.has(tasks[0]!.sid), false, 'an accepted task has no quote');
  const unknown = (await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Status`, { TaskSid: 'WT' + '0'.repeat(32) })).body;
  assert.equal(unknown.estimated_wait_time, 720);
  const badTask = await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Status`, { TaskSid: 'nope' });
  assert.equal(badTask.status, 400);
  assert.match(badTask.body.message, /TaskSid/);
  const api = (await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Status`, { Channel: 'api' })).body;
  assert.equal(api.widget_state, 'offer_callback');
  assert.equal(api.scheduled_timeslots.length, 8);
  assert.equal(api.scheduled_timeslots[0] % (15 * 60), 0, 'slot starts, UTC Unix seconds');
  assert.equal((await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Status`, { Channel: 'fax' })).status, 400);
  for (const t of tasks) await wsc.tasks(t.sid).update({ assignmentStatus: 'canceled', reason: 'test over' }).catch(() => undefined);
});
