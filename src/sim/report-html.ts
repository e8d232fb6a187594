/**
 * Renders a {@link ReplayReport} as one self-contained HTML page for a contact-center supervisor:
 * the data source, headline KPIs, charts, the per-day KPI table, wait-time predictor accuracy and
 * what the importer found in the log. No scripts, fonts, images or network requests: the CSS is
 * inline and every chart is an SVG rendered here with Vega-Lite (headless, no canvas), so the
 * file opens offline, prints, and can be mailed as is.
 *
 * Every string that comes from the report (file path, row reasons, predictor labels, dates) is
 * escaped before it reaches the page; chart text goes through Vega's own SVG escaping, and report
 * strings only ever enter a chart as data, never as a Vega expression.
 */
import type { TopLevelSpec } from 'vega-lite';
import { INVITATION_OUTCOMES, QUEUE_OUTCOMES, type DailyEngagements, type DailyKpis } from '../analytics/kpi.ts';
import type { AnomalyKind } from './anonymous-bank.ts';
import {
  chartBase as base, dayLabels, esc, factList, figure, formatCount, formatDuration, formatPercent, formatSignedDuration, HALF_WIDTH, htmlPage, INK, label, longDate, NBSP,
  perDayAxis, renderChart,
} from './html.ts';
import type { PredictorScore, ReplayReport } from './report.ts';

export { esc, formatCount, formatDuration, formatPercent } from './html.ts';

/** One colour per outcome, used by every chart and the legends in the page. */
const COLOR = {
  answered: INK.answered,
  abandoned: INK.abandoned,
  offered: INK.neutral,
  occupancy: '#23877d',
  loggedIn: '#9aa5b4',
  reference: '#8a94a3',
  thin: '#b9dcd7',
} as const;
/** Hours with fewer agents logged in on average than this are drawn pale: too little time to judge. */
const THIN_STAFFING = 0.5;
/** Predictor lines: no blue or orange, which mean answered and abandoned here. */
const PREDICTOR_COLORS = ['#7a4fa3', '#1d8a6b', '#c2185b', '#8d6e3f', '#546e7a', '#9e9d24', '#00838f', '#6d4c41'];
/** Chart width in SVG pixels of the full-width charts; the page scales them down to fit. */
const FULL_WIDTH = 980;
/** Up to this many days, per-day charts print their values on the marks. */
const MAX_LABELLED_DAYS = 31;

interface AnomalyText {
  title: string;
  what: string;
  treated: string;
}

/** What each anomaly means and how the replay treated it, in plain English. */
const ANOMALY_TEXT: Record<AnomalyKind, AnomalyText> = {
  answered_by_no_server: {
    title: 'Answered by an unnamed agent',
    what: 'Answered, but the log names no agent (NO_SERVER).',
    treated: 'Replayed as answered by one extra worker, “Unidentified agent”, who may take every call type; left out of agent occupancy.',
  },
  negative_vru_time: {
    title: 'Negative time in the voice menu',
    what: 'The time spent in the voice response unit is negative: its clock stamps are out of order.',
    treated: 'Kept; queue and service times are used as given, and the call counts from the earlier of its voice-menu and queue entry.',
  },
  queue_start_differs_from_vru_exit: {
    title: 'Queue start ≠ voice-menu exit',
    what: 'The call joined the queue at another moment than it left the voice response unit.',
    treated: 'Kept; the call asks for an agent when it joined the queue.',
  },
  asked_after_midnight: {
    title: 'Asked for an agent after midnight',
    what: 'The call asked for an agent after midnight of the date it is logged under.',
    treated: 'Kept; its task is created after midnight, but it counts on the day the call began.',
  },
  queue_crosses_midnight: {
    title: 'Wait crossed midnight',
    what: 'The wait in queue ran past midnight (it ends earlier on the clock than it starts).',
    treated: 'Kept; the end of the wait is placed on the next day.',
  },
  service_crosses_midnight: {
    title: 'Call crossed midnight',
    what: 'The conversation with the agent ran past midnight.',
    treated: 'Kept; the end of the service is placed on the next day.',
  },
  customer_id_not_an_integer: {
    title: 'Mangled customer id',
    what: 'The customer id was mangled into scientific notation (e.g. 6.02701E+11), as a spreadsheet does.',
    treated: 'Kept as text; the replay does not depend on it.',
  },
  abandoned_before_queueing: {
    title: 'Hung up before queueing',
    what: 'The caller hung up before joining the queue.',
    treated: 'Counted as offered and abandoned, with a wait of 0 s.',
  },
  phantom: {
    title: 'Phantom call',
    what: 'Marked PHANTOM: a call the data set says to ignore.',
    treated: 'Skipped: neither replayed nor counted.',
  },
};


