/**
 * The analytics resources over REST (issue 14 item 3; docs/analytics.md "Over REST"), on a real
 * server on 127.0.0.1 driven by the official `twilio` client in virtual time: a half hour of a
 * small center (tasks accepted, a reservation timed out, one rejected, tasks completed, callers
 * hanging up, a task canceled, activity changes), then every Analytics resource read back and
 * checked against what the scenario implies — the figures below are worked out by hand from the
 * timeline, not copied from output. Filters narrow the rows; CSV parses back to the same rows;
 * bad filters are 400s naming the parameter; a restart on the same data gives the same analytics.
 * Runs on SQLite, and on PostgreSQL with SWITCHBOARD_TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import twilio from 'twilio';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { flatten } from '../../src/api/routes/analytics.ts';
import { Runtime, type NewCredentials } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { queryTestDatabase, testStoreOptions } from '../support/store.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked field by field in the tests
type Row = any;

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
const PERIOD = `StartDate=${encodeURIComponent(at(0))}&EndDate=${encodeURIComponent(at(3600))}`;

interface Server {
  runtime: Runtime;
  app: FastifyInstance;
  base: string;
}

const scheduler = new VirtualScheduler(T0);
const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-analytics-'));
let server: Server;
let account: NewCredentials;
const ids = { ws: '', support: '', sales: '', alice: '', bob: '', tasks: [] as string[], reservations: {} as Record<string, string> };

async function open(): Promise<Server> {
  const runtime = await Runtime.open({ ...testStoreOptions(dataDir), scheduler });
  const app = buildApp({ runtime, clock: () => scheduler.now() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { runtime, app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

async function close(s: Server): Promise<void> {
  await s.app.close();
  await s.runtime.close();
}

/** GET with the account's credentials: status, parsed body (JSON or CSV text) and headers. */
async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Row; text: string; headers: Headers }> {
  const res = await fetch(server.base + path, { headers: { authorization: `Basic ${Buffer.from(`${account.sid}:${account.secret}`).toString('base64')}`, ...headers } });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json');
  return { status: res.status, body: json ? JSON.parse(text) : text, text, headers: res.headers };
}

const A = (resource: string, query = PERIOD): string => `/v1/Workspaces/${ids.ws}/Analytics/${resource}?${query}`;

/** Moves virtual time to T0 + s seconds (firing the timers due on the way). */
async function until(s: number): Promise<void> {
  const ms = T0 + s * 1000 - scheduler.now();
  assert.ok(ms >= 0, `time goes forward (to ${s} s)`);
  if (ms > 0) await scheduler.advance(ms);
}

