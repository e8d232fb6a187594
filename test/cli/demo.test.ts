/**
 * `switchboard serve --demo` (src/cli/demo.ts): ten virtual minutes of the demo center on the
 * simulated network — callers come in, choose a language, hold, are bridged to a demo agent by
 * `dequeue`, talk, and the agents wrap up and complete; a restart reuses the demo workspace.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDemo } from '../../src/cli/demo.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { SimulatedVoiceNetwork } from '../../src/voice/simulated-voice.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { testStoreOptions } from '../support/store.ts';

test('the demo center works by itself: calls are bridged to agents, wrapped up and completed', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 11 });
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-demo-'));
  const runtime = await Runtime.open({ ...testStoreOptions(dataDir), scheduler, voice: { port: network } });
  const dispatcher = new WebhookDispatcher(runtime, { scheduler, pollMs: 0, onAlert: () => undefined, deliverers: runtime.voice.deliverers() });
  dispatcher.start();
  try {
    const account = await runtime.createAccount('Demo');
    const demo = await startDemo(runtime, account.sid, network, { callEverySeconds: 20, wrapUpSeconds: 10 });
    await scheduler.advance(10 * 60_000);
    demo.stop();
    const engine = runtime.workspace(account.sid, demo.workspaceSid)!;
    const tasks = [...engine.tasks.values()];
    const completed = tasks.filter((t) => t.assignmentStatus === 'completed');
    assert.ok(tasks.length >= 20, `${tasks.length} calls became tasks`);
    assert.ok(completed.length >= 10, `${completed.length} completed`);
    for (const t of completed) assert.match(String(t.attributes['worker_call_sid']), /^CA/);
    const bridged = network.calls().filter((c) => c.bridgedAt !== null);
    assert.ok(bridged.length >= completed.length);
    assert.equal(network.errors.length, 0, JSON.stringify(network.errors.slice(0, 2)));
    // Both languages were chosen.
    assert.deepEqual(new Set(tasks.map((t) => t.attributes['selected_language'])), new Set(['hindi', 'english']));

    // A second start finds the demo workspace again instead of making another.
    const again = await startDemo(runtime, account.sid, network);
    again.stop();
    assert.equal(again.workspaceSid, demo.workspaceSid);
    assert.equal(runtime.workspaces(account.sid).length, 1);
  } finally {
    await dispatcher.stop();
    await runtime.close();
  }
});
