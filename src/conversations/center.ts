/**
 * The conversations core (issue 13; spec conversations-events-analytics.md A1–A6, C): one account's
 * conversations, participants, messages, scoped webhooks, configuration and address
 * configurations, as one deterministic state machine shaped like the engine and the callback
 * center. Every write takes its instant (`at`, epoch ms) and returns the events and effects it
 * caused; the state timers (inactive, closed) are data behind {@link ConversationsCenter.nextDeadline}/
 * {@link ConversationsCenter.advanceTo}; {@link ConversationsCenter.snapshot}/{@link ConversationsCenter.restore}
 * round-trip as plain JSON and {@link ConversationsCenter.takeChanges} names the records a host must
 * write since the last call. No clock, randomness or I/O: SIDs come from `newSid`.
 *
 * Bad input throws a `ConversationError` (model.ts: HTTP status, Twilio code, REST field) and
 * changes nothing.
 *
 * Time. A write acts on the state as it is: it fires no timer. The host calls
 * `advanceTo(at)` before a write at `at` so that the timers due by then fire first (the runtime
 * does, as for the other cores); a write's instant earlier than the center's time counts as the
 * center's time (time never goes backwards).
 *
 * docs/conversations.md describes the model and the decisions taken where Twilio's sources are silent.
 */
import { findAddress, inbound, putAddress, removeAddress, startChat } from './addresses.ts';
import { createConversation, deleteConversation, listConversations, updateConfiguration, updateConversation, updateWebhookConfiguration } from './conversations.ts';
import { addMessage, addWebhook, removeMessage, removeWebhook, updateMessage, updateWebhook } from './messages.ts';
import type {
  AccountConfiguration,
  AddressConfiguration,
  AddressRouting,
  Attributes,
  Conversation,
  ConversationOutcome,
  ConversationState,
  Message,
  Participant,
  ScopedWebhook,
} from './model.ts';
import { addParticipant, removeParticipant, updateParticipant } from './participants.ts';
import { pairKey } from './records.ts';
import { restoreState, snapshotOf, takeChanges } from './snapshot.ts';
import { createState, fireDue, participantOf, roomOf, roomOrThrow, type CenterState } from './state.ts';

/** Options of a center. */
export interface CenterOptions {
  accountSid: string;
  /** The account's default conversation service (`IS…`). */
  chatServiceSid: string;
  /** SID source: `prefix` + 32 hex digits (the runtime's). Called only for records actually created. */
  newSid: (prefix: string) => string;
  /** Epoch ms the center starts at. */
  now: number;
}

/**
 * Create/update fields of a conversation (REST names in comments). Durations are ISO 8601 strings
 * as sent. `undefined` = not sent; `null` clears a nullable field.
 */
export interface ConversationInput {
  friendlyName?: string | null; // FriendlyName (≤ 256)
  uniqueName?: string | null; // UniqueName (unique per account; '' clears; not shaped like a CH SID)
  attributes?: string; // Attributes (JSON text)
  messagingServiceSid?: string | null; // MessagingServiceSid (MG…)
  state?: ConversationState; // State (`initializing` is the service's own: refused)
  timersInactive?: string; // Timers.Inactive (ISO 8601; PT0S = off; ≥ PT1M otherwise; ≤ P365D)
  timersClosed?: string; // Timers.Closed (ISO 8601; PT0S = off; ≥ PT10M otherwise; ≤ P365D)
  dateCreated?: number; // DateCreated (epoch ms)
  dateUpdated?: number; // DateUpdated
  emailAddress?: string | null; // Bindings.Email.Address
  emailName?: string | null; // Bindings.Email.Name
}

export interface ParticipantInput {
  identity?: string | null; // Identity (chat participant; ≤ 256)
  attributes?: string; // Attributes
  roleSid?: string | null; // RoleSid (RL…)
  address?: string; // MessagingBinding.Address (create only)
  proxyAddress?: string; // MessagingBinding.ProxyAddress
  projectedAddress?: string | null; // MessagingBinding.ProjectedAddress (chat participant only; null clears)
  lastReadMessageIndex?: number | null; // LastReadMessageIndex
  lastReadTimestamp?: string | null; // LastReadTimestamp
  dateCreated?: number;
  dateUpdated?: number;
}

export interface MessageInput {
  author?: string; // Author (default `system`)
  body?: string | null; // Body (≤ 1,600 characters)
  attributes?: string; // Attributes
  mediaSid?: string | null; // MediaSid (ME…; create only)
  contentSid?: string | null; // ContentSid (HX…; create only; overrides Body and MediaSid)
  subject?: string | null; // Subject (≤ 256)
  dateCreated?: number;
  dateUpdated?: number;
}

