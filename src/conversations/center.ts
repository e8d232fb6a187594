/**
 * The conversations core (issue 13; spec conversations-events-analytics.md A1–A6, C): one account's
 * conversations, participants, messages, scoped webhooks, configuration and address
 * configurations, as one deterministic state machine shaped like the engine and the callback
 * center. Every write takes its instant (`at`, epoch ms) and returns the events and effects it
 * caused; the state timers (inactive, closed) are data behind {@link nextDeadline}/{@link advanceTo};
 * {@link snapshot}/{@link restore} round-trip as plain JSON and {@link takeChanges} names the records
 * a host must write since the last call. No clock, randomness or I/O: SIDs come from `newSid`.
 *
 * Bad input throws a {@link ConversationError} naming the field, and changes nothing.
 */
import type {
  AccountConfiguration,
  AddressConfiguration,
  Attributes,
  Conversation,
  ConversationOutcome,
  ConversationState,
  Message,
  Participant,
  ScopedWebhook,
} from './model.ts';

/** Options of a center. */
export interface CenterOptions {
  accountSid: string;
  /** The account's default conversation service (`IS…`). */
  chatServiceSid: string;
  /** SID source: `prefix` + 32 hex digits (the runtime's). */
  newSid: (prefix: string) => string;
  /** Epoch ms the center starts at. */
  now: number;
}

/** Create/update fields of a conversation (REST names in comments). Durations are ISO 8601 strings as sent. */
export interface ConversationInput {
  friendlyName?: string | null; // FriendlyName
  uniqueName?: string | null; // UniqueName
  attributes?: string; // Attributes (JSON text)
  messagingServiceSid?: string | null; // MessagingServiceSid
  state?: ConversationState; // State
  timersInactive?: string; // Timers.Inactive (ISO 8601; PT0S = off; ≥ PT1M otherwise)
  timersClosed?: string; // Timers.Closed (ISO 8601; PT0S = off; ≥ PT10M otherwise)
  dateCreated?: number; // DateCreated (epoch ms)
  dateUpdated?: number; // DateUpdated
  emailAddress?: string | null; // Bindings.Email.Address
  emailName?: string | null; // Bindings.Email.Name
}

export interface ParticipantInput {
  identity?: string | null; // Identity
  attributes?: string; // Attributes
  roleSid?: string | null; // RoleSid
  address?: string; // MessagingBinding.Address
  proxyAddress?: string; // MessagingBinding.ProxyAddress
  projectedAddress?: string; // MessagingBinding.ProjectedAddress
  lastReadMessageIndex?: number | null; // LastReadMessageIndex
  lastReadTimestamp?: string | null; // LastReadTimestamp
  dateCreated?: number;
  dateUpdated?: number;
}

export interface MessageInput {
  author?: string; // Author (default `system`)
  body?: string | null; // Body (≤ 1,600 characters)
  attributes?: string; // Attributes
  mediaSid?: string | null; // MediaSid
  contentSid?: string | null; // ContentSid
  subject?: string | null; // Subject (≤ 256)
  dateCreated?: number;
  dateUpdated?: number;
}

export interface WebhookInput {
  target?: 'webhook' | 'trigger' | 'studio'; // Target (required on create)
  url?: string; // Configuration.Url
  method?: 'GET' | 'POST'; // Configuration.Method
  filters?: string[]; // Configuration.Filters
  triggers?: string[]; // Configuration.Triggers
  flowSid?: string; // Configuration.FlowSid
  replayAfter?: number; // Configuration.ReplayAfter
}

/** Who made a write: `API` (REST, webhooks fire only when `webhookEnabled`, the `X-Twilio-Webhook-Enabled` header), `SDK`, `SYSTEM`. */
export interface WriteContext {
  at: number;
  source: 'API' | 'SDK' | 'SYSTEM';
  /** `X-Twilio-Webhook-Enabled: true` on a REST write: its post-event webhooks fire (A1). Default false for API, true otherwise. */
  webhookEnabled?: boolean;
}

/** The center as plain data (exact JSON round trip). */
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

/** See the module comment. Method bodies: to be written (issue 13). */
export declare class ConversationsCenter {
  constructor(options: CenterOptions);
  /** Now, epoch ms (the last instant seen). */
  readonly now: number;

