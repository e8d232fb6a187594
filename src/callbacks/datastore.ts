/**
 * The datastore (spec callbacks-and-ewt §5): context kept by customer number so it can be
 * re-attached when the callback returns. Pure: time comes with every call (epoch ms), tokens
 * and SIDs from injected generators; snapshot/restore as plain data.
 *
 * - A data set template has a name, the allowed data keys, a time to expire (1–48 h, default
 *   24 h) and its own API token. Only its keys are accepted and returned; others are dropped.
 *   The token is shown once, when the template is created; the datastore keeps only its hash
 *   (the injected `hashToken`), so a copy of the state does not hand out the token.
 * - Data sets are upserted per (template, customer number). The number is kept as submitted and
 *   as E.164; a search matches the raw form first, then the normalized one.
 * - A data set expires at submission + ECBT (once a callback is registered for the number) +
 *   time to expire. Expired data is deleted by {@link Datastore.sweep} and never returned.
 * - A token reads and writes its own template's data only.
 */
import type { Command } from '../engine/commands.ts';
import type { CallbackCenter } from './center.ts';
import { CallbackError, normalizeNumber } from './errors.ts';

/** A data set template (§5): the allowed keys, the time to expire and the API token; `createdAt` epoch ms. */
export interface DataSetTemplate {
  sid: string;
  name: string;
  keys: string[];
  /** Hours, 1–48. */
  timeToExpireHours: number;
  /** Hash of the bearer token of this template's API ({@link DatastoreOptions.hashToken}); the token itself is not kept. */
  tokenHash: string;
  createdAt: number;
}

/** The stored context of one (template, customer number); times epoch ms. */
export interface DataSet {
  templateSid: string;
  /** As submitted. */
  rawNumber: string;
  /** E.164. */
  number: string;
  ani: string | null;
  values: Record<string, string>;
  /** ECBT of a callback registered for the number, seconds, or null. */
  ecbtSeconds: number | null;
  createdAt: number;
  updatedAt: number;
  /** Epoch ms. */
  expiresAt: number;
}

/** Mindful-shaped response of a submit / search (§5): template fields, then the KVPs flattened. */
export type DataSetResponse = Record<string, string | number | null>;

/** A datastore as plain data ({@link Datastore.snapshot}, {@link Datastore.restore}). */
export interface DatastoreSnapshot {
  templates: DataSetTemplate[];
  sets: DataSet[];
}

/** The datastore's injected generators (it draws no randomness itself). */
export interface DatastoreOptions {
  /** A new unguessable token (e.g. 32 random bytes, hex). Injected: the core draws no randomness. */
  newToken: () => string;
  /** A new template SID. */
  newSid: () => string;
  /**
   * The one-way hash a token is kept and looked up by (e.g. SHA-256, hex). Injected: the core does
   * no cryptography. It must be the same function for a datastore's whole life (restore included).
   */
  hashToken: (token: string) => string;
}

const KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * One workspace's datastore (see the module comment): templates and their data sets, keyed by
 * `templateSid|E.164 number`. Pure: `now` (epoch ms) comes with every call. Bad input throws
 * CallbackError naming the field.
 */
export class Datastore {
  private readonly o: DatastoreOptions;
  private readonly templates = new Map<string, DataSetTemplate>();
  private readonly byToken = new Map<string, string>();
  /** `templateSid|e164` → data set. */
  private readonly sets = new Map<string, DataSet>();

  constructor(options: DatastoreOptions) {
    this.o = options;
  }

