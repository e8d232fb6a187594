/**
 * Console benchmark (issue 15, "must show"): 1,000 workers connected over the worker SDK's
 * WebSocket and 20 supervisor sockets, under the API bench's create load, with the workers taking
 * the work over their sockets. `npm run bench:console`.
 *
 * The server runs in a child process (this file with `--server`): a Runtime on SQLite in a temp
 * data dir (synchronous FULL, as `switchboard serve`) and the app from buildApp on 127.0.0.1. Its
 * first `runtime.onEvents` listener — registered before the app's, so it runs before the socket
 * hubs send anything — stamps every committed event with the wall clock (`performance.timeOrigin +
 * performance.now()`, sub-ms). That is the commit instant: onEvents fires once the batch is
 * durable. The event's own timestamp is not used: it is the instant the command executed, before
 * the transaction was written, so it would add the commit's fsync to the figure. The stamps are
 * streamed to this process every 100 ms over IPC, so the child's RSS is the server's own. A last
 * listener, registered after the app's, times the hubs' dispatch of each batch (first → last).
 *
 * This process is the load: 1,000 `ws` clients speaking `/v1/wschannels` exactly as the
 * `twilio-taskrouter` SDK does (`?token=…&closeExistingSessions=false&clientVersion=2.1.1`, the
 * `init` frame first, then `{event_type, payload}` frames; writes as the SDK's EventBridge envelope
 * POSTed to the same URL) — not 1,000 SDK instances: each SDK Worker loads its activities,
 * channels and reservations over REST on connect and keeps its own timers, which would make the
 * load generator, not the server, the thing measured on this 2-core machine. Tokens come from
 * `POST /v1/Workspaces/{WS}/AccessTokens`. A worker accepts each reservation.created it receives
 * (envelope POST `Workers/{WK}/Reservations/{WR}` ReservationStatus=accepted, as
 * `reservation.accept()`), and completes the task when reservation.accepted arrives (envelope POST
 * `Tasks/{WT}` AssignmentStatus=completed, as `task.complete()`). 20 supervisor sockets
 * (`/v1/Workspaces/{WS}/Supervisor/Events`, no filter: every event) run in a worker thread of this
 * process (their 8.5 frames per task each would otherwise delay the worker sockets' receipts) and
 * count their frames; the first one's are timed too.
 *
 * The load (two modes):
 * - default: the API bench's create load (bench/support/create-load.ts, the parameters of
 *   bench/api.bench.ts): BENCH_CONCURRENCY (16) creators in a closed loop, each on its own
 *   keep-alive connection, BENCH_WARMUP (2,000) creates not timed, then — once the warm-up's tasks
 *   are completed and their frames in — BENCH_TASKS (20,000) timed; the workers' `default` channel
 *   has capacity 50, as there, so every task is reserved by its own create even while the workers
 *   lag. The closed loop sets the rate: what the server manages while it also takes every accept
 *   and complete and fans each event out to 20 supervisors.
 * - `BENCH_RATE` set: that many tasks per second (open loop) for BENCH_SECONDS (20), the first
 *   BENCH_WARMUP_S (3) seconds not timed; workers of capacity 1.
 *
 * Delay = a frame's receipt on a worker's socket (wall clock, this process) − the commit stamp of
 * its event (wall clock, the server process; both clocks are the same system clock, read through
 * each process's `performance.timeOrigin`, good to well under a millisecond). A frame is matched to
 * its event by (event type, resource SID) and occurrence order on that socket. RSS: the server's
 * resident memory at the end and its peak (VmHWM), from /proc. Also reported: this process's CPU
 * and event-loop delay (a stall here delays receipts), the server's event-loop delay.
 *
 * Baseline (BENCH_BASELINE=1, default): the same create load against a fresh server with no socket
 * at all, the agents driving each task over REST instead (GET the task's pending reservation,
 * accept it, complete the task): the ratios of server CPU per task and of RSS say what the sockets
 * cost.
 *
 * Env: BENCH_WORKERS (1000), BENCH_SUPERVISORS (20), BENCH_CONCURRENCY, BENCH_TASKS, BENCH_WARMUP,
 * BENCH_RATE, BENCH_SECONDS, BENCH_WARMUP_S, BENCH_BASELINE (1), BENCH_SERVER_NODE_FLAGS (e.g.
 * "--cpu-prof --cpu-prof-dir=prof": added to the server child's node flags). Ends with one JSON
 * line: `{"connected_workers":1000,"event_to_socket_p99_ms":…,"rss_mb":…}` (rss_mb: the peak).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { apiCreateLoad, closedLoop, createForm } from './support/create-load.ts';
import { percentile, processCpuMs } from './support/server.ts';

const WORKERS = Number(process.env['BENCH_WORKERS'] ?? 1000);
const SUPERVISORS = Number(process.env['BENCH_SUPERVISORS'] ?? 20);
/** `api` (default): the API bench's closed-loop create load; `rate`: BENCH_RATE tasks/s, open loop. */
const MODE: 'api' | 'rate' = process.env['BENCH_RATE'] === undefined ? 'api' : 'rate';
const RATE = Number(process.env['BENCH_RATE'] ?? 100);
const API_LOAD = apiCreateLoad();
/** How long to wait for the last tasks' frames after the last create, in ms. */
const DRAIN_MS = 30_000;
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const WARMUP_S = Number(process.env['BENCH_WARMUP_S'] ?? 3);
const BASELINE = (process.env['BENCH_BASELINE'] ?? '1') !== '0';