export interface WebhookInput {
  target?: 'webhook' | 'trigger' | 'studio'; // Target (required on create, fixed afterwards)
  url?: string; // Configuration.Url
  method?: 'GET' | 'POST'; // Configuration.Method (either case; default POST)
  filters?: string[]; // Configuration.Filters
  triggers?: string[]; // Configuration.Triggers
  flowSid?: string; // Configuration.FlowSid (FW…)
  replayAfter?: number; // Configuration.ReplayAfter
}

/** Create/update fields of an address configuration (`/v1/Configuration/Addresses`); `autoCreation` fields merge into the current ones. */
export interface AddressInput {
  type?: string; // Type (create only)
  address?: string; // Address (create only)
  friendlyName?: string | null; // FriendlyName
  autoCreation?: Partial<AddressConfiguration['autoCreation']>; // AutoCreation.*
  addressCountry?: string | null; // AddressCountry
  routing?: AddressRouting | null; // AutoCreation.Routing* (our extension; null removes)
}

/** Who made a write: `API` (REST, webhooks fire only when `webhookEnabled`, the `X-Twilio-Webhook-Enabled` header), `SDK`, `SYSTEM`. */
export interface WriteContext {
  /** Epoch ms. */
  at: number;
  source: 'API' | 'SDK' | 'SYSTEM';
  /** `X-Twilio-Webhook-Enabled: true` on a REST write: its post-event webhooks fire (A1). Default false for API, true otherwise. */
  webhookEnabled?: boolean;
}

/** The center as plain data (exact JSON round trip). Records in creation order; participants, messages and webhooks grouped by conversation. */
export interface CenterSnapshot {
  version: 1;
  now: number;
  configuration: AccountConfiguration;
  conversations: Conversation[];
  participants: Participant[];
  messages: Message[];
  webhooks: ScopedWebhook[];
  addresses: AddressConfiguration[];
}

/** Records changed since the last {@link ConversationsCenter.takeChanges}: upserted, or removed by SID. */
export interface CenterChanges {
  configuration: boolean;
  conversations: { changed: Conversation[]; removed: string[] };
  participants: { changed: Participant[]; removed: string[] };
  messages: { changed: Message[]; removed: string[] };
  webhooks: { changed: ScopedWebhook[]; removed: string[] };
  addresses: { changed: AddressConfiguration[]; removed: string[] };
}

export type { Attributes };

/** See the module comment. Every method documents the REST call it stands for, its errors and events. */
export class ConversationsCenter {
  /** Replaced only by {@link ConversationsCenter.restore}. */
  private s: CenterState;

  constructor(options: CenterOptions) {
    this.s = createState(options);
  }

  /** Now, epoch ms (the last instant seen). */
  get now(): number {
    return this.s.now;
  }

  // ───────────────────────────── configuration ─────────────────────────────

  /** The account's `/v1/Configuration` and `/v1/Configuration/Webhooks` (timers in seconds; 0 = off). */
  configuration(): AccountConfiguration {
    return this.s.config;
  }

  /**
   * `POST /v1/Configuration`: `DefaultInactiveTimer` (PT0S or ≥ PT1M), `DefaultClosedTimer` (PT0S
   * or ≥ PT10M), `DefaultMessagingServiceSid`. The default timers apply to conversations created
   * afterwards (A1). No event.
   */
  updateConfiguration(input: { defaultInactiveTimer?: string; defaultClosedTimer?: string; defaultMessagingServiceSid?: string | null }, ctx: WriteContext): ConversationOutcome {
    return updateConfiguration(this.s, input, ctx);
  }

  /**
   * `POST /v1/Configuration/Webhooks`: `PreWebhookUrl` (kept, never called), `PostWebhookUrl`
   * (null or '' clears), `Method`, `Filters` (pre- and post-event names), `Target` (`webhook`, or
   * `flex`: nothing sent). No event.
   */
  updateWebhookConfiguration(
    input: { preWebhookUrl?: string | null; postWebhookUrl?: string | null; method?: 'GET' | 'POST'; filters?: string[]; target?: 'webhook' | 'flex' },
    ctx: WriteContext,
  ): ConversationOutcome {
    return updateWebhookConfiguration(this.s, input, ctx);
  }