/** Renders the report as one HTML document. */
export async function renderReportHtml(report: ReplayReport): Promise<string> {
  const labels = dayLabels(report.days.map((d) => d.date));
  const c = report.charts;
  const hasDays = report.days.length > 0;
  const [heatmap, asa, serviceLevel, outcomes, waits, occupancy, calibration] = await Promise.all([
    chartIf(c.offered_by_hour.length > 0, () => offeredHeatmapSpec(report, labels), 'c1'),
    chartIf(hasDays, () => asaSpec(report, labels), 'c2'),
    chartIf(hasDays, () => serviceLevelSpec(report, labels), 'c3'),
    chartIf(hasDays, () => outcomesPerDaySpec(report, labels), 'c4'),
    chartIf(c.wait_distribution.some((b) => b.answered + b.abandoned > 0), () => waitDistributionSpec(report), 'c5'),
    chartIf(c.occupancy_by_hour.some((h) => h.loggedInHours > 0), () => occupancySpec(report), 'c6'),
    chartIf(c.ewt_calibration.length > 0, () => calibrationSpec(report), 'c7'),
  ]);
  const body = `${headline(report.total)}
<section>
<h2>Traffic</h2>
${chart('offered-by-hour', 'Calls offered per hour', 'Calls that asked for an agent, by the hour they entered the center (colour on a square-root scale, so quiet hours stay visible).', heatmap, 'wide')}
</section>
<section>
<h2>Service per day</h2>
<div class="grid">
${chart('asa-per-day', 'Average speed of answer per day', `Mean wait of the answered calls. Dashed: the whole period, ${formatDuration(report.total.asa_s)}.`, asa)}
${chart('service-level-per-day', 'Service level per day', `Calls answered within 20 s ÷ calls offered (abandons count against it). Dashed: the whole period, ${formatPercent(report.total.service_level_20s)}.`, serviceLevel)}
${chart('abandonment-per-day', 'Answered and abandoned calls per day', report.days.length <= MAX_LABELLED_DAYS ? 'The figure above each bar is the abandonment rate (abandoned ÷ offered).' : 'Abandonment rate per day: see the table below.', outcomes)}
${chart('wait-distribution', 'Wait distribution', waitCaption(report), waits)}
</div>
${kpiTable(report)}
</section>
<section>
<h2>Agents</h2>
${chart('occupancy-by-hour', 'Agent occupancy by hour of day', 'Time busy with a call ÷ time logged in, over all days, named agents only. The log has no log-ins: they are inferred from the calls served, so this is an upper bound. Pale bars: fewer than half an agent logged in on average, too little to judge. Below: how many agents were logged in on average.', occupancy, 'wide')}
${engagementTable(report)}
</section>
${ewtSection(report, calibration)}
${importSection(report)}
${replaySection(report)}`;
  return htmlPage({
    title: `Replay report — ${report.source.name}`, kicker: report.generated_by, subtitle: periodText(report),
    source: report.source, generatedBy: report.generated_by, body, css: CSS,
  });
}

// ---------------------------------------------------------------------------------------------
// Formatting

function periodText(report: ReplayReport): string {
  const { first_date: first, last_date: last } = report.source;
  const days = report.days.length;
  const range = first === '' ? 'No calls' : first === last ? longDate(first) : `${longDate(first)} – ${longDate(last)}`;
  const filter = report.replay.from !== null || report.replay.to !== null
    ? ` · replayed ${report.replay.from ?? 'start'} to ${report.replay.to ?? 'end'}`
    : '';
  return `${range} · ${days} ${days === 1 ? 'day' : 'days'} · ${formatCount(report.replay.calls_replayed)} calls replayed${filter}`;
}

// ---------------------------------------------------------------------------------------------
// Page blocks

function headline(total: DailyKpis): string {
  const abandonRate = total.offered === 0 ? 0 : total.abandoned / total.offered;
  const answerRate = total.offered === 0 ? 0 : total.answered / total.offered;
  const card = (id: string, label: string, value: string, note: string, cls = ''): string =>
    `<div class="card ${cls}" data-kpi="${id}"><p class="label">${label}</p><p class="value">${esc(value)}</p><p class="note">${esc(note)}</p></div>`;
  return `<section class="headline" aria-label="Key figures over the whole replay">
${card('offered', 'Offered', formatCount(total.offered), 'asked for an agent')}
${card('answered', 'Answered', formatCount(total.answered), `${formatPercent(answerRate)} of offered`, 'answered')}
${card('abandonment', 'Abandonment rate', formatPercent(abandonRate), `${formatCount(total.abandoned)} callers hung up`, 'abandoned')}
${card('asa', 'Avg speed of answer', formatDuration(total.asa_s), `longest wait ${formatDuration(total.max_wait_s)}`)}
${card('service-level', 'Service level', formatPercent(total.service_level_20s), 'answered within 20 s')}
${card('aht', 'Avg handle time', formatDuration(total.aht_s), 'talk time per answered call')}
</section>`;
}

