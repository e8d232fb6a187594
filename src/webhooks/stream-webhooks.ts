/**
 * Delivery of Event Streams webhook sinks (outbox kind `stream.webhook`; spec CEA B3, B4, D).
 *
 * - Body: a JSON array of CloudEvents (`application/json`). A sink with `batch_events` gets the
 *   events its account's lane has ready in one request — up to {@link MAX_BATCH_EVENTS} events or
 *   {@link MAX_BATCH_BYTES} — flushed at once (well within the 1 s of B3): the dispatcher starts a
 *   lane's due rows together, the deliverer groups the ones started in the same turn by sink. The
 *   lane may have {@link STREAM_WEBHOOK_MAX_IN_FLIGHT} rows in flight (two full batches), so a
 *   burst goes out in batches of 100. Without `batch_events`, one event per request.
 * - Signature (D [DECISION]): `?bodySHA256=<hex sha256 of the body>` is appended to the destination
 *   and `X-Twilio-Signature` is the HMAC-SHA1 of that URL alone (no parameters), so
 *   `twilio.validateRequestWithBody(authToken, signature, url, body)` accepts it. The URL signed is
 *   the destination without its userinfo; credentials there become `Authorization: Basic`.
 * - 5 s timeout. 2xx: done. 429, 5xx, timeout, connection error: retried with the dispatcher's
 *   doubling backoff and jitter (capped at {@link MAX_BACKOFF_MS}) until 4 hours after the event
 *   was queued (B4). Any other status: the events are dropped (`onDrop`).
 * - A `GET` sink (a GET carries no body) gets one event per request, the array in the query
 *   parameter `events` after `bodySHA256`, signed over that full URL.
 */
import { createHash } from 'node:crypto';
import type { OutboxDeliverer, OutboxDelivery } from '../runtime/outbox.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { StreamWebhookPayload } from '../runtime/streams-hosting.ts';
import { twilioSignature } from '../runtime/signature.ts';
import type { PostClient } from './http-post.ts';

export const STREAM_WEBHOOK_TIMEOUT_MS = 5_000;
export const MAX_BATCH_EVENTS = 100;
export const MAX_BATCH_BYTES = 1024 * 1024;
/** Rows of an account's webhook-sink lane in flight at once (the dispatcher's bound for this kind): two full batches. */
export const STREAM_WEBHOOK_MAX_IN_FLIGHT = 2 * MAX_BATCH_EVENTS;
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

interface Pending {
  payload: StreamWebhookPayload;
  json: string;
  resolve: () => void;
  reject: (error: unknown) => void;
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

/** The deliverer of `stream.webhook` rows (for `DispatcherOptions.deliverers`). */
export function streamWebhookDeliverer(runtime: Runtime, client: PostClient, onDrop: (drop: StreamDrop) => void = (d) => console.error(`event stream sink ${d.sinkSid}: HTTP ${d.status}, ${d.eventIds.length} event(s) dropped`)): OutboxDeliverer {
  /** Rows started in this turn, by sink and destination, not yet sent. */
  const groups = new Map<string, Pending[]>();
  /** The body size of each group so far (bytes of `[…]` with its commas). */
  const sizes = new WeakMap<Pending[], number>();
  /** Groups already sent (a full group is sent before its turn ends). */
  const sent = new WeakSet<Pending[]>();

  const send = async (batch: Pending[]): Promise<void> => {
    const first = (batch[0] as Pending).payload;
    const body = `[${batch.map((p) => p.json).join(',')}]`;
    const { url, authorization } = signedTarget(first.destination, body);
    const target = first.method === 'GET' ? `${url}&events=${encodeURIComponent(body)}` : url;
    const headers: Record<string, string> = {
      'x-twilio-signature': twilioSignature(runtime.authToken(first.accountSid), target, {}),
      'user-agent': 'Switchboard-EventStreams/1.0',
    };
    if (first.method === 'POST') headers['content-type'] = 'application/json';
    if (authorization !== null) headers['authorization'] = authorization;
    const reply = await client.post(target, first.method === 'GET' ? '' : body, { headers, timeoutMs: STREAM_WEBHOOK_TIMEOUT_MS, method: first.method });
    if (reply.status >= 200 && reply.status <= 299) return;
    if (reply.status === 429 || reply.status >= 500 || reply.status < 200) throw new Error(`event stream sink ${first.sinkSid}: HTTP ${reply.status}`);
    onDrop({ accountSid: first.accountSid, sinkSid: first.sinkSid, status: reply.status, eventIds: batch.map((p) => p.payload.event.id) });
  };

  const flush = (batch: Pending[]): void => {
    sent.add(batch);
    send(batch).then(
      () => batch.forEach((p) => p.resolve()),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  };

  return {
    destination: 'event-streams',
    guarantee: 'at-least-once',
    orderKey: () => null,
    maxBackoffMs: MAX_BACKOFF_MS,
    maxInFlight: STREAM_WEBHOOK_MAX_IN_FLIGHT,
    isFinal: (d: OutboxDelivery, _attempts: number, now: number) => {
      try {
        return now - (JSON.parse(d.payload) as StreamWebhookPayload).queuedAt >= RETRY_WINDOW_MS;
      } catch {
        return true;
      }
    },
    deliver: (d: OutboxDelivery) =>
      new Promise<void>((resolve, reject) => {
        const payload = JSON.parse(d.payload) as StreamWebhookPayload;
        const pending: Pending = { payload, json: JSON.stringify(payload.event), resolve, reject };
        if (!payload.batchEvents || payload.method === 'GET') {
          flush([pending]);
          return;
        }
        const key = `${d.workspaceSid} ${payload.sinkSid} ${payload.destination}`;
        let group = groups.get(key);
        const bytes = Buffer.byteLength(pending.json) + 1;
        if (group !== undefined) {
          if (group.length >= MAX_BATCH_EVENTS || (sizes.get(group) ?? 0) + bytes > MAX_BATCH_BYTES) {
            groups.delete(key);
            flush(group);
            group = undefined;
          }
        }
        if (group === undefined) {
          const fresh: Pending[] = [];
          groups.set(key, fresh);
          group = fresh;
          // The rows the dispatcher starts in this turn join the group; it goes out after them.
          queueMicrotask(() => {
            if (groups.get(key) === fresh) groups.delete(key);
            if (fresh.length > 0 && !sent.has(fresh)) flush(fresh);
          });
        }
        group.push(pending);
        sizes.set(group, (sizes.get(group) ?? 1) + bytes);
      }),
  };
}
