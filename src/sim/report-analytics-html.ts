/**
 * Renders an {@link AnalyticsReportData} (`switchboard report`) as one self-contained HTML page,
 * the same kind the replay writes (html.ts: page shell, styles, Vega-Lite charts rendered to inline
 * SVG; no scripts, fonts, images or network requests): headline KPIs, service level and
 * abandonment by queue and by interval, agent occupancy and time by status, engagement outcomes,
 * the busiest intervals. Definitions: shared/specs/conversations-events-analytics.md §B7–§B8.
 *
 * Every string from the data (queue and agent names, activity names, the source) is escaped;
 * in charts, strings enter only as data. Instants are shown in UTC.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalyticsReportData, KpiRow } from '../analytics/report-data.ts';
import { INVITATION_OUTCOMES, QUEUE_OUTCOMES } from '../analytics/kpi.ts';
import { chartBase as base, esc, figure, formatCount, formatDuration, formatPercent, htmlPage, INK, renderChart } from './html.ts';

const FULL_WIDTH = 980;
const COLOR = { accepted: INK.answered, abandoned: INK.abandoned, other: '#9aa5b4', occupancy: '#23877d', level: '#7a4fa3' } as const;
/** Status colours, in order of first appearance; Available first when present. */
const STATUS_COLORS = ['#23877d', '#d9a62b', '#7a4fa3', '#c2185b', '#546e7a', '#8d6e3f', '#00838f', '#9e9d24'];

const SERVICE_LEVEL_NAMES: Record<string, string> = {
  'answered-only': 'answered only: A_T ÷ A',
  'abandons-count-against': 'abandons count against: A_T ÷ (A + B)',
  'ignore-early-abandons': 'early abandons ignored: A_T ÷ (A + B − B_T)',
  'early-abandons-succeed': 'early abandons succeed: (A_T + B_T) ÷ (A + B)',
  'short-abandon-exclusion': 'short abandons excluded: A_T ÷ (A + B − S + X)',
};

/** "2026-12-07 10:15" (UTC) of an epoch-ms instant. */
export function utcMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

const pct = (x: number | null): string => formatPercent(x ?? NaN);
const dur = (x: number | null): string => formatDuration(x ?? NaN);

/** The page. Resolves to the whole HTML document. */
export async function renderAnalyticsReportHtml(data: AnalyticsReportData, generatedBy = 'switchboard report'): Promise<string> {
  const hasTraffic = data.intervals.some((r) => r.offered > 0);
  const hasStaff = data.intervals.some((r) => r.occupancy !== null);
  const hasStatus = data.agents.some((a) => Object.keys(a.statusSeconds).length > 0);
  const [calls, levels, occupancy, status] = await Promise.all([
    hasTraffic ? renderChart(callsSpec(data), 'a1') : null,
    hasTraffic ? renderChart(levelsSpec(data), 'a2') : null,
    hasStaff ? renderChart(occupancySpec(data), 'a3') : null,
    hasStatus ? renderChart(statusSpec(data), 'a4') : null,
  ]);
  const t = data.total;
  const intervalMin = Math.round(data.intervalMs / 60_000);
  const body = `${headline(t)}
<section id="service">
<h2>Service level and abandonment</h2>
<p class="lead">Service level: ${esc(SERVICE_LEVEL_NAMES[t.serviceLevelVariant] ?? t.serviceLevelVariant)}, threshold T = ${esc(t.thresholdS)} s; short abandons: within ${esc(t.shortAbandonS)} s. Queue engagements count in the interval they opened, agent engagements (AHT) in the one they closed.</p>
${queueTable(data)}
${figure('Calls per interval', `Queue engagements opened in each ${intervalMin}-minute interval, by how they ended (UTC).`, calls, { id: 'calls-per-interval', cls: 'wide', empty: 'No calls in this period.' })}
${figure('Service level and abandonment per interval', 'Service level (the variant above) and abandonment rate (abandoned ÷ offered) of each interval with calls.', levels, { id: 'service-per-interval', cls: 'wide', empty: 'No calls in this period.' })}
</section>
<section id="agents">
<h2>Agents</h2>
${figure('Agent occupancy per interval', 'Busy (ringing, talking, wrap-up) ÷ (busy + available idle), all agents.', occupancy, { id: 'occupancy-per-interval', cls: 'wide', empty: 'No agent was available in this period.' })}
${figure('Time by status', 'Hours each agent spent in each activity (Offline not counted).', status, { id: 'time-by-status', cls: 'wide', empty: 'No agent status in this period.' })}
${agentTable(data)}
</section>
<section id="outcomes">
<h2>Engagement outcomes</h2>
${outcomeTables(data)}
</section>
<section id="busiest">
<h2>Busiest intervals</h2>
${busiestTable(data)}
</section>`;
  const period = `${utcMinute(data.from)} – ${utcMinute(data.to)} UTC`;
  return htmlPage({
    title: `Contact-center report — workspace ${data.workspaceSid}`,
    kicker: generatedBy,
    subtitle: `${period} · ${intervalMin}-minute intervals · ${formatCount(t.offered)} calls offered`,
    source: {
      path: data.source,
      name: `Workspace ${data.workspaceSid}`,
      citation: `TaskRouter events of workspace ${data.workspaceSid}, through Switchboard's analytics projector (engagements and KPIs as in docs/analytics.md).`,
      first_date: utcMinute(data.from).slice(0, 10),
      last_date: utcMinute(data.to - 1).slice(0, 10),
    },
    generatedBy,
    body,
    css: CSS,
  });
}

