/**
 * The analytics resources (issue 14 item 3; spec CEA §B7–§B8; docs/analytics.md "Over REST"):
 * `/v1/Workspaces/{WS}/Analytics/…`, read from the workspace's projector that the runtime keeps
 * (src/runtime/analytics-hosting.ts).
 *
 * - `Kpis` → `{ kpis: [row…], url }`: one row for the period, or one per `Interval`.
 * - `Conversations`, `QueueEngagements`, `InvitationEngagements`, `AgentEngagements`,
 *   `AgentStatus` (15-minute rows), `Agents` (with their attribute versions), `AgentKpis`,
 *   `Customers`: Twilio-style pages (`PageSize`, `Page`, `PageToken`; `meta.key` names the list).
 * - Each also as CSV (`Accept: text/csv`, or the path with `.csv`): every row of the period, not a
 *   page, as an attachment; nested values flattened into columns ({@link flatten}).
 *
 * - `WaitTimes` → `{ wait_times: [row…], minutes, url }`: the live EWT of a caller entering each
 *   queue now, per task channel ({@link waitTimeRows}); a Switchboard extension (TaskRouter has no
 *   EWT resource), for the console's queues table.
 *
 * Filters: `StartDate`, `EndDate` (ISO 8601; the period is [StartDate, EndDate); default the 24
 * hours before the workspace's clock), `TaskQueueSid`, `WorkerSid`, `TaskChannel` (unique name or
 * TC SID), and for Kpis `Threshold` and `ShortAbandonThreshold` (seconds; default 20 and 5),
 * `Interval` (`PT15M`, `PT30M`, `PT1H`, `P1D`; the rows come from one pass over the model). A bad value is a 400 (20001) naming the parameter.
 *
 * Field names: the projector's fields in snake_case (`waitS` → `wait_s`, `taskSid` → `task_sid`),
 * except the SIDs TaskRouter names otherwise: `agentSid` → `worker_sid`, `queueSid` →
 * `task_queue_sid`. Instants are ISO 8601 UTC strings with milliseconds; durations are seconds
 * (`_s`); shares are 0–1 or null.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify } from 'csv-stringify/sync';
import { liveEwtSeconds, queueViewOf } from '../../callbacks/index.ts';
import { AnalyticsProjector, type AgentEngagement, type Conversation, type InvitationEngagement, type Kpis, type QueueEngagement } from '../../analytics/projector.ts';
import type { WorkspaceEngine } from '../../engine/index.ts';
import { accountOf, originOf, pageRequest, pathOf, queryOf, workspaceOf, type Api } from '../context.ts';
import { page } from '../paging.ts';
import type { Params } from '../params.ts';
import { badParameter } from '../twilio-errors.ts';

const BASE = '/v1/Workspaces/:WorkspaceSid/Analytics';
const DAY_MS = 86_400_000;
/** Most rows one Kpis request with `Interval` may ask for. */
export const MAX_KPI_INTERVALS = 1_000;

/** `Interval` values and their length, ms. */
export const INTERVALS = { PT15M: 15 * 60_000, PT30M: 30 * 60_000, PT1H: 3_600_000, P1D: DAY_MS } as const;

/** A request's filters, resolved (instants epoch ms). */
export interface AnalyticsFilters {
  from: number;
  to: number;
  /** The request's instant: open intervals count up to here (ms). */
  asOf: number;
  queue: string | undefined;
  worker: string | undefined;
  /** The channel's unique name (as the events carry it). */
  channel: string | undefined;
}

type Json = Record<string, unknown>;

