/**
 * What the callbacks API (src/api/routes/callbacks*.ts) needs of the callback cores the runtime
 * hosts: look-ups that check the workspace belongs to the account, and operations run in the
 * runtime's batch (answered once on disk). A thin facade over {@link Runtime.runCallbacks} and
 * {@link CallbackHosting}.
 */
import { randomBytes } from 'node:crypto';
import type { CallbackCenter } from '../callbacks/center.ts';
import type { Datastore } from '../callbacks/datastore.ts';
import type { TelephonyPort } from '../callbacks/telephony-port.ts';
import type { CallbackWriteCounters, Host } from './callbacks-hosting.ts';
import type { Runtime } from './runtime.ts';

export type { Host } from './callbacks-hosting.ts';

/** The callback cores of a runtime, as the API uses them (see the module comment). */
export class CallbackService {
  readonly runtime: Runtime;

  constructor(runtime: Runtime) {
    this.runtime = runtime;
  }

  /** The telephone port dials go to, or null (none configured). */
  get telephony(): TelephonyPort | null {
    return this.runtime.callbacks.telephony;
  }

  /** Auth token that signs the telephone provider's webhooks, or null (not checked). */
  get telephonyAuthToken(): string | null {
    return this.runtime.callbacks.telephonyAuthToken;
  }

  /** Rows of callback state written since the runtime opened (persistence follows what changed). */
  get storeCounters(): Readonly<CallbackWriteCounters> {
    return { ...this.runtime.callbacks.counters };
  }

  /** A new SID: `prefix` + 32 hex digits from the OS's random source. */
  newSid(prefix: string): string {
    return prefix + randomBytes(16).toString('hex');
  }

  /** The workspace's callback core (created on first use when `create`), or undefined when the workspace is not this account's. */
  host(accountSid: string, workspaceSid: string, create: boolean): Host | undefined {
    if (this.runtime.workspace(accountSid, workspaceSid) === undefined) return undefined;
    return this.runtime.callbacks.host(accountSid, workspaceSid, create);
  }

  /** The account's callback cores (its workspaces that use callbacks). */
  hostsOf(accountSid: string): Host[] {
    return this.runtime.callbacks.hostsOf(accountSid).filter((h) => this.runtime.workspace(accountSid, h.workspaceSid) !== undefined);
  }

  /** The callback core whose datastore issued `token`, or undefined. */
  hostForToken(token: string): Host | undefined {
    return this.runtime.callbacks.hostForToken(token);
  }

  /**
   * Runs `op` on the workspace's center in the runtime's next batch; resolves with its result once
   * on disk. Rejects with what `op` threw (CallbackError for bad input; nothing changed) or the
   * store's error.
   */
  run<T extends object>(host: Host, op: (center: CallbackCenter, now: number, datastore: Datastore) => T): Promise<T> {
    return this.runtime.runCallbacks(host, op);
  }

  /**
   * Deletes a call target that has no pending callback, with its statistics and terminal
   * callbacks (their events stay). Rejects with CallbackError `InvalidRequest` when a callback is
   * still pending, `NotFound` for an unknown target.
   */
  async removeCallTarget(host: Host, targetSid: string): Promise<void> {
    await this.runtime.runCallbacks(host, (center) => {
      center.forgetCallTarget(targetSid);
      return {};
    });
  }
}
