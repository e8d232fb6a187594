/**
 * The conversations core hosted by the runtime (issue 13; DESIGN.md "Cores and the one runtime";
 * spec conversations-events-analytics.md A, C; docs/conversations.md). One ConversationsCenter per
 * account, kept under the account's SID as its own shard of the runtime (`isCoreShard`): writes are
 * operations in the runtime's batches, its state timers are part of the runtime's one timer, its
 * records are written as `core_rows` (core `conversations`: `config`, `CH…`, `MB…`, `IM…`, `WH…`,
 * `IG…`) in the batch's transaction, its webhooks and outbound messages leave through the outbox
 * (`conversation.webhook`, `message.send`), and its events are stored with the account's events
 * under their Event Streams names (`com.twilio.conversations.*`).
 *
 * The built-in **inactivity timeout** (A8) is here too, because it joins the two worlds: a policy
 * per workspace and task channel; when a reservation for a task whose attributes name a
 * conversation (`conversationSid`) is accepted, the conversation's inactive timer is set from the
 * policy (every message restarts it, the core's rule); when it fires (`inactive`, Reason `TIMER`),
 * in the same turn: the task is completed (or wrapped) with reason `inactivity-timeout`, the
 * timeout message is added, and the conversation is closed.
 *
 * The **web chat** endpoint's sessions are here too (routes/webchat.ts; docs/conversations.md "Web
 * chat"): a guest's conversation started on an address of type `chat` (the auto-creation path, the
 * built-in route with channel type `web`), reached with a random bearer token kept only as its
 * SHA-256 (core rows `webchat:<hash>` of the account's shard).
 *
 * Times are epoch milliseconds unless a name says seconds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ConversationError, ConversationsCenter, type CenterChanges, type CenterSnapshot, type Conversation, type ConversationEffect, type ConversationEvent, type ConversationOutcome } from '../conversations/index.ts';
import type { EngineEvent, WorkspaceEngine } from '../engine/index.ts';
import type { CoreWrites, EventRecord, Store } from '../store/store.ts';
import type { Scheduler } from '../util/scheduler.ts';
import type { InboundMessage, MessagingInbound, MessagingPort } from '../conversations/messaging-port.ts';
import type { CoreContext, HostedCore } from './core.ts';
import type { OutboxDeliverer, OutboxDelivery } from './outbox.ts';
import { a7Attributes, type Interaction, type InteractionChannel, type InteractionInvite, type InteractionParticipant, type InteractionRouting } from './interactions.ts';

/** The core name of the conversation rows in the store. */
export const CONVERSATIONS_CORE = 'conversations';

/** The payload of a `conversation.webhook` outbox row. */
export interface ConversationWebhookPayload {
  accountSid: string;
  url: string;
  method: 'GET' | 'POST';
  params: Record<string, string>;
}

/** The payload of a `message.send` outbox row: a message for a messaging participant. */
export interface MessageSendPayload {
  accountSid: string;
  conversationSid: string;
  messageSid: string;
  to: string;
  from: string;
  body: string | null;
  mediaSid: string | null;
}

/**
 * The inactivity timeout of chats of one task channel in one workspace (A8). Durations in SECONDS.
 */
export interface InactivityPolicy {
  workspaceSid: string;
  /** Task channel SID (`TC…`). */
  taskChannelSid: string;
  /** Seconds without a message before the chat times out (≥ 60). */
  inactiveSeconds: number;
  /** Seconds before the conversation closes by itself (0: no closed timer; else ≥ 600). */
  closedSeconds: number;
  /** Sent to the customer when the chat times out. */
  timeoutMessage: string;
  /** What becomes of the task: completed (default) or wrapping. */
  onTimeout: 'complete' | 'wrapup';
  /** Close the conversation after the message (default true). */
  closeConversation: boolean;
  dateCreated: number;
  dateUpdated: number;
}

/** A conversation watched by a policy: its task and the policy's workspace. */
interface Watch {
  conversationSid: string;
  workspaceSid: string;
  taskSid: string;
  taskChannelSid: string;
}

/** A web chat session: the guest's conversation and identity (stored under the SHA-256 of its token). */
export interface WebChatSession {
  accountSid: string;
  conversationSid: string;
  /** The guest's chat identity (`guest-…`), the author of the guest's messages. */
  identity: string;
  dateCreated: number;
}

/** What {@link ConversationsHosting.startWebChat} answers: the bearer token, given once. */
export interface WebChatStart {
  token: string;
  accountSid: string;
  conversationSid: string;
  identity: string;
}

/** The SHA-256 (hex) of a web chat token: what is stored and looked up, never the token. */
export function webChatTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

interface Shard {
  accountSid: string;
  center: ConversationsCenter;
  /** Conversation SID → the task the inactivity policy watches for it. */
  watches: Map<string, Watch>;
  /** Row keys of watches changed since the last write. */
  dirtyWatches: Set<string>;
  /** Flex Interactions (`KD…`) of the account's conversations (interactions.ts). */
  interactions: Map<string, Interaction>;
  dirtyInteractions: Set<string>;
  /** Web chat sessions by the SHA-256 (hex) of their token. */
  sessions: Map<string, WebChatSession>;
  dirtySessions: Set<string>;
}

