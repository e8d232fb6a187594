/**
 * Importer for the "Anonymous Bank" call-center log (shared/data/README.md): one call per row,
 * tab separated, 17 columns. Streams the file, validates every row, resolves each clock time to
 * an absolute instant and records the known anomalies per kind. A malformed row is reported with
 * its line number and reason and skipped; a missing file or a wrong header is an
 * {@link ImportError} with a message a person can act on.
 *
 * Data: Guedj and Mandelbaum, Technion Service Engineering research center (Anonymous Bank,
 * 1999), as distributed with T. W. Miller, "Modeling Techniques in Predictive Analytics".
 *
 * Times in the log are the center's wall clock without a time zone; we place them on a virtual
 * clock that reads them as UTC, so a report shows the same hours as the log.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { parse } from 'csv-parse';

/** The header the file must start with, in order. */
export const ANONYMOUS_BANK_COLUMNS = [
  'vru+line', 'call_id', 'customer_id', 'priority', 'type', 'date', 'vru_entry', 'vru_exit', 'vru_time',
  'q_start', 'q_exit', 'q_time', 'outcome', 'ser_start', 'ser_exit', 'ser_time', 'server',
] as const;

export type Outcome = 'AGENT' | 'HANG' | 'PHANTOM';

/** Irregularities the data README lists, and how we treat each (docs/replay.md). */
export type AnomalyKind =
  /** Served (AGENT) but `server` is NO_SERVER: answered by an unidentified agent. */
  | 'answered_by_no_server'
  /** `vru_time` < 0 (the VRU clock stamps are out of order); the queue times are used as given. */
  | 'negative_vru_time'
  /** Queued, but `q_start` differs from `vru_exit`: the task is created at `q_start`. */
  | 'queue_start_differs_from_vru_exit'
  /** The call asked for an agent after midnight of its date: the task is created on the next day. */
  | 'asked_after_midnight'
  /** `q_exit` is earlier on the clock than `q_start`: the wait crossed midnight. */
  | 'queue_crosses_midnight'
  /** `ser_exit` is earlier on the clock than `ser_start`: the service crossed midnight. */
  | 'service_crosses_midnight'
  /** `customer_id` was mangled into scientific notation (e.g. 6.02701E+11): kept as text. */
  | 'customer_id_not_an_integer'
  /** Hung up (HANG) without ever queueing: offered and abandoned at `vru_exit` with no wait. */
  | 'abandoned_before_queueing'
  /** PHANTOM: a call the data says to ignore; skipped. */
  | 'phantom';

export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  'answered_by_no_server', 'negative_vru_time', 'queue_start_differs_from_vru_exit', 'asked_after_midnight',
  'queue_crosses_midnight', 'service_crosses_midnight', 'customer_id_not_an_integer', 'abandoned_before_queueing', 'phantom',
];

/** One call, with every instant as epoch milliseconds on the log's clock read as UTC. */
export interface CallRecord {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  /** `<vru+line>-<call_id>`, unique per call. */
  key: string;
  customerId: string;
  /** 0 unidentified, 1 regular, 2 priority customer. */
  priority: number;
  /** PS, PE, IN, NE, NW or TT. */
  type: string;
  /** The log's `date` as YYYY-MM-DD. */
  date: string;
  vruEntryAt: number;
  vruExitAt: number;
  outcome: Outcome;
  /** True when the call joined the queue (`q_start` set). */
  queued: boolean;
  /** When the call asked for an agent: `q_start` if queued, else `ser_start` if served, else `vru_exit`. */
  askedAt: number;
  /** Seconds waited in queue (`q_time`, 0 when never queued). */
  waitS: number;
  /** Start of service, served calls only. */
  serviceStartAt: number | null;
  /** Seconds of service (`ser_time`), 0 when not served. */
  serviceS: number;
  /** The agent's name; null when NO_SERVER. */
  server: string | null;
  anomalies: AnomalyKind[];
}

export interface MalformedRow {
  line: number;
  reason: string;
}

export interface ImportResult {
  /** Every non-malformed call in file order, phantoms included (flagged). */
  calls: CallRecord[];
  /** Data rows read (header excluded). */
  rows: number;
  malformed: MalformedRow[];
  /** Calls per anomaly kind (a call may have several). */
  anomalies: Record<AnomalyKind, number>;
}

