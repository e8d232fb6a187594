/**
 * The Conversations API v1 (issue 13 item 1; spec conversations-events-analytics.md A1–A5, C;
 * OpenAPI twilio_conversations_v1.json), wire-compatible so that the official `twilio` client
 * drives it with `client.conversations.baseUrl` pointed at this server:
 *
 * - `/v1/Conversations[/{CH or UniqueName}]`, `…/Participants[/{MB}]`, `…/Messages[/{IM}]`,
 *   `…/Webhooks[/{WH}]` (conversation-scoped);
 * - `/v1/Configuration` (default timers), `/v1/Configuration/Webhooks` (the account's post-event
 *   webhook), `/v1/Configuration/Addresses[/{IG}]` (inbound addresses that auto-create conversations).
 *
 * Form parameters with Twilio's dotted names (`Timers.Inactive`, `MessagingBinding.Address`,
 * `Configuration.Filters` repeated); `X-Twilio-Webhook-Enabled: true` makes an API write fire its
 * post-event webhooks. Errors are Twilio-shaped with the Conversations codes (50377 closed, 50361
 * sixth webhook, 50416 binding in use, 20404, 20001 naming the field). Writes are durable when
 * answered (the runtime's conversations hosting).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConversationInput, MessageInput, ParticipantInput, WebhookInput } from '../../conversations/center.ts';
import { ConversationError, type AccountConfiguration, type AddressConfiguration, type AddressRouting, type Conversation, type Message, type Participant, type ScopedWebhook } from '../../conversations/model.ts';
import type { ConversationsCenter } from '../../conversations/center.ts';
import { formatDuration, parseTimer } from '../../conversations/durations.ts';
import type { InactivityPolicy } from '../../runtime/conversations-hosting.ts';
import { accountOf, bodyOf, originOf, pageRequest, pathOf, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import type { Params } from '../params.ts';
import { isoDate } from '../serializers.ts';
import { ApiError, notFound } from '../twilio-errors.ts';

const CONVERSATIONS = '/v1/Conversations';

/** A timer as Twilio shows a default (`PT1M`), or null when off. */
function durationText(seconds: number): string | null {
  return seconds <= 0 ? null : formatDuration(seconds);
}

export function conversationJson(origin: string, c: Conversation): Record<string, unknown> {
  const url = `${origin}${CONVERSATIONS}/${c.sid}`;
  const timers: Record<string, string> = {};
  if (c.state !== 'closed' && c.dateInactive !== null) timers['date_inactive'] = isoDate(c.dateInactive) as string;
  if (c.state !== 'closed' && c.dateClosed !== null) timers['date_closed'] = isoDate(c.dateClosed) as string;
  return {
    account_sid: c.accountSid,
    chat_service_sid: c.chatServiceSid,
    messaging_service_sid: c.messagingServiceSid,
    sid: c.sid,
    friendly_name: c.friendlyName,
    unique_name: c.uniqueName,
    attributes: c.attributes,
    state: c.state,
    date_created: isoDate(c.dateCreated),
    date_updated: isoDate(c.dateUpdated),
    timers,
    url,
    links: { participants: `${url}/Participants`, messages: `${url}/Messages`, webhooks: `${url}/Webhooks` },
    bindings: c.emailBinding === null ? null : { email: { address: c.emailBinding.address, name: c.emailBinding.name } },
  };
}

export function participantJson(origin: string, p: Participant): Record<string, unknown> {
  const b = p.messagingBinding;
  return {
    account_sid: p.accountSid,
    conversation_sid: p.conversationSid,
    sid: p.sid,
    identity: p.identity,
    attributes: p.attributes,
    messaging_binding: b === null ? null : { type: b.type, address: b.address, proxy_address: b.proxyAddress, ...(b.projectedAddress === null ? {} : { projected_address: b.projectedAddress }) },
    role_sid: p.roleSid,
    date_created: isoDate(p.dateCreated),
    date_updated: isoDate(p.dateUpdated),
    url: `${origin}${CONVERSATIONS}/${p.conversationSid}/Participants/${p.sid}`,
    last_read_message_index: p.lastReadMessageIndex,
    last_read_timestamp: p.lastReadTimestamp,
  };
}

