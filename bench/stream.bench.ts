/**
 * Event Streams benchmark (issue 14, "what it must show"): the engine events of the replay of the
 * two-week Anonymous Bank sample (~148,000 events, collected once through `replayCalls`'s
 * `onEvent`), then
 *
 * - (a) the analytics projector alone: observe every event, flush, one KPI query — events/s;
 * - (b) the webhook sink through the server's real path: a runtime (SQLite, as `switchboard serve`
 *   opens it) with a batched webhook sink and a subscription to every TaskRouter type; the events
 *   are handed to its Event Streams core in batches of 2,000 (`offerEngineEvents`: the same outbox
 *   rows the engine's commands write), and the one dispatcher delivers them with the stream
 *   deliverer (batches of ≤ 100, signed) to an HTTP receiver on 127.0.0.1 (in a worker thread,
 *   as a receiver is another program) — events received/s,
 *   from the first hand-over to the last event received;
 * - (c) the NATS JetStream sink the same way, to the JetStream on 127.0.0.1:4222 (a stream of its
 *   own, deleted at the end), counted by a subscriber on the sink's subjects.
 *
 * Each sink is compared with a baseline in the same process: the same CloudEvents sent straight
 * to the same receiver (POST batches of 100, two in flight) or stream (publishes with the
 * event id, 256 in flight) with no runtime, store or dispatcher between — `ratio` = sink ÷ baseline.
 * Targets: projector ≥ 200,000 events/s, each sink ≥ 20,000 events/s. Ends with one JSON line.
 * Run: `npm run bench:stream` (NATS must answer on 127.0.0.1:4222; .ci/run starts it).
 */
import { mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Worker } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, headers } from 'nats';
import { AnalyticsProjector } from '../src/analytics/projector.ts';
import { describeEvent, type EngineEvent } from '../src/engine/index.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { systemScheduler } from '../src/runtime/scheduler.ts';
import { importAnonymousBank } from '../src/sim/anonymous-bank.ts';
import { replayCalls } from '../src/sim/replay.ts';
import { EVENT_TYPES, TASKROUTER_PREFIX, taskRouterCloudEvent } from '../src/streams/streams.ts';
import { WebhookDispatcher } from '../src/webhooks/dispatcher.ts';
import { PostClient } from '../src/webhooks/http-post.ts';
import { streamNatsDeliverer } from '../src/webhooks/stream-nats.ts';
import { streamWebhookDeliverer } from '../src/webhooks/stream-webhooks.ts';

