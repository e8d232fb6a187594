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
    const all = [...engine.tasks.values()];
    const tasks = all.filter((t) => t.attributes['call_sid'] !== undefined);
    const completed = tasks.filter((t) => t.assignmentStatus === 'completed');
    assert.ok(tasks.length >= 20, `${tasks.length} calls became tasks`);
    assert.ok(completed.length >= 10, `${completed.length} completed`);
    for (const t of completed) assert.match(String(t.attributes['worker_call_sid']), /^CA/);
    const bridged = network.calls().filter((c) => c.bridgedAt !== null);
    assert.ok(bridged.length >= completed.length);
    assert.equal(network.errors.length, 0, JSON.stringify(network.errors.slice(0, 2)));
    // Both languages were chosen.
    assert.deepEqual(new Set(tasks.map((t) => t.attributes['selected_language'])), new Set(['hindi', 'english']));

    // Web chats: each accepted, answered by the agent, thanked by the customer, then closed by the
    // one-minute inactivity timeout, which completed its task. (Tasks ended long ago have left the
    // engine, as TaskRouter drops them: the conversations keep the whole story.)
    const center = runtime.conversations.center(account.sid);
    const conversations = center.listConversations();
    assert.ok(conversations.length >= 12, `${conversations.length} chats opened`);
    const closed = conversations.filter((c) => c.state === 'closed');
    assert.ok(closed.length >= conversations.length - 2, `${closed.length} of ${conversations.length} chats closed`);
    for (const c of closed) {
      const messages = center.messages(c.sid);
      const customer = messages[0]!.author;
      assert.match(customer, /^guest-/);
      assert.deepEqual(messages.map((m) => m.author === customer ? 'customer' : m.author === 'system' ? 'system' : 'agent'), ['customer', 'agent', 'customer', 'system']);
      assert.ok(messages[3]!.dateCreated - messages[2]!.dateCreated >= 60_000, 'closed a minute after the last message');
    }
    const chatTasks = all.filter((t) => typeof t.attributes['conversationSid'] === 'string' && t.assignmentStatus === 'completed');
    assert.ok(chatTasks.length >= 5, `${chatTasks.length} chat tasks completed`);
    for (const t of chatTasks) {
      assert.equal(t.reason, 'inactivity-timeout');
      assert.equal(center.conversation(String(t.attributes['conversationSid']))?.state, 'closed');
    }

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
