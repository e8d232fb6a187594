/**
 * API load benchmark (issue #4): `switchboard serve` runs as a child process (durable commits,
 * synchronous FULL) on a temp data dir; this process creates tasks over loopback HTTP from several
 * concurrent creators, each on its own keep-alive connection (node:http: on this 2-core machine
 * `fetch` cost the load generator about 3× the CPU per request, CPU the server then lacked).
 *
 * What is measured (BENCH_MEASURE):
 * - `callback` (default): create → the reservation's event callback, as issue #4 asks. The
 *   workspace's EventCallbackUrl points at a receiver that runs in a worker thread of this
 *   process (its own event loop, so the creators do not delay it and it does not delay them) and
 *   EventsFilter is `reservation.created`. Latency = the moment the receiver got the callback for
 *   the task (wall clock, sub-millisecond: `performance.timeOrigin + performance.now()`, valid
 *   across threads) − the moment its create request was sent. The receiver answers 204 at once.
 * - `response`: create → the create response. Every task is reserved inside its own createTask
 *   command (the reservation.created event is committed in the same transaction), so this is
 *   create → reservation committed, without webhook delivery.
 *
 * The workspace has Available workers with enough capacity that every task is reserved by its
 * own create; the bench counts responses that do not say `reserved`, and callbacks that never
 * came. Throughput = tasks ÷ (first create sent → last create answered and, in `callback` mode,
 * last callback received).
 *
 * Concurrency: 16 creators by default. On this 2-core machine (server, its checkpointer thread,
 * this generator and the receiver share the cores) 16 requests in flight already keep the server
 * busy; more only queue in front of it, and by Little's law every extra request in flight adds
 * about 1/throughput to each latency (measured on a quiet machine: 8 → 2,751/s p99 13 ms,
 * 16 → 3,207/s p99 19 ms, 32 → 3,838/s p99 36 ms). Pass BENCH_CONCURRENCY to see the curve.
 *
 * Store (BENCH_STORE): `sqlite` (default: the server's SQLite file in the temp data dir) or
 * `postgres`: the server runs with --database-url on BENCH_DATABASE_URL (default
 * SWITCHBOARD_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test) in a fresh schema
 * (`bench_<random>`, dropped at the end). With PostgreSQL the server's CPU per create leaves out
 * the database server's own CPU.
 *
 * Env: BENCH_TASKS (default 20000), BENCH_CONCURRENCY (default 16), BENCH_WARMUP (default 2000),
 * BENCH_MEASURE (`callback` | `response`), BENCH_SYNCHRONOUS (FULL | NORMAL),
 * BENCH_SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=prof" to profile the server).
 * Ends with one JSON line: {"store":…, "creates_per_s":…, "p99_create_to_reservation_ms":…,
 * "load_average_1m":…, …}; also the
 * server's CPU time per create (µs, from /proc: a steadier figure than rates on a shared machine).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import http from 'node:http';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { apiCreateLoad, closedLoop, createForm } from './support/create-load.ts';
import { percentile, processCpuMs, startServer, type ServerChild } from './support/server.ts';

const { tasks: TASKS, concurrency: CONCURRENCY, warmup: WARMUP, capacity: CAPACITY } = apiCreateLoad();
const MEASURE = process.env['BENCH_MEASURE'] ?? 'callback';
const SYNCHRONOUS = process.env['BENCH_SYNCHRONOUS'] ?? 'FULL';
const STORE = process.env['BENCH_STORE'] ?? 'sqlite';
const DATABASE_URL = process.env['BENCH_DATABASE_URL'] || process.env['SWITCHBOARD_TEST_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
/** With BENCH_STORE=postgres: the fresh schema the server keeps its tables in. */
const SCHEMA = `bench_${randomBytes(6).toString('hex')}`;
/** How long to wait for callbacks still missing after the last create, in ms. */
const CALLBACK_GRACE_MS = 10_000;

if (MEASURE !== 'callback' && MEASURE !== 'response') throw new Error(`BENCH_MEASURE must be callback or response, not ${MEASURE}`);
if (STORE !== 'sqlite' && STORE !== 'postgres') throw new Error(`BENCH_STORE must be sqlite or postgres, not ${STORE}`);

