/**
 * Event Streams (issue 14 items 1–2; spec conversations-events-analytics.md B1–B6, D): the pure part
 * — an account's sinks (`DG…`) and subscriptions (`DF…`) with their rules, the catalogue of event
 * types and JSON Schemas we publish (`/v1/Types`, `/v1/Schemas`), and the CloudEvents 1.0 envelope
 * (B3) of a TaskRouter engine event with its `TaskRouter.WDSEvent` data (B6) and of a stored
 * conversations event (`com.twilio.conversations.*`, CEA A6/C). The runtime hosts one
 * {@link StreamsAccount} per account (runtime/streams-hosting.ts) and turns the covered engine
 * events into outbox rows in the command's own batch; src/webhooks delivers them. Sink types: the
 * API's `webhook`, and `nats` (a NATS JetStream stream; our extension, docs/event-streams.md).
 *
 * No clock, no randomness: times and SIDs are handed in. Times are epoch milliseconds.
 */
import type { EngineEvent } from '../engine/index.ts';
import { StatusError } from '../util/status-error.ts';
import { isoInstant } from '../util/time.ts';

/** Sink types of the API (`SinkSinkType`), our `nats` extension, and the ones we deliver to. */
export const SINK_TYPES = ['kinesis', 'webhook', 'segment', 'email', 'nats'] as const;
export type SinkType = (typeof SINK_TYPES)[number];
export const SUPPORTED_SINK_TYPES: readonly SinkType[] = ['webhook', 'nats'];

/** A webhook sink's configuration (B1). */
export interface WebhookSinkConfiguration {
  destination: string;
  method: 'POST' | 'GET';
  batch_events: boolean;
}

/**
 * A `nats` sink's configuration (our extension): the NATS servers (`nats://host:port`, several
 * separated by commas), the JetStream stream the events go to (created when missing, with the
 * subjects `<subject_prefix>.>`), the prefix of the subjects (one per workspace:
 * `<subject_prefix>.<WorkspaceSid>`; account-level events: `<subject_prefix>.<AccountSid>`), and
 * the duplicate window the stream is created with, in seconds.
 */
export interface NatsSinkConfiguration {
  servers: string;
  stream: string;
  subject_prefix: string;
  duplicate_window_s: number;
}

export const DEFAULT_NATS_STREAM = 'SWITCHBOARD_EVENTS';
export const DEFAULT_NATS_SUBJECT_PREFIX = 'switchboard.events';
/** The duplicate window of a stream the sink creates (seconds): a redelivery within it is dropped by JetStream. */
export const DEFAULT_NATS_DUPLICATE_WINDOW_S = 600;

export interface Sink {
  sid: string;
  accountSid: string;
  description: string;
  sinkType: SinkType;
  sinkConfiguration: WebhookSinkConfiguration | NatsSinkConfiguration;
  /** Sinks are active on creation (D: validation is no longer needed). */
  status: 'initialized' | 'validating' | 'active' | 'failed';
  dateCreated: number;
  dateUpdated: number;
}

export interface SubscribedType {
  type: string;
  schemaVersion: number;
}

export interface Subscription {
  sid: string;
  accountSid: string;
  description: string;
  sinkSid: string;
  types: SubscribedType[];
  dateCreated: number;
  dateUpdated: number;
}

/** A refused request: HTTP status, Twilio error code, message, the parameter at fault (a {@link StatusError}). */
export class StreamsError extends StatusError {
  override name = 'StreamsError';
}

// ── catalogue (B2, B5) ──

/** TaskRouter callback names as stream types take them (`com.twilio.taskrouter.` + name; B5). */
export const TASKROUTER_EVENTS = [
  'task.created', 'task.updated', 'task.canceled', 'task.wrapup', 'task.completed', 'task.deleted', 'task.system-deleted',
  'task.transfer-initiated', 'task.transfer-attempt-failed', 'task.transfer-failed', 'task.transfer-canceled', 'task.transfer-completed',
  'reservation.created', 'reservation.accepted', 'reservation.rejected', 'reservation.timeout', 'reservation.canceled',
  'reservation.rescinded', 'reservation.wrapup', 'reservation.completed', 'reservation.failed',
  'task-queue.entered', 'task-queue.moved', 'task-queue.timeout', 'task-queue.created', 'task-queue.deleted', 'task-queue.expression.updated',
  'workflow.entered', 'workflow.target-matched', 'workflow.timeout', 'workflow.skipped', 'workflow.rejected',
  'worker.created', 'worker.deleted', 'worker.activity.update', 'worker.attributes.update', 'worker.capacity.update', 'worker.channel.availability.update',
] as const;