/** The request's period and dimension filters; throws a 400 naming the parameter at fault. */
export function analyticsFilters(engine: WorkspaceEngine, q: Params, clock: number): AnalyticsFilters {
  const now = Math.max(clock, engine.now);
  const to = q.date('EndDate') ?? now;
  const from = q.date('StartDate') ?? to - DAY_MS;
  if (from >= to) throw badParameter('StartDate', `StartDate must be before EndDate (the period is [StartDate, EndDate))`);
  const queue = q.sid('TaskQueueSid', 'WQ');
  const worker = q.sid('WorkerSid', 'WK');
  const ref = q.string('TaskChannel');
  let channel: string | undefined;
  if (ref !== undefined) {
    const ch = engine.findChannel(ref);
    if (ch === undefined) throw badParameter('TaskChannel', `TaskChannel ${ref} is not a task channel SID or unique name in this workspace`);
    channel = ch.uniqueName;
  }
  return { from, to, asOf: now, queue, worker, channel };
}

/** A threshold in seconds: a non-negative number up to a day. */
function seconds(q: Params, name: string, fallback: number): number {
  const v = q.string(name);
  if (v === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || Number(v) > 86_400) throw badParameter(name, `${name} must be a number of seconds from 0 to 86400 (got '${v}')`);
  return Number(v);
}

/** An instant as ISO 8601 UTC with milliseconds, or null. */
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** camelCase → snake_case, with TaskRouter's names for the SIDs (see the module comment). */
export function snake(key: string): string {
  if (key === 'agentSid') return 'worker_sid';
  if (key === 'queueSid') return 'task_queue_sid';
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A record with its keys in snake_case and the named instant fields as ISO strings. */
function wire(record: object, instants: readonly string[]): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(record)) out[snake(k)] = instants.includes(k) ? iso(v as number | null) : v;
  return out;
}

/**
 * A JSON row as CSV columns: a nested object's keys become `<key>_<child>` columns (non-alphanumerics
 * as `_`: `service_levels.answered-only` → `service_levels_answered_only`), an array of objects
 * becomes one CSV row per element (`versions` → `version_<field>` columns, the parent's columns
 * repeated), any other array or object is its JSON text, a boolean is `true`/`false`, null is an
 * empty cell.
 */
export function flatten(row: Json): Json[] {
  const base: Json = {};
  let expand: { name: string; items: Json[] } | null = null;
  for (const [k, v] of Object.entries(row)) {
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x)) && expand === null) {
      expand = { name: k.replace(/s$/, ''), items: v as Json[] };
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [ck, cv] of Object.entries(v as Json)) base[`${k}_${ck.replace(/[^A-Za-z0-9]+/g, '_')}`] = cell(cv);
    } else base[k] = cell(v);
  }
  if (expand === null) return [base];
  const name = expand.name;
  return expand.items.map((item) => {
    const out: Json = { ...base };
    for (const [ck, cv] of Object.entries(item)) out[`${name}_${ck}`] = cell(cv);
    return out;
  });
}

