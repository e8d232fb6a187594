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
import { COLUMN_LABELS, COLUMNS, type ColumnKey, type ColumnMeasures, type ComparisonRow, type SimulationReport } from './simulate-report.ts';

const COLUMN_COLORS: Record<ColumnKey, string> = { real: '#4b5563', simulated: '#2f6db3', simulated_with_callbacks: '#23877d' };

type Measure = 'abandonment' | 'asa_s' | 'service_level_20s' | 'occupancy';

/**
 * The whole page for `report` (report.json of `switchboard simulate`) as an HTML string: the
 * whole-period comparison of the report's columns (the callback column only when it was
 * simulated), four per-day charts, the per-day table, the callback section and the model's
 * options. Rejects only if Vega fails to render a chart (a bug in the chart spec).
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
  const o = report.options;
  const { first_date: first, last_date: last } = report.source;
  const period = first === last ? longDate(first) : `${longDate(first)} – ${longDate(last)}`;
  const body = `<section>
<h2>What-if, side by side</h2>
<p class="lead">The same arrivals as the log. “What really happened” is the log replayed in shadow mode; the simulated columns let the routing engine route them to the staffing plan, with callers abandoning after their patience (see docs/simulation.md for the model).</p>
${comparisonTable(report.total, columns, 'Whole period')}
</section>
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

function comparisonTable(row: ComparisonRow, columns: readonly ColumnKey[], caption: string): string {
  const head = columns.map((c) => `<th>${esc(COLUMN_LABELS[c])}</th>`).join('');
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
  const short: Record<ColumnKey, string> = { real: 'real', simulated: 'sim.', simulated_with_callbacks: 'sim. + cb' };
  const head1 = groups.map(([g]) => `<th colspan="${columns.length}">${esc(g)}</th>`).join('');
  const head2 = groups.map(() => columns.map((c) => `<th>${esc(short[c])}</th>`).join('')).join('');
  const line = (r: ComparisonRow, day: string, tag: 'td' | 'th'): string =>
    `<tr><${tag} class="text">${esc(day)}</${tag}><td>${formatCount(r.real.offered)}</td>${groups.map(([, f]) => columns.map((c) => cell(r[c], f)).join('')).join('')}</tr>`;
  return `<div class="table-wrap"><table class="days"><caption>Per day (calls counted on the day they entered the center)</caption><thead><tr><th class="text" rowspan="2">Day</th><th rowspan="2">Offered</th>${head1}</tr><tr>${head2}</tr></thead><tbody>${report.days.map((r) => line(r, longDate(r.date), 'td')).join('\n')}</tbody><tfoot>${line(report.total, 'Whole period', 'th')}</tfoot></table></div>`;
}

function callbackSection(report: SimulationReport): string {
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

function modelBlock(report: SimulationReport): string {
  const o = report.options;
  const patience = Object.entries(report.model.mean_patience_s).map(([type, s]) => `${type} ${s === null ? '—' : formatDuration(s)}`).join(', ');
  const run = report.runs.simulated;
  const facts: Array<[string, string]> = [
    ['Seed', String(o.seed)],
    ['Staffing', `${o.staffing}: ${run.agents} agents, ${run.shifts} shifts`],
    ['Accept delay', `${o.accept_delay_s[0]}–${o.accept_delay_s[1]} s`],
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
  const values = report.days.flatMap((r) => columns.filter((c) => r[c] !== null).map((c) => ({ day: label(labels, r.date), column: LEGEND_LABELS[c], value: (r[c] as ColumnMeasures)[measure] })));
  const names = columns.map((c) => LEGEND_LABELS[c]);
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
