/**
 * Writes the replay's outputs into a folder: report.json, predictions.csv and report.html.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { DEFAULT_PREDICTOR, PREDICTORS } from '../analytics/ewt.ts';
import { renderReportHtml } from './report-html.ts';
import type { ReplayJobResult } from './replay-job.ts';

/** Paths of the files written. */
export interface WrittenReport {
  json: string;
  csv: string;
  html: string;
}

/**
 * Writes the three files into `outDir` (created if missing). predictions.csv has the header
 * `call_key,predicted_wait_s,<one column per predictor>`, predictions in seconds with one decimal.
 */
export async function writeReplayOutputs(outDir: string, result: ReplayJobResult): Promise<WrittenReport> {
  await mkdir(outDir, { recursive: true });
  const paths: WrittenReport = { json: join(outDir, 'report.json'), csv: join(outDir, 'predictions.csv'), html: join(outDir, 'report.html') };
  await writeFile(paths.json, `${JSON.stringify(result.report, null, 2)}\n`);
  const round = (x: number): string => (Math.round(x * 10) / 10).toString();
  const rows = result.predictions.map((p) => [p.callKey, round(p.predictions[DEFAULT_PREDICTOR]), ...PREDICTORS.map((n) => round(p.predictions[n]))]);
  await writeFile(paths.csv, stringify([['call_key', 'predicted_wait_s', ...PREDICTORS], ...rows]));
  await writeFile(paths.html, await renderReportHtml(result.report));
  return paths;
}
