/**
 * A real webhook receiver on 127.0.0.1 that checks every request's X-Twilio-Signature with the
 * official helper (`twilio.validateRequest`), a runtime with a routable workspace, and the bench
 * that puts them together with a WebhookDispatcher for one test — on the wall clock, or in virtual
 * time ({@link TestClock}: timeouts, backoff and retries skipped, no sleep).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import twilio from 'twilio';
import { testStoreOptions } from '../support/store.ts';
import { Runtime, type NewCredentials } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import type { Scheduler, Timer } from '../../src/util/scheduler.ts';
import { WebhookDispatcher, type DispatcherOptions } from '../../src/webhooks/dispatcher.ts';

/** Dispatcher timings for tests: retry after 20 ms, poll the outbox every 10 ms. */
export const FAST = { backoffMs: 20, pollMs: 10 } as const;

export interface Received {
  path: string;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** When it arrived, epoch ms of the receiver's clock (the wall clock, or the test's virtual time). */
  at: number;
  /** The client's port: one per connection. */
  remotePort: number;
}

export type Handler = (req: Received, res: ServerResponse) => void;

export interface Receiver {
  url: (path: string) => string;
  received: Received[];
  /** Paths of requests whose signature did not validate (must stay empty). */
  invalid: string[];
  /** Per path: how to answer (default 204). */
  on: (path: string, handler: Handler) => void;
  /**
   * Resolves when `predicate` holds over what was received: checked now and after each request
   * has been handled (event-driven, no poll); rejects if it does not hold within `ms` of real time
   * (a generous bound for real I/O on 127.0.0.1, not a wait for a timer).
   */
  waitFor: (predicate: (received: Received[]) => boolean, ms?: number) => Promise<void>;
  close: () => Promise<void>;
}

