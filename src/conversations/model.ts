/**
 * The conversations core's plain data (issue 13; spec conversations-events-analytics.md part A and
 * C): conversations with their state timers, participants, messages, conversation-scoped webhooks,
 * the account's configuration and address configurations — and what the core hands its host:
 * events (the webhook vocabulary of A5/A6) and effects (webhooks to send, messages to deliver over
 * a messaging channel). One {@link ConversationsCenter} per account (its default conversation
 * service). Times are epoch milliseconds unless a name says seconds; durations on the wire are
 * ISO 8601 (`PT1M`) and are kept here as SECONDS (0 = timer off).
 *
 * Pure types: no clock, randomness or I/O. SIDs are lent by the host (`newSid`).
 */
import { StatusError } from '../util/status-error.ts';

/** A JSON object as attributes hold it (stored as the text the client sent, `{}` when unset). */
export type Attributes = string;

export type ConversationState = 'initializing' | 'active' | 'inactive' | 'closed';

/** Why a conversation changed state (A2): a timer, an API request, or an event (a message, a participant). */
export type StateReason = 'TIMER' | 'API' | 'EVENT';

export interface Conversation {
  /** `CH…` */
  sid: string;
  accountSid: string;
  /** `IS…`: the account's default service. */
  chatServiceSid: string;
  messagingServiceSid: string | null;
  friendlyName: string | null;
  uniqueName: string | null;
  attributes: Attributes;
  state: ConversationState;
  /** Timer durations, seconds; 0 = off. */
  inactiveSeconds: number;
  closedSeconds: number;
  /** Computed deadlines (epoch ms) or null: `timers.date_inactive` / `date_closed` on the wire. */
  dateInactive: number | null;
  dateClosed: number | null;
  /** Last message-added or participant-added instant (A2 [DECISION]). */
  lastActivityAt: number;
  /** Next message index (indices strictly increase). */
  nextIndex: number;
  /** `Bindings.Email.Address` / `Name`, when set. */
  emailBinding: { address: string | null; name: string | null } | null;
  dateCreated: number;
  dateUpdated: number;
}

/**
 * How a participant exchanges messages (A3). A messaging participant (SMS, WhatsApp …) has both
 * `address` and `proxyAddress`; a chat participant's binding exists only to hold its group-MMS
 * `projectedAddress`, with the other two null.
 */
export interface MessagingBinding {
  /** `sms`, `whatsapp` (the address starts with `whatsapp:`), … */
  type: string;
  /** The customer's device (`+1555…`, `whatsapp:+1555…`); null for a chat participant's projected binding. */
  address: string | null;
  /** Our number or sender the participant talks to; null for a chat participant's projected binding. */
  proxyAddress: string | null;
  projectedAddress: string | null;
}

export interface Participant {
  /** `MB…` */
  sid: string;
  accountSid: string;
  conversationSid: string;
  /** A chat identity, or null for a messaging participant. */
  identity: string | null;
  attributes: Attributes;
  messagingBinding: MessagingBinding | null;
  roleSid: string | null;
  lastReadMessageIndex: number | null;
  lastReadTimestamp: string | null;
  dateCreated: number;
  dateUpdated: number;
}

export interface Message {
  /** `IM…` */
  sid: string;
  accountSid: string;
  conversationSid: string;
  index: number;
  /** Defaults to `system`; a participant's identity or address. */
  author: string;
  body: string | null;
  attributes: Attributes;
  participantSid: string | null;
  mediaSid: string | null;
  contentSid: string | null;
  subject: string | null;
  dateCreated: number;
  dateUpdated: number;
}

/** A conversation-scoped webhook (A5); `target` webhook, trigger or studio. */
export interface ScopedWebhook {
  /** `WH…` */
  sid: string;
  accountSid: string;
  conversationSid: string;
  target: 'webhook' | 'trigger' | 'studio';
  url: string | null;
  method: 'GET' | 'POST';
  filters: string[];
  triggers: string[];
  flowSid: string | null;
  replayAfter: number | null;
  dateCreated: number;
  dateUpdated: number;
}

