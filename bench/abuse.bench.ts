/**
 * Abuse soak (issue 11, "What it must show"): `switchboard serve` as a child process under its
 * normal create load — 8 creators on keep-alive connections, each create reserved inside its own
 * command (the latency measured), each task then deleted so the workspace's state stays flat and
 * the RSS shows what the abuse costs — first alone, then while, at the same time:
 *
 * - 200 slow clients trickle header bytes (one header line a second) and reconnect when cut;
 * - 20 unauthenticated senders each send a 4 MiB − 1 KiB body and leave it unfinished, and send
 *   again a second after the server cuts them;
 * - one workspace's assignment callbacks go to a receiver that never answers, and another's to a
 *   receiver that streams an endless reply (a task is created in each every 100 ms).
 *
 * Both phases run in this one process, one after the other, for BENCH_SECONDS each (default 60),
 * so the ratio compares like with like on a shared machine. The server's RSS is sampled from /proc
 * every 250 ms; if the server exits, that is counted in `restarts` (nothing restarts it: any
 * value but 0 is a failure). Ends with one JSON line:
 * `{"creates_per_s":…,"p99_create_to_reservation_ms":…,"rss_mb_max":…,"restarts":0,…}`.
 * Targets: creates/s under abuse ≥ 80 % of the same load without it, RSS ≤ 500 MB, no restart.
 *
 * Env: BENCH_SECONDS (per phase, default 60), BENCH_CONCURRENCY (creators, default 8),
 * BENCH_ABUSE (which abuses to run in phase 2, comma-separated: slow, huge, hang, flood; default all).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { basicAuth, call, percentile, postForm, processCpuMs, processRssMb, startServer, type ServerChild } from './support/server.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 60);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 8);
const SLOW_CLIENTS = 200;
const HUGE_BODY_SENDERS = 20;
const CAPACITY = 50;
const ABUSE = new Set((process.env['BENCH_ABUSE'] ?? 'slow,huge,hang,flood').split(',').map((a) => a.trim()));

/** A workspace whose workers can take every task created in it: returns its path and workflow. */
async function workspace(server: ServerChild, name: string, workers: number, assignmentUrl?: string): Promise<{ path: string; workflow: string }> {
  const ws = await call(server, 'POST', '/v1/Workspaces', { FriendlyName: name, Template: 'FIFO' });
  const path = `/v1/Workspaces/${String(ws['sid'])}`;
  const available = ((await call(server, 'GET', `${path}/Activities?FriendlyName=Available`))['activities'] as { sid: string }[])[0]?.sid as string;
  const queue = ((await call(server, 'GET', `${path}/TaskQueues`))['task_queues'] as { sid: string }[])[0]?.sid as string;
  const workflow = await call(server, 'POST', `${path}/Workflows`, {
    FriendlyName: 'Bench',
    Configuration: JSON.stringify({ task_routing: { default_filter: { queue } } }),
    ...(assignmentUrl !== undefined ? { AssignmentCallbackUrl: assignmentUrl } : {}),
  });
  for (let i = 0; i < workers; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, workers - i) }, async (_, k) => {
        const w = await call(server, 'POST', `${path}/Workers`, { FriendlyName: `w${i + k}`, ActivitySid: available });
        await call(server, 'POST', `${path}/Workers/${String(w['sid'])}/Channels/default`, { Capacity: String(CAPACITY) });
      }),
    );
  }
  return { path, workflow: String(workflow['sid']) };
}

