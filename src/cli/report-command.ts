/**
 * `switchboard report`: a self-contained HTML report of one workspace's contact-center figures
 * over a period — service level and abandonment by queue and by interval, agent occupancy and
 * time by status, engagement outcomes, the busiest intervals — from a running server's analytics
 * routes (`--server`) or from a data directory's stored events (`--data-dir`, or its PostgreSQL
 * database with `--database-url`). Both sources give the same neutral report data
 * (src/analytics/report-data.ts), rendered by src/sim/report-analytics-html.ts.
 *
 * From a data directory: every stored event of the workspace is fed, oldest first, to a fresh
 * analytics projector (the same core the runtime and the replay feed), which is then queried. The
 * store is read while a server may be running on it (SQLite WAL readers do not block the
 * writer); no lock is taken.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { AnalyticsProjector } from '../analytics/projector.ts';
import { buildReportData, defaultIntervalMs, INTERVALS, projectorSource, type AnalyticsReportData, type AnalyticsSource } from '../analytics/report-data.ts';
import { checkDatabaseUrl } from '../runtime/runtime.ts';
import { renderAnalyticsReportHtml, utcMinute } from '../sim/report-analytics-html.ts';
import { ReportSourceError, serverSource } from '../sim/report-sources.ts';
import { PostgresStore } from '../store/postgres-store.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { Store } from '../store/store.ts';

// ---------------------------------------------------------------------------------------------
// From a data directory (or its PostgreSQL database)

/** Where the stored events are: a data directory's SQLite file, or a PostgreSQL database (as `switchboard serve` takes them). */
export interface StoreLocation {
  dataDir: string;
  databaseUrl?: string;
  databaseSchema?: string;
}

/** Events read from the store per query. */
const PAGE = 5000;

/**
 * Feeds every stored event of `workspaceSid` (oldest first) to a fresh {@link AnalyticsProjector},
 * flushes it and returns a source over it, with the number of events read. The store is closed
 * before this resolves; nothing is written but what opening a store does (pending migrations:
 * none when the server that wrote it is this version).
 *
 * @throws ReportSourceError when the directory has no database, the store cannot be opened, or
 *   the workspace has no events.
 */
export async function dataDirSource(where: StoreLocation, workspaceSid: string): Promise<{ source: AnalyticsSource; events: number }> {
  const store = await openStore(where);
  const label = where.databaseUrl === undefined
    ? `data directory ${resolve(where.dataDir)}`
    : `PostgreSQL database${where.databaseSchema === undefined ? '' : ` (schema ${where.databaseSchema})`}`;
  try {
    const projector = new AnalyticsProjector();
    let read = 0;
    let from = Number.MIN_SAFE_INTEGER;
    let limit = PAGE;
    for (;;) {
      const page = await store.events(workspaceSid, from, Number.MAX_SAFE_INTEGER, limit);
      for (const e of page) projector.observe(e);
      read += page.length;
      if (page.length < limit) break;
      const last = (page[page.length - 1] as (typeof page)[number]).at;
      // The next page starts at the last instant again (the projector ignores SIDs it has seen);
      // a page all of one instant is read again, twice as large.
      if (last === from) limit *= 2;
      from = last;
      projector.advanceTo(last);
    }
    if (read === 0) throw new ReportSourceError(`The ${label} holds no events of workspace ${workspaceSid}: check --workspace.`);
    projector.flush();
    return { source: projectorSource(projector, label), events: read - projector.stats().duplicates };
  } finally {
    await store.close();
  }
}

