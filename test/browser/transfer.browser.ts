/**
 * The agent desktop's transfer directory and dial pad in a real browser (issue 15 gaps). Ravi, an
 * agent of the demo center, works in the console (Twilio's worker SDK in Chromium); Meera, a
 * colleague, is Twilio's worker SDK in Node. The other demo agents are away; the demo's simulated
 * agents leave both alone (they hold a worker socket).
 *
 * 1. Ravi accepts a chat, finds Meera in the transfer directory (search, activity, available first,
 *    not himself); a WARM transfer to an away colleague is canceled; he transfers COLD to Meera;
 *    the desktop follows the outgoing transfer's events; Meera
 *    accepts; the desktop says the transfer completed and the task is wrapping; Ravi completes.
 *    Meera then transfers it WARM back: Ravi's ringing card says it is a transfer and from whom.
 * 2. Ravi dials a number on the dial pad (keypad, typing, backspace; Escape closes the dialog),
 *    with the demo line as caller ID: the outbound task is created with `outbound_to`, `from` and
 *    routed to Ravi, and the desktop answers its reservation with the conference instruction,
 *    without a ringing card: Ravi's phone is dialed from the chosen number; once he answers, the
 *    reservation is accepted and the customer dialed into the conference from the same number; the
 *    desktop shows the call, Ravi hangs up, wraps up and completes.
 *
 * Real server on 127.0.0.1 (SQLite), the virtual clock started at the wall clock and advanced by
 * the test only where the scenario waits on the simulated network; Debian's Chromium through
 * playwright-core. SWITCHBOARD_SCREENSHOTS=1 writes docs/console/agent-transfer*.png and
 * agent-dialpad.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import taskrouter from 'twilio-taskrouter';
import { DEMO_CHAT_ADDRESS, DEMO_NUMBER } from '../../src/cli/demo.ts';
import type { WorkspaceEngine } from '../../src/engine/index.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import type { SimulatedVoiceNetwork } from '../../src/voice/simulated-voice.ts';
import { next, stopWorker, type SdkWorker } from '../sdk/harness.ts';
import { assertAccessible } from './axe.ts';
import { launchChromium, startDemoCenter, type DemoCenter } from './demo-center.ts';

const SHOTS = process.env['SWITCHBOARD_SCREENSHOTS'] === '1' ? new URL('../../docs/console/', import.meta.url) : null;

let center: DemoCenter;
let browser: Browser;
let runtime: Runtime;
let network: SimulatedVoiceNetwork;
let base: string;
let engine: WorkspaceEngine;
let ravi: string;
let meera: string;
let meeraSdk: SdkWorker;
let page: Page;

before(async () => {
  center = await startDemoCenter(7);
  ({ runtime, network, base, engine } = center);
  ravi = center.workerSid('Ravi');
  meera = center.workerSid('Meera');
  meeraSdk = new taskrouter.Worker(center.tokenOf(meera, 'meera'), { ebServer: `${base}/v1/wschannels`, wsServer: `${base.replace(/^http/, 'ws')}/v1/wschannels`, logLevel: 'silent' });
  await next(meeraSdk, 'ready');
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await page.goto(`${base}/console/#/agent?token=${encodeURIComponent(center.tokenOf(ravi, 'ravi'))}`);
  await page.getByLabel('Your activity').selectOption({ label: 'Available' });
  await page.waitForFunction(`document.querySelector('.presence select')?.selectedOptions[0]?.textContent === 'Available'`);
});

after(async () => {
  await page?.close();
  await browser?.close();
  if (meeraSdk !== undefined) stopWorker(meeraSdk);
  await center?.close();
});

async function shot(name: string): Promise<void> {
  if (SHOTS === null) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname });
}

const advance = (ms: number): Promise<void> => center.advance(ms);

/** Meera's activity, set through her SDK. */
async function meeraGoes(name: string): Promise<void> {
  await [...meeraSdk.activities.values()].find((a) => a.name === name)!.setAsCurrent();
}

