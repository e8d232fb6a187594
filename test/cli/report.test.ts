/**
 * `switchboard report` (issue 14 item 4): from a data directory written by a real server run, the
 * HTML page is self-contained and shows the figures of an analytics projector fed the same stored
 * events; argument errors are one clear line; and the server source maps the `/Analytics/…`
 * routes' JSON (Twilio paging, Basic auth) to the same report, against a fake server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AnalyticsProjector } from '../../src/analytics/projector.ts';
import { runReport } from '../../src/cli/report-command.ts';
import { formatCount, formatDuration, formatPercent } from '../../src/sim/html.ts';
import { ReportSourceError } from '../../src/sim/report-sources.ts';
import { PostgresStore } from '../../src/store/postgres-store.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { startHarness } from '../api/helpers.ts';
import { serveStoreArgs, TEST_DATABASE_URL, testSchema, testStoreOptions } from '../support/store.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const WS = `WS${'0'.repeat(32)}`;

/** Every `src=` or `href=` that leaves the page (fragment links inside the SVGs stay in it). */
function externalRefs(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)\s*=\s*["']?(?!#)([^"'\s>]*)/gi)].map((m) => m[0]);
}

/** The `data-value` of a headline card, or undefined. */
function card(html: string, id: string): string | undefined {
  return new RegExp(`data-kpi="${id}" data-value="([^"]*)"`).exec(html)?.[1];
}

/** The text of the cells of the row with `attr`, tags stripped. */
function rowCells(html: string, table: string, attr: string): string[] {
  const t = new RegExp(`<table[^>]*id="${table}"[^>]*>(.*?)</table>`, 's').exec(html)?.[1] ?? '';
  const row = new RegExp(`<tr ${attr}>(.*?)</tr>`, 's').exec(t)?.[1] ?? '';
  return [...row.matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/gs)].map((m) => (m[1] as string).replace(/<[^>]+>/g, ''));
}

async function openTestStore(dataDir: string): Promise<Store> {
  return TEST_DATABASE_URL === undefined
    ? SqliteStore.open(join(dataDir, 'switchboard.sqlite'), { checkpoint: 'inline' })
    : PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema: testSchema(dataDir) });
}

