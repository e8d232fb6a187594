/**
 * The day's KPI charts of the supervisor view (issue 15 item 3): calls offered and abandoned, and
 * the service level, per half hour since UTC midnight, from the analytics (`GET Analytics/Kpis`
 * with `Interval=PT30M`; definitions in docs/analytics.md, spec CEA §B8). Drawn with Vega-Lite,
 * loaded on first use so the rest of the console does not wait for it; refreshed every 30 s and
 * whenever `changes` changes (the supervisor view passes when it last read today's figures: at
 * most every few seconds, not on every event).
 */
import { useEffect, useState } from 'react';
import type { Api } from '../api.ts';
import { usePolling } from '../hooks.ts';

/** The fields of a Kpis row the charts use (shares 0–1 or null). */
interface KpiRow {
  from: string;
  offered: number;
  abandoned: number;
  service_level: number | null;
  threshold_s: number;
}

const REFRESH_MS = 30_000;

export function TodayCharts({ api, workspaceSid, changes }: { api: Api; workspaceSid: string; changes: string }) {
  const rows = usePolling(async () => {
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 0, 0);
    const end = new Date(Math.ceil(Date.now() / 1_800_000) * 1_800_000);
    const r = await api.get<{ kpis: KpiRow[] }>(`/v1/Workspaces/${workspaceSid}/Analytics/Kpis`, { StartDate: midnight.toISOString(), EndDate: end.toISOString(), Interval: 'PT30M' });
    return r.kpis;
  }, REFRESH_MS, `${workspaceSid} ${changes}`);
  const [svg, setSvg] = useState<{ volume: string; level: string } | null>(null);

  useEffect(() => {
    if (rows.data === null) return;
    let live = true;
    void render(rows.data).then((s) => live && setSvg(s));
    return () => {
      live = false;
    };
  }, [rows.data]);

  if (rows.error !== null && rows.data === null) return <p className="muted">The day's charts need the analytics: {rows.error}</p>;
  if (svg === null) return <p aria-live="polite">Drawing the day…</p>;
  const threshold = rows.data?.[0]?.threshold_s ?? 20;
  return (
    <div className="charts">
      <figure>
        <figcaption>Tasks offered and abandoned per half hour (UTC)</figcaption>
        <div role="img" aria-label={describe(rows.data ?? [])} dangerouslySetInnerHTML={{ __html: svg.volume }} />
      </figure>
      <figure>
        <figcaption>Service level per half hour: answered within {threshold} s, short abandons excluded</figcaption>
        <div role="img" aria-label="Service level per half hour" dangerouslySetInnerHTML={{ __html: svg.level }} />
      </figure>
    </div>
  );
}

/** A sentence for screen readers: the day's totals. */
function describe(rows: readonly KpiRow[]): string {
  const offered = rows.reduce((n, r) => n + r.offered, 0);
  const abandoned = rows.reduce((n, r) => n + r.abandoned, 0);
  return `Today: ${offered} tasks offered, ${abandoned} abandoned`;
}

const CONFIG = { font: 'system-ui, sans-serif', axis: { labelColor: '#1b1f24', titleColor: '#57606a', gridColor: '#e6e9ed' }, view: { stroke: null } };

/** Both charts as SVG strings (Vega's own escaping of text; no scripts). */
async function render(rows: readonly KpiRow[]): Promise<{ volume: string; level: string }> {
  const [{ compile }, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const data = rows.map((r) => ({ hm: r.from.slice(11, 16), offered: r.offered, abandoned: r.abandoned, sl: r.service_level }));
  const toSvg = async (spec: object): Promise<string> => {
    const view = new vega.View(vega.parse(compile(spec as Parameters<typeof compile>[0]).spec), { renderer: 'none' });
    try {
      return await view.toSVG();
    } finally {
      view.finalize();
    }
  };
  // Half hours as ordinal bands labelled HH:MM (UTC), every second full hour shown.
  const x = { field: 'hm', type: 'ordinal', title: null, axis: { labelAngle: 0, labelExpr: "slice(datum.label, 3) == '00' && toNumber(slice(datum.label, 0, 2)) % 2 == 0 ? datum.label : ''" } };
  const volume = await toSvg({
    width: 520,
    height: 160,
    config: CONFIG,
    data: { values: data },
    transform: [{ fold: ['offered', 'abandoned'], as: ['measure', 'count'] }],
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x,
      xOffset: { field: 'measure' },
      y: { field: 'count', type: 'quantitative', title: 'tasks' },
      color: { field: 'measure', type: 'nominal', title: null, scale: { domain: ['offered', 'abandoned'], range: ['#0b5cad', '#b42318'] } },
    },
  });
  const level = await toSvg({
    width: 520,
    height: 160,
    config: CONFIG,
    data: { values: data.filter((d) => d.sl !== null) },
    layer: [
      // The whole day's half hours on the axis, as on the volume chart, also where no service level exists.
      { mark: { type: 'line', point: true, color: '#1a7f37' }, encoding: { x: { ...x, scale: { domain: data.map((d) => d.hm) } }, y: { field: 'sl', type: 'quantitative', title: 'service level', axis: { format: '%' }, scale: { domain: [0, 1] } } } },
      { data: { values: [{ target: 0.8 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#57606a' }, encoding: { y: { field: 'target', type: 'quantitative' } } },
    ],
  });
  return { volume, level };
}
