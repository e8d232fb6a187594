/**
 * `switchboard serve --demo` as a newcomer runs it (README "Try it"): a real child process on a
 * fresh data directory prints the account's credentials and where to watch, serves the console at
 * /console, and has set up the demo center (workspace, agents in teams, the demo number); a
 * restart on the same data directory reuses the account and the workspace and says which SID to
 * sign in with. Nothing here waits on the demo's timers: only on what the server prints.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import twilio from 'twilio';
import { startServe, type ServeChild } from '../support/serve-child.ts';

/** Resolves with stdout once it matches `pattern` (the demo's lines follow the "serving" line). */
function printed(server: ServeChild, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (pattern.test(server.out())) resolve(server.out());
    };
    server.child.stdout?.on('data', check);
    void server.exit.then(() => reject(new Error(`the server exited: ${server.out()}${server.err()}`)));
    check();
  });
}

async function stop(server: ServeChild): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exit;
}

test('serve --demo: credentials and where to watch, the console served, the demo center set up; a restart reuses them', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-demo-serve-'));
  const first = await startServe(dataDir, { firstStart: true, args: ['--demo'] });
  let workspaceSid: string;
  try {
    const out = await printed(first, /Watch it at .*\n/);
    const { sid, token } = first.credentials!;
    assert.match(out, new RegExp(`Watch it at ${first.base}/console \\(sign in with Account SID ${sid} and the auth token above\\)`));
    workspaceSid = /Demo: workspace (WS[0-9a-f]{32})/.exec(out)?.[1] as string;
    assert.ok(workspaceSid !== undefined, out);

    const page = await fetch(`${first.base}/console/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">/);

    const client = twilio(sid, token);
    client.taskrouter.baseUrl = first.base;
    const ws = client.taskrouter.v1.workspaces(workspaceSid);
    assert.equal((await ws.fetch()).friendlyName, 'Switchboard demo');
    const agents = (await ws.workers.list()).map((w) => `${w.friendlyName}:${JSON.parse(w.attributes).team}`).sort();
    assert.deepEqual(agents, ['Asha:Mumbai', 'Ben:London', 'Meera:London', 'Ravi:Mumbai']);
    const numbers = await (await fetch(`${first.base}/v1/Workspaces/${workspaceSid}/PhoneNumbers`, { headers: { authorization: `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}` } })).json() as { phone_numbers: Array<{ phone_number: string }> };
    assert.deepEqual(numbers.phone_numbers.map((n) => n.phone_number), ['+18005550100']);
  } finally {
    await stop(first);
  }

  const again = await startServe(dataDir, { firstStart: false, args: ['--demo'] });
  try {
    const out = await printed(again, /Watch it at .*\n/);
    assert.equal(again.credentials, null, 'no new account');
    assert.match(out, new RegExp(`Demo: workspace ${workspaceSid}`));
    assert.match(out, new RegExp(`sign in with Account SID ${first.credentials!.sid} and the auth token printed when this data directory was first used`));
  } finally {
    await stop(again);
  }
});
