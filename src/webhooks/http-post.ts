/**
 * The HTTP clients the webhook dispatcher sends with.
 *
 * - `PostClient` (assignment callbacks, which go out concurrently): node:http / node:https with
 *   keep-alive agents; measured on loopback, `fetch` made about 2,000 sequential POSTs/s and this
 *   about 7,000 on the same 2-core machine. No redirects are followed (a 3xx is a non-2xx answer),
 *   at most {@link MAX_REPLY_BYTES} of the reply body are read, the timeout covers connect + request + reply (milliseconds, on
 *   the client's {@link Scheduler}, so it runs in virtual time in tests), and an aborted or
 *   timed-out request rejects with an Error named `AbortError` / `TimeoutError`.
 * - `PipelinedClients` (event callbacks, in order per workspace): undici with HTTP/1.1
 *   pipelining, so a lane has several callbacks on the wire at once instead of one round trip at
 *   a time.
 */
import http from 'node:http';
import https from 'node:https';
import { Client } from 'undici';
import { systemScheduler } from '../runtime/scheduler.ts';
import type { Scheduler } from '../util/scheduler.ts';

/**
 * Most bytes of a webhook reply that are read (64 KiB). An assignment instruction is a small JSON
 * object (spec §8); an event callback's reply is not read at all beyond its status. Past the
 * bound the reply is cut off — the connection closed, the rest never read — so a receiver that
 * answers with hundreds of megabytes cannot exhaust the server's memory (issue 11 item 1).
 */
export const MAX_REPLY_BYTES = 64 * 1024;

/** A webhook receiver's reply, whatever its status. */
export interface PostReply {
  /** The HTTP status code (0 if node reported none). */
  status: number;
  /** The Content-Type header, or ''. */
  contentType: string;
  /** The body's first {@link MAX_REPLY_BYTES} bytes at most, as UTF-8. */
  body: string;
  /** The body was longer than {@link MAX_REPLY_BYTES} and was cut off there. */
  truncated: boolean;
}

/** How {@link PostClient.post} sends one request. */
export interface PostOptions {
  /** Request headers (content-length is added). */
  headers: Record<string, string>;
  /** Whole request, connect to the last byte of the reply, in milliseconds of the client's scheduler. */
  timeoutMs: number;
  /** Aborts the request (the dispatcher stopping). */
  signal?: AbortSignal;
  /** `POST` (default) or `GET` (a body is not sent then: put the parameters in the URL). */
  method?: 'GET' | 'POST';
}

/**
 * Keep-alive agents, one pair per dispatcher; `destroy` closes their idle sockets. The agents do not
 * queue requests per host below `maxSockets`: the dispatcher bounds what is in flight itself (per
 * workspace and destination), so one receiver's hung sockets never make another workspace's
 * request wait for a socket to the same host.
 */
export class PostClient {
  private readonly http: http.Agent;
  private readonly https: https.Agent;
  private readonly scheduler: Scheduler;

  /**
   * @param scheduler arms each request's timeout (default: the wall clock).
   * @param maxSockets sockets per host at most (default 512; the dispatcher passes its global cap).
   */
  constructor(scheduler: Scheduler = systemScheduler, maxSockets = 512) {
    this.scheduler = scheduler;
    this.http = new http.Agent({ keepAlive: true, maxSockets });
    this.https = new https.Agent({ keepAlive: true, maxSockets });
  }

  /**
   * POSTs `body` (already form-encoded) to `url`. Resolves with the reply whatever its status;
   * rejects on connection errors, on timeout (`TimeoutError`) and on abort (`AbortError`).
   */
  post(url: string, body: string, options: PostOptions): Promise<PostReply> {
    return new Promise((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new Error(`invalid URL ${url}`));
        return;
      }
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        reject(new Error(`unsupported protocol ${target.protocol}`));
        return;
      }
      const method = options.method ?? 'POST';
      const payload = Buffer.from(method === 'GET' ? '' : body, 'utf8');
      const request = (secure ? https : http).request(target, {
        method,
        agent: secure ? this.https : this.http,
        headers: method === 'GET' ? options.headers : { ...options.headers, 'content-length': String(payload.length) },
      });
      const fail = (name: 'TimeoutError' | 'AbortError', message: string): void => {
        const error = new Error(message);
        error.name = name;
        request.destroy(error);
      };
      const timer = this.scheduler.setTimer(() => fail('TimeoutError', `no reply within ${options.timeoutMs} ms`), options.timeoutMs);
      const onAbort = (): void => fail('AbortError', 'the dispatcher stopped');
      if (options.signal?.aborted === true) onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => {
        timer.cancel();
        options.signal?.removeEventListener('abort', onAbort);
      };
      request.on('error', (error) => {
        done();
        reject(error);
      });
      request.on('response', (res) => {
        const body = new BoundedBody();
        const reply = (): PostReply => ({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: body.text(), truncated: body.truncated });
        res.on('data', (chunk: Buffer) => {
          if (body.add(chunk)) return;
          // Past the bound: stop reading, close the connection, answer with what was read.
          done();
          res.removeAllListeners('data');
          request.destroy();
          resolve(reply());
        });
        res.on('error', (error) => {
          done();
          reject(error);
        });
        res.on('end', () => {
          done();
          resolve(reply());
        });
      });
      request.end(payload);
    });
  }

  /** Closes idle keep-alive sockets. */
  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

