/**
 * Event callbacks pipelined on one connection per workspace lane (spec §9.1 order; docs/webhooks.md
 * "Pipelining"): a real Runtime on SQLite, the WebhookDispatcher, and a real receiver on 127.0.0.1
 * that records the order requests arrive in and checks every X-Twilio-Signature.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../../src/util/random.ts';
import type { WebhookAlert } from '../../src/webhooks/dispatcher.ts';
import { createTasks, routableWorkspace, webhookBench, type Received, type Receiver } from './helpers.ts';

/** Resolves when every event of `sids` has had an arrival that was answered 2xx (`answered`: indexes into `rx.received`). */
function allAnswered(rx: Receiver, answered: Set<number>, sids: readonly string[], ms?: number): Promise<void> {
  return rx.waitFor((r) => sids.every((sid) => r.some((x, i) => answered.has(i) && x.params['TaskSid'] === sid)), ms);
}

/**
 * The order guarantee of a pipelined lane: for events A before B, B's last arrival comes after
 * A's arrival that was answered 2xx. `answered` holds the indexes (into `received`) of the 2xx ones.
 */
function assertLastDeliveryOrder(received: Received[], answered: Set<number>, order: string[]): void {
  const lastArrival = new Map<string, number>();
  const okArrival = new Map<string, number>();
  received.forEach((r, i) => {
    const sid = r.params['TaskSid'] as string;
    lastArrival.set(sid, i);
    if (answered.has(i)) okArrival.set(sid, i);
  });
  for (let i = 0; i < order.length; i += 1) {
    const ok = okArrival.get(order[i] as string);
    assert.ok(ok !== undefined, `event ${i} was delivered`);
    for (let j = i + 1; j < order.length; j += 1) {
      assert.ok((lastArrival.get(order[j] as string) as number) > ok, `event ${j} is last received after event ${i} was delivered`);
    }
  }
}

test('a window of N callbacks in flight on one connection: every event arrives once, in commit order', async (ctx) => {
  const { runtime, account, rx, newDispatcher } = await webhookBench(ctx);
  const random = new Random(7);
  let pending = 0;
  let maxPending = 0;
  rx.on('/events', (_, res) => {
    pending += 1;
    maxPending = Math.max(maxPending, pending);
    // Replies take 0–4 ms; an HTTP/1.1 server still answers a connection's requests in order.
    setTimeout(() => {
      pending -= 1;
      res.writeHead(204).end();
    }, random.int(0, 4));
  });
  const N = 8;
  const dispatcher = newDispatcher({ eventPipelining: N });
  const w = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/events'), eventsFilter: 'task.created' });
  const before = await createTasks(runtime, w.ws, 100); // a backlog: the lane starts with a full window
  dispatcher.start();
  const during = await createTasks(runtime, w.ws, 100);
  const order = [...before, ...during];
  await rx.waitFor((r) => r.length >= order.length, 10_000);
  await dispatcher.idle();
  assert.deepEqual(rx.received.map((r) => r.params['TaskSid']), order, 'arrival order is commit order, each once');
  assert.ok(maxPending > 1, `callbacks were pipelined (at most ${maxPending} at the receiver at once)`);
  assert.ok(maxPending <= N, `no more than the window (${maxPending} > ${N})`);
  assert.equal(new Set(rx.received.map((r) => r.remotePort)).size, 1, 'one connection for the lane');
  assert.equal(await runtime.store.pendingOutbox(), 0);
  assert.deepEqual(rx.invalid, []);
});