before(async () => {
  server = await open();
  account = await server.runtime.createAccount('Analytics');
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = server.base;
  const tr = client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: 'Center' });
  ids.ws = ws.sid;
  const w = tr.workspaces(ws.sid);
  const activity = async (name: string): Promise<string> => (await w.activities.list({ friendlyName: name }))[0]?.sid as string;
  const [available, unavailable] = [await activity('Available'), await activity('Unavailable')];
  const support = await w.taskQueues.create({ friendlyName: 'Support', targetWorkers: '1==1' });
  const sales = await w.taskQueues.create({ friendlyName: 'Sales', targetWorkers: '1==1' });
  ids.support = support.sid;
  ids.sales = sales.sid;
  const workflow = await w.workflows.create({
    friendlyName: 'Main',
    taskReservationTimeout: 15,
    configuration: JSON.stringify({ task_routing: { filters: [{ filter_friendly_name: 'Sales', expression: 'type == "sales"', targets: [{ queue: sales.sid }] }], default_filter: { queue: support.sid } } }),
  });
  const alice = await w.workers.create({ friendlyName: 'Alice', activitySid: available, attributes: JSON.stringify({ team: 'Red', full_name: 'Alice A' }) });
  const bob = await w.workers.create({ friendlyName: 'Bob', activitySid: unavailable, attributes: JSON.stringify({ team_name: 'Blue' }) });
  ids.alice = alice.sid;
  ids.bob = bob.sid;
  const task = async (attributes: object, taskChannel = 'default'): Promise<string> => {
    const t = await w.tasks.create({ workflowSid: workflow.sid, attributes: JSON.stringify(attributes), taskChannel });
    ids.tasks.push(t.sid);
    return t.sid;
  };
  const pending = async (taskSid: string, worker: string): Promise<string> => {
    const r = (await w.tasks(taskSid).reservations.list({ reservationStatus: 'pending' }))[0];
    assert.equal(r?.workerSid, worker, 'the reservation goes to the worker the scenario expects');
    return r.sid;
  };
  const setActivity = (worker: string, sid: string) => w.workers(worker).update({ activitySid: sid });

  // 09:00:00 Alice Available, Bob Unavailable (created just now, at T0).
  await until(60);
  const t1 = await task({ customers: { phone: '+15550001' } });
  const r1 = await pending(t1, alice.sid);
  await until(65);
  await w.tasks(t1).reservations(r1).update({ reservationStatus: 'accepted' });
  await until(185);
  await w.tasks(t1).update({ assignmentStatus: 'wrapping' });
  await until(200);
  await w.tasks(t1).update({ assignmentStatus: 'completed', reason: 'done' });

  await until(300);
  const t2 = await task({ from: '+15550002' });
  const r2 = await pending(t2, alice.sid);
  await until(315); // R2 times out; Alice goes to the timeout activity, Offline.
  assert.equal((await w.tasks(t2).reservations(r2).fetch()).reservationStatus, 'timeout');
  assert.equal((await w.workers(alice.sid).fetch()).activityName, 'Offline');
  await until(330);
  await setActivity(bob.sid, available);
  const r3 = await pending(t2, bob.sid);
  await until(335);
  // Rejected with an activity (Unavailable), so that the task is not offered to Bob again.
  await w.tasks(t2).reservations(r3).update({ reservationStatus: 'rejected', workerActivitySid: unavailable });
  await until(360);
  await setActivity(alice.sid, available);
  const r4 = await pending(t2, alice.sid);
  await until(370);
  await w.tasks(t2).reservations(r4).update({ reservationStatus: 'accepted' });
  await until(400);
  await w.tasks(t2).update({ assignmentStatus: 'wrapping' });
  await until(410);
  await w.tasks(t2).update({ assignmentStatus: 'completed', reason: 'done' });
  ids.reservations = { r1, r2, r3, r4 };

  await until(500);
  await setActivity(alice.sid, unavailable);
  await until(600);
  const t3 = await task({ type: 'sales', from: '+15550003' });
  await until(603);
  await w.tasks(t3).update({ assignmentStatus: 'canceled', reason: 'hangup' });
  await until(700);
  const t4 = await task({ from: '+15550004' }, 'chat');
  await until(730);
  await w.tasks(t4).update({ assignmentStatus: 'canceled', reason: 'hangup' });
  await until(800);
  const t5 = await task({ customers: { phone: '+15550001' } });
  await until(808);
  await w.tasks(t5).update({ assignmentStatus: 'canceled', reason: 'spam' });
  await until(900);
  await setActivity(alice.sid, available);
  await until(1800); // queries run at 09:30: open status intervals count up to here
});

after(async () => {
  if (server !== undefined) await close(server);
});

/** Everything the Analytics resources answer for the scenario's hour (JSON), for the restart check. */
async function everything(): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const r of ['Kpis', 'Conversations', 'QueueEngagements', 'InvitationEngagements', 'AgentEngagements', 'AgentStatus', 'Agents', 'AgentKpis', 'Customers']) {
    out[r] = (await get(A(r))).body;
    out[`${r}.csv`] = (await get(A(`${r}.csv`))).text;
  }
  out['Kpis15'] = (await get(A('Kpis', `${PERIOD}&Interval=PT15M`))).body;
  // The restarted server listens on another port: URLs are compared without it.
  return JSON.parse(JSON.stringify(out).replaceAll(server.base, 'BASE'));
}