export const TASKROUTER_PREFIX = 'com.twilio.taskrouter.';
export const CONVERSATIONS_PREFIX = 'com.twilio.conversations.';

/**
 * Conversations event types on the stream (CEA A6, C: `com.twilio.conversations.` + resource +
 * change; the webhook `onDeliveryUpdated` has none): the events src/conversations stores. Each has
 * its own schema, `Conversations.<Name>` (e.g. `Conversations.MessageAdded`), versions 1 and 2 (v2
 * changed metadata only).
 */
export const CONVERSATIONS_EVENTS = [
  'conversation.added', 'conversation.updated', 'conversation.removed', 'conversation-state.updated',
  'message.added', 'message.updated', 'message.removed',
  'participant.added', 'participant.updated', 'participant.removed',
] as const;

/** The schema id of a conversations stream type: `message.added` → `Conversations.MessageAdded`. */
export function conversationsSchemaId(name: string): string {
  return `Conversations.${name.split(/[.-]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}`;
}
/** The API usage type (excluded from analytics subscriptions; we never emit it). */
export const RATE_LIMIT_TYPE = 'com.twilio.apiusage.taskrouter.ratelimits';
export const TEST_EVENT_TYPE = 'com.twilio.eventstreams.test-event';
export const WDS_SCHEMA = 'TaskRouter.WDSEvent';
export const TEST_SCHEMA = 'EventStreams.TestSink';
export const RATE_LIMIT_SCHEMA = 'ApiUsage.TaskRouterRateLimits';
/** The default base of `dataschema` (B3 [DECISION]: configurable). */
export const DEFAULT_SCHEMA_BASE = 'https://events-schemas.twilio.com';
/** When our catalogue's entries were made (the dates `/v1/Types` and `/v1/Schemas` show). */
export const CATALOGUE_DATE = 1_767_225_600_000; // 2026-01-01T00:00:00Z

export interface EventTypeInfo {
  type: string;
  schemaId: string;
  description: string;
  status: 'available' | 'deprecated' | 'restricted' | 'discontinued';
}

/** Every event type we publish, in catalogue order. */
export const EVENT_TYPES: readonly EventTypeInfo[] = [
  ...TASKROUTER_EVENTS.map((name) => ({ type: TASKROUTER_PREFIX + name, schemaId: WDS_SCHEMA, description: `TaskRouter ${name.replace(/[.-]/g, ' ')}`, status: 'available' as const })),
  { type: RATE_LIMIT_TYPE, schemaId: RATE_LIMIT_SCHEMA, description: 'TaskRouter API rate limits (never emitted by Switchboard)', status: 'available' },
  ...CONVERSATIONS_EVENTS.map((name) => ({ type: CONVERSATIONS_PREFIX + name, schemaId: conversationsSchemaId(name), description: `Conversations ${name.replace(/[.-]/g, ' ')}`, status: 'available' as const })),
];

const typeIndex = new Map(EVENT_TYPES.map((t) => [t.type, t]));

export function eventType(type: string): EventTypeInfo | undefined {
  return typeIndex.get(type);
}