/** Wall-clock ms with sub-ms precision, comparable between processes of this machine. */
const wallMs = (): number => performance.timeOrigin + performance.now();

// ───────────────────────────── the server child ─────────────────────────────

interface ServerReady {
  port: number;
  accountSid: string;
  secret: string;
}

interface ServerReport {
  rssMb: number;
  peakRssMb: number;
  events: number;
  /** Per committed batch: the hubs' dispatch time (first onEvents listener → last), in ms, sorted. */
  dispatchMs: number[];
  /** The server's event-loop delay p99 and max over the run, in ms. */
  loopP99Ms: number;
  loopMaxMs: number;
}

/** Commit stamps streamed to the parent every 100 ms (the child keeps none, so its RSS is the server's own): `[`${event_type}|${resource_sid}`, wall ms]` in commit order. */
interface CommitBatch {
  type: 'commits';
  stamps: [string, number][];
}

async function serverMain(): Promise<void> {
  const { Runtime } = await import('../src/runtime/runtime.ts');
  const { buildApp } = await import('../src/api/app.ts');
  const dataDir = process.argv[3] as string;
  const runtime = await Runtime.open({ dataDir, synchronous: 'FULL' });
  let stamps: [string, number][] = [];
  let events = 0;
  let batchAt = 0;
  const dispatchMs: number[] = [];
  // First listener: runs before the socket hubs' (registered by buildApp below) send anything.
  runtime.onEvents(({ records }) => {
    const at = wallMs();
    batchAt = at;
    for (const r of records) {
      for (const e of r.events) {
        events += 1;
        stamps.push([`${e.eventType}|${e.resourceSid}`, at]);
      }
    }
  });
  const send = (m: unknown): void => void process.send?.(m);
  const flush = setInterval(() => {
    if (stamps.length === 0) return;
    send({ type: 'commits', stamps } satisfies CommitBatch);
    stamps = [];
  }, 100);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  // Keep-alive connections outlive the load's pauses: with the default 5 s, a connection the server
  // closes just as the load generator reuses it fails a create with ECONNRESET (a client-side race).
  const app = buildApp({ runtime, clock: () => runtime.scheduler.now(), limits: { maxConnections: 10_000, keepAliveTimeoutMs: 120_000, idleTimeoutMs: 300_000 } });
  // Last listener: runs once the hubs have handed every frame of the batch to its sockets.
  runtime.onEvents(() => dispatchMs.push(wallMs() - batchAt));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const account = await runtime.createAccount('Bench');
  // Exit (rather than die) on SIGTERM, so that --cpu-prof writes its profile.
  process.once('SIGTERM', () => process.exit(0));
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'report') return;
    clearInterval(flush);
    if (stamps.length > 0) send({ type: 'commits', stamps } satisfies CommitBatch);
    stamps = [];
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
    const report: ServerReport = {
      rssMb: kb('VmRSS'),
      peakRssMb: kb('VmHWM'),
      events,
      dispatchMs: dispatchMs.sort((x, y) => x - y),
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
    };
    send({ type: 'report', report });
  });
  send({ type: 'ready', ready: { port: (app.server.address() as AddressInfo).port, accountSid: account.sid, secret: account.secret } satisfies ServerReady });
}