test('KPIs of the hour: counts, the five service levels, ASA, AHT, abandonment, occupancy, utilization', async () => {
  const res = await get(A('Kpis'));
  assert.equal(res.status, 200);
  assert.equal(res.body.url, `${server.base}/v1/Workspaces/${ids.ws}/Analytics/Kpis`);
  assert.equal(res.body.kpis.length, 1);
  const k = res.body.kpis[0];
  // QEs: T1 Accepted after 5 s, T2 Accepted after 70 s, T3 CustomerLeft after 3 s (a short abandon),
  // T4 CustomerLeft after 30 s, T5 Canceled ('spam') after 8 s.
  const waits = { accepted: [5, 70], abandoned: [3, 30], other: [8] };
  const T = 20;
  const TS = 5;
  const A_ = waits.accepted.length;
  const AT = waits.accepted.filter((w) => w <= T).length;
  const B = waits.abandoned.length;
  const BT = waits.abandoned.filter((w) => w <= T).length;
  const S = waits.abandoned.filter((w) => w <= TS).length;
  const X = waits.other.length;
  const O = A_ + B + X;
  assert.deepEqual(
    [k.from, k.to, k.threshold_s, k.short_abandon_s, k.attribution, k.offered, k.accepted, k.accepted_within_t, k.abandoned, k.abandoned_within_t, k.short_abandoned, k.other_failures],
    [at(0), at(3600), 20, 5, 'qe-open/ae-close', O, A_, AT, B, BT, S, X],
  );
  assert.equal(k.service_level_variant, 'short-abandon-exclusion');
  assert.equal(k.service_level, AT / (A_ + B - S + X));
  assert.deepEqual(k.service_levels, {
    'answered-only': AT / A_,
    'abandons-count-against': AT / (A_ + B),
    'ignore-early-abandons': AT / (A_ + B - BT),
    'early-abandons-succeed': (AT + BT) / (A_ + B),
    'short-abandon-exclusion': AT / (A_ + B - S + X),
  });
  assert.equal(k.asa_s, (5 + 70) / 2);
  // AE1: accept 65, wrap-up 185, complete 200 → 120 + 15; AE2: accept 370, wrap-up 400, complete 410 → 30 + 10.
  assert.equal(k.handled, 2);
  assert.equal(k.aht_s, (135 + 40) / 2);
  assert.equal(k.abandonment_rate, B / O);
  assert.equal(k.abandonment_rate_ex_short, (B - S) / (O - S));
  assert.equal(k.transfer_rate, 0);
  // Busy = ∪ ringing + engaged: Alice [60,200] + [300,315] + [360,410] = 205 s; Bob [330,335] = 5 s.
  // Available: Alice [0,315) + [360,500) + [900,1800) = 1355 s; Bob [330,335) = 5 s (rings all of it).
  // Staffed (not Offline, up to 09:30): Alice 1800 − 45 (Offline 315–360); Bob 1800.
  const busy = 205 + 5;
  const idle = 1355 - 205 + (5 - 5);
  assert.equal(k.busy_s, busy);
  assert.equal(k.available_idle_s, idle);
  assert.equal(k.staffed_s, 1755 + 1800);
  assert.equal(k.occupancy, busy / (busy + idle));
  assert.equal(k.occupancy_ex_ringing, (135 + 40) / (135 + 40 + (1355 - 175) + 5));
  assert.equal(k.utilization, (busy + idle) / (1755 + 1800));
  assert.deepEqual([k.task_queue_sid, k.worker_sid, k.task_channel], [null, null, null]);

  // Another threshold: both accepted waits are within 70 s.
  const k70 = (await get(A('Kpis', `${PERIOD}&Threshold=70&ShortAbandonThreshold=0`))).body.kpis[0];
  assert.deepEqual([k70.threshold_s, k70.short_abandon_s, k70.accepted_within_t, k70.abandoned_within_t, k70.short_abandoned], [70, 0, 2, 2, 0]);
  assert.equal(k70.service_level, 2 / (2 + 2 + 1));

  // Per 15 minutes: four rows; every QE opened in the first; the busy time too.
  const rows = (await get(A('Kpis', `${PERIOD}&Interval=PT15M`))).body.kpis;
  assert.deepEqual(rows.map((r: Row) => [r.from, r.to, r.offered]), [
    [at(0), at(900), O],
    [at(900), at(1800), 0],
    [at(1800), at(2700), 0],
    [at(2700), at(3600), 0],
  ]);
  assert.equal(rows[1].available_idle_s, 900, 'Alice is Available and idle all of 09:15–09:30');
  assert.equal(rows[1].occupancy, 0);
  assert.equal(rows[2].staffed_s, 0, 'nothing counts after the request instant (09:30)');
});

