/**
 * The HTTP client the webhook dispatcher sends with: node:http / node:https with keep-alive
 * agents. Event callbacks of a workspace go out one at a time (spec §9.1 order), so the time of
 * one round trip caps a lane's rate; measured on loopback, `fetch` (undici behind the WHATWG
 * layer: streams, Headers, AbortSignal.any) made about 2,000 sequential POSTs/s and this about
 * 7,000, on the same 2-core machine.
 *
 * Behaviour kept from the fetch version: no redirects are followed (a 3xx is a non-2xx answer),
 * the whole reply body is read, the timeout covers connect + request + reply (milliseconds), and
 * an aborted or timed-out request rejects with an Error named `AbortError` / `TimeoutError`.
 */
import http from 'node:http';
import https from 'node:https';

export interface PostReply {
  status: number;
  /** The Content-Type header, or ''. */
  contentType: string;
  body: string;
}

export interface PostOptions {
  headers: Record<string, string>;
  /** Whole request, connect to the last byte of the reply, in milliseconds. */
  timeoutMs: number;
  /** Aborts the request (the dispatcher stopping). */
  signal?: AbortSignal;
}

/** Keep-alive agents, one pair per dispatcher; `destroy` closes their idle sockets. */
export class PostClient {
  private readonly http = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly https = new https.Agent({ keepAlive: true, maxSockets: 64 });

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
      const payload = Buffer.from(body, 'utf8');
      const request = (secure ? https : http).request(target, {
        method: 'POST',
        agent: secure ? this.https : this.http,
        headers: { ...options.headers, 'content-length': String(payload.length) },
      });
      const fail = (name: 'TimeoutError' | 'AbortError', message: string): void => {
        const error = new Error(message);
        error.name = name;
        request.destroy(error);
      };
      const timer = setTimeout(() => fail('TimeoutError', `no reply within ${options.timeoutMs} ms`), options.timeoutMs);
      const onAbort = (): void => fail('AbortError', 'the dispatcher stopped');
      if (options.signal?.aborted === true) onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      request.on('error', (error) => {
        done();
        reject(error);
      });
      request.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => {
          done();
          reject(error);
        });
        res.on('end', () => {
          done();
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') });
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
