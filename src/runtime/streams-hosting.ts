/**
 * The Event Streams core hosted by the runtime (issue 14 items 1–2; spec CEA B1–B6, D): one
 * {@link StreamsAccount} (src/streams) per account, kept under the account's SID as a core shard
 * (`isCoreShard`), its sinks and subscriptions written as `core_rows` (core `streams`, key = the
 * SID) in the batch's transaction. Every engine event of the account's workspaces that a
 * subscription covers goes, in the same batch (`observe`), into an outbox row of each sink — kind
 * `stream.webhook` ({@link StreamWebhookPayload}) for a webhook sink, `stream.nats`
 * ({@link StreamNatsPayload}) for a NATS JetStream sink: where the events go and the CloudEvents
 * themselves, in the account's lane. A batch writes one row per sink (per sink and subject for
 * NATS) holding up to {@link STREAM_ROW_MAX_EVENTS} events and {@link STREAM_ROW_MAX_BYTES} of
 * them (more make more rows), written in the batch's transaction like the events (no event lost
 * across a crash); src/webhooks/stream-webhooks.ts and stream-nats.ts deliver a row's events
 * together and retry the row as a whole (4 h; receivers de-duplicate by the events' ids, B4).
 * The conversations core's events (`com.twilio.conversations.*`, written under the account's SID)
 * reach the sinks the same way, in the batch that wrote them (`observeCoreEvents`).
 */
import { randomUUID } from 'node:crypto';
import { describeEvent, type EngineEvent } from '../engine/index.ts';
import {
  CONVERSATIONS_PREFIX, StreamsAccount, StreamsError, conversationsCloudEvent, isNatsConfiguration, taskRouterCloudEvent, testCloudEvent,
  type CloudEvent, type ConversationsEventRecord, type Sink, type Subscription,
} from '../streams/streams.ts';
import type { CoreWrites, Store } from '../store/store.ts';
import { type CoreContext, type HostedCore, UntimedCore } from './core.ts';

export const STREAMS_CORE = 'streams';
export const STREAM_WEBHOOK_KIND = 'stream.webhook';
export const STREAM_NATS_KIND = 'stream.nats';
/** CloudEvents one outbox row holds at most (a webhook batch's limit, B3). */
export const STREAM_ROW_MAX_EVENTS = 100;
/** The CloudEvents' JSON of one outbox row, bytes at most (a webhook batch's limit); a larger single event gets a row of its own. */
export const STREAM_ROW_MAX_BYTES = 1024 * 1024;

/** Where a `stream.webhook` row goes: the head of its payload (see {@link StreamRowPayload}). */
export interface StreamWebhookPayload {
  accountSid: string;
  sinkSid: string;
  destination: string;
  method: 'POST' | 'GET';
  batchEvents: boolean;
  /** When the row was queued (epoch ms): retries stop 4 hours later (B4). */
  queuedAt: number;
}

/** Where a `stream.nats` row goes: the head of its payload (see {@link StreamRowPayload}). */
export interface StreamNatsPayload {
  accountSid: string;
  sinkSid: string;
  /** NATS server URLs, comma-separated (one connection per distinct value). */
  servers: string;
  stream: string;
  /** The stream is created with the subjects `<subjectPrefix>.>` when missing. */
  subjectPrefix: string;
  /** The duplicate window a created stream gets, seconds. */
  duplicateWindowS: number;
  /** `<subjectPrefix>.<WorkspaceSid>`, or `<subjectPrefix>.<AccountSid>` for account-level events. */
  subject: string;
  /** When the row was queued (epoch ms): retries stop 4 hours later (B4). */
  queuedAt: number;
}

/**
 * The payload of a stream row (JSON): the head (`H`, where the events go), then the events of one
 * batch for one sink (and subject), 1–{@link STREAM_ROW_MAX_EVENTS}, in the order they were made:
 * `ids` (each CloudEvent's `id`), `lengths` (the length of each event's JSON text, UTF-16 code
 * units), `size` (the UTF-8 bytes of the events' texts joined by commas) and last `events`, the CloudEvents themselves. {@link readStreamRow} reads it without
 * parsing the events: it takes their JSON text as written, which is what a webhook body joins and
 * a NATS message carries. (A row written before rows held several events has one `event`
 * instead of the last three; it is read too.)
 */