/** What `POST /v1/Interactions` asks for, parsed (the route checks the JSON's shape). */
export interface InteractionInput {
  channel: {
    type: string;
    initiatedBy: string;
    /** `properties.media_channel_sid`: an existing conversation. */
    conversationSid: string | null;
    /** `participants`: the messaging participant of a new conversation. */
    participant: { address: string; proxyAddress: string; name: string | null } | null;
    sent: Record<string, unknown>;
  };
  routing: InteractionRouting;
  routingSent: unknown;
  interactionContextSid: string | null;
  webhookTtid: string | null;
}

/** The service SID of an account's default conversation service: derived from the account, stable across restarts. */
export function defaultServiceSid(accountSid: string): string {
  return `IS${accountSid.slice(2)}`;
}

/** Conversations webhook names → Event Streams type names (CEA-spec A6, C). */
export function streamTypeOf(webhookEvent: string): string {
  const m = /^on(Conversation|Message|Participant|Delivery|User)(State)?(Added|Updated|Removed)$/.exec(webhookEvent);
  if (m === null) return `com.twilio.conversations.${webhookEvent}`;
  const resource = (m[1] as string).toLowerCase() + (m[2] === undefined ? '' : '-state');
  return `com.twilio.conversations.${resource}.${(m[3] as string).toLowerCase()}`;
}

/**
 * The conversations cores of every account (see the module comment): a {@link HostedCore} for the
 * runtime, and the operations behind the Conversations REST API.
 */
export class ConversationsHosting implements HostedCore, MessagingInbound {
  /** The messaging network (SMS, WhatsApp), or null: messages for messaging participants are then dropped (logged by the dispatcher as delivered). */
  readonly messaging: MessagingPort | null;
  private readonly shards = new Map<string, Shard>();
  /** Workspace → task channel SID → its policy. */
  private readonly policies = new Map<string, Map<string, InactivityPolicy>>();
  private readonly dirtyPolicies = new Set<string>();
  private readonly touched = new Set<string>();
  private events: Array<{ workspaceSid: string; event: EventRecord }> = [];
  private outbound: Array<{ workspaceSid: string; kind: 'conversation.webhook' | 'message.send'; payload: string }> = [];
  private readonly scheduler: Scheduler;
  private readonly run: <T>(key: string, op: (ctx: CoreContext) => T) => Promise<T>;
  private readonly newSid: (prefix: string) => string;

  /**
   * @param run queues an operation into the runtime's next batch under a key (an account SID for a
   *   shard, a workspace SID for a policy); resolves with its value once durable
   * @param newSid the runtime's SID source
   */
  constructor(scheduler: Scheduler, run: <T>(key: string, op: (ctx: CoreContext) => T) => Promise<T>, newSid: (prefix: string) => string, messaging: MessagingPort | null = null) {
    this.scheduler = scheduler;
    this.run = run;
    this.newSid = newSid;
    this.messaging = messaging;
    messaging?.attach(this);
  }

  /**
   * How the dispatcher delivers `message.send` rows: to the messaging port, at least once (the
   * port sends each message SID once), one lane per account (destination `messaging`), in order.
   */
  deliverers(): Record<'message.send', OutboxDeliverer> {
    return {
      'message.send': {
        destination: 'messaging',
        guarantee: 'at-least-once',
        orderKey: (d: OutboxDelivery) => {
          try {
            return (JSON.parse(d.payload) as MessageSendPayload).to;
          } catch {
            return null;
          }
        },
        deliver: async (d: OutboxDelivery) => {
          const p = JSON.parse(d.payload) as MessageSendPayload;
          await this.messaging?.send({ messageSid: p.messageSid, conversationSid: p.conversationSid, accountSid: p.accountSid, to: p.to, from: p.from, body: p.body, mediaSid: p.mediaSid }, this.scheduler.now());
        },
      },
    };
  }

  /**
   * A customer's message from the messaging network: to the account whose address configuration or
   * open conversation takes it (the first one found), in the runtime's next batch. Resolves true
   * once durable, false when no account takes it.
   */
  async received(message: InboundMessage): Promise<boolean> {
    for (const accountSid of [...this.shards.keys()].filter(isAccountKey)) {
      const taken = await this.run(accountSid, (ctx) => {
        const s = this.shardFor(accountSid);
        this.catchUp(s, ctx);
        const out = s.center.inbound({ from: message.from, to: message.to, body: message.body }, { at: ctx.now, source: 'SYSTEM' });
        if (out === null) return false;
        this.apply(s, out, ctx);
        if (out.events.some((e) => e.eventType === 'onConversationAdded')) this.autoRoute(s, out.conversation.sid, message.to, { type: null, address: message.from, name: message.from }, ctx);
        return true;
      });
      if (taken) return true;
    }
    return false;
  }

  // ── HostedCore ──

  async load(store: Store): Promise<void> {
    const rows = await store.loadCoreRows(CONVERSATIONS_CORE);
    const byKey = new Map<string, Array<{ key: string; body: string }>>();
    for (const r of rows) {
      let list = byKey.get(r.workspaceSid);
      if (list === undefined) byKey.set(r.workspaceSid, (list = []));
      list.push(r);
    }
    for (const [key, list] of byKey) this.restore(key, list);
  }

  async reload(store: Store, key: string): Promise<void> {
    this.forget(key);
    const rows = await store.loadCoreRowsOf(CONVERSATIONS_CORE, key);
    if (rows.length > 0) this.restore(key, rows);
  }

