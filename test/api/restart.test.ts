/**
 * Durable before acknowledged (DESIGN.md rule 2), seen through the API: what the client was
 * told was created is there after the process is gone and a new one opens the same data.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import twilio from 'twilio';
import { buildApp } from '../../src/api/app.ts';
import { testStoreOptions } from '../support/store.ts';
import { Runtime } from '../../src/runtime/runtime.ts';

async function serve(runtime: Runtime): Promise<{ base: string; close: () => Promise<void> }> {
  const app = buildApp({ runtime });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

test('resources acknowledged over HTTP survive a restart without close()', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-api-'));
  const first = await Runtime.open(testStoreOptions(dataDir));
  const account = await first.createAccount('Acme');
  const server1 = await serve(first);
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = server1.base;
  const tr = client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: 'Durable', template: 'FIFO' });
  const available = (await tr.workspaces(ws.sid).activities.list({ friendlyName: 'Available' }))[0]?.sid as string;
  const worker = await tr.workspaces(ws.sid).workers.create({ friendlyName: 'Ann', activitySid: available });
  const tasks = await Promise.all([1, 2, 3].map((n) => tr.workspaces(ws.sid).tasks.create({ attributes: JSON.stringify({ n }) })));
  await server1.close();
  // No first.close(): the process is gone. A new one opens the same files.

  const second = await Runtime.open(testStoreOptions(dataDir));
  const server2 = await serve(second);
  client.taskrouter.baseUrl = server2.base;
  try {
    assert.equal((await tr.workspaces(ws.sid).workers(worker.sid).fetch()).activityName, 'Available');
    const listed = await tr.workspaces(ws.sid).tasks.list();
    assert.deepEqual(listed.map((t) => t.sid).sort(), tasks.map((t) => t.sid).sort());
    assert.equal(listed.filter((t) => t.assignmentStatus === 'reserved').length, 1);
  } finally {
    await server2.close();
    await second.close();
    await first.close();
  }
});
