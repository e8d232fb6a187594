/**
 * `switchboard replay`: runs the replay job with a progress bar on a terminal and prints a
 * summary table at the end. Returns the process exit code (0 ok, 1 the log could not be read).
 */
import Table from 'cli-table3';
import { ImportError } from '../sim/anonymous-bank.ts';
import { writeReplayOutputs } from '../sim/report-files.ts';
import { runReplayJob, type ReplayPhase } from '../sim/replay-job.ts';
import { phasedProgress } from './progress.ts';

const PHASE_LABEL: Record<ReplayPhase, string> = { import: 'Reading the log', replay: 'Replaying     ', report: 'Writing report' };

export async function runReplayCommand(log: string, opts: { out: string; from?: string; to?: string }): Promise<number> {
  const started = performance.now();
  const progress = phasedProgress<ReplayPhase>(PHASE_LABEL);
  try {
    const result = await runReplayJob({
      path: log,
      from: opts.from,
      to: opts.to,
      onProgress: progress.onProgress,
    });
    progress.stop();
    const files = await writeReplayOutputs(opts.out, result);
    printSummary(result.report, files, (performance.now() - started) / 1000);
    return 0;
  } catch (error) {
    progress.stop();
    if (error instanceof ImportError) {
      process.stderr.write(`switchboard replay: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function printSummary(
  report: Awaited<ReturnType<typeof runReplayJob>>['report'],
  files: { json: string; csv: string; html: string },
  seconds: number,
): void {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const s = (x: number): string => `${x.toFixed(1)} s`;
  const days = new Table({ head: ['Day', 'Offered', 'Answered', 'Abandoned', 'ASA', 'SL 20 s', 'AHT', 'Max wait'], style: { head: [], border: [], compact: true } });
  for (const d of [...report.days, report.total]) {
    days.push([d.date, d.offered, d.answered, d.abandoned, s(d.asa_s), pct(d.service_level_20s), s(d.aht_s), `${d.max_wait_s} s`]);
  }
  const ewt = new Table({ head: ['Wait predictor', 'MAE', 'RMSE', 'Callback decision right'], style: { head: [], border: [], compact: true } });
  for (const [name, score] of Object.entries(report.ewt)) {
    const star = name === report.ewt_default_predictor ? ' (default)' : '';
    ewt.push([`${score.label}${star}`, s(score.mae_s), s(score.rmse_s), pct(score.callback_decision_accuracy)]);
  }
  const i = report.import;
  const anomalies = Object.entries(i.anomalies)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k.replaceAll('_', ' ')} ${n}`)
    .join(', ');
  const out = process.stdout;
  out.write(`\n${report.source.name} — ${report.source.first_date} to ${report.source.last_date}\n`);
  out.write(`Source: ${report.source.citation}\n\n`);
  out.write(
    `Read ${i.rows} rows: ${i.calls} calls, ${i.malformed} malformed rows skipped, ${i.phantom_skipped} phantom calls skipped` +
      (i.outside_range > 0 ? `, ${i.outside_range} outside the chosen days` : '') +
      `.\nAnomalies handled: ${anomalies || 'none'}.\n`,
  );
  for (const m of i.malformed_examples.slice(0, 5)) out.write(`  line ${m.line}: ${m.reason}\n`);
  out.write(`Replayed ${report.replay.calls_replayed} calls, ${report.replay.agents} agents, ${report.replay.events} engine events.\n\n`);
  out.write(`${days.toString()}\n\n${ewt.toString()}\n\n`);
  out.write(`Report: ${files.html}\n        ${files.json}\n        ${files.csv}\nDone in ${seconds.toFixed(1)} s.\n`);
}
