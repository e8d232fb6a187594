/**
 * Renders a {@link SimulationReport} as one self-contained HTML page, with the replay report's
 * shell, style and chart look (src/sim/html.ts): no scripts, fonts or network requests; inline
 * CSS; every chart an SVG rendered with Vega-Lite (headless). Strings from the report are escaped
 * before they reach the page and enter charts as data only.
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  chartBase, dayLabels, esc, factList, figure, formatCount, formatDuration, formatPercent, HALF_WIDTH, htmlPage, label, longDate, perDayAxis, renderChart,
} from './html.ts';
import { columnLabel, COLUMNS, type ColumnKey, type ColumnMeasures, type ComparisonRow, type SimulationReport } from './simulate-report.ts';
import type { IvrMeasures } from './voice-callers.ts';

const COLUMN_COLORS: Record<ColumnKey, string> = { real: '#4b5563', simulated: '#2f6db3', simulated_with_callbacks: '#23877d' };

type Measure = 'abandonment' | 'asa_s' | 'service_level_20s' | 'occupancy';

/**
 * The whole page for `report` (report.json of `switchboard simulate`) as an HTML string: the
 * whole-period comparison of the report's columns (the callback column only when it was
 * simulated), four per-day charts, the per-day table, the IVR step of a `--voice` run (a chart
 * and a table: simulated IVR time against the log's VRU time), the callback section and the
 * model's options. Rejects only if Vega fails to render a chart (a bug in the chart spec).
 */
export async function renderSimulationHtml(report: SimulationReport): Promise<string> {
  const columns = COLUMNS.filter((c) => c !== 'simulated_with_callbacks' || report.total.simulated_with_callbacks !== null);
  const hasDays = report.days.length > 0;
  const charts = await Promise.all(
    (
      [
        ['abandonment', 'Abandonment per day', 'Abandoned ÷ offered calls.', 'Abandoned (% of offered)', '.0%'],
        ['asa_s', 'Average speed of answer per day', 'Mean wait of answered calls, seconds.', 'Average speed of answer (seconds)', ''],
        ['service_level_20s', 'Service level per day', 'Calls answered within 20 s ÷ calls offered.', 'Answered within 20 s (% of offered)', '.0%'],
        ['occupancy', 'Agent occupancy per day', 'Time busy with a task ÷ time logged in, named agents only.', 'Occupancy (% of logged-in time)', '.0%'],
      ] as const
    ).map(async ([measure, title, caption, yTitle, format], i) => {
      const svg = hasDays ? await renderChart(lineSpec(report, columns, measure, { title, yTitle, format }), `s${i}`) : null;
      return figure(title, caption, svg, { empty: 'No days to show.' });
    }),
  );
  const ivr = await ivrSection(report);
  const o = report.options;
  const { first_date: first, last_date: last } = report.source;
  const period = first === last ? longDate(first) : `${longDate(first)} – ${longDate(last)}`;
  const body = `<section>
<h2>What-if, side by side</h2>
<p class="lead">The same arrivals as the log. “What really happened” is the log replayed in shadow mode; the simulated columns let the routing engine route them to the staffing plan, with callers abandoning after their patience${report.options.voice === null ? '' : ' — here each caller dialed in and went through the call flow on the voice core, over the simulated telephone network, before becoming a task (the IVR step below)'} (see docs/simulation.md for the model).</p>
${comparisonTable(report, columns, 'Whole period')}
</section>
${ivr}
<section>
<h2>Per day</h2>
<div class="grid">${charts.join('\n')}</div>
${perDayTable(report, columns)}
</section>
${callbackSection(report)}
<section>
<h2>Model and options</h2>
${modelBlock(report)}
</section>`;
  return htmlPage({
    title: `Simulation report — ${report.source.name}`, kicker: report.generated_by,
    subtitle: `${period} · seed ${o.seed} · staffing ${o.staffing}`,
    source: report.source, generatedBy: report.generated_by, body, css: CSS,
  });
}

