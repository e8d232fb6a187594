#!/usr/bin/env node
/**
 * The `switchboard` command line. Thin: it parses arguments, shows progress and prints
 * summaries; the work is in src/sim and src/analytics.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runReplayCommand } from './replay-command.ts';

const program = new Command();
program
  .name('switchboard')
  .description('Self-hosted contact-center engine: TaskRouter-compatible routing, replay and simulation.')
  .showHelpAfterError('(run with --help for usage)');

/** Validates a YYYY-MM-DD calendar date for --from/--to. */
export function parseDay(value: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  const ok = !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(value);
  if (!ok) throw new InvalidArgumentError(`"${value}" is not a date as YYYY-MM-DD (e.g. 1999-02-07).`);
  return value;
}

program
  .command('replay')
  .description(
    'Replay a real call log through the routing engine in virtual time, and write a report of what the center did ' +
      'and how well its waits could have been predicted.',
  )
  .argument('<log>', 'call log in the Anonymous Bank format (tab-separated, with its header line)')
  .option('-o, --out <dir>', 'folder for report.json, predictions.csv and report.html', './replay-out')
  .option('--from <date>', 'first day to replay, YYYY-MM-DD (default: the first day in the log)', parseDay)
  .option('--to <date>', 'last day to replay, YYYY-MM-DD, inclusive (default: the last day in the log)', parseDay)
  .addHelpText(
    'after',
    '\nExample:\n  switchboard replay ../shared/data/anonymous-bank-1999-02-01_14.tsv --out replay-out --from 1999-02-07\n',
  )
  .action(async (log: string, opts: { out: string; from?: string; to?: string }) => {
    if (opts.from !== undefined && opts.to !== undefined && opts.from > opts.to) {
      program.error(`--from ${opts.from} is after --to ${opts.to}.`);
    }
    process.exitCode = await runReplayCommand(log, opts);
  });

await program.parseAsync(process.argv);