/** Receivers that never answer, and that stream spaces forever. */
async function badReceivers(): Promise<{ hangUrl: string; floodUrl: string; close: () => void }> {
  const hang = http.createServer((req) => req.resume());
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const flood = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  await Promise.all([hang, flood].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const url = (s: http.Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}/assign`;
  return {
    hangUrl: url(hang),
    floodUrl: url(flood),
    close: () => {
      hang.closeAllConnections();
      flood.closeAllConnections();
      hang.close();
      flood.close();
    },
  };
}

/**
 * Keeps `n` raw connections doing `start(socket)`, reconnecting each one the server cuts after
 * `reconnectMs`, until `stop()`.
 */
function holdConnections(port: number, n: number, reconnectMs: number, start: (socket: Socket) => NodeJS.Timeout | null): { stop: () => void; cuts: () => number } {
  let running = true;
  let cuts = 0;
  const live = new Set<Socket>();
  const open = (): void => {
    if (!running) return;
    const socket = connect(port, '127.0.0.1');
    live.add(socket);
    let timer: NodeJS.Timeout | null = null;
    socket.on('connect', () => (timer = start(socket)));
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (timer !== null) clearInterval(timer);
      live.delete(socket);
      if (!running) return;
      cuts += 1;
      setTimeout(open, reconnectMs);
    });
  };
  for (let i = 0; i < n; i++) open();
  return {
    stop: () => {
      running = false;
      for (const s of live) s.destroy();
    },
    cuts: () => cuts,
  };
}

/** DELETE over the keep-alive agent (the answer is not measured). */
function remove(server: ServerChild, agent: http.Agent, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(server.base + path, { method: 'DELETE', agent, headers: { authorization: basicAuth(server) } });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.end();
  });
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-abuse-'));
  const server = await startServer(dataDir);
  const port = Number(new URL(server.base).port);
  let restarts = 0;
  server.child.once('exit', () => (restarts += 1));
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, processRssMb(server.child.pid) ?? 0)), 250);
  const receivers = await badReceivers();
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    // Each creator's task is deleted before its next create: a few workers hold them all.
    const main = await workspace(server, 'Main', CONCURRENCY);
    const hang = await workspace(server, 'Hanging receiver', 10, receivers.hangUrl);
    const flood = await workspace(server, 'Endless reply', 10, receivers.floodUrl);

    /** 8 creators for `seconds`: creates/s and the create → reserved latencies (ms, ascending). */
    const load = async (seconds: number): Promise<{ perS: number; latencies: Float64Array; notReserved: number; serverCpuUs: number | null }> => {
      const until = performance.now() + seconds * 1000;
      const cpu0 = processCpuMs(server.child.pid);
      const latencies: number[] = [];
      let notReserved = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < until && restarts === 0) {
            const t0 = performance.now();
            const res = await postForm(server, agent, `${main.path}/Tasks`, `WorkflowSid=${main.workflow}&Attributes=%7B%7D`);
            latencies.push(performance.now() - t0);
            if (res.body['assignment_status'] !== 'reserved') notReserved += 1;
            await remove(server, agent, `${main.path}/Tasks/${String(res.body['sid'])}`);
          }
        }),
      );
      const elapsed = performance.now() - started;
      const cpu1 = processCpuMs(server.child.pid);
      const serverCpuUs = cpu0 === null || cpu1 === null ? null : Math.round(((cpu1 - cpu0) * 1000) / Math.max(1, latencies.length));
      return { perS: latencies.length / (elapsed / 1000), latencies: Float64Array.from(latencies).sort(), notReserved, serverCpuUs };
    };

    process.stdout.write(`phase 1: ${CONCURRENCY} creators alone for ${SECONDS} s\n`);
    const baseline = await load(SECONDS);
    process.stdout.write(`  ${baseline.perS.toFixed(0)} creates/s, p99 ${percentile(baseline.latencies, 99).toFixed(1)} ms\n`);

    process.stdout.write(`phase 2: the same, with ${SLOW_CLIENTS} slow clients, ${HUGE_BODY_SENDERS} huge-body senders, a hanging and an endless receiver\n`);
    const slow = holdConnections(port, ABUSE.has('slow') ? SLOW_CLIENTS : 0, 50, (s) => {
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      return setInterval(() => s.write('X-Slow: 1\r\n'), 1_000);
    });
    const body = Buffer.alloc(4 * 1024 * 1024 - 1024, 0x61);
    // A sender whose connection is cut tries again a second later (reconnecting in a tight loop
    // would be a connection flood, an attack of another kind: rate limits, not in this bench).
    const huge = holdConnections(port, ABUSE.has('huge') ? HUGE_BODY_SENDERS : 0, 1_000, (s) => {
      s.write(`POST /v1/Workspaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${4 * 1024 * 1024 - 1}\r\n\r\n`);
      s.write(body);
      return null;
    });
    const badTasks = setInterval(() => {
      for (const w of [...(ABUSE.has('hang') ? [hang] : []), ...(ABUSE.has('flood') ? [flood] : [])]) void postForm(server, agent, `${w.path}/Tasks`, `WorkflowSid=${w.workflow}&Attributes=%7B%7D`).catch(() => undefined);
    }, 100);
    const abused = await load(SECONDS);
    clearInterval(badTasks);
    slow.stop();
    huge.stop();
    const p99 = percentile(abused.latencies, 99);
    process.stdout.write(`  ${abused.perS.toFixed(0)} creates/s, p99 ${p99.toFixed(1)} ms; the server cut ${slow.cuts()} slow and ${huge.cuts()} huge-body connections\n`);
    const ratio = abused.perS / baseline.perS;
    process.stdout.write(`under abuse ÷ alone: ${ratio.toFixed(2)} (target ≥ 0.80); RSS max ${rssMax.toFixed(0)} MB (≤ 500); restarts ${restarts}\n`);
    process.stdout.write(
      JSON.stringify({
        creates_per_s: Math.round(abused.perS),
        p99_create_to_reservation_ms: Number(p99.toFixed(2)),
        rss_mb_max: Math.round(rssMax),
        restarts,
        baseline_creates_per_s: Math.round(baseline.perS),
        baseline_p99_ms: Number(percentile(baseline.latencies, 99).toFixed(2)),
        ratio: Number(ratio.toFixed(3)),
        not_reserved: abused.notReserved + baseline.notReserved,
        slow_connections_cut: slow.cuts(),
        huge_body_connections_cut: huge.cuts(),
        server_cpu_us_per_create: abused.serverCpuUs,
        baseline_server_cpu_us_per_create: baseline.serverCpuUs,
        load_average_1m: Number(loadavg()[0]?.toFixed(2)),
        seconds_per_phase: SECONDS,
        abuse: [...ABUSE].join(','),
      }) + '\n',
    );
  } finally {
    clearInterval(sampler);
    receivers.close();
    agent.destroy();
    if (restarts === 0) {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
