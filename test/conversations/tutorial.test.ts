/**
 * The inactivity timeout, both ways (issue 13, "What it must show"), on the real server (runtime,
 * store, HTTP API, outbox dispatcher) in virtual time:
 *
 * 1. The original tutorial's server code (tutorial-client.ts: only the official `twilio` client and
 *    an HTTP server): an agent accepts a chat task, the event callback creates the scoped webhook
 *    and the timer, no message for a minute, the task is completed, the customer's conversation
 *    gets the message, and the conversation is closed.
 * 2. The built-in policy, with no client code at all.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import twilio from 'twilio';
import { buildApp } from '../../src/api/app.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { conversationWebhookDeliverer } from '../../src/webhooks/conversation-webhooks.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { PostClient } from '../../src/webhooks/http-post.ts';
import { testStoreOptions } from '../support/store.ts';
import { startTutorialClient } from './tutorial-client.ts';
import { SimulatedMessagingNetwork } from '../../src/messaging/simulated-messaging.ts';

const CUSTOMER = '+14155550111';
const OUR_NUMBER = '+14155550100';

async function startServer() {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const network = new SimulatedMessagingNetwork({ scheduler });
  const runtime = await Runtime.open({ ...testStoreOptions(mkdtempSync(join(tmpdir(), 'switchboard-conv-'))), scheduler, messaging: network });
  const app = buildApp({ runtime, clock: () => scheduler.now() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const dispatcher = new WebhookDispatcher(runtime, {
    scheduler,
    pollMs: 0,
    onAlert: () => undefined,
    deliverers: { 'conversation.webhook': conversationWebhookDeliverer(runtime, new PostClient(scheduler)), ...runtime.conversations.deliverers() },
  });
  dispatcher.start();
  const account = await runtime.createAccount('Chats');
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = base;
  client.conversations.baseUrl = base;
  const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Chats' });
  const wsApi = client.taskrouter.v1.workspaces(ws.sid);
  const available = (await wsApi.activities.list()).find((a) => a.friendlyName === 'Available')!;
  const queue = await wsApi.taskQueues.create({ friendlyName: 'Chat', targetWorkers: '1 == 1' });
  const workflow = await wsApi.workflows.create({ friendlyName: 'Chats', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: queue.sid } } }) });
  const worker = await wsApi.workers.create({ friendlyName: 'Ana', activitySid: available.sid });
  return { scheduler, runtime, network, app, base, dispatcher, account, client, ws, wsApi, workflow, worker };
}

/** A customer's SMS conversation and the task Flex would make for it. */
async function chatTask(s: Awaited<ReturnType<typeof startServer>>): Promise<{ conversationSid: string; taskSid: string }> {
  const conversation = await s.client.conversations.v1.conversations.create({ friendlyName: 'Support chat' });
  await s.client.conversations.v1.conversations(conversation.sid).participants.create({ 'messagingBinding.address': CUSTOMER, 'messagingBinding.proxyAddress': OUR_NUMBER });
  await s.client.conversations.v1.conversations(conversation.sid).messages.create({ author: CUSTOMER, body: 'Hello, my card is blocked' });
  const task = await s.wsApi.tasks.create({ workflowSid: s.workflow.sid, taskChannel: 'chat', attributes: JSON.stringify({ conversationSid: conversation.sid, channelType: 'sms', customerAddress: CUSTOMER }) });
  return { conversationSid: conversation.sid, taskSid: task.sid };
}

