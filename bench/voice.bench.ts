/**
 * Voice load benchmark (issue 12, "What it must show"): the live server with a simulated carrier
 * posting Twilio's webhooks over HTTP — 1,000 concurrent callers through the seed flow, 20 new
 * calls/s for 120 s, 50 simulated agents. Run: `npm run bench:voice` (about 4 minutes).
 *
 * The server is `switchboard serve` as a child process (SQLite store, synchronous FULL: every
 * answer that changes state is on disk before it is sent) with `SWITCHBOARD_TELEPHONY=twilio` and
 * the Calls API pointed at the carrier (`SWITCHBOARD_TWILIO_API_BASE_URL`); it calls the carrier
 * through the official `twilio` client and the carrier calls it back at its listen address. The
 * carrier (bench/support/carrier.ts) runs in this process, in real time.
 *
 * Set up over the REST API: the `twilio` client for TaskRouter — activities with Wrap-Up, queues
 * Hindi and English, the workflow "Incoming Customer Requests" (reservation timeout 30 s) whose
 * assignment callback is served by this bench, 50 workers (25 Hindi, 25 English) with a
 * `contact_uri` each — and plain form POSTs for the seed flow (`CallFlows`) and the center's number
 * (`PhoneNumbers`).
 *
 * One call: the incoming webhook; the welcome and the menu "play" (0.5 s a `<Say>`); 45 % press 1,
 * 45 % press 2, 10 % say nothing (the gather's 5 s timeout: English); `<Enqueue>`: the waitUrl at
 * once and every 5 s (the hold music "ends"); a caller holds 30–60 s at most, then hangs up (the
 * `<Enqueue action>` with `QueueResult=hangup`, the final status callback). With 50 agents taking
 * about 1.3 calls/s between them, most callers hang up: at 20 calls/s, callers up at once settle at
 * 20 × (IVR + patience) ≈ 1,000 (Little's law) — the JSON's `concurrent_peak` is what was measured.
 * An agent's reservation: the assignment callback answers `{"instruction":"dequeue","from":<the
 * center's number>,"post_work_activity_sid":<Wrap-Up>}`; the server places the agent's leg through
 * the Calls API; the phone rings 1–3 s and is answered; the `<Dial><Queue url>` takes the caller
 * (the `<Queue url>` request is the bridge); they talk 20–40 s; the agent hangs up. The server then
 * moves the worker to Wrap-Up and the task to wrapping; **this bench** completes the task and sets
 * the worker Available again over REST after a 3–8 s wrap-up (as an agent's desktop would).
 *
 * Measured:
 * - **TwiML answers**: every caller-facing webhook's round trip as the carrier sees it (request
 *   sent → answer read, over keep-alive loopback): incoming, gather, hold (waitUrl), enqueue
 *   (`<Enqueue action>`) → `twiml_p50_ms` / `twiml_p99_ms` / `twiml_max_ms` over all of them, and
 *   p99 per kind. The `<Queue url>` request (`bridged`) and status callbacks (204, no TwiML) are
 *   reported apart.
 * - **Reservation → bridge request**: for each reservation, from the moment its assignment
 *   callback request arrived at this bench (the reservation was created and committed, and the
 *   server asks what to do) to the moment the agent leg's `Calls.json` create request arrived at the
 *   carrier (the server asks the network to place the leg that dequeues the caller). It covers the
 *   bench's JSON answer, the server checking the instruction and committing the bridge and its
 *   `voice.connect` outbox row, the dispatcher taking that row durably and the `twilio` client's
 *   request. Both instants are `performance.now()` of this process. The ring, answer and `<Queue
 *   url>` that follow are the simulated phone's, not the server's, and are not in it.
 * - **Calls**: started, bridged (talked to an agent, both legs ended cleanly), abandoned (hung up
 *   while holding, cleanly), lost: a webhook failed (network error, non-2xx), the caller heard an
 *   apology or a refusal, the call ended in a way the seed flow never ends it, or it had no outcome
 *   when the drain ended (arrivals stop after BENCH_SECONDS; the bench waits up to BENCH_DRAIN_S for
 *   the calls up and the wrap-ups).
 * - **Server-side check** after the drain: every task listed over REST; each caller's `call_sid`
 *   must have exactly one task, in the state its outcome implies (bridged → completed; abandoned →
 *   canceled, reason hangup), and no task may be left pending/reserved/assigned/wrapping; every
 *   worker must be Available again. (Canceled and completed tasks are purged 5 minutes after they
 *   end: a caller who ended more than 290 s before the listing is not checked.)
 *
 * Output: progress lines on stderr; last, one JSON line on stdout:
 * `{"calls":…,"twiml_p99_ms":…,"reserve_to_bridge_p99_ms":…,"lost_calls":0,…}` with
 * `concurrent_peak`, per-kind figures, the server's CPU time and RSS, the load average, and
 * `targets_met`. Targets: TwiML p99 ≤ 50 ms, reservation → bridge request p99 ≤ 100 ms, no call
 * lost. The exit code is 1 only when a call was lost or the server-side check failed (a
 * correctness failure); a latency target missed on this shared machine is printed, not failed.
 *
 * Env: BENCH_SECONDS (120), BENCH_RATE (calls/s, 20), BENCH_AGENTS (50), BENCH_PATIENCE_S
 * ("30-60"), BENCH_TALK_S ("20-40"), BENCH_RING_S ("1-3"), BENCH_WRAP_S ("3-8"),
 * BENCH_HOLD_REFETCH_S (5), BENCH_DRAIN_S (150), BENCH_SYNCHRONOUS (FULL),
 * BENCH_SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=prof").
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import twilio from 'twilio';
import { seedFlow, SEED_WORKFLOW_NAME } from '../src/callflows/index.ts';
import { Carrier } from './support/carrier.ts';
import { call, percentile, postForm, processCpuMs, processRssMb, startServer } from './support/server.ts';

function range(name: string, fallback: string): [number, number] {
  const text = process.env[name] ?? fallback;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
  if (m === null) throw new Error(`${name} must be seconds or a range of seconds like 20-40, not ${text}`);
  const min = Number(m[1]) * 1000;
  return [min, m[2] === undefined ? min : Number(m[2]) * 1000];
}

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 120);
const RATE = Number(process.env['BENCH_RATE'] ?? 20);
const AGENTS = Number(process.env['BENCH_AGENTS'] ?? 50);
const PATIENCE = range('BENCH_PATIENCE_S', '30-60');
const TALK = range('BENCH_TALK_S', '20-40');
const RING = range('BENCH_RING_S', '1-3');
const WRAP = range('BENCH_WRAP_S', '3-8');
const HOLD_REFETCH_MS = Number(process.env['BENCH_HOLD_REFETCH_S'] ?? 5) * 1000;
const DRAIN_MS = Number(process.env['BENCH_DRAIN_S'] ?? 150) * 1000;
const SYNCHRONOUS = process.env['BENCH_SYNCHRONOUS'] ?? 'FULL';
const TARGET_TWIML_P99_MS = 50;
const TARGET_RESERVE_TO_BRIDGE_P99_MS = 100;
const CENTER_NUMBER = '+18005550100';
/** Canceled and completed tasks are purged this long after they end (src/engine/model.ts): older callers are not checked. */
const PURGE_MARGIN_MS = 290_000;

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const round = (x: number, digits = 1): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : -1);
const sorted = (xs: readonly number[]): Float64Array => Float64Array.from(xs).sort();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** p50 / p99 / max of a list of milliseconds. */
function stats(xs: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  const s = sorted(xs);
  return { n: s.length, p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s[s.length - 1] ?? NaN) };
}