export type StreamRowPayload<H> = H & { ids: string[]; lengths: number[]; size: number; events: CloudEvent[] };

/** A stream row as read back by {@link readStreamRow}. */
export interface StreamRow<H> {
  head: H;
  /** The events' ids, in order. */
  ids: string[];
  /** Each event's JSON text, in order. */
  texts(): string[];
  /** The events' JSON texts joined by commas (a JSON array's inside), as stored. */
  joined: string;
  /** The UTF-8 bytes of `joined`. */
  size: number;
}

/** `,"events":[` cannot occur in the head: a comma and a quote never follow each other inside a JSON string, and the head has no nested object. */
const EVENTS_KEY = ',"events":[';

/** The payload of a stream row, from its head and the events' JSON texts (events last: see {@link StreamRowPayload}). */
export function streamRowPayload(head: StreamWebhookPayload | StreamNatsPayload, ids: readonly string[], texts: readonly string[], size: number): string {
  const headJson = JSON.stringify({ ...head, ids, lengths: texts.map((t) => t.length), size });
  return `${headJson.slice(0, -1)}${EVENTS_KEY}${texts.join(',')}]}`;
}

/** Reads a stream row's payload (see {@link StreamRowPayload}). Throws SyntaxError when it is not one. */
export function readStreamRow<H>(payload: string): StreamRow<H> {
  const at = payload.indexOf(EVENTS_KEY);
  const head = at < 0 ? null : headOf<H>(payload.slice(0, at));
  if (head === null || !payload.endsWith(']}')) {
    // A row written before rows held several events (a nested `"events"` key of such a row's event leaves an unbalanced head).
    const { event, ...rest } = JSON.parse(payload) as H & { event?: CloudEvent };
    if (event === undefined) throw new SyntaxError('not a stream row payload');
    const text = JSON.stringify(event);
    return { head: rest as H, ids: [event.id], texts: () => [text], joined: text, size: Buffer.byteLength(text) };
  }
  const joined = payload.slice(at + EVENTS_KEY.length, payload.length - 2);
  const { lengths } = head;
  return {
    head: head.head,
    ids: head.ids,
    joined,
    size: head.size,
    texts: () => {
      const out: string[] = [];
      let from = 0;
      for (const length of lengths) {
        out.push(joined.slice(from, from + length));
        from += length + 1;
      }
      return out;
    },
  };
}

/** The head of a row's payload (its text up to `events`), or null when it is not one. */
function headOf<H>(text: string): { head: H; ids: string[]; lengths: number[]; size: number } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(`${text}}`);
  } catch {
    return null;
  }
  const { ids, lengths, size, ...head } = parsed as H & { ids?: unknown; lengths?: unknown; size?: unknown };
  if (!Array.isArray(ids) || !Array.isArray(lengths) || ids.length !== lengths.length || typeof size !== 'number') return null;
  return { head: head as H, ids: ids as string[], lengths: lengths as number[], size };
}

/** A row a batch is filling (one per sink, and subject for NATS). */
interface OpenRow {
  workspaceSid: string;
  kind: string;
  head: StreamWebhookPayload | StreamNatsPayload;
  ids: string[];
  texts: string[];
  /** 1 + the UTF-8 bytes of each event's JSON and a comma (a JSON array's size; the events' joined text is 2 less). */
  bytes: number;
}

export class StreamsHosting extends UntimedCore implements HostedCore {
  private readonly shards = new Map<string, StreamsAccount>();
  private readonly touched = new Set<string>();
  /** The rows of this batch being filled, by kind, sink and subject. */
  private open = new Map<string, OpenRow>();
  /** The rows of this batch that are full. */
  private full: Array<{ workspaceSid: string; kind: string; payload: string }> = [];
  private readonly run: <T>(key: string, op: (ctx: CoreContext) => T) => Promise<T>;
  private readonly newSid: (prefix: string) => string;
  private readonly accountOf: (workspaceSid: string) => string | undefined;

