/**
 * A minimal Flex Interactions API (issue 13 item 2; spec conversations-events-analytics.md A7 and C;
 * OpenAPI twilio_flex_v1.json), wire-compatible so that Flex-style server code drives it with
 * `client.flexApi.baseUrl` pointed at this server:
 *
 * - `POST /v1/Interactions` (`Channel`, `Routing` JSON): binds a conversation (`media_channel_sid`)
 *   or creates one with the messaging participant (`participants`), and creates the TaskRouter task
 *   with the A7 attributes (src/runtime/interactions.ts) in the same batch; `GET /v1/Interactions/{KD}`;
 * - `/v1/Interactions/{KD}/Channels[/{UO}]`: list, fetch, `Status=closed|inactive` (+ `Routing` status);
 * - `…/Channels/{UO}/Invites`: another task for the channel; list;
 * - `…/Channels/{UO}/Participants[/{UT}]`: minimal (kept as sent; `Status=closed|wrapup` ends the
 *   participant's task).
 *
 * Twilio answers the create asynchronously; we answer once the task exists (durable). Errors are
 * Twilio-shaped: 400/20001 naming the field (`Routing.properties.workflow_sid`), 404/20404.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { InteractionInput } from '../../runtime/conversations-hosting.ts';
import type { Interaction, InteractionInvite, InteractionParticipant, InteractionRouting } from '../../runtime/interactions.ts';
import { accountOf, bodyOf, originOf, pageRequest, pathOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import type { Params } from '../params.ts';
import { ApiError, notFound } from '../twilio-errors.ts';

const INTERACTIONS = '/v1/Interactions';
const CHANNEL_TYPES = ['voice', 'sms', 'email', 'web', 'whatsapp', 'chat', 'messenger', 'gbm'] as const;
const PARTICIPANT_TYPES = ['supervisor', 'customer', 'external', 'agent', 'unknown'] as const;
const SID = (prefix: string): RegExp => new RegExp(`^${prefix}[0-9a-fA-F]{32}$`);

const bad = (field: string, message: string): ApiError => new ApiError(400, 20001, message, field);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A JSON object parameter (the client sends `serialize.object`: JSON text); required unless `optional`. */
function jsonParam(body: Params, name: string, optional = false): Json | undefined {
  const text = body.string(name);
  if (text === undefined || text === '') {
    if (optional) return undefined;
    throw bad(name, `Missing required parameter ${name} in the post body`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad(name, `${name} must be a JSON object`);
  }
  if (!isObject(v)) throw bad(name, `${name} must be a JSON object`);
  return v;
}

function sidField(v: unknown, prefix: string, field: string): string {
  if (typeof v !== 'string' || !SID(prefix).test(v)) throw bad(field, `${field} must be a ${prefix} SID`);
  return `${prefix}${v.slice(2).toLowerCase()}`;
}

/** `Routing.properties` → the task to create; `defaults` fill what an invite may leave out. */
function routingOf(api: Api, req: FastifyRequest, routing: Json, defaults: { workspaceSid?: string; taskChannel: string }): InteractionRouting {
  const p = routing['properties'];
  if (!isObject(p)) throw bad('Routing.properties', 'Routing.properties must be a JSON object');
  const workspaceSid = p['workspace_sid'] === undefined && defaults.workspaceSid !== undefined ? defaults.workspaceSid : sidField(p['workspace_sid'], 'WS', 'Routing.properties.workspace_sid');
  if (api.runtime.workspace(accountOf(req), workspaceSid) === undefined) throw bad('Routing.properties.workspace_sid', `Workspace ${workspaceSid} was not found`);
  const workflowSid = sidField(p['workflow_sid'], 'WW', 'Routing.properties.workflow_sid');
  const tc = p['task_channel_unique_name'] ?? p['task_channel_sid'] ?? defaults.taskChannel;
  if (typeof tc !== 'string' || tc === '') throw bad('Routing.properties.task_channel_unique_name', 'Routing.properties.task_channel_unique_name must be a task channel unique name');
  let attributes: unknown = p['attributes'] ?? {};
  if (typeof attributes === 'string') {
    try {
      attributes = JSON.parse(attributes);
    } catch {
      throw bad('Routing.properties.attributes', 'Routing.properties.attributes must be a JSON object');
    }
  }
  if (!isObject(attributes)) throw bad('Routing.properties.attributes', 'Routing.properties.attributes must be a JSON object');
  const out: InteractionRouting = { workspaceSid, workflowSid, taskChannel: tc, attributes };
  for (const [key, field, min, max] of [['priority', 'priority', 0, 2 ** 31 - 1], ['timeout', 'timeoutS', 1, 365 * 86_400]] as const) {
    const v = p[key];
    if (v === undefined || v === null) continue;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw bad(`Routing.properties.${key}`, `Routing.properties.${key} must be an integer from ${min} to ${max}`);
    out[field] = n;
  }
  return out;
}

export function interactionRoutes(app: FastifyInstance, api: Api): void {
  const hosting = api.runtime.conversations;
  const param = (req: FastifyRequest, name: string): string => (req.params as Record<string, string>)[name] ?? '';
  const interactionOf = (req: FastifyRequest): Interaction => {
    const i = hosting.interaction(accountOf(req), param(req, 'InteractionSid'));
    if (i === undefined) throw notFound(pathOf(req));
    return i;
  };
  const channelOf = (req: FastifyRequest): Interaction => {
    const i = interactionOf(req);
    if (i.channel.sid !== param(req, 'ChannelSid')) throw notFound(pathOf(req));
    return i;
  };
  const base = (req: FastifyRequest, i: Interaction): string => `${originOf(api, req)}${INTERACTIONS}/${i.sid}`;
  const channelUrl = (req: FastifyRequest, i: Interaction): string => `${base(req, i)}/Channels/${i.channel.sid}`;

  /** The task as Flex shows it under `routing.properties` (dates in epoch seconds). */
  const taskProperties = (req: FastifyRequest, workspaceSid: string, taskSid: string): Json => {
    const engine = api.runtime.workspace(accountOf(req), workspaceSid);
    const t = engine?.tasks.get(taskSid);
    if (engine === undefined || t === undefined) return { sid: taskSid, workspace_sid: workspaceSid, account_sid: accountOf(req) };
    const now = Math.max(api.clock(), engine.now);
    const s = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));
    return {
      account_sid: accountOf(req),
      workspace_sid: workspaceSid,
      sid: t.sid,
      date_created: s(t.dateCreated),
      date_updated: s(t.dateUpdated),
      attributes: t.attributesJson,
      assignment_status: t.assignmentStatus,
      workflow_sid: t.workflowSid,
      workflow_name: t.workflowSid === null ? null : (engine.workflows.get(t.workflowSid)?.friendlyName ?? null),
      queue_sid: t.taskQueueSid,
      queue_name: t.taskQueueSid === null ? null : (engine.queues.get(t.taskQueueSid)?.record.friendlyName ?? null),
      priority: t.priority,
      age: Math.max(0, Math.floor((now - t.dateCreated) / 1000)),
      age_in_queue: t.taskQueueEnteredAt === null ? 0 : Math.max(0, Math.floor((now - t.taskQueueEnteredAt) / 1000)),
      task_queue_entered_date: s(t.taskQueueEnteredAt),
      reason: t.reason ?? '',
      timeout: t.timeoutS,
      assignmentCounter: t.reservationSids.length,
      task_channel_sid: t.taskChannelSid,
      task_channel_unique_name: engine.channels.get(t.taskChannelSid)?.uniqueName ?? null,
      routing_target: t.routingTarget,
      addons: t.addons,
    };
  };
  const routingJson = (req: FastifyRequest, inv: InteractionInvite | undefined): Json | null =>
    inv === undefined ? null : { reservation: null, properties: taskProperties(req, inv.workspaceSid, inv.taskSid) };
  const interactionJson = (req: FastifyRequest, i: Interaction): Json => ({
    sid: i.sid,
    channel: { ...i.channel.sent, type: i.channel.type, sid: i.channel.sid },
    routing: routingJson(req, i.channel.invites[0]) ?? i.routing,
    url: base(req, i),
    links: { channels: `${base(req, i)}/Channels` },
    interaction_context_sid: i.interactionContextSid,
    webhook_ttid: i.webhookTtid,
  });
  const channelJson = (req: FastifyRequest, i: Interaction): Json => {
    const url = channelUrl(req, i);
    return {
      sid: i.channel.sid,
      interaction_sid: i.sid,
      type: i.channel.type,
      status: i.channel.status,
      error_code: i.channel.errorCode,
      error_message: i.channel.errorMessage,
      url,
      links: { participants: `${url}/Participants`, invites: `${url}/Invites`, transfers: `${url}/Transfers` },
    };
  };
  const inviteJson = (req: FastifyRequest, i: Interaction, inv: InteractionInvite): Json => ({
    sid: inv.sid,
    interaction_sid: i.sid,
    channel_sid: i.channel.sid,
    routing: routingJson(req, inv),
    url: `${channelUrl(req, i)}/Invites/${inv.sid}`,
  });
  const participantJson = (req: FastifyRequest, i: Interaction, p: InteractionParticipant): Json => ({
    sid: p.sid,
    type: p.type,
    interaction_sid: i.sid,
    channel_sid: i.channel.sid,
    url: `${channelUrl(req, i)}/Participants/${p.sid}`,
    routing_properties: p.routingProperties,
  });
  const defaultTaskChannel = (type: string): string => (type === 'sms' ? 'sms' : type === 'voice' ? 'voice' : 'chat');

  app.post(INTERACTIONS, async (req) => {
    const body = bodyOf(req);
    const channel = jsonParam(body, 'Channel') as Json;
    const type = channel['type'];
    if (typeof type !== 'string' || !(CHANNEL_TYPES as readonly string[]).includes(type)) throw bad('Channel.type', `Channel.type must be one of ${CHANNEL_TYPES.join(', ')}`);
    const initiatedBy = channel['initiated_by'] ?? 'customer';
    if (typeof initiatedBy !== 'string' || initiatedBy === '') throw bad('Channel.initiated_by', 'Channel.initiated_by must be a string');
    const props = channel['properties'];
    let conversationSid: string | null = null;
    let participant: InteractionInput['channel']['participant'] = null;
    if (isObject(props) && props['media_channel_sid'] !== undefined) conversationSid = sidField(props['media_channel_sid'], 'CH', 'Channel.properties.media_channel_sid');
    else if (Array.isArray(channel['participants']) && channel['participants'].length > 0) {
      const first = channel['participants'][0] as unknown;
      if (!isObject(first) || typeof first['address'] !== 'string' || first['address'] === '' || typeof first['proxy_address'] !== 'string' || first['proxy_address'] === '') {
        throw bad('Channel.participants', 'Channel.participants[0] needs address and proxy_address');
      }
      participant = { address: first['address'], proxyAddress: first['proxy_address'], name: typeof first['name'] === 'string' ? first['name'] : null };
    } else throw bad('Channel.properties.media_channel_sid', 'Channel needs properties.media_channel_sid (a conversation) or participants');
    const routingSent = jsonParam(body, 'Routing');
    if (routingSent === undefined) throw bad('Routing', 'Missing required parameter Routing in the post body');
    const routing = routingOf(api, req, routingSent, { taskChannel: defaultTaskChannel(type) });
    const input: InteractionInput = {
      channel: { type, initiatedBy, conversationSid, participant, sent: channel },
      routing,
      routingSent,
      interactionContextSid: body.string('InteractionContextSid') ?? null,
      webhookTtid: body.string('WebhookTtid') ?? null,
    };
    const i = await hosting.createInteraction(accountOf(req), input);
    return interactionJson(req, i);
  });
  app.get(`${INTERACTIONS}/:InteractionSid`, async (req) => interactionJson(req, interactionOf(req)));

  const C = `${INTERACTIONS}/:InteractionSid/Channels`;
  app.get(C, async (req) => {
    const i = interactionOf(req);
    return page(pageRequest(api, req, 'channels'), [i], (x) => x.channel.sid, (x) => channelJson(req, x));
  });
  app.get(`${C}/:ChannelSid`, async (req) => channelJson(req, channelOf(req)));
  app.post(`${C}/:ChannelSid`, async (req) => {
    const i = channelOf(req);
    const body = bodyOf(req);
    const status = body.oneOf('Status', ['closed', 'inactive']) as 'closed' | 'inactive' | undefined;
    if (status === undefined) throw bad('Status', 'Missing required parameter Status in the post body');
    const routing = jsonParam(body, 'Routing', true);
    let taskStatus: 'closed' | 'wrapup' | null = null;
    if (routing !== undefined) {
      const st = routing['status'];
      if (st !== 'closed' && st !== 'wrapup' && st !== 'wrapping') throw bad('Routing.status', 'Routing.status must be closed or wrapup');
      taskStatus = st === 'closed' ? 'closed' : 'wrapup';
    }
    if (status === 'inactive' && taskStatus !== 'closed') throw bad('Routing', 'Routing {"status":"closed"} is required when Status is inactive');
    const next = await hosting.updateChannel(accountOf(req), i.sid, i.channel.sid, status, taskStatus);
    return channelJson(req, next);
  });

  const I = `${C}/:ChannelSid/Invites`;
  app.get(I, async (req) => {
    const i = channelOf(req);
    return page(pageRequest(api, req, 'invites'), i.channel.invites, (x) => x.sid, (x) => inviteJson(req, i, x));
  });
  app.post(I, async (req) => {
    const i = channelOf(req);
    const routingSent = jsonParam(bodyOf(req), 'Routing') as Json;
    const first = i.channel.invites[0];
    const routing = routingOf(api, req, routingSent, { ...(first === undefined ? {} : { workspaceSid: first.workspaceSid }), taskChannel: defaultTaskChannel(i.channel.type) });
    const inv = await hosting.inviteToChannel(accountOf(req), i.sid, i.channel.sid, routing, routingSent);
    return inviteJson(req, hosting.interaction(accountOf(req), i.sid) ?? i, inv);
  });

  const P = `${C}/:ChannelSid/Participants`;
  app.get(P, async (req) => {
    const i = channelOf(req);
    return page(pageRequest(api, req, 'participants'), i.channel.participants, (x) => x.sid, (x) => participantJson(req, i, x));
  });
  app.post(P, async (req) => {
    const i = channelOf(req);
    const body = bodyOf(req);
    const type = body.oneOf('Type', PARTICIPANT_TYPES) as InteractionParticipant['type'] | undefined;
    if (type === undefined) throw bad('Type', 'Missing required parameter Type in the post body');
    const mediaProperties = jsonParam(body, 'MediaProperties') as Json;
    const routingProperties = jsonParam(body, 'RoutingProperties', true) ?? null;
    const p = await hosting.addChannelParticipant(accountOf(req), i.sid, i.channel.sid, { type, mediaProperties, routingProperties });
    return participantJson(req, i, p);
  });
  app.post(`${P}/:Sid`, async (req) => {
    const i = channelOf(req);
    const status = bodyOf(req).oneOf('Status', ['closed', 'wrapup']) as 'closed' | 'wrapup' | undefined;
    if (status === undefined) throw bad('Status', 'Missing required parameter Status in the post body');
    const p = await hosting.updateChannelParticipant(accountOf(req), i.sid, i.channel.sid, param(req, 'Sid'), status);
    return participantJson(req, i, p);
  });
}
