/**
 * Staffing plans for `switchboard simulate`: who is on shift when, and which call types they
 * take. A plan is either inferred from a call log (the same working stretches the shadow replay
 * uses, docs/replay.md) or read from a file (docs/simulation.md, "Staffing file").
 *
 * Pure except {@link readStaffingFile}, which reads the file and hands the text to
 * {@link parseStaffing}. Instants are epoch MILLISECONDS on the log's clock read as UTC.
 */
import { readFile } from 'node:fs/promises';
import type { CallRecord } from './anonymous-bank.ts';
import { STRETCH_GAP_MS } from './replay.ts';

/** One agent's shift: logged in (Available) from `start` to `end` (epoch ms), taking `types`. */
export interface Shift {
  agent: string;
  start: number;
  end: number;
  /** Call types the agent takes on this shift (PS, PE, IN, NE, NW, TT…). */
  types: string[];
}

/** A staffing plan: shifts in start order. One agent may have many shifts; they must not overlap. */
export interface StaffingPlan {
  /** `inferred` from the log, or the file it was read from. */
  source: string;
  shifts: Shift[];
}

/** Prefix of the stand-in agents for answers the log attributes to no one (NO_SERVER). */
export const UNIDENTIFIED_PREFIX = 'Unidentified agent';

/** A staffing file that cannot be used; the message names the line or field and the reason. */
export class StaffingError extends Error {
  override name = 'StaffingError';
}

/**
 * Infers the staffing from a log (calls: non-phantom calls of the simulated days), as the shadow
 * replay does (src/sim/replay.ts): every named agent is on shift from the start of the first
 * service of a working stretch to the end of its last one; services more than
 * {@link STRETCH_GAP_MS} (30 min) apart start a new stretch. An agent takes the call types they
 * served anywhere in the log.
 *
 * Answers by NO_SERVER are spread over stand-in agents "Unidentified agent 1…k" by interval
 * partitioning (each service goes to the lowest-numbered stand-in free at its start), so k is the
 * most such services that overlapped; each stand-in takes every call type. Returns shifts sorted
 * by start, then agent.
 */
