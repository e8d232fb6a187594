/**
 * `switchboard serve --database-url`: a URL that is not PostgreSQL's, or a database that cannot be
 * reached, stops the server at once with exit code 1 and a message naming the option — never
 * with the password in it — and nothing serves.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** Runs `switchboard serve` with `args` on a fresh data dir until it exits. */
function serve(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-dburl-'));
  const env = { ...process.env };
  delete env['SWITCHBOARD_DATABASE_URL'];
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'silent', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => void (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => void (err += c.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, out, err });
    }),
  );
}

test('a URL that is not postgres:// is refused naming --database-url, the password masked', async () => {
  const r = await serve(['--database-url', 'mysql://ann:s3cret@db.example/switchboard']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--database-url: expected a postgres:\/\/ or postgresql:\/\/ URL/);
  assert.doesNotMatch(r.err + r.out, /s3cret/);
  assert.doesNotMatch(r.out, /serving/);
});

test('an unreachable database stops the server with exit code 1 and says which store could not be opened', async () => {
  // Port 1 on the loopback: nothing listens there, the connection is refused at once.
  const r = await serve(['--database-url', 'postgres://ann:s3cret@127.0.0.1:1/switchboard']);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /cannot open the PostgreSQL store: Cannot connect to PostgreSQL/);
  assert.doesNotMatch(r.err + r.out, /s3cret/);
  assert.doesNotMatch(r.out, /serving/);
});

test('--database-schema without --database-url, or not a plain identifier, is refused naming the option', async () => {
  const without = await serve(['--database-schema', 'tenant_a']);
  assert.equal(without.code, 1);
  assert.match(without.err, /--database-schema needs --database-url/);
  const bad = await serve(['--database-url', 'postgres://127.0.0.1/x', '--database-schema', 'Robert"; DROP']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--database-schema: .* is not a plain lower-case identifier/);
});