function cell(m: ColumnMeasures | null, f: (m: ColumnMeasures) => string): string {
  return `<td>${m === null ? '—' : esc(f(m))}</td>`;
}

const ROWS: Array<[string, (m: ColumnMeasures) => string]> = [
  ['Calls offered', (m) => formatCount(m.offered)],
  ['Answered', (m) => formatCount(m.answered)],
  ['Abandoned', (m) => formatCount(m.abandoned)],
  ['Abandonment', (m) => formatPercent(m.abandonment)],
  ['ASA', (m) => formatDuration(m.asa_s)],
  ['Service level (20 s)', (m) => formatPercent(m.service_level_20s)],
  ['AHT', (m) => formatDuration(m.aht_s)],
  ['Longest wait', (m) => formatDuration(m.max_wait_s)],
  ['Agent occupancy', (m) => formatPercent(m.occupancy)],
  ['Agent hours logged in', (m) => m.logged_in_hours.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })],
  ['Callbacks offered', (m) => (m.callbacks_offered === null ? '—' : formatCount(m.callbacks_offered))],
  ['Callbacks taken', (m) => (m.callbacks_taken === null ? '—' : formatCount(m.callbacks_taken))],
  ['Callbacks completed', (m) => (m.callbacks_completed === null ? '—' : formatCount(m.callbacks_completed))],
  ['Completed callbacks started within the quoted ECBT range', (m) => (m.callback_punctuality === null ? '—' : `${formatPercent(m.callback_punctuality)} (${formatCount(m.callbacks_within_quoted_range ?? 0)})`)],
  ['…and bridged to an agent within it', (m) => (m.callbacks_bridged_within_quoted_range === null || m.callbacks_completed === null || m.callbacks_completed === 0 ? '—' : formatPercent(m.callbacks_bridged_within_quoted_range / m.callbacks_completed))],
];