/** A figure of this page: `id` names it for links and tests, `cls` "wide" for full-width charts. */
function chart(id: string, title: string, caption: string, svg: string | null, cls?: string): string {
  return figure(title, caption, svg, { id, cls, empty: 'No data for this chart in this replay.' });
}

function kpiRow(d: DailyKpis, label: string, tag: 'td' | 'th' = 'td'): string {
  const rate = d.offered === 0 ? 0 : d.abandoned / d.offered;
  const cells = [
    formatCount(d.offered), formatCount(d.answered), formatCount(d.abandoned), formatPercent(rate),
    formatDuration(d.asa_s), formatPercent(d.service_level_20s), formatDuration(d.aht_s), formatDuration(d.max_wait_s),
  ];
  return `<tr data-date="${esc(d.date)}"><${tag} class="text">${esc(label)}</${tag}>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
}

function kpiTable(report: ReplayReport): string {
  const rows = report.days.map((d) => kpiRow(d, longDate(d.date))).join('\n');
  return `<div class="table-wrap"><table class="kpis" id="kpi-table">
<caption>KPIs per day (a call counts on the day it entered the center)</caption>
<thead><tr><th class="text">Day</th><th>Offered</th><th>Answered</th><th>Abandoned</th><th>Abandonment</th><th>ASA</th><th>Service level (20 s)</th><th>AHT</th><th>Longest wait</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot>${kpiRow(report.total, 'Whole replay', 'th')}</tfoot>
</table></div>`;
}

/** Outcome columns shown only when some day has them (a replay has no moves, timeouts …). */
function usedOutcomes<K extends string>(outcomes: readonly K[], rows: readonly DailyEngagements[], pick: (d: DailyEngagements) => Record<K, number>, always: readonly K[]): K[] {
  return outcomes.filter((o) => always.includes(o) || rows.some((d) => pick(d)[o] > 0));
}

const OUTCOME_LABEL: Record<string, string> = { CustomerLeft: 'Customer left' };

function engagementRow(d: DailyEngagements, label: string, queue: readonly string[], invitation: readonly string[], occupancy: boolean, tag: 'td' | 'th' = 'td'): string {
  const a = d.agent_engagements;
  const q = d.queue_engagements as Record<string, number>;
  const i = d.invitations as Record<string, number>;
  const cells = [
    ...queue.map((o) => formatCount(q[o] ?? 0)), ...invitation.map((o) => formatCount(i[o] ?? 0)),
    formatCount(a.count), formatDuration(a.mean_engagement_s ?? NaN), formatDuration(a.mean_wrapup_s ?? NaN), formatDuration(a.mean_handling_s ?? NaN),
    ...(occupancy ? [formatPercent(d.occupancy ?? NaN)] : []),
  ];
  return `<tr data-date="${esc(d.date)}"><${tag} class="text">${esc(label)}</${tag}>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
}

/** The engagements per day (analytics projector): queue and invitation outcomes, agent engagement times, occupancy. */
function engagementTable(report: ReplayReport): string {
  const rows = report.engagements;
  if (rows.length === 0) return '';
  const queue = usedOutcomes(QUEUE_OUTCOMES, rows, (d) => d.queue_engagements, ['Accepted', 'CustomerLeft']);
  const invitation = usedOutcomes(INVITATION_OUTCOMES, rows, (d) => d.invitations, ['Accepted']);
  const occupancy = rows.some((d) => d.occupancy !== null);
  const head = [
    ...queue.map((o) => `<th title="Queue engagements ending ${esc(o)}">Queue: ${esc(OUTCOME_LABEL[o] ?? o)}</th>`),
    ...invitation.map((o) => `<th title="Invitations (reservations) ending ${esc(o)}">Invitations: ${esc(o)}</th>`),
    '<th>Agent engagements</th><th>Mean talk</th><th>Mean wrap-up</th><th>Mean handling</th>',
    occupancy ? '<th title="Busy ÷ (busy + available idle), over the day’s hours">Occupancy</th>' : '',
  ].join('');
  const total = report.engagements_total;
  const note = !occupancy && total.occupancy !== null
    ? `<p class="note">Agent occupancy over the whole replay (analytics projector: busy ÷ (busy + available idle), ringing counted as busy): ${esc(formatPercent(total.occupancy))}.</p>`
    : '';
  return `<div class="table-wrap"><table class="engagements" id="engagement-table">
<caption>Engagements per day (analytics projector; a call counts on the day it entered the center${occupancy ? '; occupancy over the day’s hours' : ''})</caption>
<thead><tr><th class="text">Day</th>${head}</tr></thead>
<tbody>
${rows.map((d) => engagementRow(d, longDate(d.date), queue, invitation, occupancy)).join('\n')}
</tbody>
<tfoot>${engagementRow(total, 'Whole replay', queue, invitation, occupancy, 'th')}</tfoot>
</table>${note}</div>`;
}

