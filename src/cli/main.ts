#!/usr/bin/env node
/**
 * The `switchboard` command line. Thin: it parses arguments, shows progress and prints
 * summaries; the work is in src/sim and src/analytics.
 */
import { Command, InvalidArgumentError } from 'commander';
import { dayOption } from './day-option.ts';
import { runReplayCommand } from './replay-command.ts';
import { registerReportCommand } from './report-command.ts';
import { checkDatabaseUrl } from '../runtime/runtime.ts';
import { runServeCommand } from './serve-command.ts';
import { registerSimulateCommand } from './simulate-command.ts';

const program = new Command();
program
  .name('switchboard')
  .description('Self-hosted contact-center engine: TaskRouter-compatible routing, replay and simulation.')
  .showHelpAfterError('(run with --help for usage)');

program
  .command('replay')
  .description(
    'Replay a real call log through the routing engine in virtual time, and write a report of what the center did ' +
      'and how well its waits could have been predicted.',
  )
  .argument('<log>', 'call log in the Anonymous Bank format (tab-separated, with its header line)')
  .option('-o, --out <dir>', 'folder for report.json, predictions.csv and report.html', './replay-out')
  .option('--from <date>', 'first day to replay, YYYY-MM-DD (default: the first day in the log)', dayOption('--from'))
  .option('--to <date>', 'last day to replay, YYYY-MM-DD, inclusive (default: the last day in the log)', dayOption('--to'))
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

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError(`"${value}" is not a TCP port (0–65535).`);
  return n;
}

program
  .command('serve')
  .description('Run the TaskRouter-compatible REST server: on the embedded SQLite store (default), or on PostgreSQL with --database-url.')
  .option('--host <host>', 'address to listen on (env HOST)', process.env['HOST'] ?? '127.0.0.1')
  .option('-p, --port <port>', 'port to listen on (env PORT)', parsePort, Number(process.env['PORT'] ?? 3000))
  .option('--data-dir <dir>', 'folder for the SQLite database and the server key (env SWITCHBOARD_DATA_DIR)', process.env['SWITCHBOARD_DATA_DIR'] ?? './data')
  .option(
    '--database-url <url>',
    'keep the state in PostgreSQL instead of SQLite: postgres://user[:password]@host[:port]/database (env SWITCHBOARD_DATABASE_URL)',
    process.env['SWITCHBOARD_DATABASE_URL'] || undefined,
  )
  .option('--database-schema <name>', 'with --database-url: the schema for the tables, created if missing (default public; env SWITCHBOARD_DATABASE_SCHEMA)', process.env['SWITCHBOARD_DATABASE_SCHEMA'] || undefined)
  .option('--public-base-url <url>', 'origin used in returned URLs, e.g. behind a proxy (env PUBLIC_BASE_URL)', process.env['PUBLIC_BASE_URL'])
  .option('--synchronous <mode>', 'FULL syncs every commit to disk; NORMAL survives a crash of the process but not of the machine (env SWITCHBOARD_SYNCHRONOUS)', process.env['SWITCHBOARD_SYNCHRONOUS'] ?? 'FULL')
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env LOG_LEVEL)', process.env['LOG_LEVEL'] ?? 'info')
  .option('--demo', 'set up the seed tutorial\'s voice center (workspace "Switchboard demo", number +18005550100) with simulated callers and agents')
  .addHelpText(
    'after',
    `
On first start it creates an account and prints its Account SID and Auth Token once.
Point the twilio client at it:  client.taskrouter.baseUrl = 'http://127.0.0.1:3000'

The state lives in <data-dir>/switchboard.sqlite unless --database-url names a PostgreSQL
database, e.g. --database-url postgres://switchboard@127.0.0.1:5432/switchboard (the tables are
created on first start). One server per database for now (no multi-node leases yet).

Callbacks (telephony) are configured by environment variables:
  SWITCHBOARD_TELEPHONY                    simulated (default) or twilio
  SWITCHBOARD_SIM_NETWORK                  JSON options of the simulated network
  TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN    with twilio: the account placing the calls
  SWITCHBOARD_CALLBACK_FROM                with twilio: caller ID (E.164)
  SWITCHBOARD_CALLBACK_TWIML_URL           with twilio: the readiness prompt's TwiML
  SWITCHBOARD_CALLBACK_STATUS_URL          with twilio: our status-callback endpoint
  SWITCHBOARD_TWILIO_API_BASE_URL          another Calls API host (optional)
  SWITCHBOARD_CALLBACK_CONFERENCE_WAIT_URL with twilio: hold music until the agent joins
  SWITCHBOARD_CALLBACK_HOLD_UNTIL_QUOTE    1 (default) or 0
  SWITCHBOARD_CALLBACK_DIAL_GRACE_SECONDS  default 120
  SWITCHBOARD_CALLBACK_DIAL_LOG            a file getting one JSON line per dial
The same telephone carries voice calls (docs/voice.md): call flows and phone numbers are REST
resources; with twilio, point a number's Voice URL at <public-base-url>/voice/incoming.
  SWITCHBOARD_VOICE_CONNECT_LOG            a file getting one JSON line per worker leg placed
See README.md ("The server"), docs/api-callbacks.md and docs/voice.md.`,
  )
  .action(async (opts: { host: string; port: number; dataDir: string; databaseUrl?: string; databaseSchema?: string; publicBaseUrl?: string; synchronous: string; logLevel: string; demo?: boolean }) => {
    if (opts.synchronous !== 'FULL' && opts.synchronous !== 'NORMAL') program.error(`--synchronous must be FULL or NORMAL, not ${opts.synchronous}.`);
    if (opts.databaseUrl !== undefined) {
      try {
        checkDatabaseUrl(opts.databaseUrl, '--database-url');
      } catch (error) {
        program.error(`${(error as Error).message}.`);
      }
    }
    if (opts.databaseSchema !== undefined && opts.databaseUrl === undefined) program.error('--database-schema needs --database-url (a PostgreSQL database).');
    if (opts.databaseSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.databaseSchema)) {
      program.error(`--database-schema: ${JSON.stringify(opts.databaseSchema)} is not a plain lower-case identifier (letters, digits, _; at most 63).`);
    }
    await runServeCommand({ ...opts, synchronous: opts.synchronous as 'FULL' | 'NORMAL' });
  });

registerSimulateCommand(program);
registerReportCommand(program);

await program.parseAsync(process.argv);
