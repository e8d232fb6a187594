/**
 * `switchboard simulate`: option parsing (every bad value is an error naming the option and the
 * reason), the simulation job with a progress bar on a terminal, the report files and a summary
 * table with the three columns side by side. Thin: the work is in src/sim.
 */
import Table from 'cli-table3';
import { InvalidArgumentError, type Command } from 'commander';
import { ImportError } from '../sim/anonymous-bank.ts';
import { FlowFileError } from '../sim/voice-callers.ts';
import { simulateVoiceCalls } from './simulate-voice.ts';
import { DEFAULT_CALLBACK_POLICY, type CallbackPolicy } from '../sim/simulate-callbacks.ts';
import { writeSimulationOutputs, type WrittenSimulation } from '../sim/simulate-files.ts';
import { DEFAULT_ACCEPT_DELAY_S } from '../sim/simulate.ts';
import { runSimulateJob, SimulationInputError, type SimulatePhase } from '../sim/simulate-job.ts';
import { columnLabel, COLUMNS, type ColumnMeasures, type SimulationReport } from '../sim/simulate-report.ts';
import { StaffingError } from '../sim/staffing.ts';
import { dayOption } from './day-option.ts';
import { phasedProgress } from './progress.ts';

/** Options as commander hands them over (after the parsers below). */
export interface SimulateCliOptions {
  out: string;
  from?: string;
  to?: string;
  seed: number;
  staffing?: string;
  acceptDelay?: [number, number];
  wrapUp: number;
  callbacks?: boolean;
  offerThreshold?: number;
  takeRate?: number;
  strategy?: CallbackPolicy['strategy'];
  answerRate?: number;
  voice?: boolean;
  flow?: string;
}

const PHASE_LABEL: Record<SimulatePhase, string> = {
  import: 'Reading the log          ',
  replay: 'Measuring what happened  ',
  simulate: 'Simulating, no callbacks ',
  simulate_callbacks: 'Simulating with callbacks',
  simulate_voice: 'Calls through the flow   ',
};

function share(option: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`${option} "${value}" must be a number from 0 to 1 (e.g. 0.5).`);
    return n;
  };
}