test('agent KPIs: invitations, acceptance, rejects, misses and occupancy per worker', async () => {
  const res = await get(A('AgentKpis'));
  assert.equal(res.status, 200);
  assert.equal(res.body.meta.key, 'agent_kpis');
  const byWorker = new Map(res.body.agent_kpis.map((a: Row) => [a.worker_sid, a]));
  assert.deepEqual(byWorker.get(ids.alice), { worker_sid: ids.alice, invitations: 3, accepted: 2, missed: 1, rejected: 0, revoked: 0, acceptance_rate: 2 / 3, reject_rate: 0, occupancy: 205 / 1355 });
  assert.deepEqual(byWorker.get(ids.bob), { worker_sid: ids.bob, invitations: 1, accepted: 0, missed: 0, rejected: 1, revoked: 0, acceptance_rate: 0, reject_rate: 1, occupancy: 5 / 5 });
});

test('engagements, conversations, customers, agents and status rows', async () => {
  const qe = (await get(A('QueueEngagements'))).body;
  assert.equal(qe.meta.key, 'queue_engagements');
  assert.deepEqual(qe.queue_engagements.map((x: Row) => [x.task_sid, x.task_queue_sid, x.queue_name, x.open, x.close, x.outcome, x.wait_s]), [
    [ids.tasks[0], ids.support, 'Support', at(60), at(65), 'Accepted', 5],
    [ids.tasks[1], ids.support, 'Support', at(300), at(370), 'Accepted', 70],
    [ids.tasks[2], ids.sales, 'Sales', at(600), at(603), 'CustomerLeft', 3],
    [ids.tasks[3], ids.support, 'Support', at(700), at(730), 'CustomerLeft', 30],
    [ids.tasks[4], ids.support, 'Support', at(800), at(808), 'Canceled', 8],
  ]);
  const { r1, r2, r3, r4 } = ids.reservations;
  const ie = (await get(A('InvitationEngagements'))).body.invitation_engagements;
  assert.deepEqual(ie.map((x: Row) => [x.reservation_sid, x.worker_sid, x.outcome, x.invitation_s]), [
    [r1, ids.alice, 'Accepted', 5],
    [r2, ids.alice, 'Missed', 15],
    [r3, ids.bob, 'Rejected', 5],
    [r4, ids.alice, 'Accepted', 10],
  ]);
  const ae = (await get(A('AgentEngagements'))).body.agent_engagements;
  assert.deepEqual(ae.map((x: Row) => [x.reservation_sid, x.worker_sid, x.agent_team, x.accept, x.wrapup, x.close, x.wait_s, x.invitation_s, x.engagement_s, x.wrapup_s, x.handling_s, x.transferred]), [
    [r1, ids.alice, 'Red', at(65), at(185), at(200), 5, 5, 120, 15, 135, false],
    [r4, ids.alice, 'Red', at(370), at(400), at(410), 70, 10, 30, 10, 40, false],
  ]);
  const conv = (await get(A('Conversations'))).body.conversations;
  assert.deepEqual(conv.map((c: Row) => [c.task_sid, c.customer_id, c.channel, c.end_reason, c.duration_s]), [
    [ids.tasks[0], '+15550001', 'default', 'completed', 140],
    [ids.tasks[1], '+15550002', 'default', 'completed', 110],
    [ids.tasks[2], '+15550003', 'default', 'canceled', 3],
    [ids.tasks[3], '+15550004', 'chat', 'canceled', 30],
    [ids.tasks[4], '+15550001', 'default', 'canceled', 8],
  ]);
  const customers = (await get(A('Customers'))).body.customers;
  assert.deepEqual(customers.map((c: Row) => [c.customer_id, c.source, c.first_seen, c.conversations]), [
    ['+15550001', 'phone', at(60), 2],
    ['+15550002', 'from', at(300), 1],
    ['+15550003', 'from', at(600), 1],
    ['+15550004', 'from', at(700), 1],
  ]);
  const agents = (await get(A('Agents'))).body.agents;
  const alice = agents.find((a: Row) => a.worker_sid === ids.alice);
  assert.equal(alice.name, 'Alice');
  assert.deepEqual(alice.versions.map((v: Row) => [v.valid_from, v.valid_to, v.team, v.full_name]), [[at(0), null, 'Red', 'Alice A']]);
  assert.equal(agents.find((a: Row) => a.worker_sid === ids.bob).versions[0].team, 'Blue');
  const status = (await get(A('AgentStatus'))).body.agent_status;
  const rows = status.map((r: Row) => [r.worker_sid === ids.alice ? 'Alice' : 'Bob', r.bucket, r.activity, r.seconds]);
  assert.deepEqual(rows.filter((r: unknown[]) => r[0] === 'Alice'), [
    ['Alice', at(0), 'Available', 315 + 140],
    ['Alice', at(0), 'Unavailable', 400],
    ['Alice', at(900), 'Available', 900],
  ]);
  assert.deepEqual(rows.filter((r: unknown[]) => r[0] === 'Bob'), [
    ['Bob', at(0), 'Available', 5],
    ['Bob', at(0), 'Unavailable', 330 + (900 - 335)],
    ['Bob', at(900), 'Unavailable', 900],
  ]);
});

