/**
 * Delivery of Event Streams NATS JetStream sinks (outbox kind `stream.nats`; our extension of spec
 * CEA B1/B4, documented in docs/event-streams.md).
 *
 * - A row holds the CloudEvents of one batch for one subject (1–100); each is one message, its
 *   JSON text (structured mode, header `Content-Type: application/cloudevents+json`), published to
 *   the row's subject: `<subject_prefix>.<WorkspaceSid>`, or `<subject_prefix>.<AccountSid>` for
 *   account-level events (the sink test event, conversations). A row's messages are published
 *   pipelined (all in flight together, at most {@link NATS_MAX_PUBLISHES_IN_FLIGHT} per
 *   connection), in order on the one connection.
 * - The event id (`EZ…`, the same on every re-delivery) is the JetStream message id (`Nats-Msg-Id`),
 *   so the stream drops a re-delivery within its duplicate window; later ones carry the same id
 *   for consumers to de-duplicate (at-least-once, B4).
 * - The stream is created when missing (subjects `<subject_prefix>.>`, the sink's duplicate window,
 *   file storage); an existing stream is used as it is.
 * - A row is done when JetStream acknowledged each of its messages. No ack within
 *   {@link NATS_PUBLISH_TIMEOUT_MS} for one of them, no server, no stream answering: the whole row
 *   is retried (the messages acknowledged before are dropped by the stream as duplicates) by the dispatcher with its doubling backoff
 *   and jitter, at most {@link MAX_BACKOFF_MS} apart, until 4 hours after the event was queued
 *   (the webhook sink's rule).
 * - One connection per distinct `servers` value, made on first use and reused (it reconnects by
 *   itself); a failed connect is tried afresh by the next delivery. {@link StreamNatsDeliverer.close}
 *   closes them (at shutdown, after the dispatcher stopped).
 */
import { connect, headers, nanos, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import type { OutboxDeliverer, OutboxDelivery } from '../runtime/outbox.ts';
import { readStreamRow, type StreamNatsPayload } from '../runtime/streams-hosting.ts';
import { MAX_BACKOFF_MS, RETRY_WINDOW_MS } from './stream-webhooks.ts';

/** How long a publish waits for JetStream's acknowledgement (milliseconds). */
export const NATS_PUBLISH_TIMEOUT_MS = 5_000;
/** How long a connect waits for the server (milliseconds). */
export const NATS_CONNECT_TIMEOUT_MS = 5_000;
/** Rows of one account's lane in flight at once (a row holds 1–100 messages). */
export const NATS_MAX_IN_FLIGHT = 256;
/** Publishes of one connection awaiting their acks at once (they come back pipelined); more wait for a slot. */
export const NATS_MAX_PUBLISHES_IN_FLIGHT = 1024;
/** JetStream's error code for a missing stream. */
const STREAM_NOT_FOUND = 10059;
/** JetStream's error code for a stream name taken (created meanwhile by another publisher). */
const STREAM_NAME_IN_USE = 10058;

interface Connection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Publish slots free (of {@link NATS_MAX_PUBLISHES_IN_FLIGHT}). */
  free: number;
  /** Publishes waiting for a slot, first come first served. */
  waiting: WaitQueue;
  /** The dispatchers' stop signals the waiting publishes listen to (one listener each). */
  stopWatched: WeakSet<AbortSignal>;
}

/** A publish waiting for a slot. */
interface Waiter {
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A FIFO of waiters with O(1) push and shift. */
class WaitQueue {
  private items: Array<Waiter | undefined> = [];
  private head = 0;

  push(w: Waiter): void {
    this.items.push(w);
  }

  shift(): Waiter | undefined {
    if (this.head >= this.items.length) return undefined;
    const w = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return w;
  }