/** Wall-clock ms with sub-ms precision, comparable between threads of this process. */
const wallMs = (): number => performance.timeOrigin + performance.now();

/** Starts the server child on the chosen store (bench/support/server.ts). */
function startBenchServer(dataDir: string): Promise<ServerChild> {
  const flags = (process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const store = STORE === 'postgres' ? ['--database-url', DATABASE_URL, '--database-schema', SCHEMA] : [];
  return startServer(dataDir, ['--synchronous', SYNCHRONOUS, ...store], flags);
}

/**
 * The event-callback receiver, in a worker thread: answers 204 at once and reports, every 20 ms,
 * `[taskSid, receivedAtWallMs]` pairs for reservation.created callbacks.
 */
const RECEIVER = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
let pending = [];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = performance.timeOrigin + performance.now();
    const form = new URLSearchParams(Buffer.concat(chunks).toString());
    if (form.get('EventType') === 'reservation.created') pending.push([form.get('TaskSid'), at]);
    res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
setInterval(() => { if (pending.length > 0) { parentPort.postMessage({ got: pending }); pending = []; } }, 20);
`;

interface Receiver {
  url: string;
  received: Map<string, number>;
  worker: Worker;
}

async function startReceiver(): Promise<Receiver> {
  const worker = new Worker(RECEIVER, { eval: true });
  const received = new Map<string, number>();
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { port?: number; got?: [string, number][] }) => {
      if (m.port !== undefined) resolve(m.port);
      for (const [sid, at] of m.got ?? []) if (!received.has(sid)) received.set(sid, at);
    });
  });
  return { url: `http://127.0.0.1:${port}/events`, received, worker };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-api-'));
  const server = await startBenchServer(dataDir);
  const receiver = MEASURE === 'callback' ? await startReceiver() : null;
  const auth = `Basic ${Buffer.from(`${server.sid}:${server.token}`).toString('base64')}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  /** POST a form over the keep-alive agent; resolves with the parsed JSON reply (throws on ≥ 300). */
  const post = (path: string, form: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const req = http.request(server.base + path, {
        method: 'POST',
        agent,
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 0) >= 300) reject(new Error(`POST ${path}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text) as Record<string, unknown>);
        });
      });
      req.end(form);
    });
  const call = async (method: string, path: string, form?: Record<string, string>): Promise<Record<string, unknown>> => {
    const res = await fetch(server.base + path, {
      method,
      headers: form === undefined ? { authorization: auth } : { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: form === undefined ? undefined : new URLSearchParams(form).toString(),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  try {
    const wsForm: Record<string, string> = { FriendlyName: 'Bench', Template: 'FIFO' };
    if (receiver !== null) Object.assign(wsForm, { EventCallbackUrl: receiver.url, EventsFilter: 'reservation.created' });
    const ws = await call('POST', '/v1/Workspaces', wsForm);
    const wsPath = `/v1/Workspaces/${String(ws['sid'])}`;
    const acts = (await call('GET', `${wsPath}/Activities?FriendlyName=Available`))['activities'] as { sid: string }[];
    const available = acts[0]?.sid as string;
    // Enough capacity that every task is reserved by its own create.
    const workers = Math.ceil((TASKS + WARMUP) / CAPACITY);
    for (let i = 0; i < workers; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, workers - i) }, async (_, k) => {
          const w = await call('POST', `${wsPath}/Workers`, { FriendlyName: `w${i + k}`, ActivitySid: available });
          await call('POST', `${wsPath}/Workers/${String(w['sid'])}/Channels/default`, { Capacity: String(CAPACITY) });
        }),
      );
    }

    const sentAt = new Float64Array(TASKS);
    const answeredAt = new Float64Array(TASKS);
    const sids: string[] = new Array<string>(TASKS);
    let notReserved = 0;
    const run = (count: number, record: boolean): Promise<void> =>
      closedLoop(count, CONCURRENCY, async (i) => {
        const t0 = wallMs();
        const task = await post(`${wsPath}/Tasks`, createForm(i));
        if (record) {
          sentAt[i] = t0;
          answeredAt[i] = wallMs();
          sids[i] = String(task['sid']);
          if (task['assignment_status'] !== 'reserved') notReserved += 1;
        }
      });
    await run(WARMUP, false);
    // Let the warm-up's callbacks drain before the measured run.
    if (receiver !== null) {
      for (let waited = 0; receiver.received.size < WARMUP && waited < CALLBACK_GRACE_MS; waited += 50) await new Promise((r) => setTimeout(r, 50));
    }
    // The load generator's own event-loop delay: a stall here inflates the latencies it records.
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const cpu0 = process.cpuUsage();
    const serverCpu0 = processCpuMs(server.child.pid);
    const started = wallMs();
    await run(TASKS, true);
    let finished = wallMs();
    const latencies = new Float64Array(TASKS);
    let missing = 0;
    if (receiver === null) {
      for (let i = 0; i < TASKS; i++) latencies[i] = (answeredAt[i] as number) - (sentAt[i] as number);
    } else {
      const allIn = (): boolean => sids.every((sid) => receiver.received.has(sid));
      for (let waited = 0; !allIn() && waited < CALLBACK_GRACE_MS; waited += 10) await new Promise((r) => setTimeout(r, 10));
      let last = finished;
      for (let i = 0; i < TASKS; i++) {
        const at = receiver.received.get(sids[i] as string);
        if (at === undefined) {
          missing += 1;
          latencies[i] = Infinity;
        } else {
          latencies[i] = at - (sentAt[i] as number);
          last = Math.max(last, at);
        }
      }
      finished = last;
    }
    loopDelay.disable();
    const elapsed = finished - started;
    const cpu = process.cpuUsage(cpu0);
    const serverCpu1 = processCpuMs(server.child.pid);
    const serverCpuPerCreateUs = serverCpu0 === null || serverCpu1 === null ? null : Math.round(((serverCpu1 - serverCpu0) * 1000) / TASKS);
    const clientCpu = (cpu.user + cpu.system) / 1000 / elapsed;
    latencies.sort();
    const createsPerS = TASKS / (elapsed / 1000);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const what = MEASURE === 'callback' ? 'create request sent → reservation.created event callback received' : 'create request sent → create response (reserved inside the create)';
    const out = process.stdout;
    const load = loadavg();
    out.write(`store ${STORE}; tasks ${TASKS} (after ${WARMUP} warm-up), ${CONCURRENCY} concurrent creators, ${workers} workers × capacity ${CAPACITY}, synchronous ${SYNCHRONOUS}; load average ${load.map((l) => l.toFixed(2)).join(' ')}\n`);
    out.write(`measured: ${what}; ${notReserved} responses were not 'reserved', ${missing} callbacks missing\n`);
    out.write(
      `load generator CPU: ${(clientCpu * 100).toFixed(0)}% of one core, its event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms max ${(loopDelay.max / 1e6).toFixed(1)} ms; server CPU per create: ${serverCpuPerCreateUs ?? '?'} µs\n`,
    );
    out.write(`creates/s ${createsPerS.toFixed(0)}   p50 ${p50.toFixed(2)} ms   p99 ${p99.toFixed(2)} ms   max ${percentile(latencies, 100).toFixed(2)} ms\n`);
    out.write(
      JSON.stringify({
        store: STORE,
        creates_per_s: Math.round(createsPerS),
        p99_create_to_reservation_ms: Number(p99.toFixed(2)),
        p50_create_to_reservation_ms: Number(p50.toFixed(2)),
        measured: MEASURE === 'callback' ? 'create → reservation.created event callback' : 'create → create response',
        not_reserved: notReserved,
        callbacks_missing: missing,
        concurrency: CONCURRENCY,
        server_cpu_us_per_create: serverCpuPerCreateUs,
        load_generator_cpu: Number(clientCpu.toFixed(2)),
        load_generator_loop_delay_max_ms: Number((loopDelay.max / 1e6).toFixed(1)),
        load_average_1m: Number((load[0] ?? 0).toFixed(2)),
      }) + '\n',
    );
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    agent.destroy();
    await receiver?.worker.terminate();
    rmSync(dataDir, { recursive: true, force: true });
    if (STORE === 'postgres') {
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
      await admin.end();
    }
  }
}

await main();
