/**
 * Graceful shutdown (issue 4, operability): `switchboard serve` as a child process receives
 * SIGTERM while task creations from the twilio client are in flight. It must exit 0, promptly;
 * every creation it acknowledged must be there after a restart on the same data directory
 * (in-flight commits finish before exit), and the data-dir lock must be released for the restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import twilio from 'twilio';
import { killServe, startServe, type ServeChild } from '../support/serve-child.ts';

test('SIGTERM under load: exit 0, every acknowledged create survives, the restart is not blocked', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-term-'));
  const servers: ServeChild[] = [];
  try {
    const first = await startServe(dataDir, { firstStart: true });
    servers.push(first);
    assert.ok(first.credentials !== null, 'a first start prints the credentials');
    const client = twilio(first.credentials.sid, first.credentials.token);
    client.taskrouter.baseUrl = first.base;
    const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Term' });
    const w = client.taskrouter.v1.workspaces(ws.sid);
    const queue = await w.taskQueues.create({ friendlyName: 'All' });
    await w.workflows.create({ friendlyName: 'Main', configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }) });

    const acknowledged = new Set<string>();
    let failed = 0;
    let stop = false;
    let reached = (): void => undefined;
    const twoHundred = new Promise<void>((resolve) => (reached = resolve));
    const creator = async (): Promise<void> => {
      while (!stop) {
        try {
          const t = await w.tasks.create({ attributes: JSON.stringify({ n: acknowledged.size }) });
          acknowledged.add(t.sid);
          if (acknowledged.size >= 200) reached();
        } catch {
          failed += 1;
          return; // the server is going away
        }
      }
    };
    const creators = Array.from({ length: 8 }, () => creator());
    // SIGTERM once 200 creates were acknowledged (on the event, not a poll); fail if the server died first.
    const early = await Promise.race([twoHundred.then(() => null), first.exit]);
    assert.equal(early, null, `the server exited before 200 creates: ${JSON.stringify(early)}`);
    const termAt = Date.now();
    first.child.kill('SIGTERM');
    const { code, signal } = await first.exit;
    stop = true;
    await Promise.all(creators);
    assert.equal(signal, null, 'it exits on its own, not killed by the signal');
    assert.equal(code, 0);
    assert.ok(Date.now() - termAt < 10_000, 'promptly');
    assert.ok(acknowledged.size >= 200);

    const second = await startServe(dataDir, { firstStart: false });
    servers.push(second);
    client.taskrouter.baseUrl = second.base;
    const after = new Set((await client.taskrouter.v1.workspaces(ws.sid).tasks.list({ pageSize: 1000 })).map((t) => t.sid));
    const lost = [...acknowledged].filter((s) => !after.has(s));
    assert.deepEqual(lost, [], `acknowledged creates lost in the shutdown (${acknowledged.size} acknowledged, ${failed} creators stopped by errors)`);
  } finally {
    await Promise.all(servers.map((s) => killServe(s)));
    rmSync(dataDir, { recursive: true, force: true });
  }
});
