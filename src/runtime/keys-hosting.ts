/**
 * API keys (issue 15 item 1; Twilio's `/2010-04-01/Accounts/{AC}/Keys`, spec
 * voice-worker-sdk-console.md B2): an SK SID and a secret shown once, per account. Hosted beside the
 * other cores so that a key's creation, rename and removal are written in the runtime's batch
 * transaction like every other write, as `core_rows` (core `keys`, workspace column = the account's
 * SID — a core shard, see `isCoreShard` — key = the SK SID): durable on SQLite and PostgreSQL alike.
 *
 * The secret is kept two ways, never in clear: its SHA-256 (secrets.ts; the secret is 128 random
 * bits, so no slow hash is needed) checks Basic auth with the key, and a copy sealed with the
 * server key (AES-256-GCM) lets the server verify the HS256 access tokens signed with it — an HMAC
 * can only be checked with the secret itself, as for the auth token and webhook signatures.
 *
 * Keys made before this core (the `api_keys` table, written by older versions) are loaded too: they
 * authenticate REST requests but cannot sign access tokens (only their hash was kept). Removing one
 * writes a tombstone row, since the old table is not written any more.
 */
import type { CoreWrites, Store } from '../store/store.ts';
import { type CoreContext, type HostedCore, UntimedCore } from './core.ts';
import { hashSecret, newSecret, seal, secretMatches, unseal } from './secrets.ts';
import { StatusError } from '../util/status-error.ts';

export const KEYS_CORE = 'keys';

/** A key as stored (the `core_rows` body). Dates are epoch ms. */
export interface ApiKeyRecord {
  sid: string;
  accountSid: string;
  friendlyName: string;
  /** SHA-256 of the secret, hex. */
  secretHash: string;
  /** The secret sealed with the server key; null for a key from the old `api_keys` table. */
  secretSealed: string | null;
  dateCreated: number;
  dateUpdated: number;
}

/** A tombstone: a removed key of the old `api_keys` table. */
interface Removed {
  sid: string;
  removed: true;
}

/** A refused key operation: `status` 400 or 404 with Twilio's code and the field at fault (a {@link StatusError}). */
export class KeyError extends StatusError {
  override name = 'KeyError';
}

/** FriendlyName of the key the server signs the tokens it mints with (routes/access-tokens.ts). */
export const CONSOLE_KEY_NAME = 'Switchboard console tokens';

/** Longest FriendlyName of a key (Twilio: "up to 64 characters"). */
export const KEY_NAME_MAX = 64;

export class KeysHosting extends UntimedCore implements HostedCore {
  private readonly keys = new Map<string, ApiKeyRecord>();
  /** Unsealed secrets, by SK SID (filled on first use; never leaves the process). */
  private readonly secrets = new Map<string, string>();
  /** Rows to write in the batch being built: body null deletes the row. */
  private pending: Array<{ accountSid: string; sid: string; body: string | null }> = [];
  private readonly run: <T>(key: string, op: (ctx: CoreContext) => T) => Promise<T>;
  private readonly serverKey: Buffer;
  private readonly newSid: () => string;

  /**
   * @param run queues an operation into the runtime's next batch under the account's SID
   * @param serverKey the 32-byte key secrets are sealed with (the runtime's server key)
   * @param newSid a new `SK` + 32 hex digits SID (default: random)
   */
  constructor(run: <T>(key: string, op: (ctx: CoreContext) => T) => Promise<T>, serverKey: Buffer, newSid: () => string = () => `SK${newSecret()}`) {
    super();
    this.run = run;
    this.serverKey = serverKey;
    this.newSid = newSid;
  }

  // ── HostedCore ──

  async load(store: Store): Promise<void> {
    this.keys.clear();
    this.secrets.clear();
    for (const k of await store.apiKeys()) this.keys.set(k.sid, { ...k, secretSealed: null, dateUpdated: k.dateCreated });
    for (const r of await store.loadCoreRows(KEYS_CORE)) this.restore(r.body);
  }

  async reload(store: Store, key: string): Promise<void> {
    if (!key.startsWith('AC')) return;
    this.forget(key);
    for (const k of await store.apiKeys()) if (k.accountSid === key) this.keys.set(k.sid, { ...k, secretSealed: null, dateUpdated: k.dateCreated });
    for (const r of await store.loadCoreRowsOf(KEYS_CORE, key)) this.restore(r.body);
  }

  discardBatch(): void {
    this.pending = [];
  }

  forget(key: string): void {
    if (!key.startsWith('AC')) return;
    for (const [sid, k] of this.keys) {
      if (k.accountSid === key) {
        this.keys.delete(sid);
        this.secrets.delete(sid);
      }
    }
  }

  observe(): void {}

  takeWrites(now: number): CoreWrites {
    const coreRows = this.pending.map((p) => ({ workspaceSid: p.accountSid, core: KEYS_CORE, key: p.sid, body: p.body, updatedAt: now }));
    this.pending = [];
    return { events: [], outbox: [], callbackStates: [], coreRows };
  }

  // ── reads ──

  /** The account's keys, oldest first. */
  list(accountSid: string): ApiKeyRecord[] {
    return [...this.keys.values()].filter((k) => k.accountSid === accountSid).sort((a, b) => a.dateCreated - b.dateCreated || (a.sid < b.sid ? -1 : 1));
  }