test('from a data directory written by a server: a self-contained page with the projector\'s figures', async () => {
  // A real runtime and REST API on virtual time: two queues, two agents, calls answered, one abandoned.
  const h = await startHarness();
  const tr = h.client.taskrouter.v1;
  const created = await tr.workspaces.create({ friendlyName: 'Report' });
  const w = tr.workspaces(created.sid);
  const available = (await w.activities.list({ friendlyName: 'Available' }))[0]?.sid as string;
  const sales = await w.taskQueues.create({ friendlyName: 'Sales', targetWorkers: 'skills HAS "sales"' });
  const support = await w.taskQueues.create({ friendlyName: 'Support', targetWorkers: 'skills HAS "support"' });
  const filters = [
    { filter_friendly_name: 'sales', expression: 'type == "sales"', targets: [{ queue: sales.sid }] },
    { filter_friendly_name: 'support', expression: 'type == "support"', targets: [{ queue: support.sid }] },
  ];
  const workflow = await w.workflows.create({ friendlyName: 'Main', configuration: JSON.stringify({ task_routing: { filters } }) });
  await w.workers.create({ friendlyName: 'Alice', activitySid: available, attributes: JSON.stringify({ skills: ['sales'] }) });
  await w.workers.create({ friendlyName: 'Bob', activitySid: available, attributes: JSON.stringify({ skills: ['support'] }) });
  const call = async (type: string): Promise<{ task: string; reservation: string }> => {
    const task = await w.tasks.create({ workflowSid: workflow.sid, attributes: JSON.stringify({ type, from: '+15551230000' }), taskChannel: 'voice' });
    return { task: task.sid, reservation: (await w.tasks(task.sid).reservations.list())[0]?.sid as string };
  };
  const first = await call('sales');
  await h.clock.advance(5_000);
  await w.tasks(first.task).reservations(first.reservation).update({ reservationStatus: 'accepted' });
  const second = await call('support');
  await h.clock.advance(8_000);
  await w.tasks(second.task).update({ assignmentStatus: 'canceled', reason: 'hangup' });
  const third = await call('support');
  await h.clock.advance(25_000);
  await w.tasks(third.task).reservations(third.reservation).update({ reservationStatus: 'accepted' });
  await h.clock.advance(60_000);
  await w.tasks(first.task).update({ assignmentStatus: 'wrapping' });
  await h.clock.advance(30_000);
  await w.tasks(first.task).update({ assignmentStatus: 'completed' });
  await w.tasks(third.task).update({ assignmentStatus: 'wrapping' });
  await w.tasks(third.task).update({ assignmentStatus: 'completed' });
  await h.clock.advance(10 * 60_000);
  await h.close();

  // What the projector makes of the same stored events.
  const store = await openTestStore(h.dataDir);
  const events = await store.events(created.sid, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 100_000);
  await store.close();
  const projector = new AnalyticsProjector();
  for (const e of events) projector.observe(e);
  projector.flush();
  const from = Date.UTC(2026, 0, 5);
  const to = Date.UTC(2026, 0, 6);
  const k = projector.kpis({ from, to });
  assert.deepEqual([k.counts.offered, k.counts.accepted, k.counts.abandoned], [3, 2, 1], 'the scenario: two answered, one abandoned');

  const out = join(mkdtempSync(join(tmpdir(), 'switchboard-report-')), 'sub', 'report.html');
  const { stdout } = await run(process.execPath, [
    MAIN, 'report', '--data-dir', h.dataDir, ...serveStoreArgs(h.dataDir), '--workspace', created.sid, '--from', '2026-01-05', '--to', '2026-01-05', '--out', out,
  ]);
  assert.match(stdout, /3 offered, 2 answered, 1 abandoned/);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /^<!doctype html>/i);
  assert.deepEqual(externalRefs(html), [], 'self-contained: no external src or href');
  assert.ok(!/<script/i.test(html), 'no scripts');
  assert.equal((html.match(/<svg/g) ?? []).length, 4, 'four charts drawn as inline SVG');

  // Headline figures: the projector's over the period.
  assert.equal(card(html, 'offered'), String(k.counts.offered));
  assert.equal(card(html, 'service-level'), String(k.serviceLevel.value));
  assert.equal(card(html, 'abandonment'), String(k.abandonmentRate));
  assert.equal(card(html, 'asa'), String(k.asaS));
  assert.equal(card(html, 'aht'), String(k.ahtS));
  assert.equal(card(html, 'occupancy'), String(k.occupancy));

  // Per queue: the projector's KPIs for that queue.
  for (const q of [sales, support]) {
    const qk = projector.kpis({ from, to, queue: q.sid });
    const cells = rowCells(html, 'queue-table', `data-queue="${q.sid}"`);
    assert.deepEqual(cells.slice(0, 4), [q.friendlyName, formatCount(qk.counts.offered), formatCount(qk.counts.accepted), formatCount(qk.counts.abandoned)]);
    assert.equal(cells[6], formatPercent(qk.serviceLevel.value ?? NaN));
    assert.equal(cells[8], formatDuration(qk.asaS ?? NaN));
  }
  // Outcomes: the support queue had one call answered, one that left.
  const outcomes = rowCells(html, 'queue-outcome-table', `data-queue="${support.sid}"`);
  assert.deepEqual(outcomes.slice(0, 5), ['Support', '1', '0', '0', '1']);
  // Per agent: invitations and acceptance from the projector.
  for (const a of k.agents) {
    const cells = rowCells(html, 'agent-table', `data-agent="${a.agentSid}"`);
    assert.deepEqual(cells.slice(1, 3), [formatCount(a.invitations), formatCount(a.accepted)]);
    assert.equal(cells[7], formatPercent(a.occupancy ?? NaN));
  }
  // The busiest interval is the one quarter-hour with calls, 09:00–09:15.
  assert.match(html, /<tr data-from="2026-01-05T09:00:00.000Z"><td class="text">2026-01-05 09:00 – 09:15<\/td><td>3<\/td>/);
});