  /** Removes and returns the waiters `which` selects, keeping the others in order. */
  drain(which: (w: Waiter) => boolean): Waiter[] {
    const all = this.items.slice(this.head).filter((w): w is Waiter => w !== undefined);
    this.items = all.filter((w) => !which(w));
    this.head = 0;
    return all.filter(which);
  }
}

/** The deliverer of `stream.nats` rows, with the connections it holds. */
export interface StreamNatsDeliverer extends OutboxDeliverer {
  /** Closes every connection (after the dispatcher stopped); resolves once they are closed. */
  close(): Promise<void>;
}

/** Whether a JetStream API error says the stream does not exist. */
function isStreamNotFound(error: unknown): boolean {
  const e = error as { api_error?: { err_code?: number }; message?: string };
  return e.api_error?.err_code === STREAM_NOT_FOUND || /stream not found/i.test(String(e.message));
}

/** The deliverer of `stream.nats` rows (for `DispatcherOptions.deliverers`). */
export function streamNatsDeliverer(): StreamNatsDeliverer {
  const connections = new Map<string, Promise<Connection>>();
  /** `servers stream` → the stream's existence checked (or made). */
  const streams = new Map<string, Promise<void>>();
  let closed = false;

  const connection = (servers: string): Promise<Connection> => {
    let c = connections.get(servers);
    if (c === undefined) {
      c = (async () => {
        const nc = await connect({ servers: servers.split(','), timeout: NATS_CONNECT_TIMEOUT_MS, maxReconnectAttempts: -1, name: 'switchboard-event-streams' });
        if (closed) {
          await nc.close();
          throw new Error('the NATS sink is closed');
        }
        return { nc, js: nc.jetstream({ timeout: NATS_PUBLISH_TIMEOUT_MS }), jsm: await nc.jetstreamManager({ timeout: NATS_PUBLISH_TIMEOUT_MS }), free: NATS_MAX_PUBLISHES_IN_FLIGHT, waiting: new WaitQueue(), stopWatched: new WeakSet() };
      })();
      connections.set(servers, c);
      // A connection that failed (or was closed for good) is made afresh by the next delivery.
      c.then(
        (made) => void made.nc.closed().then(() => connections.get(servers) === c && connections.delete(servers)),
        () => connections.get(servers) === c && connections.delete(servers),
      );
    }
    return c;
  };

  const ensureStream = (conn: Connection, p: StreamNatsPayload): Promise<void> => {
    const key = `${p.servers} ${p.stream}`;
    let ready = streams.get(key);
    if (ready === undefined) {
      ready = (async () => {
        try {
          await conn.jsm.streams.info(p.stream);
          return;
        } catch (error) {
          if (!isStreamNotFound(error)) throw error;
        }
        try {
          await conn.jsm.streams.add({ name: p.stream, subjects: [`${p.subjectPrefix}.>`], duplicate_window: nanos(p.duplicateWindowS * 1000) });
        } catch (error) {
          if ((error as { api_error?: { err_code?: number } }).api_error?.err_code !== STREAM_NAME_IN_USE) throw error;
        }
      })();
      streams.set(key, ready);
      // Not known to exist: looked at again by the next delivery.
      ready.catch(() => streams.get(key) === ready && streams.delete(key));
    }
    return ready;
  };

  /** Publishes one event once the connection has a slot; resolves with JetStream's ack, rejects without one (or when `signal` aborts first). */
  const publish = async (conn: Connection, subject: string, id: string, json: string, signal: AbortSignal | undefined): Promise<void> => {
    if (conn.free > 0) conn.free -= 1;
    else await slot(conn, signal);
    try {
      const h = headers();
      h.set('Content-Type', 'application/cloudevents+json');
      await conn.js.publish(subject, Buffer.from(json), { msgID: id, headers: h, timeout: NATS_PUBLISH_TIMEOUT_MS });
    } finally {
      // The slot goes to the first publish still waiting (one whose dispatcher stopped is skipped).
      let next: Waiter | undefined;
      while ((next = conn.waiting.shift()) !== undefined && next.signal?.aborted === true) next.reject(new Error('the dispatcher stopped'));
      if (next === undefined) conn.free += 1;
      else next.resolve();
    }
  };

  /** Waits for a publish slot of the connection (handed over by the publish that frees it); one listener per dispatcher fails the waiting ones when it stops. */
  const slot = (conn: Connection, signal: AbortSignal | undefined): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) return reject(new Error('the dispatcher stopped'));
      conn.waiting.push({ signal, resolve, reject });
      if (signal !== undefined && !conn.stopWatched.has(signal)) {
        conn.stopWatched.add(signal);
        signal.addEventListener('abort', () => {
          const stopped = conn.waiting.drain((w) => w.signal === signal);
          for (const w of stopped) w.reject(new Error('the dispatcher stopped'));
        }, { once: true });
      }
    });

  return {
    destination: 'event-streams-nats',
    guarantee: 'at-least-once',
    orderKey: () => null,
    maxBackoffMs: MAX_BACKOFF_MS,
    maxInFlight: NATS_MAX_IN_FLIGHT,
    isFinal: (d: OutboxDelivery, _attempts: number, now: number) => {
      try {
        return now - readStreamRow<StreamNatsPayload>(d.payload).head.queuedAt >= RETRY_WINDOW_MS;
      } catch {
        return true;
      }
    },
    deliver: async (d: OutboxDelivery, _now: number, signal?: AbortSignal) => {
      if (closed) throw new Error('the NATS sink is closed');
      const row = readStreamRow<StreamNatsPayload>(d.payload);
      const p = row.head;
      const conn = await connection(p.servers);
      await ensureStream(conn, p);
      const texts = row.texts();
      await Promise.all(row.ids.map((id, i) => publish(conn, p.subject, id, texts[i] as string, signal)));
    },
    close: async () => {
      closed = true;
      const all = [...connections.values()];
      connections.clear();
      streams.clear();
      await Promise.allSettled(all.map(async (c) => (await c).nc.close()));
    },
  };
}
