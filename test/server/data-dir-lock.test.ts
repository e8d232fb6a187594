/**
 * One server per data directory: `switchboard serve` as real child processes. A second server on
 * a directory in use fails fast (exit 1) naming the directory and the first server's pid, and
 * leaves the first one serving; after the first is SIGKILLed its lock is gone and a restart on
 * the same directory serves with the same account.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function serve(dataDir: string): Run {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => void (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => void (err += c.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exit };
}

/** Waits for the serving line (and, on a first start, the credentials printed after it). */
async function serving(run: Run, firstStart = false): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const base = /serving TaskRouter v1 at (http:\/\/\S+)\/v1/.exec(run.out())?.[1];
    if (base !== undefined && (!firstStart || /Auth Token:\s+[0-9a-f]+\n/.test(run.out()))) return base;
    if (run.child.exitCode !== null) throw new Error(`server exited ${run.child.exitCode}: ${run.out()}${run.err()}`);
    if (Date.now() > deadline) throw new Error(`server did not start: ${run.out()}${run.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a second server on the same data dir fails fast naming the dir and the holder; a SIGKILLed holder does not block a restart', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-lock-'));
  const runs: Run[] = [];
  try {
    const first = serve(dataDir);
    runs.push(first);
    const base = await serving(first, true);
    const sid = /Account SID: (AC[0-9a-f]{32})/.exec(first.out())?.[1];
    assert.ok(sid !== undefined, 'the first start prints the account');

    const second = serve(dataDir);
    runs.push(second);
    const started = Date.now();
    const code = await second.exit;
    assert.equal(code, 1, `the second server must exit 1; stdout: ${second.out()} stderr: ${second.err()}`);
    assert.ok(Date.now() - started < 15_000, 'it fails fast');
    assert.ok(second.err().includes(dataDir), `the error names the directory: ${second.err()}`);
    assert.ok(second.err().includes(`process ${first.child.pid}`), `the error names the other process: ${second.err()}`);
    assert.doesNotMatch(second.out(), /serving TaskRouter/, 'the second server never serves');
    assert.doesNotMatch(second.out(), /Account SID/, 'the second server creates no account');

    // The first server is unharmed.
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);

    first.child.kill('SIGKILL');
    await first.exit;

    const third = serve(dataDir);
    runs.push(third);
    const base3 = await serving(third);
    assert.doesNotMatch(third.out(), /Account SID/, 'the restart finds the existing account (same database, no new account)');
    const res = await fetch(`${base3}/v1/Workspaces`);
    assert.equal(res.status, 401, 'the restarted server answers');
  } finally {
    for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await Promise.all(runs.map((r) => r.exit));
    rmSync(dataDir, { recursive: true, force: true });
  }
});
