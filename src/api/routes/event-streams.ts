/**
 * The Event Streams API v1 (issue 14 items 1–2; spec CEA B1–B2, D; OpenAPI twilio_events_v1.json),
 * served beside the other /v1 APIs so that the official client drives it with
 * `client.events.baseUrl` pointed at this server:
 *
 * - `/v1/Sinks[/{DG}]` (webhook sinks; kinesis, segment and email are refused with a 400 naming
 *   what is supported), `/v1/Sinks/{DG}/Test` (queues the test CloudEvent), `/v1/Sinks/{DG}/Validate`
 *   (always `valid`: sinks are active on creation);
 * - `/v1/Subscriptions[/{DF}]`, `/v1/Subscriptions/{DF}/SubscribedEvents[/{Type}]`;
 * - read-only `/v1/Types[/{Type}]` and `/v1/Schemas/{Id}[/Versions[/{N}]]`: our catalogue
 *   (src/streams); a version's `raw` is a URL (as Twilio's), here `…/Versions/{N}/Raw`, which
 *   answers the JSON Schema document.
 *
 * Writes are durable when answered (runtime/streams-hosting.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EVENT_TYPES, SCHEMAS, StreamsError, checkType, eventType, latestVersion, parseSubscribedType, type EventTypeInfo, type SchemaVersion, type Sink, type StreamsAccount, type Subscription, type SubscribedType } from '../../streams/streams.ts';
import { accountOf, bodyOf, originOf, pageRequest, pathOf, queryOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import { isoDate } from '../serializers.ts';
import { ApiError, notFound } from '../twilio-errors.ts';

/** A sink as Event Streams v1 serializes it (twilio_events_v1.json `events.v1.sink`); dates ISO 8601. */
export function sinkJson(origin: string, s: Sink): Record<string, unknown> {
  const url = `${origin}/v1/Sinks/${s.sid}`;
  return {
    date_created: isoDate(s.dateCreated),
    date_updated: isoDate(s.dateUpdated),
    description: s.description,
    sid: s.sid,
    sink_configuration: s.sinkConfiguration,
    sink_type: s.sinkType,
    status: s.status,
    url,
    links: { sink_test: `${url}/Test`, sink_validate: `${url}/Validate` },
  };
}

/** A subscription as Event Streams v1 serializes it (`events.v1.subscription`); dates ISO 8601. */
export function subscriptionJson(origin: string, s: Subscription): Record<string, unknown> {
  const url = `${origin}/v1/Subscriptions/${s.sid}`;
  return {
    account_sid: s.accountSid,
    sid: s.sid,
    date_created: isoDate(s.dateCreated),
    date_updated: isoDate(s.dateUpdated),
    description: s.description,
    sink_sid: s.sinkSid,
    url,
    links: { subscribed_events: `${url}/SubscribedEvents` },
  };
}

function subscribedEventJson(origin: string, s: Subscription, t: SubscribedType): Record<string, unknown> {
  return { account_sid: s.accountSid, type: t.type, schema_version: t.schemaVersion, subscription_sid: s.sid, url: `${origin}/v1/Subscriptions/${s.sid}/SubscribedEvents/${t.type}` };
}

function typeJson(origin: string, t: EventTypeInfo, dateCreated: number): Record<string, unknown> {
  return {
    type: t.type,
    schema_id: t.schemaId,
    date_created: isoDate(dateCreated),
    date_updated: isoDate(dateCreated),
    description: t.description,
    status: t.status,
    documentation_url: null,
    url: `${origin}/v1/Types/${t.type}`,
    links: { schema: `${origin}/v1/Schemas/${t.schemaId}` },
  };
}

function schemaVersionJson(origin: string, id: string, v: SchemaVersion): Record<string, unknown> {
  const url = `${origin}/v1/Schemas/${id}/Versions/${v.version}`;
  return { id, schema_version: v.version, date_created: isoDate(v.dateCreated), url, raw: `${url}/Raw` };
}

