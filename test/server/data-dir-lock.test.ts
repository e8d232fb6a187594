/**
 * One server per data directory: `switchboard serve` as real child processes. A second server on
 * a directory in use fails fast (exit 1) naming the directory and the first server's pid, and
 * leaves the first one serving; after the first is SIGKILLed its lock is gone and a restart on
 * the same directory serves with the same account.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { killServe, spawnServe, startServe, type ServeRun } from '../support/serve-child.ts';

test('a second server on the same data dir fails fast naming the dir and the holder; a SIGKILLed holder does not block a restart', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-lock-'));
  const runs: ServeRun[] = [];
  try {
    const first = await startServe(dataDir, { firstStart: true });
    runs.push(first);
    assert.ok(first.credentials !== null, 'the first start prints the account');

    const second = spawnServe(dataDir);
    runs.push(second);
    const started = Date.now();
    const { code } = await second.exit;
    assert.equal(code, 1, `the second server must exit 1; stdout: ${second.out()} stderr: ${second.err()}`);
    assert.ok(Date.now() - started < 15_000, 'it fails fast');
    assert.ok(second.err().includes(dataDir), `the error names the directory: ${second.err()}`);
    assert.ok(second.err().includes(`process ${first.child.pid}`), `the error names the other process: ${second.err()}`);
    assert.doesNotMatch(second.out(), /serving TaskRouter/, 'the second server never serves');
    assert.doesNotMatch(second.out(), /Account SID/, 'the second server creates no account');

    // The first server is unharmed.
    const health = await fetch(`${first.base}/healthz`);
    assert.equal(health.status, 200);

    await killServe(first);

    const third = await startServe(dataDir, { firstStart: false });
    runs.push(third);
    assert.doesNotMatch(third.out(), /Account SID/, 'the restart finds the existing account (same database, no new account)');
    const res = await fetch(`${third.base}/v1/Workspaces`);
    assert.equal(res.status, 401, 'the restarted server answers');
  } finally {
    await Promise.all(runs.map((r) => killServe(r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
});
