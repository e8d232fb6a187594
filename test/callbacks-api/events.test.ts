/**
 * Callback events in the workspace's event stream: listed by the Events resource (twilio
 * client) and sent to the workspace's event callback URL by the webhook dispatcher, with
 * `ResourceType=callback`; an `EventsFilter` may name callback event types (and only those named are sent).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { startCbHarness, type CbHarness } from './harness.ts';

let h: CbHarness;
let receiver: Server;
let dispatcher: WebhookDispatcher;
const received: Record<string, string>[] = [];

before(async () => {
  h = await startCbHarness();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => void (body += c.toString()));
    req.on('end', () => {
      received.push(Object.fromEntries(new URLSearchParams(body)));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  // The harness's dispatcher (on its virtual time, deliveries tracked) delivers the event
  // callbacks, as it delivers the dials: `settle()` returns once every event a command produced
  // has been delivered (no poll, no sleep).
  dispatcher = h.dispatcher as WebhookDispatcher;
});
after(async () => {
  await dispatcher.stop();
  await h.close();
  receiver.close();
});

test('callback.* events are in the Events resource and reach the event callback URL', async () => {
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
  await h.client.taskrouter.v1.workspaces(h.ws).update({ eventCallbackUrl: url });
  const ct = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid, Configuration: JSON.stringify({ minimumCallbackDelaySeconds: 600 }) })).body;
  const cb = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: '+14155550190' })).body;
  await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${cb.sid}`, { Status: 'canceled' });
  await h.scheduler.settle();
  assert.equal(await h.runtime.store.pendingOutbox(), 0, 'everything in the outbox was delivered');
  const ours = received.filter((r) => r['ResourceSid'] === cb.sid);
  assert.deepEqual(ours.map((r) => r['EventType']), ['callback.registered', 'callback.canceled']);
  assert.equal(ours[0]!['ResourceType'], 'callback');
  assert.equal(ours[0]!['WorkspaceSid'], h.ws);
  assert.equal(ours[0]!['AccountSid'], h.account.sid);
  const listed = await h.client.taskrouter.v1.workspaces(h.ws).events.list({ eventType: 'callback.canceled' });
  assert.deepEqual(listed.map((e) => e.resourceSid), [cb.sid]);
  const fetched = await h.client.taskrouter.v1.workspaces(h.ws).events(listed[0]!.sid).fetch();
  assert.equal(fetched.eventType, 'callback.canceled');
});

test('EventsFilter naming only a callback event type: only those events reach the event callback URL', async () => {
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/filtered`;
  const wsc = h.client.taskrouter.v1.workspaces(h.ws);
  // An unknown callback type is refused, naming the field; nothing changes.
  const bad = await h.call('POST', `/v1/Workspaces/${h.ws}`, { EventsFilter: 'callback.nope' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /EventsFilter.*callback\.nope/);
  const ws = await wsc.update({ eventCallbackUrl: url, eventsFilter: 'callback.canceled' });
  assert.equal(ws.eventsFilter, 'callback.canceled');
  // The queue's call target (created by the test above, or here when run alone).
  const listed = (await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets`)).body.call_targets as Array<{ sid: string }>;
  const ct = listed[0] ?? (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid, Configuration: JSON.stringify({ minimumCallbackDelaySeconds: 600 }) })).body;
  const first = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: '+14155550191' })).body;
  const second = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: '+14155550192' })).body;
  // Engine events too (a task is created and canceled): the filter keeps them out.
  const task = await wsc.tasks.create({ workflowSid: h.workflowSid, attributes: '{}' });
  await wsc.tasks(task.sid).update({ assignmentStatus: 'canceled' });
  await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${first.sid}`, { Status: 'canceled' });
  await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${second.sid}`, { Status: 'canceled' });
  const mine = () => received.filter((r) => r['ResourceSid'] === first.sid || r['ResourceSid'] === second.sid || r['ResourceSid'] === task.sid);
  // Quiet: every delivery set off has been answered and nothing is left in the outbox, so
  // nothing else is on its way (no "wait 200 ms for anything else").
  await h.scheduler.settle();
  assert.equal(await h.runtime.store.pendingOutbox(), 0, 'nothing left to deliver');
  assert.deepEqual(mine().map((r) => [r['ResourceSid'], r['EventType']]), [[first.sid, 'callback.canceled'], [second.sid, 'callback.canceled']]);
  // The events were still written (the Events resource lists every type).
  const registered = await wsc.events.list({ eventType: 'callback.registered' });
  assert.ok(registered.some((e) => e.resourceSid === first.sid));
});
