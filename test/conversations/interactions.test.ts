/**
 * The Flex Interactions API and the built-in address route (issue 13 item 2; spec
 * conversations-events-analytics.md A7), on the real server with the official `twilio` client
 * (`client.flexApi.baseUrl`): a conversation becomes a task with the A7 attributes, an agent gets
 * the reservation, closing the channel wraps the task and closes the conversation, an invite adds a
 * second task; an inbound message on a routed address creates conversation and task; all of it
 * survives a restart.
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
import { testStoreOptions } from '../support/store.ts';
import { openApiValidator } from '../support/openapi.ts';

const { assertSchema } = openApiValidator('twilio_flex_v1.json', '');

const CUSTOMER = '+14155550111';
const OUR_NUMBER = '+14155550100';

async function startServer(dir = mkdtempSync(join(tmpdir(), 'switchboard-kd-')), account?: { sid: string; secret: string }) {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const runtime = await Runtime.open({ ...testStoreOptions(dir), scheduler });
  const app = buildApp({ runtime, clock: () => scheduler.now() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const acct = account ?? (await runtime.createAccount('Flex'));
  const client = twilio(acct.sid, acct.secret);
  client.taskrouter.baseUrl = base;
  client.conversations.baseUrl = base;
  client.flexApi.baseUrl = base;
  const form = async (path: string, params: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${acct.sid}:${acct.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const get = async (path: string): Promise<unknown> => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Basic ${Buffer.from(`${acct.sid}:${acct.secret}`).toString('base64')}` } });
    return res.json();
  };
  return { dir, scheduler, runtime, app, base, account: acct, client, form, get, close: async () => { await app.close(); await runtime.close(); } };
}

async function setUp(s: Awaited<ReturnType<typeof startServer>>) {
  const ws = await s.client.taskrouter.v1.workspaces.create({ friendlyName: 'Flex' });
  const wsApi = s.client.taskrouter.v1.workspaces(ws.sid);
  const available = (await wsApi.activities.list()).find((a) => a.friendlyName === 'Available')!;
  const queue = await wsApi.taskQueues.create({ friendlyName: 'Chat', targetWorkers: '1 == 1' });
  const workflow = await wsApi.workflows.create({ friendlyName: 'Chats', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: queue.sid } } }) });
  const worker = await wsApi.workers.create({ friendlyName: 'Ana', activitySid: available.sid });
  return { ws, wsApi, workflow, worker };
}

test('POST /v1/Interactions: the task with the A7 attributes, a reservation; an invite adds a task; closing wraps and closes', async () => {
  const s = await startServer();
  try {
    const { ws, wsApi, workflow, worker } = await setUp(s);
    const conversation = await s.client.conversations.v1.conversations.create({ friendlyName: 'Web chat' });
    await s.client.conversations.v1.conversations(conversation.sid).participants.create({ identity: 'visitor-7' });
    const interaction = await s.client.flexApi.v1.interaction.create({
      channel: { type: 'web', initiated_by: 'customer', properties: { media_channel_sid: conversation.sid } },
      routing: { properties: { workspace_sid: ws.sid, workflow_sid: workflow.sid, task_channel_unique_name: 'chat', attributes: { from: 'visitor-7', customerName: 'Visitor' } } },
    });
    assert.match(interaction.sid, /^KD[0-9a-f]{32}$/);
    const channelSid = (interaction.channel as { sid: string }).sid;
    assert.match(channelSid, /^UO[0-9a-f]{32}$/);
    const routing = interaction.routing as { reservation: null; properties: { sid: string; attributes: string; workflow_sid: string } };
    assert.equal(routing.reservation, null);
    assert.equal(routing.properties.workflow_sid, workflow.sid);
    assert.equal(interaction.url, `${s.base}/v1/Interactions/${interaction.sid}`);
    assert.deepEqual(interaction.links, { channels: `${s.base}/v1/Interactions/${interaction.sid}/Channels` });

    const task = await wsApi.tasks(routing.properties.sid).fetch();
    const attrs = JSON.parse(task.attributes) as Record<string, unknown>;
    assert.equal(attrs['conversationSid'], conversation.sid);
    assert.equal(attrs['channelType'], 'web');
    assert.equal(attrs['customerAddress'], 'visitor-7');
    assert.equal(attrs['customerName'], 'Visitor'); // the caller's attributes verbatim
    assert.equal(attrs['from'], 'visitor-7');
    assert.equal(attrs['direction'], 'inbound');
    assert.equal(attrs['initiatedBy'], 'customer');
    assert.equal(attrs['flexInteractionChannelSid'], channelSid);
    assert.match(String(attrs['flexChannelInviteSid']), /^KG[0-9a-f]{32}$/);
    assert.deepEqual((attrs['conversations'] as { media: unknown[] }).media, [{ type: 'ChatTranscript', sid: conversation.sid, conversation_sid: conversation.sid }]);
    assert.equal(task.taskChannelUniqueName, 'chat');
    // Found the way the tutorial finds it.
    const found = await wsApi.tasks.list({ evaluateTaskAttributes: `conversationSid == "${conversation.sid}"` });
    assert.deepEqual(found.map((t) => t.sid), [task.sid]);

    const [r] = await wsApi.tasks(task.sid).reservations.list();
    assert.equal(r!.workerSid, worker.sid);
    await wsApi.tasks(task.sid).reservations(r!.sid).update({ reservationStatus: 'accepted' });

    const fetched = await s.client.flexApi.v1.interaction(interaction.sid).fetch();
    assert.equal(fetched.sid, interaction.sid);
    const channels = await s.client.flexApi.v1.interaction(interaction.sid).channels.list();
    assert.deepEqual(channels.map((c) => [c.sid, c.type, c.status]), [[channelSid, 'web', 'active']]);

    const kdPath = `/v1/Interactions/${interaction.sid}`;
    assertSchema('flex.v1.interaction', await s.get(kdPath));
    assertSchema('flex.v1.interaction.interaction_channel', await s.get(`${kdPath}/Channels/${channelSid}`));
    const created = await s.form(`${kdPath}/Channels/${channelSid}/Participants`, { Type: 'agent', MediaProperties: '{}', RoutingProperties: JSON.stringify({ task_sid: task.sid }) });
    assert.equal(created.status, 200);
    assertSchema('flex.v1.interaction.interaction_channel.interaction_channel_participant', created.body);
    const listed = (await s.get(`${kdPath}/Channels/${channelSid}/Participants`)) as { participants: unknown[] };
    assert.equal(listed.participants.length, 1);

    // An invite: a second task on the same channel.
    const invite = await s.client.flexApi.v1.interaction(interaction.sid).channels(channelSid).invites.create({
      routing: { properties: { workspace_sid: ws.sid, workflow_sid: workflow.sid, task_channel_unique_name: 'chat', attributes: { transfer: true } } },
    });
    assert.match(invite.sid, /^KG[0-9a-f]{32}$/);
    assert.equal(invite.channelSid, channelSid);
    const second = JSON.parse(await wsApi.tasks((invite.routing as { properties: { sid: string } }).properties.sid).fetch().then((t) => t.attributes)) as Record<string, unknown>;
    assert.equal(second['flexChannelInviteSid'], invite.sid);
    assert.equal(second['conversationSid'], conversation.sid);
    assert.equal((await s.client.flexApi.v1.interaction(interaction.sid).channels(channelSid).invites.list()).length, 2);
    for (const i of ((await s.get(`${kdPath}/Channels/${channelSid}/Invites`)) as { invites: unknown[] }).invites) assertSchema('flex.v1.interaction.interaction_channel.interaction_channel_invite', i);

    // Close the channel: the assigned task wraps, the pending invite's task is canceled, the conversation closes.
    const closed = await s.client.flexApi.v1.interaction(interaction.sid).channels(channelSid).update({ status: 'closed' });
    assert.equal(closed.status, 'closed');
    assert.equal((await wsApi.tasks(task.sid).fetch()).assignmentStatus, 'wrapping');
    assert.equal((await wsApi.tasks((invite.routing as { properties: { sid: string } }).properties.sid).fetch()).assignmentStatus, 'canceled');
    assert.equal((await s.client.conversations.v1.conversations(conversation.sid).fetch()).state, 'closed');

    // Errors, Twilio-shaped.
    await assert.rejects(
      s.client.flexApi.v1.interaction.create({ channel: { type: 'sms', initiated_by: 'customer', properties: { media_channel_sid: conversation.sid } }, routing: { properties: { workspace_sid: ws.sid, workflow_sid: 'WW' + '0'.repeat(32) } } }),
      (e: { status: number; message: string }) => e.status === 400 && /Workflow/.test(e.message),
    );
    const missing = await s.form('/v1/Interactions', { Channel: JSON.stringify({ type: 'sms', properties: { media_channel_sid: conversation.sid } }), Routing: JSON.stringify({ properties: { workspace_sid: ws.sid } }) });
    assert.equal(missing.status, 400);
    assert.match(String(missing.body['message']), /Routing\.properties\.workflow_sid/);
    await assert.rejects(s.client.flexApi.v1.interaction('KD' + '0'.repeat(32)).fetch(), (e: { status: number }) => e.status === 404);
  } finally {
    await s.close();
  }
});

test('an agent-initiated interaction creates the conversation with the participant; inactive + Routing closed completes the task; survives a restart', async () => {
  const s = await startServer();
  let kd: string;
  let uo: string;
  let taskSid: string;
  let wsSid: string;
  try {
    const { ws, wsApi, workflow } = await setUp(s);
    wsSid = ws.sid;
    const interaction = await s.client.flexApi.v1.interaction.create({
      channel: { type: 'sms', initiated_by: 'agent', participants: [{ address: CUSTOMER, proxy_address: OUR_NUMBER }] },
      routing: { properties: { workspace_sid: ws.sid, workflow_sid: workflow.sid, task_channel_unique_name: 'sms', attributes: {} } },
    });
    kd = interaction.sid;
    uo = (interaction.channel as { sid: string }).sid;
    taskSid = (interaction.routing as { properties: { sid: string } }).properties.sid;
    const attrs = JSON.parse((await wsApi.tasks(taskSid).fetch()).attributes) as Record<string, unknown>;
    assert.equal(attrs['direction'], 'outbound');
    assert.equal(attrs['customerAddress'], CUSTOMER);
    const conversationSid = String(attrs['conversationSid']);
    const participants = await s.client.conversations.v1.conversations(conversationSid).participants.list();
    assert.deepEqual(participants.map((p) => (p.messagingBinding as { address: string }).address), [CUSTOMER]);
    const [r] = await wsApi.tasks(taskSid).reservations.list();
    await wsApi.tasks(taskSid).reservations(r!.sid).update({ reservationStatus: 'accepted' });
    const bad = await s.form(`/v1/Interactions/${kd}/Channels/${uo}`, { Status: 'inactive' });
    assert.equal(bad.status, 400);
  } finally {
    await s.close();
  }
  const again = await startServer(s.dir, s.account);
  try {
    const channel = await again.client.flexApi.v1.interaction(kd).channels(uo).fetch();
    assert.equal(channel.status, 'active');
    const updated = await again.client.flexApi.v1.interaction(kd).channels(uo).update({ status: 'inactive', routing: { status: 'closed' } });
    assert.equal(updated.status, 'inactive');
    assert.equal((await again.client.taskrouter.v1.workspaces(wsSid).tasks(taskSid).fetch()).assignmentStatus, 'completed');
  } finally {
    await again.close();
  }
});

test('the built-in route: an inbound message on a routed address creates the conversation and its task', async () => {
  const s = await startServer();
  try {
    const { ws, wsApi, workflow, worker } = await setUp(s);
    const address = await s.form('/v1/Configuration/Addresses', { Type: 'sms', Address: OUR_NUMBER, 'AutoCreation.Enabled': 'true', 'AutoCreation.Type': 'default', 'AutoCreation.RoutingWorkflowSid': workflow.sid });
    assert.equal(address.status, 201, JSON.stringify(address.body));
    const auto = address.body['auto_creation'] as Record<string, unknown>;
    assert.equal(auto['routing_workspace_sid'], ws.sid);
    assert.equal(auto['routing_task_channel'], 'sms');
    const badAddress = await s.form('/v1/Configuration/Addresses', { Type: 'sms', Address: '+14155550199', 'AutoCreation.Enabled': 'true', 'AutoCreation.RoutingWorkflowSid': 'WW' + '1'.repeat(32) });
    assert.equal(badAddress.status, 400);

    assert.equal(await s.runtime.conversations.received({ from: CUSTOMER, to: OUR_NUMBER, body: 'Hi, my card is blocked', at: s.scheduler.now() }), true);
    const [conversation] = await s.client.conversations.v1.conversations.list();
    const tasks = await wsApi.tasks.list({ evaluateTaskAttributes: `conversationSid == "${conversation!.sid}"` });
    assert.equal(tasks.length, 1);
    const attrs = JSON.parse(tasks[0]!.attributes) as Record<string, unknown>;
    assert.equal(attrs['channelType'], 'sms');
    assert.equal(attrs['customerAddress'], CUSTOMER);
    assert.equal(attrs['direction'], 'inbound');
    assert.equal(attrs['initiatedBy'], 'customer');
    assert.match(String(attrs['flexInteractionChannelSid']), /^UO/);
    assert.equal(tasks[0]!.taskChannelUniqueName, 'sms');
    const [r] = await wsApi.tasks(tasks[0]!.sid).reservations.list();
    assert.equal(r!.workerSid, worker.sid);
    // A second message joins the conversation: no new task.
    await s.runtime.conversations.received({ from: CUSTOMER, to: OUR_NUMBER, body: 'Hello?', at: s.scheduler.now() });
    assert.equal((await wsApi.tasks.list()).length, 1);
    // The interaction the route made can be closed through the API.
    const kd = String(attrs['flexInteractionSid']);
    await s.client.flexApi.v1.interaction(kd).channels(String(attrs['flexInteractionChannelSid'])).update({ status: 'closed' });
    assert.equal((await s.client.conversations.v1.conversations(conversation!.sid).fetch()).state, 'closed');
  } finally {
    await s.close();
  }
});
