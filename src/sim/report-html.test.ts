import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { combineEngagements, type DailyEngagements, type DailyKpis } from '../analytics/kpi.ts';
import { ANOMALY_KINDS, type AnomalyKind } from './anonymous-bank.ts';
import { combineDays, type ReplayReport } from './report.ts';
import { formatDuration, renderReportHtml } from './report-html.ts';

const NBSP = '\u00a0';
const PATH = '/data/<script>alert("x")</script> & co\'s log.tsv';
const CITATION = 'Guedj & Mandelbaum, Technion <Service Engineering>; see https://example.org/anonymous-bank';

const DAYS: DailyKpis[] = [
  { date: '1999-02-01', offered: 1200, answered: 1000, abandoned: 200, asa_s: 72, service_level_20s: 0.5, aht_s: 165.4, max_wait_s: 610 },
  { date: '1999-02-02', offered: 900, answered: 855, abandoned: 45, asa_s: 12.6, service_level_20s: 0.8123, aht_s: 3725, max_wait_s: 59 },
  { date: '1999-02-05', offered: 40, answered: 30, abandoned: 10, asa_s: 4.25, service_level_20s: 0.7, aht_s: 0, max_wait_s: 0 },
];

const ENGAGEMENTS: DailyEngagements[] = DAYS.map((d, i) => ({
  date: d.date,
  queue_engagements: { Accepted: d.answered, Moved: 0, Deleted: 0, CustomerLeft: d.abandoned, Timeout: i === 1 ? 3 : 0, Canceled: 0, Expired: 0 },
  invitations: { Accepted: d.answered, Rejected: 0, Missed: 0, Revoked: 0, Failed: 0 },
  agent_engagements: { count: d.answered, mean_engagement_s: d.aht_s, mean_wrapup_s: 0, mean_handling_s: d.aht_s },
  occupancy: 0.5 + i / 10,
}));

function anomalies(): Record<AnomalyKind, number> {
  const counts = Object.fromEntries(ANOMALY_KINDS.map((k, i) => [k, i * 3])) as Record<AnomalyKind, number>;
  counts.answered_by_no_server = 275;
  return counts;
}

function fixture(): ReplayReport {
  const hours = DAYS.flatMap((d, i) => [8, 9, 10, 14].map((hour) => ({ date: d.date, hour, offered: (i + 1) * 10 + hour })));
  return {
    generated_by: 'switchboard replay',
    source: { path: PATH, name: 'Anonymous Bank <Feb> 1999', citation: CITATION, first_date: '1999-02-01', last_date: '1999-02-05' },
    import: {
      rows: 2150,
      calls: 2148,
      malformed: 2,
      malformed_examples: [
        { line: 17, reason: 'has 3 fields, expected 17' },
        { line: 1234, reason: 'type "<b>X</b>" is not a two-letter call type' },
      ],
      phantom_skipped: 8,
      outside_range: 0,
      anomalies: anomalies(),
    },
    replay: { from: null, to: null, calls_replayed: 2140, agents: 9, working_stretches: 31, commands: 9000, events: 21000, seconds: 0.42 },
    days: DAYS,
    total: combineDays(DAYS),
    service_level: { variant: 'abandons-count-against', threshold_s: 20 },
    engagements: ENGAGEMENTS,
    engagements_total: combineEngagements(ENGAGEMENTS, 0.55),
    ewt: {
      queue_average: { label: 'Queue average <TaskRouter>', mae_s: 21.4, rmse_s: 35, bias_s: -4.2, callback_decision_accuracy: 0.912, n: 1885 },
      head_of_line: { label: 'Head-of-line delay', mae_s: 15.1, rmse_s: 28.3, bias_s: 2.5, callback_decision_accuracy: 0.934, n: 1885 },
    },
    ewt_default_predictor: 'head_of_line',
    ewt_callback_threshold_s: 60,
    charts: {
      offered_by_hour: hours,
      wait_distribution: [
        { fromS: 0, toS: 15, answered: 1200, abandoned: 100 },
        { fromS: 15, toS: 30, answered: 400, abandoned: 80 },
        { fromS: 30, toS: 45, answered: 200, abandoned: 50 },
        { fromS: 45, toS: null, answered: 85, abandoned: 25 },
      ],
      occupancy_by_hour: Array.from({ length: 24 }, (_, hour) => {
        const logged = hour >= 8 && hour <= 20 ? 5 : 0;
        return { hour, loggedInHours: logged, busyHours: logged * 0.6, occupancy: logged === 0 ? 0 : 0.6 };
      }),
      ewt_calibration: ['queue_average', 'head_of_line'].flatMap((predictor, i) => [
        { predictor, real_from_s: 0, real_to_s: 30, mean_real_s: 6, mean_predicted_s: 10 + i * 5, n: 1500 },
        { predictor, real_from_s: 30, real_to_s: 60, mean_real_s: 42, mean_predicted_s: 35 + i * 5, n: 300 },
        { predictor, real_from_s: 60, real_to_s: null, mean_real_s: 95, mean_predicted_s: 70 + i * 20, n: 85 },
      ]),
    },
  };
}