function comparisonTable(report: SimulationReport, columns: readonly ColumnKey[], caption: string): string {
  const row = report.total;
  const head = columns.map((c) => `<th>${esc(columnLabel(report, c))}</th>`).join('');
  const body = ROWS.map(([label, f]) => `<tr><th class="text">${esc(label)}</th>${columns.map((c) => cell(row[c], f)).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table class="compare"><caption>${esc(caption)}</caption><thead><tr><th class="text">Measure</th>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function perDayTable(report: SimulationReport, columns: readonly ColumnKey[]): string {
  const groups: Array<[string, (m: ColumnMeasures) => string]> = [
    ['Abandonment', (m) => formatPercent(m.abandonment)],
    ['ASA', (m) => formatDuration(m.asa_s)],
    ['SL 20 s', (m) => formatPercent(m.service_level_20s)],
    ['Occupancy', (m) => formatPercent(m.occupancy)],
  ];
  const short: Record<ColumnKey, string> = { real: 'real', simulated: report.options.voice === null ? 'sim.' : 'voice', simulated_with_callbacks: 'sim. + cb' };
  const head1 = groups.map(([g]) => `<th colspan="${columns.length}">${esc(g)}</th>`).join('');
  const head2 = groups.map(() => columns.map((c) => `<th>${esc(short[c])}</th>`).join('')).join('');
  const line = (r: ComparisonRow, day: string, tag: 'td' | 'th'): string =>
    `<tr><${tag} class="text">${esc(day)}</${tag}><td>${formatCount(r.real.offered)}</td>${groups.map(([, f]) => columns.map((c) => cell(r[c], f)).join('')).join('')}</tr>`;
  return `<div class="table-wrap"><table class="days"><caption>Per day (calls counted on the day they entered the center)</caption><thead><tr><th class="text" rowspan="2">Day</th><th rowspan="2">Offered</th>${head1}</tr><tr>${head2}</tr></thead><tbody>${report.days.map((r) => line(r, longDate(r.date), 'td')).join('\n')}</tbody><tfoot>${line(report.total, 'Whole period', 'th')}</tfoot></table></div>`;
}

/** The IVR step of a `--voice` run: simulated time from the call's start to the queue against the log's VRU time, per day. */
async function ivrSection(report: SimulationReport): Promise<string> {
  const ivr = report.ivr;
  const v = report.options.voice;
  if (ivr === null || v === null) return '';
  const flow = v.flow === 'default' ? "the log's voice response unit as one menu (the default; flow.json beside this report)" : `${v.flow}`;
  const dates = ivr.days.map((d) => d.date);
  const labels = dayLabels(dates);
  const values = ivr.days.flatMap((d) => [
    { day: label(labels, d.date), series: 'Simulated IVR time', value: d.mean_ivr_s },
    { day: label(labels, d.date), series: "The log's VRU time", value: d.log_mean_vru_s },
  ]);
  const names = ['Simulated IVR time', "The log's VRU time"];
  const spec = {
    ...chartBase(HALF_WIDTH, 220, 'Mean IVR time per day'),
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 2 },
    encoding: {
      x: perDayAxis(labels, dates),
      y: { field: 'value', type: 'quantitative', title: 'Mean time in the IVR (seconds)' },
      color: { field: 'series', type: 'nominal', title: null, sort: names, scale: { domain: names, range: [COLUMN_COLORS.simulated, COLUMN_COLORS.real] }, legend: { orient: 'top', direction: 'horizontal' } },
    },
  } as TopLevelSpec;
  const svg = dates.length > 0 ? await renderChart(spec, 'ivr') : null;
  const row = (d: IvrMeasures, day: string, tag: 'td' | 'th'): string =>
    `<tr><${tag} class="text">${esc(day)}</${tag}><td>${formatCount(d.calls)}</td><td>${formatCount(d.reached_queue)}</td><td>${formatCount(d.left_in_ivr)}</td>` +
    `<td>${esc(formatDuration(d.mean_ivr_s))}</td><td>${esc(formatDuration(d.log_mean_vru_s))}</td><td>${esc(formatDuration(d.median_ivr_s))}</td><td>${esc(formatDuration(d.log_median_vru_s))}</td>` +
    `<td>${esc(formatDuration(d.mean_abs_diff_s))}</td><td>${formatCount(d.callbacks_offered_in_ivr)}</td><td>${formatCount(d.callbacks_taken_in_ivr)}</td></tr>`;
  return `<section>
<h2>IVR step</h2>
<p class="lead">Each call of the log dialed the center's number of its call type at its VRU entry and went through the call flow — ${esc(flow)} — on the voice core, over the simulated telephone network. At the step “${esc(v.vru_step)}” a caller keys in exactly their logged VRU time after reaching it, so with the default flow the simulated IVR time is the log's (up to about 10 minutes); every other step of a flow adds its own time (prompts, menus, a callback offer). IVR time: from the call's start until it joined the queue.</p>
<div class="grid">${figure('Mean IVR time per day', 'Seconds from the start of the call to the queue: simulated, and the log\'s VRU time.', svg, { empty: 'No days to show.' })}</div>
<div class="table-wrap"><table class="ivr"><caption>The IVR step per day (calls counted on the day they entered the center)</caption><thead><tr><th class="text">Day</th><th>Calls</th><th>Reached the queue</th><th>Left in the IVR</th><th>Mean IVR, simulated</th><th>Mean VRU, log</th><th>Median IVR, simulated</th><th>Median VRU, log</th><th>Mean |simulated − log|</th><th>Callbacks offered in the IVR</th><th>…taken</th></tr></thead>
<tbody>${ivr.days.map((d) => row(d, longDate(d.date), 'td')).join('\n')}</tbody><tfoot>${row(ivr.total, 'Whole period', 'th')}</tfoot></table></div>
</section>`;
}

function callbackSection(report: SimulationReport): string {
  const v = report.options.voice;
  if (v !== null) return voiceCallbackSection(report);
  const p = report.options.callbacks;
  if (p === null) return '<section><h2>Callbacks</h2><p class="lead">Not simulated in this run (turn them on with <code>--callbacks</code>).</p></section>';
  const rows = report.days
    .map((r) => r.simulated_with_callbacks)
    .map((m, i) => (m === null ? '' : `<tr><td class="text">${esc(longDate(report.days[i]?.date ?? ''))}</td><td>${formatCount(m.callbacks_offered ?? 0)}</td><td>${formatCount(m.callbacks_taken ?? 0)}</td><td>${formatCount(m.callbacks_completed ?? 0)}</td><td>${m.callback_punctuality === null ? '—' : formatPercent(m.callback_punctuality)}</td></tr>`))
    .join('\n');
  const t = report.total.simulated_with_callbacks as ColumnMeasures;
  const statuses = Object.entries(report.runs.simulated_with_callbacks?.callback_statuses ?? {}).map(([k, n]) => `${k} ${n}`).join(', ');
  return `<section><h2>Callbacks</h2>
<p class="lead">Offered at queue entry when the caller's estimated wait (default predictor) was at least ${esc(p.offerThresholdS)} s; taken by ${esc(formatPercent(p.takeRate, 0))} of those offered; returned ${esc(p.strategy === 'customer_first' ? 'customer-first' : 'agent-first')}; ${esc(formatPercent(p.answerRate, 0))} of dials answered by a person. Punctuality: the share of completed callbacks that started — the customer's phone first rang — inside the ECBT range quoted at registration (spec §1.6); the stricter share whose bridge to an agent also fell inside it is in the table above. Final statuses: ${esc(statuses || 'none')}.</p>
<div class="table-wrap"><table><thead><tr><th class="text">Day</th><th>Offered</th><th>Taken</th><th>Completed</th><th>Within quoted range</th></tr></thead><tbody>${rows}</tbody>
<tfoot><tr><th class="text">Whole period</th><th>${formatCount(t.callbacks_offered ?? 0)}</th><th>${formatCount(t.callbacks_taken ?? 0)}</th><th>${formatCount(t.callbacks_completed ?? 0)}</th><th>${t.callback_punctuality === null ? '—' : formatPercent(t.callback_punctuality)}</th></tr></tfoot></table></div></section>`;
}

/** Callbacks of a `--voice` run: the ones the flow offered (in the IVR or while holding), in the simulated column. */
function voiceCallbackSection(report: SimulationReport): string {
  const v = report.options.voice;
  const p = v?.callbacks ?? null;
  if (v === null || p === null || !v.offers_callbacks) {
    return '<section><h2>Callbacks</h2><p class="lead">The call flow makes no callback offers (give <code>--flow</code> a flow with an <code>offer_callback</code> step, or a <code>callbackOffer</code> while holding).</p></section>';
  }
  const rows = report.days
    .map((r, i) => {
      const m = r.simulated;
      return `<tr><td class="text">${esc(longDate(report.days[i]?.date ?? ''))}</td><td>${formatCount(m.callbacks_offered ?? 0)}</td><td>${formatCount(m.callbacks_taken ?? 0)}</td><td>${formatCount(m.callbacks_completed ?? 0)}</td><td>${m.callback_punctuality === null ? '—' : formatPercent(m.callback_punctuality)}</td></tr>`;
    })
    .join('\n');
  const t = report.total.simulated;
  const statuses = Object.entries(report.runs.simulated.callback_statuses ?? {}).map(([k, n]) => `${k} ${n}`).join(', ');
  return `<section><h2>Callbacks</h2>
<p class="lead">Offered by the call flow — at its <code>offer_callback</code> steps, or while holding — when the callback core's decision allowed it: each queue's call target offers above an estimated wait of ${esc(p.offerThresholdS)} s (and the flow's own <code>minEwtSeconds</code>); ${esc(formatPercent(p.takeRate, 0))} of callers take an offer; returned ${esc(p.strategy === 'customer_first' ? 'customer-first' : 'agent-first')}; ${esc(formatPercent(p.answerRate, 0))} of dials answered by a person. Final statuses: ${esc(statuses || 'none')}.</p>
<div class="table-wrap"><table><thead><tr><th class="text">Day</th><th>Offered</th><th>Taken</th><th>Completed</th><th>Within quoted range</th></tr></thead><tbody>${rows}</tbody>
<tfoot><tr><th class="text">Whole period</th><th>${formatCount(t.callbacks_offered ?? 0)}</th><th>${formatCount(t.callbacks_taken ?? 0)}</th><th>${formatCount(t.callbacks_completed ?? 0)}</th><th>${t.callback_punctuality === null ? '—' : formatPercent(t.callback_punctuality)}</th></tr></tfoot></table></div></section>`;
}

function modelBlock(report: SimulationReport): string {
  const o = report.options;
  const patience = Object.entries(report.model.mean_patience_s).map(([type, s]) => `${type} ${s === null ? '—' : formatDuration(s)}`).join(', ');
  const run = report.runs.simulated;
  const facts: Array<[string, string]> = [
    ['Seed', String(o.seed)],
    ['Staffing', `${o.staffing}: ${run.agents} agents, ${run.shifts} shifts`],
    ['Accept delay', `${o.accept_delay_s[0]}–${o.accept_delay_s[1]} s${o.voice === null ? '' : " (the agent's phone rings this long)"}`],
    ...(o.voice === null
      ? []
      : ([
          ['Call flow', o.voice.flow === 'default' ? "default: the log's VRU (flow.json)" : o.voice.flow],
          ['Through the voice core', `${formatCount(run.voice?.calls_placed ?? 0)} calls placed, ${formatCount(run.voice?.agent_legs ?? 0)} agents' legs, ${formatCount(run.voice?.batches ?? 0)} runtime batches, ${formatCount(run.voice?.network_errors ?? 0)} errors`],
        ] as Array<[string, string]>)),
    ['After-call work added to each handle time', `${o.wrap_up_s} s`],
    ['Mean patience (1/θ̂) by type', patience],
    ['Handle times drawn (caller never served in reality)', formatCount(run.drawn_handle_times)],
    ['Calls simulated', formatCount(run.calls)],
  ];
  return factList(facts);
}