  discardBatch(): void {
    this.events = [];
    this.outbound = [];
    this.touched.clear();
  }

  forget(key: string): void {
    this.shards.delete(key);
    this.policies.delete(key);
  }

  close(): void {}

  workspaces(): string[] {
    return [...this.shards.keys()];
  }

  nextDeadline(key: string): number | null {
    return this.shards.get(key)?.center.nextDeadline() ?? null;
  }

  advanceTo(key: string, ctx: CoreContext): void {
    const s = this.shards.get(key);
    if (s !== undefined) this.catchUp(s, ctx);
  }

  /** Fires the shard's timers due by the batch's instant (before any write at that instant: the core's rule). */
  private catchUp(s: Shard, ctx: CoreContext): void {
    const due = s.center.nextDeadline();
    if (due !== null && due <= ctx.now) this.apply(s, s.center.advanceTo(ctx.now), ctx);
  }

  /** Reservation accepted for a conversation task under a policy: the conversation's timers are set from it (A8 step 1). */
  observe(workspaceSid: string, events: readonly EngineEvent[], ctx: CoreContext): void {
    const policies = this.policies.get(workspaceSid);
    if (policies === undefined) return;
    for (const e of events) {
      if (e.eventType !== 'reservation.accepted') continue;
      const engine = ctx.engine(workspaceSid);
      const task = engine?.tasks.get(String(e.data['task_sid'] ?? ''));
      if (engine === undefined || task === undefined) continue;
      const policy = policies.get(task.taskChannelSid);
      const conversationSid = conversationOf(task.attributes);
      if (policy === undefined || conversationSid === null) continue;
      const s = this.shardOfConversation(conversationSid);
      if (s === undefined || s.center.conversation(conversationSid) === undefined) continue;
      this.catchUp(s, ctx);
      const timers = { timersInactive: `PT${policy.inactiveSeconds}S`, ...(policy.closedSeconds > 0 ? { timersClosed: `PT${policy.closedSeconds}S` } : {}) };
      try {
        this.apply(s, s.center.updateConversation(conversationSid, timers, { at: ctx.now, source: 'SYSTEM' }), ctx);
      } catch (error) {
        if (!(error instanceof ConversationError)) throw error; // a closed conversation: nothing to watch
        continue;
      }
      const watch: Watch = { conversationSid, workspaceSid, taskSid: task.sid, taskChannelSid: task.taskChannelSid };
      s.watches.set(conversationSid, watch);
      s.dirtyWatches.add(conversationSid);
      this.touched.add(s.accountSid);
    }
  }

  takeWrites(now: number): CoreWrites {
    const coreRows: NonNullable<CoreWrites['coreRows']>[number][] = [];
    for (const key of this.touched) {
      const s = this.shards.get(key);
      if (s !== undefined) {
        rowsOf(key, s.center.takeChanges(), s.center, now, coreRows);
        for (const sid of s.dirtyWatches) {
          const w = s.watches.get(sid);
          coreRows.push({ workspaceSid: key, core: CONVERSATIONS_CORE, key: `watch:${sid}`, body: w === undefined ? null : JSON.stringify(w), updatedAt: now });
        }
        s.dirtyWatches.clear();
        for (const sid of s.dirtyInteractions) {
          const i = s.interactions.get(sid);
          coreRows.push({ workspaceSid: key, core: CONVERSATIONS_CORE, key: `interaction:${sid}`, body: i === undefined ? null : JSON.stringify(i), updatedAt: now });
        }
        s.dirtyInteractions.clear();
        for (const hash of s.dirtySessions) {
          const session = s.sessions.get(hash);
          coreRows.push({ workspaceSid: key, core: CONVERSATIONS_CORE, key: `webchat:${hash}`, body: session === undefined ? null : JSON.stringify(session), updatedAt: now });
        }
        s.dirtySessions.clear();
      }
    }
    for (const ws of this.dirtyPolicies) {
      const map = this.policies.get(ws) ?? new Map<string, InactivityPolicy>();
      // One row per workspace: its policies (few).
      coreRows.push({ workspaceSid: ws, core: CONVERSATIONS_CORE, key: 'policies', body: map.size === 0 ? null : JSON.stringify([...map.values()]), updatedAt: now });
    }
    this.dirtyPolicies.clear();
    this.touched.clear();
    const events = this.events;
    this.events = [];
    const outbox = this.outbound.map((o) => ({ workspaceSid: o.workspaceSid, kind: o.kind, payload: o.payload, dueAt: now }));
    this.outbound = [];
    return { events, outbox, callbackStates: [], coreRows };
  }

  // ── operations ──

  /**
   * The account's center for reading (created empty on first use; not saved until written). Do
   * not write through it: use {@link write}.
   */
  center(accountSid: string): ConversationsCenter {
    return this.shardFor(accountSid).center;
  }

  /**
   * Runs a write on the account's center in the runtime's next batch and carries out what it
   * caused (webhooks, messages, the policy's reaction). Resolves with `op`'s value once durable;
   * rejects with what `op` threw (a ConversationError: nothing changed) or the store's error.
   */
  write<T extends object>(accountSid: string, op: (center: ConversationsCenter, at: number) => T): Promise<T> {
    return this.run(accountSid, (ctx) => {
      const s = this.shardFor(accountSid);
      this.catchUp(s, ctx);
      const out = op(s.center, ctx.now);
      const o = out as Partial<ConversationOutcome>;
      this.apply(s, { events: o.events ?? [], effects: o.effects ?? [] }, ctx);
      return out;
    });
  }

