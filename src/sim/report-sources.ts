/**
 * The server source of `switchboard report` (src/analytics/report-data.ts assembles the report
 * from it or from a data directory's events, src/cli/report-command.ts): a running server's
 * `/v1/Workspaces/{WS}/Analytics/…` routes over HTTP (Basic auth with the Account SID and Auth
 * Token, Twilio paging followed to the end). The JSON of those routes is mapped here, field by
 * field, to the report's neutral rows.
 *
 * Errors: {@link ReportSourceError} for anything a user can fix (no such server or workspace;
 * refused credentials; a reply that is not the expected JSON), with a message naming it.
 */
import { request } from 'undici';
import { INVITATION_OUTCOMES, QUEUE_OUTCOMES } from '../analytics/kpi.ts';
import {
  INTERVALS, intervalsOf, type AgentEngagementRow, type AgentKpiRow, type AgentStatusRow, type AnalyticsSource, type InvitationRow, type KpiRow,
  type QueueEngagementRow,
} from '../analytics/report-data.ts';

/** A problem with a report's source that the user can fix; the message says what and where. */
export class ReportSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReportSourceError';
  }
}

// ---------------------------------------------------------------------------------------------
// From a running server

/** A server and the account to ask it as. */
export interface ServerLocation {
  /** Origin (and optional path prefix) of the API, e.g. "http://127.0.0.1:3000"; the routes are under /v1. */
  baseUrl: string;
  accountSid: string;
  authToken: string;
}

/** Most items asked for per page of a list. */
const PAGE_SIZE = 1000;
/** A server that does not answer within this long is reported as such, ms. */
const TIMEOUT_MS = 30_000;

/**
 * A source reading a running server's analytics routes of `workspaceSid`:
 * `GET /v1/Workspaces/{WS}/Analytics/Kpis` (one row, or one per `Interval` PT15M|PT30M|PT1H|P1D,
 * optionally one `TaskQueueSid`), the lists `QueueEngagements`, `InvitationEngagements`,
 * `AgentEngagements`, `AgentStatus` and `AgentKpis` (Twilio paging: `meta.next_page_url` followed
 * to the end) with `StartDate`/`EndDate` (ISO 8601), and `TaskQueues` and `Workers` for names.
 * Every request sends Basic auth. Rejects with {@link ReportSourceError}.
 */