/** The file cannot be imported at all (missing, unreadable, wrong header). */
export class ImportError extends Error {
  override name = 'ImportError';
}

const TIME = /^(\d{1,2}):([0-5]\d):([0-5]\d)$/;
const DATE = /^(\d{2})(\d{2})(\d{2})$/;
const HALF_DAY_MS = 12 * 3_600_000;
const DAY_MS = 24 * 3_600_000;

/** Seconds after midnight of "H:MM:SS", or null if malformed. */
function clockSeconds(value: string): number | null {
  const m = TIME.exec(value);
  if (m === null) return null;
  const h = Number(m[1]);
  if (h > 23) return null;
  return h * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/**
 * Reads and validates an Anonymous Bank log. `onProgress(bytesRead, totalBytes)` is called as
 * the file streams. Throws {@link ImportError} for a missing file or a wrong header.
 */
export async function importAnonymousBank(
  path: string,
  onProgress?: (bytesRead: number, totalBytes: number) => void,
): Promise<ImportResult> {
  try {
    await access(path);
  } catch {
    throw new ImportError(`Cannot read call log ${path}: no such file, or no permission to read it`);
  }
  const { size } = await import('node:fs/promises').then((fs) => fs.stat(path));
  const stream = createReadStream(path);
  let bytes = 0;
  stream.on('data', (chunk) => {
    bytes += chunk.length;
    onProgress?.(bytes, size);
  });
  const parser = stream.pipe(parse({ delimiter: '\t', relax_column_count: true, skip_empty_lines: true, trim: true, quote: false }));
  const result: ImportResult = { calls: [], rows: 0, malformed: [], anomalies: Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])) as Record<AnomalyKind, number> };
  let line = 0;
  try {
    for await (const fields of parser as AsyncIterable<string[]>) {
      line += 1;
      if (line === 1) {
        checkHeader(fields, path);
        continue;
      }
      result.rows += 1;
      const parsed = parseRow(fields, line);
      if (typeof parsed === 'string') {
        result.malformed.push({ line, reason: parsed });
        continue;
      }
      for (const kind of parsed.anomalies) result.anomalies[kind] += 1;
      result.calls.push(parsed);
    }
  } catch (error) {
    if (error instanceof ImportError) throw error;
    throw new ImportError(`Cannot read call log ${path} at line ${line + 1}: ${(error as Error).message}`);
  }
  if (line === 0) throw new ImportError(`Call log ${path} is empty: expected a header line with ${ANONYMOUS_BANK_COLUMNS.join(', ')}`);
  return result;
}

function checkHeader(fields: string[], path: string): void {
  const expected = ANONYMOUS_BANK_COLUMNS.join(' ');
  if (fields.join(' ') !== expected) {
    throw new ImportError(
      `Call log ${path} does not look like the Anonymous Bank format: its header is "${fields.join('\\t').slice(0, 120)}", ` +
        `expected the ${ANONYMOUS_BANK_COLUMNS.length} tab-separated columns ${ANONYMOUS_BANK_COLUMNS.join(', ')}`,
    );
  }
}