test('an agent transfers an accepted chat COLD to a colleague found in the directory; the colleague accepts; the desktop shows it completed and wrapping; a transfer back says from whom', async () => {
  // ── Ravi takes a chat. ──
  const chat = (await runtime.conversations.startWebChat({ address: DEMO_CHAT_ADDRESS, name: 'Dana', body: 'I need the mortgage team.' }))!;
  const incoming = page.getByRole('alertdialog', { name: 'Incoming chat: Dana' });
  await incoming.getByRole('button', { name: 'Accept' }).click();
  await incoming.waitFor({ state: 'detached' });
  await page.locator('.messages li').filter({ hasText: 'mortgage team' }).waitFor();
  const task = [...engine.tasks.values()].find((t) => t.attributes['conversationSid'] === chat.conversationSid)!;
  assert.equal(task.assignmentStatus, 'assigned');
  await meeraGoes('Available');

  // ── The directory: queues and colleagues, available first, not Ravi; search narrows it. ──
  const opener = page.getByRole('button', { name: 'Transfer…' });
  await opener.click();
  const dialog = page.getByRole('dialog', { name: 'Transfer' });
  await dialog.waitFor();
  assert.equal(await page.evaluate('document.activeElement?.getAttribute("type")'), 'search', 'focus in the search box');
  const agents = dialog.getByRole('group', { name: 'Agents' });
  await agents.getByRole('radio', { name: /Meera/ }).waitFor();
  await page.waitForFunction(`document.querySelectorAll('dialog fieldset')[1]?.querySelectorAll('li').length === 3`);
  assert.deepEqual(await agents.locator('li').allInnerTexts().then((l) => l.map((x) => x.replace(/\s+/g, ' ').trim())), ['Meera Available', 'Asha Unavailable', 'Ben Unavailable'], 'available first, then by name; not oneself');
  assert.deepEqual(await dialog.getByRole('group', { name: 'Queues' }).locator('li').allInnerTexts().then((l) => l.map((x) => x.trim())), ['English', 'Hindi']);
  // Escape closes the dialog and focus returns to its button.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Transfer…');
  // A WARM transfer to Ben, who is away, waits for him: Ravi cancels it and keeps the task.
  await opener.click();
  await dialog.getByRole('radio', { name: /Ben/ }).check();
  await dialog.getByRole('radio', { name: /Warm/ }).check();
  await dialog.getByRole('button', { name: 'Transfer to Ben' }).click();
  await dialog.waitFor({ state: 'detached' });
  const status = page.getByRole('status', { name: 'Transfer status' });
  await status.filter({ hasText: 'Transferring to Ben (warm): waiting for them to accept' }).waitFor();
  assert.equal(await opener.getAttribute('aria-disabled'), 'true', 'one transfer at a time');
  assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Transfer…', 'the focus stays on the button');
  await status.getByRole('button', { name: 'Cancel transfer' }).click();
  await status.filter({ hasText: 'The transfer to Ben was canceled. The task is still yours.' }).waitFor();
  assert.equal(engine.outgoingTransfer(task.sid)?.status, 'canceled');
  assert.equal(engine.tasks.get(task.sid)!.assignmentStatus, 'assigned');

  await opener.click();
  await dialog.getByLabel('Search queues and agents').fill('mee');
  await page.waitForFunction(`document.querySelectorAll('dialog li').length === 1`);
  await dialog.getByRole('radio', { name: /Meera/ }).check();
  await dialog.getByRole('radio', { name: /Cold/ }).check();
  await assertAccessible(page, 'agent desktop, the transfer directory');
  await shot('agent-transfer');

  // ── COLD to Meera: her SDK gets a reservation of the transfer; the desktop shows it under way. ──
  const offered = next<[taskrouter.Reservation]>(meeraSdk, 'reservationCreated');
  await dialog.getByRole('button', { name: 'Transfer to Meera' }).click();
  await dialog.waitFor({ state: 'detached' });
  const [reservation] = await offered;
  assert.equal(reservation.task.transfers.incoming?.mode, 'COLD');
  assert.equal(reservation.task.attributes['conversationSid'], chat.conversationSid);
  await status.filter({ hasText: 'Transferring to Meera (cold)' }).waitFor();
  await status.getByRole('button', { name: 'Cancel transfer' }).waitFor();
  assert.equal(engine.outgoingTransfer(task.sid)?.status, 'initiated');

  // ── Meera accepts: completed; Ravi's task wraps up. ──
  await reservation.accept();
  await status.filter({ hasText: 'Transfer completed: Meera has the task' }).waitFor();
  await status.getByRole('button', { name: 'Cancel transfer' }).waitFor({ state: 'detached' });
  const wrapUp = page.getByRole('form', { name: 'Wrap-up' });
  await wrapUp.waitFor();
  assert.equal(engine.outgoingTransfer(task.sid)?.status, 'completed');
  assert.equal(engine.tasks.get(task.sid)!.assignmentStatus, 'wrapping');
  await assertAccessible(page, 'agent desktop, a transfer completed');
  await shot('agent-transfer-done');
  await wrapUp.getByLabel('Disposition').selectOption('Transferred');
  await wrapUp.getByLabel('Then go').selectOption({ label: 'Available' });
  await wrapUp.getByRole('button', { name: 'Complete' }).click();
  await wrapUp.waitFor({ state: 'detached' });
  assert.equal(engine.tasks.get(task.sid)!.assignmentStatus, 'completed');
  assert.equal(engine.tasks.get(task.sid)!.attributes['disposition'], 'Transferred');

  // ── Meera transfers it WARM back: Ravi's card says it is a transfer, from Meera. ──
  await reservation.task.transfer(ravi, { mode: 'WARM' });
  const back = page.getByRole('alertdialog', { name: 'Incoming chat transfer: Dana' });
  await back.waitFor();
  await back.getByText('Transferred by Meera').waitFor();
  await assertAccessible(page, 'agent desktop, an incoming transfer');
  await shot('agent-transfer-incoming');
  const failed = next(reservation.task.transfers.outgoing as unknown as NodeJS.EventEmitter, 'failed');
  await back.getByRole('button', { name: 'Reject' }).click();
  await back.waitFor({ state: 'detached' });
  await failed;
  await reservation.task.wrapUp({ reason: 'done' });
  await reservation.task.complete('done');
  await meeraGoes('Unavailable');
});

