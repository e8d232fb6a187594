/**
 * API load generator: `switchboard serve` runs as a child process (durable commits, synchronous
 * FULL) on a temp data dir; this process creates tasks over loopback HTTP with keep-alive `fetch`
 * from several concurrent creators and measures creates/s and the latency of each create.
 *
 * Create → reservation: the workspace has Available workers with enough capacity that every task
 * is reserved inside its own createTask command (the reservation.created event is committed in
 * the same transaction), so the create request's latency IS create → reservation; the bench
 * checks that every response says `reserved` and reports how many did not.
 *
 * Env: BENCH_TASKS (default 20000), BENCH_CONCURRENCY (default 32), BENCH_WARMUP (default 2000),
 * BENCH_SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=prof" to profile the server).
 * Ends with one JSON line: {"creates_per_s":…, "p99_create_to_reservation_ms":…, …}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 20_000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 2_000);
const CAPACITY = 50;
const SYNCHRONOUS = process.env['BENCH_SYNCHRONOUS'] ?? 'FULL';

interface Server {
  child: ChildProcess;
  base: string;
  sid: string;
  token: string;
}

async function startServer(dataDir: string): Promise<Server> {
  const main = new URL('../src/cli/main.ts', import.meta.url).pathname;
  const flags = (process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const child = spawn(process.execPath, [...flags, main, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'silent', '--synchronous', SYNCHRONOUS], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const base = /serving TaskRouter v1 at (http:\/\/[^\s]+)\/v1/.exec(out)?.[1];
      const sid = /Account SID: (AC[0-9a-f]{32})/.exec(out)?.[1];
      const token = /Auth Token:\s+([0-9a-f]+)/.exec(out)?.[1];
      if (base !== undefined && sid !== undefined && token !== undefined) resolve({ child, base, sid, token });
    });
  });
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-api-'));
  const server = await startServer(dataDir);
  const auth = `Basic ${Buffer.from(`${server.sid}:${server.token}`).toString('base64')}`;
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
    const ws = await call('POST', '/v1/Workspaces', { FriendlyName: 'Bench', Template: 'FIFO' });
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

    const latencies = new Float64Array(TASKS);
    let notReserved = 0;
    const run = async (count: number, record: boolean): Promise<number> => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let i = next++; i < count; i = next++) {
            const t0 = performance.now();
            const task = await call('POST', `${wsPath}/Tasks`, { Attributes: `{"n":${i}}` });
            const dt = performance.now() - t0;
            if (record) {
              latencies[i] = dt;
              if (task['assignment_status'] !== 'reserved') notReserved += 1;
            }
          }
        }),
      );
      return performance.now() - started;
    };
    await run(WARMUP, false);
    const cpu0 = process.cpuUsage();
    const elapsed = await run(TASKS, true);
    const cpu = process.cpuUsage(cpu0);
    const clientCpu = (cpu.user + cpu.system) / 1000 / elapsed;
    latencies.sort();
    const createsPerS = TASKS / (elapsed / 1000);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const out = process.stdout;
    out.write(`tasks ${TASKS} (after ${WARMUP} warm-up), ${CONCURRENCY} concurrent creators, ${workers} workers × capacity ${CAPACITY}, synchronous ${SYNCHRONOUS}\n`);
    out.write(`measured: create request latency (each task is reserved inside its own create: create → reservation); ${notReserved} responses were not 'reserved'\n`);
    out.write(`load generator CPU: ${(clientCpu * 100).toFixed(0)}% of one core (the server runs in its own process)\n`);
    out.write(`creates/s ${createsPerS.toFixed(0)}   p50 ${p50.toFixed(2)} ms   p99 ${p99.toFixed(2)} ms   max ${percentile(latencies, 100).toFixed(2)} ms\n`);
    out.write(
      JSON.stringify({
        creates_per_s: Math.round(createsPerS),
        p99_create_to_reservation_ms: Number(p99.toFixed(2)),
        p50_create_to_reservation_ms: Number(p50.toFixed(2)),
        measured: 'create request latency; reserved within the create command',
        not_reserved: notReserved,
        concurrency: CONCURRENCY,
        load_generator_cpu: Number(clientCpu.toFixed(2)),
      }) + '\n',
    );
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
