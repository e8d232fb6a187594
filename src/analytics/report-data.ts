/**
 * The data of an analytics report (`switchboard report`): a neutral {@link AnalyticsReportData}
 * assembled by {@link buildReportData} from any {@link AnalyticsSource} — the analytics
 * projector fed a data directory's events ({@link projectorSource}), or a running server's
 * `/v1/Workspaces/{WS}/Analytics/…` routes (src/sim/report-sources.ts, which also maps their JSON). Definitions of every figure:
 * shared/specs/conversations-events-analytics.md §B7 (model) and §B8 (KPIs).
 *
 * Units: instants are epoch **milliseconds**, durations **seconds** (fields end in `S`), ratios
 * shares 0–1 or null when the denominator is 0. Pure: no clock, no I/O (a source may do I/O).
 */
import { INVITATION_OUTCOMES, QUEUE_OUTCOMES } from './kpi.ts';
import type { AnalyticsProjector, InvitationOutcome, Kpis, QueueOutcome } from './projector.ts';

/**
 * One KPI row of §B8 (a period, or one interval of it): the projector's {@link Kpis} without its
 * per-agent list, the counts (§B8's O, A, A_T, B, B_T, S, X) flat, and the service level as its
 * value, the variant it is and all five variants — the shape both sources can give (the REST rows
 * carry it so).
 */
export type KpiRow = Omit<Kpis, 'counts' | 'serviceLevel' | 'agents' | 'attribution'> &
  Kpis['counts'] & {
    attribution: string;
    serviceLevel: number | null;
    serviceLevelVariant: string;
    serviceLevels: Record<string, number | null>;
  };

/** A queue engagement as a report needs it (§B7). */
export interface QueueEngagementRow {
  queueSid: string;
  queueName: string;
  /** Open instant, ms. */
  open: number;
  outcome: QueueOutcome | null;
  waitS: number | null;
}

/** An invitation engagement as a report needs it (§B7). */
export interface InvitationRow {
  agentSid: string;
  outcome: InvitationOutcome | null;
}

/** An agent engagement as a report needs it (§B7); null times while it is open. */
export interface AgentEngagementRow {
  agentSid: string;
  engagementS: number | null;
  wrapupS: number | null;
  handlingS: number | null;
}

/** Seconds of one agent in one activity within one 15-minute bucket (§B7). */
export interface AgentStatusRow {
  agentSid: string;
  /** Bucket start, ms. */
  bucket: number;
  activity: string;
  seconds: number;
}

/** Per-agent invitation figures (§B8 agent-level extras). */
export interface AgentKpiRow {
  agentSid: string;
  invitations: number;
  accepted: number;
  missed: number;
  rejected: number;
  revoked: number;
  acceptanceRate: number | null;
  rejectRate: number | null;
  occupancy: number | null;
}

/**
 * Where a report's figures come from. Periods are [from, to) in epoch ms; `intervalMs` splits the
 * period into rows of that length (the last one clipped at `to`).
 */
export interface AnalyticsSource {
  /** What the report names as its source: "data directory /path" or "server http://…". */
  readonly label: string;
  /** §B8 KPIs over the period — one row, or one per interval — for all queues or one. */
  kpis(q: { from: number; to: number; intervalMs?: number; queueSid?: string }): Promise<KpiRow[]>;
  /** Queue engagements opened in the period. */
  queueEngagements(from: number, to: number): Promise<QueueEngagementRow[]>;
  /** Invitation engagements opened in the period. */
  invitationEngagements(from: number, to: number): Promise<InvitationRow[]>;
  /** Agent engagements accepted in the period. */
  agentEngagements(from: number, to: number): Promise<AgentEngagementRow[]>;
  /** Agent status seconds per 15-minute bucket overlapping the period (Offline not stored). */
  agentStatus(from: number, to: number): Promise<AgentStatusRow[]>;
  /** Per-agent invitation figures and occupancy over the period. */
  agentKpis(from: number, to: number): Promise<AgentKpiRow[]>;
  /** Display names of queues and workers by SID (what the source knows). */
  names(): Promise<{ queues: Map<string, string>; workers: Map<string, string> }>;
}

/** One queue's figures over the period. */
export interface QueueReport {
  queueSid: string;
  queueName: string;
  kpis: KpiRow;
  /** Queue engagements by outcome, every outcome present. */
  outcomes: Record<QueueOutcome, number>;
}

/** One agent's figures over the period. */
export interface AgentReport extends AgentKpiRow {
  name: string;
  /** Seconds per activity (Offline not stored). */
  statusSeconds: Record<string, number>;
}