test('filters narrow the rows; paging follows the other lists', async () => {
  const sales = (await get(A('Kpis', `${PERIOD}&TaskQueueSid=${ids.sales}`))).body.kpis[0];
  assert.deepEqual([sales.offered, sales.abandoned, sales.short_abandoned, sales.task_queue_sid], [1, 1, 1, ids.sales]);
  assert.deepEqual((await get(A('QueueEngagements', `${PERIOD}&TaskQueueSid=${ids.sales}`))).body.queue_engagements.map((x: Row) => x.task_sid), [ids.tasks[2]]);
  const chat = (await get(A('Conversations', `${PERIOD}&TaskChannel=chat`))).body.conversations;
  assert.deepEqual(chat.map((c: Row) => c.task_sid), [ids.tasks[3]]);
  const kChat = (await get(A('Kpis', `${PERIOD}&TaskChannel=chat`))).body.kpis[0];
  assert.deepEqual([kChat.offered, kChat.abandoned, kChat.task_channel], [1, 1, 'chat']);
  assert.deepEqual((await get(A('InvitationEngagements', `${PERIOD}&WorkerSid=${ids.bob}`))).body.invitation_engagements.map((x: Row) => x.outcome), ['Rejected']);
  assert.deepEqual((await get(A('AgentEngagements', `${PERIOD}&WorkerSid=${ids.bob}`))).body.agent_engagements, []);
  assert.deepEqual((await get(A('Conversations', `${PERIOD}&WorkerSid=${ids.alice}`))).body.conversations.map((c: Row) => c.task_sid), ids.tasks.slice(0, 2));
  const kBob = (await get(A('Kpis', `${PERIOD}&WorkerSid=${ids.bob}`))).body.kpis[0];
  assert.deepEqual([kBob.busy_s, kBob.available_idle_s, kBob.staffed_s, kBob.worker_sid], [5, 0, 1800, ids.bob]);
  assert.equal((await get(A('AgentStatus', `${PERIOD}&WorkerSid=${ids.bob}`))).body.agent_status.length, 3);
  // A period before anything happened is empty; the default period (the 24 hours before 09:30) holds it all.
  assert.equal((await get(A('QueueEngagements', `StartDate=${encodeURIComponent(at(-7200))}&EndDate=${encodeURIComponent(at(0))}`))).body.queue_engagements.length, 0);
  assert.equal((await get(`/v1/Workspaces/${ids.ws}/Analytics/QueueEngagements`)).body.queue_engagements.length, 5);
  assert.equal((await get(A('QueueEngagements', `StartDate=${encodeURIComponent(at(300))}&EndDate=${encodeURIComponent(at(700))}`))).body.queue_engagements.length, 2);

  // Pages of 2: three pages, next_page_url followed to the end, the filters echoed.
  const seen: string[] = [];
  let url: string | null = A('QueueEngagements', `${PERIOD}&PageSize=2`);
  let pages = 0;
  while (url !== null) {
    const body: Row = (await get(url.replace(server.base, ''))).body;
    assert.equal(body.meta.key, 'queue_engagements');
    assert.equal(body.meta.page_size, 2);
    seen.push(...body.queue_engagements.map((x: Row) => x.task_sid));
    url = body.meta.next_page_url;
    if (url !== null) assert.ok(url.includes('StartDate='), url);
    pages += 1;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, ids.tasks);
});

