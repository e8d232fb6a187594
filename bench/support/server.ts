/**
 * What the HTTP benchmarks share: `switchboard serve` as a child process on a temp data dir (its
 * credentials read from its first start), form requests over a keep-alive agent, the child's RSS
 * and CPU time from /proc, percentiles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';

/** A running `switchboard serve` child. */
export interface ServerChild {
  child: ChildProcess;
  base: string;
  sid: string;
  token: string;
}

/**
 * Starts `switchboard serve --port 0` on `dataDir` with `args` added; resolves once it printed its
 * address and credentials. `env` is added to this process's environment for the child.
 */
export async function startServer(dataDir: string, args: readonly string[] = [], nodeFlags: readonly string[] = [], env: Record<string, string> = {}): Promise<ServerChild> {
  const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [...nodeFlags, main, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'silent', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
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

/** The Basic authorization header of the server's account. */
export function basicAuth(server: ServerChild): string {
  return `Basic ${Buffer.from(`${server.sid}:${server.token}`).toString('base64')}`;
}

/** POSTs a form on `agent`; resolves with the status and the parsed JSON reply. */
export function postForm(server: ServerChild, agent: http.Agent, path: string, form: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(server.base + path, {
      method: 'POST',
      agent,
      headers: { authorization: basicAuth(server), 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> }));
    });
    req.end(form);
  });
}

/** A JSON request with the account's credentials (setup calls); throws on a status ≥ 300. */
export async function call(server: ServerChild, method: string, path: string, form?: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(server.base + path, {
    method,
    headers: form === undefined ? { authorization: basicAuth(server) } : { authorization: basicAuth(server), 'content-type': 'application/x-www-form-urlencoded' },
    body: form === undefined ? undefined : new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux); null elsewhere. */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of /proc/<pid>/stat), in clock ticks of 1/100 s.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** Resident memory of a process, in MB, from /proc (Linux); null elsewhere. */
export function processRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** The `p`-th percentile (0–100) of ascending values. */
export function percentile(sorted: Float64Array | readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
