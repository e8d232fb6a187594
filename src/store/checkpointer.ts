/**
 * The WAL checkpointer: a worker thread with its own connection to the database that copies
 * committed WAL frames back into the main file (`PRAGMA wal_checkpoint(PASSIVE)`), so the thread
 * that serves requests never does it.
 *
 * Why: with SQLite's automatic checkpoint (every 1,000 WAL pages) the checkpoint runs inside the
 * COMMIT that crosses the threshold, on the committing thread: it copies every page back and
 * syncs both files, and every request in flight waits for it (tens of ms every few hundred ms
 * under load). A PASSIVE checkpoint never blocks writers and never changes what is committed:
 * durability still comes from the committing connection's WAL sync (`synchronous`), and a crash
 * in the middle of a checkpoint is recovered by SQLite like any other.
 *
 * Protocol (messages from the parent): `{ type: 'checkpoint' }` asks for a checkpoint (several
 * requests arriving while one runs are answered by one); `{ type: 'close' }` closes the
 * connection and ends the thread. It answers each finished checkpoint with
 * `{ type: 'checkpointed', log, checkpointed, ms }` (WAL frames in the log, frames copied back,
 * duration in milliseconds) and reports errors as `{ type: 'error', message }`.
 *
 * `workerData`: `{ path: string, synchronous: 'FULL' | 'NORMAL', minIntervalMs: number }` — the
 * database file, the sync level (a checkpoint syncs the WAL before and the database after copying
 * at either level), and the least time between two checkpoints (milliseconds).
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

interface CheckpointerData {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  minIntervalMs: number;
}

const data = workerData as CheckpointerData;
const port = parentPort;
if (port === null) throw new Error('src/store/checkpointer.ts runs as a worker thread');

const db = new DatabaseSync(data.path);
db.exec(`PRAGMA busy_timeout = 5000; PRAGMA synchronous = ${data.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'};`);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

let last = 0;
let wanted = false;
let timer: NodeJS.Timeout | null = null;
let closed = false;

function run(): void {
  timer = null;
  if (closed || !wanted) return;
  const wait = last + data.minIntervalMs - performance.now();
  if (wait > 0) {
    timer = setTimeout(run, wait);
    return;
  }
  wanted = false;
  const started = performance.now();
  try {
    const row = checkpoint.get() as { busy: number; log: number; checkpointed: number };
    last = performance.now();
    port?.postMessage({ type: 'checkpointed', log: row.log, checkpointed: row.checkpointed, ms: last - started });
  } catch (error) {
    last = performance.now();
    port?.postMessage({ type: 'error', message: (error as Error).message });
  }
}

port.on('message', (message: { type: string }) => {
  if (message.type === 'checkpoint') {
    wanted = true;
    if (timer === null) timer = setTimeout(run, 0);
  } else if (message.type === 'close') {
    closed = true;
    if (timer !== null) clearTimeout(timer);
    db.close();
    port.close();
  }
});
