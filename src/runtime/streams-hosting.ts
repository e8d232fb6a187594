/**
 * The Event Streams core hosted by the runtime (issue 14 items 1–2; spec CEA B1–B6, D): one
 * {@link StreamsAccount} (src/streams) per account, kept under the account's SID as a core shard
 * (`isCoreShard`), its sinks and subscriptions written as `core_rows` (core `streams`, key = the
 * SID) in the batch's transaction. Every engine event of the account's workspaces that a
 * subscription covers becomes, in the same batch (`observe`), one outbox row per sink — kind
 * `stream.webhook` ({@link StreamWebhookPayload}) for a webhook sink, `stream.nats`
 * ({@link StreamNatsPayload}) for a NATS JetStream sink: the CloudEvent and where it goes — in the
 * account's lane; src/webhooks/stream-webhooks.ts and stream-nats.ts deliver them (retried 4 h).
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
import type { CoreContext, HostedCore } from './core.ts';

export const STREAMS_CORE = 'streams';
export const STREAM_WEBHOOK_KIND = 'stream.webhook';
export const STREAM_NATS_KIND = 'stream.nats';

/** The payload of a `stream.webhook` outbox row: one CloudEvent for one sink. */
export interface StreamWebhookPayload {
  accountSid: string;
  sinkSid: string;
  destination: string;
  method: 'POST' | 'GET';
  batchEvents: boolean;
  /** When the row was queued (epoch ms): retries stop 4 hours later (B4). */
  queuedAt: number;
  event: CloudEvent;
}

/** The payload of a `stream.nats` outbox row: one CloudEvent for one NATS JetStream sink. */
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
  event: CloudEvent;
}

export class StreamsHosting implements HostedCore {
  private readonly shards = new Map<string, StreamsAccount>();
  private readonly touched = new Set<string>();
  private outbound: Array<{ workspaceSid: string; kind: string; payload: string }> = [];
  private readonly run: <T>(key: string, op: (ctx: CoreContext) => T) => Promise<T>;
  private readonly newSid: (prefix: string) => string;
  private readonly accountOf: (workspaceSid: string) => string | undefined;

  /**
   * @param run queues an operation into the runtime's next batch under the account's SID
   * @param accountOf the account of a workspace (undefined when unknown)
   */
  constructor(run: <T>(key: string, op: (ctx: CoreContext) => T) => Promise<T>, newSid: (prefix: string) => string, accountOf: (workspaceSid: string) => string | undefined) {
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
    this.outbound = [];
    this.touched.clear();
  }

  forget(key: string): void {
    this.shards.delete(key);
  }

  close(): void {}

  workspaces(): string[] {
    return [];
  }

  nextDeadline(): number | null {
    return null;
  }

  advanceTo(): void {}

  /** The covered events of one engine command: one row per event and sink. */
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
    const outbox = this.outbound.map((o) => ({ workspaceSid: o.workspaceSid, kind: o.kind, payload: o.payload, dueAt: now }));
    this.outbound = [];
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

  /** One outbox row for the sink, in the account's lane; `subjectKey` names the NATS subject's last token (the workspace, or the account). */
  private queue(accountSid: string, sink: Sink, event: CloudEvent, now: number, subjectKey: string): void {
    const c = sink.sinkConfiguration;
    if (isNatsConfiguration(c)) {
      const payload: StreamNatsPayload = {
        accountSid, sinkSid: sink.sid, servers: c.servers, stream: c.stream, subjectPrefix: c.subject_prefix, duplicateWindowS: c.duplicate_window_s,
        subject: `${c.subject_prefix}.${subjectKey}`, queuedAt: now, event,
      };
      this.outbound.push({ workspaceSid: accountSid, kind: STREAM_NATS_KIND, payload: JSON.stringify(payload) });
      return;
    }
    const payload: StreamWebhookPayload = { accountSid, sinkSid: sink.sid, destination: c.destination, method: c.method, batchEvents: c.batch_events, queuedAt: now, event };
    this.outbound.push({ workspaceSid: accountSid, kind: STREAM_WEBHOOK_KIND, payload: JSON.stringify(payload) });
  }

  private shard(accountSid: string): StreamsAccount {
    let account = this.shards.get(accountSid);
    if (account === undefined) this.shards.set(accountSid, (account = new StreamsAccount(accountSid)));
    return account;
  }
}