// ───────────────────────────── the load ─────────────────────────────

interface Server {
  child: ChildProcess;
  base: string;
  auth: string;
  dataDir: string;
  /** `${event_type}|${resource_sid}` → commit stamps (wall ms) in commit order, as streamed by the child. */
  commits: Map<string, number[]>;
  report: () => Promise<ServerReport>;
  stop: () => Promise<void>;
}

async function startServer(): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-console-'));
  // BENCH_SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=prof") are added to the server child's node flags.
  const flags = (process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const child = fork(new URL(import.meta.url).pathname, ['--server', dataDir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...flags] });
  const ready = await new Promise<ServerReady>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    child.on('message', (m: { type: string; ready?: ServerReady }) => {
      if (m.type === 'ready' && m.ready !== undefined) resolve(m.ready);
    });
  });
  const commits = new Map<string, number[]>();
  child.on('message', (m: { type: string }) => {
    if (m.type !== 'commits') return;
    for (const [key, at] of (m as CommitBatch).stamps) {
      const list = commits.get(key);
      if (list === undefined) commits.set(key, [at]);
      else list.push(at);
    }
  });
  return {
    child,
    commits,
    base: `http://127.0.0.1:${ready.port}`,
    auth: `Basic ${Buffer.from(`${ready.accountSid}:${ready.secret}`).toString('base64')}`,
    dataDir,
    report: () =>
      new Promise((resolve) => {
        const on = (m: { type: string; report?: ServerReport }): void => {
          if (m.type !== 'report' || m.report === undefined) return;
          child.off('message', on);
          resolve(m.report);
        };
        child.on('message', on);
        child.send({ type: 'report' });
      }),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A request over a keep-alive agent; resolves with status and parsed body. */
function request(agent: http.Agent, base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
      });
    });
    req.end(body);
  });
}

interface Setup {
  wsPath: string;
  workspaceSid: string;
  workflowSid: string;
  workers: string[];
  api: (method: string, path: string, form?: Record<string, string>) => Promise<Record<string, unknown>>;
  agent: http.Agent;
}

/** The workspace (FIFO template) and its Available workers: capacity 1 in `rate` mode, 50 (the API bench's) in `api` mode. */
async function setUp(server: Server): Promise<Setup> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const api = async (method: string, path: string, form?: Record<string, string>): Promise<Record<string, unknown>> => {
    const headers: Record<string, string> = { authorization: server.auth };
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await request(agent, server.base, method, path, headers, form === undefined ? undefined : new URLSearchParams(form).toString());
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const ws = await api('POST', '/v1/Workspaces', { FriendlyName: 'Console bench', Template: 'FIFO' });
  const workspaceSid = String(ws['sid']);
  const wsPath = `/v1/Workspaces/${workspaceSid}`;
  const available = ((await api('GET', `${wsPath}/Activities?FriendlyName=Available`))['activities'] as { sid: string }[])[0]?.sid as string;
  const workflowSid = ((await api('GET', `${wsPath}/Workflows`))['workflows'] as { sid: string }[])[0]?.sid as string;
  const workers: string[] = [];
  for (let i = 0; i < WORKERS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, WORKERS - i) }, async (_, k) => {
        const sid = String((await api('POST', `${wsPath}/Workers`, { FriendlyName: `agent-${i + k}`, ActivitySid: available }))['sid']);
        // The API bench's workspace: enough capacity that every task is reserved by its own create.
        if (MODE === 'api') await api('POST', `${wsPath}/Workers/${sid}/Channels/default`, { Capacity: String(API_LOAD.capacity) });
        return sid;
      }),
    );
    workers.push(...batch);
  }
  return { wsPath, workspaceSid, workflowSid, workers, api, agent };
}

/** What a create load did: creates answered and failed, and the measured window. */
interface LoadResult {
  created: number;
  failed: number;
  firstFailure: string | null;
  /** Wall ms from which commits are timed (after the warm-up). */
  from: number;
  /** Creates answered per second in the measured window (wall clock). */
  createsPerS: number;
}