  // ───────────────────────────── conversations (a `ref` is a CH SID or a unique name) ─────────────────────────────

  /**
   * `POST /v1/Conversations`. State defaults to `active`; each timer is the one sent or the
   * account's default; deadlines count from now. Timers sent without `State` → 400/50382 (Twilio's
   * "Timer can't be set without state"). A unique name taken → 409/50353; shaped like a CH SID →
   * 400/50390. Emits `onConversationAdded`.
   */
  createConversation(input: ConversationInput, ctx: WriteContext): { conversation: Conversation } & ConversationOutcome {
    return createConversation(this.s, input, ctx);
  }

  /**
   * `POST /v1/Conversations/{ref}`. New `Timers.*` recompute both deadlines from now (A2
   * [DECISION]); `State`: active ⇄ inactive or → closed (Reason `API`; back to active restarts the
   * countdowns from now; to inactive keeps the closed deadline). A closed conversation → 400/50377.
   * Emits `onConversationStateUpdated` when the state changes, then `onConversationUpdated`.
   */
  updateConversation(ref: string, input: ConversationInput, ctx: WriteContext): { conversation: Conversation } & ConversationOutcome {
    return updateConversation(this.s, ref, input, ctx);
  }

  /** `DELETE /v1/Conversations/{ref}` (any state): its participants, messages and webhooks go with it, its timers stop. Emits `onConversationRemoved` (its scoped webhooks still hear it). */
  deleteConversation(ref: string, ctx: WriteContext): ConversationOutcome {
    return deleteConversation(this.s, ref, ctx);
  }

  /** A conversation by `CH…` SID or unique name. */
  conversation(ref: string): Conversation | undefined {
    return roomOf(this.s, ref)?.c;
  }

  /**
   * Conversations newest first (by `dateCreated`; among equal dates the most recently created
   * first), the order Twilio documents for date-filtered lists — we use it always [DECISION].
   * Filters: state, created in [startMs, endMs) (epoch ms).
   */
  listConversations(filter: { state?: ConversationState; startMs?: number; endMs?: number } = {}): Conversation[] {
    return listConversations(this.s, filter);
  }

  // ───────────────────────────── participants ─────────────────────────────

  /**
   * `POST /v1/Conversations/{ref}/Participants`: a chat participant (`Identity`, unique in the
   * conversation → else 409/50433) or a messaging one (`MessagingBinding.Address` and `.ProxyAddress`;
   * a pair bound in any open — active or inactive — conversation → 409/50416); at most 50
   * messaging (400/50418) and 1000 chat (400/50417) participants. Counts as activity: reactivates
   * an inactive conversation (Reason `EVENT`) and restarts its timers. Emits `onParticipantAdded`.
   */
  addParticipant(ref: string, input: ParticipantInput, ctx: WriteContext): { participant: Participant } & ConversationOutcome {
    return addParticipant(this.s, ref, input, ctx);
  }

  /**
   * `POST …/Participants/{participantRef}` (SID or identity): `Identity` (chat participants only: a
   * messaging one → 400/50444), `Attributes`, `RoleSid`, `MessagingBinding.ProxyAddress` (messaging
   * only; the new pair must be free → 409/50416), `.ProjectedAddress` (chat only),
   * `LastReadMessageIndex`, `LastReadTimestamp`, dates. Not activity. Emits `onParticipantUpdated`.
   */
  updateParticipant(ref: string, participantRef: string, input: ParticipantInput, ctx: WriteContext): { participant: Participant } & ConversationOutcome {
    return updateParticipant(this.s, ref, participantRef, input, ctx);
  }

  /** `DELETE …/Participants/{participantRef}`: frees its address pair. Not activity. Emits `onParticipantRemoved`. */
  removeParticipant(ref: string, participantRef: string, ctx: WriteContext): ConversationOutcome {
    return removeParticipant(this.s, ref, participantRef, ctx);
  }

  /** A participant by `MB…` SID or identity; undefined when the conversation or participant is unknown. */
  participant(ref: string, participantRef: string): Participant | undefined {
    const room = roomOf(this.s, ref);
    return room === undefined ? undefined : participantOf(room, participantRef);
  }

  /** The conversation's participants in creation order. Unknown conversation → 404/20404. */
  participants(ref: string): Participant[] {
    return [...roomOrThrow(this.s, ref).participants.values()];
  }

  // ───────────────────────────── messages ─────────────────────────────

