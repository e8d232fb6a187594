/**
 * SIGKILL and restart keep the state timers (issue 13, "What it must show"; DESIGN.md rule 2):
 * `switchboard serve` runs as a child process on the wall clock, so the timers are real — PT1M,
 * the shortest inactive timer Twilio allows — and this test takes a little over a minute. Two
 * conversations are created a few seconds apart, the server is SIGKILLed ten seconds in and
 * started again on the same data dir; each goes inactive (Reason TIMER) a minute after its own
 * last activity — its remaining time kept — and a third, whose timer was turned off, stays active.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import twilio from 'twilio';
import { killServe, sleep, startServe } from '../support/serve-child.ts';

test('SIGKILL with running inactive timers: after restart each fires a minute after its conversation’s last activity', { timeout: 180_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-convcrash-'));
  let server = await startServe(dataDir, { firstStart: true });
  try {
    const { sid, token } = server.credentials!;
    const clientOf = (base: string) => {
      const c = twilio(sid, token);
      c.conversations.baseUrl = base;
      return c;
    };
    let client = clientOf(server.base);
    const a = await client.conversations.v1.conversations.create({ friendlyName: 'A', state: 'active', 'timers.inactive': 'PT1M' });
    const off = await client.conversations.v1.conversations.create({ friendlyName: 'off', state: 'active', 'timers.inactive': 'PT1M' });
    await client.conversations.v1.conversations(off.sid).update({ 'timers.inactive': 'PT0S' });
    await sleep(4_000);
    const b = await client.conversations.v1.conversations.create({ friendlyName: 'B', state: 'active', 'timers.inactive': 'PT1M' });
    const bMessage = await client.conversations.v1.conversations(b.sid).messages.create({ author: 'ana', body: 'restarts B' });
    const dueA = Date.parse(String((await client.conversations.v1.conversations(a.sid).fetch()).timers['date_inactive']));
    const dueB = Date.parse(String((await client.conversations.v1.conversations(b.sid).fetch()).timers['date_inactive']));
    assert.equal(dueB - bMessage.dateCreated.getTime(), 60_000);
    await sleep(6_000);
    await killServe(server);
    server = await startServe(dataDir, { firstStart: false });
    client = clientOf(server.base);
    // The restarted server shows the same deadlines (whole seconds on the wire).
    assert.equal(Date.parse(String((await client.conversations.v1.conversations(a.sid).fetch()).timers['date_inactive'])), dueA);
    assert.equal(Date.parse(String((await client.conversations.v1.conversations(b.sid).fetch()).timers['date_inactive'])), dueB);
    const wentInactive = new Map<string, number>();
    while (wentInactive.size < 2 && Date.now() < dueB + 15_000) {
      for (const c of [a, b]) {
        if (wentInactive.has(c.sid)) continue;
        const now = await client.conversations.v1.conversations(c.sid).fetch();
        if (now.state === 'inactive') wentInactive.set(c.sid, now.dateUpdated.getTime());
        else assert.ok(Date.now() < (c.sid === a.sid ? dueA : dueB) + 2_000, `${c.friendlyName} still ${now.state} 2 s after its deadline`);
      }
      await sleep(250);
    }
    // date_updated is the transition's instant (whole seconds on the wire): the deadline itself.
    assert.equal(wentInactive.get(a.sid), Math.floor(dueA / 1000) * 1000, 'A went inactive at its deadline');
    assert.equal(wentInactive.get(b.sid), Math.floor(dueB / 1000) * 1000, 'B went inactive at its deadline');
    assert.equal((await client.conversations.v1.conversations(off.sid).fetch()).state, 'active', 'PT0S survived the crash');
  } finally {
    if (server.child.exitCode === null) await killServe(server);
  }
});
