/**
 * One server per data directory. Two servers writing the same SQLite file would each rebuild the
 * engines from it and then diverge (each believes it owns every task and timer), so `serve`
 * takes an exclusive lock on the directory before it opens the store.
 *
 * The lock is an OS-level one: SQLite's exclusive file lock (POSIX advisory `fcntl` lock on Unix,
 * `LockFileEx` on Windows) on `<dataDir>/switchboard.lock`, held for the life of the process. The
 * kernel drops it when the process ends however it ends — SIGKILL and power loss included — so a
 * crashed server never leaves a stale lock behind, and no lock-file age heuristics are needed.
 * Next to it, `<dataDir>/switchboard.pid` (written only by the holder, after it got the lock)
 * says which process holds it, so the second server's error can name it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** Thrown when another live process holds the directory. */
export class DataDirLockedError extends Error {
  /** Absolute path of the directory. */
  readonly dataDir: string;
  /** What the holder wrote about itself (`pid`, `host`, `started` as ISO date), if readable. */
  readonly holder: { pid: number; host: string; started: string } | null;

  constructor(dataDir: string, holder: DataDirLockedError['holder']) {
    const who = holder === null ? 'another process (its pid file is unreadable)' : `process ${holder.pid} on ${holder.host} (running since ${holder.started})`;
    super(`The data directory ${dataDir} is already in use by ${who}. Stop that server first, or start this one with another --data-dir.`);
    this.name = 'DataDirLockedError';
    this.dataDir = dataDir;
    this.holder = holder;
  }
}

/** A held lock; `release` (idempotent) lets the next server in. */
export interface DataDirLock {
  readonly dataDir: string;
  release(): void;
}

/**
 * Takes the exclusive lock on `dataDir` (which must exist) without waiting.
 *
 * @throws DataDirLockedError when another live process holds it (names the directory and the
 *   holder's pid and host); any other error (permissions, a read-only disk) as thrown by SQLite.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  // timeout 0: fail at once instead of waiting for the other server to go away.
  const db = new DatabaseSync(join(dir, 'switchboard.lock'), { timeout: 0 });
  try {
    db.exec('PRAGMA journal_mode=DELETE');
    // In EXCLUSIVE locking mode SQLite keeps the exclusive lock it takes for a write until the
    // connection closes; the write below takes it.
    db.exec('PRAGMA locking_mode=EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
    db.exec('COMMIT');
  } catch (error) {
    db.close();
    if (/locked|busy/i.test((error as Error).message)) throw new DataDirLockedError(dir, readHolder(dir));
    throw error;
  }
  const pidFile = join(dir, 'switchboard.pid');
  writeFileSync(pidFile, JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }) + '\n');
  let held = true;
  return {
    dataDir: dir,
    release: () => {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}

function readHolder(dir: string): DataDirLockedError['holder'] {
  try {
    const h = JSON.parse(readFileSync(join(dir, 'switchboard.pid'), 'utf8')) as { pid?: unknown; host?: unknown; started?: unknown };
    if (typeof h.pid !== 'number' || typeof h.host !== 'string' || typeof h.started !== 'string') return null;
    return { pid: h.pid, host: h.host, started: h.started };
  } catch {
    return null;
  }
}