/** Short names of the columns for chart legends, so three fit in a row above a half-width chart. */
const LEGEND_LABELS: Record<ColumnKey, string> = { real: 'What really happened', simulated: 'Simulated', simulated_with_callbacks: 'Simulated with callbacks' };

/** One measure per day, a line per column; `format` a d3 format for the y axis ('' = plain numbers). */
function lineSpec(report: SimulationReport, columns: readonly ColumnKey[], measure: Measure, text: { title: string; yTitle: string; format: string }): TopLevelSpec {
  const dates = report.days.map((r) => r.date);
  const labels = dayLabels(dates);
  const legend = (c: ColumnKey): string => (c === 'simulated' && report.options.voice !== null ? 'Simulated through the call flow' : LEGEND_LABELS[c]);
  const values = report.days.flatMap((r) => columns.filter((c) => r[c] !== null).map((c) => ({ day: label(labels, r.date), column: legend(c), value: (r[c] as ColumnMeasures)[measure] })));
  const names = columns.map(legend);
  return {
    ...chartBase(HALF_WIDTH, 220, text.title),
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 2 },
    encoding: {
      x: perDayAxis(labels, dates),
      y: { field: 'value', type: 'quantitative', title: text.yTitle, ...(text.format === '' ? {} : { axis: { format: text.format } }) },
      color: {
        field: 'column', type: 'nominal', title: null, sort: names,
        scale: { domain: names, range: columns.map((c) => COLUMN_COLORS[c]) },
        legend: { orient: 'top', direction: 'horizontal', columns: 2 },
      },
    },
  } as TopLevelSpec;
}

/** This page's rules, after the shared ones (html.ts): wider fact tiles for the longer labels, centred column groups. */
const CSS = `
dl.facts{grid-template-columns:repeat(auto-fit,minmax(220px,1fr))}
table.days thead th[colspan]{text-align:center;border-left:1px solid var(--line)}
`;