/** `now`: the clock that stamps {@link Received.at} (default `Date.now`). */
export async function startReceiver(authToken: () => string, now: () => number = Date.now): Promise<Receiver> {
  const received: Received[] = [];
  const invalid: string[] = [];
  const handlers = new Map<string, Handler>();
  /** Called after each request was handled (see `waitFor`). */
  const arrivals = new Set<() => void>();
  let base = '';
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const params = Object.fromEntries(new URLSearchParams(body));
      const signature = String(req.headers['x-twilio-signature'] ?? '');
      const valid = twilio.validateRequest(authToken(), signature, base + path, params);
      if (!valid) {
        invalid.push(path);
        res.writeHead(403).end();
        return;
      }
      assert.equal(req.method, 'POST');
      const r: Received = { path, params, headers: req.headers, at: now(), remotePort: req.socket.remotePort ?? 0 };
      received.push(r);
      const handler = handlers.get(path.split('?')[0] as string);
      if (handler !== undefined) handler(r, res);
      else res.writeHead(204).end();
      for (const arrived of [...arrivals]) arrived();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path) => base + path,
    received,
    invalid,
    on: (path, handler) => void handlers.set(path, handler),
    waitFor: (predicate, ms = 5_000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate(received)) return resolve();
        const check = (): void => {
          if (!predicate(received)) return;
          done();
          resolve();
        };
        const failAfter = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${ms} ms; received ${JSON.stringify(received.map((r) => [r.path, r.params['EventType']]))}`));
        }, ms);
        const done = (): void => {
          clearTimeout(failAfter);
          arrivals.delete(check);
        };
        arrivals.add(check);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A handler that answers 200 with `body` as `contentType` (JSON unless told). */
export function reply(body: string, contentType = 'application/json'): Handler {
  return (_, res) => void res.writeHead(200, { 'content-type': contentType }).end(body);
}

/**
 * Virtual time for webhook tests: a {@link VirtualScheduler} (time moves only in
 * {@link TestClock.advance}, timer by timer, the real event loop settling after each) that can be
 * told a request hangs. A VirtualScheduler never moves time while tracked work is in flight, so a
 * request to a receiver that never answers would stop it for good; here tracked work stops holding
 * time back once it is known to hang, so the dispatcher's timeout (a virtual timer) can fire:
 *
 * - at once when a receiver's handler calls {@link TestClock.hung} for each request it will not
 *   answer, and as many requests are in flight as were declared hung;
 * - otherwise after `hungAfterMs` of real time (a reply queued behind a hung one on a pipelined
 *   connection is never declared; a receiver on 127.0.0.1 answers within a few ms).
 */
export class TestClock implements Scheduler {
  readonly virtual: VirtualScheduler;
  private readonly hungAfterMs: number;
  private readonly open = new Set<() => void>();
  /** Requests declared hung and not yet matched with the tracked work waiting on them. */
  private declaredHung = 0;

  /** `startMs`: the first instant (epoch ms; the VirtualScheduler's default); `hungAfterMs` default 150. */
  constructor(options: { startMs?: number; hungAfterMs?: number } = {}) {
    this.virtual = new VirtualScheduler(options.startMs);
    this.hungAfterMs = options.hungAfterMs ?? 150;
  }

  now(): number {
    return this.virtual.now();
  }

  setTimer(callback: () => void, delayMs: number): Timer {
    return this.virtual.setTimer(callback, delayMs);
  }

  track<T>(work: Promise<T>): Promise<T> {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const grace = setTimeout(() => {
      this.declaredHung = Math.max(0, this.declaredHung - 1);
      release();
    }, this.hungAfterMs);
    this.open.add(release);
    const held = Promise.race([work.then(() => undefined, () => undefined), released]).finally(() => {
      clearTimeout(grace);
      this.open.delete(release);
      this.match();
    });
    void this.virtual.track(held);
    return work;
  }

  /** A receiver will not answer the request it just got (call once per such request). */
  hung(): void {
    this.declaredHung += 1;
    this.match();
  }

  /** Moves virtual time `ms` forward, firing every timer due on the way (see VirtualScheduler.advanceTo). */
  advance(ms: number): Promise<void> {
    return this.virtual.advance(ms);
  }

  /** Lets what is in flight now finish (real I/O, commits) without moving virtual time. */
  settle(): Promise<void> {
    return this.virtual.settle();
  }

  /** Every tracked work still in flight waits on a hung request: let time move past them. */
  private match(): void {
    if (this.open.size === 0 || this.open.size > this.declaredHung) return;
    this.declaredHung -= this.open.size;
    for (const release of [...this.open]) release();
    this.open.clear();
  }
}

/** A runtime with one account ("Acme") and a receiver that checks signatures with its secret. */
export interface WebhookBench {
  runtime: Runtime;
  account: NewCredentials;
  rx: Receiver;
  /** The virtual clock of a bench opened with `{ virtual: true }`; null on the wall clock. */
  clock: TestClock | null;
  /**
   * The dispatcher of this test, not started; stopped after the test. On the wall clock with
   * {@link FAST} timings under `options`; in virtual time with the default timings, the bench's
   * clock and no poll.
   */
  newDispatcher: (options?: DispatcherOptions) => WebhookDispatcher;
}

/**
 * Opens a {@link WebhookBench} on a fresh data dir. After the test (`t.after`, pass or fail) it
 * stops the dispatcher, closes the receiver, then the runtime. With `virtual: true` the runtime's
 * clock, the receiver's timestamps and the dispatcher all run on one {@link TestClock}.
 */
export async function webhookBench(t: TestContext, options: { virtual?: boolean } = {}): Promise<WebhookBench> {
  const clock = options.virtual === true ? new TestClock() : null;
  const runtime = await openRuntime(undefined, clock ?? undefined);
  const account = await runtime.createAccount('Acme');
  const rx = await startReceiver(() => account.secret, clock === null ? Date.now : () => clock.now());
  const dispatchers: WebhookDispatcher[] = [];
  t.after(async () => {
    for (const d of dispatchers) await d.stop();
    await rx.close();
    await runtime.close();
  });
  return {
    runtime,
    account,
    rx,
    clock,
    newDispatcher: (options = {}) => {
      const d = new WebhookDispatcher(runtime, clock === null ? { ...FAST, ...options } : { scheduler: clock, pollMs: 0, ...options });
      dispatchers.push(d);
      return d;
    },
  };
}

/** Creates `n` tasks with attributes {"i": 0…n-1}, one command each; returns their SIDs in creation order. */
export async function createTasks(runtime: Runtime, ws: string, n: number): Promise<string[]> {
  const sids: string[] = [];
  for (let i = 0; i < n; i += 1) sids.push((await runtime.execute(ws, { type: 'createTask', attributes: JSON.stringify({ i }) })).sid as string);
  return sids;
}

/**
 * A runtime on a fresh (or the given) data dir, on the tests' store (test/support/store.ts);
 * `scheduler`: its clock and timers (default: the wall clock) — a virtual bench passes its
 * {@link TestClock}, so the engine's timers (reservation timeouts …) skip with the dispatcher's.
 */
export function openRuntime(dataDir = mkdtempSync(join(tmpdir(), 'switchboard-wh-')), scheduler?: Scheduler): Promise<Runtime> {
  return Runtime.open({ ...testStoreOptions(dataDir), synchronous: 'NORMAL', ...(scheduler === undefined ? {} : { scheduler }) });
}

/** A workspace with one queue, one workflow and one available worker; returns their SIDs. */
export async function routableWorkspace(
  runtime: Runtime,
  accountSid: string,
  options: { eventCallbackUrl?: string; eventsFilter?: string; assignmentCallbackUrl?: string; fallbackAssignmentCallbackUrl?: string } = {},
): Promise<{ ws: string; workflow: string; worker: string; offline: string }> {
  const { engine } = await runtime.createWorkspace(accountSid, {
    friendlyName: 'Support',
    eventCallbackUrl: options.eventCallbackUrl ?? null,
    eventsFilter: options.eventsFilter ?? null,
  });
  const ws = engine.workspace.sid;
  const activity = (name: string): string => [...engine.activities.values()].find((a) => a.friendlyName === name)?.sid as string;
  const queue = (await runtime.execute(ws, { type: 'createTaskQueue', friendlyName: 'All' })).sid as string;
  const workflow = (
    await runtime.execute(ws, {
      type: 'createWorkflow',
      friendlyName: 'All',
      configuration: JSON.stringify({ task_routing: { default_filter: { queue } } }),
      assignmentCallbackUrl: options.assignmentCallbackUrl ?? null,
      fallbackAssignmentCallbackUrl: options.fallbackAssignmentCallbackUrl ?? null,
    })
  ).sid as string;
  const worker = (await runtime.execute(ws, { type: 'createWorker', friendlyName: 'Alice', activitySid: activity('Available'), attributes: '{"skills":["en"]}' })).sid as string;
  return { ws, workflow, worker, offline: activity('Offline') };
}