  /** One key of the account, or undefined (also for another account's key). */
  get(accountSid: string, sid: string): ApiKeyRecord | undefined {
    const k = this.keys.get(sid);
    return k !== undefined && k.accountSid === accountSid ? k : undefined;
  }

  /** The account a Basic-auth pair (SK SID, secret) belongs to, or null. */
  authenticate(sid: string, secret: string): string | null {
    const k = this.keys.get(sid);
    return k !== undefined && secretMatches(secret, k.secretHash) ? k.accountSid : null;
  }

  /**
   * The key's secret, to verify an access token signed with it; undefined for an unknown key or
   * one from the old `api_keys` table (whose secret was not kept).
   */
  signingSecret(sid: string): { accountSid: string; secret: string } | undefined {
    const k = this.keys.get(sid);
    if (k === undefined || k.secretSealed === null) return undefined;
    let secret = this.secrets.get(sid);
    if (secret === undefined) {
      secret = unseal(k.secretSealed, this.serverKey);
      this.secrets.set(sid, secret);
    }
    return { accountSid: k.accountSid, secret };
  }

  // ── writes (each durable before it resolves) ──

  /**
   * The key the server signs the access tokens it mints with (`POST /v1/Workspaces/{WS}/AccessTokens`):
   * the account's oldest key named {@link CONSOLE_KEY_NAME} whose secret was kept, created on first
   * use (durable before it resolves, so tokens signed with it verify after a restart). Concurrent
   * first uses create one key: the look-up is repeated inside the runtime's serialized batch.
   */
  async consoleKey(accountSid: string): Promise<{ sid: string; secret: string }> {
    const existing = this.findConsoleKey(accountSid);
    if (existing !== undefined) return existing;
    const secret = newSecret();
    const secretHash = hashSecret(secret);
    const secretSealed = seal(secret, this.serverKey);
    const sid = this.newSid();
    return this.run(accountSid, (ctx) => {
      const again = this.findConsoleKey(accountSid);
      if (again !== undefined) return again;
      const key: ApiKeyRecord = { sid, accountSid, friendlyName: CONSOLE_KEY_NAME, secretHash, secretSealed, dateCreated: ctx.now, dateUpdated: ctx.now };
      this.keys.set(sid, key);
      this.secrets.set(sid, secret);
      this.write(key);
      return { sid, secret };
    });
  }

  private findConsoleKey(accountSid: string): { sid: string; secret: string } | undefined {
    const k = this.list(accountSid).find((x) => x.friendlyName === CONSOLE_KEY_NAME && x.secretSealed !== null);
    const s = k === undefined ? undefined : this.signingSecret(k.sid);
    return k === undefined || s === undefined ? undefined : { sid: k.sid, secret: s.secret };
  }

  /**
   * Creates a key; resolves with it and its secret (shown once) when durable. Rejects with a
   * {@link KeyError} (400, field FriendlyName) for a name over {@link KEY_NAME_MAX} characters.
   */
  create(accountSid: string, friendlyName: string | undefined): Promise<{ key: ApiKeyRecord; secret: string }> {
    const name = checkName(friendlyName) ?? '';
    const secret = newSecret();
    const secretHash = hashSecret(secret);
    const secretSealed = seal(secret, this.serverKey);
    const sid = this.newSid();
    return this.run(accountSid, (ctx) => {
      const key: ApiKeyRecord = { sid, accountSid, friendlyName: name, secretHash, secretSealed, dateCreated: ctx.now, dateUpdated: ctx.now };
      this.keys.set(sid, key);
      this.write(key);
      return { key, secret };
    });
  }

  /** Renames a key; resolves with it. Rejects with a {@link KeyError}: 404 unknown key, 400 bad name. */
  update(accountSid: string, sid: string, friendlyName: string | undefined): Promise<ApiKeyRecord> {
    const name = checkName(friendlyName);
    return this.run(accountSid, (ctx) => {
      const k = this.get(accountSid, sid);
      if (k === undefined) throw new KeyError(404, 20404, `The requested resource Key ${sid} was not found`);
      if (name !== undefined) k.friendlyName = name;
      k.dateUpdated = ctx.now;
      this.write(k);
      return k;
    });
  }

  /** Removes a key (it stops authenticating at once); resolves false when the account has no such key. */
  remove(accountSid: string, sid: string): Promise<boolean> {
    return this.run(accountSid, () => {
      const k = this.get(accountSid, sid);
      if (k === undefined) return false;
      this.keys.delete(sid);
      this.secrets.delete(sid);
      const tombstone: Removed = { sid, removed: true };
      this.pending.push({ accountSid, sid, body: k.secretSealed === null ? JSON.stringify(tombstone) : null });
      return true;
    });
  }

  private write(k: ApiKeyRecord): void {
    this.pending.push({ accountSid: k.accountSid, sid: k.sid, body: JSON.stringify(k) });
  }

  private restore(body: string): void {
    const row = JSON.parse(body) as ApiKeyRecord | Removed;
    if ('removed' in row) this.keys.delete(row.sid);
    else this.keys.set(row.sid, row);
  }
}

/** The FriendlyName as given (undefined when absent); throws a 400 {@link KeyError} when too long. */
function checkName(name: string | undefined): string | undefined {
  if (name !== undefined && [...name].length > KEY_NAME_MAX) throw new KeyError(400, 20001, `FriendlyName is too long: at most ${KEY_NAME_MAX} characters`, 'FriendlyName');
  return name;
}
