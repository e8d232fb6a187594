/**
 * The README's quickstart runs as written. The block that starts with `// quickstart.mjs` is taken
 * from README.md, saved as `quickstart.mjs` in a fresh folder whose `node_modules` holds the
 * official `twilio` library, and run with this Node against a real `switchboard serve` on
 * 127.0.0.1 (fresh data dir), with the credentials that server printed on its first start. It
 * fails if the block goes missing, stops parsing (the old CommonJS block with top-level `await`
 * was a SyntaxError), or no longer does what the README says it prints.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import twilio from 'twilio';
import { killServe, startServe, type ServeChild } from '../support/serve-child.ts';

const README = new URL('../../README.md', import.meta.url).pathname;
const NODE_MODULES = new URL('../../node_modules', import.meta.url).pathname;
const MARKER = '// quickstart.mjs';

/**
 * The body of the one fenced code block of `markdown` whose first line is {@link MARKER};
 * throws if there is none or more than one.
 */
function quickstartBlock(markdown: string): string {
  const blocks = [...markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string).filter((b) => b.startsWith(`${MARKER}\n`));
  assert.equal(blocks.length, 1, `README.md must hold exactly one code block starting with "${MARKER}"`);
  return blocks[0] as string;
}

let server: ServeChild;
before(async () => {
  server = await startServe(mkdtempSync(join(tmpdir(), 'switchboard-readme-')), { firstStart: true });
});
after(() => killServe(server));

test('the README quickstart (quickstart.mjs) runs with Node against a real server and does what the README says', async () => {
  const code = quickstartBlock(readFileSync(README, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-quickstart-'));
  symlinkSync(NODE_MODULES, join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'quickstart.mjs'), code);
  const { sid, token } = server.credentials ?? assert.fail('a first start prints the credentials');
  // The environment the README names; no TWILIO_REGION/TWILIO_EDGE (they would rewrite the host).
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], ACCOUNT_SID: sid, AUTH_TOKEN: token, SWITCHBOARD_URL: server.base };
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['quickstart.mjs'], { cwd: dir, env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }),
    );
  });
  assert.equal(run.code, 0, `node quickstart.mjs failed:\n${run.stderr}`);
  const printed = /^task (WT[0-9a-f]{32}) is assigned to Alice \((WK[0-9a-f]{32})\)\n$/.exec(run.stdout);
  assert.ok(printed !== null, `it prints what the README says (got ${JSON.stringify(run.stdout)})`);

  // What it did, as the server has it.
  const client = twilio(sid, token);
  client.taskrouter.baseUrl = server.base;
  const [ws, ...others] = await client.taskrouter.v1.workspaces.list();
  assert.equal(others.length, 0);
  assert.equal(ws?.friendlyName, 'Support');
  const task = await client.taskrouter.v1.workspaces(ws.sid).tasks(printed[1] as string).fetch();
  assert.equal(task.assignmentStatus, 'assigned');
  assert.deepEqual(JSON.parse(task.attributes), { type: 'billing' });
  const [reservation] = await client.taskrouter.v1.workspaces(ws.sid).tasks(task.sid).reservations.list();
  assert.equal(reservation?.workerSid, printed[2]);
  assert.equal(reservation?.reservationStatus, 'accepted');
});