test('CSV: the same rows, all of them, as an attachment (Accept: text/csv or .csv)', async () => {
  for (const [resource, key] of [['QueueEngagements', 'queue_engagements'], ['AgentEngagements', 'agent_engagements'], ['Conversations', 'conversations'], ['AgentStatus', 'agent_status'], ['Customers', 'customers'], ['AgentKpis', 'agent_kpis'], ['Agents', 'agents']] as const) {
    const json = (await get(A(resource, `${PERIOD}&PageSize=1000`))).body[key];
    const csv = await get(A(`${resource}.csv`, `${PERIOD}&PageSize=1`));
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(csv.headers.get('content-disposition') ?? '', /^attachment; filename="analytics-[a-z]+-WS[0-9a-f]{32}-.*\.csv"$/);
    const parsed = parse(csv.text, { columns: true }) as Record<string, string>[];
    const expected = json.flatMap(flatten).map((r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])));
    assert.deepEqual(parsed, expected, `${resource}: CSV rows = the JSON rows flattened (not a page)`);
    assert.ok(parsed.length >= 1);
    const viaAccept = await get(A(resource), { accept: 'text/csv' });
    assert.equal(viaAccept.text, csv.text);
  }
  const kCsv = parse((await get(A('Kpis.csv', `${PERIOD}&Interval=PT30M`))).text, { columns: true }) as Record<string, string>[];
  assert.equal(kCsv.length, 2);
  assert.equal(kCsv[0]?.['offered'], '5');
  assert.equal(Number(kCsv[0]?.['service_levels_answered_only']), 0.5);
  assert.equal(kCsv[0]?.['service_level_variant'], 'short-abandon-exclusion');
  assert.equal(kCsv[0]?.['task_queue_sid'], '');
  // An empty CSV still has its header.
  const empty = (await get(A('QueueEngagements.csv', `StartDate=${encodeURIComponent(at(-7200))}&EndDate=${encodeURIComponent(at(0))}`))).text;
  assert.equal(empty.trim(), 'id,task_sid,task_queue_sid,queue_name,channel,open,close,outcome,wait_s');
});

