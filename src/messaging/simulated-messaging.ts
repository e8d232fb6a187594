/**
 * A simulated messaging network (SMS, WhatsApp) on an injected {@link Scheduler}, for tests and
 * simulations of conversations in virtual time. Deterministic for a seed (src/util/random.ts) and a
 * sequence of calls: every draw happens in the order messages are sent, and every timer is the
 * scheduler's.
 *
 * Simulated customers ({@link SimulatedMessagingNetwork.customer}) are addresses with a behaviour:
 * - they write first with {@link SimulatedMessagingNetwork.start} (delivered at once);
 * - they send their `script` on their own, each entry `afterSeconds` after that first message;
 * - they answer each message they receive with probability `replyProbability`, after
 *   `replyDelaySeconds` (a fixed delay, or uniform in `[min, max]`), to the address that wrote;
 * - after `goneAfterSeconds` (from their first message) they are gone: they send nothing more and
 *   answer nothing, though messages still reach them (the case the inactivity timeout exists for).
 *
 * A message to an address that is no customer is recorded and answered by nobody. Each send is
 * handled at most once per message SID (repeats are ignored and counted). Every message a customer
 * sends goes to {@link MessagingInbound.received} with a provider SID (`SM…`, counting up) and
 * the scheduler's time, its promise passed through `scheduler.track` so that virtual time waits for
 * it; {@link SimulatedMessagingNetwork.sent} and {@link SimulatedMessagingNetwork.received} are the
 * log of both directions.
 */
import type { InboundMessage, MessagingInbound, MessagingPort, OutboundMessage } from '../conversations/messaging-port.ts';
import { Random } from '../util/random.ts';
import type { Scheduler } from '../util/scheduler.ts';

/** One message a customer sends on their own, `afterSeconds` (≥ 0) after their first. */
export interface ScriptedMessage {
  afterSeconds: number;
  body: string;
}

/** How a simulated customer behaves (see the module comment); times in seconds. */
export interface CustomerBehaviour {
  /** Messages they send on their own, timed from their first message. Default none. */
  script?: ScriptedMessage[];
  /** Delay before a reply: a fixed number of seconds, or `[min, max]` drawn uniformly. Default the network's. */
  replyDelaySeconds?: number | [number, number];
  /** Probability (0 to 1) they reply to a message they receive. Default the network's. */
  replyProbability?: number;
  /** Seconds after their first message when they go silent for good. Default never. */
  goneAfterSeconds?: number;
  /** The body of their reply to `message`, the `n`th reply of theirs (from 1). Default `reply n to <message SID>`. */
  replyBody?: (message: OutboundMessage, n: number) => string;
}

/** What {@link SimulatedMessagingNetwork} is built from. */
export interface SimulatedMessagingOptions {
  /** The clock and timers (tests: a VirtualScheduler). */
  scheduler: Scheduler;
  /** Seed of the network's random draws. Default 1. */
  seed?: number;
  /** Reply delay of customers that set none, seconds. Default 30. */
  replyDelaySeconds?: number | [number, number];
  /** Reply probability of customers that set none. Default 1. */
  replyProbability?: number;
}

/** A message handed to {@link SimulatedMessagingNetwork.send}, with the time it was (epoch ms). */
export interface SentRecord {
  at: number;
  message: OutboundMessage;
  /** Whether a customer with that address exists (and so may reply). */
  toCustomer: boolean;
}

/** What became of a customer's message: taken by a conversation, taken by none, the inbound side failed, or not answered yet. */
export type ReceivedOutcome = 'taken' | 'refused' | 'failed' | 'pending';

/** A message a customer sent, as it was handed to {@link MessagingInbound.received}. */
export interface ReceivedRecord {
  message: InboundMessage;
  /** Why it was sent: the first message, a scripted one, or a reply. */
  cause: 'start' | 'script' | 'reply';
  outcome: ReceivedOutcome;
  /** The inbound side's error, for `failed`. */
  error?: unknown;
}

interface Customer {
  address: string;
  script: ScriptedMessage[];
  replyDelay: number | [number, number];
  replyProbability: number;
  goneAfterMs: number;
  replyBody: (message: OutboundMessage, n: number) => string;
  /** Epoch ms of their first message, once started. */
  startedAt: number | null;
  replies: number;
}

const checkDelay = (delay: number | [number, number], what: string): void => {
  const [min, max] = typeof delay === 'number' ? [delay, delay] : delay;
  if (!(min >= 0 && max >= min && Number.isFinite(max))) throw new RangeError(`${what} must be seconds ≥ 0 (a [min, max] pair with min ≤ max)`);
};

