/**
 * Graceful shutdown (issue 4, operability): `switchboard serve` as a child process receives
 * SIGTERM while task creations from the twilio client are in flight. It must exit 0, promptly;
 * every creation it acknowledged must be there after a restart on the same data directory
 * (in-flight commits finish before exit), and the data-dir lock must be released for the restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import twilio from 'twilio';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

interface Server {
  child: ChildProcess;
  base: string;
  out: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a server; on a first start (`firstStart`) also waits for the printed credentials, which follow the serving line. */
function serve(dataDir: string, firstStart: boolean): Promise<Server> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => void (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => void (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 20_000;
    const poll = setInterval(() => {
      const base = /serving TaskRouter v1 at (http:\/\/\S+)\/v1/.exec(out)?.[1];
      const needsCredentials = firstStart && !/Auth Token:\s+[0-9a-f]+\n/.test(out);
      if (base !== undefined && !needsCredentials) {
        clearInterval(poll);
        resolve({ child, base, out: () => out, exit });
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(poll);
        reject(new Error(`server did not start: ${out}${err}`));
      }
    }, 20);
  });
}

test('SIGTERM under load: exit 0, every acknowledged create survives, the restart is not blocked', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-term-'));
  const servers: Server[] = [];
  try {
    const first = await serve(dataDir, true);
    servers.push(first);
    const sid = /Account SID: (AC[0-9a-f]{32})/.exec(first.out())?.[1] as string;
    const token = /Auth Token:\s+([0-9a-f]+)/.exec(first.out())?.[1] as string;
    const client = twilio(sid, token);
    client.taskrouter.baseUrl = first.base;
    const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Term' });
    const w = client.taskrouter.v1.workspaces(ws.sid);
    const queue = await w.taskQueues.create({ friendlyName: 'All' });
    await w.workflows.create({ friendlyName: 'Main', configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }) });

    const acknowledged = new Set<string>();
    let failed = 0;
    let stop = false;
    const creator = async (): Promise<void> => {
      while (!stop) {
        try {
          const t = await w.tasks.create({ attributes: JSON.stringify({ n: acknowledged.size }) });
          acknowledged.add(t.sid);
        } catch {
          failed += 1;
          return; // the server is going away
        }
      }
    };
    const creators = Array.from({ length: 8 }, () => creator());
    while (acknowledged.size < 200) await new Promise((r) => setTimeout(r, 5));
    const termAt = Date.now();
    first.child.kill('SIGTERM');
    const { code, signal } = await first.exit;
    stop = true;
    await Promise.all(creators);
    assert.equal(signal, null, 'it exits on its own, not killed by the signal');
    assert.equal(code, 0);
    assert.ok(Date.now() - termAt < 10_000, 'promptly');
    assert.ok(acknowledged.size >= 200);

    const second = await serve(dataDir, false);
    servers.push(second);
    client.taskrouter.baseUrl = second.base;
    const after = new Set((await client.taskrouter.v1.workspaces(ws.sid).tasks.list({ pageSize: 1000 })).map((t) => t.sid));
    const lost = [...acknowledged].filter((s) => !after.has(s));
    assert.deepEqual(lost, [], `acknowledged creates lost in the shutdown (${acknowledged.size} acknowledged, ${failed} creators stopped by errors)`);
  } finally {
    for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.exit));
    rmSync(dataDir, { recursive: true, force: true });
  }
});