  /** The workspace's inactivity policies. */
  policiesOf(workspaceSid: string): InactivityPolicy[] {
    return [...(this.policies.get(workspaceSid)?.values() ?? [])];
  }

  /**
   * Sets (or with null removes) the inactivity policy of a task channel, durably. Rejects with a
   * ConversationError 400/20001 naming the field for a bad value (times in SECONDS).
   */
  putPolicy(workspaceSid: string, taskChannelSid: string, input: Omit<InactivityPolicy, 'workspaceSid' | 'taskChannelSid' | 'dateCreated' | 'dateUpdated'> | null): Promise<InactivityPolicy | null> {
    return this.run(workspaceSid, (ctx) => {
      let map = this.policies.get(workspaceSid);
      if (input === null) {
        map?.delete(taskChannelSid);
        this.dirtyPolicies.add(workspaceSid);
        return null;
      }
      if (!Number.isInteger(input.inactiveSeconds) || input.inactiveSeconds < 60 || input.inactiveSeconds > 365 * 86_400) throw new ConversationError(400, 20001, 'InactiveTimeout must be at least PT1M and at most P365D', 'InactiveTimeout');
      if (!Number.isInteger(input.closedSeconds) || (input.closedSeconds !== 0 && input.closedSeconds < 600) || input.closedSeconds > 365 * 86_400) throw new ConversationError(400, 20001, 'ClosedTimeout must be PT0S (none) or at least PT10M and at most P365D', 'ClosedTimeout');
      if (input.timeoutMessage.length > 1_600) throw new ConversationError(400, 20001, 'TimeoutMessage must be at most 1,600 characters', 'TimeoutMessage');
      if (map === undefined) this.policies.set(workspaceSid, (map = new Map()));
      const old = map.get(taskChannelSid);
      const policy: InactivityPolicy = { workspaceSid, taskChannelSid, ...input, dateCreated: old?.dateCreated ?? ctx.now, dateUpdated: ctx.now };
      map.set(taskChannelSid, policy);
      this.dirtyPolicies.add(workspaceSid);
      return policy;
    });
  }

  // ── Web chat (routes/webchat.ts) ──

  /**
   * `POST /webchat/v1/Sessions`: a guest's conversation on the web chat address `address` (an
   * address configuration of type `chat` with auto-creation enabled, in the first account that has
   * one): the conversation, the guest's chat participant (a fresh random identity, `name` in its
   * attributes as `friendlyName`), its first message when `body` is given, and — when the address
   * routes — its task (channel type `web`), all in one batch. Resolves with the token (random, 256
   * bits; only its SHA-256 is kept) once durable; null when no account has such an address.
   * Rejects with a ConversationError for a bad `Body` or `Name`.
   */
  async startWebChat(input: { address: string; name: string | null; body: string | null }): Promise<WebChatStart | null> {
    const usable = (accountSid: string): boolean => {
      const a = this.shards.get(accountSid)?.center.address(input.address);
      return a !== undefined && a.type === 'chat' && a.autoCreation.enabled;
    };
    const accountSid = [...this.shards.keys()].filter(isAccountKey).find(usable);
    if (accountSid === undefined) return null;
    if (input.name !== null && (input.name.length === 0 || input.name.length > 256)) throw new ConversationError(400, 20001, 'Name must be 1 to 256 characters', 'Name');
    const token = randomBytes(32).toString('base64url');
    const hash = webChatTokenHash(token);
    const identity = `guest-${randomBytes(12).toString('hex')}`;
    return this.run(accountSid, (ctx) => {
      const s = this.shardFor(accountSid);
      this.catchUp(s, ctx);
      const attributes = JSON.stringify(input.name === null ? { webChat: true } : { webChat: true, friendlyName: input.name });
      const out = s.center.startChat({ to: input.address, identity, body: input.body, attributes }, { at: ctx.now, source: 'SDK' });
      if (out === null) return null;
      this.apply(s, out, ctx);
      const conversationSid = out.conversation.sid;
      s.sessions.set(hash, { accountSid, conversationSid, identity, dateCreated: ctx.now });
      s.dirtySessions.add(hash);
      this.autoRoute(s, conversationSid, input.address, { type: 'web', address: identity, name: input.name ?? identity }, ctx);
      return { token, accountSid, conversationSid, identity };
    });
  }

  /** The session of a web chat token, or undefined (unknown token, or its conversation was deleted). */
  webChatSession(token: string): WebChatSession | undefined {
    const hash = webChatTokenHash(token);
    for (const s of this.shards.values()) {
      const session = s.sessions.get(hash);
      if (session !== undefined) return s.center.conversation(session.conversationSid) === undefined ? undefined : session;
    }
    return undefined;
  }

  /**
   * A guest's message in its session's conversation (author: the guest's identity; source `SDK`, as
   * the Conversations SDK a browser would use, so its webhooks fire). Activity: it restarts the
   * inactive timer. Rejects with the core's 50377 when the conversation is closed.
   */
  webChatSay(session: WebChatSession, body: string): Promise<{ index: number; dateCreated: number }> {
    return this.write(session.accountSid, (center, at) => {
      const r = center.addMessage(session.conversationSid, { author: session.identity, body }, { at, source: 'SDK' });
      return { ...r, index: r.message.index, dateCreated: r.message.dateCreated };
    });
  }