/** The account's `/v1/Configuration` (default timers, seconds; 0 = off) and `/v1/Configuration/Webhooks`. */
export interface AccountConfiguration {
  chatServiceSid: string;
  messagingServiceSid: string | null;
  defaultInactiveSeconds: number;
  defaultClosedSeconds: number;
  webhooks: { preWebhookUrl: string | null; postWebhookUrl: string | null; method: 'GET' | 'POST'; filters: string[]; target: 'webhook' | 'flex' };
}

/** `/v1/Configuration/Addresses` (C): an inbound message to `address` auto-creates a conversation. */
export interface AddressConfiguration {
  /** `IG…` */
  sid: string;
  accountSid: string;
  type: string;
  address: string;
  friendlyName: string | null;
  autoCreation: {
    enabled: boolean;
    type: 'webhook' | 'studio' | 'default';
    conversationServiceSid: string | null;
    webhookUrl: string | null;
    webhookMethod: 'GET' | 'POST';
    webhookFilters: string[];
    studioFlowSid: string | null;
    studioRetryCount: number | null;
  };
  addressCountry: string | null;
  /**
   * Our extension (`AutoCreation.Routing*`): a conversation this address auto-creates becomes a
   * TaskRouter task in this workflow (the host creates it; the core only keeps the setting). Absent
   * or null: no task.
   */
  routing?: AddressRouting | null;
  dateCreated: number;
  dateUpdated: number;
}

/** Where an address's auto-created conversations are routed (see {@link AddressConfiguration.routing}). */
export interface AddressRouting {
  /** `WS…` */
  workspaceSid: string;
  /** `WW…` */
  workflowSid: string;
  /** Task channel unique name or `TC…` SID. */
  taskChannel: string;
}

/**
 * Something that happened, named as the post-event webhooks name it (A5/A6): `onConversationAdded`,
 * `onConversationUpdated`, `onConversationRemoved`, `onConversationStateUpdated`, `onMessageAdded`,
 * `onMessageUpdated`, `onMessageRemoved`, `onParticipantAdded`, `onParticipantUpdated`,
 * `onParticipantRemoved`. Emitted for every change, whether or not webhooks fire for it.
 * `params` are the event's own form parameters (A6: `ConversationSid`, `StateFrom`, `StateTo`,
 * `Reason`, `MessageSid`, `Index`, `Author`, `Body` …; null values left out), without the common
 * `AccountSid`/`ChatServiceSid`/`MessagingServiceSid`/`EventType`/`Source`/`RetryCount`/`WebhookSid`,
 * which a `webhook` effect's params add (src/conversations/webhooks.ts).
 */
export interface ConversationEvent {
  eventType: string;
  at: number;
  conversationSid: string;
  /** `API` (REST), `SDK`, or `SYSTEM` (a timer, an inbound message). */
  source: 'API' | 'SDK' | 'SYSTEM';
  params: Record<string, string>;
}

/** What the host must do, in order. */
export type ConversationEffect =
  /**
   * POST (or GET) a signed post-event webhook (the host signs it with the account's auth token and
   * queues it in the outbox). `params` is the whole form: the common parameters and the event's.
   * `webhookSid` is the scoped webhook's SID, null for the account's post-event webhook.
   */
  | { kind: 'webhook'; url: string; method: 'GET' | 'POST'; params: Record<string, string>; webhookSid: string | null }
  /** Deliver a message to a messaging participant (SMS/WhatsApp) through the messaging port: `to` its address, `from` its proxy address. */
  | { kind: 'send'; conversationSid: string; messageSid: string; to: string; from: string; body: string | null; mediaSid: string | null };

export interface ConversationOutcome {
  events: ConversationEvent[];
  effects: ConversationEffect[];
}

/** A refused request: the HTTP status, Twilio's error code and the parameter at fault (A1 error semantics). */
export class ConversationError extends StatusError {
  override name = 'ConversationError';
}
