/**
 * Transfers in the analytics over REST (issue 14 item 3 × issue 15 item 2; spec
 * conversations-events-analytics.md §B8 transfer rate; docs/analytics.md): on a real server in
 * virtual time, Ann takes a call and transfers it COLD to Ben with the unmodified
 * `twilio-taskrouter` SDK (`task.transfer`, the only route for transfers); Ben accepts; both
 * finish. Then `GET /v1/Workspaces/{WS}/Analytics/Kpis` shows a transfer rate of 1 in 2 handled
 * engagements (1 for Ann, 0 for Ben), `AgentEngagements` marks Ann's engagement transferred with
 * the transfer's SID, and `Conversations` links Ben's task to Ann's as one journey — in JSON and
 * CSV; the stored model rows carry the new fields (a projector rebuilt from them, as on restart,
 * gives the same). Runs on SQLite, and on
 * PostgreSQL with SWITCHBOARD_TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { AnalyticsProjector } from '../../src/analytics/projector.ts';
import { ANALYTICS_CORE } from '../../src/runtime/analytics-hosting.ts';
import { next, startSdkHarness, stopWorker, type SdkHarness } from '../sdk/harness.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked field by field
type Row = any;

interface Transfer {
  sid: string;
  on: (e: string, f: (...a: unknown[]) => void) => unknown;
}
interface Reservation {
  sid: string;
  task: { sid: string; transfer: (to: string, o?: object) => Promise<unknown>; transfers: { outgoing: Transfer | null } };
  accept: () => Promise<unknown>;
}

let h: SdkHarness;
const ids = { ann: '', ben: '', task: '', moved: '', tt: '', annReservation: '', benReservation: '' };
let period = '';

async function get(path: string): Promise<{ status: number; body: Row; text: string }> {
  const res = await fetch(h.base + path, { headers: { authorization: `Basic ${Buffer.from(`${h.account.sid}:${h.account.secret}`).toString('base64')}` } });
  const text = await res.text();
  return { status: res.status, body: (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text, text };
}
const A = (resource: string, query = period): string => `/v1/Workspaces/${h.workspaceSid}/Analytics/${resource}?${query}`;

before(async () => {
  h = await startSdkHarness();
  const ws = h.client.taskrouter.v1.workspaces(h.workspaceSid);
  const start = h.scheduler.now();
  ids.ann = await h.newWorker('Ann');
  ids.ben = await h.newWorker('Ben');
  const ann = await h.connect(ids.ann);
  const ben = await h.connect(ids.ben);
  await ann.activities.get(h.activities.Available)?.setAsCurrent();

  const offered = next<[Reservation]>(ann, 'reservationCreated');
  ids.task = (await ws.tasks.create({ workflowSid: h.workflowSid, attributes: JSON.stringify({ type: 'inbound', from: '+15550100', customers: { phone: '+15550100' } }) })).sid;
  const [reservation] = await offered;
  ids.annReservation = reservation.sid;
  await h.advance(5_000);
  await reservation.accept();
  await h.advance(120_000);

  await ben.activities.get(h.activities.Available)?.setAsCurrent();
  const offeredToBen = next<[Reservation]>(ben, 'reservationCreated');
  await reservation.task.transfer(ids.ben, { mode: 'COLD' });
  const [incoming] = await offeredToBen;
  ids.moved = incoming.task.sid;
  ids.benReservation = incoming.sid;
  const outgoing = reservation.task.transfers.outgoing as Transfer;
  ids.tt = outgoing.sid;
  const completed = next(outgoing, 'completed');
  await h.advance(10_000);
  await incoming.accept();
  await completed;
  await h.advance(20_000);
  await ws.tasks(ids.task).update({ assignmentStatus: 'completed', reason: 'handed over' });
  await h.advance(180_000);
  await ws.tasks(ids.moved).update({ assignmentStatus: 'wrapping' });
  await h.advance(30_000);
  await ws.tasks(ids.moved).update({ assignmentStatus: 'completed', reason: 'resolved' });
  stopWorker(ann);
  stopWorker(ben);
  period = `StartDate=${encodeURIComponent(new Date(start - 60_000).toISOString())}&EndDate=${encodeURIComponent(new Date(h.scheduler.now() + 60_000).toISOString())}`;
});

after(async () => {
  await h.close();
});

/** The analytics a transfer leaves (checked before and after a restart). */
async function checkAnalytics(): Promise<void> {
  const kpis = await get(A('Kpis'));
  assert.equal(kpis.status, 200);
  const k = kpis.body.kpis[0];
  assert.equal(k.handled, 2, 'two agent engagements handled: Ann\'s and Ben\'s');
  assert.equal(k.transfer_rate, 0.5);
  assert.equal((await get(A('Kpis', `${period}&WorkerSid=${ids.ann}`))).body.kpis[0].transfer_rate, 1);
  assert.equal((await get(A('Kpis', `${period}&WorkerSid=${ids.ben}`))).body.kpis[0].transfer_rate, 0);

  const aes = (await get(A('AgentEngagements'))).body.agent_engagements as Row[];
  const annAe = aes.find((x) => x.reservation_sid === ids.annReservation);
  const benAe = aes.find((x) => x.reservation_sid === ids.benReservation);
  assert.deepEqual([annAe?.worker_sid, annAe?.task_sid, annAe?.transferred, annAe?.transfer_sid], [ids.ann, ids.task, true, ids.tt]);
  assert.deepEqual([benAe?.worker_sid, benAe?.task_sid, benAe?.transferred, benAe?.transfer_sid], [ids.ben, ids.moved, false, null]);
  assert.equal(annAe.engagement_s, 130, 'COLD: Ann is engaged from her accept to Ben\'s accept (120 s + 10 s)');

  const convs = (await get(A('Conversations'))).body.conversations as Row[];
  const original = convs.find((c) => c.task_sid === ids.task);
  const moved = convs.find((c) => c.task_sid === ids.moved);
  assert.deepEqual([original?.transferred_from, original?.transfer_sid, original?.journey_task_sid], [null, null, ids.task]);
  assert.deepEqual([moved?.transferred_from, moved?.transfer_sid, moved?.journey_task_sid], [ids.task, ids.tt, ids.task]);
  const customers = (await get(A('Customers'))).body.customers as Row[];
  assert.deepEqual(customers.map((c) => [c.customer_id, c.conversations]), [['+15550100', 1]], 'one journey of the customer');

  const csv = parse((await get(A('AgentEngagements.csv'))).text, { columns: true }) as Record<string, string>[];
  assert.deepEqual(csv.filter((r) => r['transferred'] === 'true').map((r) => [r['reservation_sid'], r['transfer_sid']]), [[ids.annReservation, ids.tt]]);
  const convCsv = parse((await get(A('Conversations.csv'))).text, { columns: true }) as Record<string, string>[];
  assert.equal(convCsv.find((r) => r['task_sid'] === ids.moved)?.['transferred_from'], ids.task);
}