/**
 * HTTP/1.1 pipelining for event-callback lanes (spec §9.1 order, OUR CHOICE of transport): one
 * undici `Client` — one keep-alive connection — per lane and origin, with up to `pipelining`
 * requests written on it before their replies come back. An HTTP/1.1 server reads a connection's
 * requests in the order they were written and answers them in that order, so a lane's callbacks
 * reach the receiver in commit order while several are on the wire. Each lane has its own
 * connection, so a receiver that hangs on one workspace's callback does not hold up another's.
 *
 * Requests are marked idempotent (each carries `I-Twilio-Idempotency-Token`): undici pipelines only
 * idempotent requests, and when the request at the head of a pipeline fails and takes the
 * connection down, it sends the ones written behind it again, in order, on a new connection.
 * No redirects are followed; at most {@link MAX_REPLY_BYTES} of a reply are read (past that the
 * connection is closed, and undici sends the requests behind it again on a new one). Timeouts are
 * the caller's (`signal`).
 */
export class PipelinedClients {
  private readonly pipelining: number;
  private readonly clients = new Map<string, { client: Client; usedAt: number }>();

  /** `pipelining`: requests on the wire at once per lane (≥ 1). */
  constructor(pipelining: number) {
    if (!Number.isInteger(pipelining) || pipelining < 1) throw new RangeError(`pipelining must be an integer ≥ 1, got ${pipelining}`);
    this.pipelining = pipelining;
  }

  /**
   * POSTs `body` (already form-encoded) to `url` on the connection of `lane`. Resolves with the
   * reply whatever its status; rejects on connection errors and when `signal` aborts (with the
   * signal's reason). `now` (epoch ms) stamps the client's last use for {@link closeIdle}.
   */
  async post(lane: string, url: string, body: string, options: { headers: Record<string, string>; signal: AbortSignal; now: number }): Promise<PostReply> {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`unsupported protocol ${target.protocol}`);
    const key = `${lane} ${target.origin}`;
    let entry = this.clients.get(key);
    if (entry === undefined) {
      // No undici timers: the lane times each request itself (from when it heads the pipeline).
      entry = { client: new Client(target.origin, { pipelining: this.pipelining, headersTimeout: 0, bodyTimeout: 0 }), usedAt: options.now };
      this.clients.set(key, entry);
    }
    entry.usedAt = options.now;
    const res = await entry.client.request({
      method: 'POST',
      path: target.pathname + target.search,
      headers: options.headers,
      body,
      signal: options.signal,
      idempotent: true,
      blocking: false,
    });
    const read = new BoundedBody();
    for await (const chunk of res.body) {
      if (read.add(chunk as Buffer)) continue;
      res.body.destroy();
      break;
    }
    const contentType = res.headers['content-type'];
    return { status: res.statusCode, contentType: Array.isArray(contentType) ? (contentType[0] ?? '') : (contentType ?? ''), body: read.text(), truncated: read.truncated };
  }

  /** Closes the connections of lanes not used since `before` (epoch ms). */
  closeIdle(before: number): void {
    for (const [key, entry] of this.clients) {
      if (entry.usedAt >= before) continue;
      this.clients.delete(key);
      void entry.client.close().catch(() => undefined);
    }
  }

  /** Closes every connection at once (requests still in flight are failed). */
  async destroy(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(all.map((e) => e.client.destroy()));
  }
}

/** The first {@link MAX_REPLY_BYTES} bytes of a reply body, and whether there were more. */
class BoundedBody {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  /** Keeps what fits of `chunk`; false once the body went past the bound (read no more). */
  add(chunk: Buffer): boolean {
    const room = MAX_REPLY_BYTES - this.size;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.size = MAX_REPLY_BYTES;
      this.truncated = true;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  text(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8');
  }
}
