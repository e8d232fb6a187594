/**
 * The analytics core hosted by the runtime (issue 14 item 3; spec CEA §B7–§B10): one
 * {@link AnalyticsProjector} per workspace, fed every engine event of the workspace in the turn
 * that made them, and kept durable as `core_rows` (core `analytics`, workspace = the workspace,
 * key = the projector's {@link ModelRow} key: `qe:<WT>/<n>`, `ie:<WR>`, `ae:<WR>`, `conv:<WT>`,
 * `task:<WT>`, `cust:<id>`, `agent:<WK>`, `agentv:<WK>:<n>`, `st:<WK>:<n>`, `sto:<WK>`, `act:<WA>`,
 * `meta`) written in the same transaction as the events that changed them.
 *
 * Inside the runtime a workspace's events arrive once each and in commit order, their instants
 * never going back (the engine's clock is monotonic), so the projector runs with lateness 0 and is
 * flushed after each command's events: the model is up to date the moment the batch is written.
 * The 4-hour watermark of §B10 is for consumers fed from a stream (Event Streams, a replay).
 *
 * Restart: {@link load} restores each live workspace's projector from its rows, so a restarted
 * server answers the same analytics as before. After a failed commit, {@link reload} puts the
 * workspace's projector back to its stored rows. A deleted workspace's projector is dropped
 * ({@link forget}); its rows stay with the workspace's other records and are not loaded again.
 *
 * Units: instants epoch ms, durations seconds (see src/analytics/projector.ts).
 */
import { AnalyticsProjector, type ModelRow } from '../analytics/projector.ts';
import type { EngineEvent, WorkspaceEngine } from '../engine/index.ts';
import type { CoreRowWrite, CoreWrites, Store } from '../store/store.ts';
import { type CoreContext, type HostedCore, UntimedCore } from './core.ts';

/** The `core` of the analytics rows in `core_rows`. */
export const ANALYTICS_CORE = 'analytics';

/** Projector options inside the runtime: events in commit order, applied at once, changes tracked. */
const HOSTED = { latenessMs: 0, trackChanges: true } as const;

export class AnalyticsHosting extends UntimedCore implements HostedCore {
  private readonly projectors = new Map<string, AnalyticsProjector>();
  /** Workspaces whose projector changed in the batch being built. */
  private readonly touched = new Set<string>();

  // ── HostedCore ──

  /** Restores every live workspace's projector from its rows (a deleted workspace's rows are skipped). */
  async load(store: Store, engineOf: (workspaceSid: string) => WorkspaceEngine | undefined): Promise<void> {
    const byWorkspace = new Map<string, ModelRow[]>();
    for (const r of await store.loadCoreRows(ANALYTICS_CORE)) {
      if (engineOf(r.workspaceSid) === undefined) continue;
      let rows = byWorkspace.get(r.workspaceSid);
      if (rows === undefined) byWorkspace.set(r.workspaceSid, (rows = []));
      rows.push({ key: r.key, body: r.body });
    }
    for (const [sid, rows] of byWorkspace) this.projectors.set(sid, AnalyticsProjector.fromRows(rows, HOSTED));
  }

  /** After a failed commit: the workspace's projector goes back to its stored rows (none: it starts afresh). */
  async reload(store: Store, workspaceSid: string): Promise<void> {
    this.forget(workspaceSid);
    const rows = await store.loadCoreRowsOf(ANALYTICS_CORE, workspaceSid);
    if (rows.length > 0) this.projectors.set(workspaceSid, AnalyticsProjector.fromRows(rows, HOSTED));
  }

  /** Applies one engine command's events to the workspace's projector (created on first use). */
  observe(workspaceSid: string, events: readonly EngineEvent[], ctx: CoreContext): void {
    if (events.length === 0) return;
    const p = this.projectorOf(workspaceSid, ctx.engine(workspaceSid));
    for (const e of events) p.observe(e);
    p.flush();
    this.touched.add(workspaceSid);
  }

  /** The rows the batch changed, as `core_rows` upserts (deletes for rows gone). */
  takeWrites(now: number): CoreWrites {
    const coreRows: CoreRowWrite[] = [];
    for (const sid of this.touched) {
      const p = this.projectors.get(sid);
      if (p === undefined) continue;
      for (const r of p.takeChangedRows()) coreRows.push({ workspaceSid: sid, core: ANALYTICS_CORE, key: r.key, body: r.body, updatedAt: now });
    }
    this.touched.clear();
    return { events: [], outbox: [], callbackStates: [], coreRows };
  }

  /** A failed batch: the runtime reloads every workspace it touched, this projector included. */
  discardBatch(): void {
    this.touched.clear();
  }

  forget(workspaceSid: string): void {
    this.projectors.delete(workspaceSid);
    this.touched.delete(workspaceSid);
  }

  // ── reads ──

  /**
   * The workspace's projector, for queries only (never feed it: the runtime does). A workspace
   * that has had no event since it was made has an empty one.
   */
  projector(workspaceSid: string): AnalyticsProjector {
    return this.projectors.get(workspaceSid) ?? new AnalyticsProjector(HOSTED);
  }

  private projectorOf(workspaceSid: string, engine: WorkspaceEngine | undefined): AnalyticsProjector {
    let p = this.projectors.get(workspaceSid);
    if (p === undefined) {
      p = new AnalyticsProjector(HOSTED);
      // The workspace's seed activities were made before any core saw an event (Runtime.createWorkspace).
      for (const a of engine?.activities.values() ?? []) p.knowActivity(a.sid, a.available);
      this.projectors.set(workspaceSid, p);
    }
    return p;
  }
}