export function messageJson(origin: string, m: Message): Record<string, unknown> {
  const url = `${origin}${CONVERSATIONS}/${m.conversationSid}/Messages/${m.sid}`;
  return {
    account_sid: m.accountSid,
    conversation_sid: m.conversationSid,
    sid: m.sid,
    index: m.index,
    author: m.author,
    body: m.body,
    media: m.mediaSid === null ? null : [{ sid: m.mediaSid }],
    attributes: m.attributes,
    participant_sid: m.participantSid,
    date_created: isoDate(m.dateCreated),
    date_updated: isoDate(m.dateUpdated),
    url,
    delivery: null,
    links: { delivery_receipts: `${url}/Receipts`, channel_metadata: `${url}/ChannelMetadata` },
    content_sid: m.contentSid,
  };
}

export function webhookJson(origin: string, w: ScopedWebhook): Record<string, unknown> {
  const configuration: Record<string, unknown> = { method: w.method, filters: w.filters };
  if (w.url !== null) configuration['url'] = w.url;
  if (w.target === 'trigger') configuration['triggers'] = w.triggers;
  if (w.flowSid !== null) configuration['flow_sid'] = w.flowSid;
  if (w.replayAfter !== null) configuration['replay_after'] = w.replayAfter;
  return {
    sid: w.sid,
    account_sid: w.accountSid,
    conversation_sid: w.conversationSid,
    target: w.target,
    url: `${origin}${CONVERSATIONS}/${w.conversationSid}/Webhooks/${w.sid}`,
    configuration,
    date_created: isoDate(w.dateCreated),
    date_updated: isoDate(w.dateUpdated),
  };
}

export function configurationJson(origin: string, accountSid: string, c: AccountConfiguration): Record<string, unknown> {
  return {
    account_sid: accountSid,
    default_chat_service_sid: c.chatServiceSid,
    default_messaging_service_sid: c.messagingServiceSid,
    default_inactive_timer: durationText(c.defaultInactiveSeconds),
    default_closed_timer: durationText(c.defaultClosedSeconds),
    url: `${origin}/v1/Configuration`,
    links: { service: `${origin}/v1/Services/${c.chatServiceSid}/Configuration`, webhooks: `${origin}/v1/Configuration/Webhooks` },
  };
}

export function webhookConfigurationJson(origin: string, accountSid: string, c: AccountConfiguration): Record<string, unknown> {
  return {
    account_sid: accountSid,
    method: c.webhooks.method,
    filters: c.webhooks.filters,
    pre_webhook_url: c.webhooks.preWebhookUrl,
    post_webhook_url: c.webhooks.postWebhookUrl,
    target: c.webhooks.target,
    url: `${origin}/v1/Configuration/Webhooks`,
  };
}

export function addressJson(origin: string, a: AddressConfiguration): Record<string, unknown> {
  const auto = a.autoCreation;
  return {
    sid: a.sid,
    account_sid: a.accountSid,
    type: a.type,
    address: a.address,
    friendly_name: a.friendlyName,
    auto_creation: {
      enabled: auto.enabled,
      type: auto.type,
      conversation_service_sid: auto.conversationServiceSid,
      webhook_url: auto.webhookUrl,
      webhook_method: auto.webhookMethod,
      webhook_filters: auto.webhookFilters,
      studio_flow_sid: auto.studioFlowSid,
      studio_retry_count: auto.studioRetryCount,
      // Our extension: the built-in route (an auto-created conversation becomes a task).
      ...(a.routing === undefined || a.routing === null ? {} : { routing_workspace_sid: a.routing.workspaceSid, routing_workflow_sid: a.routing.workflowSid, routing_task_channel: a.routing.taskChannel }),
    },
    date_created: isoDate(a.dateCreated),
    date_updated: isoDate(a.dateUpdated),
    url: `${origin}/v1/Configuration/Addresses/${a.sid}`,
    address_country: a.addressCountry,
  };
}