const SAMPLE = fileURLToPath(new URL('../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));
const NATS_URL = process.env['SWITCHBOARD_BENCH_NATS'] ?? 'nats://127.0.0.1:4222';
const CHUNK = 2_000;
/** `SWITCHBOARD_BENCH_ONLY=webhook|nats` measures that sink alone (for profiling: `node --cpu-prof bench/stream.bench.ts`). */
const ONLY = process.env['SWITCHBOARD_BENCH_ONLY'] ?? '';
const TARGET_PROJECTOR = 200_000;
const TARGET_SINK = 20_000;

const { calls } = await importAnonymousBank(SAMPLE);
const events: EngineEvent[] = [];
replayCalls(calls, { onEvent: (e) => void events.push(e) });
const n = events.length;
const perS = (count: number, ms: number): number => Math.round(count / (ms / 1000));
/** This process's CPU time (user + system, ms) of each measured part, all threads: on a shared machine a steadier figure than the wall clock. */
const cpuMs = new Map<string, number>();
const cpuSince = (name: string, since: NodeJS.CpuUsage): void => {
  const used = process.cpuUsage(since);
  cpuMs.set(name, (used.user + used.system) / 1000);
};

// ── (a) the projector alone ──
const projectorRun = (): number => {
  const t0 = performance.now();
  const p = new AnalyticsProjector();
  for (const e of events) p.observe(e);
  p.flush();
  p.kpis({ from: events[0]!.at, to: events[n - 1]!.at + 1 });
  return performance.now() - t0;
};
const projectorMs = ONLY !== '' ? NaN : (projectorRun(), Math.min(projectorRun(), projectorRun())); // the first run warms up

// ── a receiver counting CloudEvents ──
// In a thread of its own, as a webhook receiver is another program: parsing the bodies must not
// take the server's thread (it did, and was ~10% of the measured CPU). It reports its running
// count of events received after every request.
let received = 0;
let onReceived: () => void = () => undefined;
const receiver = new Worker(
  `const { createServer } = require('node:http');
  const { parentPort } = require('node:worker_threads');
  let received = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received += JSON.parse(Buffer.concat(chunks).toString()).length;
      res.writeHead(200).end();
      parentPort.postMessage(received);
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
  parentPort.on('message', () => server.close(() => process.exit(0)));`,
  { eval: true },
);
const receiverPort = await new Promise<number>((resolve) => receiver.once('message', (m: { port: number }) => resolve(m.port)));
receiver.on('message', (m: unknown) => {
  if (typeof m !== 'number') return;
  received = m;
  onReceived();
});
const receiverUrl = `http://127.0.0.1:${receiverPort}/events`;
const allReceived = (count: number, get: () => number): Promise<void> =>
  new Promise((resolve) => {
    onReceived = () => get() >= count && resolve();
    onReceived();
  });

const TYPES = EVENT_TYPES.filter((t) => t.type.startsWith(TASKROUTER_PREFIX)).map((t) => ({ type: t.type, schemaVersion: 4 }));
const streamed = events.filter((e) => TYPES.some((t) => t.type === TASKROUTER_PREFIX + e.eventType)).length;

/** A runtime with one sink of `sinkType` subscribed to every TaskRouter type; the events handed over in chunks; resolves with the ms until `count()` saw them all. */
async function throughSink(sinkType: 'webhook' | 'nats', configuration: Record<string, unknown>, count: () => number): Promise<number> {
  const runtime = await Runtime.open({ dataDir: mkdtempSync(join(tmpdir(), 'switchboard-bench-stream-')) });
  const account = await runtime.createAccount('Bench');
  const sink = await runtime.streams.write(account.sid, (a, now, newSid) => a.createSink(newSid('DG'), { description: 'bench', sinkType, sinkConfiguration: JSON.stringify(configuration) }, now));
  await runtime.streams.write(account.sid, (a, now, newSid) => a.createSubscription(newSid('DF'), { description: 'all', sinkSid: sink.sid, types: TYPES }, now));
  const nats = streamNatsDeliverer();
  const dispatcher = new WebhookDispatcher(runtime, {
    scheduler: systemScheduler,
    deliverers: { 'stream.webhook': streamWebhookDeliverer(runtime, new PostClient(systemScheduler)), 'stream.nats': nats },
    onDeliveryFailure: (f) => process.stderr.write(`delivery failed: ${String(f.error)}\n`),
  });
  dispatcher.start();
  const before = count();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const done = allReceived(before + streamed, count);
  for (let i = 0; i < n; i += CHUNK) await runtime.streams.offerEngineEvents(account.sid, events.slice(i, i + CHUNK));
  await done;
  const ms = performance.now() - t0;
  cpuSince(sinkType, c0);
  await dispatcher.stop();
  await nats.close();
  await runtime.close();
  return ms;
}

const cloudEvents = events.filter((e) => TYPES.some((t) => t.type === TASKROUTER_PREFIX + e.eventType)).map((e) => taskRouterCloudEvent('AC00000000000000000000000000000000', e, describeEvent(e), 4));

// ── (b) the webhook sink, and its baseline: the same CloudEvents POSTed straight, 100 per request ──
const agent = new Agent({ keepAlive: true, maxSockets: 2 });
const post = (body: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const req = request(receiverUrl, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(body);
  });
const webhookBaselineMs = ONLY === 'nats' ? NaN : await (async () => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const start = received;
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < cloudEvents.length; i += 100) {
    const p = post(JSON.stringify(cloudEvents.slice(i, i + 100))).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 2) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await allReceived(start + cloudEvents.length, () => received); // the receiver's count follows its answers
  if (received - start !== cloudEvents.length) throw new Error(`baseline: ${received - start} of ${cloudEvents.length} received`);
  cpuSince('webhook baseline', c0);
  return performance.now() - t0;
})();
const webhookMs = ONLY === 'nats' ? NaN : await throughSink('webhook', { destination: receiverUrl, method: 'POST', batch_events: true }, () => received);