async function openStore(where: StoreLocation): Promise<Store> {
  if (where.databaseUrl !== undefined) {
    try {
      return await PostgresStore.open({ connectionString: where.databaseUrl, ...(where.databaseSchema === undefined ? {} : { schema: where.databaseSchema }), poolSize: 2 });
    } catch (error) {
      throw new ReportSourceError(`Cannot open the PostgreSQL database: ${(error as Error).message}`, { cause: error });
    }
  }
  const file = join(where.dataDir, 'switchboard.sqlite');
  if (!existsSync(where.dataDir)) throw new ReportSourceError(`--data-dir: ${where.dataDir} does not exist.`);
  if (!existsSync(file)) throw new ReportSourceError(`--data-dir: ${where.dataDir} holds no switchboard.sqlite (it is not the data directory of a switchboard server).`);
  try {
    return SqliteStore.open(file, { checkpoint: 'inline' });
  } catch (error) {
    throw new ReportSourceError(`Cannot open ${file}: ${(error as Error).message}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// The command

/** What the command's options become once checked. */
export interface ReportOptions {
  workspace: string;
  /** [from, to), epoch ms. */
  from: number;
  to: number;
  /** Interval length, ms (one of {@link INTERVALS}), or undefined for the default. */
  intervalMs?: number;
  out: string;
  server?: { baseUrl: string; accountSid: string; authToken: string };
  store?: StoreLocation;
}

/**
 * Builds the report data from the chosen source, writes the HTML to `opts.out` (its folder
 * created if missing) and resolves to the data. Rejects with {@link ReportSourceError} for what
 * the user can fix.
 */
export async function runReport(opts: ReportOptions): Promise<AnalyticsReportData> {
  let source: AnalyticsSource;
  if (opts.server !== undefined) source = serverSource(opts.server, opts.workspace);
  else if (opts.store !== undefined) source = (await dataDirSource(opts.store, opts.workspace)).source;
  else throw new ReportSourceError('Give --server URL or --data-dir DIR.');
  const data = await buildReportData(source, { workspaceSid: opts.workspace, from: opts.from, to: opts.to, intervalMs: opts.intervalMs ?? defaultIntervalMs(opts.from, opts.to) });
  await mkdir(dirname(resolve(opts.out)), { recursive: true });
  await writeFile(opts.out, await renderAnalyticsReportHtml(data));
  return data;
}

/**
 * A `--from`/`--to` value as epoch ms: a UTC day "YYYY-MM-DD" (its start; with `--to`, the end of
 * that day, so the day is included) or an ISO 8601 instant with a time and a zone
 * ("2026-03-01T09:00:00Z", "…+01:00"). Throws commander's InvalidArgumentError naming the option.
 */
export function instantOption(option: '--from' | '--to'): (value: string) => number {
  return (value) => {
    const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
    const instant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
    const ms = day ? Date.parse(`${value}T00:00:00Z`) : instant ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms) || (day && !new Date(ms).toISOString().startsWith(value))) {
      throw new InvalidArgumentError(`${option} "${value}" is neither a day as YYYY-MM-DD nor an ISO 8601 instant with its zone (e.g. 2026-03-01 or 2026-03-01T09:00:00Z).`);
    }
    return day && option === '--to' ? ms + 86_400_000 : ms;
  };
}

function intervalOption(value: string): number {
  const ms = INTERVALS[value.toUpperCase()];
  if (ms === undefined) throw new InvalidArgumentError(`"${value}" is not one of ${Object.keys(INTERVALS).join(', ')}.`);
  return ms;
}

interface RawOptions {
  server?: string;
  dataDir?: string;
  databaseUrl?: string;
  databaseSchema?: string;
  workspace: string;
  from: number;
  to: number;
  interval?: number;
  out: string;
  accountSid?: string;
  authToken?: string;
}

/** Checks the combination of options; returns the error message to print, or the options. */
export function checkReportOptions(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): string | ReportOptions {
  if (!/^WS[0-9a-fA-F]{32}$/.test(raw.workspace)) return `--workspace "${raw.workspace}" is not a workspace SID (WS followed by 32 hex digits).`;
  if (raw.from >= raw.to) return `--from ${utcMinute(raw.from)} is not before --to ${utcMinute(raw.to)} (UTC).`;
  if ((raw.server === undefined) === (raw.dataDir === undefined)) return 'Give exactly one source: --server URL (a running server) or --data-dir DIR (a data directory).';
  const base = { workspace: raw.workspace, from: raw.from, to: raw.to, out: raw.out, ...(raw.interval === undefined ? {} : { intervalMs: raw.interval }) };
  if (raw.server !== undefined) {
    let url: URL;
    try {
      url = new URL(raw.server);
    } catch {
      return `--server "${raw.server}" is not a URL (e.g. http://127.0.0.1:3000).`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `--server "${raw.server}" is not an http:// or https:// URL.`;
    if (raw.databaseUrl !== undefined || raw.databaseSchema !== undefined) return '--database-url and --database-schema go with --data-dir, not --server.';
    const accountSid = raw.accountSid ?? env['TWILIO_ACCOUNT_SID'];
    const authToken = raw.authToken ?? env['TWILIO_AUTH_TOKEN'];
    if (accountSid === undefined || accountSid === '') return '--server needs the account: --account-sid AC… (or env TWILIO_ACCOUNT_SID).';
    if (authToken === undefined || authToken === '') return '--server needs the account\'s auth token: --auth-token … (or env TWILIO_AUTH_TOKEN).';
    return { ...base, server: { baseUrl: raw.server, accountSid, authToken } };
  }
  if (raw.databaseSchema !== undefined && raw.databaseUrl === undefined) return '--database-schema needs --database-url (a PostgreSQL database).';
  if (raw.databaseUrl !== undefined) {
    try {
      checkDatabaseUrl(raw.databaseUrl, '--database-url');
    } catch (error) {
      return `${(error as Error).message}.`;
    }
  }
  return {
    ...base,
    store: { dataDir: raw.dataDir as string, ...(raw.databaseUrl === undefined ? {} : { databaseUrl: raw.databaseUrl }), ...(raw.databaseSchema === undefined ? {} : { databaseSchema: raw.databaseSchema }) },
  };
}

/** Registers `switchboard report` on the program. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'Write a self-contained HTML report of one workspace over a period: service level and abandonment by queue and by interval, ' +
        'agent occupancy and time by status, engagement outcomes and the busiest intervals — from a running server or from a data directory.',
    )
    .requiredOption('--workspace <sid>', 'the workspace (WS…)')
    .requiredOption('--from <when>', 'start: a UTC day YYYY-MM-DD or an ISO 8601 instant with its zone', instantOption('--from'))
    .requiredOption('--to <when>', 'end: a UTC day YYYY-MM-DD (included) or an ISO 8601 instant (excluded)', instantOption('--to'))
    .option('--server <url>', 'a running switchboard server, e.g. http://127.0.0.1:3000 (its /v1/…/Analytics routes)')
    .option('--data-dir <dir>', 'instead of --server: a server\'s data directory, read directly (the server may be running)')
    .option('--database-url <url>', 'with --data-dir: the PostgreSQL database the server keeps its state in (env SWITCHBOARD_DATABASE_URL)', process.env['SWITCHBOARD_DATABASE_URL'] || undefined)
    .option('--database-schema <name>', 'with --database-url: its schema (env SWITCHBOARD_DATABASE_SCHEMA)', process.env['SWITCHBOARD_DATABASE_SCHEMA'] || undefined)
    .option('--interval <duration>', 'rows of PT15M, PT30M, PT1H or P1D (default: PT15M up to 2 days, PT1H up to 14, else P1D)', intervalOption)
    .option('-o, --out <file>', 'the HTML file to write', './report.html')
    .option('--account-sid <sid>', 'with --server: the account (default env TWILIO_ACCOUNT_SID)')
    .option('--auth-token <token>', 'with --server: its auth token (default env TWILIO_AUTH_TOKEN)')
    .addHelpText(
      'after',
      `
Examples:
  switchboard report --server http://127.0.0.1:3000 --workspace WS… --from 2026-03-02 --to 2026-03-06 --out week.html
  switchboard report --data-dir ./data --workspace WS… --from 2026-03-02T08:00:00Z --to 2026-03-02T18:00:00Z

Times are UTC. From a data directory the stored events are replayed through the analytics
projector (docs/analytics.md); from a server its /v1/Workspaces/{WS}/Analytics routes are read
with Basic auth (Account SID and Auth Token).`,
    )
    .action(async (raw: RawOptions, command: Command) => {
      const checked = checkReportOptions(raw);
      if (typeof checked === 'string') command.error(`error: ${checked}`);
      const opts = checked as ReportOptions;
      try {
        const data = await runReport(opts);
        const t = data.total;
        const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
        process.stdout.write(
          `Workspace ${data.workspaceSid}, ${utcMinute(data.from)} – ${utcMinute(data.to)} UTC, from the ${data.source}:\n` +
            `  ${t.offered} offered, ${t.accepted} answered, ${t.abandoned} abandoned; service level ${pct(t.serviceLevel)} (${t.serviceLevelVariant}, ${t.thresholdS} s), occupancy ${pct(t.occupancy)}.\n` +
            `Report: ${resolve(opts.out)}\n`,
        );
      } catch (error) {
        if (!(error instanceof ReportSourceError)) throw error;
        process.stderr.write(`switchboard report: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
}
