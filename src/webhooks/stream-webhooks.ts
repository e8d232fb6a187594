/**
 * Delivery of Event Streams webhook sinks (outbox kind `stream.webhook`; spec CEA B3, B4, D).
 *
 * - A row holds the CloudEvents one runtime batch made for the sink (1–100, read without parsing
 *   them: `readStreamRow`). Body: a JSON array of CloudEvents (`application/json`). A sink with
 *   `batch_events` gets the events of the rows its account's lane has ready in requests of up to
 *   {@link MAX_BATCH_EVENTS} events or {@link MAX_BATCH_BYTES} (a row may span two), sent at once
 *   (well within the 1 s of B3); at most {@link STREAM_WEBHOOK_MAX_REQUESTS} are on the wire, and
 *   rows started meanwhile fill the next ones, so a burst goes out in batches of 100. Without
 *   `batch_events`, one event per request ({@link STREAM_WEBHOOK_MAX_UNBATCHED_REQUESTS} at once).
 * - A row is done once every request holding its events succeeded (or dropped them); the first
 *   retryable failure fails the row, which the dispatcher retries whole: its events again, with
 *   the same ids (receivers de-duplicate by id, B4).
 * - Signature (D [DECISION]): `?bodySHA256=<hex sha256 of the body>` is appended to the destination
 *   and `X-Twilio-Signature` is the HMAC-SHA1 of that URL alone (no parameters), so
 *   `twilio.validateRequestWithBody(authToken, signature, url, body)` accepts it. The URL signed is
 *   the destination without its userinfo; credentials there become `Authorization: Basic`.
 * - 5 s timeout. 2xx: done. 429, 5xx, timeout, connection error: retried with the dispatcher's
 *   doubling backoff and jitter (capped at {@link MAX_BACKOFF_MS}) until 4 hours after the event
 *   was queued (B4). Any other status: the request's events are dropped (`onDrop`).
 * - A `GET` sink (a GET carries no body) gets one event per request, the array in the query
 *   parameter `events` after `bodySHA256`, signed over that full URL.
 */
import { createHash } from 'node:crypto';
import type { OutboxDeliverer, OutboxDelivery } from '../runtime/outbox.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { readStreamRow, type StreamWebhookPayload } from '../runtime/streams-hosting.ts';
import { twilioSignature } from '../runtime/signature.ts';
import type { PostClient, PostOptions } from './http-post.ts';

export const STREAM_WEBHOOK_TIMEOUT_MS = 5_000;
export const MAX_BATCH_EVENTS = 100;
export const MAX_BATCH_BYTES = 1024 * 1024;
/** Rows of an account's webhook-sink lane in flight at once (the dispatcher's bound for this kind; a row holds 1–100 events). */
export const STREAM_WEBHOOK_MAX_IN_FLIGHT = 200;
/** Requests of a batched sink on the wire at once; rows started meanwhile fill the next requests. */
export const STREAM_WEBHOOK_MAX_REQUESTS = 4;
/** Requests of an unbatched sink (one event each) on the wire at once. */
export const STREAM_WEBHOOK_MAX_UNBATCHED_REQUESTS = 64;
/** Retries stop this long after the event was queued (B4). */
export const RETRY_WINDOW_MS = 4 * 60 * 60 * 1000;
/** The longest wait between two attempts. */
export const MAX_BACKOFF_MS = 5 * 60 * 1000;

/** A request the receiver refused for good (a 4xx other than 429): its events are not sent again. */
export interface StreamDrop {
  accountSid: string;
  sinkSid: string;
  status: number;
  eventIds: string[];
}