  /**
   * @param run queues an operation into the runtime's next batch under the account's SID
   * @param accountOf the account of a workspace (undefined when unknown)
   */
  constructor(run: <T>(key: string, op: (ctx: CoreContext) => T) => Promise<T>, newSid: (prefix: string) => string, accountOf: (workspaceSid: string) => string | undefined) {
    super();
    this.run = run;
    this.newSid = newSid;
    this.accountOf = accountOf;
  }

  // ── HostedCore ──

  async load(store: Store): Promise<void> {
    for (const r of await store.loadCoreRows(STREAMS_CORE)) this.shard(r.workspaceSid).restore(JSON.parse(r.body) as Sink | Subscription);
  }

  async reload(store: Store, key: string): Promise<void> {
    this.forget(key);
    for (const r of await store.loadCoreRowsOf(STREAMS_CORE, key)) this.shard(key).restore(JSON.parse(r.body) as Sink | Subscription);
  }

  discardBatch(): void {
    this.open.clear();
    this.full = [];
    this.touched.clear();
  }

  forget(key: string): void {
    this.shards.delete(key);
  }

  /** The covered events of one engine command: into the batch's row of each sink. */
  observe(workspaceSid: string, events: readonly EngineEvent[], ctx: CoreContext): void {
    const accountSid = this.accountOf(workspaceSid);
    if (accountSid !== undefined) this.queueEngineEvents(accountSid, events, ctx.now);
  }

  /**
   * The events the other cores wrote in this batch (the runtime hands them over before
   * {@link takeWrites}): the conversations core's, stored under the account's SID, go to the
   * account's sinks whose subscriptions cover their type.
   */
  observeCoreEvents(events: CoreWrites['events'], now: number): void {
    for (const { workspaceSid: key, event } of events) {
      if (!event.eventType.startsWith(CONVERSATIONS_PREFIX)) continue;
      const account = this.shards.get(key);
      if (account === undefined || account.subscriptions.size === 0) continue;
      for (const { sink, schemaVersion } of account.sinksFor(event.eventType)) {
        this.queue(key, sink, conversationsCloudEvent(key, event as ConversationsEventRecord, schemaVersion), now, key);
      }
    }
  }

  private queueEngineEvents(accountSid: string, events: readonly EngineEvent[], now: number): void {
    const account = this.shards.get(accountSid);
    if (account === undefined || account.subscriptions.size === 0) return;
    for (const e of events) {
      const sinks = account.sinksFor(`com.twilio.taskrouter.${e.eventType}`);
      if (sinks.length === 0) continue;
      const description = describeEvent(e);
      const workspaceSid = String(e.data['workspace_sid'] ?? '');
      for (const { sink, schemaVersion } of sinks) this.queue(accountSid, sink, taskRouterCloudEvent(accountSid, e, description, schemaVersion), now, workspaceSid === '' ? accountSid : workspaceSid);
    }
  }

  takeWrites(now: number): CoreWrites {
    const coreRows: NonNullable<CoreWrites['coreRows']>[number][] = [];
    for (const key of this.touched) {
      const account = this.shards.get(key);
      if (account === undefined) continue;
      for (const { sid, record } of account.takeDirty()) coreRows.push({ workspaceSid: key, core: STREAMS_CORE, key: sid, body: record === undefined ? null : JSON.stringify(record), updatedAt: now });
    }
    this.touched.clear();
    for (const row of this.open.values()) this.full.push({ workspaceSid: row.workspaceSid, kind: row.kind, payload: streamRowPayload(row.head, row.ids, row.texts, row.bytes - 2) });
    this.open.clear();
    const outbox = this.full.map((o) => ({ workspaceSid: o.workspaceSid, kind: o.kind, payload: o.payload, dueAt: now }));
    this.full = [];
    return { events: [], outbox, callbackStates: [], coreRows };
  }