  // ── Flex Interactions (interactions.ts; A7) ──

  /** An interaction of the account, or undefined. */
  interaction(accountSid: string, sid: string): Interaction | undefined {
    return this.shards.get(accountSid)?.interactions.get(sid);
  }

  /**
   * `POST /v1/Interactions`: binds an existing conversation (or creates one with the messaging
   * participant), and creates the first invite's task in the routing's workflow with the A7
   * attributes — all in one batch. Rejects with a ConversationError naming the field
   * (`Channel.properties.media_channel_sid`, `Routing.properties.workflow_sid` …); nothing changed then.
   */
  createInteraction(accountSid: string, input: InteractionInput): Promise<Interaction> {
    return this.run(accountSid, (ctx) => {
      const s = this.shardFor(accountSid);
      this.catchUp(s, ctx);
      checkRouting(ctx.engine(input.routing.workspaceSid), input.routing);
      const sys = { at: ctx.now, source: 'API' as const, webhookEnabled: true };
      const c = input.channel;
      let conversationSid: string;
      let customerAddress: string | null;
      let customerName: string | null = null;
      if (c.conversationSid !== null) {
        const conv = s.center.conversation(c.conversationSid);
        if (conv === undefined) throw new ConversationError(400, 20001, `Conversation ${c.conversationSid} was not found`, 'Channel.properties.media_channel_sid');
        if (conv.state === 'closed') throw new ConversationError(400, 20001, `Conversation ${conv.sid} is closed`, 'Channel.properties.media_channel_sid');
        conversationSid = conv.sid;
        const customer = s.center.participants(conv.sid).find((p) => p.messagingBinding?.address != null) ?? s.center.participants(conv.sid).find((p) => p.identity !== null);
        customerAddress = customer?.messagingBinding?.address ?? customer?.identity ?? null;
      } else if (c.participant !== null) {
        const p = c.participant;
        if (s.center.boundConversation(p.address, p.proxyAddress) !== undefined) {
          throw new ConversationError(409, 50416, `A conversation with ${p.address} on ${p.proxyAddress} is already open`, 'Channel.participants');
        }
        const created = s.center.createConversation({}, sys);
        this.apply(s, created, ctx);
        conversationSid = created.conversation.sid;
        this.apply(s, s.center.addParticipant(conversationSid, { address: p.address, proxyAddress: p.proxyAddress }, sys), ctx);
        customerAddress = p.address;
        customerName = p.name;
      } else {
        throw new ConversationError(400, 20001, 'Channel needs properties.media_channel_sid or participants', 'Channel.properties.media_channel_sid');
      }
      const channel: InteractionChannel = {
        sid: this.newSid('UO'),
        type: c.type,
        status: 'active',
        errorCode: null,
        errorMessage: null,
        conversationSid,
        initiatedBy: c.initiatedBy,
        direction: c.initiatedBy === 'agent' ? 'outbound' : 'inbound',
        customerAddress,
        customerName: customerName ?? customerAddress,
        sent: c.sent,
        invites: [],
        participants: [],
      };
      const interaction: Interaction = { sid: this.newSid('KD'), accountSid, channel, routing: input.routingSent, interactionContextSid: input.interactionContextSid, webhookTtid: input.webhookTtid, builtIn: false, dateCreated: ctx.now, dateUpdated: ctx.now };
      this.invite(s, interaction, input.routing, input.routingSent, ctx);
      return s.interactions.get(interaction.sid) ?? interaction;
    });
  }

  /** `POST …/Channels/{UO}/Invites`: another task for the channel (the interaction's workspace unless the routing names one). */
  inviteToChannel(accountSid: string, interactionSid: string, channelSid: string, routing: InteractionRouting, routingSent: unknown): Promise<InteractionInvite> {
    return this.run(accountSid, (ctx) => {
      const s = this.shardFor(accountSid);
      const i = channelOrThrow(s, interactionSid, channelSid);
      if (i.channel.status === 'closed' || i.channel.status === 'failed') throw new ConversationError(400, 20001, `Channel ${channelSid} is ${i.channel.status}`, 'Routing');
      checkRouting(ctx.engine(routing.workspaceSid), routing);
      return this.invite(s, i, routing, routingSent, ctx);
    });
  }