  /**
   * Creates a template. `keys`: 1–100 distinct names (letter first, then letters, digits, `_`;
   * ≤ 64 chars). `timeToExpireHours` 1–48 (default 24). Throws CallbackError `InvalidParameters`
   * naming the field.
   */
  createTemplate(input: { name: string; keys: string[]; timeToExpireHours?: number }, now: number): DataSetTemplate & { token: string } {
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 64) throw new CallbackError('InvalidParameters', 'name must be a string of 1–64 characters', 'name');
    if (!Array.isArray(input.keys) || input.keys.length === 0 || input.keys.length > 100) throw new CallbackError('InvalidParameters', 'keys must list 1–100 data keys', 'keys');
    input.keys.forEach((k, i) => {
      if (typeof k !== 'string' || !KEY.test(k)) throw new CallbackError('InvalidParameters', `keys[${i}] must be a letter then letters, digits or _ (≤ 64)`, `keys[${i}]`);
    });
    if (new Set(input.keys).size !== input.keys.length) throw new CallbackError('InvalidParameters', 'keys must be distinct', 'keys');
    const ttl = input.timeToExpireHours ?? 24;
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 1 || ttl > 48) throw new CallbackError('InvalidParameters', 'timeToExpireHours must be from 1 to 48', 'timeToExpireHours');
    const token = this.o.newToken();
    const tokenHash = this.o.hashToken(token);
    if (this.byToken.has(tokenHash)) throw new Error('token generator returned a token already in use');
    const t: DataSetTemplate = { sid: this.o.newSid(), name: input.name, keys: [...input.keys], timeToExpireHours: ttl, tokenHash, createdAt: now };
    this.templates.set(t.sid, t);
    this.byToken.set(tokenHash, t.sid);
    return { ...structuredClone(t), token };
  }

  getTemplate(sid: string): DataSetTemplate | undefined {
    const t = this.templates.get(sid);
    return t === undefined ? undefined : structuredClone(t);
  }

  /** True when `token` is the API token of one of this datastore's templates (its hash looked up, nothing copied). */
  ownsToken(token: string): boolean {
    return typeof token === 'string' && this.byToken.has(this.o.hashToken(token));
  }

  private templateFor(token: string): DataSetTemplate {
    const sid = typeof token === 'string' ? this.byToken.get(this.o.hashToken(token)) : undefined;
    if (sid === undefined) throw new CallbackError('InvalidToken', 'InvalidToken');
    return this.templates.get(sid) as DataSetTemplate;
  }

  /**
   * `POST /api/v1/data_sets` (§5): upserts the data set of (token's template, number).
   * `data_values` keys outside the template are dropped (listed in `dropped`); values must be
   * strings. Throws `InvalidToken`, `ContactRequired`/`InvalidContact` (number),
   * `InvalidParameters` (a value is not a string).
   */
  submit(token: string, body: { customer_contact_number: string; data_values: Record<string, unknown>; ani?: string | null }, now: number): { response: DataSetResponse; dropped: string[] } {
    const t = this.templateFor(token);
    const number = normalizeNumber(body.customer_contact_number, 'customer_contact_number');
    const ani = body.ani === undefined || body.ani === null ? null : normalizeNumber(body.ani, 'ani');
    if (body.data_values === null || typeof body.data_values !== 'object' || Array.isArray(body.data_values)) {
      throw new CallbackError('InvalidParameters', 'data_values must be an object', 'data_values');
    }
    const values: Record<string, string> = {};
    const dropped: string[] = [];
    for (const [k, v] of Object.entries(body.data_values)) {
      if (!t.keys.includes(k)) {
        dropped.push(k);
        continue;
      }
      if (typeof v !== 'string') throw new CallbackError('InvalidParameters', `data_values.${k} must be a string`, `data_values.${k}`);
      values[k] = v;
    }
    this.sweep(now);
    const id = `${t.sid}|${number}`;
    const old = this.sets.get(id);
    const set: DataSet = {
      templateSid: t.sid,
      rawNumber: body.customer_contact_number,
      number,
      ani: ani ?? old?.ani ?? null,
      values: { ...(old?.values ?? {}), ...values },
      ecbtSeconds: old?.ecbtSeconds ?? null,
      createdAt: old?.createdAt ?? now,
      updatedAt: now,
      expiresAt: 0,
    };
    set.expiresAt = now + ((set.ecbtSeconds ?? 0) + t.timeToExpireHours * 3600) * 1000;
    this.sets.set(id, set);
    return { response: this.render(t, set, true), dropped };
  }

  /**
   * `GET /api/v1/data_sets/search?customer_contact_number=` (§5): the token's data set for the
   * number, matched as submitted first, then as E.164. Throws `InvalidToken`, `InvalidContact`
   * (malformed number) or `NotFound` (none, or expired).
   */
  search(token: string, customerContactNumber: string, now: number): DataSetResponse {
    const t = this.templateFor(token);
    const number = normalizeNumber(customerContactNumber, 'customer_contact_number');
    this.sweep(now);
    let found: DataSet | undefined;
    for (const s of this.sets.values()) {
      if (s.templateSid === t.sid && s.rawNumber === customerContactNumber) found = s;
    }
    found ??= this.sets.get(`${t.sid}|${number}`);
    if (found === undefined) throw new CallbackError('NotFound', `no data set for ${customerContactNumber}`, 'customer_contact_number');
    return this.render(t, found, false);
  }

  /**
   * The context to merge into a return task (§5 [DECISION]): the template's live values for the
   * number, {} when none. For the center's driver; no token needed (internal).
   */
  contextFor(templateSid: string, number: string, now: number): Record<string, string> {
    const s = this.sets.get(`${templateSid}|${normalizeNumber(number, 'number')}`);
    if (s === undefined || s.expiresAt <= now) return {};
    const t = this.templates.get(templateSid) as DataSetTemplate;
    return Object.fromEntries(Object.entries(s.values).filter(([k]) => t.keys.includes(k)));
  }

  /** A callback was registered for `number` with this ECBT (s): every template's data set for it shows the ECBT and lives that much longer. */
  noteCallback(number: string, ecbtSeconds: number, now: number): void {
    const e164 = normalizeNumber(number, 'number');
    for (const s of this.sets.values()) {
      if (s.number !== e164 || s.expiresAt <= now) continue;
      const t = this.templates.get(s.templateSid) as DataSetTemplate;
      s.ecbtSeconds = ecbtSeconds;
      s.expiresAt = Math.max(s.expiresAt, now + (ecbtSeconds + t.timeToExpireHours * 3600) * 1000);
    }
  }

  /** Deletes every data set expired at `now`; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const [id, s] of this.sets) {
      if (s.expiresAt <= now) {
        this.sets.delete(id);
        n += 1;
      }
    }
    return n;
  }

  /** Number of stored data sets (expired ones count until swept). */
  get size(): number {
    return this.sets.size;
  }

  private render(t: DataSetTemplate, s: DataSet, withTemplate: boolean): DataSetResponse {
    const out: DataSetResponse = {
      customer_contact_number: s.rawNumber,
      ani: s.ani,
      ecbt: s.ecbtSeconds,
      ...(withTemplate ? { data_set_template_id: t.sid, data_set_template_name: t.name, time_to_expire: t.timeToExpireHours } : {}),
    };
    for (const k of t.keys) if (s.values[k] !== undefined) out[k] = s.values[k];
    return out;
  }

  snapshot(): DatastoreSnapshot {
    return structuredClone({ templates: [...this.templates.values()], sets: [...this.sets.values()] });
  }

  /**
   * A datastore continuing from `s`. A template saved before tokens were hashed (it carries
   * `token`) gets its hash now, and the clear token is dropped from the state.
   */
  static restore(s: DatastoreSnapshot, options: DatastoreOptions): Datastore {
    const d = new Datastore(options);
    const c = structuredClone(s);
    for (const t of c.templates) {
      const legacy = t as DataSetTemplate & { token?: string };
      if (typeof legacy.token === 'string') {
        t.tokenHash = options.hashToken(legacy.token);
        delete legacy.token;
      }
      d.templates.set(t.sid, t);
      d.byToken.set(t.tokenHash, t.sid);
    }
    for (const set of c.sets) d.sets.set(`${set.templateSid}|${set.number}`, set);
    return d;
  }
}

