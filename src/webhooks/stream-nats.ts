/**
 * Delivery of Event Streams NATS JetStream sinks (outbox kind `stream.nats`; our extension of spec
 * CEA B1/B4, documented in docs/event-streams.md).
 *
 * - A row holds the CloudEvents of one batch for one subject (1–100); each is one message, its
 *   JSON text (structured mode, header `Content-Type: application/cloudevents+json`), published to
 *   the row's subject: `<subject_prefix>.<WorkspaceSid>`, or `<subject_prefix>.<AccountSid>` for
 *   account-level events (the sink test event, conversations). A row's messages are published
 *   pipelined, all at once and in order on the one connection, JetStream's acks coming back to
 *   the connection's inbox (see `publishRow`).
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
import { connect, createInbox, headers, nanos, type JetStreamManager, type Msg, type NatsConnection } from 'nats';
import type { OutboxDeliverer, OutboxDelivery } from '../runtime/outbox.ts';
import { readStreamRow, type StreamNatsPayload } from '../runtime/streams-hosting.ts';
import { MAX_BACKOFF_MS, RETRY_WINDOW_MS } from './stream-webhooks.ts';

/** How long a row's messages wait for JetStream's acknowledgements (milliseconds). */
export const NATS_PUBLISH_TIMEOUT_MS = 5_000;
/** How long a connect waits for the server (milliseconds). */
export const NATS_CONNECT_TIMEOUT_MS = 5_000;
/** Rows of one account's lane in flight at once (a row holds 1–100 messages, all published at once: ≤ 6,400 acks awaited). */
export const NATS_MAX_IN_FLIGHT = 64;
/** JetStream's error code for a missing stream. */
const STREAM_NOT_FOUND = 10059;
/** JetStream's error code for a stream name taken (created meanwhile by another publisher). */
const STREAM_NAME_IN_USE = 10058;

interface Connection {
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** The connection's reply subjects are `<inbox>.<token>`; one subscription takes every ack. */
  inbox: string;
  /** Publishes awaiting their ack: token → settles it (null: acknowledged). */
  acks: Map<string, (error: Error | null) => void>;
  nextToken: number;
}

/** What JetStream answers a publish with (a PubAck, or an API error). */
interface PubAckReply {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; err_code?: number; description?: string };
}

/** The result of an ack message: null when JetStream stored the message (or had it already: a duplicate), else why not. */
function ackError(m: Msg): Error | null {
  // A status instead of an ack: 503 "no responders" when no stream takes the subject.
  if (m.headers?.hasError === true) return new Error(`JetStream did not store the message: ${m.headers.code} ${m.headers.description}`.trim());
  let reply: PubAckReply;
  try {
    reply = JSON.parse(Buffer.from(m.data).toString('utf8')) as PubAckReply;
  } catch {
    return new Error('JetStream answered a publish with something other than an ack');
  }
  if (reply.error !== undefined) return new Error(`JetStream refused the message: ${reply.error.description ?? 'error'} (${reply.error.err_code ?? reply.error.code ?? '?'})`);
  if (typeof reply.seq !== 'number') return new Error('JetStream answered a publish with something other than an ack');
  return null;
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
        const conn: Connection = { nc, jsm: await nc.jetstreamManager({ timeout: NATS_PUBLISH_TIMEOUT_MS }), inbox: createInbox(), acks: new Map(), nextToken: 0 };
        nc.subscribe(`${conn.inbox}.*`, {
          callback: (error, m) => {
            if (error !== null) return;
            const token = m.subject.slice(conn.inbox.length + 1);
            const settle = conn.acks.get(token);
            if (settle === undefined) return; // timed out before: the row is retried
            conn.acks.delete(token);
            settle(ackError(m));
          },
        });
        return conn;
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

  /**
   * Publishes a row's messages at once, in order, each with its event id as `Nats-Msg-Id` and a
   * reply subject of the connection's inbox (JetStream's ack comes there: the asynchronous publish
   * of the NATS clients, one timer for the row rather than one request each); resolves once each
   * was acknowledged, rejects at the first refusal, or when an ack is missing after
   * {@link NATS_PUBLISH_TIMEOUT_MS}.
   */
  const publishRow = (conn: Connection, subject: string, ids: readonly string[], texts: readonly string[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const tokens: string[] = [];
      let waiting = ids.length;
      let settled = false;
      const finish = (error: Error | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const token of tokens) conn.acks.delete(token);
        if (error === null) resolve();
        else reject(error);
      };
      const timer = setTimeout(() => finish(new Error(`no JetStream ack within ${NATS_PUBLISH_TIMEOUT_MS} ms`)), NATS_PUBLISH_TIMEOUT_MS);
      const settle = (error: Error | null): void => {
        if (error !== null) finish(error);
        else if (--waiting === 0) finish(null);
      };
      try {
        for (let i = 0; i < ids.length && !settled; i++) {
          const token = (conn.nextToken++).toString(36);
          tokens.push(token);
          conn.acks.set(token, settle);
          const h = headers();
          h.set('Content-Type', 'application/cloudevents+json');
          h.set('Nats-Msg-Id', ids[i] as string);
          conn.nc.publish(subject, Buffer.from(texts[i] as string), { headers: h, reply: `${conn.inbox}.${token}` });
        }
      } catch (error) {
        finish(error as Error); // the connection is closed
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
    deliver: async (d: OutboxDelivery) => {
      if (closed) throw new Error('the NATS sink is closed');
      const row = readStreamRow<StreamNatsPayload>(d.payload);
      const p = row.head;
      const conn = await connection(p.servers);
      await ensureStream(conn, p);
      if (row.ids.length > 0) await publishRow(conn, p.subject, row.ids, row.texts());
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