  /**
   * `POST …/Channels/{UO}` `Status=closed` (tasks → wrapping, or completed with Routing status
   * `closed`; the conversation is closed) or `Status=inactive` with Routing status `closed` (tasks
   * completed; the conversation stays). A task not yet assigned is canceled.
   */
  updateChannel(accountSid: string, interactionSid: string, channelSid: string, status: 'closed' | 'inactive', taskStatus: 'closed' | 'wrapup' | null): Promise<Interaction> {
    return this.run(accountSid, (ctx) => {
      const s = this.shardFor(accountSid);
      this.catchUp(s, ctx);
      const i = channelOrThrow(s, interactionSid, channelSid);
      if (status === 'inactive' && taskStatus !== 'closed') throw new ConversationError(400, 20001, 'Routing status closed is required when the channel becomes inactive', 'Routing');
      const target = taskStatus === 'closed' ? 'completed' : 'wrapping';
      for (const inv of i.channel.invites) {
        const task = ctx.engine(inv.workspaceSid)?.tasks.get(inv.taskSid);
        if (task === undefined) continue;
        const reason = `interaction channel ${status}`;
        if (task.assignmentStatus === 'pending' || task.assignmentStatus === 'reserved') ctx.execute(inv.workspaceSid, { type: 'updateTask', taskSid: task.sid, assignmentStatus: 'canceled', reason });
        else if (task.assignmentStatus === 'assigned' || (task.assignmentStatus === 'wrapping' && target === 'completed')) ctx.execute(inv.workspaceSid, { type: 'updateTask', taskSid: task.sid, assignmentStatus: target, reason });
      }
      if (status === 'closed') {
        try {
          this.apply(s, s.center.updateConversation(i.channel.conversationSid, { state: 'closed' }, { at: ctx.now, source: 'API', webhookEnabled: true }), ctx);
        } catch (error) {
          if (!(error instanceof ConversationError)) throw error; // closed or removed already
        }
      }
      const next: Interaction = { ...i, channel: { ...i.channel, status }, dateUpdated: ctx.now };
      this.putInteraction(s, next);
      return next;
    });
  }

  /** `POST …/Channels/{UO}/Participants` (minimal: kept as sent). */
  addChannelParticipant(accountSid: string, interactionSid: string, channelSid: string, input: Pick<InteractionParticipant, 'type' | 'mediaProperties' | 'routingProperties'>): Promise<InteractionParticipant> {
    return this.run(accountSid, (ctx) => {
      const s = this.shardFor(accountSid);
      const i = channelOrThrow(s, interactionSid, channelSid);
      const p: InteractionParticipant = { sid: this.newSid('UT'), ...input, status: 'active', dateCreated: ctx.now };
      this.putInteraction(s, { ...i, channel: { ...i.channel, participants: [...i.channel.participants, p] }, dateUpdated: ctx.now });
      return p;
    });
  }

  /** `POST …/Participants/{UT}` `Status=closed|wrapup`: the participant's task (`routing_properties.task_sid`) is completed or wrapped. */
  updateChannelParticipant(accountSid: string, interactionSid: string, channelSid: string, participantSid: string, status: 'closed' | 'wrapup'): Promise<InteractionParticipant> {
    return this.run(accountSid, (ctx) => {
      const s = this.shardFor(accountSid);
      const i = channelOrThrow(s, interactionSid, channelSid);
      const p = i.channel.participants.find((x) => x.sid === participantSid);
      if (p === undefined) throw new ConversationError(404, 20404, `Participant ${participantSid} was not found`);
      const rp = p.routingProperties as Record<string, unknown> | null;
      const taskSid = typeof rp?.['task_sid'] === 'string' ? rp['task_sid'] : null;
      const inv = i.channel.invites.find((x) => x.taskSid === taskSid);
      const task = inv === undefined ? undefined : ctx.engine(inv.workspaceSid)?.tasks.get(inv.taskSid);
      if (inv !== undefined && task !== undefined) {
        const target = status === 'closed' ? 'completed' : 'wrapping';
        if (task.assignmentStatus === 'assigned' || (task.assignmentStatus === 'wrapping' && target === 'completed')) ctx.execute(inv.workspaceSid, { type: 'updateTask', taskSid: task.sid, assignmentStatus: target, reason: `participant ${status}` });
      }
      const next: InteractionParticipant = { ...p, status };
      this.putInteraction(s, { ...i, channel: { ...i.channel, participants: i.channel.participants.map((x) => (x.sid === p.sid ? next : x)) }, dateUpdated: ctx.now });
      return next;
    });
  }

  /** A new invite of the channel: its task created with the A7 attributes (the routing was checked). */
  private invite(s: Shard, i: Interaction, routing: InteractionRouting, routingSent: unknown, ctx: CoreContext): InteractionInvite {
    const inviteSid = this.newSid('KG');
    const attributes = a7Attributes(i, inviteSid, routing.attributes);
    const command = {
      type: 'createTask' as const,
      workflowSid: routing.workflowSid,
      taskChannel: routing.taskChannel,
      attributes: JSON.stringify(attributes),
      ...(routing.priority === undefined ? {} : { priority: routing.priority }),
      ...(routing.timeoutS === undefined ? {} : { timeoutS: routing.timeoutS }),
    };
    const outcome = ctx.execute(routing.workspaceSid, command);
    if (outcome.rejection !== null || outcome.sid === null) {
      const field = ({ WorkflowSid: 'workflow_sid', TaskChannel: 'task_channel_unique_name', Priority: 'priority', Timeout: 'timeout', Attributes: 'attributes' } as Record<string, string>)[outcome.rejection?.field ?? ''] ?? 'workflow_sid';
      throw new ConversationError(400, 20001, outcome.rejection?.message ?? 'The task was not created', `Routing.properties.${field}`);
    }
    const invite: InteractionInvite = { sid: inviteSid, workspaceSid: routing.workspaceSid, taskSid: outcome.sid, routing: routingSent, dateCreated: ctx.now };
    this.putInteraction(s, { ...i, channel: { ...i.channel, invites: [...(s.interactions.get(i.sid)?.channel.invites ?? i.channel.invites), invite] }, dateUpdated: ctx.now });
    return invite;
  }