export function inferStaffing(calls: readonly CallRecord[]): StaffingPlan {
  const allTypes = [...new Set(calls.map((c) => c.type))].sort();
  const services = new Map<string, [number, number][]>();
  const types = new Map<string, Set<string>>();
  const unidentified: [number, number][] = [];
  for (const c of calls) {
    if (c.outcome !== 'AGENT') continue;
    const start = c.askedAt + c.waitS * 1000;
    const interval: [number, number] = [start, start + c.serviceS * 1000];
    if (c.server === null) {
      unidentified.push(interval);
      continue;
    }
    let list = services.get(c.server);
    if (list === undefined) {
      services.set(c.server, (list = []));
      types.set(c.server, new Set());
    }
    list.push(interval);
    (types.get(c.server) as Set<string>).add(c.type);
  }
  // Interval partitioning of the unidentified services over stand-ins.
  unidentified.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const freeAt: number[] = [];
  for (const interval of unidentified) {
    let k = freeAt.findIndex((t) => t <= interval[0]);
    if (k < 0) {
      k = freeAt.length;
      freeAt.push(0);
    }
    freeAt[k] = interval[1];
    const name = `${UNIDENTIFIED_PREFIX} ${k + 1}`;
    let list = services.get(name);
    if (list === undefined) {
      services.set(name, (list = []));
      types.set(name, new Set(allTypes));
    }
    list.push(interval);
  }
  const shifts: Shift[] = [];
  for (const [agent, list] of services) {
    list.sort((a, b) => a[0] - b[0]);
    const agentTypes = [...(types.get(agent) as Set<string>)].sort();
    let [start, end] = list[0] as [number, number];
    for (const [s, e] of list.slice(1)) {
      if (s - end > STRETCH_GAP_MS) {
        shifts.push({ agent, start, end, types: agentTypes });
        start = s;
        end = e;
      } else {
        end = Math.max(end, e);
      }
    }
    shifts.push({ agent, start, end, types: agentTypes });
  }
  shifts.sort((a, b) => a.start - b.start || (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
  return { source: 'inferred', shifts };
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Epoch ms of "YYYY-MM-DDTHH:MM[:SS]" read as UTC (the log's clock), or null. */
export function parseInstant(text: string): number | null {
  const m = DATETIME.exec(text.trim());
  if (m === null) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  if (h > 23 || mi > 59 || s > 59) return null;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms;
}

/** "YYYY-MM-DDTHH:MM:SS" of an epoch-ms instant (UTC, the log's clock). */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/**
 * Parses a staffing file (docs/simulation.md, "Staffing file"). `name` is the file name: a name
 * ending in `.json` is JSON, anything else CSV.
 *
 * - CSV: a header `agent,start,end,types`, then one shift per line; `types` separated by `|`
 *   or spaces (e.g. `PS|NW`); `start`/`end` as `YYYY-MM-DDTHH:MM[:SS]` on the log's clock.
 * - JSON: `{"shifts":[{"agent":"DARMON","start":"1999-02-01T07:00:00","end":"1999-02-01T15:00:00","types":["PS","NW"]}]}`.
 *
 * `knownTypes`: the call types of the log; a shift naming another type is an error. Throws
 * {@link StaffingError} naming the line (CSV) or shift index (JSON), the field and the reason:
 * empty plan, missing field, bad instant, end before start (a shift may be empty: an inferred stretch of one zero-second service), unknown or no type, overlapping
 * shifts of one agent.
 */
export function parseStaffing(text: string, name: string, knownTypes: readonly string[]): StaffingPlan {
  const rows: Array<{ where: string; agent: unknown; start: unknown; end: unknown; types: unknown }> = [];
  if (name.toLowerCase().endsWith('.json')) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (error) {
      throw new StaffingError(`${name}: not valid JSON (${(error as Error).message})`);
    }
    const shifts = (doc as { shifts?: unknown } | null)?.shifts;
    if (!Array.isArray(shifts)) throw new StaffingError(`${name}: expected an object with a "shifts" array`);
    shifts.forEach((s: unknown, i) => {
      const o = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
      rows.push({ where: `${name} shifts[${i}]`, agent: o['agent'], start: o['start'], end: o['end'], types: o['types'] });
    });
  } else {
    const lines = text.split(/\r?\n/);
    const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
    if (header.join(',') !== 'agent,start,end,types') {
      throw new StaffingError(`${name} line 1: expected the header "agent,start,end,types", found "${(lines[0] ?? '').slice(0, 80)}"`);
    }
    lines.slice(1).forEach((line, i) => {
      if (line.trim() === '') return;
      const f = line.split(',').map((x) => x.trim());
      if (f.length !== 4) throw new StaffingError(`${name} line ${i + 2}: has ${f.length} fields, expected 4 (agent,start,end,types)`);
      rows.push({ where: `${name} line ${i + 2}`, agent: f[0], start: f[1], end: f[2], types: (f[3] as string).split(/[|\s]+/).filter((t) => t !== '') });
    });
  }
  if (rows.length === 0) throw new StaffingError(`${name}: no shifts — a staffing plan needs at least one shift`);
  const known = new Set(knownTypes);
  const shifts: Shift[] = rows.map((r) => {
    if (typeof r.agent !== 'string' || r.agent.trim() === '') throw new StaffingError(`${r.where}: agent is missing or empty`);
    const start = typeof r.start === 'string' ? parseInstant(r.start) : null;
    if (start === null) throw new StaffingError(`${r.where}: start "${String(r.start)}" is not an instant YYYY-MM-DDTHH:MM[:SS]`);
    const end = typeof r.end === 'string' ? parseInstant(r.end) : null;
    if (end === null) throw new StaffingError(`${r.where}: end "${String(r.end)}" is not an instant YYYY-MM-DDTHH:MM[:SS]`);
    if (end < start) throw new StaffingError(`${r.where}: end ${String(r.end)} is before start ${String(r.start)}`);
    if (!Array.isArray(r.types) || r.types.length === 0 || !r.types.every((t) => typeof t === 'string')) {
      throw new StaffingError(`${r.where}: types must list at least one call type (e.g. PS|NW)`);
    }
    const types = [...new Set(r.types as string[])].sort();
    const unknown = types.filter((t) => !known.has(t));
    if (unknown.length > 0) throw new StaffingError(`${r.where}: types ${unknown.join(', ')} do not occur in the log (it has ${[...known].sort().join(', ')})`);
    return { agent: r.agent.trim(), start, end, types };
  });
  shifts.sort((a, b) => a.start - b.start || (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
  const lastEnd = new Map<string, number>();
  for (const s of shifts) {
    const prev = lastEnd.get(s.agent);
    if (prev !== undefined && s.start < prev) throw new StaffingError(`${name}: agent ${s.agent} has overlapping shifts (one starting ${formatInstant(s.start)} begins before the previous one ends)`);
    lastEnd.set(s.agent, Math.max(prev ?? 0, s.end));
  }
  return { source: name, shifts };
}

/** Reads and parses a staffing file; a missing file is a {@link StaffingError} naming it. */
export async function readStaffingFile(path: string, knownTypes: readonly string[]): Promise<StaffingPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new StaffingError(`--staffing ${path}: no such file, or no permission to read it`);
  }
  return parseStaffing(text, path, knownTypes);
}

/** A plan as staffing CSV (the format {@link parseStaffing} reads), e.g. to edit an inferred plan. */
export function staffingCsv(plan: StaffingPlan): string {
  const lines = ['agent,start,end,types'];
  for (const s of plan.shifts) lines.push(`${s.agent},${formatInstant(s.start)},${formatInstant(s.end)},${s.types.join('|')}`);
  return `${lines.join('\n')}\n`;
}