  /**
   * `POST /v1/Conversations/{ref}/Messages`. `Author` defaults to `system`; the author is linked to
   * the participant whose identity or messaging address it is (`participantSid`). A message needs a
   * `Body` (≤ 1,600 characters), `MediaSid` or `ContentSid` (which overrides the other two). Counts
   * as activity (A2: a system message too): reactivates an inactive conversation (Reason `EVENT`)
   * and restarts its timers. Effects: a `send` to every messaging participant but the author, then
   * the `onMessageAdded` webhooks.
   */
  addMessage(ref: string, input: MessageInput, ctx: WriteContext): { message: Message } & ConversationOutcome {
    return addMessage(this.s, ref, input, ctx);
  }

  /** `POST …/Messages/{sid}`: `Author`, `Body`, `Attributes`, `Subject`, dates (media and content are fixed: 400). Not activity. Emits `onMessageUpdated`. */
  updateMessage(ref: string, messageSid: string, input: MessageInput, ctx: WriteContext): { message: Message } & ConversationOutcome {
    return updateMessage(this.s, ref, messageSid, input, ctx);
  }

  /** `DELETE …/Messages/{sid}`: leaves a gap in the indices. Not activity. Emits `onMessageRemoved`. */
  removeMessage(ref: string, messageSid: string, ctx: WriteContext): ConversationOutcome {
    return removeMessage(this.s, ref, messageSid, ctx);
  }

  /** A message by `IM…` SID; undefined when the conversation or message is unknown. */
  message(ref: string, messageSid: string): Message | undefined {
    return roomOf(this.s, ref)?.messages.get(messageSid);
  }

  /** The conversation's messages by index, ascending (Twilio's default) or descending. Unknown conversation → 404/20404. */
  messages(ref: string, order: 'asc' | 'desc' = 'asc'): Message[] {
    const list = [...roomOrThrow(this.s, ref).messages.values()];
    return order === 'desc' ? list.reverse() : list;
  }

  // ───────────────────────────── scoped webhooks ─────────────────────────────

  /**
   * `POST /v1/Conversations/{ref}/Webhooks`: `Target` webhook (`Configuration.Url` required,
   * `.Method` default POST, `.Filters` of the scoped post-events), trigger (`.Url` and non-empty
   * `.Triggers`: fires on `onMessageAdded` when the body holds a keyword as a whole word, any case),
   * studio (`.FlowSid`; kept, never called). A 6th → 400/50361. No event.
   */
  addWebhook(ref: string, input: WebhookInput, ctx: WriteContext): { webhook: ScopedWebhook } & ConversationOutcome {
    return addWebhook(this.s, ref, input, ctx);
  }

  /** `POST …/Webhooks/{sid}`: the configuration fields (the target is fixed). No event. */
  updateWebhook(ref: string, webhookSid: string, input: WebhookInput, ctx: WriteContext): { webhook: ScopedWebhook } & ConversationOutcome {
    return updateWebhook(this.s, ref, webhookSid, input, ctx);
  }

  /** `DELETE …/Webhooks/{sid}`. No event. */
  removeWebhook(ref: string, webhookSid: string, ctx: WriteContext): ConversationOutcome {
    return removeWebhook(this.s, ref, webhookSid, ctx);
  }

  /** A scoped webhook by `WH…` SID; undefined when the conversation or webhook is unknown. */
  webhook(ref: string, webhookSid: string): ScopedWebhook | undefined {
    return roomOf(this.s, ref)?.webhooks.get(webhookSid);
  }

  /** The conversation's scoped webhooks in creation order. Unknown conversation → 404/20404. */
  webhooks(ref: string): ScopedWebhook[] {
    return [...roomOrThrow(this.s, ref).webhooks.values()];
  }

  // ───────────────────────────── address configurations and inbound messages ─────────────────────────────

  /**
   * `POST /v1/Configuration/Addresses` (sid null: `Type` and `Address` required, the address unique
   * → else 409/20001) or `POST …/Addresses/{sid or address}` (404 when unknown; type and address
   * fixed). `autoCreation` fields merge into the current ones; enabled auto-creation of type webhook
   * needs `AutoCreation.WebhookUrl`, of type studio `AutoCreation.StudioFlowSid`. Only this center's
   * conversation service may be named. No event.
   */
  putAddress(sid: string | null, input: AddressInput, ctx: WriteContext): { address: AddressConfiguration } & ConversationOutcome {
    return putAddress(this.s, sid, input, ctx);
  }