test('argument errors are one clear line and exit code 1', async () => {
  const fail = async (args: string[], message: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<void> => {
    await assert.rejects(run(process.execPath, [MAIN, 'report', ...args], { env }), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, message);
      assert.ok(!/\n\s+at /.test(error.stderr), 'no stack trace');
      return true;
    });
  };
  const period = ['--from', '2026-01-05', '--to', '2026-01-06'];
  const noCredentials = { ...process.env, TWILIO_ACCOUNT_SID: '', TWILIO_AUTH_TOKEN: '' };
  await fail(['--data-dir', '/tmp', ...period], /required option '--workspace <sid>' not specified/);
  await fail(['--workspace', WS, '--data-dir', '/tmp', '--from', '5/1/2026', '--to', '2026-01-06'], /--from "5\/1\/2026" is neither a day as YYYY-MM-DD nor an ISO 8601 instant/);
  await fail(['--workspace', WS, '--data-dir', '/tmp', '--from', '2026-01-06', '--to', '2026-01-05'], /--from 2026-01-06 00:00 is not before --to 2026-01-06 00:00/);
  await fail(['--workspace', WS, ...period], /Give exactly one source: --server URL .* or --data-dir DIR/);
  await fail(['--workspace', WS, '--server', 'http://127.0.0.1:1', '--data-dir', '/tmp', ...period], /Give exactly one source/);
  await fail(['--workspace', WS, '--server', 'http://127.0.0.1:1', ...period], /--server needs the account: --account-sid AC… \(or env TWILIO_ACCOUNT_SID\)/, noCredentials);
  await fail(['--workspace', WS, '--server', 'ftp://x', '--account-sid', 'AC1', '--auth-token', 't', ...period], /--server "ftp:\/\/x" is not an http:\/\/ or https:\/\/ URL/);
  await fail(['--workspace', WS, '--data-dir', '/tmp', '--interval', 'PT5M', ...period], /"PT5M" is not one of PT15M, PT30M, PT1H, P1D/);
  await fail(['--workspace', WS, '--data-dir', '/nonexistent/dir', ...period], /^switchboard report: --data-dir: \/nonexistent\/dir does not exist/, { ...process.env, SWITCHBOARD_DATABASE_URL: '' });
  const empty = mkdtempSync(join(tmpdir(), 'switchboard-report-empty-'));
  await fail(['--workspace', WS, '--data-dir', empty, ...period], /holds no switchboard.sqlite/, { ...process.env, SWITCHBOARD_DATABASE_URL: '' });
});

// ---------------------------------------------------------------------------------------------
// The server source, against a fake server serving the routes' JSON shapes

interface FakeServer {
  base: string;
  requests: { url: string; auth: string | undefined }[];
  close: () => Promise<void>;
}

const ACCOUNT = `AC${'a'.repeat(32)}`;
const TOKEN = 'secret-token';
const Q1 = `WQ${'1'.repeat(32)}`;
const Q2 = `WQ${'2'.repeat(32)}`;
const W1 = `WK${'1'.repeat(32)}`;
const W2 = `WK${'2'.repeat(32)}`;
const DAY = '2026-03-02';
const at = (hhmm: string): string => `${DAY}T${hhmm}:00.000Z`;

function kpiJson(from: string, to: string, c: { offered: number; accepted: number; within: number; abandoned: number }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    from, to, threshold_s: 20, short_abandon_s: 5, attribution: 'qe-open/ae-close',
    offered: c.offered, accepted: c.accepted, accepted_within_t: c.within, abandoned: c.abandoned, abandoned_within_t: 0, short_abandoned: 0, other_failures: c.offered - c.accepted - c.abandoned,
    service_level: c.offered === 0 ? null : c.within / c.offered, service_level_variant: 'short-abandon-exclusion',
    service_levels: { 'answered-only': c.accepted === 0 ? null : c.within / c.accepted },
    asa_s: 12.5, aht_s: 200, handled: c.accepted, abandonment_rate: c.offered === 0 ? null : c.abandoned / c.offered, abandonment_rate_ex_short: null,
    occupancy: 0.4, occupancy_ex_ringing: 0.38, utilization: 0.9, busy_s: 1440, available_idle_s: 2160, staffed_s: 4000, transfer_rate: 0,
    task_queue_sid: null, worker_sid: null, task_channel: null, ...extra,
  };
}

