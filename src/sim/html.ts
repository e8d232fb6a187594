/**
 * What the replay report (report-html.ts) and the simulation report (simulate-report-html.ts)
 * share: escaping and number formats, the page shell (head, header, data-source block, footer),
 * the base style sheet, figures, and Vega-Lite charts rendered headless to inline SVG.
 *
 * The pages are self-contained: no scripts, fonts, images or network requests. The Content
 * Security Policy in the head allows inline styles and nothing else. Every string that comes from
 * a report goes through {@link esc} before it reaches the page.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ReportSource } from './report.ts';

export const NBSP = '\u00a0';
/** The system font stack of the pages and their charts: nothing to download. */
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif';

// ---------------------------------------------------------------------------------------------
// Formatting

/** Escapes text for HTML element content and double- or single-quoted attributes. */
export function esc(value: unknown): string {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A count with thousands separators, rounded to a whole number: 12345.6 → "12,346". */
export function formatCount(n: number): string {
  return INT.format(n);
}

/** A share 0–1 as "12.3 %" (no-break space), `digits` decimals; "–" when not finite. */
export function formatPercent(share: number, digits = 1): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(digits)}${NBSP}%` : '–';
}

/** Seconds as "42 s", "1 m 12 s" or "2 h 05 m" (rounded; one decimal under 10 s), with no-break spaces; "–" when not finite. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 0) return `−${formatDuration(-seconds)}`;
  if (seconds < 9.95 && !Number.isInteger(seconds)) return `${seconds.toFixed(1)}${NBSP}s`;
  const total = Math.round(seconds);
  if (total < 60) return `${total}${NBSP}s`;
  if (total < 3600) return `${Math.floor(total / 60)}${NBSP}m${NBSP}${String(total % 60).padStart(2, '0')}${NBSP}s`;
  const minutes = Math.round(total / 60);
  return `${Math.floor(minutes / 60)}${NBSP}h${NBSP}${String(minutes % 60).padStart(2, '0')}${NBSP}m`;
}

/** Seconds as {@link formatDuration} with an explicit sign: "+12 s", "−3.5 s", "0 s" within ±0.05 s. */
export function formatSignedDuration(seconds: number): string {
  if (Math.abs(seconds) < 0.05) return `0${NBSP}s`;
  return seconds > 0 ? `+${formatDuration(seconds)}` : formatDuration(seconds);
}

// ---------------------------------------------------------------------------------------------
// Dates

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A YYYY-MM-DD calendar date (month 1–12, weekday 0 = Sunday), or null if the text is not a real date. */
function parseDate(date: string): { year: number; month: number; day: number; weekday: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (m === null) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const at = new Date(Date.UTC(year, month - 1, day));
  if (at.getUTCMonth() !== month - 1 || at.getUTCDate() !== day) return null;
  return { year, month, day, weekday: at.getUTCDay() };
}

/** "Mon 1 Feb 1999" for a YYYY-MM-DD date, or the text itself if it is not one. */
export function longDate(date: string): string {
  const parts = parseDate(date);
  return parts === null ? date : `${WEEKDAYS[parts.weekday]} ${parts.day} ${MONTHS[parts.month - 1]} ${parts.year}`;
}

/** Short axis labels per date ("Mon 1 Feb"), falling back to the dates when those would repeat. */
export function dayLabels(dates: readonly string[]): Map<string, string> {
  const short = dates.map((d) => {
    const p = parseDate(d);
    return p === null ? d : `${WEEKDAYS[p.weekday]} ${p.day} ${MONTHS[p.month - 1]}`;
  });
  const unique = new Set(short).size === short.length;
  return new Map(dates.map((d, i) => [d, unique ? (short[i] as string) : d]));
}

/** The label of `date` in `labels`, or the date itself. */
export function label(labels: Map<string, string>, date: string): string {
  return labels.get(date) ?? date;
}

/** "Feb 1999", or "Jan–Feb 1999", or "Dec 1998 – Jan 1999" for the months the dates cover. */
function monthSpan(dates: readonly string[]): string {
  const first = parseDate(dates[0] ?? '');
  const last = parseDate(dates[dates.length - 1] ?? '');
  if (first === null || last === null) return 'date';
  const name = (p: { month: number }): string => MONTHS[p.month - 1] as string;
  if (first.year !== last.year) return `${name(first)} ${first.year} – ${name(last)} ${last.year}`;
  return first.month === last.month ? `${name(first)} ${first.year}` : `${name(first)}–${name(last)} ${first.year}`;
}

// ---------------------------------------------------------------------------------------------
// Page

/** The parts of a report page; `body` and `css` are HTML and CSS as is, everything else text to escape. */
export interface PageParts {
  /** The document title and the page heading. */
  title: string;
  /** The small line above the heading (the tool and version that made the report). */
  kicker: string;
  /** The line under the heading: period, options. */
  subtitle: string;
  source: ReportSource;
  generatedBy: string;
  /** The sections between the data-source block and the footer. */
  body: string;
  /** Rules for this report only, appended to {@link BASE_CSS}. */
  css?: string;
}

/**
 * One HTML document: head (charset, viewport, a Content Security Policy that only allows inline
 * styles), header, the data-source block, `body`, and a footer citing the data and the file.
 */
export function htmlPage(page: PageParts): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(page.title)}</title>
<style>${BASE_CSS}${page.css ?? ''}</style>
</head>
<body>
<main>
<header>
<p class="kicker">${esc(page.kicker)}</p>
<h1>${esc(page.title)}</h1>
<p class="period">${esc(page.subtitle)}</p>
</header>
${sourceBlock(page.source)}
${page.body}
<footer>
<p><strong>Data:</strong> ${esc(page.source.citation)}</p>
<p>Generated by ${esc(page.generatedBy)} from <code>${esc(page.source.path)}</code>.</p>
</footer>
</main>
</body>
</html>
`;
}

