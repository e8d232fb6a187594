/**
 * Secrets at rest (issue 11 item 7): the data directory is created readable by its owner only
 * (0700), and the SQLite database with its WAL and shared-memory files 0600 — they hold every
 * workspace, the hashed credentials and the sealed auth tokens (a database created 0644 could be
 * read by every user of the machine). A database left with wider permissions is tightened.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Runtime } from '../../src/runtime/runtime.ts';
import { sqliteOnly } from '../support/store.ts';

const mode = (path: string): number => statSync(path).mode & 0o777;

test('the data directory is 0700 and the database, its WAL and shared memory 0600; wider permissions are tightened', sqliteOnly('the SQLite files'), async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'switchboard-modes-')), 'data');
  const runtime = await Runtime.open({ dataDir });
  const account = await runtime.createAccount('Acme');
  await runtime.createWorkspace(account.sid, { friendlyName: 'Modes' });
  const db = join(dataDir, 'switchboard.sqlite');
  assert.equal(mode(dataDir).toString(8), '700');
  for (const file of [db, `${db}-wal`, `${db}-shm`, join(dataDir, 'server.key')]) assert.equal(mode(file).toString(8), '600', file);
  await runtime.close();

  chmodSync(db, 0o644);
  const again = await Runtime.open({ dataDir });
  try {
    assert.equal(mode(db).toString(8), '600', 'tightened on open');
    assert.equal(again.accountCount, 1);
  } finally {
    await again.close();
  }
});