/** One outbox row being delivered: its events go out in one or more requests; done when each of them was. */
interface RowDelivery {
  /** Requests (or parts of requests) of the row not yet answered. */
  parts: number;
  settled: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A request being filled or waiting for a slot: events of one sink, from one or more rows. */
interface Request {
  /** The payload of the first row: where the request goes, how it is signed. */
  first: StreamWebhookPayload;
  /** Pieces of the body's array: an event's JSON, or a whole row's events joined by commas. */
  chunks: string[];
  /** Events in the request. */
  count: number;
  ids: string[];
  /** The size of `[…]` with its commas, bytes. */
  bytes: number;
  rows: RowDelivery[];
  /** Takes no more events (full, or one event of an unbatched sink). */
  closed: boolean;
}

/** A sink's requests: the ones waiting (the last may still be filling), and how many are on the wire. */
interface SinkQueue {
  key: string;
  waiting: Request[];
  inFlight: number;
  /** Requests on the wire at most. */
  bound: number;
  /** A flush is due at the end of this turn. */
  scheduled: boolean;
  /** The dispatcher's stop. */
  signal: AbortSignal | undefined;
  /** Removes the queue's listener on `signal`. */
  unlisten: () => void;
}

/** The URL a request goes to (userinfo removed, `bodySHA256` appended) and its Basic credentials. */
export function signedTarget(destination: string, body: string): { url: string; authorization: string | null } {
  const u = new URL(destination);
  const authorization = u.username === '' && u.password === '' ? null : `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  u.hash = '';
  u.searchParams.append('bodySHA256', createHash('sha256').update(body, 'utf8').digest('hex'));
  return { url: u.toString(), authorization };
}

/**
 * The deliverer of `stream.webhook` rows (for `DispatcherOptions.deliverers`). Each sink has a queue
 * of requests, at most {@link STREAM_WEBHOOK_MAX_REQUESTS} of a batched sink (or
 * {@link STREAM_WEBHOOK_MAX_UNBATCHED_REQUESTS} of an unbatched one) on the wire at once. A batched
 * sink's rows fill requests of up to {@link MAX_BATCH_EVENTS} events and {@link MAX_BATCH_BYTES}
 * (a row may span two requests); a request not full goes out at the end of the turn its rows were
 * started in when a slot is free, else it keeps filling until one is. An unbatched sink (or `GET`)
 * gets one request per event. A row resolves once every request holding its events got a 2xx (or a
 * 4xx that dropped them), and rejects at the first retryable failure: the dispatcher retries the
 * whole row later, its events with the same ids (receivers de-duplicate by id, B4). The
 * dispatcher's stop (`signal`) aborts the requests on the wire and fails the ones waiting.
 */
export function streamWebhookDeliverer(runtime: Runtime, client: PostClient, onDrop: (drop: StreamDrop) => void = (d) => console.error(`event stream sink ${d.sinkSid}: HTTP ${d.status}, ${d.eventIds.length} event(s) dropped`)): OutboxDeliverer {
  const sinks = new Map<string, SinkQueue>();

  const send = async (request: Request, signal: AbortSignal | undefined): Promise<void> => {
    const first = request.first;
    const body = `[${request.chunks.join(',')}]`;
    const { url, authorization } = signedTarget(first.destination, body);
    const target = first.method === 'GET' ? `${url}&events=${encodeURIComponent(body)}` : url;
    const headers: Record<string, string> = {
      'x-twilio-signature': twilioSignature(runtime.authToken(first.accountSid), target, {}),
      'user-agent': 'Switchboard-EventStreams/1.0',
    };
    if (first.method === 'POST') headers['content-type'] = 'application/json';
    if (authorization !== null) headers['authorization'] = authorization;
    const options: PostOptions = { headers, timeoutMs: STREAM_WEBHOOK_TIMEOUT_MS, method: first.method };
    if (signal !== undefined) options.signal = signal;
    const reply = await client.post(target, first.method === 'GET' ? '' : body, options);
    if (reply.status >= 200 && reply.status <= 299) return;
    if (reply.status === 429 || reply.status >= 500 || reply.status < 200) throw new Error(`event stream sink ${first.sinkSid}: HTTP ${reply.status}`);
    onDrop({ accountSid: first.accountSid, sinkSid: first.sinkSid, status: reply.status, eventIds: request.ids });
  };

  const settle = (request: Request, error: unknown): void => {
    for (const row of request.rows) {
      if (row.settled) continue;
      if (error !== undefined) {
        row.settled = true;
        row.reject(error);
      } else if (--row.parts === 0) {
        row.settled = true;
        row.resolve();
      }
    }
  };

  /** Sends the sink's waiting requests while it has slots (the last one too, though it could take more events). */
  const flush = (queue: SinkQueue): void => {
    while (queue.inFlight < queue.bound && queue.waiting.length > 0) {
      const request = queue.waiting.shift() as Request;
      request.closed = true;
      queue.inFlight += 1;
      send(request, queue.signal)
        .then(
          () => settle(request, undefined),
          (error: unknown) => settle(request, error ?? new Error('the request failed')),
        )
        .finally(() => {
          queue.inFlight -= 1;
          flush(queue);
          if (queue.inFlight === 0 && queue.waiting.length === 0 && !queue.scheduled && sinks.get(queue.key) === queue) {
            sinks.delete(queue.key);
            queue.unlisten();
          }
        });
    }
  };

  const queueOf = (key: string, batched: boolean, signal: AbortSignal | undefined): SinkQueue => {
    let queue = sinks.get(key);
    if (queue !== undefined && queue.signal?.aborted !== true) return queue;
    const q: SinkQueue = { key, waiting: [], inFlight: 0, bound: batched ? STREAM_WEBHOOK_MAX_REQUESTS : STREAM_WEBHOOK_MAX_UNBATCHED_REQUESTS, scheduled: false, signal, unlisten: () => undefined };
    if (signal !== undefined) {
      // Stopping: the requests still waiting for a slot fail (their rows stay in the outbox).
      const onStop = (): void => {
        for (const request of q.waiting.splice(0)) settle(request, new Error('the dispatcher stopped'));
      };
      signal.addEventListener('abort', onStop, { once: true });
      q.unlisten = () => signal.removeEventListener('abort', onStop);
    }
    sinks.set(key, (queue = q));
    return queue;
  };

  return {
    destination: 'event-streams',
    guarantee: 'at-least-once',
    orderKey: () => null,
    maxBackoffMs: MAX_BACKOFF_MS,
    maxInFlight: STREAM_WEBHOOK_MAX_IN_FLIGHT,
    isFinal: (d: OutboxDelivery, _attempts: number, now: number) => {
      try {
        return now - readStreamRow<StreamWebhookPayload>(d.payload).head.queuedAt >= RETRY_WINDOW_MS;
      } catch {
        return true;
      }
    },
    deliver: (d: OutboxDelivery, _now: number, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const stored = readStreamRow<StreamWebhookPayload>(d.payload);
        const payload = stored.head;
        const count = stored.ids.length;
        if (count === 0) return resolve();
        if (signal?.aborted === true) return reject(new Error('the dispatcher stopped'));
        const batched = payload.batchEvents && payload.method !== 'GET';
        const queue = queueOf(`${d.workspaceSid} ${payload.sinkSid} ${payload.destination} ${payload.method} ${batched}`, batched, signal);
        const row: RowDelivery = { parts: 0, settled: false, resolve, reject };
        /** The request taking `events` events of `bytes` next: the last one waiting, or a new one. */
        const requestFor = (events: number, bytes: number): Request => {
          let request = queue.waiting[queue.waiting.length - 1];
          if (request !== undefined && (request.closed || request.count + events > MAX_BATCH_EVENTS || request.bytes + bytes > MAX_BATCH_BYTES)) {
            request.closed = true;
            request = undefined;
          }
          if (request === undefined) {
            request = { first: payload, chunks: [], count: 0, ids: [], bytes: 1, rows: [], closed: !batched };
            queue.waiting.push(request);
          }
          if (request.rows[request.rows.length - 1] !== row) {
            request.rows.push(row);
            row.parts += 1;
          }
          return request;
        };
        const last = queue.waiting[queue.waiting.length - 1];
        const rowBytes = stored.size + 1;
        if (batched && (last === undefined || last.closed ? 1 : last.bytes) + rowBytes <= MAX_BATCH_BYTES && (last === undefined || last.closed ? 0 : last.count) + count <= MAX_BATCH_EVENTS) {
          // The whole row fits the request being filled (or a new one): its events' text goes as it is.
          const request = requestFor(count, rowBytes);
          request.chunks.push(stored.joined);
          request.count += count;
          request.ids.push(...stored.ids);
          request.bytes += rowBytes;
        } else {
          const texts = stored.texts();
          for (let i = 0; i < count; i++) {
            const text = texts[i] as string;
            const bytes = Buffer.byteLength(text) + 1;
            const request = requestFor(1, bytes);
            request.chunks.push(text);
            request.count += 1;
            request.ids.push(stored.ids[i] as string);
            request.bytes += bytes;
          }
        }
        // The rows the dispatcher starts in this turn fill the requests; they go out after them.
        if (!queue.scheduled) {
          queue.scheduled = true;
          queueMicrotask(() => {
            queue.scheduled = false;
            flush(queue);
          });
        }
      }),
  };
}