function sourceBlock(s: ReportSource): string {
  return `<aside class="source" aria-label="Data source">
<p class="label">Data source</p>
<p class="name">${esc(s.name)}</p>
<p class="citation">${esc(s.citation)}</p>
<p class="path">File: <code>${esc(s.path)}</code></p>
</aside>`;
}

/** How a figure is marked up: `id` for links and tests, `cls` extra classes ("wide"), `empty` the text when there is no chart. */
export interface FigureOptions {
  id?: string;
  cls?: string;
  empty?: string;
}

/** A chart with its title and caption; `svg` null when there was nothing to draw. */
export function figure(title: string, caption: string, svg: string | null, options: FigureOptions = {}): string {
  const body = svg ?? `<p class="empty">${esc(options.empty ?? 'No data for this chart.')}</p>`;
  const id = options.id === undefined ? '' : ` id="${esc(options.id)}"`;
  const cls = ['chart', options.cls ?? ''].filter((c) => c !== '').join(' ');
  return `<figure${id} class="${esc(cls)}"><figcaption><strong>${esc(title)}</strong><span>${esc(caption)}</span></figcaption>${body}</figure>`;
}

/** A list of facts as label/value tiles; both are text. */
export function factList(items: ReadonlyArray<readonly [string, string]>): string {
  return `<dl class="facts">${items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`;
}

// ---------------------------------------------------------------------------------------------
// Charts

/** Width in SVG pixels of the charts that sit two to a row; the page scales them down to fit. */
export const HALF_WIDTH = 430;

/**
 * The day axis (Vega-Lite x encoding of field `day`, ordinal) of a half-width per-day chart:
 * "Mon" over "1 Feb" when there is room (26 px a day), else the labels turned on their side.
 * `labels` from {@link dayLabels}; `dates` YYYY-MM-DD in axis order.
 */
export function perDayAxis(labels: Map<string, string>, dates: readonly string[]): Record<string, unknown> {
  const short = dates.every((d) => label(labels, d) !== d);
  const roomy = HALF_WIDTH / Math.max(1, dates.length) >= 26;
  const axis = short && roomy
    ? { labelAngle: 0, labelExpr: "[split(datum.label, ' ')[0], split(datum.label, ' ')[1]]", labelOverlap: false }
    : { labelAngle: -90, labelOverlap: true };
  return { field: 'day', type: 'ordinal', sort: dates.map((d) => label(labels, d)), title: short && roomy ? `Day (${monthSpan(dates)})` : 'Day', axis };
}

/** The look of every chart: system font, light grid, no frame. */
const CHART_CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 600, titleColor: '#374151', labelColor: '#4b5563', gridColor: '#e5e7eb', domainColor: '#9ca3af', tickColor: '#9ca3af' },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 320, symbolStrokeWidth: 2 },
  text: { font: FONT },
} as const;

/**
 * The top of a Vega-Lite spec: size in SVG pixels (left out when either is null, for
 * concatenated views that size their parts), the accessible description, {@link CHART_CONFIG}
 * and padding.
 */
