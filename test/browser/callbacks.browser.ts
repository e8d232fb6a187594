/**
 * The supervisor's callbacks panel in a real browser (issue 15: "callbacks waiting and their
 * ECBT"): with every agent offline, two callbacks registered through the callbacks API wait at
 * their call target, and the console lists them with the target's offer; cancelling one through
 * the API takes it off the list. Real server on 127.0.0.1 with the callbacks service, Debian's
 * Chromium through playwright-core.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startCbHarness, type CbHarness } from '../callbacks-api/harness.ts';
import { launchChromium } from './demo-center.ts';

let h: CbHarness;
let browser: Browser;

before(async () => {
  h = await startCbHarness({ available: false });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

test('callbacks waiting are listed under their call target, and leave the list when cancelled', async () => {
  const target = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid, FriendlyName: 'Support line' });
  assert.equal(target.status, 201, JSON.stringify(target.body));
  const registered: string[] = [];
  for (const number of ['+14155550101', '+14155550102']) {
    const cb = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${target.body.sid}/Callbacks`, { PhoneNumber: number });
    assert.equal(cb.status, 201, JSON.stringify(cb.body));
    registered.push(cb.body.sid);
  }

  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await page.goto(`${h.base}/console/`);
  await page.getByLabel('Account SID or API key SID').fill(h.account.sid);
  await page.getByLabel('Auth token or secret').fill(h.account.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();

  await page.locator('tr[data-target="Support line"] [data-col="pending"]', { hasText: '2' }).waitFor();
  const waiting = page.getByRole('table', { name: 'Callbacks waiting' });
  for (const number of ['+14155550101', '+14155550102']) await waiting.getByRole('rowheader', { name: number }).waitFor();

  const cancel = await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${registered[0]}`, { Status: 'canceled' });
  assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
  await page.locator('tr[data-target="Support line"] [data-col="pending"]', { hasText: '1' }).waitFor();
  await waiting.getByRole('rowheader', { name: '+14155550101' }).waitFor({ state: 'detached' });
  await page.close();
});