  // configuration
  configuration(): AccountConfiguration;
  updateConfiguration(input: { defaultInactiveTimer?: string; defaultClosedTimer?: string; defaultMessagingServiceSid?: string | null }, ctx: WriteContext): ConversationOutcome;
  updateWebhookConfiguration(input: { preWebhookUrl?: string | null; postWebhookUrl?: string | null; method?: 'GET' | 'POST'; filters?: string[]; target?: 'webhook' | 'flex' }, ctx: WriteContext): ConversationOutcome;

  // conversations (a `ref` is a CH SID or a unique name)
  createConversation(input: ConversationInput, ctx: WriteContext): { conversation: Conversation } & ConversationOutcome;
  updateConversation(ref: string, input: ConversationInput, ctx: WriteContext): { conversation: Conversation } & ConversationOutcome;
  deleteConversation(ref: string, ctx: WriteContext): ConversationOutcome;
  conversation(ref: string): Conversation | undefined;
  /** Newest first, as Twilio lists them; filters: state, created in [startMs, endMs). */
  listConversations(filter?: { state?: ConversationState; startMs?: number; endMs?: number }): Conversation[];

  // participants
  addParticipant(ref: string, input: ParticipantInput, ctx: WriteContext): { participant: Participant } & ConversationOutcome;
  updateParticipant(ref: string, participantRef: string, input: ParticipantInput, ctx: WriteContext): { participant: Participant } & ConversationOutcome;
  removeParticipant(ref: string, participantRef: string, ctx: WriteContext): ConversationOutcome;
  participant(ref: string, participantRef: string): Participant | undefined;
  participants(ref: string): Participant[];

  // messages
  addMessage(ref: string, input: MessageInput, ctx: WriteContext): { message: Message } & ConversationOutcome;
  updateMessage(ref: string, messageSid: string, input: MessageInput, ctx: WriteContext): { message: Message } & ConversationOutcome;
  removeMessage(ref: string, messageSid: string, ctx: WriteContext): ConversationOutcome;
  message(ref: string, messageSid: string): Message | undefined;
  messages(ref: string, order?: 'asc' | 'desc'): Message[];

  // scoped webhooks
  addWebhook(ref: string, input: WebhookInput, ctx: WriteContext): { webhook: ScopedWebhook } & ConversationOutcome;
  updateWebhook(ref: string, webhookSid: string, input: WebhookInput, ctx: WriteContext): { webhook: ScopedWebhook } & ConversationOutcome;
  removeWebhook(ref: string, webhookSid: string, ctx: WriteContext): ConversationOutcome;
  webhook(ref: string, webhookSid: string): ScopedWebhook | undefined;
  webhooks(ref: string): ScopedWebhook[];

  // address configurations and inbound messages
  putAddress(sid: string | null, input: Partial<Omit<AddressConfiguration, 'sid' | 'accountSid' | 'dateCreated' | 'dateUpdated'>>, ctx: WriteContext): { address: AddressConfiguration } & ConversationOutcome;
  removeAddress(sid: string, ctx: WriteContext): ConversationOutcome;
  address(sidOrAddress: string): AddressConfiguration | undefined;
  addresses(): AddressConfiguration[];
  /**
   * An inbound message from `from` to our `to` (an SMS, a WhatsApp message): added to the open
   * conversation that binds the pair, or — when none does and an address configuration with
   * auto-creation covers `to` — to a new conversation with that participant. Returns the
   * conversation and message, or null when no conversation takes it (nothing changed).
   */
  inbound(input: { from: string; to: string; body: string | null; mediaSid?: string | null }, ctx: WriteContext): ({ conversation: Conversation; message: Message } & ConversationOutcome) | null;

  // timers
  nextDeadline(): number | null;
  /** Fires the state timers due at or before `now` (Reason TIMER). */
  advanceTo(now: number): ConversationOutcome;

  snapshot(): CenterSnapshot;
  static restore(snapshot: CenterSnapshot, options: Omit<CenterOptions, 'now'>): ConversationsCenter;
  takeChanges(): CenterChanges;
}