/** Present-or-absent string: `undefined` when the parameter is absent. */
function opt(body: Params, name: string): string | undefined {
  return body.has(name) ? (body.string(name) ?? '') : undefined;
}

function conversationInput(body: Params): ConversationInput {
  const input: ConversationInput = {};
  const set = <K extends keyof ConversationInput>(k: K, v: ConversationInput[K] | undefined): void => {
    if (v !== undefined) input[k] = v;
  };
  set('friendlyName', opt(body, 'FriendlyName'));
  set('uniqueName', opt(body, 'UniqueName'));
  set('attributes', opt(body, 'Attributes'));
  set('messagingServiceSid', opt(body, 'MessagingServiceSid'));
  set('state', body.oneOf('State', ['initializing', 'active', 'inactive', 'closed']) as ConversationInput['state']);
  set('timersInactive', opt(body, 'Timers.Inactive'));
  set('timersClosed', opt(body, 'Timers.Closed'));
  set('dateCreated', body.date('DateCreated'));
  set('dateUpdated', body.date('DateUpdated'));
  set('emailAddress', opt(body, 'Bindings.Email.Address'));
  set('emailName', opt(body, 'Bindings.Email.Name'));
  return input;
}

function participantInput(body: Params): ParticipantInput {
  const input: ParticipantInput = {};
  const set = <K extends keyof ParticipantInput>(k: K, v: ParticipantInput[K] | undefined): void => {
    if (v !== undefined) input[k] = v;
  };
  set('identity', opt(body, 'Identity'));
  set('attributes', opt(body, 'Attributes'));
  set('roleSid', opt(body, 'RoleSid'));
  set('address', opt(body, 'MessagingBinding.Address'));
  set('proxyAddress', opt(body, 'MessagingBinding.ProxyAddress'));
  set('projectedAddress', opt(body, 'MessagingBinding.ProjectedAddress'));
  set('lastReadMessageIndex', body.integer('LastReadMessageIndex', 0));
  set('lastReadTimestamp', opt(body, 'LastReadTimestamp'));
  set('dateCreated', body.date('DateCreated'));
  set('dateUpdated', body.date('DateUpdated'));
  return input;
}

function messageInput(body: Params): MessageInput {
  const input: MessageInput = {};
  const set = <K extends keyof MessageInput>(k: K, v: MessageInput[K] | undefined): void => {
    if (v !== undefined) input[k] = v;
  };
  set('author', opt(body, 'Author'));
  set('body', opt(body, 'Body'));
  set('attributes', opt(body, 'Attributes'));
  set('mediaSid', opt(body, 'MediaSid'));
  set('contentSid', opt(body, 'ContentSid'));
  set('subject', opt(body, 'Subject'));
  set('dateCreated', body.date('DateCreated'));
  set('dateUpdated', body.date('DateUpdated'));
  return input;
}

function webhookInput(body: Params): WebhookInput {
  const input: WebhookInput = {};
  const target = body.oneOf('Target', ['webhook', 'trigger', 'studio']);
  if (target !== undefined) input.target = target as WebhookInput['target'];
  const url = opt(body, 'Configuration.Url');
  if (url !== undefined) input.url = url;
  const method = body.string('Configuration.Method');
  if (method !== undefined) input.method = method.toUpperCase() as 'GET' | 'POST';
  if (body.has('Configuration.Filters')) input.filters = body.all('Configuration.Filters').flatMap((f) => f.split(',')).map((f) => f.trim()).filter((f) => f !== '');
  if (body.has('Configuration.Triggers')) input.triggers = body.all('Configuration.Triggers').map((f) => f.trim()).filter((f) => f !== '');
  const flow = opt(body, 'Configuration.FlowSid');
  if (flow !== undefined) input.flowSid = flow;
  const replay = body.integer('Configuration.ReplayAfter', 0);
  if (replay !== undefined) input.replayAfter = replay;
  return input;
}