test('Kpis show the transfer rate; the initiating agent engagement is transferred; the conversations read as one journey', async () => {
  await checkAnalytics();
});

test('the stored model rows carry the transfer fields: a projector rebuilt from them (as on restart) gives the same', async () => {
  const rows = await h.runtime.store.loadCoreRowsOf(ANALYTICS_CORE, h.workspaceSid);
  const p = AnalyticsProjector.fromRows(rows, { latenessMs: 0 });
  const ae = p.engagements().agent.find((x) => x.reservationSid === ids.annReservation);
  assert.deepEqual([ae?.transferred, ae?.transferSid], [true, ids.tt]);
  assert.deepEqual([p.conversation(ids.moved)?.transferredFrom, p.conversation(ids.moved)?.journeyTaskSid], [ids.task, ids.task]);
  assert.deepEqual(p.transfers().map((t) => [t.transferSid, t.status, t.transferTaskSid, t.mode, t.type, t.to]), [[ids.tt, 'completed', ids.moved, 'COLD', 'WORKER', ids.ben]]);
  assert.ok(rows.some((r) => r.key === `tt:${ids.tt}`), 'the transfer has its row');
  const wide = p.kpis({ from: 0, to: h.scheduler.now() + 60_000 });
  assert.deepEqual([wide.handled, wide.transferRate], [2, 0.5]);
});