/** Everything `switchboard report` shows, whatever the source. */
export interface AnalyticsReportData {
  workspaceSid: string;
  source: string;
  /** [from, to), epoch ms. */
  from: number;
  to: number;
  /** Length of the rows of {@link intervals}, ms. */
  intervalMs: number;
  total: KpiRow;
  /** Per queue, by name. */
  queues: QueueReport[];
  /** Per interval, all queues; every interval of the period, in time order. */
  intervals: KpiRow[];
  /** The busiest intervals: most offered first (then most abandoned), at most {@link BUSIEST}, only those with traffic. */
  busiest: KpiRow[];
  /** Per agent, by name. */
  agents: AgentReport[];
  /** Seconds per activity over all agents, by activity name. */
  statusSeconds: Record<string, number>;
  /** Queue engagements by outcome over all queues. */
  queueOutcomes: Record<QueueOutcome, number>;
  invitationOutcomes: Record<InvitationOutcome, number>;
  /** Agent engagements accepted in the period and their mean times over the closed ones, seconds. */
  agentEngagements: { count: number; meanEngagementS: number | null; meanWrapupS: number | null; meanHandlingS: number | null };
}

/** How many busiest intervals a report lists. */
export const BUSIEST = 5;

/** The interval lengths the server's KPI route takes (ISO 8601 durations), in ms. */
export const INTERVALS: Readonly<Record<string, number>> = { PT15M: 15 * 60_000, PT30M: 30 * 60_000, PT1H: 3_600_000, P1D: 86_400_000 };