function cell(v: unknown): unknown {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

// ── the resources ──

const CONVERSATION_INSTANTS = ['start', 'virtualStart', 'end'];
const QE_INSTANTS = ['open', 'close'];
const AE_INSTANTS = ['accept', 'wrapup', 'close'];

/** One paged resource: its rows for the filters, their cursor ids, their JSON and CSV columns. */
interface Resource<T> {
  name: string;
  key: string;
  rows: (p: AnalyticsProjector, f: AnalyticsFilters) => T[];
  id: (row: T) => string;
  json: (row: T) => Json;
  /** CSV header (the flattened JSON's columns, in order). */
  columns: string[];
}

function inPeriod(at: number | null, f: AnalyticsFilters): boolean {
  return at !== null && at >= f.from && at < f.to;
}

/** Tasks with an agent engagement of `worker` (what WorkerSid narrows task-level rows to). */
function tasksOf(p: AnalyticsProjector, f: AnalyticsFilters): Set<string> | null {
  if (f.worker === undefined && f.queue === undefined) return null;
  const { queue, agent } = p.engagements();
  let tasks: Set<string> | null = null;
  if (f.worker !== undefined) tasks = new Set(agent.filter((a) => a.agentSid === f.worker).map((a) => a.taskSid));
  if (f.queue !== undefined) {
    const inQueue = new Set(queue.filter((x) => x.queueSid === f.queue).map((x) => x.taskSid));
    tasks = tasks === null ? inQueue : new Set([...tasks].filter((t) => inQueue.has(t)));
  }
  return tasks;
}

function conversationsOf(p: AnalyticsProjector, f: AnalyticsFilters): Conversation[] {
  const tasks = tasksOf(p, f);
  return p
    .conversations()
    .filter((c) => inPeriod(c.start, f) && (f.channel === undefined || c.channel === f.channel) && (tasks === null || tasks.has(c.taskSid)))
    .sort((a, b) => a.start - b.start || (a.taskSid < b.taskSid ? -1 : 1));
}

const conversations: Resource<Conversation> = {
  name: 'Conversations',
  key: 'conversations',
  rows: conversationsOf,
  id: (c) => c.taskSid,
  json: (c) => wire(c, CONVERSATION_INSTANTS),
  columns: ['task_sid', 'customer_id', 'channel', 'start', 'virtual_start', 'end', 'end_reason', 'duration_s', 'conversation_sid', 'attributes', 'transferred_from', 'transfer_sid', 'journey_task_sid'],
};

const queueEngagements: Resource<QueueEngagement> = {
  name: 'QueueEngagements',
  key: 'queue_engagements',
  rows: (p, f) => {
    const tasks = f.worker === undefined ? null : tasksOf(p, { ...f, queue: undefined });
    return p
      .engagements({ from: f.from, to: f.to })
      .queue.filter((x) => (f.queue === undefined || x.queueSid === f.queue) && (f.channel === undefined || x.channel === f.channel) && (tasks === null || tasks.has(x.taskSid)))
      .sort((a, b) => a.open - b.open || (a.id < b.id ? -1 : 1));
  },
  id: (x) => x.id,
  json: (x) => wire(x, QE_INSTANTS),
  columns: ['id', 'task_sid', 'task_queue_sid', 'queue_name', 'channel', 'open', 'close', 'outcome', 'wait_s'],
};

const invitationEngagements: Resource<InvitationEngagement> = {
  name: 'InvitationEngagements',
  key: 'invitation_engagements',
  rows: (p, f) =>
    p
      .engagements()
      .invitation.filter(
        (x) =>
          inPeriod(x.open ?? x.close, f) &&
          (f.queue === undefined || x.queueSid === f.queue) &&
          (f.worker === undefined || x.agentSid === f.worker) &&
          (f.channel === undefined || x.channel === f.channel),
      )
      .sort((a, b) => (a.open ?? a.close ?? 0) - (b.open ?? b.close ?? 0) || (a.reservationSid < b.reservationSid ? -1 : 1)),
  id: (x) => x.reservationSid,
  json: (x) => wire(x, QE_INSTANTS),
  columns: ['reservation_sid', 'task_sid', 'worker_sid', 'task_queue_sid', 'channel', 'open', 'close', 'outcome', 'invitation_s'],
};

const agentEngagements: Resource<AgentEngagement> = {
  name: 'AgentEngagements',
  key: 'agent_engagements',
  rows: (p, f) =>
    p
      .engagements({ from: f.from, to: f.to })
      .agent.filter((x) => (f.queue === undefined || x.queueSid === f.queue) && (f.worker === undefined || x.agentSid === f.worker) && (f.channel === undefined || x.channel === f.channel))
      .sort((a, b) => a.accept - b.accept || (a.reservationSid < b.reservationSid ? -1 : 1)),
  id: (x) => x.reservationSid,
  json: (x) => wire(x, AE_INSTANTS),
  columns: ['reservation_sid', 'task_sid', 'worker_sid', 'agent_team', 'task_queue_sid', 'channel', 'accept', 'wrapup', 'close', 'wait_s', 'invitation_s', 'engagement_s', 'wrapup_s', 'handling_s', 'transferred', 'transfer_sid'],
};

type StatusRow = ReturnType<AnalyticsProjector['statusIntervals']>[number];
const agentStatus: Resource<StatusRow> = {
  name: 'AgentStatus',
  key: 'agent_status',
  rows: (p, f) => p.statusIntervals({ from: f.from, to: f.to, asOf: f.asOf, ...(f.worker === undefined ? {} : { agent: f.worker }) }),
  id: (r) => `${r.agentSid}.${r.bucket}.${r.activity}`,
  json: (r) => wire(r, ['bucket']),
  columns: ['worker_sid', 'bucket', 'activity', 'seconds'],
};

type AgentRow = ReturnType<AnalyticsProjector['agents']>[number];
const agents: Resource<AgentRow> = {
  name: 'Agents',
  key: 'agents',
  rows: (p, f) => p.agents().filter((a) => f.worker === undefined || a.agentSid === f.worker).sort((a, b) => (a.agentSid < b.agentSid ? -1 : 1)),
  id: (a) => a.agentSid,
  json: (a) => ({ worker_sid: a.agentSid, name: a.name, versions: a.versions.map((v) => wire(v, ['validFrom', 'validTo'])) }),
  columns: ['worker_sid', 'name', 'version_valid_from', 'version_valid_to', 'version_full_name', 'version_department', 'version_location', 'version_manager', 'version_team', 'version_roles', 'version_email', 'version_raw'],
};

type AgentKpiRow = Kpis['agents'][number];
const agentKpis: Resource<AgentKpiRow> = {
  name: 'AgentKpis',
  key: 'agent_kpis',
  rows: (p, f) => p.kpis(kpiQuery(f, 20, 5)).agents,
  id: (a) => a.agentSid,
  json: (a) => wire(a, []),
  columns: ['worker_sid', 'invitations', 'accepted', 'missed', 'rejected', 'revoked', 'acceptance_rate', 'reject_rate', 'occupancy'],
};

type CustomerRow = ReturnType<AnalyticsProjector['customers']>[number];
const customers: Resource<CustomerRow> = {
  name: 'Customers',
  key: 'customers',
  rows: (p, f) => {
    const ids = new Set(conversationsOf(p, f).map((c) => c.customerId));
    return p.customers().filter((c) => ids.has(c.customerId)).sort((a, b) => a.firstSeen - b.firstSeen || (a.customerId < b.customerId ? -1 : 1));
  },
  id: (c) => c.customerId,
  json: (c) => wire(c, ['firstSeen']),
  columns: ['customer_id', 'source', 'first_seen', 'conversations'],
};

const RESOURCES: Resource<never>[] = [conversations, queueEngagements, invitationEngagements, agentEngagements, agentStatus, agents, agentKpis, customers] as unknown as Resource<never>[];

function kpiQuery(f: AnalyticsFilters, thresholdS: number, shortAbandonS: number): Parameters<AnalyticsProjector['kpis']>[0] {
  return {
    from: f.from,
    to: f.to,
    asOf: f.asOf,
    thresholdS,
    shortAbandonS,
    ...(f.queue === undefined ? {} : { queue: f.queue }),
    ...(f.worker === undefined ? {} : { agent: f.worker }),
    ...(f.channel === undefined ? {} : { channel: f.channel }),
  };
}

/** One Kpis row (see docs/analytics.md for every field): the counts flattened, the five service levels by variant. */
export function kpiRow(k: Kpis, f: AnalyticsFilters): Json {
  return {
    from: iso(k.from),
    to: iso(k.to),
    threshold_s: k.thresholdS,
    short_abandon_s: k.shortAbandonS,
    attribution: k.attribution,
    offered: k.counts.offered,
    accepted: k.counts.accepted,
    accepted_within_t: k.counts.acceptedWithinT,
    abandoned: k.counts.abandoned,
    abandoned_within_t: k.counts.abandonedWithinT,
    short_abandoned: k.counts.shortAbandoned,
    other_failures: k.counts.otherFailures,
    service_level: k.serviceLevel.value,
    service_level_variant: k.serviceLevel.variant,
    service_levels: { ...k.serviceLevel.variants },
    asa_s: k.asaS,
    aht_s: k.ahtS,
    handled: k.handled,
    abandonment_rate: k.abandonmentRate,
    abandonment_rate_ex_short: k.abandonmentRateExShort,
    occupancy: k.occupancy,
    occupancy_ex_ringing: k.occupancyExRinging,
    utilization: k.utilization,
    busy_s: k.busyS,
    available_idle_s: k.availableIdleS,
    staffed_s: k.staffedS,
    transfer_rate: k.transferRate,
    task_queue_sid: f.queue ?? null,
    worker_sid: f.worker ?? null,
    task_channel: f.channel ?? null,
  };
}

/** The Kpis CSV header: the flattened columns of a row (an empty projector's has every field). */
const KPI_COLUMNS = Object.keys(flatten(kpiRow(new AnalyticsProjector().kpis({ from: 0, to: 1 }), { from: 0, to: 1, asOf: 1, queue: undefined, worker: undefined, channel: undefined }))[0] as Json);

/** The KPI rows of a request: one for the period, or one per `Interval` (aligned to UTC multiples of its length, clipped to the period). */
function kpiRows(p: AnalyticsProjector, q: Params, f: AnalyticsFilters): Json[] {
  const thresholdS = seconds(q, 'Threshold', 20);
  const shortAbandonS = seconds(q, 'ShortAbandonThreshold', 5);
  const interval = q.oneOf('Interval', Object.keys(INTERVALS) as (keyof typeof INTERVALS)[]);
  if (interval === undefined) return [kpiRow(p.kpis(kpiQuery(f, thresholdS, shortAbandonS)), f)];
  const len = INTERVALS[interval];
  const first = Math.floor(f.from / len) * len;
  if ((f.to - first) / len > MAX_KPI_INTERVALS) throw badParameter('Interval', `Interval ${interval} gives more than ${MAX_KPI_INTERVALS} rows for this period: ask for a longer interval or a shorter period`);
  // One pass over the model for the whole series (the projector's kpiSeries: the same rows as a kpis() call per interval).
  return p.kpiSeries({ ...kpiQuery(f, thresholdS, shortAbandonS), intervalMs: len }).map((k) => kpiRow(k, { ...f, from: k.from, to: k.to }));
}

/** Whether the request asks for CSV: a `.csv` path, or `Accept: text/csv`. */
function wantsCsv(req: FastifyRequest, suffix: boolean): boolean {
  if (suffix) return true;
  const accept = String(req.headers.accept ?? '').toLowerCase();
  return accept.split(',').some((part) => part.split(';')[0]?.trim() === 'text/csv');
}

function sendCsv(reply: FastifyReply, name: string, workspaceSid: string, f: AnalyticsFilters, columns: string[], rows: Json[]): string {
  const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[:.]/g, '').replace(/\d{3}Z$/, 'Z');
  const filename = `analytics-${name.toLowerCase()}-${workspaceSid}-${stamp(f.from)}-${stamp(f.to)}.csv`;
  reply.header('content-type', 'text/csv; charset=utf-8');
  reply.header('content-disposition', `attachment; filename="${filename}"`);
  return stringify(rows.flatMap(flatten), { header: true, columns });
}