function headline(t: KpiRow): string {
  const card = (id: string, label: string, value: string, raw: number | null, note: string): string =>
    `<div class="card" data-kpi="${id}" data-value="${esc(raw ?? '')}"><p class="label">${esc(label)}</p><p class="value">${esc(value)}</p><p class="note">${esc(note)}</p></div>`;
  return `<section class="headline" aria-label="Key figures over the period">
${card('offered', 'Offered', formatCount(t.offered), t.offered, `${formatCount(t.accepted)} answered`)}
${card('service-level', 'Service level', pct(t.serviceLevel), t.serviceLevel, `within ${t.thresholdS} s`)}
${card('abandonment', 'Abandonment', pct(t.abandonmentRate), t.abandonmentRate, `${formatCount(t.abandoned)} left; ${pct(t.abandonmentRateExShort)} without short abandons`)}
${card('asa', 'Avg speed of answer', dur(t.asaS), t.asaS, 'wait of answered calls')}
${card('aht', 'Avg handling time', dur(t.ahtS), t.ahtS, `${formatCount(t.handled)} handled`)}
${card('occupancy', 'Occupancy', pct(t.occupancy), t.occupancy, `utilization ${pct(t.utilization)}`)}
</section>`;
}

function kpiCells(k: KpiRow): string[] {
  return [
    formatCount(k.offered), formatCount(k.accepted), formatCount(k.abandoned), formatCount(k.shortAbandoned), formatCount(k.otherFailures),
    pct(k.serviceLevel), pct(k.abandonmentRate), dur(k.asaS), dur(k.ahtS),
  ];
}

const KPI_HEAD = '<th>Offered</th><th>Answered</th><th>Abandoned</th><th title="Abandoned within the short-abandon threshold">Short abandons</th><th title="Timeout, Canceled, Expired, Deleted">Other failures</th><th>Service level</th><th>Abandonment</th><th>ASA</th><th>AHT</th>';

