/**
 * The messaging port: how the conversations core reaches customers on SMS, WhatsApp and web chat
 * (issue 13 item 4; spec conversations-events-analytics.md A3, C). Outbound messages are the core's
 * `send` effects, queued as `message.send` outbox rows and handed to {@link MessagingPort.send} by
 * the one dispatcher (at least once; the message SID is the idempotency key). Inbound messages come
 * back through {@link MessagingInbound.received} (Twilio: the number's messaging webhook; the
 * simulated network: its own clock). Adapters: src/messaging/twilio-messaging.ts (Programmable
 * Messaging through the official `twilio` client) and src/messaging/simulated-messaging.ts.
 *
 * Plain types only. Times are epoch milliseconds.
 */

/** A message for a customer. */
export interface OutboundMessage {
  /** The message's SID (`IM…`): an adapter sends each at most once per SID it has seen. */
  messageSid: string;
  conversationSid: string;
  accountSid: string;
  /** The customer's address (`+1555…`, `whatsapp:+1555…`). */
  to: string;
  /** Our address (a Twilio number, a WhatsApp sender). */
  from: string;
  body: string | null;
  mediaSid: string | null;
}

/** A message from a customer. */
export interface InboundMessage {
  /** The customer's address. */
  from: string;
  /** Our address it was sent to. */
  to: string;
  body: string | null;
  /** The provider's id (`SM…` on Twilio), for logs. */
  providerSid?: string;
  /** Epoch ms it arrived (the network's clock). */
  at: number;
}

/** The receiving side, implemented by the runtime's conversations hosting. */
export interface MessagingInbound {
  /** A customer's message; resolves once it is durable (true) or when no conversation takes it (false). */
  received(message: InboundMessage): Promise<boolean>;
}

/** The sending side, implemented by each adapter. */
export interface MessagingPort {
  /** Sends `message` unless its SID was sent before. Rejects with the provider's error (the row is retried). */
  send(message: OutboundMessage, now: number): Promise<void>;
  /** Hands the port the receiving side, once. */
  attach(inbound: MessagingInbound): void;
}