test('a failure in the middle of a window (virtual time): the failed event is retried first, after its backoff; the ones written behind it that were answered 2xx are not sent again', async (ctx) => {
  const { runtime, account, rx, clock, newDispatcher } = await webhookBench(ctx, { virtual: true });
  assert.ok(clock !== null);
  const answered = new Set<number>();
  let failed = '';
  let fifth = '';
  rx.on('/events', (r, res) => {
    const index = rx.received.length - 1;
    if (r.params['TaskSid'] === fifth && failed === '') {
      failed = fifth;
      res.writeHead(503).end();
      return;
    }
    answered.add(index);
    setTimeout(() => res.writeHead(204).end(), 1);
  });
  const N = 8;
  const dispatcher = newDispatcher({ eventPipelining: N, random: () => 0.5 });
  const w = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/events'), eventsFilter: 'task.created' });
  const order = await createTasks(runtime, w.ws, 20);
  fifth = order[4] as string;
  const t0 = clock.now();
  dispatcher.start();
  await clock.settle();
  assert.equal(rx.received.filter((x) => x.params['TaskSid'] === fifth).length, 1, 'the retry waits for its backoff');
  await clock.advance(1_250); // 1 s × (1 + 0.5 / 2)
  await allAnswered(rx, answered, order, 10_000);
  await dispatcher.idle();
  const arrivals = (sid: string): number[] => rx.received.flatMap((x, i) => (x.params['TaskSid'] === sid ? [i] : []));
  assert.equal(failed, fifth);
  assert.equal(arrivals(fifth).length, 2, 'the failed event: its 503, then its retry');
  const firstPass = rx.received.slice(0, arrivals(fifth)[0]).map((x) => x.params['TaskSid']);
  assert.deepEqual(firstPass, order.slice(0, 4), 'before the failure: events 1–4, in order');
  // Events written behind the failed one (events 6–8 at least: the window was full) reached the
  // receiver before its retry and were answered 204: that send was their delivery (issue 11
  // item 5: a retry no longer resends what was behind it). The rest follow the retry, in order.
  for (const sid of order.slice(5, N)) assert.equal(arrivals(sid).length, 1, 'delivered once, in the window');
  for (const sid of order) if (sid !== fifth) assert.equal(arrivals(sid).length, 1, 'every other event once');
  const afterRetry = rx.received.slice((arrivals(fifth)[1] as number) + 1).map((x) => x.params['TaskSid']);
  assert.deepEqual(afterRetry, order.filter((sid) => !rx.received.slice(0, arrivals(fifth)[1]).some((x) => x.params['TaskSid'] === sid)), 'the rest after the retry, in order');
  const retry = rx.received[arrivals(fifth)[1] as number];
  assert.equal(retry?.at, t0 + 1_250, 'retried when its backoff was over');
  assert.equal(retry?.headers['i-twilio-idempotency-token'], rx.received[arrivals(fifth)[0] as number]?.headers['i-twilio-idempotency-token']);
  assert.equal(await runtime.store.pendingOutbox(), 0);
  assert.deepEqual(rx.invalid, []);
});

test('an event dropped in the middle of a window (a 4xx is not retried) raises 11200; the rest are delivered once, in order', async (ctx) => {
  const { runtime, account, rx, newDispatcher } = await webhookBench(ctx);
  let bad = '';
  rx.on('/events', (r, res) => void res.writeHead(r.params['TaskSid'] === bad ? 400 : 204).end());
  const alerts: WebhookAlert[] = [];
  const dispatcher = newDispatcher({ eventPipelining: 8, onAlert: (a) => alerts.push(a) });
  const w = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/events'), eventsFilter: 'task.created' });
  const order = await createTasks(runtime, w.ws, 20);
  bad = order[3] as string;
  dispatcher.start();
  await rx.waitFor((r) => r.length >= order.length, 10_000);
  await dispatcher.idle();
  assert.deepEqual(rx.received.map((r) => r.params['TaskSid']), order);
  assert.deepEqual(alerts.map((a) => [a.code, a.workspaceSid]), [[11200, w.ws]]);
  assert.match(alerts[0]?.message ?? '', /task\.created dropped after 1 attempt\(s\): HTTP 400/);
  assert.equal(await runtime.store.pendingOutbox(), 0);
});

test('a hanging receiver holds up only its own lane (virtual time): another workspace on the same receiver gets its events; the hung head times out after 15 s and the lane resends in order', async (ctx) => {
  const { runtime, account, rx, clock, newDispatcher } = await webhookBench(ctx, { virtual: true });
  assert.ok(clock !== null);
  let hang = true;
  const answered = new Set<number>();
  rx.on('/slow', (_, res) => {
    if (hang) return void clock?.hung(); // never answers
    answered.add(rx.received.length - 1);
    res.writeHead(204).end();
  });
  const alerts: WebhookAlert[] = [];
  const dispatcher = newDispatcher({ eventRetries: 2, eventPipelining: 4, random: () => 0, onAlert: (a) => alerts.push(a) });
  dispatcher.start();
  const slow = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/slow'), eventsFilter: 'task.created' });
  const quick = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/quick'), eventsFilter: 'task.created' });
  const t0 = clock.now();
  const slowOrder = await createTasks(runtime, slow.ws, 10);
  await clock.settle();
  const quickOrder = await createTasks(runtime, quick.ws, 30);
  await clock.settle();
  assert.equal(clock.now(), t0, 'no virtual time passed: the slow lane still hangs');
  assert.deepEqual(rx.received.filter((x) => x.path === '/quick').map((x) => x.params['TaskSid']), quickOrder, 'the quick lane is served while the slow one hangs');
  assert.deepEqual(rx.received.filter((x) => x.path === '/slow').map((x) => x.params['TaskSid']), slowOrder.slice(0, 4), 'a window of 4 written, in order');
  // The head times out after 15 s; the lane is retried from it 1 s later (same order), now answered.
  hang = false;
  const slowReceived = (): Received[] => rx.received.filter((x) => x.path === '/slow');
  await clock.advance(15_999);
  assert.equal(slowReceived().length, 4, 'nothing more before the timeout and the backoff');
  await clock.advance(1);
  await allAnswered(rx, answered, slowOrder, 8_000);
  await dispatcher.idle();
  assert.equal(slowReceived()[4]?.params['TaskSid'], slowOrder[0], 'after the timeout the head is sent first');
  assert.equal(slowReceived()[4]?.at, t0 + 16_000);
  assertLastDeliveryOrder(
    slowReceived(),
    new Set(rx.received.flatMap((x, i) => (x.path === '/slow' && answered.has(i) ? [slowReceived().indexOf(x)] : []))),
    slowOrder,
  );
  assert.deepEqual(alerts, []);
  assert.equal(await runtime.store.pendingOutbox(), 0);
  assert.deepEqual(rx.invalid, []);
});

