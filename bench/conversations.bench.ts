/**
 * Conversations load benchmark (issue 13, "What it must show"): 10,000 active conversations, each
 * with a running inactive timer, then 200 messages/s for 120 s through the REST API. Run:
 * `npm run bench:conversations` (about 2.5 minutes; not part of `npm run bench`).
 *
 * The server is `switchboard serve` as a child process (SQLite store, synchronous FULL by default:
 * every write is on disk before it is answered). Everything goes over loopback HTTP with form
 * POSTs on keep-alive agents (node:http; `fetch` costs the generator several times the CPU).
 *
 * Setup (BENCH_SETUP_CONCURRENCY requests in flight, 16 by default):
 * - the account's post-event webhook: `POST /v1/Configuration/Webhooks` with PostWebhookUrl = a
 *   receiver in this process, Filters=onConversationStateUpdated;
 * - BENCH_CONVERSATIONS (10,000) × `POST /v1/Conversations` with `State=active` and
 *   `Timers.Inactive`. A share BENCH_SILENT_SHARE (20 %) of them is **silent**: they never get a
 *   message and their timers are PT1M–PT2M (uniform, whole seconds), so they go inactive
 *   from about 1 minute into the message phase on (PT1M is the shortest timer allowed). The
 *   others **talk**: PT2M–PT10M, and they take the messages; a talking conversation left without a message for its whole timer goes inactive too (a message
 *   to an inactive conversation reactivates it: Reason EVENT). Every other talking conversation
 *   gets a chat participant (`Identity`), who then authors its messages; the others' messages
 *   have the author `customer` and no participant.
 *
 * Message phase: BENCH_RATE (200) messages/s for BENCH_SECONDS (120), open loop (each message is
 * sent at its scheduled instant whatever the answers before it; up to BENCH_MAX_SOCKETS (64)
 * connections), each to a talking conversation picked uniformly at random. Each message restarts
 * its conversation's inactive timer (the core's rule). After the last answer the bench waits
 * BENCH_DRAIN_S (10) s for webhooks still on their way.
 *
 * Measured:
 * - **message create latency**: request written → response read, per `POST
 *   /v1/Conversations/{CH}/Messages` (201 expected; anything else counts in `message_errors`):
 *   p50 / p99 / max. `messages_per_s` = messages answered ÷ (first sent → last answered).
 * - **timer lateness**: for every `onConversationStateUpdated` webhook with `StateTo=inactive` and
 *   `Reason=TIMER`, lateness = (wall-clock ms when this process finished reading the webhook
 *   request) − `StateUpdated`. The core stamps a timer's transition with its **deadline** — the
 *   instant the timer was due (`fireDue` in src/conversations/state.ts: `{ at: due.at }`; the
 *   deadline is last activity + `Timers.Inactive`, in ms) — not with the instant it ran, so this
 *   lateness is end to end: the runtime's timer waking up late, the batch and its commit, the
 *   dispatcher taking the outbox row and the signed HTTP delivery. Both ends read the same wall
 *   clock (server and bench on one machine: `Date.now()`). Reported p50 / p99 / max over the
 *   webhooks received during the message phase and the drain.
 *   `timers_missing`: silent conversations whose deadline (from the create response's
 *   `timers.date_inactive`, whole seconds) was more than 5 s before the end of the drain but whose
 *   webhook never came (must be 0).
 * - **RSS** of the server child from /proc, sampled every second: max over setup and run
 *   (`rss_mb`), and at the end of setup (`rss_after_setup_mb`); the server's CPU time.
 *
 * Output: progress on stderr; last, one JSON line on stdout:
 * `{"active_conversations":10000,"messages_per_s":…,"message_p99_ms":…,"timer_lateness_p99_ms":…,"rss_mb":…,…}`
 * with `targets_met`. Targets: message create p99 ≤ 25 ms, timer lateness p99 ≤ 1,000 ms, RSS ≤
 * 600 MB. Exit code 1 only for a correctness failure (a message refused, a timer missing); a
 * target missed on this shared machine is printed, not failed.
 *
 * Env: BENCH_CONVERSATIONS (10000), BENCH_RATE (200), BENCH_SECONDS (120), BENCH_SILENT_SHARE
 * (0.2), BENCH_SETUP_CONCURRENCY (16), BENCH_MAX_SOCKETS (64), BENCH_DRAIN_S (10),
 * BENCH_SYNCHRONOUS (FULL), BENCH_SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=prof").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { percentile, postForm, processCpuMs, processRssMb, startServer } from './support/server.ts';

const CONVERSATIONS = Number(process.env['BENCH_CONVERSATIONS'] ?? 10_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 200);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 120);
const SILENT_SHARE = Number(process.env['BENCH_SILENT_SHARE'] ?? 0.2);
const SETUP_CONCURRENCY = Number(process.env['BENCH_SETUP_CONCURRENCY'] ?? 16);
const MAX_SOCKETS = Number(process.env['BENCH_MAX_SOCKETS'] ?? 64);
const DRAIN_MS = Number(process.env['BENCH_DRAIN_S'] ?? 10) * 1000;
const SYNCHRONOUS = process.env['BENCH_SYNCHRONOUS'] ?? 'FULL';
const TARGET_MESSAGE_P99_MS = 25;
const TARGET_LATENESS_P99_MS = 1_000;
const TARGET_RSS_MB = 600;

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const round = (x: number, digits = 1): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : -1);
const sorted = (xs: readonly number[]): Float64Array => Float64Array.from(xs).sort();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const uniformInt = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));

function stats(xs: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  const s = sorted(xs);
  return { n: s.length, p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s[s.length - 1] ?? NaN) };
}

interface Conv {
  sid: string;
  silent: boolean;
  /** Author of its messages: the participant's identity, or `customer` (no participant). */
  author: string;
  /** Silent ones: the deadline from the create response (`timers.date_inactive`, whole seconds), epoch ms. */
  dueAt: number;
}