/** Asserts `re` does not occur, showing the first match in context (not the whole page) if it does. */
function absent(html: string, re: RegExp, what: string): void {
  const m = re.exec(html);
  assert.ok(m === null, `${what}: found ${JSON.stringify(m === null ? '' : html.slice(Math.max(0, m.index - 80), m.index + 80))}`);
}

/** The text of each cell of a table row, tags stripped and entities left as they are. */
function cells(row: string): string[] {
  return [...row.matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/g)].map((m) => (m[1] as string).replace(/<[^>]+>/g, ''));
}

describe('renderReportHtml', () => {
  let html = '';
  before(async () => {
    html = await renderReportHtml(fixture());
  });

  it('is one HTML document without scripts', () => {
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.equal(html.match(/<html\b/g)?.length, 1);
    assert.equal(html.match(/<\/html>/g)?.length, 1);
    assert.equal(html.match(/<body\b/g)?.length, 1);
    absent(html, /<script/i, 'no script element, inline or external');
    absent(html, /<(link|img|image|iframe|object|embed|use)\b/i, 'nothing loaded from elsewhere');
    absent(html, /@import|url\((?!#)/i, 'no CSS import or url() other than references within the page');
  });

  it('references no URL except inside the citation', () => {
    const escapedCitation = 'Guedj &amp; Mandelbaum, Technion &lt;Service Engineering&gt;; see https://example.org/anonymous-bank';
    assert.ok(html.includes(escapedCitation), 'citation shown, escaped');
    const rest = html.split(escapedCitation).join('');
    absent(rest, /https?:|\/\/[a-z0-9-]+\./i, 'URL outside the citation');
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });

  it('draws every chart as inline SVG', () => {
    for (const id of ['offered-by-hour', 'asa-per-day', 'service-level-per-day', 'abandonment-per-day', 'wait-distribution', 'occupancy-by-hour', 'ewt-calibration']) {
      const figure = new RegExp(`<figure id="${id}"[^>]*>(.*?)</figure>`, 's').exec(html);
      assert.ok(figure !== null, `figure ${id}`);
      assert.match(figure[1] as string, /<svg[^>]*viewBox=[^>]*>.*<\/svg>/s, `chart ${id} is an SVG`);
    }
    assert.equal(html.match(/<svg\b/g)?.length, 7);
  });

  it('escapes every string from the report', () => {
    assert.ok(!html.includes(PATH), 'raw path absent');
    assert.ok(!html.includes('<script>alert'));
    const escapedPath = '/data/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co&#39;s log.tsv';
    assert.ok(html.split(escapedPath).length - 1 >= 2, 'path shown escaped in the source block and the footer');
    assert.ok(html.includes('type &quot;&lt;b&gt;X&lt;/b&gt;&quot; is not a two-letter call type'));
    assert.ok(!html.includes('<b>X</b>'));
    assert.ok(html.includes('<title>Replay report — Anonymous Bank &lt;Feb&gt; 1999</title>'));
    assert.ok(!html.includes('<TaskRouter>'), 'predictor labels escaped, in the table and in the chart legend');
    assert.ok(html.split('Queue average &lt;TaskRouter&gt;').length - 1 >= 2);
  });

  it('cites the source prominently', () => {
    const source = /<aside class="source"[^>]*>(.*?)<\/aside>/s.exec(html)?.[1] ?? '';
    assert.ok(html.indexOf('<aside class="source"') < html.indexOf('<section'), 'before the first section');
    assert.ok(source.includes('Anonymous Bank &lt;Feb&gt; 1999'));
    assert.ok(source.includes('example.org/anonymous-bank'));
    assert.ok(source.includes('co&#39;s log.tsv'));
  });

  it('shows the headline figures over the whole replay', () => {
    const value = (id: string): string => new RegExp(`data-kpi="${id}"><p class="label">[^<]*</p><p class="value">([^<]*)</p>`).exec(html)?.[1] ?? '';
    assert.equal(value('offered'), '2,140');
    assert.equal(value('answered'), '1,885');
    assert.equal(value('abandonment'), `11.9${NBSP}%`); // 255 / 2140
    // ASA (72·1000 + 12.6·855 + 4.25·30) / 1885 = 43.98 s; SL (0.5·1200 + 0.8123·900 + 0.7·40) / 2140.
    assert.equal(value('asa'), `44${NBSP}s`);
    assert.equal(value('service-level'), `63.5${NBSP}%`);
    // AHT (165.4·1000 + 3725·855 + 0) / 1885 = 1777.3 s.
    assert.equal(value('aht'), `29${NBSP}m${NBSP}37${NBSP}s`);
  });

  it('has a KPI table with one row per day and the right numbers', () => {
    const body = /<table class="kpis"[^>]*>.*?<tbody>(.*?)<\/tbody>.*?<tfoot>(.*?)<\/tfoot>/s.exec(html);
    assert.ok(body !== null);
    const rows = (body[1] as string).match(/<tr\b.*?<\/tr>/gs) ?? [];
    assert.deepEqual(rows.map((r) => /data-date="([^"]*)"/.exec(r)?.[1]), ['1999-02-01', '1999-02-02', '1999-02-05']);
    const s = (text: string): string => text.replaceAll(' ', NBSP);
    assert.deepEqual(cells(rows[0] as string), ['Mon 1 Feb 1999', '1,200', '1,000', '200', s('16.7 %'), s('1 m 12 s'), s('50.0 %'), s('2 m 45 s'), s('10 m 10 s')]);
    assert.deepEqual(cells(rows[1] as string), ['Tue 2 Feb 1999', '900', '855', '45', s('5.0 %'), s('13 s'), s('81.2 %'), s('1 h 02 m'), s('59 s')]);
    assert.deepEqual(cells(rows[2] as string), ['Fri 5 Feb 1999', '40', '30', '10', s('25.0 %'), s('4.3 s'), s('70.0 %'), s('0 s'), s('0 s')]);
    const total = cells(body[2] as string);
    assert.deepEqual(total.slice(0, 5), ['Whole replay', '2,140', '1,885', '255', s('11.9 %')]);
    assert.equal(total[8], s('10 m 10 s'));
  });

  it('has an engagement table per day: outcomes that occur, agent engagement times, occupancy', () => {
    const body = /<table class="engagements"[^>]*>.*?<thead>(.*?)<\/thead>.*?<tbody>(.*?)<\/tbody>.*?<tfoot>(.*?)<\/tfoot>/s.exec(html);
    assert.ok(body !== null);
    const s = (text: string): string => text.replaceAll(' ', NBSP);
    assert.deepEqual(cells(body[1] as string), [
      'Day', 'Queue: Accepted', 'Queue: Customer left', 'Queue: Timeout', 'Invitations: Accepted', 'Agent engagements', 'Mean talk', 'Mean wrap-up', 'Mean handling', 'Occupancy',
    ]);
    const rows = (body[2] as string).match(/<tr\b.*?<\/tr>/gs) ?? [];
    assert.deepEqual(cells(rows[1] as string), ['Tue 2 Feb 1999', '855', '45', '3', '855', '855', s('1 h 02 m'), s('0 s'), s('1 h 02 m'), s('60.0 %')]);
    assert.deepEqual(cells(body[3] as string).slice(0, 6), ['Whole replay', '1,885', '255', '3', '1,885', '1,885']);
    assert.equal(cells(body[3] as string)[9], s('55.0 %'));
  });

  it('without per-day occupancy, drops the column and gives the whole replay\'s occupancy under the table', async () => {
    const report = fixture();
    report.engagements = report.engagements.map((d) => ({ ...d, occupancy: null }));
    const page = await renderReportHtml(report);
    const table = /<table class="engagements"[^>]*>.*?<\/table>(.*?)<\/div>/s.exec(page);
    assert.ok(table !== null);
    assert.ok(!/Occupancy<\/th>/.test(table[0]), 'no occupancy column');
    assert.match(table[1] as string, new RegExp(`whole replay.*55\\.0${NBSP}%`));
  });

  it('scores the predictors and marks the default one', () => {
    const table = /<table class="predictors"[^>]*>(.*?)<\/table>/s.exec(html)?.[1] ?? '';
    const rows = table.match(/<tr data-predictor=.*?<\/tr>/gs) ?? [];
    assert.equal(rows.length, 2);
    const defaultRow = rows.find((r) => r.includes('data-predictor="head_of_line"')) as string;
    assert.match(defaultRow, /class="default"/);
    assert.match(defaultRow, /class="badge">default</);
    assert.doesNotMatch(rows.find((r) => r.includes('queue_average')) as string, /badge/);
    assert.deepEqual(cells(defaultRow).slice(1), [`15${NBSP}s`, `28${NBSP}s`, `+2.5${NBSP}s`, `93.4${NBSP}%`, '1,885']);
    assert.deepEqual(cells(rows[0] as string).slice(1), [`21${NBSP}s`, `35${NBSP}s`, `−4.2${NBSP}s`, `91.2${NBSP}%`, '1,885']);
  });

  it('summarizes the import: rows, malformed examples, every anomaly kind explained', () => {
    const malformed = /<table class="malformed"[^>]*>(.*?)<\/table>/s.exec(html)?.[1] ?? '';
    assert.equal(malformed.match(/<tr><td>/g)?.length, 2);
    assert.ok(malformed.includes('<td>1,234</td>'));
    const anomalyRows = html.match(/<tr data-anomaly="[^"]+".*?<\/tr>/gs) ?? [];
    assert.deepEqual(anomalyRows.map((r) => /data-anomaly="([^"]+)"/.exec(r)?.[1]), [...ANOMALY_KINDS]);
    for (const row of anomalyRows) {
      const [count, , what, treated] = cells(row);
      assert.match(count as string, /^[\d,]+$/);
      assert.ok((what as string).length > 20 && (treated as string).length > 10, row);
    }
    assert.equal(cells(anomalyRows[0] as string)[0], '275');
    assert.match(anomalyRows[0] as string, /Unidentified agent/);
  });

  it('stays small', () => {
    assert.ok(html.length < 300_000, `${html.length} bytes`);
  });
});

describe('formatDuration', () => {
  it('reads as minutes and seconds', () => {
    const s = (text: string): string => text.replaceAll(' ', NBSP);
    assert.equal(formatDuration(0), s('0 s'));
    assert.equal(formatDuration(4.25), s('4.3 s'));
    assert.equal(formatDuration(42.4), s('42 s'));
    assert.equal(formatDuration(72), s('1 m 12 s'));
    assert.equal(formatDuration(3599.6), s('1 h 00 m'));
    assert.equal(formatDuration(-65), s('−1 m 05 s'));
  });
});