/** Longest look-back of `WaitTimes`, minutes (a day). */
const MAX_WAIT_LOOKBACK_MINUTES = 1_440;

/**
 * The live EWT of each queue × task channel (`GET Analytics/WaitTimes`): for a caller entering the
 * queue now, QLm (spec callbacks-and-ewt §7.3, the callback core's {@link liveEwtSeconds}) over the
 * tasks waiting in it beyond its idle worker slots, served by its busy slots at μ̂ = 1 / the mean
 * handling time of the queue's engagements closed in the last `Minutes` (default 60; 180 s before
 * any) with abandonment θ̂ = callers who left ÷ seconds waited over the same minutes.
 * `estimated_wait_time` is whole seconds, 0 when an idle slot is left, null when nobody is
 * staffed. One row per queue and channel on which the queue has staffed workers or waiting tasks
 * (every channel, or only `TaskChannel`), by queue name then channel. `Minutes` outside 1–1440 is
 * a 400 naming it.
 */
export function waitTimeRows(engine: WorkspaceEngine, p: AnalyticsProjector, q: Params, clock: number): { minutes: number; rows: Json[] } {
  const f = analyticsFilters(engine, q, clock);
  const raw = q.string('Minutes');
  const minutes = raw === undefined ? 60 : Number(raw);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_WAIT_LOOKBACK_MINUTES) {
    throw badParameter('Minutes', `Minutes must be a whole number of minutes from 1 to ${MAX_WAIT_LOOKBACK_MINUTES} (got '${raw}')`);
  }
  const channels = [...engine.channels.values()].filter((c) => !c.deleted && (f.channel === undefined || c.uniqueName === f.channel));
  const queues = [...engine.queues.values()].map((v) => v.record).filter((r) => f.queue === undefined || r.sid === f.queue);
  queues.sort((a, b) => a.friendlyName.localeCompare(b.friendlyName) || a.sid.localeCompare(b.sid));
  const rows: Json[] = [];
  for (const queue of queues) {
    for (const channel of channels) {
      const view = queueViewOf(engine, queue.sid, channel.sid);
      if (view === null || (view.staffed === 0 && view.waiting.length === 0 && f.channel === undefined)) continue;
      const s = p.waitStats({ from: f.asOf - minutes * 60_000, to: f.asOf + 1, queue: queue.sid, channel: channel.uniqueName });
      const ewt = liveEwtSeconds(engine, { taskQueueSid: queue.sid, taskChannel: channel.sid }, { services: s.meanHandlingS === null ? [] : [s.meanHandlingS], abandonments: s.abandoned, waitedSeconds: s.waitedS });
      rows.push({
        task_queue_sid: queue.sid,
        task_queue_name: queue.friendlyName,
        task_channel: channel.uniqueName,
        estimated_wait_time: ewt === null ? null : Math.round(ewt),
        tasks_waiting: view.waiting.length,
        idle_slots: view.idleServers,
        busy_slots: view.busyServers,
        workers_staffed: view.staffed,
        aht_s: s.meanHandlingS,
        handled: s.handled,
        abandoned: s.abandoned,
        waited_s: s.waitedS,
      });
    }
  }
  return { minutes, rows };
}

