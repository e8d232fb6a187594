/**
 * The messaging port on Twilio Programmable Messaging (SMS, MMS, WhatsApp; spec
 * conversations-events-analytics.md C2), through the official `twilio` client. The client is passed
 * in, so its base URL is the client's: a test points `client.api.baseUrl` at a fake Messages API
 * (test/support/fake-messaging.ts).
 *
 * - **Out**: {@link TwilioMessaging.send} is one `POST /2010-04-01/Accounts/{AC}/Messages.json`
 *   (`client.messages.create`: `To`, `From`, `Body`, `MediaUrl`, `StatusCallback`). A `whatsapp:`
 *   address is passed as it is (Twilio routes it to WhatsApp by that prefix). Idempotency is ours:
 *   Twilio's Messages API takes no idempotency key, so the adapter remembers the message SIDs it
 *   sent (in memory, the most recent {@link TwilioMessagingOptions.rememberSids}) and ignores a
 *   repeated send; a send still in flight is joined, not repeated. What memory cannot cover: a
 *   request that reached Twilio but whose answer was lost (a timeout) rejects, and the outbox's
 *   retry sends it again; so does a retry after a restart. At most once per SID holds within one
 *   process and for answered requests only.
 * - **In**: {@link TwilioMessaging.handleInbound} takes the form parameters of the number's "A
 *   message comes in" webhook (`From`, `To`, `Body`, `MessageSid`, `NumMedia` …), served by
 *   src/api/routes/messaging.ts at {@link INBOUND_PATH}, and hands them to
 *   {@link MessagingInbound.received}. Status callbacks ({@link STATUS_PATH}) are only logged there.
 */
import twilio from 'twilio';
import type { InboundMessage, MessagingInbound, MessagingPort, OutboundMessage } from '../conversations/messaging-port.ts';

type TwilioClient = ReturnType<typeof twilio>;

/** Where src/api/routes/messaging.ts serves the number's incoming-message webhook (path under our public URL). */
export const INBOUND_PATH = '/messaging/twilio/inbound';
/** Where src/api/routes/messaging.ts serves the status callbacks of the messages we send. */
export const STATUS_PATH = '/messaging/twilio/status';

/** What {@link TwilioMessaging} is built from. */
export interface TwilioMessagingOptions {
  /** The official client (`twilio(accountSid, authToken)`); its `api.baseUrl` decides where requests go. */
  client: TwilioClient;
  /**
   * Our public base URL as Twilio reaches it (e.g. `https://sb.example.com`). When set, every message
   * asks for status callbacks at `publicUrl` + {@link STATUS_PATH}; without it none are asked for.
   */
  publicUrl?: string | null;
  /** Clock for the `at` of inbound messages, epoch ms. Default `Date.now`. */
  now?: () => number;
  /**
   * The public URL Twilio fetches a message's media from (`MediaUrl`), given its media SID (`ME…`).
   * Null, or no resolver: the media is not sent (the body still is).
   */
  mediaUrl?: (mediaSid: string, message: OutboundMessage) => string | null;
  /** How many sent message SIDs are remembered for the once-per-SID rule (oldest forgotten first). Default 100,000. */
  rememberSids?: number;
}

/** Twilio's webhook parameters: the first value of each name. */
export type TwilioFormParams = Readonly<Record<string, string | undefined>>;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/**
 * The Twilio messaging port (see the module comment). {@link handleInbound} throws Error when no
 * inbound side was attached.
 */
export class TwilioMessaging implements MessagingPort {
  /** Our public base URL (no trailing slash), or null; a server that learns its address after listening may set it then. */
  publicUrl: string | null;
  /** The clock inbound messages are stamped with, epoch ms. */
  readonly now: () => number;
  private readonly client: TwilioClient;
  private readonly mediaUrlOf: ((mediaSid: string, message: OutboundMessage) => string | null) | null;
  private readonly remember: number;
  private inboundSide: MessagingInbound | null = null;
  /** Message SID → the provider's SID (`SM…`) of every send Twilio accepted, oldest first (bounded by `remember`). */
  private readonly sentSids = new Map<string, string>();
  /** Message SID → its send still in flight. */
  private readonly inFlight = new Map<string, Promise<void>>();