test('the dial pad creates an outbound voice task with outbound_to and the chosen caller ID, and the desktop answers it by conference at once: the agent\'s phone, then the customer; hang up, wrap up, complete', async () => {
  const opener = page.getByRole('button', { name: 'Dial a number' });
  await opener.click();
  const dialog = page.getByRole('dialog', { name: 'Dial a number' });
  await dialog.waitFor();
  const field = dialog.getByLabel('Number to call');
  assert.equal(await page.evaluate('document.activeElement?.getAttribute("type")'), 'tel', 'focus in the number field');
  // Keypad, then typing (in the field, and on a key), then backspace.
  const keypad = dialog.getByRole('group', { name: 'Keypad' });
  await keypad.getByRole('button', { name: '+', exact: true }).click();
  await keypad.getByRole('button', { name: '1', exact: true }).click();
  await page.keyboard.type('415555');
  await field.press('End');
  await field.pressSequentially('0-12');
  await keypad.getByRole('button', { name: '3', exact: true }).focus();
  await page.keyboard.press('9');
  await keypad.getByRole('button', { name: 'Delete the last digit' }).click();
  await keypad.getByRole('button', { name: '3', exact: true }).click();
  assert.equal(await field.inputValue(), '+14155550123');
  const callerId = dialog.getByLabel('Caller ID');
  await page.waitForFunction(`document.querySelector('dialog select')?.options.length > 0`);
  assert.equal(await callerId.inputValue(), DEMO_NUMBER);
  assert.deepEqual(await callerId.locator('option').allInnerTexts(), [`Demo line (${DEMO_NUMBER})`]);
  await dialog.getByRole('button', { name: 'Call' }).waitFor();
  await page.waitForFunction(`!document.querySelector('dialog button[type=submit]')?.disabled`);
  await assertAccessible(page, 'agent desktop, the dial pad');
  await shot('agent-dialpad');
  // Escape closes it (the number is forgotten), focus back on the opener.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Dial a number');
  await opener.click();
  await dialog.getByLabel('Number to call').fill('+1 (415) 555-0123');
  assert.equal(await dialog.getByLabel('Number to call').inputValue(), '+14155550123');
  await page.waitForFunction(`!document.querySelector('dialog button[type=submit]')?.disabled`);

  // The conference instruction the desktop sends by itself once the reservation arrives.
  const created = page.waitForRequest((r) => r.url().endsWith('/v1/wschannels') && r.method() === 'POST' && (r.postData() ?? '').includes('outbound'));
  const instructed = page.waitForResponse((r) => r.url().endsWith('/v1/wschannels') && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('conference'));
  network.scriptAgent('+14155550123', ['answer']); // the customer picks up
  await dialog.getByRole('button', { name: 'Call' }).click();
  await dialog.waitFor({ state: 'detached' });
  const answer = await instructed;
  assert.equal(answer.status(), 200, await answer.text());
  const outbound = [...engine.tasks.values()].find((t) => t.attributes['outbound_to'] === '+14155550123');
  assert.ok(outbound !== undefined, 'the outbound task exists');
  assert.equal(outbound.attributes['from'], DEMO_NUMBER);
  assert.equal(outbound.attributes['direction'], 'outbound');
  assert.equal(engine.channelList.find((c) => c.sid === outbound.taskChannelSid)?.uniqueName, 'voice');
  // The SDK sends the workflow and queue the desktop picked: the workspace's first workflow, the
  // first (by name) of Ravi's queues; the server routes the task to Ravi (RoutingTarget) all the same.
  const english = [...engine.queues.values()].find((q) => q.record.friendlyName === 'English')!.record.sid;
  const sent = (await created).postData() ?? '';
  assert.ok(sent.includes(english), `TaskQueueSid ${english} in ${sent}`);
  assert.ok(sent.includes(String(outbound.workflowSid)), `WorkflowSid in ${sent}`);
  assert.equal(outbound.routingTarget, ravi);
  assert.equal(await page.getByRole('alertdialog').count(), 0, 'no ringing card for an outbound call');
  // The conference instruction dials Ravi's phone from the chosen caller ID; once he answers, the
  // reservation is accepted and the customer is dialed into the conference from the same number.
  const reservationSid = outbound.reservationSids[0]!;
  const legTo = (to: string): ReturnType<SimulatedVoiceNetwork['legs']>[number] | undefined => network.legs().find((l) => l.to === to);
  for (let i = 0; i < 20 && engine.reservations.get(reservationSid)?.reservationStatus !== 'accepted'; i++) await advance(1000);
  assert.equal(legTo('+919800000002')?.from, DEMO_NUMBER, 'Ravi\'s phone sees the chosen caller ID');
  assert.equal(engine.reservations.get(reservationSid)?.reservationStatus, 'accepted');
  for (let i = 0; i < 20 && legTo('+14155550123')?.outcome !== 'answered'; i++) await advance(1000);
  const customer = legTo('+14155550123');
  assert.deepEqual([customer?.from, customer?.outcome], [DEMO_NUMBER, 'answered'], 'the customer is dialed from the chosen number and answers');
  assert.equal(await page.getByRole('alertdialog').count(), 0, 'no ringing card at any point');
  // The desktop shows the call with the customer's number and its voice controls; Ravi hangs up
  // (his leg leaves the conference), the task goes to wrap-up, he completes it.
  const canvas = page.getByRole('article', { name: `Task ${outbound.sid}` });
  await canvas.getByRole('heading', { name: /\+14155550123/ }).waitFor();
  const kicked = page.waitForResponse((r) => r.url().endsWith('/v1/wschannels') && (r.request().postData() ?? '').includes('KickWorkerParticipant'));
  await canvas.getByRole('button', { name: 'Hang up' }).click();
  assert.equal((await kicked).status(), 200);
  for (let i = 0; i < 5 && engine.tasks.get(outbound.sid)?.assignmentStatus !== 'wrapping'; i++) await advance(1000);
  assert.equal(engine.tasks.get(outbound.sid)?.assignmentStatus, 'wrapping');
  const wrapUp = canvas.getByRole('form', { name: 'Wrap-up' });
  await wrapUp.waitFor();
  await wrapUp.getByRole('button', { name: 'Complete' }).click();
  await canvas.waitFor({ state: 'detached' });
  assert.equal(engine.tasks.get(outbound.sid)?.assignmentStatus, 'completed');

  // A number the server cannot dial (not E.164): the conference instruction is refused, the desktop
  // says so and cancels the task, so that its reservation does not time out and take Ravi out of
  // routing; Ravi's phone never rings.
  const legsBefore = network.legs().length;
  await opener.click();
  await dialog.getByLabel('Number to call').fill('5550199');
  await page.waitForFunction(`!document.querySelector('dialog button[type=submit]')?.disabled`);
  const canceled = page.waitForResponse((r) => /\/v1\/Workspaces\/WS\w+\/Tasks\/WT\w+$/.test(r.url()) && r.request().method() === 'POST');
  await dialog.getByRole('button', { name: 'Call' }).click();
  await page.getByRole('alert').filter({ hasText: 'The call to 5550199 could not be placed' }).waitFor();
  assert.equal((await canceled).status(), 200);
  const bad = [...engine.tasks.values()].find((t) => t.attributes['outbound_to'] === '5550199');
  assert.equal(bad?.assignmentStatus, 'canceled');
  assert.equal(network.legs().length, legsBefore, 'no leg was placed');
  assert.equal(engine.workers.get(ravi)?.activityName, 'Available');
});