/** Registers the Event Streams v1 routes (see the module comment); a core's refusal answers with its own status and code. */
export function eventStreamRoutes(app: FastifyInstance, api: Api): void {
  const hosting = api.runtime.streams;
  const param = (req: FastifyRequest, name: string): string => (req.params as Record<string, string>)[name] ?? '';
  const accountOfReq = (req: FastifyRequest): StreamsAccount => hosting.account(accountOf(req));
  const read = <T>(req: FastifyRequest, fn: (a: StreamsAccount) => T): T => {
    try {
      return fn(accountOfReq(req));
    } catch (error) {
      if (error instanceof StreamsError && error.status === 404) throw notFound(pathOf(req));
      throw error;
    }
  };
  const created = (reply: FastifyReply, body: unknown): FastifyReply => reply.code(201).send(body);

  // ── sinks ──
  app.get('/v1/Sinks', async (req) => {
    const q = queryOf(req);
    const inUse = q.boolean('InUse');
    const status = q.string('Status');
    const account = accountOfReq(req);
    const items = [...account.sinks.values()].filter((s) => (inUse === undefined || account.inUse(s.sid) === inUse) && (status === undefined || s.status === status));
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'sinks'), items, (s) => s.sid, (s) => sinkJson(origin, s));
  });
  app.post('/v1/Sinks', async (req, reply) => {
    const body = bodyOf(req);
    const input = { description: body.string('Description') ?? '', sinkType: body.string('SinkType') ?? '', sinkConfiguration: body.string('SinkConfiguration') ?? '' };
    if (input.sinkType === '') throw new ApiError(400, 20001, 'SinkType is required', 'SinkType');
    if (input.sinkConfiguration === '') throw new ApiError(400, 20001, 'SinkConfiguration is required', 'SinkConfiguration');
    const sink = await hosting.write(accountOf(req), (a, now, newSid) => a.createSink(newSid('DG'), input, now));
    return created(reply, sinkJson(originOf(api, req), sink));
  });
  app.get('/v1/Sinks/:Sid', async (req) => sinkJson(originOf(api, req), read(req, (a) => a.sink(param(req, 'Sid')))));
  app.post('/v1/Sinks/:Sid', async (req) => {
    read(req, (a) => a.sink(param(req, 'Sid')));
    const description = bodyOf(req).string('Description') ?? '';
    const sink = await hosting.write(accountOf(req), (a, now) => a.updateSink(param(req, 'Sid'), description, now));
    return sinkJson(originOf(api, req), sink);
  });
  app.delete('/v1/Sinks/:Sid', async (req, reply) => {
    read(req, (a) => a.sink(param(req, 'Sid')));
    await hosting.write(accountOf(req), (a) => a.deleteSink(param(req, 'Sid')));
    return reply.code(204).send();
  });
  app.post('/v1/Sinks/:Sid/Test', async (req, reply) => {
    read(req, (a) => a.sink(param(req, 'Sid')));
    await hosting.testSink(accountOf(req), param(req, 'Sid'));
    return created(reply, { result: 'submitted' });
  });
  app.post('/v1/Sinks/:Sid/Validate', async (req, reply) => {
    read(req, (a) => a.sink(param(req, 'Sid')));
    if ((bodyOf(req).string('TestId') ?? '') === '') throw new ApiError(400, 20001, 'TestId is required', 'TestId');
    return created(reply, { result: 'valid' });
  });

  // ── subscriptions ──
  app.get('/v1/Subscriptions', async (req) => {
    const sinkSid = queryOf(req).string('SinkSid');
    const items = [...accountOfReq(req).subscriptions.values()].filter((s) => sinkSid === undefined || s.sinkSid === sinkSid);
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'subscriptions'), items, (s) => s.sid, (s) => subscriptionJson(origin, s));
  });
  app.post('/v1/Subscriptions', async (req, reply) => {
    const body = bodyOf(req);
    const types = await body.all('Types').map((t) => parseSubscribedType(t));
    const input = { description: body.string('Description') ?? '', sinkSid: body.string('SinkSid') ?? '', types };
    const sub = await hosting.write(accountOf(req), (a, now, newSid) => a.createSubscription(newSid('DF'), input, now));
    return created(reply, subscriptionJson(originOf(api, req), sub));
  });
  app.get('/v1/Subscriptions/:Sid', async (req) => subscriptionJson(originOf(api, req), read(req, (a) => a.subscription(param(req, 'Sid')))));
  app.post('/v1/Subscriptions/:Sid', async (req) => {
    read(req, (a) => a.subscription(param(req, 'Sid')));
    const body = bodyOf(req);
    const input = { ...(body.has('Description') ? { description: body.string('Description') ?? '' } : {}), ...(body.has('SinkSid') ? { sinkSid: body.string('SinkSid') ?? '' } : {}) };
    const sub = await hosting.write(accountOf(req), (a, now) => a.updateSubscription(param(req, 'Sid'), input, now));
    return subscriptionJson(originOf(api, req), sub);
  });
  app.delete('/v1/Subscriptions/:Sid', async (req, reply) => {
    read(req, (a) => a.subscription(param(req, 'Sid')));
    await hosting.write(accountOf(req), (a) => a.deleteSubscription(param(req, 'Sid')));
    return reply.code(204).send();
  });

  // ── subscribed events ──
  const SE = '/v1/Subscriptions/:SubscriptionSid/SubscribedEvents';
  app.get(SE, async (req) => {
    const sub = read(req, (a) => a.subscription(param(req, 'SubscriptionSid')));
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'types'), sub.types, (t) => t.type, (t) => subscribedEventJson(origin, sub, t));
  });
  const putType = async (req: FastifyRequest, reply: FastifyReply, type: string, status: number): Promise<FastifyReply> => {
    read(req, (a) => a.subscription(param(req, 'SubscriptionSid')));
    const body = bodyOf(req);
    const t = await checkType(type, body.string('SchemaVersion'), 'SchemaVersion');
    const sub = await hosting.write(accountOf(req), (a, now) => a.putSubscribedType(param(req, 'SubscriptionSid'), t, now));
    return reply.code(status).send(subscribedEventJson(originOf(api, req), sub, t));
  };
  app.post(SE, async (req, reply) => {
    const type = bodyOf(req).string('Type') ?? '';
    if (type === '') throw new ApiError(400, 20001, 'Type is required', 'Type');
    return putType(req, reply, type, 201);
  });
  app.get(`${SE}/:Type`, async (req) => {
    const sub = read(req, (a) => a.subscription(param(req, 'SubscriptionSid')));
    const t = sub.types.find((x) => x.type === param(req, 'Type'));
    if (t === undefined) throw notFound(pathOf(req));
    return subscribedEventJson(originOf(api, req), sub, t);
  });
  app.post(`${SE}/:Type`, async (req, reply) => {
    const sub = read(req, (a) => a.subscription(param(req, 'SubscriptionSid')));
    if (!sub.types.some((x) => x.type === param(req, 'Type'))) throw notFound(pathOf(req));
    return putType(req, reply, param(req, 'Type'), 200);
  });
  app.delete(`${SE}/:Type`, async (req, reply) => {
    const sub = read(req, (a) => a.subscription(param(req, 'SubscriptionSid')));
    if (!sub.types.some((x) => x.type === param(req, 'Type'))) throw notFound(pathOf(req));
    await hosting.write(accountOf(req), (a, now) => a.putSubscribedType(param(req, 'SubscriptionSid'), { type: param(req, 'Type'), remove: true }, now));
    return reply.code(204).send();
  });

  // ── types and schemas (read-only catalogue) ──
  const schemaDate = (id: string): number => (SCHEMAS.get(id)?.[0]?.dateCreated ?? 0);
  app.get('/v1/Types', async (req) => {
    const schemaId = queryOf(req).string('SchemaId');
    const items = EVENT_TYPES.filter((t) => schemaId === undefined || t.schemaId === schemaId);
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'types'), items, (t) => t.type, (t) => typeJson(origin, t, schemaDate(t.schemaId)));
  });
  app.get('/v1/Types/:Type', async (req) => {
    const t = eventType(param(req, 'Type'));
    if (t === undefined) throw notFound(pathOf(req));
    return typeJson(originOf(api, req), t, schemaDate(t.schemaId));
  });
  const versionsOf = (req: FastifyRequest): readonly SchemaVersion[] => {
    const versions = SCHEMAS.get(param(req, 'Id'));
    if (versions === undefined) throw notFound(pathOf(req));
    return versions;
  };
  app.get('/v1/Schemas/:Id', async (req) => {
    const versions = versionsOf(req);
    const id = param(req, 'Id');
    const latest = versions[versions.length - 1] as SchemaVersion;
    const url = `${originOf(api, req)}/v1/Schemas/${id}`;
    return { id, url, links: { versions: `${url}/Versions` }, latest_version_date_created: isoDate(latest.dateCreated), latest_version: latestVersion(id) };
  });
  app.get('/v1/Schemas/:Id/Versions', async (req) => {
    const versions = versionsOf(req);
    const origin = originOf(api, req);
    return page(pageRequest(api, req, 'schema_versions'), versions, (v) => String(v.version), (v) => schemaVersionJson(origin, param(req, 'Id'), v));
  });
  app.get('/v1/Schemas/:Id/Versions/:Version', async (req) => {
    const v = versionsOf(req).find((x) => String(x.version) === param(req, 'Version'));
    if (v === undefined) throw notFound(pathOf(req));
    return schemaVersionJson(originOf(api, req), param(req, 'Id'), v);
  });
  // Our extension: the JSON Schema document a version's `raw` URL names.
  app.get('/v1/Schemas/:Id/Versions/:Version/Raw', async (req, reply) => {
    const v = versionsOf(req).find((x) => String(x.version) === param(req, 'Version'));
    if (v === undefined) throw notFound(pathOf(req));
    return reply.type('application/schema+json').send(v.raw);
  });
}