/** What the assignment callback told us about a reservation. */
interface Assignment {
  at: number;
  taskSid: string;
  workerSid: string;
}

async function main(): Promise<void> {
  const accountSid = 'AC' + randomBytes(16).toString('hex');
  const authToken = randomBytes(16).toString('hex');
  const assignments = new Map<string, Assignment>();
  /** Reservation → when its leg's Calls API request arrived. */
  const legRequested = new Map<string, number>();
  let wrapUp = '';
  let available = '';
  let wrapsInFlight = 0;
  let wrapFailures = 0;
  const wrapErrors: string[] = [];
  let onTalkEnded: (key: string) => void = () => undefined;

  const carrier = new Carrier({
    accountSid,
    authToken,
    centerNumber: CENTER_NUMBER,
    timing: { sayMs: 500, thinkMs: [200, 1000], silenceRate: 0.1, hindiRate: 0.5, holdRefetchMs: HOLD_REFETCH_MS, patienceMs: PATIENCE, ringMs: RING, talkMs: TALK },
    onLegRequested: (key, at) => {
      const reservation = key.split(':')[0] ?? '';
      if (!legRequested.has(reservation)) legRequested.set(reservation, at);
    },
    onTalkEnded: (key) => onTalkEnded(key),
  });
  await carrier.listen();

  // The workflow's assignment callback: every reservation is answered with `dequeue`.
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const reservation = form.get('ReservationSid') ?? '';
      if (!assignments.has(reservation)) assignments.set(reservation, { at, taskSid: form.get('TaskSid') ?? '', workerSid: form.get('WorkerSid') ?? '' });
      const body = JSON.stringify({ instruction: 'dequeue', from: CENTER_NUMBER, post_work_activity_sid: wrapUp });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  receiver.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const assignmentUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/assignment`;

  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-voice-'));
  const flags = (process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const server = await startServer(dataDir, ['--synchronous', SYNCHRONOUS], flags, {
    SWITCHBOARD_TELEPHONY: 'twilio',
    TWILIO_ACCOUNT_SID: accountSid,
    TWILIO_AUTH_TOKEN: authToken,
    SWITCHBOARD_TWILIO_API_BASE_URL: carrier.apiBase,
    // The callback service's settings (unused here).
    SWITCHBOARD_CALLBACK_FROM: CENTER_NUMBER,
    SWITCHBOARD_CALLBACK_TWIML_URL: 'http://127.0.0.1:9/unused-readiness-prompt',
    SWITCHBOARD_CALLBACK_STATUS_URL: 'http://127.0.0.1:9/unused-status',
  });
  carrier.serverBase = server.base;
  const restAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const pid = server.child.pid;
  let exitCode = 0;
  try {
    // ── the center, over REST ──
    const client = twilio(server.sid, server.token);
    client.taskrouter.baseUrl = server.base;
    const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Voice bench' });
    const wsApi = client.taskrouter.v1.workspaces(ws.sid);
    const acts = await wsApi.activities.list();
    available = acts.find((a) => a.friendlyName === 'Available')?.sid ?? '';
    wrapUp = (await wsApi.activities.create({ friendlyName: 'Wrap-Up', available: false })).sid;
    const hindiQ = await wsApi.taskQueues.create({ friendlyName: 'Hindi', targetWorkers: 'languages HAS "hindi"' });
    const englishQ = await wsApi.taskQueues.create({ friendlyName: 'English', targetWorkers: 'languages HAS "english"' });
    const configuration = JSON.stringify({
      task_routing: { filters: [{ filter_friendly_name: 'Hindi', expression: 'selected_language == "hindi"', targets: [{ queue: hindiQ.sid }] }], default_filter: { queue: englishQ.sid } },
    });
    const wf = await wsApi.workflows.create({ friendlyName: SEED_WORKFLOW_NAME, configuration, taskReservationTimeout: 30, assignmentCallbackUrl: assignmentUrl });
    const workerSids: string[] = [];
    for (let i = 0; i < AGENTS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, AGENTS - i) }, (_, k) => {
          const n = i + k;
          const language = n % 2 === 0 ? 'hindi' : 'english';
          const contact = `+1555${String(1_000_000 + n).padStart(7, '0')}`;
          return wsApi.workers.create({ friendlyName: `agent-${n}`, attributes: JSON.stringify({ languages: [language], contact_uri: contact }), activitySid: available });
        }),
      );
      workerSids.push(...batch.map((w) => w.sid));
    }
    const wsPath = `/v1/Workspaces/${ws.sid}`;
    const flow = await call(server, 'POST', `${wsPath}/CallFlows`, { FriendlyName: 'Seed', Definition: JSON.stringify(seedFlow(wf.sid)) });
    await call(server, 'POST', `${wsPath}/PhoneNumbers`, { PhoneNumber: CENTER_NUMBER, CallFlowSid: String(flow['sid']) });

    // ── agents' wrap-up: complete the task, become Available ──
    onTalkEnded = (key) => {
      const a = assignments.get(key.split(':')[0] ?? '');
      if (a === undefined) return;
      wrapsInFlight += 1;
      const wrapMs = WRAP[0] + Math.random() * (WRAP[1] - WRAP[0]);
      setTimeout(() => {
        void (async () => {
          try {
            const t = await postForm(server, restAgent, `${wsPath}/Tasks/${a.taskSid}`, new URLSearchParams({ AssignmentStatus: 'completed', Reason: 'wrap-up done' }).toString());
            const w = await postForm(server, restAgent, `${wsPath}/Workers/${a.workerSid}`, new URLSearchParams({ ActivitySid: available }).toString());
            if (t.status >= 300 || w.status >= 300) throw new Error(`task ${t.status} ${JSON.stringify(t.body)}; worker ${w.status} ${JSON.stringify(w.body)}`);
          } catch (error) {
            wrapFailures += 1;
            if (wrapErrors.length < 5) wrapErrors.push(String((error as Error).message));
          } finally {
            wrapsInFlight -= 1;
          }
        })();
      }, wrapMs);
    };

    // ── arrivals ──
    const total = Math.round(SECONDS * RATE);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    log(`voice bench: ${total} calls at ${RATE}/s for ${SECONDS} s, ${AGENTS} agents, patience ${PATIENCE[0] / 1000}–${PATIENCE[1] / 1000} s, talk ${TALK[0] / 1000}–${TALK[1] / 1000} s; server ${server.base} (pid ${pid})`);
    const t0 = performance.now();
    const cpu0 = processCpuMs(pid) ?? 0;
    let rssMax = 0;
    let started = 0;
    const progress = (): void => {
      const elapsed = (performance.now() - t0) / 1000;
      const ph = carrier.phases();
      let bridged = 0;
      let abandoned = 0;
      let lost = 0;
      for (const c of carrier.callers.values()) {
        if (c.outcome === 'bridged') bridged += 1;
        else if (c.outcome === 'abandoned') abandoned += 1;
        else if (c.outcome === 'lost') lost += 1;
      }
      const rss = processRssMb(pid) ?? 0;
      rssMax = Math.max(rssMax, rss);
      const all = [...carrier.latencies.incoming, ...carrier.latencies.gather, ...carrier.latencies.hold, ...carrier.latencies.enqueue];
      log(
        `t=${elapsed.toFixed(0).padStart(3)} s  started ${started}  up ${carrier.concurrent} (ivr ${ph.ivr}, holding ${ph.queued}, talking ${ph.bridged}; peak ${carrier.concurrentPeak})  ` +
          `bridged ${bridged}  abandoned ${abandoned}  lost ${lost}  twiml p99 ${round(percentile(sorted(all), 99))} ms  server cpu ${(((processCpuMs(pid) ?? 0) - cpu0) / 1000).toFixed(0)} s, rss ${rss.toFixed(0)} MB`,
      );
    };
    const ticker = setInterval(progress, 10_000);
    const interval = 1000 / RATE;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
        while (started < due) {
          started += 1;
          void carrier.placeCall();
        }
        if (started >= total) resolve();
        else setTimeout(tick, Math.max(1, t0 + started * interval - performance.now()));
      };
      tick();
    });
    const arrivalsS = (performance.now() - t0) / 1000;
    log(`arrivals over after ${arrivalsS.toFixed(1)} s; draining (up to ${DRAIN_MS / 1000} s)`);
    const drainStart = performance.now();
    const settled = (): boolean => wrapsInFlight === 0 && [...carrier.callers.values()].every((c) => c.outcome !== null);
    while (!settled() && performance.now() - drainStart < DRAIN_MS) await sleep(250);
    // Wrap-ups of the last calls, and the server's last commits.
    await sleep(500);
    clearInterval(ticker);
    progress();
    loopDelay.disable();
    const runS = (performance.now() - t0) / 1000;
    const serverCpuMs = (processCpuMs(pid) ?? 0) - cpu0;

    // ── outcomes ──
    const listedAt = performance.now();
    let bridged = 0;
    let abandoned = 0;
    let inFlight = 0;
    const lostReasons = new Map<string, number>();
    for (const c of carrier.callers.values()) {
      if (c.outcome === null) {
        inFlight += 1;
        carrier.lose(c, `no outcome when the drain ended (${c.phase})`);
      }
      if (c.outcome === 'bridged') bridged += 1;
      else if (c.outcome === 'abandoned') abandoned += 1;
      else {
        const reason = (c.lostReason ?? '?').replace(/CA[0-9a-f]{32}|WT[0-9a-f]{32}|QU[0-9a-f]{32}|\d+/g, '…').slice(0, 120);
        lostReasons.set(reason, (lostReasons.get(reason) ?? 0) + 1);
      }
    }
    const lost = carrier.callers.size - bridged - abandoned;

    // ── server-side check ──
    const tasks = await wsApi.tasks.list({ pageSize: 1000 });
    const byCall = new Map<string, Array<{ status: string; reason: string | null }>>();
    const taskStatuses: Record<string, number> = {};
    for (const t of tasks) {
      taskStatuses[t.assignmentStatus] = (taskStatuses[t.assignmentStatus] ?? 0) + 1;
      const callSid = (JSON.parse(t.attributes) as Record<string, unknown>)['call_sid'];
      if (typeof callSid !== 'string') continue;
      const list = byCall.get(callSid) ?? [];
      list.push({ status: t.assignmentStatus, reason: t.reason });
      byCall.set(callSid, list);
    }
    const checkFailures: string[] = [];
    const fail = (line: string): void => void (checkFailures.length < 10 ? checkFailures.push(line) : checkFailures.push(''));
    let checked = 0;
    for (const c of carrier.callers.values()) {
      const list = byCall.get(c.sid) ?? [];
      byCall.delete(c.sid);
      if (c.outcome === 'lost') continue;
      if (list.length === 0 && listedAt - c.endedAt > PURGE_MARGIN_MS) continue;
      checked += 1;
      if (list.length !== 1) {
        fail(`${c.sid} (${c.outcome}) has ${list.length} tasks`);
        continue;
      }
      const t = list[0] as { status: string; reason: string | null };
      if (c.outcome === 'bridged' && t.status !== 'completed') fail(`${c.sid} bridged, its task is ${t.status}`);
      if (c.outcome === 'abandoned' && (t.status !== 'canceled' || t.reason !== 'hangup')) fail(`${c.sid} abandoned, its task is ${t.status} (${String(t.reason)})`);
    }
    for (const [sid, list] of byCall) fail(`a task for ${sid}, which is no caller of this run (${list.map((t) => t.status).join(', ')})`);
    for (const [status, n] of Object.entries(taskStatuses)) if (status !== 'completed' && status !== 'canceled') fail(`${n} tasks left ${status}`);
    const workers = await wsApi.workers.list({ pageSize: 100 });
    const notAvailable = workers.filter((w) => w.activitySid !== available);
    if (notAvailable.length > 0) fail(`${notAvailable.length} workers not Available at the end (${notAvailable.map((w) => w.activityName).join(', ')})`);
    if (wrapFailures > 0) fail(`${wrapFailures} wrap-ups failed: ${wrapErrors.join(' | ')}`);
    if (workerSids.length !== AGENTS) fail(`${workerSids.length} workers created, not ${AGENTS}`);

    // ── latencies ──
    const twiml = [...carrier.latencies.incoming, ...carrier.latencies.gather, ...carrier.latencies.hold, ...carrier.latencies.enqueue];
    const tw = stats(twiml);
    const r2b: number[] = [];
    let legsWithoutAssignment = 0;
    for (const [reservation, at] of legRequested) {
      const a = assignments.get(reservation);
      if (a === undefined) legsWithoutAssignment += 1;
      else r2b.push(at - a.at);
    }
    const rb = stats(r2b);
    const kinds = Object.fromEntries(Object.entries(carrier.latencies).map(([k, xs]) => [k, stats(xs)]));
    const met = { twiml_p99: tw.p99 <= TARGET_TWIML_P99_MS, reserve_to_bridge_p99: rb.p99 <= TARGET_RESERVE_TO_BRIDGE_P99_MS, no_lost_calls: lost === 0 };

    log('');
    log(`Switchboard voice benchmark — Node ${process.version}, ${SECONDS} s of arrivals at ${RATE} calls/s, ${AGENTS} agents, synchronous ${SYNCHRONOUS}; run ${runS.toFixed(0)} s`);
    log(`calls: ${carrier.callers.size} started, ${bridged} bridged, ${abandoned} abandoned, ${lost} lost (${inFlight} still in flight at the end); callers up at once: peak ${carrier.concurrentPeak}`);
    for (const [reason, n] of lostReasons) log(`  lost ×${n}: ${reason}`);
    for (const e of carrier.errors.slice(0, 5)) log(`  error: ${e}`);
    log(`TwiML answers (${tw.n}): p50 ${tw.p50} ms, p99 ${tw.p99} ms, max ${tw.max} ms — target p99 ≤ ${TARGET_TWIML_P99_MS} ms: ${met.twiml_p99 ? 'met' : 'MISSED'}`);
    for (const [k, s] of Object.entries(kinds)) log(`  ${k.padEnd(8)} n ${String(s.n).padStart(6)}  p50 ${s.p50} ms  p99 ${s.p99} ms  max ${s.max} ms`);
    log(`reservation → bridge request (${rb.n} legs): p50 ${rb.p50} ms, p99 ${rb.p99} ms, max ${rb.max} ms — target p99 ≤ ${TARGET_RESERVE_TO_BRIDGE_P99_MS} ms: ${met.reserve_to_bridge_p99 ? 'met' : 'MISSED'}`);
    log(`reservations ${assignments.size}, agent legs requested ${carrier.api.created}, legs canceled while ringing ${carrier.api.canceled}, answered legs hung up without a caller ${carrier.legsWithoutCaller}`);
    log(`no call lost: ${met.no_lost_calls ? 'met' : 'MISSED'}`);
    log(`server check: ${tasks.length} tasks (${Object.entries(taskStatuses).map(([s, n]) => `${n} ${s}`).join(', ')}), ${checked} callers checked: ${checkFailures.length === 0 ? 'ok' : 'FAILED'}`);
    for (const f of checkFailures.filter((x) => x !== '')) log(`  ${f}`);
    log(`server CPU ${(serverCpuMs / 1000).toFixed(1)} s over the run (${((serverCpuMs / 1000 / runS) * 100).toFixed(0)} % of a core), RSS max ${rssMax.toFixed(0)} MB; bench event-loop delay p99 ${round(loopDelay.percentile(99) / 1e6)} ms; load average ${loadavg()[0]?.toFixed(2)}`);
    if (lost > 0 || checkFailures.length > 0) exitCode = 1;
    console.log(
      JSON.stringify({
        calls: carrier.callers.size,
        twiml_p99_ms: tw.p99,
        reserve_to_bridge_p99_ms: rb.p99,
        lost_calls: lost,
        twiml_p50_ms: tw.p50,
        twiml_max_ms: tw.max,
        twiml_answers: tw.n,
        twiml_p99_ms_by_kind: Object.fromEntries(Object.entries(kinds).map(([k, s]) => [k, s.p99])),
        reserve_to_bridge_p50_ms: rb.p50,
        reserve_to_bridge_max_ms: rb.max,
        bridged,
        abandoned,
        in_flight_at_end: inFlight,
        concurrent_peak: carrier.concurrentPeak,
        reservations: assignments.size,
        agent_legs: carrier.api.created,
        legs_without_assignment: legsWithoutAssignment,
        server_check_ok: checkFailures.length === 0,
        server_cpu_s: round(serverCpuMs / 1000),
        server_rss_mb_max: Math.round(rssMax),
        bench_loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6),
        load_average_1m: round(loadavg()[0] ?? NaN, 2),
        run_s: Math.round(runS),
        targets_met: met,
      }),
    );
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    restAgent.destroy();
    await carrier.close();
    receiver.closeAllConnections();
    receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exitCode = exitCode;
}

await main();