function seconds(option: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${option} "${value}" must be a number of seconds, 0 or more.`);
    return n;
  };
}

function seed(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`--seed "${value}" must be a whole number.`);
  return n;
}

function acceptDelay(value: string): [number, number] {
  const m = /^\s*(\d+(?:\.\d+)?)\s*[,-]\s*(\d+(?:\.\d+)?)\s*$/.exec(value);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (m === null || !(hi >= lo)) throw new InvalidArgumentError(`--accept-delay "${value}" must be MIN,MAX seconds with 0 ≤ MIN ≤ MAX (e.g. 0,2).`);
  return [lo, hi];
}

function strategy(value: string): CallbackPolicy['strategy'] {
  if (value !== 'customer_first' && value !== 'agent_first') throw new InvalidArgumentError(`--strategy "${value}" must be customer_first or agent_first.`);
  return value;
}

/** Adds `simulate` to the program. */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description(
      'What-if simulation: the same arrivals as a real call log, but the routing engine routes them to a staffing plan in ' +
        'virtual time, callers abandon after their patience, and callbacks can be offered. Writes a report comparing what ' +
        'really happened with the simulation without and with callbacks — or, with --voice, with the callers dialing in ' +
        'and going through the call flow (IVR) before they queue.',
    )
    .argument('<log>', 'call log in the Anonymous Bank format (tab-separated, with its header line)')
    .option('-o, --out <dir>', 'folder for report.json, report.html and staffing.csv (and flow.json with --voice)', './simulate-out')
    .option('--from <date>', 'first day to simulate, YYYY-MM-DD (default: the first day in the log)', dayOption('--from'))
    .option('--to <date>', 'last day to simulate, YYYY-MM-DD, inclusive (default: the last day in the log)', dayOption('--to'))
    .option('--seed <n>', 'seed of every random draw; the same seed gives the same report', seed, 1)
    .option('--staffing <file>', 'staffing plan, CSV (agent,start,end,types) or JSON ({"shifts":[…]}); default: inferred from the log, as the replay does')
    .option('--accept-delay <min,max>', `seconds an agent takes to accept a reservation, drawn uniformly; with --voice, how long their phone rings (default ${DEFAULT_ACCEPT_DELAY_S.join(',')})`, acceptDelay)
    .option('--wrap-up <s>', 'after-call work in seconds added to every handle time (the log records talk time only)', seconds('--wrap-up'), 0)
    .option('--callbacks', 'also simulate with callbacks offered at queue entry (adds the third column)')
    .option('--offer-threshold <s>', `offer a callback when the estimated wait is at least this many seconds (default ${DEFAULT_CALLBACK_POLICY.offerThresholdS}; needs --callbacks, or --voice with a flow that offers callbacks)`, seconds('--offer-threshold'))
    .option('--take-rate <share>', `share 0–1 of offered callers who take the callback (default ${DEFAULT_CALLBACK_POLICY.takeRate}; needs --callbacks or --voice)`, share('--take-rate'))
    .option('--strategy <name>', `customer_first or agent_first (default ${DEFAULT_CALLBACK_POLICY.strategy}; needs --callbacks or --voice)`, strategy)
    .option('--answer-rate <share>', `share 0–1 of callback dials a person answers (default ${DEFAULT_CALLBACK_POLICY.answerRate}; needs --callbacks or --voice)`, share('--answer-rate'))
    .option(
      '--voice',
      'drive the callers through the call flow on the voice core (simulated telephone network, IVR time from the log\'s vru_time) ' +
        'instead of creating their tasks directly; the report gets the IVR step. With a flow that offers callbacks, ' +
        '--offer-threshold, --take-rate, --strategy and --answer-rate apply to its offers',
    )
    .option('--flow <file>', `with --voice: the call flow to simulate (JSON; enqueue into "WW_SIM", offer callbacks on "CT_SIM"; the step "vru" takes each caller's logged VRU time); default: the log's VRU as one menu (written to flow.json)`)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  switchboard simulate ../shared/data/anonymous-bank-1999-02-01_14.tsv\n' +
        '  switchboard simulate ../shared/data/anonymous-bank-1999-02-01_14.tsv --callbacks --offer-threshold 90 --take-rate 0.4 --strategy agent_first\n' +
        '  switchboard simulate log.tsv --staffing simulate-out/staffing.csv --seed 7 --out what-if\n' +
        '  switchboard simulate ../shared/data/anonymous-bank-1999-02-01_14.tsv --voice --out voice-out\n' +
        '  switchboard simulate ../shared/data/anonymous-bank-1999-02-01_14.tsv --voice --flow my-flow.json --take-rate 0.3\n' +
        '      (start from voice-out/flow.json: add a menu, or an offer_callback step with a minEwtSeconds threshold)\n' +
        '\nThe model (staffing, handle times, patience, accept delays, callbacks, the call flow) is described in docs/simulation.md.\n',
    )
    .action(async (log: string, opts: SimulateCliOptions) => {
      if (opts.from !== undefined && opts.to !== undefined && opts.from > opts.to) program.error(`--from ${opts.from} is after --to ${opts.to}.`);
      if (opts.flow !== undefined && opts.voice !== true) program.error('--flow only applies with --voice; add --voice to run the callers through a call flow.');
      if (opts.voice === true && opts.callbacks === true) {
        program.error('--callbacks offers callbacks at queue entry without a call flow; with --voice the flow makes the offers: use --flow with an offer_callback step (or a callbackOffer while holding) instead.');
      }
      if (opts.callbacks !== true && opts.voice !== true) {
        const stray = (['offerThreshold', 'takeRate', 'strategy', 'answerRate'] as const).find((k) => opts[k] !== undefined);
        if (stray !== undefined) program.error(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} only applies with --callbacks (or --voice with a flow that offers callbacks); add --callbacks to simulate callbacks.`);
      }
      process.exitCode = await runSimulateCommand(log, opts);
    });
}