// ── (c) the NATS sink, and its baseline: the same CloudEvents published straight ──
const tag = `${process.pid}_${Date.now().toString(36)}`;
const stream = `SBBENCH_${tag}`;
const prefix = `sbbench.${tag}`;
const nc = await connect({ servers: NATS_URL });
const jsm = await nc.jetstreamManager();
// Delivered = stored in the stream (JetStream acknowledged it): counted from the stream's state,
// polled every 20 ms, rather than by a subscriber, which would double the NATS server's work on
// this 2-core machine (a consumer's own pace is not the sink's). test/streams/nats.test.ts has the
// consumer that receives every event.
let natsReceived = 0;
let polling: ReturnType<typeof setInterval> | null = null;
const pollStream = (name: string): void => {
  polling = setInterval(() => {
    void jsm.streams.info(name).then((i) => {
      natsReceived = i.state.messages;
      onReceived();
    }, () => undefined);
  }, 20);
};
await jsm.streams.add({ name: `${stream}_BASE`, subjects: [`${prefix}base.>`], duplicate_window: 600 * 1e9 });
const natsBaselineMs = ONLY === 'webhook' ? NaN : await (async () => {
  const js = nc.jetstream();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  for (const ce of cloudEvents) {
    const h = headers();
    h.set('Content-Type', 'application/cloudevents+json');
    const p = js.publish(`${prefix}base.x`, Buffer.from(JSON.stringify(ce)), { msgID: ce.id, headers: h }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 256) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  cpuSince('nats baseline', c0);
  return performance.now() - t0;
})();
let natsMs: number;
try {
  if (ONLY !== 'webhook') pollStream(stream);
  natsMs = ONLY === 'webhook' ? NaN : await throughSink('nats', { servers: NATS_URL, stream, subject_prefix: prefix }, () => natsReceived);
  if (polling !== null) clearInterval(polling);
  const info = ONLY === 'webhook' ? null : await jsm.streams.info(stream);
  if (info !== null && info.state.messages !== streamed) throw new Error(`the stream holds ${info.state.messages} of ${streamed} events`);
} finally {
  await jsm.streams.delete(stream).catch(() => undefined);
  await jsm.streams.delete(`${stream}_BASE`).catch(() => undefined);
  await nc.close();
  receiver.postMessage('stop');
  agent.destroy();
}

const projector = perS(n, projectorMs);
const webhook = perS(streamed, webhookMs);
const natsSink = perS(streamed, natsMs);
const row = (name: string, rate: number, target: number, extra = ''): string => `${name.padEnd(34)} ${rate.toLocaleString('en-US').padStart(10)} events/s   target ≥ ${target.toLocaleString('en-US')} ${rate >= target ? 'ok' : 'MISSED'}${extra}`;
console.log(`Switchboard Event Streams benchmark — ${n.toLocaleString('en-US')} engine events of the two-week replay (${streamed.toLocaleString('en-US')} on the stream), Node ${process.version}`);
console.log(row('projector (observe, flush, kpis)', projector, TARGET_PROJECTOR));
console.log(row('webhook sink (outbox → dispatcher)', webhook, TARGET_SINK, `   ÷ direct POSTs ${perS(streamed, webhookBaselineMs).toLocaleString('en-US')}/s = ${(webhook / perS(streamed, webhookBaselineMs)).toFixed(2)}`));
console.log(row('nats sink (outbox → dispatcher)', natsSink, TARGET_SINK, `   ÷ direct publishes ${perS(streamed, natsBaselineMs).toLocaleString('en-US')}/s = ${(natsSink / perS(streamed, natsBaselineMs)).toFixed(2)}`));
console.log(`CPU of this process per event (µs): ${[...cpuMs].map(([name, ms]) => `${name} ${((ms * 1000) / streamed).toFixed(1)}`).join(', ')}`);
console.log(JSON.stringify({ projector_events_per_s: projector, webhook_sink_events_per_s: webhook, nats_sink_events_per_s: natsSink }));
process.exit(0);