function addressInput(body: Params): Parameters<ConversationsCenter['putAddress']>[1] {
  const input: Record<string, unknown> = {};
  const type = opt(body, 'Type');
  if (type !== undefined) input['type'] = type;
  const address = opt(body, 'Address');
  if (address !== undefined) input['address'] = address;
  const name = opt(body, 'FriendlyName');
  if (name !== undefined) input['friendlyName'] = name;
  const country = opt(body, 'AddressCountry');
  if (country !== undefined) input['addressCountry'] = country;
  const auto: Record<string, unknown> = {};
  const enabled = body.boolean('AutoCreation.Enabled');
  if (enabled !== undefined) auto['enabled'] = enabled;
  const autoType = body.oneOf('AutoCreation.Type', ['webhook', 'studio', 'default']);
  if (autoType !== undefined) auto['type'] = autoType;
  const service = opt(body, 'AutoCreation.ConversationServiceSid');
  if (service !== undefined) auto['conversationServiceSid'] = service;
  const url = opt(body, 'AutoCreation.WebhookUrl');
  if (url !== undefined) auto['webhookUrl'] = url;
  const method = body.string('AutoCreation.WebhookMethod');
  if (method !== undefined) auto['webhookMethod'] = method.toUpperCase();
  if (body.has('AutoCreation.WebhookFilters')) auto['webhookFilters'] = body.all('AutoCreation.WebhookFilters').flatMap((f) => f.split(',')).map((f) => f.trim()).filter((f) => f !== '');
  const flow = opt(body, 'AutoCreation.StudioFlowSid');
  if (flow !== undefined) auto['studioFlowSid'] = flow;
  const retries = body.integer('AutoCreation.StudioRetryCount', 0, 3);
  if (retries !== undefined) auto['studioRetryCount'] = retries;
  if (Object.keys(auto).length > 0) input['autoCreation'] = auto;
  return input as Parameters<ConversationsCenter['putAddress']>[1];
}

/**
 * `AutoCreation.RoutingWorkflowSid` (+ `RoutingWorkspaceSid`, default: the account's workspace
 * holding the workflow; `RoutingTaskChannel`, default `sms` for an SMS address, else `chat`): our
 * extension, the built-in route. Undefined when absent; null (an empty workflow SID) removes it.
 */
function addressRouting(api: Api, req: FastifyRequest, body: Params, type: string | undefined, before: AddressConfiguration | undefined): AddressRouting | null | undefined {
  const names = ['AutoCreation.RoutingWorkflowSid', 'AutoCreation.RoutingWorkspaceSid', 'AutoCreation.RoutingTaskChannel'];
  if (!names.some((n) => body.has(n))) return undefined;
  const wwParam = body.string('AutoCreation.RoutingWorkflowSid');
  if (wwParam === '') return null;
  const old = before?.routing ?? undefined;
  const workflowSid = wwParam ?? old?.workflowSid;
  if (workflowSid === undefined) throw new ApiError(400, 20001, 'AutoCreation.RoutingWorkflowSid is required for a routed address', 'AutoCreation.RoutingWorkflowSid');
  const account = accountOf(req);
  const wsParam = body.string('AutoCreation.RoutingWorkspaceSid') ?? (wwParam === undefined ? old?.workspaceSid : undefined);
  const engine = wsParam !== undefined ? api.runtime.workspace(account, wsParam) : api.runtime.workspaces(account).find((e) => e.workflows.has(workflowSid));
  if (engine === undefined) throw new ApiError(400, 20001, `No workspace ${wsParam ?? 'of this account'} holds workflow ${workflowSid}`, 'AutoCreation.RoutingWorkspaceSid');
  if (!engine.workflows.has(workflowSid)) throw new ApiError(400, 20001, `Workflow ${workflowSid} was not found in workspace ${engine.workspace.sid}`, 'AutoCreation.RoutingWorkflowSid');
  const addressType = type ?? before?.type;
  const taskChannel = body.string('AutoCreation.RoutingTaskChannel') ?? old?.taskChannel ?? (addressType === 'sms' ? 'sms' : 'chat');
  if (engine.findChannel(taskChannel) === undefined) throw new ApiError(400, 20001, `TaskChannel ${taskChannel} was not found in workspace ${engine.workspace.sid}`, 'AutoCreation.RoutingTaskChannel');
  return { workspaceSid: engine.workspace.sid, workflowSid, taskChannel };
}