test('a head that times out and is not retried (#rp=5xx) is dropped (virtual time); the callbacks behind it still arrive in order', async (ctx) => {
  const { runtime, account, rx, clock, newDispatcher } = await webhookBench(ctx, { virtual: true });
  assert.ok(clock !== null);
  let first = '';
  const answered = new Set<number>();
  rx.on('/events', (r, res) => {
    if (r.params['TaskSid'] === first) return void clock?.hung(); // never answers the first event
    answered.add(rx.received.length - 1);
    res.writeHead(204).end();
  });
  const alerts: WebhookAlert[] = [];
  const dispatcher = newDispatcher({ eventPipelining: 4, onAlert: (a) => alerts.push(a) });
  const w = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/events#rp=5xx'), eventsFilter: 'task.created' });
  const order = await createTasks(runtime, w.ws, 12);
  first = order[0] as string;
  dispatcher.start();
  await clock.settle();
  assert.equal(alerts.length, 0, 'the head waits for its 15 s');
  await clock.advance(15_000);
  const rest = order.slice(1);
  await allAnswered(rx, answered, rest, 5_000);
  await dispatcher.idle();
  assert.deepEqual(alerts.map((a) => a.code), [11200]);
  assert.match(alerts[0]?.message ?? '', /dropped after 1 attempt\(s\): no reply within 15000 ms/);
  assert.equal(rx.received.filter((x) => x.params['TaskSid'] === first).length, 1, 'not retried');
  // First copies arrive in commit order; the ones cut off with the head's connection may come twice.
  const firstCopies = [...new Set(rx.received.map((x) => x.params['TaskSid']))];
  assert.deepEqual(firstCopies, order);
  assertLastDeliveryOrder(rx.received, new Set([...answered, 0]), order);
  assert.equal(await runtime.store.pendingOutbox(), 0);
});

test('a receiver that always answers 500 gets each event at most 1 + retries times (virtual time): 33 events, 132 deliveries at most (523 before)', async (ctx) => {
  const { runtime, account, rx, clock, newDispatcher } = await webhookBench(ctx, { virtual: true });
  assert.ok(clock !== null);
  rx.on('/events', (_r, res) => void res.writeHead(500).end());
  const alerts: WebhookAlert[] = [];
  const dispatcher = newDispatcher({ random: () => 0.5, onAlert: (a) => alerts.push(a) });
  const w = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/events'), eventsFilter: 'task.created' });
  const order = await createTasks(runtime, w.ws, 33);
  dispatcher.start();
  // Every event's backoffs: 1.25 s, 2.5 s, 5 s (3 retries), one event after another.
  for (let i = 0; i < 40 && (await runtime.store.pendingOutbox()) > 0; i += 1) await clock.advance(10_000);
  await dispatcher.idle();
  assert.equal(await runtime.store.pendingOutbox(), 0, 'every event was given up on in the end');
  const per = new Map<string, number>();
  for (const r of rx.received) per.set(r.params['TaskSid'] as string, (per.get(r.params['TaskSid'] as string) ?? 0) + 1);
  assert.deepEqual([...per.keys()].sort(), [...order].sort());
  for (const [sid, n] of per) assert.ok(n <= 4, `${sid}: ${n} deliveries (1 + 3 retries at most)`);
  assert.ok(rx.received.length <= 33 * 4, `${rx.received.length} deliveries in all`);
  ctx.diagnostic(`${rx.received.length} deliveries for 33 events`);
  assert.equal(alerts.filter((a) => a.code === 11200).length, 33, 'each event dropped once, with an alert');
});
