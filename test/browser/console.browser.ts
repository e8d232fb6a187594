/**
 * The web console in a real browser (issue 15: browser tests with playwright-core in Debian's
 * Chromium, `npm run test:browser`): a supervisor signs in, sees the queues table count a new task
 * waiting and its agents by state (available, on a task, away, offline), filters agents by team,
 * moves an agent to Offline (checked through the API) and completes a task left in wrap-up; the
 * admin view shows a workflow's configuration error beside it; the Agent tab connects as an agent
 * whose callback task shows the customer's stored context. The server is the real HTTP app on
 * 127.0.0.1 over a real SQLite store; the console is the Vite build in web/dist; the supervisor
 * view's updates come over the supervisor socket.
 *
 * SWITCHBOARD_SCREENSHOTS=1 also writes the screenshots of docs/console.md (docs/console/*.png).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { CONSOLE_DIST } from '../../src/api/routes/console.ts';
import { startHarness, type Harness } from '../api/helpers.ts';
import { assertAccessible } from './axe.ts';
import { launchChromium } from './demo-center.ts';

const SHOTS = process.env['SWITCHBOARD_SCREENSHOTS'] === '1' ? new URL('../../docs/console/', import.meta.url) : null;

let h: Harness;
let browser: Browser;
let ws: { sid: string; queueSid: string; workflowSid: string; offline: string; available: string; alice: string; bob: string };

before(async () => {
  assert.ok(existsSync(`${CONSOLE_DIST}/index.html`), 'the console is built (npm run build:console)');
  // The browser shows "time in activity" against its own clock: start the virtual one there too.
  h = await startHarness({ startMs: Date.now() });
  const tr = h.client.taskrouter.v1;
  const w = await tr.workspaces.create({ friendlyName: 'Bank' });
  const activities = await tr.workspaces(w.sid).activities.list();
  const sidOf = (name: string): string => activities.find((a) => a.friendlyName === name)!.sid;
  const queue = await tr.workspaces(w.sid).taskQueues.create({ friendlyName: 'Cards', targetWorkers: '"cards" IN skills' });
  const workflow = await tr.workspaces(w.sid).workflows.create({ friendlyName: 'Inbound', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: queue.sid } } }) });
  const alice = await tr.workspaces(w.sid).workers.create({ friendlyName: 'Alice', attributes: JSON.stringify({ skills: ['cards'], team: 'blue' }) });
  const bob = await tr.workspaces(w.sid).workers.create({ friendlyName: 'Bob', attributes: JSON.stringify({ skills: ['cards'], team: 'green' }) });
  ws = { sid: w.sid, queueSid: queue.sid, workflowSid: workflow.sid, offline: sidOf('Offline'), available: sidOf('Available'), alice: alice.sid, bob: bob.sid };
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

async function signIn(page: Page): Promise<void> {
  await page.goto(`${h.base}/console/`);
  await page.getByLabel('Account SID or API key SID').waitFor();
  await assertAccessible(page, 'sign-in');
  await page.getByLabel('Account SID or API key SID').fill(h.account.sid);
  await page.getByLabel('Auth token or secret').fill(h.account.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS === null) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname });
}

test('a wrong token is refused at sign-in with a clear message', async () => {
  const page = await browser.newPage();
  await page.goto(`${h.base}/console/`);
  await page.getByLabel('Account SID or API key SID').fill(h.account.sid);
  await page.getByLabel('Auth token or secret').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'The SID or the token is wrong.' }).waitFor();
  await page.close();
});

test('supervisor: the queue counts a new waiting task and its agents by state, agents filter by team, an agent is moved to Offline, a task left in wrap-up is completed', async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await signIn(page);
  const cards = page.locator('tr[data-queue="Cards"]');
  await cards.waitFor();
  // The view is live (the supervisor socket): from here on, changes show within a second, while
  // the fallback poll would take 30 s — every wait below would time out without the socket.
  await page.getByRole('status', { name: 'Updates' }).filter({ hasText: 'Live' }).waitFor();
  assert.equal(await cards.locator('[data-col="waiting"]').textContent(), '0');
  const agents = async (): Promise<string> => (await Promise.all(['available', 'busy', 'away', 'offline'].map((c) => cards.locator(`[data-col="${c}"]`).textContent()))).join(' ');
  assert.equal(await agents(), '0 0 0 2', 'both agents of the queue are offline');

  // Every worker is Offline (the default activity): a new task waits in the queue.
  await h.client.taskrouter.v1.workspaces(ws.sid).tasks.create({ workflowSid: ws.workflowSid, attributes: JSON.stringify({ from: '+15551230000' }) });
  await page.locator('tr[data-queue="Cards"] [data-col="waiting"]', { hasText: '1' }).waitFor();
  // Nobody is staffed: no wait can be estimated.
  assert.equal(await cards.locator('[data-col="ewt"]').textContent(), '—');

  // Alice goes Available: the task is reserved for her and becomes active once accepted.
  await h.client.taskrouter.v1.workspaces(ws.sid).workers(ws.alice).update({ activitySid: ws.available });
  await page.getByLabel('Activity of Alice').locator(`option[value="${ws.available}"]`).waitFor({ state: 'attached' });
  await page.waitForFunction(`document.querySelector('select[aria-label="Activity of Alice"]')?.value === '${ws.available}'`);

  // She accepts at once: the queue shows it active, and today's service level is 100 % (one task, answered within 20 s).
  const [reservation] = await h.client.taskrouter.v1.workspaces(ws.sid).workers(ws.alice).reservations.list();
  await h.client.taskrouter.v1.workspaces(ws.sid).workers(ws.alice).reservations(reservation!.sid).update({ reservationStatus: 'accepted' });
  await page.locator('tr[data-queue="Cards"] [data-col="active"]', { hasText: '1' }).waitFor();
  await page.locator('tr[data-queue="Cards"] [data-col="service-level"]', { hasText: '100.0 %' }).waitFor();
  // Alice is staffed now, busy on the default channel and free for a voice call (the workspace
  // multitasks): a voice caller entering now is answered at once (Analytics/WaitTimes).
  await page.locator('tr[data-queue="Cards"] [data-col="ewt"]', { hasText: '0:00' }).waitFor();
  assert.equal(await agents(), '0 1 0 1', 'Alice is on a task, Bob offline');
  await page.getByRole('img', { name: 'Today: 1 tasks offered, 0 abandoned' }).waitFor();
  await assertAccessible(page, 'supervisor');
  await shot(page, 'supervisor');

  // The team filter shows only the green team.
  await page.getByLabel('Team').selectOption('green');
  await page.locator('tr[data-worker="Alice"]').waitFor({ state: 'detached' });
  assert.equal(await page.locator('tr[data-worker="Bob"]').count(), 1);
  await page.getByLabel('Team').selectOption('');

  // The supervisor moves Alice to Offline; the API agrees.
  await page.getByLabel('Activity of Alice').selectOption(ws.offline);
  await page.getByRole('status').filter({ hasText: 'Alice set to Offline' }).waitFor();
  const alice = await h.client.taskrouter.v1.workspaces(ws.sid).workers(ws.alice).fetch();
  assert.equal(alice.activityName, 'Offline');
  assert.equal(await agents(), '0 1 0 1', 'offline, Alice still holds her task');

  // She leaves the task in wrap-up; the supervisor completes it from the wrap-up table.
  await h.client.taskrouter.v1.workspaces(ws.sid).tasks(reservation!.taskSid).update({ assignmentStatus: 'wrapping' });
  const wrapRow = page.locator('section[aria-labelledby="wrapping-h"] tr', { hasText: '+15551230000' });
  await wrapRow.getByRole('button', { name: 'Complete' }).click();
  await page.getByRole('status').filter({ hasText: `Task ${reservation!.taskSid} completed` }).waitFor();
  assert.equal((await h.client.taskrouter.v1.workspaces(ws.sid).tasks(reservation!.taskSid).fetch()).assignmentStatus, 'completed');
  await page.locator('tr[data-queue="Cards"] [data-col="offline"]', { hasText: '2' }).waitFor();
  assert.equal(await agents(), '0 0 0 2');
  await page.close();
});

test('admin: a workflow naming an unknown queue is refused, the message shown beside it, nothing changed', async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 1100 } });
  await signIn(page);
  await page.getByRole('link', { name: 'Admin' }).click();
  const editor = page.getByLabel(/Inbound/);
  await editor.waitFor();
  const before = await h.client.taskrouter.v1.workspaces(ws.sid).workflows(ws.workflowSid).fetch();
  await editor.fill(JSON.stringify({ task_routing: { filters: [], default_filter: { queue: 'WQ00000000000000000000000000000000' } } }, null, 2));
  await page.getByRole('button', { name: 'Save workflow' }).click();
  const error = page.getByRole('alert').filter({ hasText: 'default_filter.queue' });
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /does not exist/);
  await assertAccessible(page, 'admin, with an error shown');
  await shot(page, 'admin');
  const now = await h.client.taskrouter.v1.workspaces(ws.sid).workflows(ws.workflowSid).fetch();
  assert.equal(now.configuration, before.configuration);

  // The worker list shows both agents with their attributes.
  for (const name of ['Alice', 'Bob']) await page.getByRole('rowheader', { name }).waitFor();

  // An API key: its secret is shown once, and it works as Basic credentials.
  await page.getByText('Add an API key').click();
  const keys = page.getByRole('region', { name: 'API keys' });
  await keys.getByLabel('Name').fill('Agent desktop backend');
  await keys.getByRole('button', { name: 'Create' }).click();
  const secret = await keys.getByRole('status').locator('code').textContent();
  const sid = await keys.getByRole('status').locator('strong').textContent();
  assert.match(sid ?? '', /^SK[0-9a-f]{32}$/);
  await keys.getByRole('rowheader', { name: 'Agent desktop backend' }).waitFor();
  const viaKey = await h.raw('GET', `/v1/Workspaces/${ws.sid}`, { auth: [sid!, secret!] });
  assert.equal(viaKey.status, 200);
  await page.close();
});

test('agent tab: signed in with account credentials, the console mints a worker token and the desktop connects as that agent; a callback\'s task, rejected once and offered again, shows its stored context once accepted', async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await signIn(page);
  await page.getByRole('link', { name: 'Agent' }).click();
  await page.getByLabel('Agent', { exact: true }).selectOption({ label: 'Bob' });
  await page.getByRole('button', { name: 'Start' }).click();
  // Bob's desktop, over the worker SDK: his activity is the server's, and changing it changes the server's.
  await page.getByRole('region', { name: 'Presence' }).getByText('Bob', { exact: true }).waitFor();
  await assertAccessible(page, 'agent desktop, no task');
  await page.getByLabel('Your activity').selectOption({ label: 'Available' });
  await page.waitForFunction(`document.querySelector('.presence select')?.selectedOptions[0]?.textContent === 'Available'`);
  assert.equal((await h.client.taskrouter.v1.workspaces(ws.sid).workers(ws.bob).fetch()).activityName, 'Available');
  assert.equal(h.runtime.keys.list(h.account.sid).filter((k) => k.friendlyName === 'Switchboard console tokens').length, 1, 'signed by the console key');

  // A callback's task (the attributes the callback core writes, src/callbacks/launch.ts) rings;
  // accepted, its canvas shows the context the customer left when asking for the callback.
  const context = { reason: 'card blocked abroad', account_last4: '4417' };
  const task = await h.client.taskrouter.v1.workspaces(ws.sid).tasks.create({
    workflowSid: ws.workflowSid,
    attributes: JSON.stringify({ type: 'callback_return', callback_sid: 'CB00000000000000000000000000000001', from: '+15551239999', context }),
  });
  const card = page.getByRole('alertdialog', { name: /Incoming .*\+15551239999/ });
  // Rejected first: the server has the reservation rejected; Bob, still available, is offered the task again.
  const rejected = page.waitForResponse((r) => r.url().endsWith('/v1/wschannels') && (r.request().postData() ?? '').includes('"ReservationStatus":"rejected"'));
  await card.getByRole('button', { name: 'Reject' }).click();
  assert.equal((await rejected).status(), 200);
  assert.equal((await h.client.taskrouter.v1.workspaces(ws.sid).tasks(task.sid).reservations.list({ reservationStatus: 'rejected' })).length, 1, 'the first offer is rejected');
  await card.getByRole('button', { name: 'Accept' }).click();
  const canvas = page.getByRole('article', { name: `Task ${task.sid}` });
  await canvas.getByRole('heading', { name: 'Callback context' }).waitFor();
  assert.equal(await canvas.locator('dl.attrs').first().innerText().then((t) => t.replace(/\s+/g, ' ').trim()), 'reason card blocked abroad account_last4 4417');
  assert.equal((await h.client.taskrouter.v1.workspaces(ws.sid).tasks(task.sid).fetch()).assignmentStatus, 'assigned');
  await page.close();
});

test('keyboard only: sign in, reach the Admin view and open a form without a mouse', async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${h.base}/console/`);
  await page.getByLabel('Account SID or API key SID').waitFor();
  await page.keyboard.press('Tab'); // the first field
  await page.keyboard.type(h.account.sid);
  await page.keyboard.press('Tab');
  await page.keyboard.type(h.account.secret);
  await page.keyboard.press('Enter'); // submits the form
  await page.getByRole('link', { name: 'Admin' }).waitFor();
  // Tab through the header to the Admin link, then follow it with Enter.
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`document.activeElement?.textContent === 'Admin'`)) break;
  }
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Workflows' }).waitFor();
  // A disclosure opens with the keyboard, and its first field takes focus.
  await page.getByText('Add a worker').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(`document.activeElement?.getAttribute('name')`), 'FriendlyName');
  await page.close();
});