  /** Throws RangeError when `rememberSids` is not a positive integer. */
  constructor(options: TwilioMessagingOptions) {
    this.client = options.client;
    this.publicUrl = options.publicUrl == null ? null : options.publicUrl.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
    this.mediaUrlOf = options.mediaUrl ?? null;
    this.remember = options.rememberSids ?? 100_000;
    if (!Number.isInteger(this.remember) || this.remember < 1) throw new RangeError('rememberSids must be a positive integer');
  }

  attach(inbound: MessagingInbound): void {
    this.inboundSide = inbound;
  }

  /**
   * Sends `message` as one Messages create request, unless its SID was sent before (ignored) or is
   * being sent (joins that send). Resolves once Twilio accepted it (201, status `queued`). Rejects
   * with the client's error when Twilio refuses (a RestException with Twilio's `code`, e.g. 21211
   * invalid `To`) or cannot be reached, and then forgets the attempt so the outbox's retry sends
   * again; rejects with RangeError, sending nothing, when the message has neither a body nor a media
   * URL to send.
   */
  send(message: OutboundMessage, _now: number): Promise<void> {
    if (this.sentSids.has(message.messageSid)) return Promise.resolve();
    const running = this.inFlight.get(message.messageSid);
    if (running !== undefined) return running;
    const attempt = this.create(message).finally(() => this.inFlight.delete(message.messageSid));
    this.inFlight.set(message.messageSid, attempt);
    return attempt;
  }

  /** Whether a send of `messageSid` was accepted by Twilio (and is still remembered). */
  wasSent(messageSid: string): boolean {
    return this.sentSids.has(messageSid);
  }

  /** The provider's SID (`SM…`) Twilio gave the message `messageSid`, if it was sent and is remembered. */
  providerSidOf(messageSid: string): string | undefined {
    return this.sentSids.get(messageSid);
  }

  /**
   * Twilio's incoming-message webhook (form parameters, see the module comment): the message goes
   * to {@link MessagingInbound.received} as `{ from: From, to: To, body: Body (null when empty:
   * a media-only message), providerSid: MessageSid (else SmsSid), at: now() }`. Resolves with
   * whether a conversation took it; rejects when the inbound side does. Throws RangeError when
   * `From` or `To` is missing, Error when no inbound side was attached. Media (`NumMedia`,
   * `MediaUrl0` …) is not passed on: the port's {@link InboundMessage} has no place for it.
   */
  async handleInbound(params: TwilioFormParams): Promise<boolean> {
    const from = nonEmpty(params['From']);
    const to = nonEmpty(params['To']);
    if (from === undefined || to === undefined) throw new RangeError('an incoming message needs From and To');
    const inbound = this.inbound();
    const providerSid = nonEmpty(params['MessageSid']) ?? nonEmpty(params['SmsSid']);
    const message: InboundMessage = { from, to, body: nonEmpty(params['Body']) ?? null, at: this.now(), ...(providerSid === undefined ? {} : { providerSid }) };
    return inbound.received(message);
  }

  /** The attached inbound side; throws Error before {@link attach}. */
  private inbound(): MessagingInbound {
    if (this.inboundSide === null) throw new Error('TwilioMessaging: no MessagingInbound attached (call attach first)');
    return this.inboundSide;
  }

  private async create(message: OutboundMessage): Promise<void> {
    const mediaUrl = message.mediaSid === null || this.mediaUrlOf === null ? null : this.mediaUrlOf(message.mediaSid, message);
    const body = message.body ?? '';
    if (body === '' && mediaUrl === null) {
      throw new RangeError(`message ${message.messageSid} has nothing to send: no body and no media URL${message.mediaSid === null ? '' : ` for ${message.mediaSid}`}`);
    }
    const created = await this.client.messages.create({
      to: message.to,
      from: message.from,
      ...(body === '' ? {} : { body }),
      ...(mediaUrl === null ? {} : { mediaUrl: [mediaUrl] }),
      ...(this.publicUrl === null ? {} : { statusCallback: this.publicUrl + STATUS_PATH }),
    });
    this.sentSids.set(message.messageSid, created.sid);
    if (this.sentSids.size > this.remember) {
      const oldest = this.sentSids.keys().next().value as string;
      this.sentSids.delete(oldest);
    }
  }
}