/** `X-Twilio-Webhook-Enabled: true`: the write fires its post-event webhooks (A1). */
function webhookEnabled(req: FastifyRequest): boolean {
  return String(req.headers['x-twilio-webhook-enabled'] ?? '').toLowerCase() === 'true';
}

export function conversationRoutes(app: FastifyInstance, api: Api): void {
  const hosting = api.runtime.conversations;
  const ctxOf = (req: FastifyRequest, at: number) => ({ at, source: 'API' as const, webhookEnabled: webhookEnabled(req) });
  const centerOf = (req: FastifyRequest): ConversationsCenter => hosting.center(accountOf(req));
  const param = (req: FastifyRequest, name: string): string => (req.params as Record<string, string>)[name] ?? '';
  const found = <T>(req: FastifyRequest, v: T | undefined): T => {
    if (v === undefined) throw notFound(pathOf(req));
    return v;
  };
  const created = (reply: FastifyReply, body: unknown): FastifyReply => reply.code(201).send(body);
  const conversationOfReq = (req: FastifyRequest): Conversation => found(req, centerOf(req).conversation(param(req, 'ConversationSid')));

  // ── conversations ──
  app.get(CONVERSATIONS, async (req) => {
    const q = queryOf(req);
    const state = q.oneOf('State', ['initializing', 'active', 'inactive', 'closed']) as Conversation['state'] | undefined;
    const start = q.date('StartDate');
    const end = q.date('EndDate');
    const items = centerOf(req).listConversations({ ...(state === undefined ? {} : { state }), ...(start === undefined ? {} : { startMs: start }), ...(end === undefined ? {} : { endMs: end + 86_400_000 }) });
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'conversations'), items, (c) => c.sid, (c) => conversationJson(origin, c));
  });
  app.post(CONVERSATIONS, async (req, reply) => {
    const input = conversationInput(bodyOf(req));
    const r = await hosting.write(accountOf(req), (c, at) => c.createConversation(input, ctxOf(req, at)));
    return created(reply, conversationJson(originOf(api, req), r.conversation));
  });
  app.get(`${CONVERSATIONS}/:ConversationSid`, async (req) => conversationJson(originOf(api, req), conversationOfReq(req)));
  app.post(`${CONVERSATIONS}/:ConversationSid`, async (req) => {
    const input = conversationInput(bodyOf(req));
    const r = await hosting.write(accountOf(req), (c, at) => c.updateConversation(param(req, 'ConversationSid'), input, ctxOf(req, at)));
    return conversationJson(originOf(api, req), r.conversation);
  });
  app.delete(`${CONVERSATIONS}/:ConversationSid`, async (req, reply) => {
    await hosting.write(accountOf(req), (c, at) => c.deleteConversation(param(req, 'ConversationSid'), ctxOf(req, at)));
    return reply.code(204).send();
  });

  // ── participants ──
  const P = `${CONVERSATIONS}/:ConversationSid/Participants`;
  app.get(P, async (req) => {
    const conv = conversationOfReq(req);
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'participants'), centerOf(req).participants(conv.sid), (p) => p.sid, (p) => participantJson(origin, p));
  });
  app.post(P, async (req, reply) => {
    const input = participantInput(bodyOf(req));
    const r = await hosting.write(accountOf(req), (c, at) => c.addParticipant(param(req, 'ConversationSid'), input, ctxOf(req, at)));
    return created(reply, participantJson(originOf(api, req), r.participant));
  });
  app.get(`${P}/:Sid`, async (req) => participantJson(originOf(api, req), found(req, centerOf(req).participant(param(req, 'ConversationSid'), param(req, 'Sid')))));
  app.post(`${P}/:Sid`, async (req) => {
    const input = participantInput(bodyOf(req));
    const r = await hosting.write(accountOf(req), (c, at) => c.updateParticipant(param(req, 'ConversationSid'), param(req, 'Sid'), input, ctxOf(req, at)));
    return participantJson(originOf(api, req), r.participant);
  });
  app.delete(`${P}/:Sid`, async (req, reply) => {
    await hosting.write(accountOf(req), (c, at) => c.removeParticipant(param(req, 'ConversationSid'), param(req, 'Sid'), ctxOf(req, at)));
    return reply.code(204).send();
  });

  // ── messages ──
  const M = `${CONVERSATIONS}/:ConversationSid/Messages`;
  app.get(M, async (req) => {
    const conv = conversationOfReq(req);
    const order = queryOf(req).oneOf('Order', ['asc', 'desc']) as 'asc' | 'desc' | undefined;
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'messages'), centerOf(req).messages(conv.sid, order ?? 'asc'), (m) => m.sid, (m) => messageJson(origin, m));
  });
  app.post(M, async (req, reply) => {
    const input = messageInput(bodyOf(req));
    const r = await hosting.write(accountOf(req), (c, at) => c.addMessage(param(req, 'ConversationSid'), input, ctxOf(req, at)));
    return created(reply, messageJson(originOf(api, req), r.message));
  });
  app.get(`${M}/:Sid`, async (req) => messageJson(originOf(api, req), found(req, centerOf(req).message(param(req, 'ConversationSid'), param(req, 'Sid')))));
  app.post(`${M}/:Sid`, async (req) => {
    const input = messageInput(bodyOf(req));
    const r = await hosting.write(accountOf(req), (c, at) => c.updateMessage(param(req, 'ConversationSid'), param(req, 'Sid'), input, ctxOf(req, at)));
    return messageJson(originOf(api, req), r.message);
  });
  app.delete(`${M}/:Sid`, async (req, reply) => {
    await hosting.write(accountOf(req), (c, at) => c.removeMessage(param(req, 'ConversationSid'), param(req, 'Sid'), ctxOf(req, at)));
    return reply.code(204).send();
  });

  // ── conversation-scoped webhooks ──
  const W = `${CONVERSATIONS}/:ConversationSid/Webhooks`;
  app.get(W, async (req) => {
    const conv = conversationOfReq(req);
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'webhooks'), centerOf(req).webhooks(conv.sid), (w) => w.sid, (w) => webhookJson(origin, w));
  });
  app.post(W, async (req, reply) => {
    const input = webhookInput(bodyOf(req));
    const r = await hosting.write(accountOf(req), (c, at) => c.addWebhook(param(req, 'ConversationSid'), input, ctxOf(req, at)));
    return created(reply, webhookJson(originOf(api, req), r.webhook));
  });
  app.get(`${W}/:Sid`, async (req) => webhookJson(originOf(api, req), found(req, centerOf(req).webhook(param(req, 'ConversationSid'), param(req, 'Sid')))));
  app.post(`${W}/:Sid`, async (req) => {
    const input = webhookInput(bodyOf(req));
    const r = await hosting.write(accountOf(req), (c, at) => c.updateWebhook(param(req, 'ConversationSid'), param(req, 'Sid'), input, ctxOf(req, at)));
    return webhookJson(originOf(api, req), r.webhook);
  });
  app.delete(`${W}/:Sid`, async (req, reply) => {
    await hosting.write(accountOf(req), (c, at) => c.removeWebhook(param(req, 'ConversationSid'), param(req, 'Sid'), ctxOf(req, at)));
    return reply.code(204).send();
  });

  // ── configuration ──
  app.get('/v1/Configuration', async (req) => configurationJson(originOf(api, req), accountOf(req), centerOf(req).configuration()));
  app.post('/v1/Configuration', async (req) => {
    const body = bodyOf(req);
    const input: Parameters<ConversationsCenter['updateConfiguration']>[0] = {};
    const inactive = opt(body, 'DefaultInactiveTimer');
    if (inactive !== undefined) input.defaultInactiveTimer = inactive;
    const closed = opt(body, 'DefaultClosedTimer');
    if (closed !== undefined) input.defaultClosedTimer = closed;
    const mg = opt(body, 'DefaultMessagingServiceSid');
    if (mg !== undefined) input.defaultMessagingServiceSid = mg;
    await hosting.write(accountOf(req), (c, at) => c.updateConfiguration(input, ctxOf(req, at)));
    return configurationJson(originOf(api, req), accountOf(req), centerOf(req).configuration());
  });
  app.get('/v1/Configuration/Webhooks', async (req) => webhookConfigurationJson(originOf(api, req), accountOf(req), centerOf(req).configuration()));
  app.post('/v1/Configuration/Webhooks', async (req) => {
    const body = bodyOf(req);
    const input: Parameters<ConversationsCenter['updateWebhookConfiguration']>[0] = {};
    const pre = opt(body, 'PreWebhookUrl');
    if (pre !== undefined) input.preWebhookUrl = pre === '' ? null : pre;
    const post = opt(body, 'PostWebhookUrl');
    if (post !== undefined) input.postWebhookUrl = post === '' ? null : post;
    const method = body.string('Method');
    if (method !== undefined) input.method = method.toUpperCase() as 'GET' | 'POST';
    if (body.has('Filters')) input.filters = body.all('Filters').flatMap((f) => f.split(',')).map((f) => f.trim()).filter((f) => f !== '');
    const target = body.oneOf('Target', ['webhook', 'flex']);
    if (target !== undefined) input.target = target as 'webhook' | 'flex';
    await hosting.write(accountOf(req), (c, at) => c.updateWebhookConfiguration(input, ctxOf(req, at)));
    return webhookConfigurationJson(originOf(api, req), accountOf(req), centerOf(req).configuration());
  });

  // ── address configurations ──
  const A = '/v1/Configuration/Addresses';
  app.get(A, async (req) => {
    const origin = originOf(api, req);
    const type = queryOf(req).string('Type');
    const items = centerOf(req).addresses().filter((a) => type === undefined || a.type === type);
    return page(pageRequest(api, req, 'address_configurations'), items, (a) => a.sid, (a) => addressJson(origin, a));
  });
  app.post(A, async (req, reply) => {
    const body = bodyOf(req);
    const input = addressInput(body);
    const routing = addressRouting(api, req, body, input.type, undefined);
    if (routing !== undefined) input.routing = routing;
    const r = await hosting.write(accountOf(req), (c, at) => c.putAddress(null, input, ctxOf(req, at)));
    return created(reply, addressJson(originOf(api, req), r.address));
  });
  app.get(`${A}/:Sid`, async (req) => addressJson(originOf(api, req), found(req, centerOf(req).address(param(req, 'Sid')))));
  app.post(`${A}/:Sid`, async (req) => {
    const body = bodyOf(req);
    const input = addressInput(body);
    const before = found(req, centerOf(req).address(param(req, 'Sid')));
    const sid = before.sid;
    const routing = addressRouting(api, req, body, input.type, before);
    if (routing !== undefined) input.routing = routing;
    const r = await hosting.write(accountOf(req), (c, at) => c.putAddress(sid, input, ctxOf(req, at)));
    return addressJson(originOf(api, req), r.address);
  });
  app.delete(`${A}/:Sid`, async (req, reply) => {
    const sid = found(req, centerOf(req).address(param(req, 'Sid'))).sid;
    await hosting.write(accountOf(req), (c, at) => c.removeAddress(sid, ctxOf(req, at)));
    return reply.code(204).send();
  });

  // ── the built-in inactivity timeout (our extension; docs/conversations.md) ──
  const POLICY = '/v1/Workspaces/:WorkspaceSid/TaskChannels/:TaskChannel/InactivityTimeout';
  const policyJson = (req: FastifyRequest, p: InactivityPolicy): Record<string, unknown> => ({
    account_sid: accountOf(req),
    workspace_sid: p.workspaceSid,
    task_channel_sid: p.taskChannelSid,
    inactive_timeout: formatDuration(p.inactiveSeconds),
    closed_timeout: p.closedSeconds === 0 ? null : formatDuration(p.closedSeconds),
    timeout_message: p.timeoutMessage,
    on_timeout: p.onTimeout,
    close_conversation: p.closeConversation,
    date_created: isoDate(p.dateCreated),
    date_updated: isoDate(p.dateUpdated),
    url: `${originOf(api, req)}/v1/Workspaces/${p.workspaceSid}/TaskChannels/${p.taskChannelSid}/InactivityTimeout`,
  });
  const channelOf = (req: FastifyRequest): { workspaceSid: string; taskChannelSid: string } => {
    const engine = workspaceOf(api, req);
    const ch = engine.findChannel(param(req, 'TaskChannel'));
    if (ch === undefined || ch.deleted) throw notFound(pathOf(req));
    return { workspaceSid: engine.workspace.sid, taskChannelSid: ch.sid };
  };
  app.get(POLICY, async (req) => {
    const { workspaceSid, taskChannelSid } = channelOf(req);
    return policyJson(req, found(req, hosting.policiesOf(workspaceSid).find((p) => p.taskChannelSid === taskChannelSid)));
  });
  app.post(POLICY, async (req) => {
    const { workspaceSid, taskChannelSid } = channelOf(req);
    const body = bodyOf(req);
    const old = hosting.policiesOf(workspaceSid).find((p) => p.taskChannelSid === taskChannelSid);
    const inactive = opt(body, 'InactiveTimeout');
    const closed = opt(body, 'ClosedTimeout');
    const input = {
      inactiveSeconds: inactive !== undefined ? parseTimer(inactive, 'InactiveTimeout', 60) : (old?.inactiveSeconds ?? (() => { throw new ConversationError(400, 20001, 'Missing required parameter InactiveTimeout in the post body', 'InactiveTimeout'); })()),
      closedSeconds: closed !== undefined ? parseTimer(closed, 'ClosedTimeout', 600) : (old?.closedSeconds ?? 0),
      timeoutMessage: opt(body, 'TimeoutMessage') ?? old?.timeoutMessage ?? 'Your session has timed out.',
      onTimeout: (body.oneOf('OnTimeout', ['complete', 'wrapup']) ?? old?.onTimeout ?? 'complete') as 'complete' | 'wrapup',
      closeConversation: body.boolean('CloseConversation') ?? old?.closeConversation ?? true,
    };
    const p = await hosting.putPolicy(workspaceSid, taskChannelSid, input);
    return policyJson(req, p as InactivityPolicy);
  });
  app.delete(POLICY, async (req, reply) => {
    const { workspaceSid, taskChannelSid } = channelOf(req);
    found(req, hosting.policiesOf(workspaceSid).find((p) => p.taskChannelSid === taskChannelSid));
    await hosting.putPolicy(workspaceSid, taskChannelSid, null);
    return reply.code(204).send();
  });
}