test('bad filters: 400 naming the parameter, for every resource', async () => {
  const cases: [string, string][] = [
    ['StartDate=yesterday', 'StartDate'],
    ['EndDate=2026-13-45T99:00:00Z', 'EndDate'],
    [`StartDate=${encodeURIComponent(at(60))}&EndDate=${encodeURIComponent(at(0))}`, 'StartDate'],
    ['TaskQueueSid=Support', 'TaskQueueSid'],
    ['WorkerSid=WQ' + '0'.repeat(32), 'WorkerSid'],
    ['TaskChannel=fax', 'TaskChannel'],
    ['PageSize=0', 'PageSize'],
  ];
  for (const resource of ['Kpis', 'QueueEngagements', 'AgentStatus', 'Customers']) {
    for (const [query, param] of cases) {
      if (resource === 'Kpis' && param === 'PageSize') continue;
      const res = await get(A(resource, query));
      assert.equal(res.status, 400, `${resource}?${query}`);
      assert.equal(res.body.code, 20001);
      assert.match(res.body.message, new RegExp(param), `${resource}?${query}: ${res.body.message}`);
    }
  }
  for (const [query, param] of [['Threshold=-1', 'Threshold'], ['Threshold=abc', 'Threshold'], ['ShortAbandonThreshold=1e9', 'ShortAbandonThreshold'], ['Interval=PT5M', 'Interval'], [`StartDate=2020-01-01&EndDate=2026-01-01&Interval=PT15M`, 'Interval']] as [string, string][]) {
    const res = await get(A('Kpis', query));
    assert.equal(res.status, 400, query);
    assert.match(res.body.message, new RegExp(param), res.body.message);
    const csv = await get(A('Kpis.csv', query));
    assert.equal(csv.status, 400, `CSV ${query}`);
  }
  assert.equal((await get(`/v1/Workspaces/WS${'0'.repeat(32)}/Analytics/Kpis`)).status, 404);
});

test('stored as core_rows, one per record; a restart on the same data answers the same analytics', async () => {
  const rows = await queryTestDatabase<{ key: string }>(dataDir, "SELECT key FROM core_rows WHERE core = 'analytics' AND workspace_sid = ?", ids.ws);
  const keys = new Set(rows.map((r) => r.key));
  for (const t of ids.tasks) assert.ok(keys.has(`conv:${t}`) && keys.has(`qe:${t}/0`), t);
  for (const r of Object.values(ids.reservations)) assert.ok(keys.has(`ie:${r}`));
  assert.ok(keys.has(`ae:${ids.reservations['r1']}`) && keys.has(`agent:${ids.alice}`) && keys.has(`sto:${ids.bob}`) && keys.has('meta'));
  // Alice's closed intervals: Available [0,315), Available [360,500), Unavailable [500,900) (Offline is not stored).
  assert.equal([...keys].filter((k) => k.startsWith(`st:${ids.alice}:`)).length, 3, 'one row per closed status interval');

  const before = await everything();
  await close(server);
  server = await open();
  const afterRestart = await everything();
  assert.deepEqual(afterRestart, before);
  // And it goes on: a new task after the restart is counted with the old ones.
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = server.base;
  const w = client.taskrouter.v1.workspaces(ids.ws);
  const workflow = (await w.workflows.list())[0]?.sid as string;
  const t6 = await w.tasks.create({ workflowSid: workflow, attributes: JSON.stringify({ from: '+15550006' }) });
  const k = (await get(A('Kpis'))).body.kpis[0];
  assert.equal(k.offered, 5, 'an open QE is not offered yet');
  assert.equal((await get(A('Conversations'))).body.conversations.at(-1).task_sid, t6.sid);
});