export function chartBase(width: number | null, height: number | null, description: string): Record<string, unknown> {
  const size = width === null || height === null ? {} : { width, height };
  return { ...size, description, config: CHART_CONFIG, padding: { left: 4, right: 12, top: 8, bottom: 4 } };
}

/**
 * Compiles a Vega-Lite spec and renders it to an SVG string for inline use in HTML. `idPrefix`
 * keeps the SVG's element ids (gradients, clip paths) unique among the page's charts.
 */
export async function renderChart(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // Inline SVG needs no namespace declarations; dropping them keeps URLs out of the page.
    const inline = svg.replace(/^<svg([^>]*)>/, (_m, attrs: string) => `<svg${attrs.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '')} role="img" focusable="false">`);
    // Only inside tags: text content has its < escaped, attribute values their > and ".
    return inline.replace(/<[^>]+>/g, (tag) => tag
      .replace(/ id="([^"]+)"/g, (_m, id: string) => ` id="${idPrefix}-${id}"`)
      .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${idPrefix}-${id})`)
      .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${idPrefix}-${id}"`));
  } finally {
    view.finalize();
  }
}

// ---------------------------------------------------------------------------------------------
// Style

/** Outcome colours shared by the pages' CSS: answered calls blue, abandoned orange, neutral grey. */
export const INK = { answered: '#2f6db3', abandoned: '#d9622b', neutral: '#4b5563' } as const;

/** The style sheet of both reports: page, header, source block, sections, figures, tables, facts, footer, small screens, print. */
const BASE_CSS = `
:root{--answered:${INK.answered};--abandoned:${INK.abandoned};--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--soft:#f6f7f9;color-scheme:light}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#f3f4f6;color:var(--ink);font:15px/1.5 ${FONT};font-variant-numeric:tabular-nums}
main{max-width:1080px;margin:0 auto;padding:28px 24px 40px;background:#fff;min-height:100vh}
header h1{font-size:26px;line-height:1.25;margin:2px 0 4px}
.kicker{margin:0;color:var(--muted);font-size:13px;letter-spacing:.04em;text-transform:uppercase}
.period{margin:0;color:#374151}
h2{font-size:19px;margin:34px 0 12px;padding-bottom:6px;border-bottom:2px solid var(--line)}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:1px 4px;border-radius:3px;word-break:break-all}
.source{margin:18px 0 6px;padding:12px 16px;border-left:4px solid ${INK.neutral};background:var(--soft);border-radius:0 6px 6px 0}
.source p{margin:2px 0}
.source .label{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600}
.source .name{font-weight:650;font-size:16px}
.source .citation{font-size:14px}
.source .path{font-size:13px;color:#374151}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:18px 24px;align-items:start}
figure{margin:0 0 8px}
figcaption{margin-bottom:6px}
figcaption strong{display:block;font-size:15px}
figcaption span{display:block;font-size:13px;color:var(--muted)}
figure svg{display:block;width:100%;max-width:100%;height:auto}
figure.wide svg{max-width:980px}
.lead{margin:0 0 14px;color:#374151;max-width:80ch}
.muted,.note{color:var(--muted);font-size:13px}
.note{margin:6px 0 0}
.table-wrap{overflow-x:auto;margin:14px 0}
table{border-collapse:collapse;width:100%;font-size:13.5px}
caption{text-align:left;font-weight:600;padding:0 0 6px;font-size:14px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
th{font-size:12.5px;color:#374151;font-weight:600;background:var(--soft)}
th.text,td.text{text-align:left}
tbody tr:nth-child(even){background:#fafafa}
tfoot th,tfoot td{border-top:2px solid #9ca3af;font-weight:650;background:#fff}
p.empty{margin:0;padding:28px 12px;text-align:center;color:var(--muted);background:var(--soft);border-radius:6px;font-size:13px}
dl.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:0}
dl.facts div{background:var(--soft);border-radius:6px;padding:8px 10px}
dt{font-size:12.5px;color:var(--muted)}
dd{margin:0;font-weight:600}
footer{margin-top:36px;padding-top:12px;border-top:1px solid var(--line);font-size:13px;color:#374151}
footer p{margin:4px 0}
@media (max-width:640px){main{padding:18px 12px}.grid{grid-template-columns:1fr}figure.wide{overflow-x:auto}figure.wide svg{min-width:720px}}
@media print{
@page{size:A4;margin:12mm}
body{background:#fff;font-size:12px}
main{max-width:none;padding:0;min-height:0}
.grid{grid-template-columns:1fr 1fr}
figure,tr,.source{break-inside:avoid}
h2{break-after:avoid}
.table-wrap{overflow:visible}
}
`;
