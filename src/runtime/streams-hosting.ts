/**
 * The Event Streams core hosted by the runtime (issue 14 items 1–2; spec CEA B1–B6, D): one
 * {@link StreamsAccount} (src/streams) per account, kept under the account's SID as a core shard
 * (`isCoreShard`), its sinks and subscriptions written as `core_rows` (core `streams`, key = the
 * SID) in the batch's transaction. Every engine event of the account's workspaces that a
 * subscription covers becomes, in the same batch (`observe`), one outbox row of kind
 * `stream.webhook` per sink ({@link StreamWebhookPayload}: the CloudEvent and where it goes), in the
 * account's lane; src/webhooks/stream-webhooks.ts delivers them (batched, signed, retried 4 h).
 */
import { randomUUID } from 'node:crypto';
import { describeEvent, type EngineEvent } from '../engine/index.ts';
import { StreamsAccount, StreamsError, taskRouterCloudEvent, testCloudEvent, type CloudEvent, type Sink, type Subscription } from '../streams/streams.ts';
import type { CoreWrites, Store } from '../store/store.ts';
import type { CoreContext, HostedCore } from './core.ts';

export const STREAMS_CORE = 'streams';
export const STREAM_WEBHOOK_KIND = 'stream.webhook';

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

export class StreamsHosting implements HostedCore {
  private readonly shards = new Map<string, StreamsAccount>();
  private readonly touched = new Set<string>();
  private outbound: Array<{ workspaceSid: string; payload: string }> = [];
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

  /** The covered events of one engine command: one `stream.webhook` row per event and sink. */
  observe(workspaceSid: string, events: readonly EngineEvent[], ctx: CoreContext): void {
    const accountSid = this.accountOf(workspaceSid);
    const account = accountSid === undefined ? undefined : this.shards.get(accountSid);
    if (accountSid === undefined || account === undefined || account.subscriptions.size === 0) return;
    for (const e of events) {
      for (const { sink, schemaVersion } of account.sinksFor(`com.twilio.taskrouter.${e.eventType}`)) {
        this.queue(accountSid, sink, taskRouterCloudEvent(accountSid, e, describeEvent(e), schemaVersion), ctx.now);
      }
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
    const outbox = this.outbound.map((o) => ({ workspaceSid: o.workspaceSid, kind: STREAM_WEBHOOK_KIND, payload: o.payload, dueAt: now }));
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
      this.queue(accountSid, sink, testCloudEvent(accountSid, testId, ctx.now), ctx.now);
      return testId;
    });
  }

  private queue(accountSid: string, sink: Sink, event: CloudEvent, now: number): void {
    const c = sink.sinkConfiguration;
    const payload: StreamWebhookPayload = { accountSid, sinkSid: sink.sid, destination: c.destination, method: c.method, batchEvents: c.batch_events, queuedAt: now, event };
    this.outbound.push({ workspaceSid: accountSid, payload: JSON.stringify(payload) });
  }

  private shard(accountSid: string): StreamsAccount {
    let account = this.shards.get(accountSid);
    if (account === undefined) this.shards.set(accountSid, (account = new StreamsAccount(accountSid)));
    return account;
  }
}