/**
 * The create load. `api` mode: the API bench's (bench/support/create-load.ts): API_LOAD.concurrency
 * closed-loop creators on their own keep-alive connections, API_LOAD.warmup creates, then — once
 * `drained()` says the warm-up's tasks are through — API_LOAD.tasks measured creates. `rate` mode:
 * RATE per second for SECONDS (open loop), the first WARMUP_S seconds not timed. `onCreated` gets
 * each created task.
 */
async function createLoad(server: Server, setup: Setup, drained: () => boolean, onCreated?: (task: Record<string, unknown>) => void): Promise<LoadResult> {
  let created = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  const ok = (t: Record<string, unknown>): void => {
    created += 1;
    onCreated?.(t);
  };
  const fail = (error: unknown): void => {
    failed += 1;
    firstFailure ??= String(error);
  };
  if (MODE === 'api') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: API_LOAD.concurrency });
    const headers = { authorization: server.auth, 'content-type': 'application/x-www-form-urlencoded' };
    const create = (i: number): Promise<void> =>
      request(agent, server.base, 'POST', `${setup.wsPath}/Tasks`, headers, createForm(i)).then((res) => (res.status >= 300 ? fail(`${res.status} ${JSON.stringify(res.body)}`) : ok(res.body)), fail);
    await closedLoop(API_LOAD.warmup, API_LOAD.concurrency, create);
    for (let waited = 0; !drained() && waited < DRAIN_MS; waited += 20) await new Promise((r) => setTimeout(r, 20));
    const from = wallMs();
    await closedLoop(API_LOAD.tasks, API_LOAD.concurrency, (i) => create(API_LOAD.warmup + i));
    const createsPerS = API_LOAD.tasks / ((wallMs() - from) / 1000);
    agent.destroy();
    return { created, failed, firstFailure, from, createsPerS };
  }
  const started = performance.now();
  const from = wallMs() + WARMUP_S * 1000;
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  const total = Math.round(RATE * SECONDS);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
    for (; sent < due; sent++) {
      const p = setup
        .api('POST', `${setup.wsPath}/Tasks`, { WorkflowSid: setup.workflowSid, Attributes: JSON.stringify({ n: sent, type: 'support' }) })
        .then(ok, fail)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inFlight);
  return { created, failed, firstFailure, from, createsPerS: total / ((performance.now() - started) / 1000) };
}

interface Receipt {
  key: string;
  at: number;
}

interface SocketRun {
  connected: number;
  receipts: Receipt[][];
  supervisorFrames: number;
  supervisorReceipts: Receipt[];
  accepted: number;
  completed: number;
  envelopeErrors: number;
  load: LoadResult;
  commits: ReadonlyMap<string, number[]>;
  serverCpuMs: number;
  /** This process's (the clients') CPU over the load, in ms, and its event-loop delay p99 and max, in ms: a stall here delays receipts. */
  clientCpuMs: number;
  clientLoopP99Ms: number;
  clientLoopMaxMs: number;
  report: ServerReport;
}

/**
 * The supervisor sockets, in a worker thread (their own event loop: 8.5 frames per task to each of
 * them would otherwise delay the worker sockets' receipts in this one): each counts its frames;
 * the first also times its event frames (type and resource SID, without a full parse).
 */
