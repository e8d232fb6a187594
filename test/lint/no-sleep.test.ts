/**
 * Guard (issue 10 item 3): "Time in server tests comes from the injected scheduler: a test that
 * sleeps on the wall clock to wait for a timer is a defect." This scans every test file (test/**
 * and src/**\/*.test.ts) for fixed wall-clock sleeps — `await sleep(`/`await delay(`, a Promise
 * wrapped around `setTimeout` as a sleep, `node:timers/promises` — and fails on any outside the
 * allow-list below.
 *
 * What to do instead: a wait for one of our timers (reservation timeout, TTL, retry, snapshot …)
 * runs on a VirtualScheduler (`await scheduler.advance(ms)`); a wait for real I/O resolves on the
 * event (e.g. `rx.waitFor`, test/webhooks/helpers.ts); "nothing else arrives" is
 * `scheduler.settle()`, which returns once nothing tracked is in flight.
 *
 * The allow-list holds what is real time by nature, each file with the exact number of sleep sites
 * it may have and why: a new sleep in an allowed file fails too, and so does an entry that no
 * longer matches (remove it when the sleep goes).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SELF = relative(ROOT, fileURLToPath(import.meta.url));

/** File (relative to the repository) → allowed sleep sites and the one-line reason. */
const ALLOWED: Record<string, { sites: number; reason: string }> = {
  'test/support/serve-child.ts': { sites: 1, reason: '`sleep()` for the tests that drive `switchboard serve` as a child process, which runs on the wall clock' },
  'test/crash/crash.test.ts': { sites: 3, reason: 'SIGKILL at a seeded random moment under load (the crash instant is the stimulus), then polls the restarted child until its real reservation timer fires and its event is stored' },
  'test/callbacks-api/crash.test.ts': { sites: 3, reason: "child process on the wall clock: registers B 3.5 s into A's first ring (the stimulus), polls the child until both callbacks reach the states under test" },
  'test/conversations/crash.test.ts': { sites: 3, reason: 'the server is a child process on the wall clock with real PT1M timers: B is created 4 s after A and the SIGKILL comes 6 s later (the stimulus), then polls the restarted child until both timers fire' },
  'test/voice/crash.test.ts': { sites: 1, reason: 'the server is a child process on the wall clock: polls it (and the fake Twilio it calls) until the leg is requested and the reservation accepted' },
  'test/runtime/scheduler.test.ts': { sites: 1, reason: 'simulates tracked I/O that takes 20 ms of real time: that virtual time waits for it is what is tested' },
  'test/store/outbox-marks.test.ts': { sites: 2, reason: "the store's done-mark flush is a real setTimeout (the store has no scheduler yet): waits 5 x OUTBOX_MARK_DELAY_MS for it" },
  'test/store/contract.test.ts': { sites: 2, reason: "the store's done-mark flush is a real setTimeout (the store has no scheduler yet): waits 5 x OUTBOX_MARK_DELAY_MS for it" },
  'test/store/checkpoint.test.ts': { sites: 3, reason: 'the checkpointer is a worker thread that reports no event the test can await: polls its counter, and gives inline mode as long' },
  'test/lint/boundaries.test.ts': { sites: 1, reason: 'a forbidden import inside a code snippet (a string) the lint rule must refuse: linted, never run' },
  'test/store/durability.test.ts': { sites: 1, reason: 'after close(), gives an fsync still on libuv\'s pool (no hook) the time to answer a second time, which it must not' },
};

/** The kinds of sleep the guard knows; each match in a line is one site. */
const PATTERNS: { name: string; re: RegExp }[] = [
  { name: 'await sleep(…) / delay(…)', re: /\bawait\s+(?:sleep|delay)\s*\(/g },
  { name: 'a Promise around setTimeout as a sleep', re: /new\s+Promise\s*(?:<[^>]*>)?\s*\(\s*\(?\s*(\w+)\s*\)?\s*=>\s*\{?\s*setTimeout\s*\(\s*\1\s*,/g },
  { name: 'node:timers/promises', re: /from\s+['"](?:node:)?timers\/promises['"]/g },
  { name: 'await setTimeout(…)', re: /\bawait\s+setTimeout\s*\(/g },
];

/** The sleep sites in `source`: line number (1-based), the pattern's name and the line. */
function sleepSites(source: string): { line: number; kind: string; text: string }[] {
  const sites: { line: number; kind: string; text: string }[] = [];
  source.split('\n').forEach((text, i) => {
    const code = text.replace(/^\s*(\/\/|\*).*$/, ''); // whole-line comments do not count
    for (const { name, re } of PATTERNS) for (const _ of code.matchAll(re)) sites.push({ line: i + 1, kind: name, text: text.trim() });
  });
  return sites;
}

function testFiles(dir: string, underTest: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...testFiles(path, underTest));
    else if (underTest ? /\.ts$/.test(entry.name) : /\.test\.ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

test('the guard recognises the sleeps it is meant to catch, and not a delayed reply or a failure timeout', () => {
  const caught = [
    'await sleep(200);',
    'await delay(50)',
    'await new Promise((r) => setTimeout(r, 200)); // anything else would have arrived by now',
    'while (n < 2) await new Promise(resolve => setTimeout(resolve, 20));',
    'const pause = (ms: number): Promise<void> => new Promise<void>((done) => { setTimeout(done, ms); });',
    "import { setTimeout as wait } from 'node:timers/promises';",
    'await setTimeout(100);',
  ];
  for (const line of caught) assert.equal(sleepSites(line).length, 1, line);
  const fine = [
    'setTimeout(() => res.writeHead(204).end(), 1); // the receiver answers late',
    'const failAfter = setTimeout(() => reject(new Error("timed out")), ms);',
    'await scheduler.advance(1_000);',
    'await h.scheduler.settle();',
    '// await sleep(100) in a comment',
    ' * await new Promise((r) => setTimeout(r, 5)) in a doc comment',
  ];
  for (const line of fine) assert.deepEqual(sleepSites(line), [], line);
});

test('no test sleeps on the wall clock outside the allow-list, and every allow-list entry is exact', () => {
  const files = [...testFiles('test', true), ...testFiles('src', false)].filter((f) => f !== SELF);
  assert.ok(files.length > 50, `found the test files (${files.length})`);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const sites = sleepSites(readFileSync(join(ROOT, file), 'utf8'));
    const allowed = ALLOWED[file];
    if (allowed !== undefined) seen.add(file);
    if (sites.length === (allowed?.sites ?? 0)) continue;
    const where = sites.map((s) => `  ${file}:${s.line} (${s.kind}): ${s.text}`).join('\n');
    problems.push(
      allowed === undefined
        ? `${file}: ${sites.length} wall-clock sleep(s) — run the timer on a VirtualScheduler, or wait on the event:\n${where}`
        : `${file}: ${sites.length} sleep site(s), the allow-list says ${allowed.sites} (${allowed.reason}) — update the entry only if the new count is real time by nature:\n${where}`,
    );
  }
  for (const file of Object.keys(ALLOWED)) if (!seen.has(file)) problems.push(`${file}: allow-listed but not found (remove the entry)`);
  assert.deepEqual(problems, [], problems.join('\n'));
});