function ewtSection(report: ReplayReport, calibration: string | null): string {
  const entries = Object.entries(report.ewt);
  if (entries.length === 0) {
    return `<section><h2>Wait-time predictions</h2><p class="muted">This replay scored no wait-time predictors.</p></section>`;
  }
  const best = (f: (s: PredictorScore) => number): number => Math.min(...entries.map(([, s]) => f(s)));
  const bestMae = best((s) => s.mae_s);
  const bestRmse = best((s) => s.rmse_s);
  const bestBias = best((s) => Math.abs(s.bias_s));
  const bestAcc = -best((s) => -s.callback_decision_accuracy);
  const mark = (text: string, isBest: boolean): string => (isBest && entries.length > 1 ? `<strong>${esc(text)}</strong>` : esc(text));
  const rows = entries.map(([name, s]) => {
    const isDefault = name === report.ewt_default_predictor;
    return `<tr data-predictor="${esc(name)}"${isDefault ? ' class="default"' : ''}><td class="text"><span class="kind">${esc(s.label)}${isDefault ? ' <span class="badge">default</span>' : ''}</span><code class="key">${esc(name)}</code></td>` +
      `<td>${mark(formatDuration(s.mae_s), s.mae_s === bestMae)}</td><td>${mark(formatDuration(s.rmse_s), s.rmse_s === bestRmse)}</td>` +
      `<td>${mark(formatSignedDuration(s.bias_s), Math.abs(s.bias_s) === bestBias)}</td>` +
      `<td>${mark(formatPercent(s.callback_decision_accuracy), s.callback_decision_accuracy === bestAcc)}</td><td>${esc(formatCount(s.n))}</td></tr>`;
  });
  const threshold = `${formatCount(report.ewt_callback_threshold_s)}${NBSP}s`;
  return `<section>
<h2>Wait-time predictions</h2>
<p class="lead">At the moment each call asked for an agent, every predictor estimated its wait; here they are scored against the wait the caller really had (answered calls). Bold marks the best value in each column.</p>
<div class="grid ewt">
${chart('ewt-calibration', 'Predicted vs real wait', `Answered calls grouped by real wait; a perfect predictor lies on the dashed diagonal. Dotted: the callback threshold (${threshold}).`, calibration)}
<div class="table-wrap"><table class="predictors" id="predictor-table">
<caption>Accuracy per predictor</caption>
<thead><tr><th class="text">Predictor</th><th title="Mean absolute error">MAE</th><th title="Root mean squared error">RMSE</th><th title="Mean of predicted − real: + means it over-predicts">Bias</th><th>Callback decision right</th><th>Calls</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<p class="note">“Callback decision right”: share of answered calls where “offer a callback when the predicted wait is over ${esc(threshold)}” matches whether the real wait was over ${esc(threshold)}. Bias + means the predictor over-estimates waits.</p>
</div>
</div>
</section>`;
}

function importSection(report: ReplayReport): string {
  const im = report.import;
  const facts: [string, number][] = [
    ['Data rows in the file', im.rows],
    ['Calls parsed', im.calls],
    ['Malformed rows (skipped)', im.malformed],
    ['Phantom calls (skipped)', im.phantom_skipped],
    ['Calls outside the chosen days', im.outside_range],
    ['Calls replayed', report.replay.calls_replayed],
  ];
  const factRows = facts.map(([label, n]) => `<tr><td class="text">${label}</td><td>${esc(formatCount(n))}</td></tr>`).join('\n');
  return `<section id="import">
<h2>What the importer found</h2>
<div class="grid import">
<div class="table-wrap"><table class="facts"><caption>Rows</caption><tbody>
${factRows}
</tbody></table></div>
${malformedBlock(report)}
</div>
${anomalyTable(report)}
</section>`;
}

function malformedBlock(report: ReplayReport): string {
  const im = report.import;
  if (im.malformed === 0) return '<div class="ok-note"><p><strong>No malformed rows.</strong> Every row had the 17 expected fields with valid values.</p></div>';
  const shown = im.malformed_examples.length;
  const rows = im.malformed_examples.map((m) => `<tr><td>${esc(formatCount(m.line))}</td><td class="text reason">${esc(m.reason)}</td></tr>`).join('\n');
  const more = im.malformed > shown ? `<p class="note">${esc(formatCount(shown))} of ${esc(formatCount(im.malformed))} malformed rows shown.</p>` : '';
  return `<div class="table-wrap"><table class="malformed" id="malformed-table"><caption>Malformed rows, skipped</caption>
<thead><tr><th>Line</th><th class="text">Reason</th></tr></thead><tbody>
${rows}
</tbody></table>${more}</div>`;
}