const SUPERVISORS_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { WebSocket } = require(workerData.wsModule);
const sockets = [];
let frames = 0;
const keys = [];
const ats = [];
let open = 0;
for (let s = 0; s < workerData.count; s++) {
  const socket = new WebSocket(workerData.url);
  sockets.push(socket);
  socket.on('message', (data) => {
    const at = performance.timeOrigin + performance.now();
    frames += 1;
    const text = data.toString();
    if (text.startsWith('{"type":"init"')) { if (++open === workerData.count) parentPort.postMessage({ connected: open }); return; }
    if (s !== 0 || !text.startsWith('{"type":"event"')) return;
    const type = /"event_type":"([^"]+)"/.exec(text)?.[1];
    const sid = /"resource_sid":"([^"]+)"/.exec(text)?.[1];
    if (type !== undefined && sid !== undefined) { keys.push(type + '|' + sid); ats.push(at); }
  });
  socket.once('error', (e) => parentPort.postMessage({ error: String(e) }));
}
parentPort.on('message', () => {
  for (const s of sockets) s.terminate();
  parentPort.postMessage({ frames, keys, ats });
});
`;

/** Connects SUPERVISORS sockets to `url` in a worker thread; `stop` closes them and returns their frame count and the first one's receipts. */
async function startSupervisors(url: string): Promise<{ stop: () => Promise<{ frames: number; receipts: Receipt[] }> }> {
  const thread = new Worker(SUPERVISORS_THREAD, { eval: true, workerData: { url, count: SUPERVISORS, wsModule: createRequire(import.meta.url).resolve('ws') } });
  await new Promise<void>((resolve, reject) => {
    thread.once('error', reject);
    thread.on('message', (m: { connected?: number; error?: string }) => {
      if (m.error !== undefined) reject(new Error(`supervisor socket: ${m.error}`));
      if (m.connected !== undefined) resolve();
    });
  });
  return {
    stop: async () => {
      const done = new Promise<{ frames: number; keys: string[]; ats: number[] }>((resolve) => thread.once('message', resolve));
      thread.postMessage('stop');
      const { frames, keys, ats } = await done;
      await thread.terminate();
      return { frames, receipts: keys.map((key, i) => ({ key, at: ats[i] as number })) };
    },
  };
}

/** The run with sockets: connect the workers and supervisors, run the load, let frames drain. */
async function socketRun(server: Server): Promise<SocketRun> {
  const setup = await setUp(server);
  const mint = async (form: Record<string, string>): Promise<string> => String((await setup.api('POST', `${setup.wsPath}/AccessTokens`, { Ttl: '7200', ...form }))['token']);
  const tokens: string[] = [];
  for (let i = 0; i < setup.workers.length; i += 50) tokens.push(...(await Promise.all(setup.workers.slice(i, i + 50).map((w) => mint({ WorkerSid: w })))));
  const wsBase = server.base.replace('http', 'ws');
  const ebAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const receipts: Receipt[][] = setup.workers.map(() => []);
  let accepted = 0;
  let completed = 0;
  let envelopeErrors = 0;
  const envelope = (token: string, url: string, params: Record<string, string>): void => {
    const body = JSON.stringify({ url, method: 'POST', params, token });
    // The SDK (axios in Node) sends its JSON envelope as a form content type.
    request(ebAgent, server.base, 'POST', '/v1/wschannels', { 'content-type': 'application/x-www-form-urlencoded', apiVersion: 'v1', clientVersion: '2.1.1' }, body)
      .then((res) => {
        if (res.status >= 300) envelopeErrors += 1;
      })
      .catch(() => (envelopeErrors += 1));
  };
  const sockets: WebSocket[] = [];
  const connectWorker = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const workerSid = setup.workers[i] as string;
      const token = tokens[i] as string;
      const socket = new WebSocket(`${wsBase}/v1/wschannels?token=${token}&closeExistingSessions=false&clientVersion=2.1.1`);
      sockets.push(socket);
      const mine = receipts[i] as Receipt[];
      socket.on('message', (data: Buffer) => {
        const at = wallMs();
        const text = data.toString();
        if (text.trim() === '') return; // heartbeat
        const frame = JSON.parse(text) as { event_type: string; payload: Record<string, unknown> };
        if (frame.event_type === 'init') {
          resolve();
          return;
        }
        const p = frame.payload;
        const resource = frame.event_type.startsWith('worker.') ? workerSid : String(p['sid']);
        mine.push({ key: `${frame.event_type}|${resource}`, at });
        if (frame.event_type === 'reservation.created') {
          accepted += 1;
          envelope(token, `Workspaces/${setup.workspaceSid}/Workers/${workerSid}/Reservations/${String(p['sid'])}`, { ReservationStatus: 'accepted' });
        } else if (frame.event_type === 'reservation.accepted') {
          completed += 1;
          envelope(token, `Workspaces/${setup.workspaceSid}/Tasks/${String(p['task_sid'])}`, { AssignmentStatus: 'completed', Reason: 'done' });
        }
      });
      socket.once('error', reject);
    });
  for (let i = 0; i < setup.workers.length; i += 100) await Promise.all(Array.from({ length: Math.min(100, setup.workers.length - i) }, (_, k) => connectWorker(i + k)));
  const supervisorToken = await mint({ Role: 'supervisor' });
  const supervisors = await startSupervisors(`${wsBase}${setup.wsPath}/Supervisor/Events?token=${supervisorToken}`);
  const connected = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
  const cpu0 = processCpuMs(server.child.pid) ?? 0;
  const clientCpu0 = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  // Each task's frames to its worker: reservation.created, .accepted, .completed, task.completed.
  const frames = (): number => receipts.reduce((n, r) => n + r.length, 0);
  let createdSoFar = 0;
  const through = (): boolean => completed >= createdSoFar && frames() >= 4 * createdSoFar;
  const load = await createLoad(server, setup, through, () => (createdSoFar += 1));
  // Let the last tasks be completed and their frames arrive; frames that arrive after the report count as unmatched.
  for (let waited = 0; !through() && waited < DRAIN_MS; waited += 50) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  loopDelay.disable();
  const clientCpu = process.cpuUsage(clientCpu0);
  const serverCpuMs = (processCpuMs(server.child.pid) ?? 0) - cpu0;
  const report = await server.report();
  const { frames: supervisorFrames, receipts: supervisorReceipts } = await supervisors.stop();
  for (const s of sockets) s.terminate();
  ebAgent.destroy();
  setup.agent.destroy();
  return {
    connected,
    receipts,
    supervisorFrames,
    supervisorReceipts,
    accepted,
    completed,
    envelopeErrors,
    load,
    commits: server.commits,
    serverCpuMs,
    clientCpuMs: (clientCpu.user + clientCpu.system) / 1000,
    clientLoopP99Ms: loopDelay.percentile(99) / 1e6,
    clientLoopMaxMs: loopDelay.max / 1e6,
    report,
  };
}

/** The run without sockets: each created task is accepted and completed over REST. */
async function baselineRun(server: Server): Promise<{ serverCpuMs: number; created: number; completed: number; report: ServerReport }> {
  const setup = await setUp(server);
  let completed = 0;
  let settled = 0;
  const drive = async (task: Record<string, unknown>): Promise<void> => {
    const taskPath = `${setup.wsPath}/Tasks/${String(task['sid'])}`;
    const pending = ((await setup.api('GET', `${taskPath}/Reservations?ReservationStatus=pending`))['reservations'] as { sid: string }[])[0];
    if (pending === undefined) return;
    await setup.api('POST', `${taskPath}/Reservations/${pending.sid}`, { ReservationStatus: 'accepted' });
    await setup.api('POST', taskPath, { AssignmentStatus: 'completed', Reason: 'done' });
    completed += 1;
  };
  const cpu0 = processCpuMs(server.child.pid) ?? 0;
  const drives: Promise<void>[] = [];
  const { created } = await createLoad(
    server,
    setup,
    () => settled >= drives.length,
    (t) =>
      drives.push(
        drive(t)
          .catch(() => undefined)
          .finally(() => (settled += 1)),
      ),
  );
  await Promise.all(drives);
  await new Promise((r) => setTimeout(r, 500));
  const serverCpuMs = (processCpuMs(server.child.pid) ?? 0) - cpu0;
  const report = await server.report();
  setup.agent.destroy();
  return { serverCpuMs, created, completed, report };
}

/** Delays (ms) of receipts matched to their commits, per socket by occurrence order; those committed before `from` are left out. */
function delays(commits: ReadonlyMap<string, number[]>, sockets: readonly Receipt[][], from: number): { values: Float64Array; unmatched: number } {
  const out: number[] = [];
  let unmatched = 0;
  for (const receipts of sockets) {
    const seen = new Map<string, number>();
    for (const r of receipts) {
      const n = seen.get(r.key) ?? 0;
      seen.set(r.key, n + 1);
      const committed = commits.get(r.key)?.[n];
      if (committed === undefined) {
        unmatched += 1;
        continue;
      }
      if (committed >= from) out.push(r.at - committed);
    }
  }
  return { values: Float64Array.from(out).sort(), unmatched };
}

async function main(): Promise<void> {
  const out = process.stdout;
  let baseline: Awaited<ReturnType<typeof baselineRun>> | null = null;
  if (BASELINE) {
    const server = await startServer();
    try {
      baseline = await baselineRun(server);
    } finally {
      await server.stop();
    }
  }
  const server = await startServer();
  let run: SocketRun;
  try {
    run = await socketRun(server);
  } finally {
    await server.stop();
  }
  const from = run.load.from;
  const worker = delays(run.commits, run.receipts, from);
  const supervisor = delays(run.commits, [run.supervisorReceipts], from);
  const frames = run.receipts.reduce((n, r) => n + r.length, 0);
  const row = (name: string, v: Float64Array): string =>
    `${name.padEnd(28)} ${String(v.length).padStart(8)} ${percentile(v, 50).toFixed(2).padStart(8)} ${percentile(v, 99).toFixed(2).padStart(8)} ${percentile(v, 100).toFixed(2).padStart(9)}`;
  const cpuPerTask = run.serverCpuMs / Math.max(1, run.load.created);
  const load = loadavg();
  const what =
    MODE === 'api'
      ? `the API bench's create load: ${API_LOAD.concurrency} closed-loop creators, ${API_LOAD.tasks} tasks after ${API_LOAD.warmup} warm-up (not timed), workers of capacity ${API_LOAD.capacity}`
      : `${RATE} tasks/s for ${SECONDS} s (first ${WARMUP_S} s not timed)`;
  out.write(`console bench: ${run.connected} workers on /v1/wschannels (ws clients speaking the SDK's protocol), ${SUPERVISORS} supervisor sockets, ${what}; load average ${load.map((l) => l.toFixed(2)).join(' ')}\n`);
  out.write(
    `tasks created ${run.load.created} (${run.load.failed} failed; ${run.load.createsPerS.toFixed(0)} creates/s measured), accepted ${run.accepted}, completed ${run.completed}, envelope errors ${run.envelopeErrors}${run.load.firstFailure === null ? '' : ` (first failed create: ${run.load.firstFailure})`}; worker frames ${frames} (${worker.unmatched} unmatched), supervisor frames ${run.supervisorFrames}; events committed ${run.report.events}\n`,
  );
  out.write(`clients (this process): CPU ${run.clientCpuMs.toFixed(0)} ms, event-loop delay p99 ${run.clientLoopP99Ms.toFixed(1)} ms max ${run.clientLoopMaxMs.toFixed(1)} ms\n\n`);
  out.write(`${'commit → client receipt'.padEnd(28)} ${'frames'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(9)}\n`);
  out.write(`${row('worker sockets', worker.values)}\n${row(`supervisor socket (1 of ${SUPERVISORS})`, supervisor.values)}\n\n`);
  const dispatch = run.report.dispatchMs;
  out.write(
    `server: event-loop delay p99 ${run.report.loopP99Ms.toFixed(1)} ms max ${run.report.loopMaxMs.toFixed(1)} ms; the hubs' dispatch of a committed batch (first onEvents listener → last) p50 ${percentile(dispatch, 50).toFixed(2)} p99 ${percentile(dispatch, 99).toFixed(2)} max ${percentile(dispatch, 100).toFixed(2)} ms over ${dispatch.length} batches\n`,
  );
  out.write(`server RSS ${run.report.rssMb.toFixed(0)} MB (peak ${run.report.peakRssMb.toFixed(0)} MB); server CPU per task ${cpuPerTask.toFixed(2)} ms\n`);
  if (baseline !== null) {
    const basePerTask = baseline.serverCpuMs / Math.max(1, baseline.created);
    out.write(
      `baseline, no sockets (agents over REST; ${baseline.created} tasks, ${baseline.completed} completed): server RSS ${baseline.report.rssMb.toFixed(0)} MB (peak ${baseline.report.peakRssMb.toFixed(0)} MB), CPU per task ${basePerTask.toFixed(2)} ms → with sockets: RSS ×${(run.report.peakRssMb / baseline.report.peakRssMb).toFixed(2)}, CPU per task ×${(cpuPerTask / basePerTask).toFixed(2)}\n`,
    );
  }
  out.write(`${JSON.stringify({ connected_workers: run.connected, event_to_socket_p99_ms: Number(percentile(worker.values, 99).toFixed(2)), rss_mb: Math.round(run.report.peakRssMb) })}\n`);
}

if (process.argv[2] === '--server') await serverMain();
else await main();