/** Every payload field of B6 with its JSON type; `v` = the schema version that added it. */
const WDS_FIELDS: ReadonlyArray<[string, string | string[], number?]> = [
  ['sid', 'string'], ['eventtype', 'string'], ['account_sid', 'string'], ['timestamp', 'integer'], ['workspace_sid', 'string'],
  ['workspace_name', 'string'], ['resource_type', 'string'], ['resource_sid', 'string'], ['event_description', 'string'],
  ['task_sid', 'string'], ['task_attributes', 'string'], ['task_age', 'integer'], ['task_age_in_queue', 'integer'], ['task_priority', 'integer'],
  ['task_assignment_status', 'string'], ['task_date_created', 'integer'], ['task_queue_entered_date', 'integer'], ['task_canceled_reason', 'string'],
  ['task_completed_reason', 'string'], ['task_re_evaluated_reason', 'string'], ['task_channel_sid', 'string'], ['task_channel_unique_name', 'string'],
  ['task_routing_target', 'string'], ['task_version', 'integer'], ['task_transfer_sid', 'string'], ['reason', 'string'],
  ['task_queue_sid', 'string'], ['task_queue_name', 'string'], ['task_queue_target_expression', 'string'], ['previous_task_queue_sid', 'string'],
  ['previous_task_queue_name', 'string'], ['previous_task_priority', 'integer'], ['workflow_sid', 'string'], ['workflow_name', 'string'],
  ['workflow_filter_name', 'string'], ['workflow_filter_expression', 'string'], ['workflow_filter_target_name', 'string'],
  ['workflow_filter_target_expression', 'string'], ['target_changed_reason', 'string'],
  ['reservation_sid', 'string'], ['reservation_version', 'integer'], ['reservation_reason_code', 'integer'],
  ['worker_sid', 'string'], ['worker_name', 'string'], ['worker_attributes', 'string'], ['worker_activity_sid', 'string'], ['worker_activity_name', 'string'],
  ['worker_previous_activity_sid', 'string'], ['worker_previous_activity_name', 'string'], ['worker_time_in_previous_activity', 'integer'],
  ['worker_time_in_previous_activity_ms', 'integer', 2], ['worker_version', 'integer'], ['worker_channel_capacity', 'integer'],
  ['worker_channel_previous_capacity', 'integer'], ['worker_channel_available', 'boolean'], ['worker_channel_available_capacity', 'integer'],
  ['worker_channel_task_count', 'integer'],
  ['transfer_initiating_reservation_sid', 'string'], ['transfer_initiating_worker_sid', 'string'], ['transfer_mode', 'string'], ['transfer_type', 'string'],
  ['transfer_status', 'string'], ['transfer_started', 'integer'], ['transfer_to', 'string'], ['transfer_failed_reason', 'string'],
];

/** Numbers and booleans the engine may also hold as strings (the form callbacks' habit): the schema allows both. */
function fieldSchema(t: string | string[]): Record<string, unknown> {
  const types = Array.isArray(t) ? t : [t];
  return { type: [...new Set([...types, ...(types.includes('string') ? [] : ['string']), 'null'])] };
}