/** Serves the analytics routes of WS for 10:00–11:00 of DAY; queue engagements in two pages. */
async function startFakeServer(): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  const prefix = `/v1/Workspaces/${WS}`;
  const page = (key: string, items: unknown[], next: string | null): unknown => ({ meta: { key, page: 0, page_size: 1000, next_page_url: next, url: 'x' }, [key]: items });
  const qe = (i: number, queue: string, name: string, open: string, outcome: string, wait: number): unknown => ({ id: `WT${i}/0`, task_sid: `WT${i}`, task_queue_sid: queue, queue_name: name, channel: 'voice', open: at(open), close: at(open), outcome, wait_s: wait });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push({ url: req.url ?? '', auth: req.headers.authorization });
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`) return send(401, { code: 20003, message: 'Authenticate', status: 401 });
    const path = url.pathname.slice(prefix.length);
    if (!url.pathname.startsWith(prefix)) return send(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
    switch (path) {
      case '/Analytics/Kpis': {
        const queue = url.searchParams.get('TaskQueueSid');
        if (url.searchParams.get('Interval') === 'PT15M') {
          // Only the intervals with traffic; the report fills in the others.
          return send(200, { kpis: [kpiJson(at('10:00'), at('10:15'), { offered: 3, accepted: 2, within: 2, abandoned: 1 }), kpiJson(at('10:30'), at('10:45'), { offered: 5, accepted: 4, within: 2, abandoned: 0 })], url: req.url });
        }
        if (queue === Q1) return send(200, { kpis: [kpiJson(at('10:00'), at('11:00'), { offered: 6, accepted: 5, within: 4, abandoned: 0 })], url: req.url });
        if (queue === Q2) return send(200, { kpis: [kpiJson(at('10:00'), at('11:00'), { offered: 2, accepted: 1, within: 0, abandoned: 1 })], url: req.url });
        return send(200, { kpis: [kpiJson(at('10:00'), at('11:00'), { offered: 8, accepted: 6, within: 4, abandoned: 1 })], url: req.url });
      }
      case '/Analytics/QueueEngagements':
        if (url.searchParams.get('Page') === '1') return send(200, page('queue_engagements', [qe(3, Q2, 'Support', '10:05', 'Customer Left', 30), qe(4, Q2, 'Support', '10:31', 'Accepted', 40)], null));
        return send(200, page('queue_engagements', [qe(1, Q1, 'Sales', '10:01', 'Accepted', 5), qe(2, Q1, 'Sales', '10:02', 'Moved', 2)], `${prefix}/Analytics/QueueEngagements?Page=1&PageSize=1000`));
      case '/Analytics/InvitationEngagements':
        return send(200, page('invitation_engagements', [{ reservation_sid: 'WR1', worker_sid: W1, outcome: 'Accepted' }, { reservation_sid: 'WR2', worker_sid: W2, outcome: 'Missed' }], null));
      case '/Analytics/AgentEngagements':
        return send(200, page('agent_engagements', [
          { reservation_sid: 'WR1', worker_sid: W1, engagement_s: 100, wrapup_s: 20, handling_s: 120 },
          { reservation_sid: 'WR3', worker_sid: W2, engagement_s: 200, wrapup_s: 40, handling_s: 240 },
          { reservation_sid: 'WR4', worker_sid: W2, engagement_s: null, wrapup_s: null, handling_s: null },
        ], null));
      case '/Analytics/AgentStatus':
        return send(200, page('agent_status', [
          { worker_sid: W1, bucket: at('10:00'), activity: 'Available', seconds: 900 },
          { worker_sid: W1, bucket: at('10:15'), activity: 'Break', seconds: 300 },
          { worker_sid: W2, bucket: at('10:00'), activity: 'Available', seconds: 600 },
        ], null));
      case '/Analytics/AgentKpis':
        return send(200, page('agent_kpis', [
          { worker_sid: W1, invitations: 1, accepted: 1, missed: 0, rejected: 0, revoked: 0, acceptance_rate: 1, reject_rate: 0, occupancy: 0.5 },
          { worker_sid: W2, invitations: 2, accepted: 1, missed: 1, rejected: 0, revoked: 0, acceptance_rate: 0.5, reject_rate: 0, occupancy: 0.25 },
        ], null));
      case '/TaskQueues':
        return send(200, page('task_queues', [{ sid: Q1, friendly_name: 'Sales <EMEA>' }, { sid: Q2, friendly_name: 'Support' }], null));
      case '/Workers':
        return send(200, page('workers', [{ sid: W1, friendly_name: 'Alice' }, { sid: W2, friendly_name: 'Bob' }], null));
      default:
        return send(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

test('from a server: the analytics routes\' JSON becomes the report, paging followed, Basic auth sent', async (t) => {
  const fake = await startFakeServer();
  t.after(() => fake.close());
  const out = join(mkdtempSync(join(tmpdir(), 'switchboard-report-http-')), 'report.html');
  const from = Date.parse(at('10:00'));
  const to = Date.parse(at('11:00'));
  const data = await runReport({ workspace: WS, from, to, out, server: { baseUrl: `${fake.base}/`, accountSid: ACCOUNT, authToken: TOKEN } });

  assert.ok(fake.requests.every((r) => r.auth === `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`), 'every request carries Basic auth');
  const kpiQuery = new URL(fake.requests.find((r) => r.url.includes('Interval='))?.url ?? '', 'http://x').searchParams;
  assert.deepEqual([kpiQuery.get('StartDate'), kpiQuery.get('EndDate'), kpiQuery.get('Interval')], [at('10:00'), at('11:00'), 'PT15M']);
  assert.equal(fake.requests.filter((r) => r.url.includes('/Analytics/QueueEngagements')).length, 2, 'both pages read');

  // KPIs mapped field by field.
  assert.deepEqual(
    [data.total.offered, data.total.accepted, data.total.acceptedWithinT, data.total.abandoned, data.total.otherFailures, data.total.serviceLevel, data.total.serviceLevelVariant, data.total.thresholdS],
    [8, 6, 4, 1, 1, 0.5, 'short-abandon-exclusion', 20],
  );
  assert.deepEqual([data.total.asaS, data.total.ahtS, data.total.occupancy, data.total.utilization, data.total.busyS], [12.5, 200, 0.4, 0.9, 1440]);
  assert.equal(data.total.from, from);
  // Every 15-minute interval of the hour, the two the server sent and two empty ones.
  assert.deepEqual(data.intervals.map((r) => [r.from, r.offered]), [[from, 3], [from + 900_000, 0], [from + 1_800_000, 5], [from + 2_700_000, 0]]);
  assert.deepEqual(data.busiest.map((r) => r.from), [from + 1_800_000, from]);
  // Queues named by /TaskQueues, with their own KPI rows and outcomes ("Customer Left" read as CustomerLeft).
  assert.deepEqual(data.queues.map((q) => [q.queueName, q.kpis.offered, q.outcomes.Accepted, q.outcomes.Moved, q.outcomes.CustomerLeft]), [['Sales <EMEA>', 6, 1, 1, 0], ['Support', 2, 1, 0, 1]]);
  assert.deepEqual([data.invitationOutcomes.Accepted, data.invitationOutcomes.Missed], [1, 1]);
  assert.deepEqual(data.agentEngagements, { count: 3, meanEngagementS: 150, meanWrapupS: 30, meanHandlingS: 180 });
  assert.deepEqual(data.agents.map((a) => [a.name, a.invitations, a.occupancy, a.statusSeconds]), [
    ['Alice', 1, 0.5, { Available: 900, Break: 300 }],
    ['Bob', 2, 0.25, { Available: 600 }],
  ]);
  assert.deepEqual(data.statusSeconds, { Available: 1500, Break: 300 });

  const html = readFileSync(out, 'utf8');
  assert.deepEqual(externalRefs(html), []);
  assert.match(html, /Sales &lt;EMEA&gt;/, 'names escaped');
  assert.equal(card(html, 'offered'), '8');
  assert.equal(card(html, 'service-level'), '0.5');
});

test('from a server: refused credentials and a missing workspace are clear errors', async (t) => {
  const fake = await startFakeServer();
  t.after(() => fake.close());
  const out = join(mkdtempSync(join(tmpdir(), 'switchboard-report-http-')), 'report.html');
  const period = { from: Date.parse(at('10:00')), to: Date.parse(at('11:00')), out };
  await assert.rejects(
    runReport({ workspace: WS, ...period, server: { baseUrl: fake.base, accountSid: ACCOUNT, authToken: 'wrong' } }),
    (e: Error) => e instanceof ReportSourceError && /refused the credentials \(HTTP 401\): check --account-sid and --auth-token/.test(e.message),
  );
  const other = `WS${'f'.repeat(32)}`;
  await assert.rejects(
    runReport({ workspace: other, ...period, server: { baseUrl: fake.base, accountSid: ACCOUNT, authToken: TOKEN } }),
    (e: Error) => e instanceof ReportSourceError && /was not found \(HTTP 404\).*Check --workspace/.test(e.message),
  );
});

// ---------------------------------------------------------------------------------------------
// The server source against the real server: the same page as from the data directory

test('from the real server (REST analytics routes) and from its data directory: the same report, figure for figure', async (t) => {
  const start = Date.UTC(2026, 2, 2, 9, 0);
  const h = await startHarness({ startMs: start });
  t.after(() => h.close());
  const tr = h.client.taskrouter.v1;
  const created = await tr.workspaces.create({ friendlyName: 'Both sources' });
  const w = tr.workspaces(created.sid);
  const activity = async (name: string): Promise<string> => (await w.activities.list({ friendlyName: name }))[0]?.sid as string;
  const [available, unavailable, offline] = [await activity('Available'), await activity('Unavailable'), await activity('Offline')];
  const sales = await w.taskQueues.create({ friendlyName: 'Sales', targetWorkers: 'skills HAS "sales"' });
  const support = await w.taskQueues.create({ friendlyName: 'Support', targetWorkers: 'skills HAS "support"' });
  const filters = [
    { filter_friendly_name: 'sales', expression: 'type == "sales"', targets: [{ queue: sales.sid }] },
    { filter_friendly_name: 'support', expression: 'type == "support"', targets: [{ queue: support.sid }] },
  ];
  const workflow = await w.workflows.create({ friendlyName: 'Main', taskReservationTimeout: 20, configuration: JSON.stringify({ task_routing: { filters } }) });
  const alice = await w.workers.create({ friendlyName: 'Alice', activitySid: available, attributes: JSON.stringify({ skills: ['sales'], team: 'Red' }) });
  const bob = await w.workers.create({ friendlyName: 'Bob', activitySid: available, attributes: JSON.stringify({ skills: ['support'], team: 'Blue' }) });
  const call = async (type: string, from: string): Promise<string> =>
    (await w.tasks.create({ workflowSid: workflow.sid, attributes: JSON.stringify({ type, from }), taskChannel: 'voice' })).sid;
  const pending = async (task: string): Promise<string> => (await w.tasks(task).reservations.list({ reservationStatus: 'pending' }))[0]?.sid as string;
  const finish = async (task: string, talkMs: number, wrapMs: number): Promise<void> => {
    await h.clock.advance(talkMs);
    await w.tasks(task).update({ assignmentStatus: 'wrapping' });
    await h.clock.advance(wrapMs);
    await w.tasks(task).update({ assignmentStatus: 'completed' });
  };

  // 09:05 a sales call, answered after 4 s, 3 min talk, 30 s wrap-up.
  await h.clock.advance(5 * 60_000);
  const c1 = await call('sales', '+15550001');
  await h.clock.advance(4_000);
  await w.tasks(c1).reservations(await pending(c1)).update({ reservationStatus: 'accepted' });
  await finish(c1, 180_000, 30_000);
  // 09:11:34 a support call: Bob lets it ring out (Missed; the timeout makes him Offline), is back a
  // minute later and answers it 6 s after that: answered after 66 s; the talk crosses 09:15.
  await h.clock.advance(3 * 60_000);
  const c2 = await call('support', '+15550002');
  await h.clock.advance(20_000);
  await h.clock.advance(40_000);
  await w.workers(bob.sid).update({ activitySid: available });
  await h.clock.advance(6_000);
  await w.tasks(c2).reservations(await pending(c2)).update({ reservationStatus: 'accepted' });
  // 09:12:40 another support call while Bob talks: the caller hangs up after 25 s.
  const c3 = await call('support', '+15550003');
  await h.clock.advance(25_000);
  await w.tasks(c3).update({ assignmentStatus: 'canceled', reason: 'hangup' });
  await finish(c2, 240_000, 45_000);
  // 09:22:50 a sales call Alice rejects (going Unavailable); it waits, and the caller leaves at 2 s.
  await h.clock.advance(5 * 60_000);
  const c4 = await call('sales', '+15550001');
  await h.clock.advance(1_000);
  await w.tasks(c4).reservations(await pending(c4)).update({ reservationStatus: 'rejected', workerActivitySid: unavailable });
  await h.clock.advance(1_000);
  await w.tasks(c4).update({ assignmentStatus: 'canceled', reason: 'hangup' });
  // 09:37:52 everyone logs off: nothing is open at the end, so both sources see the same closed intervals.
  await h.clock.advance(15 * 60_000);
  await w.workers(alice.sid).update({ activitySid: offline });
  await w.workers(bob.sid).update({ activitySid: offline });
  await h.clock.advance(60_000);

  const from = start;
  const to = start + 3_600_000;
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-report-both-'));
  const viaServer = await runReport({ workspace: created.sid, from, to, out: join(dir, 'server.html'), server: { baseUrl: h.base, accountSid: h.account.sid, authToken: h.account.secret } });
  const viaDir = await runReport({ workspace: created.sid, from, to, out: join(dir, 'dir.html'), store: { ...testStoreOptions(h.dataDir), dataDir: h.dataDir } });

  // The scenario, as both see it: 4 offered, 2 answered (4 s and 66 s), 2 abandoned (25 s and 2 s, one short).
  assert.deepEqual(
    [viaServer.total.offered, viaServer.total.accepted, viaServer.total.acceptedWithinT, viaServer.total.abandoned, viaServer.total.shortAbandoned, viaServer.total.asaS],
    [4, 2, 1, 2, 1, 35],
  );
  assert.deepEqual(viaServer.invitationOutcomes, { Accepted: 2, Rejected: 1, Missed: 1, Revoked: 0, Failed: 0 });
  assert.deepEqual(viaServer.intervals.map((r) => r.offered), [3, 1, 0, 0]);
  assert.deepEqual(viaServer.agents.map((a) => [a.name, a.invitations, a.accepted]), [['Alice', 2, 1], ['Bob', 2, 1]]);
  assert.ok((viaServer.total.occupancy ?? 0) > 0 && (viaServer.agents[1]?.statusSeconds['Available'] ?? 0) > 0);
  assert.equal(viaServer.source, `server ${h.base}`);

  // Every figure equal, exactly (floats included), whichever the source; so is the page but for the source's name.
  const { source: _s, ...server } = viaServer;
  const { source: _d, ...stored } = viaDir;
  assert.deepEqual(server, stored);
  const page = (file: string, label: string): string => readFileSync(join(dir, file), 'utf8').replaceAll(label, 'SOURCE');
  assert.equal(page('server.html', viaServer.source), page('dir.html', viaDir.source));
});