const checkProbability = (p: number, what: string): void => {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${what} must be a probability between 0 and 1`);
};

/** The simulated messaging port (see the module comment). */
export class SimulatedMessagingNetwork implements MessagingPort {
  /** `send` calls ignored because their message SID was sent before. */
  duplicates = 0;
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private readonly defaultDelay: number | [number, number];
  private readonly defaultProbability: number;
  private inboundSide: MessagingInbound | null = null;
  private readonly customers = new Map<string, Customer>();
  private readonly sentLog: SentRecord[] = [];
  private readonly receivedLog: ReceivedRecord[] = [];
  private readonly sids = new Set<string>();
  private providerSids = 0;

  /** Throws RangeError for a negative delay or a probability outside [0, 1]. */
  constructor(options: SimulatedMessagingOptions) {
    this.scheduler = options.scheduler;
    this.random = new Random(options.seed ?? 1);
    this.defaultDelay = options.replyDelaySeconds ?? 30;
    this.defaultProbability = options.replyProbability ?? 1;
    checkDelay(this.defaultDelay, 'replyDelaySeconds');
    checkProbability(this.defaultProbability, 'replyProbability');
  }

  attach(inbound: MessagingInbound): void {
    this.inboundSide = inbound;
  }

  /**
   * Adds (or replaces, before it started) the customer at `address` (`+1555…`, `whatsapp:+1555…`).
   * Throws RangeError for a bad delay, probability or script time, or when the customer already
   * started.
   */
  customer(address: string, behaviour: CustomerBehaviour = {}): void {
    const existing = this.customers.get(address);
    if (existing !== undefined && existing.startedAt !== null) throw new RangeError(`customer ${address} has already started`);
    const replyDelay = behaviour.replyDelaySeconds ?? this.defaultDelay;
    const replyProbability = behaviour.replyProbability ?? this.defaultProbability;
    checkDelay(replyDelay, 'replyDelaySeconds');
    checkProbability(replyProbability, 'replyProbability');
    const script = [...(behaviour.script ?? [])];
    for (const s of script) if (!(s.afterSeconds >= 0 && Number.isFinite(s.afterSeconds))) throw new RangeError('script: afterSeconds must be seconds ≥ 0');
    const gone = behaviour.goneAfterSeconds ?? Infinity;
    if (!(gone >= 0)) throw new RangeError('goneAfterSeconds must be seconds ≥ 0');
    this.customers.set(address, {
      address,
      script,
      replyDelay,
      replyProbability,
      goneAfterMs: gone * 1000,
      replyBody: behaviour.replyBody ?? ((m, n) => `reply ${n} to ${m.messageSid}`),
      startedAt: null,
      replies: 0,
    });
  }

  /**
   * The customer at `address` writes first, now, to our address `to`: the message is handed to the
   * inbound side at once, and their script is armed from now. A customer not added before gets the
   * network's defaults. Resolves with whether a conversation took the message (the inbound side's
   * answer); rejects when it does. Throws Error before {@link attach}, RangeError when the customer
   * already started.
   */
  start(address: string, to: string, body: string): Promise<boolean> {
    const inbound = this.inbound();
    if (!this.customers.has(address)) this.customer(address);
    const c = this.customers.get(address) as Customer;
    if (c.startedAt !== null) throw new RangeError(`customer ${address} has already started`);
    c.startedAt = this.scheduler.now();
    for (const s of c.script) {
      this.scheduler.setTimer(() => {
        if (!this.gone(c)) void this.deliver(inbound, { from: address, to, body: s.body }, 'script').catch(() => {});
      }, s.afterSeconds * 1000);
    }
    return this.deliver(inbound, { from: address, to, body }, 'start');
  }

  /**
   * Takes `message` to its customer (see the module comment): recorded in {@link sent} at the
   * scheduler's time (the `now` argument is not used), and a reply armed when the customer is there and draws one. A message SID
   * handled before is ignored (counted in {@link duplicates}). Never rejects.
   */
  async send(message: OutboundMessage, _now: number): Promise<void> {
    if (this.sids.has(message.messageSid)) {
      this.duplicates += 1;
      return;
    }
    this.sids.add(message.messageSid);
    const c = this.customers.get(message.to);
    this.sentLog.push({ at: this.scheduler.now(), message, toCustomer: c !== undefined });
    if (c === undefined || this.gone(c)) return;
    // Draws in a fixed order (reply?, then delay) so that a seed replays exactly.
    if (!this.random.chance(c.replyProbability)) return;
    const delay = typeof c.replyDelay === 'number' ? c.replyDelay : c.replyDelay[0] + this.random.next() * (c.replyDelay[1] - c.replyDelay[0]);
    c.replies += 1;
    const body = c.replyBody(message, c.replies);
    const inbound = this.inboundSide;
    this.scheduler.setTimer(() => {
      if (inbound !== null && !this.gone(c)) void this.deliver(inbound, { from: c.address, to: message.from, body }, 'reply').catch(() => {});
    }, delay * 1000);
  }

  /** Every message handed to {@link send} (repeats excluded), in order, with its time. */
  sent(): SentRecord[] {
    return [...this.sentLog];
  }

  /** Every message the customers sent, in order, with its time (`message.at`) and outcome (a `pending` record is updated in place once the inbound side answers). */
  received(): ReceivedRecord[] {
    return [...this.receivedLog];
  }

  /** Whether the customer at `address` has gone silent by now (false for an unknown or not yet started one). */
  isGone(address: string): boolean {
    const c = this.customers.get(address);
    return c !== undefined && this.gone(c);
  }

  private gone(c: Customer): boolean {
    return c.startedAt !== null && this.scheduler.now() >= c.startedAt + c.goneAfterMs;
  }

  /** The attached inbound side; throws Error before {@link attach}. */
  private inbound(): MessagingInbound {
    if (this.inboundSide === null) throw new Error('SimulatedMessagingNetwork: no MessagingInbound attached (call attach first)');
    return this.inboundSide;
  }

  /** Hands a customer's message to the inbound side (tracked) and records its outcome. */
  private deliver(inbound: MessagingInbound, m: { from: string; to: string; body: string }, cause: ReceivedRecord['cause']): Promise<boolean> {
    this.providerSids += 1;
    const message: InboundMessage = { ...m, providerSid: 'SM' + this.providerSids.toString(16).padStart(32, '0'), at: this.scheduler.now() };
    const record: ReceivedRecord = { message, cause, outcome: 'pending' };
    this.receivedLog.push(record);
    let work: Promise<boolean>;
    try {
      work = inbound.received(message);
    } catch (err) {
      work = Promise.reject(err);
    }
    return this.scheduler.track(
      work.then(
        (taken) => {
          record.outcome = taken ? 'taken' : 'refused';
          return taken;
        },
        (err: unknown) => {
          record.outcome = 'failed';
          record.error = err;
          throw err;
        },
      ),
    );
  }
}