function wdsSchema(version: number): Record<string, unknown> {
  const payload: Record<string, unknown> = {};
  for (const [name, t, since] of WDS_FIELDS) if ((since ?? 1) <= version) payload[name] = fieldSchema(t);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${DEFAULT_SCHEMA_BASE}/${WDS_SCHEMA}/${version}.json`,
    title: `${WDS_SCHEMA} v${version}`,
    type: 'object',
    required: ['sid', 'name', 'account_sid', 'timestamp', 'level', 'group', 'product_name', 'payload_type', 'payload'],
    properties: {
      sid: { type: 'string' }, name: { type: 'string' }, account_sid: { type: 'string' }, account_friendly_name: { type: ['string', 'null'] },
      parent_account_sid: { type: ['string', 'null'] }, parent_friendly_name: { type: ['string', 'null'] }, timestamp: { type: 'string' },
      level: { type: 'string' }, group: { type: 'string' }, product_name: { const: 'TaskRouter' }, publisher: { type: ['string', 'null'] },
      publisher_metadata: { type: 'string' }, payload_type: { const: 'application/json' },
      payload: { type: 'object', required: ['sid', 'eventtype', 'account_sid', 'timestamp', 'workspace_sid', 'resource_type', 'resource_sid'], properties: payload },
    },
  };
}

/** Fields a conversations event's `data` may carry (CEA A6, C; the stream's names, e.g. `MessageBody`). */
const CONVERSATIONS_FIELDS = [
  'AccountSid', 'ChatServiceSid', 'ConversationSid', 'MessagingServiceSid', 'FriendlyName', 'UniqueName', 'Attributes', 'DateCreated', 'DateUpdated',
  'State', 'StateFrom', 'StateTo', 'Reason', 'StateUpdated', 'MessageSid', 'Index', 'Author', 'MessageBody', 'MessageSubject', 'Media', 'ContentSid',
  'ParticipantSid', 'Identity', 'RoleSid', 'MessagingBinding', 'Source',
];

function conversationsSchema(schemaId: string, version: number): Record<string, unknown> {
  const properties: Record<string, unknown> = Object.fromEntries(CONVERSATIONS_FIELDS.map((f) => [f, { type: ['string', 'integer', 'object', 'array', 'null'] }]));
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: `${DEFAULT_SCHEMA_BASE}/${schemaId}/${version}.json`, title: `${schemaId} v${version}`, type: 'object', required: ['AccountSid', 'ConversationSid'], properties };
}

export interface SchemaVersion {
  version: number;
  dateCreated: number;
  /** The JSON Schema document (text). */
  raw: string;
}

/** The schemas we publish: id → versions, oldest first. TaskRouter.WDSEvent: v1–v4, older ones as field subsets (B6). */
export const SCHEMAS: ReadonlyMap<string, readonly SchemaVersion[]> = new Map([
  [WDS_SCHEMA, [1, 2, 3, 4].map((v) => ({ version: v, dateCreated: CATALOGUE_DATE, raw: JSON.stringify(wdsSchema(v)) }))],
  [TEST_SCHEMA, [{ version: 1, dateCreated: CATALOGUE_DATE, raw: JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: TEST_SCHEMA, type: 'object', required: ['test_id'], properties: { test_id: { type: 'string' } } }) }]],
  [RATE_LIMIT_SCHEMA, [{ version: 1, dateCreated: CATALOGUE_DATE, raw: JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: RATE_LIMIT_SCHEMA, type: 'object' }) }]],
  ...CONVERSATIONS_EVENTS.map((name): [string, SchemaVersion[]] => {
    const id = conversationsSchemaId(name);
    return [id, [1, 2].map((v) => ({ version: v, dateCreated: CATALOGUE_DATE, raw: JSON.stringify(conversationsSchema(id, v)) }))];
  }),
]);

export function latestVersion(schemaId: string): number {
  const versions = SCHEMAS.get(schemaId);
  return versions === undefined ? 0 : (versions[versions.length - 1] as SchemaVersion).version;
}

// ── sinks and subscriptions (B1, B2) ──

function jsonObject(text: string, field: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StreamsError(400, 20001, `${field} must be a JSON object`, field);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new StreamsError(400, 20001, `${field} must be a JSON object`, field);
  return parsed as Record<string, unknown>;
}

/**
 * Checks a sink type and its `SinkConfiguration` (JSON text): webhook (B1) and nats sinks are
 * delivered to; the other types of the API are refused naming both.
 * @throws StreamsError 400 naming `SinkType` or `SinkConfiguration` (with the key at fault)
 */
export function parseSinkConfiguration(sinkType: string, configuration: string): WebhookSinkConfiguration | NatsSinkConfiguration {
  if (!(SINK_TYPES as readonly string[]).includes(sinkType)) throw new StreamsError(400, 20001, `SinkType must be one of ${SINK_TYPES.join(', ')}`, 'SinkType');
  if (!(SUPPORTED_SINK_TYPES as readonly string[]).includes(sinkType)) {
    throw new StreamsError(400, 20001, `SinkType ${sinkType} is not supported by this server; supported: ${SUPPORTED_SINK_TYPES.join(' and ')}`, 'SinkType');
  }
  const c = jsonObject(configuration, 'SinkConfiguration');
  return sinkType === 'nats' ? parseNatsConfiguration(c) : parseWebhookConfiguration(c);
}

/** A subject token or stream name: letters, digits, `_` and `-` (no `.`, wildcards or spaces). */
const NATS_NAME = /^[A-Za-z0-9_-]+$/;

function parseNatsConfiguration(c: Record<string, unknown>): NatsSinkConfiguration {
  const bad = (key: string, why: string): StreamsError => new StreamsError(400, 20001, `SinkConfiguration.${key} ${why}`, 'SinkConfiguration');
  const servers = c['servers'];
  if (typeof servers !== 'string' || servers.trim() === '') throw bad('servers', 'is required: nats://host:port, several separated by commas');
  const list = servers.split(',').map((u) => u.trim());
  for (const u of list) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw bad('servers', `must be nats://host:port URLs; got ${u === '' ? '(empty)' : u}`);
    }
    if (!/^(nats|tls):$/.test(url.protocol) || url.hostname === '') throw bad('servers', `must be nats://host:port URLs; got ${u}`);
  }
  const stream = c['stream'] ?? DEFAULT_NATS_STREAM;
  if (typeof stream !== 'string' || !NATS_NAME.test(stream) || stream.length > 64) throw bad('stream', 'must be a JetStream stream name: 1–64 letters, digits, _ or -');
  const prefix = c['subject_prefix'] ?? DEFAULT_NATS_SUBJECT_PREFIX;
  if (typeof prefix !== 'string' || prefix.length > 200 || !prefix.split('.').every((t) => NATS_NAME.test(t))) {
    throw bad('subject_prefix', 'must be NATS subject tokens (letters, digits, _ or -) separated by dots, without wildcards');
  }
  const window = c['duplicate_window_s'] ?? DEFAULT_NATS_DUPLICATE_WINDOW_S;
  if (typeof window !== 'number' || !Number.isInteger(window) || window < 1 || window > 86_400) throw bad('duplicate_window_s', 'must be a whole number of seconds from 1 to 86400');
  const known = new Set(['servers', 'stream', 'subject_prefix', 'duplicate_window_s']);
  const unknown = Object.keys(c).find((k) => !known.has(k));
  if (unknown !== undefined) throw bad(unknown, 'is not a nats sink setting (servers, stream, subject_prefix, duplicate_window_s)');
  return { servers: list.join(','), stream, subject_prefix: prefix, duplicate_window_s: window };
}