/** Runs the job, writes the files, prints the summary. Returns the exit code (0 ok, 1 bad input file or nothing to simulate). */
export async function runSimulateCommand(log: string, opts: SimulateCliOptions): Promise<number> {
  const started = performance.now();
  const progress = phasedProgress<SimulatePhase>(PHASE_LABEL);
  const policy: CallbackPolicy | null = opts.callbacks === true || opts.voice === true
    ? {
        offerThresholdS: opts.offerThreshold ?? DEFAULT_CALLBACK_POLICY.offerThresholdS,
        takeRate: opts.takeRate ?? DEFAULT_CALLBACK_POLICY.takeRate,
        strategy: opts.strategy ?? DEFAULT_CALLBACK_POLICY.strategy,
        answerRate: opts.answerRate ?? DEFAULT_CALLBACK_POLICY.answerRate,
      }
    : null;
  try {
    const result = await runSimulateJob({
      path: log,
      from: opts.from,
      to: opts.to,
      seed: opts.seed,
      staffingPath: opts.staffing,
      acceptDelayS: opts.acceptDelay,
      wrapUpS: opts.wrapUp,
      callbacks: policy,
      voice: opts.voice === true ? { ...(opts.flow === undefined ? {} : { flowPath: opts.flow }), run: simulateVoiceCalls } : null,
      onProgress: progress.onProgress,
    });
    progress.stop();
    const files = await writeSimulationOutputs(opts.out, result);
    printSummary(result.report, files, (performance.now() - started) / 1000);
    return 0;
  } catch (error) {
    progress.stop();
    if (error instanceof ImportError || error instanceof StaffingError || error instanceof SimulationInputError || error instanceof FlowFileError) {
      process.stderr.write(`switchboard simulate: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function printSummary(report: SimulationReport, files: WrittenSimulation, secondsTaken: number): void {
  const pct = (x: number | null): string => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
  const s = (x: number): string => `${x.toFixed(1)} s`;
  const n = (x: number | null): string => (x === null ? '—' : String(x));
  const columns = COLUMNS.filter((c) => report.total[c] !== null);
  const style = { head: [], border: [], compact: true };
  const total = new Table({ head: ['Whole period', ...columns.map((c) => columnLabel(report, c))], style });
  const rows: Array<[string, (m: ColumnMeasures) => string]> = [
    ['Offered', (m) => n(m.offered)],
    ['Answered', (m) => n(m.answered)],
    ['Abandoned', (m) => n(m.abandoned)],
    ['Abandonment', (m) => pct(m.abandonment)],
    ['ASA', (m) => s(m.asa_s)],
    ['Service level 20 s', (m) => pct(m.service_level_20s)],
    ['Occupancy', (m) => pct(m.occupancy)],
    ['Callbacks offered', (m) => n(m.callbacks_offered)],
    ['Callbacks taken', (m) => n(m.callbacks_taken)],
    ['Callbacks completed', (m) => n(m.callbacks_completed)],
    ['…started within quoted ECBT', (m) => pct(m.callback_punctuality)],
    ['…bridged within quoted ECBT', (m) => pct(m.callbacks_bridged_within_quoted_range === null || !m.callbacks_completed ? null : m.callbacks_bridged_within_quoted_range / m.callbacks_completed)],
  ];
  for (const [label, f] of rows) total.push([label, ...columns.map((c) => f(report.total[c] as ColumnMeasures))]);
  const short = columns.map((c) => (c === 'real' ? 'real' : c === 'simulated' ? (report.options.voice !== null ? 'voice' : 'sim') : 'sim+cb'));
  const days = new Table({ head: ['Day', 'Offered', ...short.map((c) => `Aband. ${c}`), ...short.map((c) => `ASA ${c}`), ...short.map((c) => `SL ${c}`)], style });
  for (const d of [...report.days, report.total]) {
    days.push([d.date, d.real.offered, ...columns.map((c) => pct(d[c]?.abandonment ?? null)), ...columns.map((c) => (d[c] === null ? '—' : s((d[c] as ColumnMeasures).asa_s))), ...columns.map((c) => pct(d[c]?.service_level_20s ?? null))]);
  }
  const out = process.stdout;
  out.write(`\n${report.source.name} — ${report.source.first_date} to ${report.source.last_date}, seed ${report.options.seed}, staffing ${report.options.staffing}\n`);
  out.write(`Source: ${report.source.citation}\n\n`);
  out.write(`${total.toString()}\n\n${days.toString()}\n\n`);
  if (report.ivr !== null) {
    const ivr = new Table({ head: ['IVR step', 'Calls', 'Reached queue', 'Left in IVR', 'Mean IVR (sim / log)', 'Median IVR (sim / log)', 'Mean |sim − log|', 'Callbacks offered / taken in IVR'], style });
    for (const d of [...report.ivr.days, report.ivr.total]) {
      ivr.push([d.date, d.calls, d.reached_queue, d.left_in_ivr, `${s(d.mean_ivr_s)} / ${s(d.log_mean_vru_s)}`, `${s(d.median_ivr_s)} / ${s(d.log_median_vru_s)}`, s(d.mean_abs_diff_s), `${d.callbacks_offered_in_ivr} / ${d.callbacks_taken_in_ivr}`]);
    }
    out.write(`Call flow: ${report.options.voice?.flow === 'default' ? "the log's VRU (default)" : report.options.voice?.flow}\n${ivr.toString()}\n\n`);
  }
  out.write(`Report: ${files.html}\n        ${files.json}\n        ${files.staffing}\n${files.flow === null ? '' : `        ${files.flow}\n`}Done in ${secondsTaken.toFixed(1)} s.\n`);
}