  /** `DELETE /v1/Configuration/Addresses/{sid or address}`; 404 when unknown. No event. */
  removeAddress(sid: string, ctx: WriteContext): ConversationOutcome {
    return removeAddress(this.s, sid, ctx);
  }

  /** An address configuration by `IG…` SID or by address (as configured, or as an inbound `to` spells it: `whatsapp:+1…`). */
  address(sidOrAddress: string): AddressConfiguration | undefined {
    return findAddress(this.s, sidOrAddress);
  }

  /** The address configurations in creation order. */
  addresses(): AddressConfiguration[] {
    return [...this.s.addressBySid.values()];
  }

  /**
   * An inbound message from `from` to our `to` (an SMS, a WhatsApp message): added to the open
   * conversation that binds the pair, or — when none does and an address configuration with
   * auto-creation covers `to` — to a new conversation with that participant. Returns the
   * conversation and message, or null when no conversation takes it (nothing changed).
   *
   * The message's author is `from`, linked to the participant; it is sent to the conversation's
   * other messaging participants, never back to its author. Its webhooks always fire (whatever
   * `ctx.webhookEnabled`). A closed conversation takes no inbound message: its pair is free again
   * and auto-creation (if configured) makes a new conversation (the account's default timers and
   * messaging service). Auto-creation of type webhook adds a scoped webhook (`webhookUrl`,
   * `webhookMethod`, `webhookFilters`) before any event, so it hears `onParticipantAdded` and
   * `onMessageAdded`; of type studio a studio webhook (never called). Events: [`onConversationAdded`
   * (with `MessagingBinding.Address`/`.ProxyAddress`), `onParticipantAdded`,]
   * [`onConversationStateUpdated` when it reactivates,] `onMessageAdded`.
   */
  inbound(input: { from: string; to: string; body: string | null; mediaSid?: string | null }, ctx: WriteContext): ({ conversation: Conversation; message: Message } & ConversationOutcome) | null {
    return inbound(this.s, input, ctx);
  }

  /**
   * A web chat started on the address configuration `to` (type `chat`, auto-creation enabled): a
   * new conversation as {@link inbound} auto-creates one (default timers, the configuration's
   * scoped webhook), with the chat participant `identity` (`attributes`: its Attributes JSON) and,
   * when `body` is given, its first message. Null (nothing changed) when no such address. Events:
   * `onConversationAdded`, `onParticipantAdded`[, `onMessageAdded`]; they always fire.
   */
  startChat(input: { to: string; identity: string; body: string | null; attributes?: string }, ctx: WriteContext): ({ conversation: Conversation; message: Message | null } & ConversationOutcome) | null {
    return startChat(this.s, input, ctx);
  }

  /** The open conversation whose messaging participant binds `address` to `proxyAddress`, or undefined. */
  boundConversation(address: string, proxyAddress: string): string | undefined {
    return this.s.bindings.get(pairKey(address, proxyAddress))?.conversationSid;
  }

  // ───────────────────────────── timers ─────────────────────────────

  /** The earliest instant (epoch ms) a conversation changes state by timer, or null. It may be past when the host has not advanced. */
  nextDeadline(): number | null {
    return this.s.deadlines.peek()?.at ?? null;
  }

  /**
   * Fires the state timers due at or before `now` (epoch ms) — Reason TIMER, source SYSTEM,
   * webhooks always fire — in order of instant, then conversation SID; each transition is stamped
   * with its deadline. An active conversation whose closed deadline comes first (or with the
   * inactive one) closes straight away. `now` before the center's time is treated as its time.
   */
  advanceTo(now: number): ConversationOutcome {
    return fireDue(this.s, now);
  }

  // ───────────────────────────── snapshot and changes ─────────────────────────────

  /** The whole center as plain JSON data (records are shared and frozen: copy before changing them). */
  snapshot(): CenterSnapshot {
    return snapshotOf(this.s);
  }

  /**
   * A center that continues exactly as the one `snapshot` was taken from (timers included: they
   * are its conversations' deadlines) — given a `newSid` that continues too. Copies the snapshot;
   * throws on another version or a record whose conversation is missing.
   */
  static restore(snapshot: CenterSnapshot, options: Omit<CenterOptions, 'now'>): ConversationsCenter {
    const center = new ConversationsCenter({ ...options, now: snapshot.now });
    center.s = restoreState(snapshot, options);
    return center;
  }

  /** The records changed (current versions, in order of first change) and removed since the last call, for a host that writes one row per record. */
  takeChanges(): CenterChanges {
    return takeChanges(this.s);
  }
}