/**
 * A create-task command with the datastore's data set for the callback's number merged into the
 * `context` of its `attributes` (spec callbacks-and-ewt §5 [DECISION]: the stored context comes
 * back with the return task); values given at registration win. `now` is epoch ms (expired data
 * sets are not used). Returns `command` itself when it is not a `createTask`, the callback or its
 * call target is unknown, the target has no `datastoreTemplateSid`, or there is no live data set
 * for the number. Throws SyntaxError when `command.attributes` is not JSON (the center writes it).
 * Used by the virtual-time driver and the live service alike.
 */
export function withStoredContext(datastore: Datastore, center: CallbackCenter, callbackSid: string, command: Command, now: number): Command {
  const c = center.getCallback(callbackSid);
  const t = c === undefined ? undefined : center.getCallTarget(c.callTargetSid);
  if (c === undefined || t === undefined || t.datastoreTemplateSid === null || command.type !== 'createTask') return command;
  const stored = datastore.contextFor(t.datastoreTemplateSid, c.phoneNumber, now);
  if (Object.keys(stored).length === 0) return command;
  const attrs = JSON.parse(command.attributes ?? '{}') as { context?: Record<string, string> };
  attrs.context = { ...stored, ...(attrs.context ?? {}) };
  return { ...command, attributes: JSON.stringify(attrs) };
}
