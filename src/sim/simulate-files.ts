/**
 * Writes the simulation's outputs into a folder: report.json, report.html and staffing.csv (the
 * staffing plan used, in the format `--staffing` reads, so an inferred plan can be edited and
 * fed back) — and, for a `--voice` run, flow.json (the call flow used, as `--flow` reads it).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimulateJobResult } from './simulate-job.ts';
import { renderSimulationHtml } from './simulate-report-html.ts';
import { staffingCsv } from './staffing.ts';
import { flowJson } from './voice-callers.ts';

/** Paths of the files written. */
export interface WrittenSimulation {
  json: string;
  html: string;
  staffing: string;
  /** flow.json of a `--voice` run, else null. */
  flow: string | null;
}

/** Writes the files into `outDir` (created if missing). */
export async function writeSimulationOutputs(outDir: string, result: SimulateJobResult): Promise<WrittenSimulation> {
  await mkdir(outDir, { recursive: true });
  const paths: WrittenSimulation = { json: join(outDir, 'report.json'), html: join(outDir, 'report.html'), staffing: join(outDir, 'staffing.csv'), flow: result.flow === null ? null : join(outDir, 'flow.json') };
  await writeFile(paths.json, `${JSON.stringify(result.report, null, 2)}\n`);
  await writeFile(paths.html, await renderSimulationHtml(result.report));
  await writeFile(paths.staffing, staffingCsv(result.staffing));
  if (paths.flow !== null && result.flow !== null) await writeFile(paths.flow, flowJson(result.flow));
  return paths;
}