export function serverSource(server: ServerLocation, workspaceSid: string): AnalyticsSource {
  const base = server.baseUrl.replace(/\/+$/, '');
  const ws = `${base}/v1/Workspaces/${encodeURIComponent(workspaceSid)}`;
  const auth = `Basic ${Buffer.from(`${server.accountSid}:${server.authToken}`).toString('base64')}`;
  const iso = (ms: number): string => new Date(ms).toISOString();

  const get = async (url: string): Promise<Record<string, unknown>> => {
    let res;
    try {
      res = await request(url, { method: 'GET', headers: { authorization: auth, accept: 'application/json' }, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
    } catch (error) {
      throw new ReportSourceError(`--server: cannot reach ${base} (${(error as Error).message}).`, { cause: error });
    }
    const body = await res.body.text();
    let json: unknown;
    try {
      json = body === '' ? undefined : JSON.parse(body);
    } catch {
      json = undefined;
    }
    const message = typeof json === 'object' && json !== null && typeof (json as Record<string, unknown>)['message'] === 'string' ? (json as Record<string, string>)['message'] : body.slice(0, 200);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new ReportSourceError(`${base} refused the credentials (HTTP ${res.statusCode}): check --account-sid and --auth-token (or TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN).`);
    }
    if (res.statusCode === 404) throw new ReportSourceError(`${url} was not found (HTTP 404): ${message || 'no such resource'}. Check --workspace and that the server has the analytics routes.`);
    if (res.statusCode !== 200) throw new ReportSourceError(`${url} answered HTTP ${res.statusCode}: ${message}`);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ReportSourceError(`${url} did not answer a JSON object.`);
    return json as Record<string, unknown>;
  };

  /** Every item of a paged list, following `meta.next_page_url` (absolute, or relative to the server). */
  const list = async <T>(path: string, params: Record<string, string>, map: (o: Record<string, unknown>) => T): Promise<T[]> => {
    const out: T[] = [];
    let url: string | null = `${ws}${path}?${new URLSearchParams({ ...params, PageSize: String(PAGE_SIZE) }).toString()}`;
    const seen = new Set<string>();
    while (url !== null) {
      if (seen.has(url)) throw new ReportSourceError(`${url}: the server's paging loops (next_page_url repeats).`);
      seen.add(url);
      const page = await get(url);
      const meta = page['meta'] as Record<string, unknown> | undefined;
      const key = typeof meta?.['key'] === 'string' ? meta['key'] : undefined;
      const items = key === undefined ? undefined : page[key];
      if (!Array.isArray(items)) throw new ReportSourceError(`${url}: not a list page (no meta.key naming an array).`);
      try {
        for (const item of items) out.push(map(item as Record<string, unknown>));
      } catch (error) {
        if (error instanceof AnalyticsJsonError) throw new ReportSourceError(`${url}: ${error.message}.`, { cause: error });
        throw error;
      }
      const next = meta?.['next_page_url'];
      url = typeof next === 'string' && next !== '' ? new URL(next, `${base}/`).toString() : null;
    }
    return out;
  };
  const period = (from: number, to: number): Record<string, string> => ({ StartDate: iso(from), EndDate: iso(to) });

  return {
    label: `server ${base}`,
    kpis: async ({ from, to, intervalMs, queueSid }) => {
      const params: Record<string, string> = period(from, to);
      if (queueSid !== undefined) params['TaskQueueSid'] = queueSid;
      if (intervalMs !== undefined) {
        const interval = intervalParam(intervalMs);
        if (interval === null) throw new ReportSourceError(`The server's KPIs come per PT15M, PT30M, PT1H or P1D, not per ${intervalMs / 60_000} minutes.`);
        params['Interval'] = interval;
      }
      const url = `${ws}/Analytics/Kpis?${new URLSearchParams(params).toString()}`;
      const body = await get(url);
      const rows = body['kpis'];
      if (!Array.isArray(rows)) throw new ReportSourceError(`${url}: no "kpis" array in the reply.`);
      let mapped: KpiRow[];
      try {
        mapped = rows.map((r) => kpiRowFromJson(r as Record<string, unknown>));
      } catch (error) {
        if (error instanceof AnalyticsJsonError) throw new ReportSourceError(`${url}: ${error.message}.`, { cause: error });
        throw error;
      }
      // Every interval of the period is a row of the report, with or without traffic.
      if (intervalMs === undefined) return mapped;
      const byFrom = new Map(mapped.map((r) => [r.from, r]));
      return intervalsOf(from, to, intervalMs).map(([f, t]) => byFrom.get(f) ?? emptyRow(f, t, mapped[0]));
    },
    queueEngagements: (from, to) => list('/Analytics/QueueEngagements', period(from, to), queueEngagementFromJson),
    invitationEngagements: (from, to) => list('/Analytics/InvitationEngagements', period(from, to), invitationFromJson),
    agentEngagements: (from, to) => list('/Analytics/AgentEngagements', period(from, to), agentEngagementFromJson),
    agentStatus: (from, to) => list('/Analytics/AgentStatus', period(from, to), agentStatusFromJson),
    agentKpis: (from, to) => list('/Analytics/AgentKpis', period(from, to), agentKpiFromJson),
    names: async () => {
      const named = (o: Record<string, unknown>): [string, string] => [String(o['sid']), String(o['friendly_name'] ?? o['sid'])];
      const [queues, workers] = await Promise.all([list('/TaskQueues', {}, named), list('/Workers', {}, named)]);
      return { queues: new Map(queues), workers: new Map(workers) };
    },
  };
}

/** A row with no traffic for an interval the server left out (its thresholds copied from `like`). */
function emptyRow(from: number, to: number, like: KpiRow | undefined): KpiRow {
  return {
    from, to, thresholdS: like?.thresholdS ?? 20, shortAbandonS: like?.shortAbandonS ?? 5, attribution: like?.attribution ?? '',
    offered: 0, accepted: 0, acceptedWithinT: 0, abandoned: 0, abandonedWithinT: 0, shortAbandoned: 0, otherFailures: 0,
    serviceLevel: null, serviceLevelVariant: like?.serviceLevelVariant ?? 'short-abandon-exclusion', serviceLevels: {},
    asaS: null, ahtS: null, handled: 0, abandonmentRate: null, abandonmentRateExShort: null, occupancy: null, occupancyExRinging: null,
    utilization: null, busyS: 0, availableIdleS: 0, staffedS: 0, transferRate: null,
  };
}

// ---------------------------------------------------------------------------------------------
// The server's JSON (the `/Analytics/…` routes)


/**
 * The JSON names of §B8's counts in a `/Analytics/Kpis` row — the one place to change if the
 * server names them otherwise. Each entry lists the accepted names, first match wins.
 */
export const KPI_COUNT_FIELDS: Readonly<Record<'offered' | 'accepted' | 'acceptedWithinT' | 'abandoned' | 'abandonedWithinT' | 'shortAbandoned' | 'otherFailures', readonly string[]>> = {
  offered: ['offered'],
  accepted: ['accepted'],
  acceptedWithinT: ['accepted_within_t', 'accepted_within_threshold'],
  abandoned: ['abandoned'],
  abandonedWithinT: ['abandoned_within_t', 'abandoned_within_threshold'],
  shortAbandoned: ['short_abandoned'],
  otherFailures: ['other_failures'],
};

/** Thrown when a server's JSON lacks a field a report needs or has it of the wrong kind. */
export class AnalyticsJsonError extends Error {
  constructor(what: string, field: string, value: unknown) {
    super(`${what}: field "${field}" is ${value === undefined ? 'missing' : `not as expected (${JSON.stringify(value)})`}`);
    this.name = 'AnalyticsJsonError';
  }
}

type Json = Record<string, unknown>;

function num(o: Json, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new AnalyticsJsonError(what, key, v);
  return v;
}

function numOrNull(o: Json, key: string): number | null {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function text(o: Json, keys: readonly string[], what: string): string {
  for (const k of keys) if (typeof o[k] === 'string') return o[k];
  throw new AnalyticsJsonError(what, keys[0] as string, o[keys[0] as string]);
}

function textOr(o: Json, keys: readonly string[], fallback: string): string {
  for (const k of keys) if (typeof o[k] === 'string') return o[k];
  return fallback;
}

/** An ISO 8601 instant (or epoch ms) as epoch ms; throws {@link AnalyticsJsonError}. */
function instant(o: Json, key: string, what: string): number {
  const v = o[key];
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw new AnalyticsJsonError(what, key, v);
  return ms;
}

function oneOf<K extends string>(o: Json, key: string, allowed: readonly K[], what: string): K | null {
  const v = o[key];
  if (v === null || v === undefined) return null;
  // "Customer Left" (issue 14's spelling) and "CustomerLeft" are one outcome.
  const s = typeof v === 'string' ? v.replace(/\s+/g, '') : v;
  if (typeof s === 'string' && (allowed as readonly string[]).includes(s)) return s as K;
  throw new AnalyticsJsonError(what, key, v);
}

/** A `/Analytics/Kpis` row (snake_case, ISO instants) as a {@link KpiRow}; throws {@link AnalyticsJsonError}. */
export function kpiRowFromJson(o: Json): KpiRow {
  const what = 'a KPI row';
  const count = (names: readonly string[]): number => {
    for (const n of names) if (typeof o[n] === 'number') return o[n];
    throw new AnalyticsJsonError(what, names[0] as string, o[names[0] as string]);
  };
  const levels = o['service_levels'];
  const serviceLevels: Record<string, number | null> = {};
  if (typeof levels === 'object' && levels !== null) for (const [k, v] of Object.entries(levels)) serviceLevels[k] = typeof v === 'number' ? v : null;
  return {
    from: instant(o, 'from', what),
    to: instant(o, 'to', what),
    thresholdS: num(o, 'threshold_s', what),
    shortAbandonS: num(o, 'short_abandon_s', what),
    attribution: textOr(o, ['attribution'], ''),
    offered: count(KPI_COUNT_FIELDS.offered),
    accepted: count(KPI_COUNT_FIELDS.accepted),
    acceptedWithinT: count(KPI_COUNT_FIELDS.acceptedWithinT),
    abandoned: count(KPI_COUNT_FIELDS.abandoned),
    abandonedWithinT: count(KPI_COUNT_FIELDS.abandonedWithinT),
    shortAbandoned: count(KPI_COUNT_FIELDS.shortAbandoned),
    otherFailures: count(KPI_COUNT_FIELDS.otherFailures),
    serviceLevel: numOrNull(o, 'service_level'),
    serviceLevelVariant: textOr(o, ['service_level_variant'], 'short-abandon-exclusion'),
    serviceLevels,
    asaS: numOrNull(o, 'asa_s'),
    ahtS: numOrNull(o, 'aht_s'),
    handled: numOrNull(o, 'handled') ?? 0,
    abandonmentRate: numOrNull(o, 'abandonment_rate'),
    abandonmentRateExShort: numOrNull(o, 'abandonment_rate_ex_short'),
    occupancy: numOrNull(o, 'occupancy'),
    occupancyExRinging: numOrNull(o, 'occupancy_ex_ringing'),
    utilization: numOrNull(o, 'utilization'),
    busyS: numOrNull(o, 'busy_s') ?? 0,
    availableIdleS: numOrNull(o, 'available_idle_s') ?? 0,
    staffedS: numOrNull(o, 'staffed_s') ?? 0,
    transferRate: numOrNull(o, 'transfer_rate'),
  };
}

/** A `/Analytics/QueueEngagements` item as a {@link QueueEngagementRow}. */
export function queueEngagementFromJson(o: Json): QueueEngagementRow {
  const what = 'a queue engagement';
  return {
    queueSid: text(o, ['task_queue_sid', 'queue_sid'], what),
    queueName: textOr(o, ['queue_name', 'task_queue_name'], ''),
    open: instant(o, 'open', what),
    outcome: oneOf(o, 'outcome', QUEUE_OUTCOMES, what),
    waitS: numOrNull(o, 'wait_s'),
  };
}

/** A `/Analytics/InvitationEngagements` item as an {@link InvitationRow}. */
export function invitationFromJson(o: Json): InvitationRow {
  const what = 'an invitation engagement';
  return { agentSid: text(o, ['worker_sid', 'agent_sid'], what), outcome: oneOf(o, 'outcome', INVITATION_OUTCOMES, what) };
}

/** A `/Analytics/AgentEngagements` item as an {@link AgentEngagementRow}. */
export function agentEngagementFromJson(o: Json): AgentEngagementRow {
  const what = 'an agent engagement';
  return {
    agentSid: text(o, ['worker_sid', 'agent_sid'], what),
    engagementS: numOrNull(o, 'engagement_s'),
    wrapupS: numOrNull(o, 'wrapup_s') ?? numOrNull(o, 'wrap_up_s'),
    handlingS: numOrNull(o, 'handling_s'),
  };
}

/** An `/Analytics/AgentStatus` item as an {@link AgentStatusRow}. */
export function agentStatusFromJson(o: Json): AgentStatusRow {
  const what = 'an agent status row';
  return { agentSid: text(o, ['worker_sid', 'agent_sid'], what), bucket: instant(o, 'bucket', what), activity: text(o, ['activity', 'activity_name'], what), seconds: num(o, 'seconds', what) };
}

/** An `/Analytics/AgentKpis` item as an {@link AgentKpiRow}. */
export function agentKpiFromJson(o: Json): AgentKpiRow {
  const what = 'an agent KPI row';
  return {
    agentSid: text(o, ['worker_sid', 'agent_sid'], what),
    invitations: num(o, 'invitations', what),
    accepted: num(o, 'accepted', what),
    missed: num(o, 'missed', what),
    rejected: num(o, 'rejected', what),
    revoked: num(o, 'revoked', what),
    acceptanceRate: numOrNull(o, 'acceptance_rate'),
    rejectRate: numOrNull(o, 'reject_rate'),
    occupancy: numOrNull(o, 'occupancy'),
  };
}

/** The ISO 8601 duration of the server's `Interval` parameter for `intervalMs`, or null if it takes none such. */
export function intervalParam(intervalMs: number): string | null {
  return Object.entries(INTERVALS).find(([, ms]) => ms === intervalMs)?.[0] ?? null;
}