function anomalyTable(report: ReplayReport): string {
  const counts = report.import.anomalies as Record<string, number>;
  const rows = Object.entries(counts).map(([kind, n]) => {
    const text = (ANOMALY_TEXT as Record<string, AnomalyText | undefined>)[kind];
    return `<tr data-anomaly="${esc(kind)}"${n === 0 ? ' class="zero"' : ''}><td>${esc(formatCount(n))}</td>` +
      `<td class="text"><span class="kind">${esc(text?.title ?? kind)}</span><code class="key">${esc(kind)}</code></td>` +
      `<td class="text">${esc(text?.what ?? 'An irregularity the importer counted.')}</td><td class="text">${esc(text?.treated ?? 'Kept as given.')}</td></tr>`;
  });
  return `<div class="table-wrap"><table class="anomalies" id="anomaly-table">
<caption>Irregularities in the log: calls affected (a call may have several), what they are, and how the replay treated them</caption>
<thead><tr><th>Calls</th><th class="text">Kind</th><th class="text">What it means</th><th class="text">How it was treated</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function replaySection(report: ReplayReport): string {
  const r = report.replay;
  const items: [string, string][] = [
    ['Days', r.from === null && r.to === null ? 'all days in the log' : `${r.from ?? 'first'} to ${r.to ?? 'last'}`],
    ['Agents (workers)', formatCount(r.agents)],
    ['Working stretches (log-ins)', formatCount(r.working_stretches)],
    ['Engine commands', formatCount(r.commands)],
    ['Engine events', formatCount(r.events)],
    ['Replay run time', `${r.seconds.toFixed(1)} s`],
  ];
  return `<section id="replay">
<h2>The replay</h2>
<p class="lead">Each call was replayed through the Switchboard engine in virtual time: offered to the agent who really answered it, at the moment it was really answered; abandoned calls were canceled when the caller hung up. The figures above are computed from the engine’s events.</p>
${factList(items)}
</section>`;
}

function waitCaption(report: ReplayReport): string {
  const bins = report.charts.wait_distribution;
  const first = bins[0];
  const answered = bins.reduce((s, b) => s + b.answered, 0);
  const abandoned = bins.reduce((s, b) => s + b.abandoned, 0);
  if (first === undefined || answered + abandoned === 0) return 'How long callers waited before an agent answered or they hung up.';
  const upTo = formatDuration(first.toS ?? first.fromS);
  return `How long callers waited before an agent answered or they hung up. ` +
    `${formatPercent(first.answered / Math.max(1, answered), 0)} of answered and ${formatPercent(first.abandoned / Math.max(1, abandoned), 0)} of abandoned calls waited under ${upTo}.`;
}

// ---------------------------------------------------------------------------------------------
// Charts

/** Renders the chart only when it has data to show. */
async function chartIf(hasData: boolean, spec: () => TopLevelSpec, idPrefix: string): Promise<string | null> {
  return hasData ? renderChart(spec(), idPrefix) : null;
}

/** Dates in the order of report.days, plus any only the hourly counts know. */
function allDates(report: ReplayReport): string[] {
  return [...new Set([...report.days.map((d) => d.date), ...report.charts.offered_by_hour.map((h) => h.date)])].sort();
}

function offeredHeatmapSpec(report: ReplayReport, knownLabels: Map<string, string>): TopLevelSpec {
  const dates = allDates(report);
  const labels = new Map([...dayLabels(dates), ...knownLabels]);
  const counts = new Map(report.charts.offered_by_hour.map((h) => [`${h.date} ${h.hour}`, h.offered]));
  const hours = report.charts.offered_by_hour.map((h) => h.hour);
  const [lo, hi] = hours.length === 0 ? [0, 23] : [Math.min(...hours), Math.max(...hours)];
  const max = Math.max(1, ...counts.values());
  const cells = [];
  for (const date of dates) {
    for (let hour = lo; hour <= hi; hour++) {
      const offered = counts.get(`${date} ${hour}`) ?? 0;
      cells.push({ day: label(labels, date), hour: `${String(hour).padStart(2, '0')}:00`, offered, dark: Math.sqrt(offered / max) > 0.6 });
    }
  }
  const cellW = FULL_WIDTH / Math.max(1, hi - lo + 1);
  const cellH = dates.length > 40 ? 10 : 22;
  const showText = cellW >= 26 && cellH >= 16;
  return {
    ...base(FULL_WIDTH, cellH * Math.max(1, dates.length), 'Calls offered per hour, by day and hour of day'),
    data: { values: cells },
    encoding: {
      x: { field: 'hour', type: 'ordinal', title: 'Hour of day (call entered the center)', axis: { orient: 'top', labelAngle: 0, domain: false, ticks: false } },
      y: { field: 'day', type: 'ordinal', sort: dates.map((d) => label(labels, d)), title: 'Day', axis: { domain: false, ticks: false, labelOverlap: true } },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'offered', type: 'quantitative', title: 'Calls offered in the hour',
            scale: { type: 'sqrt', scheme: 'purples', domainMin: 0 },
            legend: { orient: 'bottom', direction: 'horizontal', gradientLength: 260, titleOrient: 'left', titleLimit: 400 },
          },
        },
      },
      ...(showText ? [{
        mark: { type: 'text' as const, fontSize: 10 },
        encoding: {
          text: { field: 'offered', type: 'quantitative' as const },
          color: { condition: { test: 'datum.dark', value: 'white' }, value: '#374151' },
          opacity: { condition: { test: 'datum.offered == 0', value: 0 }, value: 1 },
        },
      }] : []),
    ],
  } as TopLevelSpec;
}

/** A per-day line with labelled points and a dashed rule at the whole-period value. */
function perDayLineSpec(
  report: ReplayReport, labels: Map<string, string>, field: 'asa_s' | 'service_level_20s', total: number,
  y: Record<string, unknown>, format: (v: number) => string, description: string,
): TopLevelSpec {
  const dates = report.days.map((d) => d.date);
  const values = report.days.map((d) => ({ day: label(labels, d.date), value: d[field], text: format(d[field]) }));
  const points = dates.length <= MAX_LABELLED_DAYS;
  return {
    ...base(HALF_WIDTH, 220, description),
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: { filled: true, size: 40 }, color: COLOR.answered, strokeWidth: 2 },
        encoding: { x: perDayAxis(labels, dates), y: { field: 'value', type: 'quantitative', ...y } },
      },
      ...(points ? [{
        data: { values },
        mark: { type: 'text' as const, dy: -10, fontSize: 10, color: '#374151' },
        encoding: { x: perDayAxis(labels, dates), y: { field: 'value', type: 'quantitative' as const }, text: { field: 'text', type: 'nominal' as const } },
      }] : []),
      // The whole period's value; the caption says what the dashed line is (a label would hit points).
      { data: { values: [{ total }] }, mark: { type: 'rule', strokeDash: [5, 4], color: COLOR.reference }, encoding: { y: { field: 'total', type: 'quantitative' } } },
    ],
  } as TopLevelSpec;
}

function asaSpec(report: ReplayReport, labels: Map<string, string>): TopLevelSpec {
  const max = Math.max(1, report.total.asa_s, ...report.days.map((d) => d.asa_s));
  return perDayLineSpec(report, labels, 'asa_s', report.total.asa_s,
    { title: 'Average speed of answer (seconds)', scale: { domain: [0, Math.ceil(max * 1.15)] } },
    (v) => `${Math.round(v)} s`, 'Average speed of answer per day, seconds');
}

function serviceLevelSpec(report: ReplayReport, labels: Map<string, string>): TopLevelSpec {
  return perDayLineSpec(report, labels, 'service_level_20s', report.total.service_level_20s,
    { title: 'Answered within 20 s (% of offered)', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
    (v) => `${Math.round(v * 100)} %`, 'Service level per day: share of offered calls answered within 20 seconds');
}

const OUTCOME_COLOR = { domain: ['Answered', 'Abandoned'], range: [COLOR.answered, COLOR.abandoned] };

function outcomesPerDaySpec(report: ReplayReport, labels: Map<string, string>): TopLevelSpec {
  const dates = report.days.map((d) => d.date);
  const bars = report.days.flatMap((d) => [
    { day: label(labels, d.date), outcome: 'Answered', order: 0, calls: d.answered },
    { day: label(labels, d.date), outcome: 'Abandoned', order: 1, calls: d.abandoned },
  ]);
  const rates = report.days.map((d) => ({
    day: label(labels, d.date), top: d.answered + d.abandoned, text: d.offered === 0 ? '' : `${Math.round((d.abandoned / d.offered) * 100)} %`,
  }));
  return {
    ...base(HALF_WIDTH, 220, 'Answered and abandoned calls per day, with the abandonment rate'),
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar' },
        encoding: {
          x: perDayAxis(labels, dates),
          y: { field: 'calls', type: 'quantitative', stack: 'zero', title: 'Calls per day' },
          color: { field: 'outcome', type: 'nominal', scale: OUTCOME_COLOR, title: null, legend: { orient: 'top', direction: 'horizontal' } },
          order: { field: 'order', type: 'quantitative' },
        },
      },
      ...(dates.length <= MAX_LABELLED_DAYS ? [{
        data: { values: rates },
        mark: { type: 'text' as const, dy: -6, fontSize: 10, color: COLOR.abandoned, fontWeight: 600 },
        encoding: { x: perDayAxis(labels, dates), y: { field: 'top', type: 'quantitative' as const }, text: { field: 'text', type: 'nominal' as const } },
      }] : []),
    ],
  } as TopLevelSpec;
}

function waitDistributionSpec(report: ReplayReport): TopLevelSpec {
  const bins = report.charts.wait_distribution;
  const width = bins.length > 1 ? (bins[0]?.toS ?? 15) - (bins[0]?.fromS ?? 0) : 15;
  const last = bins.at(-1);
  const openFrom = last !== undefined && last.toS === null ? last.fromS : Infinity;
  // Stacked by hand: a bar with both x and x2 would be read as a horizontal bar.
  const values = bins.flatMap((b) => [
    { from: b.fromS, to: b.toS ?? b.fromS + width, outcome: 'Answered', y0: 0, y1: b.answered },
    { from: b.fromS, to: b.toS ?? b.fromS + width, outcome: 'Abandoned', y0: b.answered, y1: b.answered + b.abandoned },
  ]);
  const end = Math.max(60, ...values.map((v) => v.to));
  const step = end > 1200 ? 300 : 60;
  const ticks: number[] = [];
  for (let t = 0; t <= end; t += step) ticks.push(t);
  // Minutes on the axis; the open last bin reads "≥ N".
  const labelExpr = Number.isFinite(openFrom)
    ? `datum.value >= ${openFrom} ? '≥ ' + format(datum.value / 60, '~r') : format(datum.value / 60, '~r')`
    : `format(datum.value / 60, '~r')`;
  return {
    ...base(HALF_WIDTH, 220, 'Distribution of waits, answered and abandoned calls'),
    data: { values },
    mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      x: { field: 'from', type: 'quantitative', title: 'Wait in queue (minutes)', scale: { domain: [0, end], nice: false }, axis: { values: ticks, labelExpr } },
      x2: { field: 'to' },
      y: { field: 'y1', type: 'quantitative', title: `Calls per ${width}-second interval` },
      y2: { field: 'y0' },
      color: { field: 'outcome', type: 'nominal', scale: OUTCOME_COLOR, title: null, legend: { orient: 'top', direction: 'horizontal' } },
    },
  } as TopLevelSpec;
}

function occupancySpec(report: ReplayReport): TopLevelSpec {
  const days = Math.max(1, report.days.length);
  const rows = report.charts.occupancy_by_hour;
  const active = rows.filter((r) => r.loggedInHours > 0).map((r) => r.hour);
  const [lo, hi] = active.length === 0 ? [0, 23] : [Math.min(...active), Math.max(...active)];
  const hours: string[] = [];
  for (let h = lo; h <= hi; h++) hours.push(`${String(h).padStart(2, '0')}:00`);
  const values = rows.filter((r) => r.hour >= lo && r.hour <= hi).map((r) => ({
    hour: `${String(r.hour).padStart(2, '0')}:00`,
    occupancy: r.loggedInHours > 0 ? r.occupancy : null,
    text: r.loggedInHours > 0 ? `${Math.round(r.occupancy * 100)}` : '',
    agents: r.loggedInHours / days,
    thin: r.loggedInHours / days < THIN_STAFFING,
  }));
  const x = { field: 'hour', type: 'ordinal', scale: { domain: hours }, title: null, axis: { labelAngle: 0, labels: false, ticks: false } };
  return {
    ...base(null, null, 'Agent occupancy by hour of day, and agents logged in on average'),
    data: { values },
    spacing: 6,
    vconcat: [
      {
        width: FULL_WIDTH, height: 190,
        layer: [
          {
            mark: { type: 'bar' },
            encoding: {
              x, y: { field: 'occupancy', type: 'quantitative', title: 'Occupancy (% of logged-in time)', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
              color: { condition: { test: 'datum.thin', value: COLOR.thin }, value: COLOR.occupancy },
            },
          },
          { mark: { type: 'text', dy: -6, fontSize: 10, color: '#374151' }, encoding: { x, y: { field: 'occupancy', type: 'quantitative' }, text: { field: 'text', type: 'nominal' } } },
        ],
      },
      {
        width: FULL_WIDTH, height: 70,
        mark: { type: 'bar', color: COLOR.loggedIn },
        encoding: {
          x: { ...x, title: 'Hour of day', axis: { labelAngle: 0 } },
          y: { field: 'agents', type: 'quantitative', title: ['Agents logged', 'in (average)'], axis: { tickCount: 3 } },
        },
      },
    ],
  } as unknown as TopLevelSpec;
}

function calibrationSpec(report: ReplayReport): TopLevelSpec {
  const names = Object.keys(report.ewt);
  for (const p of report.charts.ewt_calibration) if (!names.includes(p.predictor)) names.push(p.predictor);
  const display = (name: string): string => {
    const text = report.ewt[name]?.label ?? name;
    return name === report.ewt_default_predictor ? `${text} (default)` : text;
  };
  const points = report.charts.ewt_calibration.map((p) => ({
    predictor: display(p.predictor), real: p.mean_real_s, predicted: p.mean_predicted_s, n: p.n,
    weight: p.predictor === report.ewt_default_predictor ? 3.5 : 1.8,
  }));
  const max = Math.max(report.ewt_callback_threshold_s * 1.2, ...points.flatMap((p) => [p.real, p.predicted])) * 1.05;
  const threshold = report.ewt_callback_threshold_s;
  return {
    ...base(HALF_WIDTH, 300, 'Mean predicted wait against mean real wait per predictor, answered calls binned by real wait'),
    layer: [
      { data: { values: [{ v: 0 }, { v: max }] }, mark: { type: 'line', strokeDash: [6, 4], color: COLOR.reference, strokeWidth: 1.2 }, encoding: { x: { field: 'v', type: 'quantitative' }, y: { field: 'v', type: 'quantitative' } } },
      { data: { values: [{ v: max * 0.97, t: 'predicted = real' }] }, mark: { type: 'text', align: 'right', dy: -6, angle: 0, fontSize: 10, color: '#6b7280' }, encoding: { x: { field: 'v', type: 'quantitative' }, y: { field: 'v', type: 'quantitative' }, text: { field: 't', type: 'nominal' } } },
      { data: { values: [{ v: threshold }] }, mark: { type: 'rule', strokeDash: [2, 3], color: COLOR.reference }, encoding: { y: { field: 'v', type: 'quantitative' } } },
      { data: { values: [{ v: threshold }] }, mark: { type: 'rule', strokeDash: [2, 3], color: COLOR.reference }, encoding: { x: { field: 'v', type: 'quantitative' } } },
      {
        data: { values: points },
        mark: { type: 'line', point: { filled: true, size: 45 } },
        encoding: {
          x: { field: 'real', type: 'quantitative', title: 'Real wait, mean of the group (seconds)', scale: { domain: [0, max], nice: false } },
          y: { field: 'predicted', type: 'quantitative', title: 'Predicted wait, mean (seconds)', scale: { domain: [0, max], nice: false } },
          color: { field: 'predictor', type: 'nominal', title: null, scale: { domain: names.map(display), range: PREDICTOR_COLORS }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 600 } },
          strokeWidth: { field: 'weight', type: 'quantitative', scale: null, legend: null },
          order: { field: 'real', type: 'quantitative' },
        },
      },
    ],
  } as TopLevelSpec;
}

// ---------------------------------------------------------------------------------------------
// Style

/** This page's rules, after the shared ones (html.ts): headline cards, predictor and anomaly tables. */
const CSS = `
.headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:20px 0 4px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;border-top:4px solid ${COLOR.offered}}
.card.answered{border-top-color:var(--answered)}
.card.abandoned{border-top-color:var(--abandoned)}
.card p{margin:0}
.card .label{font-size:12.5px;color:var(--muted);font-weight:600}
.card .value{font-size:26px;font-weight:650;line-height:1.25;white-space:nowrap}
.card .note{font-size:12.5px;color:var(--muted)}
table.kpis td:nth-child(5){color:var(--abandoned)}
tr.default td{background:#f1ecf8}
.badge{display:inline-block;font-size:11px;font-weight:600;padding:0 6px;border-radius:9px;background:${PREDICTOR_COLORS[0]};color:#fff;vertical-align:1px}
tr.zero td{color:#9ca3af}
.kind{display:block;font-weight:600}
code.key{display:inline-block;margin-top:2px;font-size:11.5px;color:var(--muted);word-break:normal;overflow-wrap:anywhere;background:none;padding:0}
td.reason{word-break:break-word}
table.anomalies td:nth-child(2){min-width:220px}
table.anomalies td:nth-child(3),table.anomalies td:nth-child(4){min-width:180px}
.ok-note{margin:14px 0;padding:10px 14px;background:#eef7f1;border-radius:6px;font-size:14px}
.ok-note p{margin:0}
@media (max-width:640px){.card .value{font-size:22px}}
@media print{.grid.ewt,.grid.import{grid-template-columns:1fr}.card{break-inside:avoid}}
`;