function row(attrs: string, first: string, cells: readonly string[], tag: 'td' | 'th' = 'td'): string {
  return `<tr${attrs}><${tag} class="text">${esc(first)}</${tag}>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
}

function queueTable(data: AnalyticsReportData): string {
  const rows = data.queues.map((q) => row(` data-queue="${esc(q.queueSid)}"`, q.queueName, kpiCells(q.kpis))).join('\n');
  return `<div class="table-wrap"><table class="queues" id="queue-table">
<caption>By queue</caption>
<thead><tr><th class="text">Queue</th>${KPI_HEAD}</tr></thead>
<tbody>
${rows || `<tr><td class="text" colspan="10">No queue had calls in this period.</td></tr>`}
</tbody>
<tfoot>${row('', 'All queues', kpiCells(data.total), 'th')}</tfoot>
</table></div>`;
}

function agentTable(data: AnalyticsReportData): string {
  const activities = Object.entries(data.statusSeconds).sort((a, b) => b[1] - a[1]).map(([name]) => name);
  const rows = data.agents.map((a) => row(` data-agent="${esc(a.agentSid)}"`, a.name, [
    formatCount(a.invitations), formatCount(a.accepted), formatCount(a.missed), formatCount(a.rejected), formatCount(a.revoked),
    pct(a.acceptanceRate), pct(a.occupancy), ...activities.map((x) => dur(a.statusSeconds[x] ?? 0)),
  ])).join('\n');
  return `<div class="table-wrap"><table class="agents" id="agent-table">
<caption>By agent: invitations, occupancy and time by status</caption>
<thead><tr><th class="text">Agent</th><th>Invitations</th><th>Accepted</th><th>Missed</th><th>Rejected</th><th>Revoked</th><th>Acceptance</th><th>Occupancy</th>${activities.map((x) => `<th>${esc(x)}</th>`).join('')}</tr></thead>
<tbody>
${rows || `<tr><td class="text" colspan="8">No agent activity in this period.</td></tr>`}
</tbody>
</table></div>`;
}

function outcomeTables(data: AnalyticsReportData): string {
  const label: Record<string, string> = { CustomerLeft: 'Customer left' };
  const queueHead = QUEUE_OUTCOMES.map((o) => `<th>${esc(label[o] ?? o)}</th>`).join('');
  const queueRows = data.queues.map((q) => row(` data-queue="${esc(q.queueSid)}"`, q.queueName, QUEUE_OUTCOMES.map((o) => formatCount(q.outcomes[o])))).join('\n');
  const ae = data.agentEngagements;
  return `<div class="table-wrap"><table class="outcomes" id="queue-outcome-table">
<caption>Queue engagements by outcome</caption>
<thead><tr><th class="text">Queue</th>${queueHead}</tr></thead>
<tbody>
${queueRows}
</tbody>
<tfoot>${row('', 'All queues', QUEUE_OUTCOMES.map((o) => formatCount(data.queueOutcomes[o])), 'th')}</tfoot>
</table></div>
<div class="grid">
<div class="table-wrap"><table class="outcomes" id="invitation-outcome-table">
<caption>Invitations (reservations) by outcome</caption>
<thead><tr>${INVITATION_OUTCOMES.map((o) => `<th>${esc(o)}</th>`).join('')}</tr></thead>
<tbody><tr>${INVITATION_OUTCOMES.map((o) => `<td>${esc(formatCount(data.invitationOutcomes[o]))}</td>`).join('')}</tr></tbody>
</table></div>
<div class="table-wrap"><table class="outcomes" id="agent-engagement-table">
<caption>Agent engagements (accepted reservations)</caption>
<thead><tr><th>Count</th><th>Mean talk</th><th>Mean wrap-up</th><th>Mean handling</th></tr></thead>
<tbody><tr><td>${esc(formatCount(ae.count))}</td><td>${esc(dur(ae.meanEngagementS))}</td><td>${esc(dur(ae.meanWrapupS))}</td><td>${esc(dur(ae.meanHandlingS))}</td></tr></tbody>
</table></div>
</div>`;
}

function busiestTable(data: AnalyticsReportData): string {
  if (data.busiest.length === 0) return '<p class="muted">No calls in this period.</p>';
  const rows = data.busiest.map((k) => row(` data-from="${esc(new Date(k.from).toISOString())}"`, `${utcMinute(k.from)} – ${utcMinute(k.to).slice(11)}`, kpiCells(k))).join('\n');
  return `<div class="table-wrap"><table class="busiest" id="busiest-table">
<caption>The intervals with the most calls offered (UTC)</caption>
<thead><tr><th class="text">Interval</th>${KPI_HEAD}</tr></thead>
<tbody>
${rows}
</tbody>
</table></div>`;
}

// ---------------------------------------------------------------------------------------------
// Charts

const timeAxis = (title: string): Record<string, unknown> => ({
  field: 'at', type: 'temporal', title, scale: { type: 'utc' }, axis: { format: '%d %b %H:%M', labelAngle: 0, labelOverlap: true },
});

function callsSpec(data: AnalyticsReportData): TopLevelSpec {
  const values = data.intervals.flatMap((k) => [
    { at: k.from, outcome: 'Answered', order: 0, n: k.accepted },
    { at: k.from, outcome: 'Abandoned', order: 1, n: k.abandoned },
    { at: k.from, outcome: 'Other failures', order: 2, n: k.otherFailures },
  ]);
  return {
    ...base(FULL_WIDTH, 200, 'Calls per interval by outcome'),
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: timeAxis('Interval start (UTC)'),
      y: { field: 'n', type: 'quantitative', stack: 'zero', title: 'Calls' },
      color: { field: 'outcome', type: 'nominal', title: null, scale: { domain: ['Answered', 'Abandoned', 'Other failures'], range: [COLOR.accepted, COLOR.abandoned, COLOR.other] }, legend: { orient: 'top', direction: 'horizontal' } },
      order: { field: 'order', type: 'quantitative' },
    },
  } as TopLevelSpec;
}

function levelsSpec(data: AnalyticsReportData): TopLevelSpec {
  const values = data.intervals.filter((k) => k.offered > 0).flatMap((k) => [
    ...(k.serviceLevel === null ? [] : [{ at: k.from, measure: 'Service level', v: k.serviceLevel }]),
    ...(k.abandonmentRate === null ? [] : [{ at: k.from, measure: 'Abandonment rate', v: k.abandonmentRate }]),
  ]);
  return {
    ...base(FULL_WIDTH, 200, 'Service level and abandonment rate per interval'),
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 30 } },
    encoding: {
      x: timeAxis('Interval start (UTC)'),
      y: { field: 'v', type: 'quantitative', title: 'Share of offered calls', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      color: { field: 'measure', type: 'nominal', title: null, scale: { domain: ['Service level', 'Abandonment rate'], range: [COLOR.level, COLOR.abandoned] }, legend: { orient: 'top', direction: 'horizontal' } },
    },
  } as TopLevelSpec;
}

function occupancySpec(data: AnalyticsReportData): TopLevelSpec {
  const values = data.intervals.filter((k) => k.occupancy !== null).map((k) => ({ at: k.from, v: k.occupancy }));
  return {
    ...base(FULL_WIDTH, 180, 'Agent occupancy per interval'),
    data: { values },
    mark: { type: 'area', line: { color: COLOR.occupancy }, color: COLOR.occupancy, opacity: 0.35, interpolate: 'step-after' },
    encoding: {
      x: timeAxis('Interval start (UTC)'),
      y: { field: 'v', type: 'quantitative', title: 'Occupancy', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
    },
  } as TopLevelSpec;
}

function statusSpec(data: AnalyticsReportData): TopLevelSpec {
  const activities = Object.entries(data.statusSeconds).sort((a, b) => b[1] - a[1]).map(([name]) => name);
  const values = data.agents.flatMap((a) => Object.entries(a.statusSeconds).map(([activity, s]) => ({ agent: a.name, activity, hours: s / 3600 })));
  return {
    ...base(FULL_WIDTH, Math.max(60, 22 * data.agents.length), 'Hours per agent and activity'),
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'agent', type: 'nominal', title: null, sort: data.agents.map((a) => a.name) },
      x: { field: 'hours', type: 'quantitative', stack: 'zero', title: 'Hours' },
      color: { field: 'activity', type: 'nominal', title: null, scale: { domain: activities, range: STATUS_COLORS }, legend: { orient: 'top', direction: 'horizontal' } },
    },
  } as TopLevelSpec;
}

const CSS = `
.headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:20px 0 4px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;border-top:4px solid ${INK.neutral}}
.card p{margin:0}
.card .label{font-size:12.5px;color:var(--muted);font-weight:600}
.card .value{font-size:26px;font-weight:650;line-height:1.25;white-space:nowrap}
.card .note{font-size:12.5px;color:var(--muted)}
@media (max-width:640px){.card .value{font-size:22px}}
@media print{.card{break-inside:avoid}}
`;
