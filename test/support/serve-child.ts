/**
 * `switchboard serve` as a child process, for tests that kill the server and start it again on
 * the same data dir (crash tests, DESIGN.md rule 2). The server listens on a free port (`--port
 * 0`) and logs nothing; what it prints on stdout tells the test where it serves and, on a first
 * start, the account credentials it created.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { serveStoreArgs } from './store.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** A `switchboard serve` child, whether or not it gets to serve. */
export interface ServeRun {
  child: ChildProcess;
  /** What it printed on stdout so far. */
  out: () => string;
  /** What it printed on stderr so far. */
  err: () => string;
  /** Resolves with its exit code and signal once it has exited. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A running server. */
export interface ServeChild extends ServeRun {
  /** Origin of the API, e.g. "http://127.0.0.1:41234" (the TaskRouter routes are under /v1). */
  base: string;
  /** The account a first start creates and prints; null on a restart (the account exists). */
  credentials: { sid: string; token: string } | null;
}

export interface ServeOptions {
  /**
   * A first start on an empty data dir: wait for the credentials, which are printed after the
   * "serving" line. A restart resolves on the "serving" line.
   */
  firstStart: boolean;
  /** The environment of the child; default this process's. */
  env?: NodeJS.ProcessEnv;
  /** More command-line arguments (they come last: `--port 4000` overrides `--port 0`). */
  args?: readonly string[];
}

/**
 * Spawns `switchboard serve --port 0 --data-dir <dataDir> --log-level silent` with this Node — on
 * the tests' store: with SWITCHBOARD_TEST_DATABASE_URL, `--database-url` and the data dir's own
 * `--database-schema` (test/support/store.ts) — and returns at once (for a server expected to fail; {@link startServe} waits until it serves).
 */
export function spawnServe(dataDir: string, env: NodeJS.ProcessEnv = process.env, extra: readonly string[] = []): ServeRun {
  const args = [MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'silent', ...serveStoreArgs(dataDir), ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => void (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => void (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, out: () => out, err: () => err, exit };
}

/**
 * Starts the server ({@link spawnServe}). Resolves once it serves (on a first start, once the
 * credentials are printed in full); rejects, with what it printed, if it exits before.
 */
export function startServe(dataDir: string, options: ServeOptions): Promise<ServeChild> {
  const run = spawnServe(dataDir, options.env, options.args);
  return new Promise((resolve, reject) => {
    void run.exit.then(({ code }) => reject(new Error(`server exited (${code}) before serving: ${run.out()}${run.err()}`)));
    // Registered after spawnServe's own listener: out() already holds the chunk.
    run.child.stdout?.on('data', () => {
      const out = run.out();
      const base = /serving TaskRouter v1 at (http:\/\/\S+)\/v1/.exec(out)?.[1];
      if (base === undefined) return;
      const sid = /Account SID: (AC[0-9a-f]{32})/.exec(out)?.[1];
      const token = /Auth Token:\s+([0-9a-f]+)\n/.exec(out)?.[1];
      if (options.firstStart && (sid === undefined || token === undefined)) return;
      if (serveStoreArgs(dataDir).length > 0 && !/data in PostgreSQL/.test(out)) {
        reject(new Error(`the server was to run on PostgreSQL (SWITCHBOARD_TEST_DATABASE_URL) but says: ${out}`));
        return;
      }
      resolve({ ...run, base, credentials: sid !== undefined && token !== undefined ? { sid, token } : null });
    });
  });
}

/** SIGKILLs the server, as a crash would, and waits until it is gone. */
export async function killServe(server: ServeRun): Promise<void> {
  server.child.kill('SIGKILL');
  await server.exit;
}

/** Waits `ms` milliseconds of wall time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