/** The interval a report uses when none is asked for: 15 min up to 2 days, 1 h up to 14 days, else 1 day. */
export function defaultIntervalMs(from: number, to: number): number {
  const span = to - from;
  if (span <= 2 * 86_400_000) return INTERVALS['PT15M'] as number;
  if (span <= 14 * 86_400_000) return INTERVALS['PT1H'] as number;
  return INTERVALS['P1D'] as number;
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

/**
 * Assembles the report of `workspaceSid` over [from, to) with rows of `intervalMs` from `source`.
 * Rejects with whatever the source rejects with.
 */
export async function buildReportData(source: AnalyticsSource, q: { workspaceSid: string; from: number; to: number; intervalMs: number }): Promise<AnalyticsReportData> {
  const { from, to, intervalMs } = q;
  const [[total], intervals, qes, ies, aes, status, agentKpis, names] = await Promise.all([
    source.kpis({ from, to }),
    source.kpis({ from, to, intervalMs }),
    source.queueEngagements(from, to),
    source.invitationEngagements(from, to),
    source.agentEngagements(from, to),
    source.agentStatus(from, to),
    source.agentKpis(from, to),
    source.names(),
  ]);
  if (total === undefined) throw new Error(`${source.label} returned no KPI row for the period`);

  // Queues: those with engagements in the period, named by the source (else by the engagement).
  const queueNames = new Map<string, string>();
  const outcomesByQueue = new Map<string, Record<QueueOutcome, number>>();
  const queueOutcomes = zeros(QUEUE_OUTCOMES);
  for (const qe of qes) {
    if (!queueNames.has(qe.queueSid)) queueNames.set(qe.queueSid, names.queues.get(qe.queueSid) ?? (qe.queueName || qe.queueSid));
    let o = outcomesByQueue.get(qe.queueSid);
    if (o === undefined) outcomesByQueue.set(qe.queueSid, (o = zeros(QUEUE_OUTCOMES)));
    if (qe.outcome !== null) {
      o[qe.outcome] += 1;
      queueOutcomes[qe.outcome] += 1;
    }
  }
  const queueSids = [...queueNames.keys()].sort((a, b) => (queueNames.get(a) as string).localeCompare(queueNames.get(b) as string) || a.localeCompare(b));
  const queueKpis = await Promise.all(queueSids.map((sid) => source.kpis({ from, to, queueSid: sid })));
  const queues = queueSids.map((sid, i) => ({
    queueSid: sid,
    queueName: queueNames.get(sid) as string,
    kpis: queueKpis[i]?.[0] ?? total,
    outcomes: outcomesByQueue.get(sid) as Record<QueueOutcome, number>,
  }));

  const invitationOutcomes = zeros(INVITATION_OUTCOMES);
  for (const ie of ies) if (ie.outcome !== null) invitationOutcomes[ie.outcome] += 1;

  let closed = 0;
  let engagement = 0;
  let wrapup = 0;
  let handling = 0;
  for (const ae of aes) {
    if (ae.handlingS === null) continue;
    closed += 1;
    engagement += ae.engagementS ?? 0;
    wrapup += ae.wrapupS ?? 0;
    handling += ae.handlingS;
  }
  const mean = (s: number): number | null => (closed === 0 ? null : s / closed);

  // Agents: every agent with figures or status in the period.
  const statusByAgent = new Map<string, Record<string, number>>();
  const statusSeconds: Record<string, number> = {};
  for (const row of status) {
    if (row.bucket >= to) continue;
    let st = statusByAgent.get(row.agentSid);
    if (st === undefined) statusByAgent.set(row.agentSid, (st = {}));
    st[row.activity] = (st[row.activity] ?? 0) + row.seconds;
    statusSeconds[row.activity] = (statusSeconds[row.activity] ?? 0) + row.seconds;
  }
  const kpiOf = new Map(agentKpis.map((a) => [a.agentSid, a]));
  const agentSids = [...new Set([...kpiOf.keys(), ...statusByAgent.keys()])];
  const agentName = (sid: string): string => names.workers.get(sid) ?? sid;
  const agents = agentSids
    .map((sid): AgentReport => ({
      ...(kpiOf.get(sid) ?? { agentSid: sid, invitations: 0, accepted: 0, missed: 0, rejected: 0, revoked: 0, acceptanceRate: null, rejectRate: null, occupancy: null }),
      name: agentName(sid),
      statusSeconds: statusByAgent.get(sid) ?? {},
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.agentSid.localeCompare(b.agentSid));

  const busiest = intervals
    .filter((r) => r.offered > 0)
    .sort((a, b) => b.offered - a.offered || b.abandoned - a.abandoned || a.from - b.from)
    .slice(0, BUSIEST);

  return {
    workspaceSid: q.workspaceSid,
    source: source.label,
    from,
    to,
    intervalMs,
    total,
    queues,
    intervals: [...intervals].sort((a, b) => a.from - b.from),
    busiest,
    agents,
    statusSeconds,
    queueOutcomes,
    invitationOutcomes,
    agentEngagements: { count: aes.length, meanEngagementS: mean(engagement), meanWrapupS: mean(wrapup), meanHandlingS: mean(handling) },
  };
}

// ---------------------------------------------------------------------------------------------
// From the projector

/** A projector's {@link Kpis} as a {@link KpiRow}. */
export function kpiRowFromKpis(k: Kpis): KpiRow {
  return {
    from: k.from,
    to: k.to,
    thresholdS: k.thresholdS,
    shortAbandonS: k.shortAbandonS,
    attribution: k.attribution,
    ...k.counts,
    serviceLevel: k.serviceLevel.value,
    serviceLevelVariant: k.serviceLevel.variant,
    serviceLevels: { ...k.serviceLevel.variants },
    asaS: k.asaS,
    ahtS: k.ahtS,
    handled: k.handled,
    abandonmentRate: k.abandonmentRate,
    abandonmentRateExShort: k.abandonmentRateExShort,
    occupancy: k.occupancy,
    occupancyExRinging: k.occupancyExRinging,
    utilization: k.utilization,
    busyS: k.busyS,
    availableIdleS: k.availableIdleS,
    staffedS: k.staffedS,
    transferRate: k.transferRate,
  };
}

/** [from, to) cut into rows of `intervalMs` aligned on multiples of it (UTC), the first and last clipped. */
export function intervalsOf(from: number, to: number, intervalMs: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = Math.floor(from / intervalMs) * intervalMs; s < to; s += intervalMs) out.push([Math.max(s, from), Math.min(s + intervalMs, to)]);
  return out;
}

/**
 * A source over an {@link AnalyticsProjector} that has been fed and flushed: every figure is the
 * projector's own (kpis, engagements, statusIntervals, agents). `label` names where its events came from.
 */
export function projectorSource(projector: AnalyticsProjector, label: string): AnalyticsSource {
  const inPeriod = (at: number | null, from: number, to: number): boolean => at !== null && at >= from && at < to;
  return {
    label,
    kpis: async ({ from, to, intervalMs, queueSid }) => {
      const q = { from, to, ...(queueSid === undefined ? {} : { queue: queueSid }) };
      if (intervalMs === undefined) return [kpiRowFromKpis(projector.kpis(q))];
      return projector.kpiSeries({ ...q, intervalMs }).map(kpiRowFromKpis);
    },
    queueEngagements: async (from, to) => projector.engagements({ from, to }).queue.filter((x) => inPeriod(x.open, from, to)),
    invitationEngagements: async (from, to) => projector.engagements({ from, to }).invitation.filter((x) => inPeriod(x.open ?? x.close, from, to)),
    agentEngagements: async (from, to) => projector.engagements({ from, to }).agent.filter((x) => inPeriod(x.accept, from, to)),
    agentStatus: async (from, to) => projector.statusIntervals({ from, to }),
    agentKpis: async (from, to) => projector.kpis({ from, to }).agents,
    names: async () => {
      const queues = new Map<string, string>();
      for (const qe of projector.engagements().queue) if (qe.queueName !== '') queues.set(qe.queueSid, qe.queueName);
      const workers = new Map(projector.agents().filter((a) => a.name !== '').map((a) => [a.agentSid, a.name]));
      return { queues, workers };
    },
  };
}
