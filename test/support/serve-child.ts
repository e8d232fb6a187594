/**
 * `switchboard serve` as a child process, for tests that kill the server and start it again on
 * the same data dir (crash tests, DESIGN.md rule 2). The server listens on a free port (`--port
 * 0`) and logs nothing; what it prints on stdout tells the test where it serves and, on a first
 * start, the account credentials it created.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** A running server. */
export interface ServeChild {
  child: ChildProcess;
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
}

/**
 * Starts `switchboard serve --port 0 --data-dir <dataDir> --log-level silent` with this Node.
 * Resolves once it serves; rejects, with what it printed, if it exits before.
 */
export function startServe(dataDir: string, options: ServeOptions): Promise<ServeChild> {
  const args = [MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'silent'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => void (err += c.toString()));
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`server exited (${code}) before serving: ${out}${err}`));
    child.once('exit', onExit);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const base = /serving TaskRouter v1 at (http:\/\/\S+)\/v1/.exec(out)?.[1];
      if (base === undefined) return;
      const sid = /Account SID: (AC[0-9a-f]{32})/.exec(out)?.[1];
      const token = /Auth Token:\s+([0-9a-f]+)/.exec(out)?.[1];
      if (options.firstStart && (sid === undefined || token === undefined)) return;
      child.off('exit', onExit);
      resolve({ child, base, credentials: sid !== undefined && token !== undefined ? { sid, token } : null });
    });
  });
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** SIGKILLs the server, as a crash would, and waits until it is gone. */
export async function killServe(server: ServeChild): Promise<void> {
  server.child.kill('SIGKILL');
  await exited(server.child);
}

/** Waits `ms` milliseconds of wall time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
