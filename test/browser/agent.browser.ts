/**
 * The agent desktop in a real browser (issue 15, "browser tests"): the console's agent view runs
 * Twilio's worker SDK against the server. An agent of the demo center, handed a token in the
 * address as a sign-in backend would, goes Available, gets a ringing chat reservation, accepts it,
 * chats with a simulated web-chat customer until the one-minute inactivity timeout closes the chat,
 * then takes a voice call over the simulated telephone network (a conference of the caller and the
 * agent's phone), holds and resumes the customer, hangs up, wraps up with a
 * disposition and notes, and completes. The other demo agents are away; the simulated agents
 * leave this worker alone (the demo's `isHuman`, as `serve --demo` wires it to the worker's socket).
 *
 * Real server on 127.0.0.1 (SQLite), the virtual clock started at the wall clock and advanced by
 * the test where the scenario waits (the caller's menu, the inactivity timeout); Debian's
 * Chromium through playwright-core. SWITCHBOARD_SCREENSHOTS=1 writes docs/console/agent-*.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DEMO_CHAT_ADDRESS, DEMO_NUMBER, type Demo } from '../../src/cli/demo.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import type { SimulatedVoiceNetwork } from '../../src/voice/simulated-voice.ts';
import { assertAccessible } from './axe.ts';
import { launchChromium, startDemoCenter, type DemoCenter } from './demo-center.ts';

const SHOTS = process.env['SWITCHBOARD_SCREENSHOTS'] === '1' ? new URL('../../docs/console/', import.meta.url) : null;

let center: DemoCenter;
let browser: Browser;
let runtime: Runtime;
let network: SimulatedVoiceNetwork;
let demo: Demo;
let base: string;
let accountSid: string;
let token: string;
let agentSid: string;

before(async () => {
  center = await startDemoCenter(5);
  ({ runtime, network, demo, base, accountSid } = center);
  agentSid = center.workerSid('Ravi');
  token = center.tokenOf(agentSid, 'ravi');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await center?.close();
});

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS === null) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname });
}

const advance = (ms: number): Promise<void> => center.advance(ms);

test('an agent takes a chat until the inactivity timeout closes it, then a call, wraps up with a disposition and completes', async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await page.goto(`${base}/console/#/agent?token=${encodeURIComponent(token)}`);
  const activity = page.getByLabel('Your activity');
  await activity.waitFor();
  assert.doesNotMatch(page.url(), /token=/, 'the token leaves the address');
  await activity.selectOption({ label: 'Available' });
  await page.waitForFunction(`document.querySelector('.presence select')?.selectedOptions[0]?.textContent === 'Available'`);
  const engine = runtime.workspace(accountSid, demo.workspaceSid)!;
  assert.equal(engine.workers.get(agentSid)!.activityName, 'Available');

  // ── A web chat: it rings, the agent accepts and answers, the customer replies, then silence. ──
  const chat = (await runtime.conversations.startWebChat({ address: DEMO_CHAT_ADDRESS, name: 'Dana', body: 'Hello, my card was declined.' }))!;
  const incoming = page.getByRole('alertdialog', { name: 'Incoming chat: Dana' });
  await incoming.waitFor();
  await assertAccessible(page, 'agent desktop, a chat ringing');
  await shot(page, 'agent-incoming');
  await incoming.getByRole('button', { name: 'Accept' }).click();
  await incoming.waitFor({ state: 'detached' });
  const messages = page.locator('.messages li');
  await messages.filter({ hasText: 'Hello, my card was declined.' }).waitFor();
  await page.getByLabel('Message').fill('Hi Dana, I can see the decline: it is lifted now.');
  await page.getByRole('button', { name: 'Send' }).click();
  await messages.filter({ hasText: 'it is lifted now' }).waitFor();
  const center = runtime.conversations.center(accountSid);
  assert.deepEqual(center.messages(chat.conversationSid).map((m) => m.author), [chat.identity, 'Ravi']);
  await runtime.conversations.webChatSay(runtime.conversations.webChatSession(chat.token)!, 'Thank you!');
  await messages.filter({ hasText: 'Thank you!' }).waitFor();
  await page.getByLabel('Inactivity').filter({ hasText: /Closes after/ }).waitFor();
  await assertAccessible(page, 'agent desktop, a chat');
  await shot(page, 'agent-chat');

  await advance(61_000);
  assert.equal(center.conversation(chat.conversationSid)!.state, 'closed');
  const chatTask = [...engine.tasks.values()].find((t) => t.attributes['conversationSid'] === chat.conversationSid)!;
  assert.equal(chatTask.assignmentStatus, 'completed');
  assert.equal(chatTask.reason, 'inactivity-timeout');
  await page.getByRole('button', { name: /Dana/ }).waitFor({ state: 'detached' });

  // ── A call: the caller goes through the menu, the agent answers on their phone (dequeue), hangs up, wraps up. ──
  network.placeCall({ from: '+919811112222', to: DEMO_NUMBER, digits: ['2'], patienceSeconds: 600, talkSeconds: 600 });
  const ringing = page.getByRole('alertdialog', { name: 'Incoming voice: +919811112222' });
  for (let i = 0; i < 60 && !(await ringing.isVisible()); i++) await advance(1000);
  await ringing.waitFor();
  // The SDK's answer to `reservation.conference()` comes once the instruction is durable: only
  // then is there a leg to dial, so the virtual clock is advanced after it, not before.
  const instructed = page.waitForResponse((r) => r.url().endsWith('/v1/wschannels') && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('conference'));
  await ringing.getByRole('button', { name: 'Accept' }).click();
  assert.equal((await instructed).status(), 200);
  // Accepting a call dials the agent's phone into a conference with the caller (over the voice
  // port): the reservation is accepted once that leg answers, a few virtual seconds later.
  const voiceTask = [...engine.tasks.values()].find((t) => t.attributes['from'] === '+919811112222')!;
  const bridged = (): boolean => network.calls().find((c) => c.callSid === voiceTask.attributes['call_sid'])?.bridgedAt != null;
  for (let i = 0; i < 30 && !bridged(); i++) await advance(1000);
  assert.ok(bridged(), 'the caller is bridged to the agent');
  await ringing.waitFor({ state: 'detached' });
  const controls = page.getByRole('region', { name: 'Call controls' });
  await controls.waitFor();
  const room = (): Array<[string, boolean]> => (network.conference(voiceTask.sid)?.participants ?? []).map((p) => [p.role, p.onHold]);
  assert.deepEqual(room(), [['customer', false], ['worker', false]], 'the caller and the agent in one conference');

  // Hold the customer, then resume: the change goes out through the outbox to the network.
  await controls.getByRole('button', { name: 'Hold customer' }).click();
  await controls.getByRole('button', { name: 'Resume customer' }).waitFor();
  for (let i = 0; i < 10 && room()[0]?.[1] !== true; i++) await advance(200);
  assert.deepEqual(room(), [['customer', true], ['worker', false]], 'the customer on hold');
  await assertAccessible(page, 'agent desktop, a call on hold');
  await shot(page, 'agent-call');
  await controls.getByRole('button', { name: 'Resume customer' }).click();
  await controls.getByRole('button', { name: 'Hold customer' }).waitFor();
  for (let i = 0; i < 10 && room()[0]?.[1] !== false; i++) await advance(200);
  assert.deepEqual(room(), [['customer', false], ['worker', false]], 'the customer back');

  // Hang up: the agent's leg leaves the conference and the task goes to wrap-up.
  await controls.getByRole('button', { name: 'Hang up' }).click();
  const wrapUp = page.getByRole('form', { name: 'Wrap-up' });
  await wrapUp.waitFor();
  await wrapUp.getByLabel('Disposition').selectOption('Resolved');
  await wrapUp.getByLabel('Notes').fill('Explained the fee.');
  await wrapUp.getByLabel('Then go').selectOption({ label: 'Available' });
  await wrapUp.getByRole('button', { name: 'Complete' }).click();
  await wrapUp.waitFor({ state: 'detached' });
  const done = engine.tasks.get(voiceTask.sid)!;
  assert.equal(done.assignmentStatus, 'completed');
  assert.equal(done.attributes['disposition'], 'Resolved');
  assert.equal(done.attributes['notes'], 'Explained the fee.');
  assert.equal(engine.workers.get(agentSid)!.activityName, 'Available');
  await page.close();
});