/** Parses one data row into a call, or returns the reason it is malformed. */
export function parseRow(fields: string[], line: number): CallRecord | string {
  if (fields.length !== ANONYMOUS_BANK_COLUMNS.length) {
    return `has ${fields.length} fields, expected ${ANONYMOUS_BANK_COLUMNS.length}`;
  }
  const get = (i: number): string => fields[i] as string;
  const [vruLine, callId, customerId, priorityText, type, dateText] = [get(0), get(1), get(2), get(3), get(4), get(5)];
  if (!/^AA\d{4}$/.test(vruLine)) return `vru+line "${vruLine}" is not AA followed by four digits`;
  if (!/^\d+$/.test(callId)) return `call_id "${callId}" is not a whole number`;
  const customerIdMangled = /^\d+(\.\d+)?E\+\d+$/i.test(customerId);
  if (!/^\d+$/.test(customerId) && !customerIdMangled) return `customer_id "${customerId}" is not a whole number`;
  if (!/^[012]$/.test(priorityText)) return `priority "${priorityText}" is not 0, 1 or 2`;
  if (!/^[A-Z]{2}$/.test(type)) return `type "${type}" is not a two-letter call type`;
  const dm = DATE.exec(dateText);
  if (dm === null) return `date "${dateText}" is not YYMMDD`;
  const yy = Number(dm[1]);
  const year = yy >= 70 ? 1900 + yy : 2000 + yy;
  const month = Number(dm[2]);
  const day = Number(dm[3]);
  const dayStart = Date.UTC(year, month - 1, day);
  if (new Date(dayStart).getUTCDate() !== day || month < 1 || month > 12) return `date "${dateText}" is not a calendar date`;

  const clock: Record<string, number> = {};
  for (const [i, name] of [[6, 'vru_entry'], [7, 'vru_exit'], [9, 'q_start'], [10, 'q_exit'], [13, 'ser_start'], [14, 'ser_exit']] as const) {
    const s = clockSeconds(get(i));
    if (s === null) return `${name} "${get(i)}" is not a time H:MM:SS`;
    clock[name] = s;
  }
  const numbers: Record<string, number> = {};
  for (const [i, name] of [[8, 'vru_time'], [11, 'q_time'], [15, 'ser_time']] as const) {
    if (!/^-?\d+$/.test(get(i))) return `${name} "${get(i)}" is not a whole number of seconds`;
    numbers[name] = Number(get(i));
  }
  const outcome = get(12);
  if (outcome !== 'AGENT' && outcome !== 'HANG' && outcome !== 'PHANTOM') return `outcome "${outcome}" is not AGENT, HANG or PHANTOM`;
  const serverText = get(16);
  if (serverText === '') return 'server is empty';
  const qTime = numbers['q_time'] as number;
  const serTime = numbers['ser_time'] as number;
  if (qTime < 0) return `q_time ${qTime} is negative`;
  if (serTime < 0) return `ser_time ${serTime} is negative`;

  const anomalies: AnomalyKind[] = [];
  const vruEntryAt = dayStart + (clock['vru_entry'] as number) * 1000;
  // A clock time belongs to the call's day unless it is more than 12 h before the VRU entry:
  // then the call went on past midnight.
  const at = (name: string): number => {
    const t = dayStart + (clock[name] as number) * 1000;
    return t < vruEntryAt - HALF_DAY_MS ? t + DAY_MS : t;
  };
  const vruExitAt = at('vru_exit');
  const queued = get(9) !== '0:00:00' || qTime > 0;
  const served = outcome === 'AGENT';
  const qStartAt = queued ? at('q_start') : null;
  const serviceStartAt = served ? at('ser_start') : null;
  const askedAt = qStartAt ?? serviceStartAt ?? vruExitAt;
  if (askedAt >= dayStart + DAY_MS) anomalies.push('asked_after_midnight');
  if (queued && (clock['q_exit'] as number) < (clock['q_start'] as number)) anomalies.push('queue_crosses_midnight');
  if (served && (clock['ser_exit'] as number) < (clock['ser_start'] as number)) anomalies.push('service_crosses_midnight');
  if (customerIdMangled) anomalies.push('customer_id_not_an_integer');
  if ((numbers['vru_time'] as number) < 0) anomalies.push('negative_vru_time');
  if (queued && get(9) !== get(7)) anomalies.push('queue_start_differs_from_vru_exit');
  if (served && serverText === 'NO_SERVER') anomalies.push('answered_by_no_server');
  if (outcome === 'HANG' && !queued) anomalies.push('abandoned_before_queueing');
  if (outcome === 'PHANTOM') anomalies.push('phantom');

  return {
    line,
    key: `${vruLine}-${callId}`,
    customerId,
    priority: Number(priorityText),
    type,
    date: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
    vruEntryAt,
    vruExitAt,
    outcome,
    queued,
    askedAt,
    waitS: queued ? qTime : 0,
    serviceStartAt,
    serviceS: served ? serTime : 0,
    server: serverText === 'NO_SERVER' ? null : serverText,
    anomalies,
  };
}