async function main(): Promise<void> {
  // ── the post-event webhook receiver ──
  const lateness: number[] = [];
  /** The same, for timers that fired before the message phase (during setup). */
  const setupLateness: number[] = [];
  /** Conversation SID → times its timer fired (inactive, Reason TIMER). */
  const fired = new Map<string, number>();
  let stateWebhooks = 0;
  let reactivations = 0;
  let measuring = false;
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const receivedAt = Date.now();
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      stateWebhooks += 1;
      if (form.get('EventType') === 'onConversationStateUpdated') {
        if (form.get('StateTo') === 'inactive' && form.get('Reason') === 'TIMER') {
          const sid = form.get('ConversationSid') ?? '';
          fired.set(sid, (fired.get(sid) ?? 0) + 1);
          (measuring ? lateness : setupLateness).push(receivedAt - Date.parse(form.get('StateUpdated') ?? ''));
        } else if (form.get('StateTo') === 'active') reactivations += 1;
      }
      res.writeHead(204).end();
    });
  });
  receiver.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/conversations`;

  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-conversations-'));
  const flags = (process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const server = await startServer(dataDir, ['--synchronous', SYNCHRONOUS], flags);
  const pid = server.child.pid;
  let rssMax = 0;
  const rssTicker = setInterval(() => (rssMax = Math.max(rssMax, processRssMb(pid) ?? 0)), 1000);
  let exitCode = 0;
  try {
    const setupAgent = new http.Agent({ keepAlive: true, maxSockets: SETUP_CONCURRENCY });
    const post = async (agent: http.Agent, path: string, form: Record<string, string>): Promise<Record<string, unknown>> => {
      const r = await postForm(server, agent, path, new URLSearchParams(form).toString());
      if (r.status >= 300) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    await post(setupAgent, '/v1/Configuration/Webhooks', { PostWebhookUrl: webhookUrl, Method: 'POST', Filters: 'onConversationStateUpdated' });

    // ── setup: the conversations (and half the talking ones' participants) ──
    log(`conversations bench: ${CONVERSATIONS} conversations (${Math.round(SILENT_SHARE * 100)} % silent), then ${RATE} messages/s for ${SECONDS} s; server ${server.base} (pid ${pid}), synchronous ${SYNCHRONOUS}`);
    const setupStart = performance.now();
    const convs: Conv[] = new Array<Conv>(CONVERSATIONS);
    const silentCount = Math.round(CONVERSATIONS * SILENT_SHARE);
    let next = 0;
    let setupRequests = 0;
    const setupWorker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= CONVERSATIONS) return;
        // Silent ones interleaved with the talking ones, so that creation order does not bunch their deadlines.
        const silent = i % Math.round(1 / SILENT_SHARE) === 0 && i / Math.round(1 / SILENT_SHARE) < silentCount;
        const seconds = silent ? uniformInt(60, 120) : uniformInt(120, 600);
        const c = await post(setupAgent, '/v1/Conversations', { FriendlyName: `bench ${i}`, State: 'active', 'Timers.Inactive': `PT${seconds}S` });
        setupRequests += 1;
        const sid = String(c['sid']);
        const dueText = (c['timers'] as Record<string, string> | undefined)?.['date_inactive'];
        let author = 'customer';
        if (!silent && i % 2 === 1) {
          author = `customer-${i}`;
          await post(setupAgent, `/v1/Conversations/${sid}/Participants`, { Identity: author });
          setupRequests += 1;
        }
        convs[i] = { sid, silent, author, dueAt: dueText === undefined ? NaN : Date.parse(dueText) };
        if ((i + 1) % 2000 === 0) log(`  ${i + 1} conversations (${((performance.now() - setupStart) / 1000).toFixed(1)} s, server rss ${(processRssMb(pid) ?? 0).toFixed(0)} MB)`);
      }
    };
    await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, setupWorker));
    setupAgent.destroy();
    const setupS = (performance.now() - setupStart) / 1000;
    const firedDuringSetup = [...fired.values()].reduce((a, b) => a + b, 0);
    const active = CONVERSATIONS - firedDuringSetup;
    const rssAfterSetup = processRssMb(pid) ?? 0;
    rssMax = Math.max(rssMax, rssAfterSetup);
    log(`setup: ${CONVERSATIONS} conversations, ${setupRequests} requests in ${setupS.toFixed(1)} s (${Math.round(setupRequests / setupS)}/s); ${active} active with a running inactive timer; server rss ${rssAfterSetup.toFixed(0)} MB`);

    // ── message phase ──
    const talking = convs.filter((c) => !c.silent);
    const silent = convs.filter((c) => c.silent);
    const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
    const latencies: number[] = [];
    const errors: string[] = [];
    let errorCount = 0;
    let sent = 0;
    let answered = 0;
    let lastAnswer = 0;
    const total = Math.round(RATE * SECONDS);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    measuring = true;
    const t0 = performance.now();
    const cpu0 = processCpuMs(pid) ?? 0;
    const progress = (): void => {
      const recent = latencies.slice(-RATE * 10);
      const firedNow = [...fired.values()].reduce((a, b) => a + b, 0);
      log(
        `t=${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s  sent ${sent}  answered ${answered}  errors ${errorCount}  last 10 s: p50 ${round(percentile(sorted(recent), 50))} ms p99 ${round(percentile(sorted(recent), 99))} ms  ` +
          `timers fired ${firedNow} (lateness p99 so far ${round(percentile(sorted(lateness), 99))} ms)  server rss ${(processRssMb(pid) ?? 0).toFixed(0)} MB`,
      );
    };
    const ticker = setInterval(progress, 10_000);
    const sendOne = (): void => {
      const c = talking[Math.floor(Math.random() * talking.length)] as Conv;
      const form = new URLSearchParams({ Author: c.author, Body: `hello ${sent}` }).toString();
      sent += 1;
      const start = performance.now();
      postForm(server, agent, `/v1/Conversations/${c.sid}/Messages`, form).then(
        (r) => {
          const end = performance.now();
          answered += 1;
          lastAnswer = end;
          if (r.status === 201) latencies.push(end - start);
          else {
            errorCount += 1;
            if (errors.length < 5) errors.push(`${r.status} ${JSON.stringify(r.body)}`);
          }
        },
        (error: unknown) => {
          answered += 1;
          errorCount += 1;
          if (errors.length < 5) errors.push(String((error as Error).message));
        },
      );
    };
    const interval = 1000 / RATE;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
        while (sent < due) sendOne();
        if (sent >= total) resolve();
        else setTimeout(tick, Math.max(1, t0 + sent * interval - performance.now()));
      };
      tick();
    });
    while (answered < sent) await sleep(20);
    const phaseS = (lastAnswer - t0) / 1000;
    const serverCpuMs = (processCpuMs(pid) ?? 0) - cpu0;
    log(`messages over after ${phaseS.toFixed(1)} s; waiting ${DRAIN_MS / 1000} s for the last webhooks`);
    await sleep(DRAIN_MS);
    clearInterval(ticker);
    progress();
    loopDelay.disable();
    measuring = false;
    const endAt = Date.now();
    rssMax = Math.max(rssMax, processRssMb(pid) ?? 0);

    // ── figures ──
    const msg = stats(latencies);
    const late = stats(lateness);
    const messagesPerS = latencies.length / phaseS;
    let missing = 0;
    let silentFired = 0;
    for (const c of silent) {
      if (fired.has(c.sid)) silentFired += 1;
      else if (c.dueAt < endAt - 5_000) missing += 1;
    }
    const firedTotal = [...fired.values()].reduce((a, b) => a + b, 0);
    const met = { message_p99: msg.p99 <= TARGET_MESSAGE_P99_MS, timer_lateness_p99: late.n > 0 && late.p99 <= TARGET_LATENESS_P99_MS, rss: rssMax <= TARGET_RSS_MB };
    log('');
    log(`Switchboard conversations benchmark — Node ${process.version}, ${CONVERSATIONS} conversations, ${RATE} messages/s for ${SECONDS} s, synchronous ${SYNCHRONOUS}`);
    log(`setup ${setupS.toFixed(1)} s; active with a running inactive timer when the messages began: ${active}`);
    log(`messages: ${sent} sent, ${latencies.length} created, ${errorCount} errors; ${messagesPerS.toFixed(1)}/s`);
    for (const e of errors) log(`  error: ${e}`);
    log(`message create: p50 ${msg.p50} ms, p99 ${msg.p99} ms, max ${msg.max} ms — target p99 ≤ ${TARGET_MESSAGE_P99_MS} ms: ${met.message_p99 ? 'met' : 'MISSED'}`);
    log(`timers: ${firedTotal} fired in all (${firedDuringSetup} during setup), ${late.n} measured; ${silentFired}/${silent.length} silent conversations timed out, ${missing} missing; ${reactivations} reactivated by a message`);
    log(`timer lateness (webhook received − StateUpdated): p50 ${late.p50} ms, p99 ${late.p99} ms, max ${late.max} ms — target p99 ≤ ${TARGET_LATENESS_P99_MS} ms: ${met.timer_lateness_p99 ? 'met' : 'MISSED'}`);
    if (setupLateness.length > 0) log(`  timers that fired during setup (${setupLateness.length}): lateness p99 ${stats(setupLateness).p99} ms, max ${stats(setupLateness).max} ms (not in the figure above)`);
    log(`server RSS max ${rssMax.toFixed(0)} MB (after setup ${rssAfterSetup.toFixed(0)} MB) — target ≤ ${TARGET_RSS_MB} MB: ${met.rss ? 'met' : 'MISSED'}; server CPU ${(serverCpuMs / 1000).toFixed(1)} s over the message phase (${((serverCpuMs / 1000 / phaseS) * 100).toFixed(0)} % of a core); bench event-loop delay p99 ${round(loopDelay.percentile(99) / 1e6)} ms; load average ${loadavg()[0]?.toFixed(2)}`);
    if (errorCount > 0 || missing > 0) exitCode = 1;
    console.log(
      JSON.stringify({
        active_conversations: active,
        messages_per_s: round(messagesPerS),
        message_p99_ms: msg.p99,
        timer_lateness_p99_ms: late.p99,
        rss_mb: Math.round(rssMax),
        message_p50_ms: msg.p50,
        message_max_ms: msg.max,
        messages: latencies.length,
        message_errors: errorCount,
        timer_lateness_p50_ms: late.p50,
        timer_lateness_max_ms: late.max,
        timers_measured: late.n,
        timers_fired: firedTotal,
        timers_missing: missing,
        state_webhooks: stateWebhooks,
        rss_after_setup_mb: Math.round(rssAfterSetup),
        setup_s: round(setupS),
        server_cpu_s: round(serverCpuMs / 1000),
        bench_loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6),
        load_average_1m: round(loadavg()[0] ?? NaN, 2),
        targets_met: met,
      }),
    );
  } finally {
    clearInterval(rssTicker);
    server.child.removeAllListeners('exit');
    const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
    server.child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    receiver.close();
    receiver.closeAllConnections();
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exitCode = exitCode;
}

await main();