  /**
   * The built-in route: a conversation auto-created on an address with routing becomes a task (a
   * failed channel when the routing is broken). The channel's type is the address's unless `type` names one.
   */
  private autoRoute(s: Shard, conversationSid: string, to: string, customer: { type: string | null; address: string; name: string }, ctx: CoreContext): void {
    const config = s.center.address(to);
    const r = config?.routing;
    if (config === undefined || r === undefined || r === null) return;
    const type = customer.type ?? config.type;
    const channel: InteractionChannel = {
      sid: this.newSid('UO'),
      type,
      status: 'active',
      errorCode: null,
      errorMessage: null,
      conversationSid,
      initiatedBy: 'customer',
      direction: 'inbound',
      customerAddress: customer.address,
      customerName: customer.name,
      sent: { type, initiated_by: 'customer', properties: { media_channel_sid: conversationSid } },
      invites: [],
      participants: [],
    };
    const interaction: Interaction = { sid: this.newSid('KD'), accountSid: s.accountSid, channel, routing: null, interactionContextSid: null, webhookTtid: null, builtIn: true, dateCreated: ctx.now, dateUpdated: ctx.now };
    const routing: InteractionRouting = { workspaceSid: r.workspaceSid, workflowSid: r.workflowSid, taskChannel: r.taskChannel, attributes: {} };
    try {
      checkRouting(ctx.engine(r.workspaceSid), routing);
      this.invite(s, interaction, routing, null, ctx);
    } catch (error) {
      if (!(error instanceof ConversationError)) throw error;
      this.putInteraction(s, { ...interaction, channel: { ...channel, status: 'failed', errorCode: 20001, errorMessage: error.message } });
    }
  }

  private putInteraction(s: Shard, i: Interaction): void {
    s.interactions.set(i.sid, i);
    s.dirtyInteractions.add(i.sid);
    this.touched.add(s.accountSid);
  }

  // ── internals ──

  private shardFor(accountSid: string): Shard {
    let s = this.shards.get(accountSid);
    if (s === undefined) {
      s = { accountSid, center: new ConversationsCenter({ accountSid, chatServiceSid: defaultServiceSid(accountSid), newSid: this.newSid, now: this.scheduler.now() }), watches: new Map(), dirtyWatches: new Set(), interactions: new Map(), dirtyInteractions: new Set(), sessions: new Map(), dirtySessions: new Set() };
      this.shards.set(accountSid, s);
    }
    return s;
  }

  private shardOfConversation(conversationSid: string): Shard | undefined {
    for (const s of this.shards.values()) if (s.center.conversation(conversationSid) !== undefined) return s;
    return undefined;
  }

  private restore(key: string, rows: ReadonlyArray<{ key: string; body: string }>): void {
    if (!key.startsWith('AC')) {
      const policies = rows.find((r) => r.key === 'policies');
      if (policies !== undefined) this.policies.set(key, new Map((JSON.parse(policies.body) as InactivityPolicy[]).map((p) => [p.taskChannelSid, p])));
      return;
    }
    const snap: CenterSnapshot = { version: 1, now: this.scheduler.now(), configuration: null as unknown as CenterSnapshot['configuration'], conversations: [], participants: [], messages: [], webhooks: [], addresses: [] };
    const watches = new Map<string, Watch>();
    const interactions = new Map<string, Interaction>();
    const sessions = new Map<string, WebChatSession>();
    for (const r of rows) {
      const body = JSON.parse(r.body) as unknown;
      const prefix = r.key.slice(0, 2);
      if (r.key === 'config') snap.configuration = body as CenterSnapshot['configuration'];
      else if (r.key.startsWith('watch:')) watches.set(r.key.slice(6), body as Watch);
      else if (r.key.startsWith('interaction:')) interactions.set(r.key.slice(12), body as Interaction);
      else if (r.key.startsWith('webchat:')) sessions.set(r.key.slice(8), body as WebChatSession);
      else if (prefix === 'CH') snap.conversations.push(body as Conversation);
      else if (prefix === 'MB') snap.participants.push(body as CenterSnapshot['participants'][number]);
      else if (prefix === 'IM') snap.messages.push(body as CenterSnapshot['messages'][number]);
      else if (prefix === 'WH') snap.webhooks.push(body as CenterSnapshot['webhooks'][number]);
      else if (prefix === 'IG') snap.addresses.push(body as CenterSnapshot['addresses'][number]);
    }
    if (snap.configuration === null) snap.configuration = new ConversationsCenter({ accountSid: key, chatServiceSid: defaultServiceSid(key), newSid: this.newSid, now: 0 }).configuration();
    const center = ConversationsCenter.restore(snap, { accountSid: key, chatServiceSid: defaultServiceSid(key), newSid: this.newSid });
    this.shards.set(key, { accountSid: key, center, watches, dirtyWatches: new Set(), interactions, dirtyInteractions: new Set(), sessions, dirtySessions: new Set() });
  }

  /** Records the center's events, queues its effects, and lets the inactivity policy react (A8 steps 2–4). */
  private apply(s: Shard, out: ConversationOutcome, ctx: CoreContext): void {
    this.touched.add(s.accountSid);
    for (const e of out.events) this.record(s, e);
    for (const fx of out.effects) this.queue(s, fx);
    for (const e of out.events) {
      if (e.eventType !== 'onConversationStateUpdated' || e.params['StateTo'] !== 'inactive' || e.params['Reason'] !== 'TIMER') continue;
      const w = s.watches.get(e.conversationSid);
      if (w === undefined) continue;
      s.watches.delete(e.conversationSid);
      s.dirtyWatches.add(e.conversationSid);
      this.timedOut(s, w, ctx);
    }
  }