function parseWebhookConfiguration(c: Record<string, unknown>): WebhookSinkConfiguration {
  const destination = c['destination'];
  if (typeof destination !== 'string' || !/^https?:\/\//i.test(destination)) throw new StreamsError(400, 20001, 'SinkConfiguration.destination must be an http(s) URL', 'SinkConfiguration');
  try {
    new URL(destination);
  } catch {
    throw new StreamsError(400, 20001, 'SinkConfiguration.destination must be an http(s) URL', 'SinkConfiguration');
  }
  const method = c['method'] === undefined ? 'POST' : String(c['method']).toUpperCase();
  if (method !== 'POST' && method !== 'GET') throw new StreamsError(400, 20001, 'SinkConfiguration.method must be POST or GET', 'SinkConfiguration');
  const batch = c['batch_events'];
  if (batch !== undefined && typeof batch !== 'boolean' && batch !== 'true' && batch !== 'false') throw new StreamsError(400, 20001, 'SinkConfiguration.batch_events must be a boolean', 'SinkConfiguration');
  return { destination, method, batch_events: batch === true || batch === 'true' };
}

/** One `Types` value of a subscription (`{"type":…,"schema_version":…}`; schema version absent: the latest). */
export function parseSubscribedType(text: string, field = 'Types'): SubscribedType {
  const o = jsonObject(text, field);
  return checkType(String(o['type'] ?? ''), o['schema_version'], field);
}

export function checkType(type: string, version: unknown, field: string): SubscribedType {
  const info = eventType(type);
  if (info === undefined) throw new StreamsError(400, 20001, `Unknown event type ${type === '' ? '(none)' : type}`, field);
  const latest = latestVersion(info.schemaId);
  if (version === undefined || version === null || version === '') return { type, schemaVersion: latest };
  const n = Number(version);
  if (!Number.isInteger(n) || n < 1 || n > latest) throw new StreamsError(400, 20001, `schema_version of ${type} must be between 1 and ${latest}`, field);
  return { type, schemaVersion: n };
}

/**
 * One account's sinks and subscriptions. Mutators throw a {@link StreamsError} and change nothing
 * when refused; `dirty` collects the SIDs changed since the last {@link takeDirty}.
 */
/** Whether a sink's configuration is a nats sink's. */
export function isNatsConfiguration(c: WebhookSinkConfiguration | NatsSinkConfiguration): c is NatsSinkConfiguration {
  return 'servers' in c;
}

export class StreamsAccount {
  readonly sinks = new Map<string, Sink>();
  readonly subscriptions = new Map<string, Subscription>();
  private dirty = new Set<string>();

  readonly accountSid: string;

  constructor(accountSid: string) {
    this.accountSid = accountSid;
  }

  restore(record: Sink | Subscription): void {
    if (record.sid.startsWith('DG')) this.sinks.set(record.sid, record as Sink);
    else this.subscriptions.set(record.sid, record as Subscription);
  }

  /** SIDs written since the last call (their current record, or undefined when deleted). */
  takeDirty(): Array<{ sid: string; record: Sink | Subscription | undefined }> {
    const out = [...this.dirty].map((sid) => ({ sid, record: this.sinks.get(sid) ?? this.subscriptions.get(sid) }));
    this.dirty = new Set();
    return out;
  }

  createSink(sid: string, input: { description: string; sinkType: string; sinkConfiguration: string }, now: number): Sink {
    if (input.description === '') throw new StreamsError(400, 20001, 'Description is required', 'Description');
    const sinkConfiguration = parseSinkConfiguration(input.sinkType, input.sinkConfiguration);
    const sink: Sink = { sid, accountSid: this.accountSid, description: input.description, sinkType: input.sinkType as SinkType, sinkConfiguration, status: 'active', dateCreated: now, dateUpdated: now };
    this.sinks.set(sid, sink);
    this.dirty.add(sid);
    return sink;
  }

  updateSink(sid: string, description: string, now: number): Sink {
    const sink = this.sink(sid);
    if (description === '') throw new StreamsError(400, 20001, 'Description is required', 'Description');
    const next = { ...sink, description, dateUpdated: now };
    this.sinks.set(sid, next);
    this.dirty.add(sid);
    return next;
  }

  /** Deletes a sink no subscription uses. */
  deleteSink(sid: string): void {
    this.sink(sid);
    const user = [...this.subscriptions.values()].find((s) => s.sinkSid === sid);
    if (user !== undefined) throw new StreamsError(400, 20001, `Sink ${sid} is in use by subscription ${user.sid}`, 'Sid');
    this.sinks.delete(sid);
    this.dirty.add(sid);
  }

  inUse(sinkSid: string): boolean {
    return [...this.subscriptions.values()].some((s) => s.sinkSid === sinkSid);
  }

  sink(sid: string): Sink {
    const sink = this.sinks.get(sid);
    if (sink === undefined) throw new StreamsError(404, 20404, `The requested resource Sink ${sid} was not found`);
    return sink;
  }

  subscription(sid: string): Subscription {
    const sub = this.subscriptions.get(sid);
    if (sub === undefined) throw new StreamsError(404, 20404, `The requested resource Subscription ${sid} was not found`);
    return sub;
  }

  createSubscription(sid: string, input: { description: string; sinkSid: string; types: SubscribedType[] }, now: number): Subscription {
    if (input.description === '') throw new StreamsError(400, 20001, 'Description is required', 'Description');
    const sink = this.sinks.get(input.sinkSid);
    if (sink === undefined) throw new StreamsError(400, 20001, `Sink ${input.sinkSid} was not found`, 'SinkSid');
    if (sink.status !== 'active') throw new StreamsError(400, 20001, `Sink ${input.sinkSid} is not active`, 'SinkSid');
    if (input.types.length === 0) throw new StreamsError(400, 20001, 'Types is required', 'Types');
    const types = new Map<string, SubscribedType>();
    for (const t of input.types) types.set(t.type, t);
    const sub: Subscription = { sid, accountSid: this.accountSid, description: input.description, sinkSid: input.sinkSid, types: [...types.values()], dateCreated: now, dateUpdated: now };
    this.subscriptions.set(sid, sub);
    this.dirty.add(sid);
    return sub;
  }

  updateSubscription(sid: string, input: { description?: string; sinkSid?: string }, now: number): Subscription {
    const sub = this.subscription(sid);
    if (input.sinkSid !== undefined && this.sinks.get(input.sinkSid)?.status !== 'active') throw new StreamsError(400, 20001, `Sink ${input.sinkSid} was not found or is not active`, 'SinkSid');
    const next = { ...sub, ...(input.description === undefined ? {} : { description: input.description }), ...(input.sinkSid === undefined ? {} : { sinkSid: input.sinkSid }), dateUpdated: now };
    this.subscriptions.set(sid, next);
    this.dirty.add(sid);
    return next;
  }

  deleteSubscription(sid: string): void {
    this.subscription(sid);
    this.subscriptions.delete(sid);
    this.dirty.add(sid);
  }

  /** Adds or updates one subscribed type; removes it with `remove`. */
  putSubscribedType(sid: string, t: SubscribedType | { type: string; remove: true }, now: number): Subscription {
    const sub = this.subscription(sid);
    const types = sub.types.filter((x) => x.type !== t.type);
    if ('remove' in t) {
      if (types.length === sub.types.length) throw new StreamsError(404, 20404, `The requested resource SubscribedEvent ${t.type} was not found`);
    } else {
      types.push(t);
    }
    const next = { ...sub, types, dateUpdated: now };
    this.subscriptions.set(sid, next);
    this.dirty.add(sid);
    return next;
  }

  /** The sinks a type goes to, each once, with the schema version its subscriptions ask for (the highest). */
  sinksFor(type: string): Array<{ sink: Sink; schemaVersion: number }> {
    const out = new Map<string, { sink: Sink; schemaVersion: number }>();
    for (const sub of this.subscriptions.values()) {
      const t = sub.types.find((x) => x.type === type);
      const sink = this.sinks.get(sub.sinkSid);
      if (t === undefined || sink === undefined || sink.status !== 'active') continue;
      const seen = out.get(sink.sid);
      if (seen === undefined || seen.schemaVersion < t.schemaVersion) out.set(sink.sid, { sink, schemaVersion: t.schemaVersion });
    }
    return [...out.values()];
  }
}

// ── the envelope (B3, B6) ──

/** A CloudEvents 1.0 event in structured JSON mode. */
export interface CloudEvent {
  specversion: '1.0';
  type: string;
  source: string;
  id: string;
  time: string;
  dataschema: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

/** The stream event id of an engine event: `EZ` + the event SID's digits (stable across re-deliveries). */
export function streamEventId(eventSid: string): string {
  return `EZ${eventSid.slice(2)}`;
}

/** The payload fields of each `TaskRouter.WDSEvent` version (made once per version). */
const WDS_FIELDS_OF = new Map<number, ReadonlySet<string>>();

function wdsFieldsOf(schemaVersion: number): ReadonlySet<string> {
  let fields = WDS_FIELDS_OF.get(schemaVersion);
  if (fields === undefined) WDS_FIELDS_OF.set(schemaVersion, (fields = new Set(WDS_FIELDS.filter(([, , since]) => (since ?? 1) <= schemaVersion).map(([name]) => name))));
  return fields;
}

/** The `data` of a TaskRouter stream event (B6), with the payload fields `schemaVersion` has. */
export function wdsData(accountSid: string, e: EngineEvent, description: string, schemaVersion: number): Record<string, unknown> {
  const allowed = wdsFieldsOf(schemaVersion);
  const payload: Record<string, unknown> = {};
  const data = e.data;
  for (const key in data) {
    const value = data[key];
    if (value !== null && value !== undefined && allowed.has(key)) payload[key] = value;
  }
  payload['sid'] = e.sid;
  payload['eventtype'] = e.eventType;
  payload['account_sid'] = accountSid;
  payload['timestamp'] = e.at;
  payload['workspace_sid'] = String(data['workspace_sid'] ?? '');
  payload['workspace_name'] = String(data['workspace_name'] ?? '');
  payload['resource_type'] = e.resourceType;
  payload['resource_sid'] = e.resourceSid;
  payload['event_description'] = description;
  return {
    sid: e.sid,
    name: e.eventType,
    account_sid: accountSid,
    account_friendly_name: null,
    parent_account_sid: null,
    parent_friendly_name: null,
    timestamp: isoInstant(e.at),
    level: 'INFO',
    group: e.resourceType,
    product_name: 'TaskRouter',
    publisher: payload['workspace_name'],
    publisher_metadata: '{}',
    payload_type: 'application/json',
    payload,
  };
}

/** The CloudEvent of a TaskRouter engine event (B3). */
export function taskRouterCloudEvent(accountSid: string, e: EngineEvent, description: string, schemaVersion: number, schemaBase = DEFAULT_SCHEMA_BASE): CloudEvent {
  return {
    specversion: '1.0',
    type: TASKROUTER_PREFIX + e.eventType,
    source: `/v1/Accounts/${accountSid}/Workspaces/${String(e.data['workspace_sid'] ?? '')}`,
    id: streamEventId(e.sid),
    time: isoInstant(e.at),
    dataschema: `${schemaBase}/${WDS_SCHEMA}/${schemaVersion}.json`,
    datacontenttype: 'application/json',
    data: wdsData(accountSid, e, description, schemaVersion),
  };
}

/** The test event `POST /v1/Sinks/{DG}/Test` sends (D). */
export function testCloudEvent(accountSid: string, testId: string, now: number, schemaBase = DEFAULT_SCHEMA_BASE): CloudEvent {
  return {
    specversion: '1.0',
    type: TEST_EVENT_TYPE,
    source: 'Sink',
    id: accountSid,
    time: isoInstant(now),
    dataschema: `${schemaBase}/${TEST_SCHEMA}/1.json`,
    datacontenttype: 'application/json',
    data: { test_id: testId },
  };
}

/**
 * A conversations event as src/conversations stores it under the account (runtime
 * conversations-hosting.ts): its stream type, instant (epoch ms), conversation and webhook-style
 * form parameters (`ConversationSid`, `Body`, `MessagingBinding.Address` …).
 */
export interface ConversationsEventRecord {
  sid: string;
  eventType: string;
  at: number;
  resourceSid: string;
  source?: string;
  data?: Record<string, string>;
}

/** Parameters the stream names differently from the webhook (CEA A6: `MessageBody`, `MessageSubject`). */
const CONVERSATIONS_RENAMES: Readonly<Record<string, string>> = { Body: 'MessageBody', Subject: 'MessageSubject' };
/** Parameters that are numbers on the stream. */
const CONVERSATIONS_NUMBERS = new Set(['Index']);

/**
 * The `data` of a conversations stream event (CEA A6, C): the webhook's parameters under the
 * stream's names — `Body` → `MessageBody`, `Subject` → `MessageSubject`, `MessagingBinding.X` →
 * `MessagingBinding: {X}`, `Index` a number, `Media` parsed from its JSON — plus `AccountSid`.
 */
export function conversationsData(accountSid: string, params: Readonly<Record<string, string>>): Record<string, unknown> {
  const data: Record<string, unknown> = { AccountSid: accountSid };
  const binding: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (key.startsWith('MessagingBinding.')) binding[key.slice('MessagingBinding.'.length)] = value;
    else if (CONVERSATIONS_NUMBERS.has(key) && /^\d+$/.test(value)) data[key] = Number(value);
    else if (key === 'Media') data[key] = parseJsonOr(value);
    else data[CONVERSATIONS_RENAMES[key] ?? key] = value;
  }
  if (Object.keys(binding).length > 0) data['MessagingBinding'] = binding;
  return data;
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The CloudEvent of a stored conversations event (B3; type `com.twilio.conversations.*`, schema `Conversations.<Name>`). */
export function conversationsCloudEvent(accountSid: string, e: ConversationsEventRecord, schemaVersion: number, schemaBase = DEFAULT_SCHEMA_BASE): CloudEvent {
  const schemaId = eventType(e.eventType)?.schemaId ?? conversationsSchemaId(e.eventType.slice(CONVERSATIONS_PREFIX.length));
  return {
    specversion: '1.0',
    type: e.eventType,
    source: `/v1/Conversations/${e.resourceSid}`,
    id: streamEventId(e.sid),
    time: isoInstant(e.at),
    dataschema: `${schemaBase}/${schemaId}/${schemaVersion}.json`,
    datacontenttype: 'application/json',
    data: conversationsData(accountSid, { ConversationSid: e.resourceSid, ...(e.data ?? {}) }),
  };
}