  // ── operations ──

  /** The account's sinks and subscriptions, for reading (do not write through it: use {@link write}). */
  account(accountSid: string): StreamsAccount {
    return this.shards.get(accountSid) ?? new StreamsAccount(accountSid);
  }

  /**
   * Runs a write on the account's state in the runtime's next batch; resolves with `op`'s value
   * once durable, rejects with what `op` threw (a StreamsError: nothing changed).
   */
  write<T>(accountSid: string, op: (account: StreamsAccount, now: number, newSid: (prefix: string) => string) => T): Promise<T> {
    return this.run(accountSid, (ctx) => {
      const account = this.shard(accountSid);
      const value = op(account, ctx.now, this.newSid);
      this.touched.add(accountSid);
      return value;
    });
  }

  /** `POST /Sinks/{DG}/Test`: queues the test CloudEvent for the sink; resolves with its test id. */
  testSink(accountSid: string, sinkSid: string): Promise<string> {
    return this.run(accountSid, (ctx) => {
      const sink = this.shards.get(accountSid)?.sinks.get(sinkSid);
      if (sink === undefined) throw new StreamsError(404, 20404, `The requested resource Sink ${sinkSid} was not found`);
      const testId = randomUUID();
      this.queue(accountSid, sink, testCloudEvent(accountSid, testId, ctx.now), ctx.now, accountSid);
      return testId;
    });
  }

  /**
   * Queues the covered events of engine events made elsewhere — a replay's, as bench/stream.bench.ts
   * feeds them — for the account's sinks, in one batch of the runtime (the same rows as
   * {@link observe} writes); resolves once they are durable.
   */
  offerEngineEvents(accountSid: string, events: readonly EngineEvent[]): Promise<void> {
    return this.run(accountSid, (ctx) => this.queueEngineEvents(accountSid, events, ctx.now));
  }

  /**
   * Adds the event to the batch's row for the sink (and subject) in the account's lane, starting a
   * new row when it would hold more than {@link STREAM_ROW_MAX_EVENTS} events or
   * {@link STREAM_ROW_MAX_BYTES}; `subjectKey` names the NATS subject's last token (the workspace,
   * or the account).
   */
  private queue(accountSid: string, sink: Sink, event: CloudEvent, now: number, subjectKey: string): void {
    const c = sink.sinkConfiguration;
    const nats = isNatsConfiguration(c);
    const subject = nats ? `${c.subject_prefix}.${subjectKey}` : '';
    const key = `${accountSid} ${sink.sid} ${subject}`;
    const json = JSON.stringify(event);
    const bytes = Buffer.byteLength(json) + 1;
    let row = this.open.get(key);
    if (row !== undefined && (row.ids.length >= STREAM_ROW_MAX_EVENTS || row.bytes + bytes > STREAM_ROW_MAX_BYTES)) {
      this.full.push({ workspaceSid: row.workspaceSid, kind: row.kind, payload: streamRowPayload(row.head, row.ids, row.texts, row.bytes - 2) });
      row = undefined;
    }
    if (row === undefined) {
      const head: OpenRow['head'] = nats
        ? { accountSid, sinkSid: sink.sid, servers: c.servers, stream: c.stream, subjectPrefix: c.subject_prefix, duplicateWindowS: c.duplicate_window_s, subject, queuedAt: now }
        : { accountSid, sinkSid: sink.sid, destination: c.destination, method: c.method, batchEvents: c.batch_events, queuedAt: now };
      row = { workspaceSid: accountSid, kind: nats ? STREAM_NATS_KIND : STREAM_WEBHOOK_KIND, head, ids: [], texts: [], bytes: 1 };
      this.open.set(key, row);
    }
    row.ids.push(event.id);
    row.texts.push(json);
    row.bytes += bytes;
  }

  private shard(accountSid: string): StreamsAccount {
    let account = this.shards.get(accountSid);
    if (account === undefined) this.shards.set(accountSid, (account = new StreamsAccount(accountSid)));
    return account;
  }
}