/** Registers the analytics routes (module comment). */
export function analyticsRoutes(app: FastifyInstance, api: Api): void {
  const context = (req: FastifyRequest): { engine: WorkspaceEngine; p: AnalyticsProjector; q: Params; f: AnalyticsFilters } => {
    const engine = workspaceOf(api, req);
    const q = queryOf(req);
    return { engine, p: api.runtime.analytics.projector(engine.workspace.sid), q, f: analyticsFilters(engine, q, api.clock()) };
  };

  app.get(`${BASE}/WaitTimes`, async (req) => {
    const { engine, p, q } = context(req);
    const { minutes, rows } = waitTimeRows(engine, p, q, api.clock());
    return { wait_times: rows, minutes, url: originOf(api, req) + pathOf(req), account_sid: accountOf(req), workspace_sid: engine.workspace.sid };
  });

  for (const suffix of [false, true]) {
    const ext = suffix ? '.csv' : '';
    app.get(`${BASE}/Kpis${ext}`, async (req, reply) => {
      const { engine, p, q, f } = context(req);
      const rows = kpiRows(p, q, f);
      if (wantsCsv(req, suffix)) return sendCsv(reply, 'Kpis', engine.workspace.sid, f, KPI_COLUMNS, rows);
      return { kpis: rows, url: originOf(api, req) + pathOf(req), account_sid: accountOf(req), workspace_sid: engine.workspace.sid };
    });
    for (const r of RESOURCES) {
      app.get(`${BASE}/${r.name}${ext}`, async (req, reply) => {
        const { engine, p, f } = context(req);
        const rows = r.rows(p, f);
        if (wantsCsv(req, suffix)) return sendCsv(reply, r.name, engine.workspace.sid, f, r.columns, rows.map(r.json));
        return page(pageRequest(api, req, r.key), rows, r.id, r.json);
      });
    }
  }
}