test('the tutorial as written: event callback → scoped webhook and timer; a silent minute → task completed, message sent, conversation closed', async () => {
  const s = await startServer();
  const tutorial = await startTutorialClient({ accountSid: s.account.sid, authToken: s.account.secret, baseUrl: s.base, workspaceSid: s.ws.sid });
  try {
    await s.wsApi.update({ eventCallbackUrl: `${tutorial.url}/taskrouter-events`, eventsFilter: 'reservation.accepted' });
    const { conversationSid, taskSid } = await chatTask(s);
    const [r] = await s.wsApi.tasks(taskSid).reservations.list();
    await s.wsApi.tasks(taskSid).reservations(r!.sid).update({ reservationStatus: 'accepted' });
    for (let i = 0; i < 10 && !tutorial.log.some((l) => l.action === 'timer set'); i++) {
      await s.scheduler.advance(10);
      await tutorial.idle();
    }
    assert.deepEqual(tutorial.log.map((l) => l.action), ['timer set']);
    const webhooks = await s.client.conversations.v1.conversations(conversationSid).webhooks.list();
    assert.equal(webhooks.length, 1);
    // The agent writes once after 30 s: the minute starts again.
    await s.scheduler.advance(30_000);
    await s.client.conversations.v1.conversations(conversationSid).messages.create({ author: 'Ana', body: 'Let me check that for you.' });
    await s.scheduler.advance(45_000);
    assert.equal((await s.client.conversations.v1.conversations(conversationSid).fetch()).state, 'active', 'the agent’s message restarted the timer');
    await s.scheduler.advance(20_000);
    for (let i = 0; i < 20 && !tutorial.log.some((l) => l.action === 'timed out'); i++) {
      await s.scheduler.advance(10);
      await tutorial.idle();
    }
    assert.ok(tutorial.log.some((l) => l.action === 'timed out'), JSON.stringify(tutorial.log));
    const task = await s.wsApi.tasks(taskSid).fetch();
    assert.equal(task.assignmentStatus, 'completed');
    assert.equal(task.reason, 'inactivity-timeout');
    const messages = await s.client.conversations.v1.conversations(conversationSid).messages.list();
    assert.equal(messages.at(-1)?.body, 'Your session has timed out.');
    assert.equal((await s.client.conversations.v1.conversations(conversationSid).fetch()).state, 'closed');
    // The customer's phone got the agent's message and the timeout message, over the messaging network.
    assert.deepEqual(s.network.sent().filter((r) => r.message.to === CUSTOMER).map((r) => r.message.body), ['Let me check that for you.', 'Your session has timed out.']);
    // The state updates the tutorial's own writes cause (EVENT, API) did not act again.
    assert.ok(tutorial.log.filter((l) => l.path === '/conversation-events').every((l) => l.action === 'timed out' || l.action === 'ignored'), JSON.stringify(tutorial.log));
  } finally {
    await tutorial.close();
    await s.dispatcher.stop();
    await s.app.close();
    await s.runtime.close();
  }
});

test('the built-in policy, no client code: the chat task completes, the message is added, the conversation closes', async () => {
  const s = await startServer();
  try {
    const chat = (await s.wsApi.taskChannels.list()).find((c) => c.uniqueName === 'chat')!;
    const put = await fetch(`${s.base}/v1/Workspaces/${s.ws.sid}/TaskChannels/${chat.sid}/InactivityTimeout`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${s.account.sid}:${s.account.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ InactiveTimeout: 'PT2M', TimeoutMessage: 'We closed this chat after two quiet minutes.' }).toString(),
    });
    assert.equal(put.status, 200, await put.text());
    const { conversationSid, taskSid } = await chatTask(s);
    const [r] = await s.wsApi.tasks(taskSid).reservations.list();
    await s.wsApi.tasks(taskSid).reservations(r!.sid).update({ reservationStatus: 'accepted' });
    await s.scheduler.advance(119_000);
    assert.equal((await s.wsApi.tasks(taskSid).fetch()).assignmentStatus, 'assigned');
    await s.scheduler.advance(2_000);
    const task = await s.wsApi.tasks(taskSid).fetch();
    assert.equal(task.assignmentStatus, 'completed');
    assert.equal(task.reason, 'inactivity-timeout');
    const messages = await s.client.conversations.v1.conversations(conversationSid).messages.list();
    assert.equal(messages.at(-1)?.body, 'We closed this chat after two quiet minutes.');
    assert.deepEqual(s.network.sent().map((r) => [r.message.to, r.message.from, r.message.body]), [[CUSTOMER, OUR_NUMBER, 'We closed this chat after two quiet minutes.']]);
    assert.equal((await s.client.conversations.v1.conversations(conversationSid).fetch()).state, 'closed');
  } finally {
    await s.dispatcher.stop();
    await s.app.close();
    await s.runtime.close();
  }
});