  /** A watched chat went inactive on its timer: task completed (or wrapped), message, close — in this turn. */
  private timedOut(s: Shard, w: Watch, ctx: CoreContext): void {
    const policy = this.policies.get(w.workspaceSid)?.get(w.taskChannelSid);
    const task = ctx.engine(w.workspaceSid)?.tasks.get(w.taskSid);
    if (policy === undefined) return;
    if (task !== undefined && (task.assignmentStatus === 'assigned' || (task.assignmentStatus === 'wrapping' && policy.onTimeout === 'complete'))) {
      const status = policy.onTimeout === 'wrapup' ? 'wrapping' : 'completed';
      ctx.execute(w.workspaceSid, { type: 'updateTask', taskSid: w.taskSid, assignmentStatus: status, reason: 'inactivity-timeout' });
    }
    const sys = { at: ctx.now, source: 'SYSTEM' as const };
    try {
      if (policy.timeoutMessage !== '') {
        const r = s.center.addMessage(w.conversationSid, { author: 'system', body: policy.timeoutMessage }, sys);
        this.apply(s, r, ctx);
      }
      if (policy.closeConversation) this.apply(s, s.center.updateConversation(w.conversationSid, { state: 'closed' }, { ...sys, source: 'API', webhookEnabled: true }), ctx);
    } catch (error) {
      if (!(error instanceof ConversationError)) throw error; // closed meanwhile: nothing more to do
    }
  }

  private record(s: Shard, e: ConversationEvent): void {
    this.events.push({
      workspaceSid: s.accountSid,
      event: { sid: this.newSid('EV'), eventType: streamTypeOf(e.eventType), at: e.at, resourceSid: e.conversationSid, resourceType: 'conversation', source: e.source, data: e.params } as EventRecord,
    });
  }

  private queue(s: Shard, fx: ConversationEffect): void {
    if (fx.kind === 'webhook') {
      const payload: ConversationWebhookPayload = { accountSid: s.accountSid, url: fx.url, method: fx.method, params: fx.params };
      this.outbound.push({ workspaceSid: s.accountSid, kind: 'conversation.webhook', payload: JSON.stringify(payload) });
    } else {
      const payload: MessageSendPayload = { accountSid: s.accountSid, conversationSid: fx.conversationSid, messageSid: fx.messageSid, to: fx.to, from: fx.from, body: fx.body, mediaSid: fx.mediaSid };
      this.outbound.push({ workspaceSid: s.accountSid, kind: 'message.send', payload: JSON.stringify(payload) });
    }
  }
}

/** The routing's workspace, workflow and task channel exist (checked before anything changes). */
function checkRouting(engine: WorkspaceEngine | undefined, r: InteractionRouting): void {
  if (engine === undefined) throw new ConversationError(400, 20001, `Workspace ${r.workspaceSid} was not found`, 'Routing.properties.workspace_sid');
  if (!engine.workflows.has(r.workflowSid)) throw new ConversationError(400, 20001, `Workflow ${r.workflowSid} was not found in workspace ${r.workspaceSid}`, 'Routing.properties.workflow_sid');
  if (engine.findChannel(r.taskChannel) === undefined) throw new ConversationError(400, 20001, `TaskChannel ${r.taskChannel} was not found in workspace ${r.workspaceSid}`, 'Routing.properties.task_channel_unique_name');
}

function channelOrThrow(s: Shard, interactionSid: string, channelSid: string): Interaction {
  const i = s.interactions.get(interactionSid);
  if (i === undefined || i.channel.sid !== channelSid) throw new ConversationError(404, 20404, `Channel ${channelSid} of interaction ${interactionSid} was not found`);
  return i;
}

function isAccountKey(key: string): boolean {
  return key.startsWith('AC');
}

/** The conversation a task's attributes name (`conversationSid`, as Flex writes it, or `conversation_sid`), or null. */
export function conversationOf(attributes: Record<string, unknown>): string | null {
  const v = attributes['conversationSid'] ?? attributes['conversation_sid'];
  return typeof v === 'string' && /^CH[0-9a-f]{32}$/.test(v) ? v : null;
}

/** The core rows of one set of center changes. */
function rowsOf(key: string, ch: CenterChanges, center: ConversationsCenter, now: number, out: NonNullable<CoreWrites['coreRows']>[number][]): void {
  const put = (k: string, v: unknown): void => void out.push({ workspaceSid: key, core: CONVERSATIONS_CORE, key: k, body: JSON.stringify(v), updatedAt: now });
  const del = (k: string): void => void out.push({ workspaceSid: key, core: CONVERSATIONS_CORE, key: k, body: null, updatedAt: now });
  if (ch.configuration) put('config', center.configuration());
  for (const part of [ch.conversations, ch.participants, ch.messages, ch.webhooks, ch.addresses] as Array<{ changed: Array<{ sid: string }>; removed: string[] }>) {
    for (const r of part.changed) put(r.sid, r);
    for (const sid of part.removed) del(sid);
  }
}
