/**
 * The contract between the runtime and the cores it hosts beside each workspace's engine (DESIGN.md
 * "Cores and the one runtime"). The engine is the first core and the runtime drives it directly;
 * every other core — the callback center today; call flows, conversations and the analytics
 * projector next — is a {@link HostedCore}: it sees the engine's events in the turn that made them,
 * asks for engine commands through the {@link CoreContext}, keeps its timers as data behind
 * {@link HostedCore.nextDeadline}, and hands the runtime what to write in the batch's transaction
 * and what may leave the process once that transaction is durable.
 *
 * Times are epoch milliseconds.
 */
import type { EngineEvent, Outcome, WorkspaceEngine } from '../engine/index.ts';
import type { EventOrigin } from './outbox.ts';
import type { CoreWrites, Store } from '../store/store.ts';
import type { UntimedCommand } from './runtime.ts';

/** What the runtime lends a hosted core while it builds a batch. */
export interface CoreContext {
  /** The batch's instant, epoch ms. */
  readonly now: number;
  /** The workspace's engine, or undefined when it is gone. */
  engine(workspaceSid: string): WorkspaceEngine | undefined;
  /**
   * Executes an engine command in the batch being built: stamped with the batch's instant, logged,
   * its events written and handed to every core (this one included) before this returns —
   * after `first(outcome)`, which lets the core that asked learn the result (a new task's SID)
   * before it sees the events that result caused. `origin` (who asked; see EventOrigin) is stored
   * on each event the command produces.
   */
  execute(workspaceSid: string, command: UntimedCommand, first?: (outcome: Outcome) => void, origin?: EventOrigin): Outcome;
}

/** Turns a core's events into the webhook outbox rows the workspace's settings ask for (the runtime's rules). */
export type OutboxRowsOf = (workspaceSid: string, events: readonly EngineEvent[]) => CoreWrites['outbox'];

/**
 * A core hosted by the runtime (see the module comment). Every method runs on the runtime's turn;
 * none may do I/O except `load`/`reload` (reading the store). What a core sends out of the process
 * (dials, hang-ups; next: messages, sink deliveries) it writes as outbox rows in `takeWrites`, for
 * the one dispatcher to deliver once they are durable.
 */
export interface HostedCore {
  /** Restores every workspace's state from the store as the runtime opens; rejects with the store's error. */
  load(store: Store, engineOf: (workspaceSid: string) => WorkspaceEngine | undefined): Promise<void>;
  /** The events of one engine command of `workspaceSid`, in the turn that made them. */
  observe(workspaceSid: string, events: readonly EngineEvent[], ctx: CoreContext): void;
  /** Workspaces that have state in this core (the runtime's timer asks each for its deadline). */
  workspaces(): Iterable<string>;
  /** The earliest instant the workspace's part of this core has work, or null. */
  nextDeadline(workspaceSid: string): number | null;
  /** Fires what is due at `ctx.now` for the workspace. */
  advanceTo(workspaceSid: string, ctx: CoreContext): void;
  /**
   * Optional: the events the other cores wrote in this batch (their `takeWrites` events), handed
   * over before this core's own `takeWrites`, so it may add rows to the same batch (the Event
   * Streams core queues sink deliveries of the conversations core's events).
   */
  observeCoreEvents?(events: CoreWrites['events'], now: number): void;
  /** What the batch writes for this core (state, events, their outbox rows); clears it. */
  takeWrites(now: number, engineOf: (workspaceSid: string) => WorkspaceEngine | undefined, outboxRowsOf: OutboxRowsOf): CoreWrites;
  /** Drops what a failed batch left in flight (its writes and effects were never made). */
  discardBatch(): void;
  /**
   * After a failed commit: the workspace goes back to what the store holds. The runtime holds the
   * workspace's work (no observe, advanceTo or operation for it) until this settles; rejects with
   * the store's error (the runtime then refuses writes until a restart).
   */
  reload(store: Store, workspaceSid: string): Promise<void>;
  /** A deleted workspace's state stops. */
  forget(workspaceSid: string): void;
  /** Stops the core's own timers (ports it drives). */
  close(): void;
}

/**
 * The timer half of {@link HostedCore} for a core that has no timers and drives no port (Event
 * Streams, analytics, API keys): no workspaces to wake, no deadline, nothing to stop.
 */
export abstract class UntimedCore {
  workspaces(): string[] {
    return [];
  }

  nextDeadline(): number | null {
    return null;
  }

  advanceTo(): void {}

  close(): void {}
}

/** The writes of several cores as one (their rows in core order). */
export function mergeWrites(all: readonly CoreWrites[]): CoreWrites {
  if (all.length === 1) return all[0] as CoreWrites;
  return {
    events: all.flatMap((w) => w.events),
    outbox: all.flatMap((w) => w.outbox),
    callbackStates: all.flatMap((w) => w.callbackStates),
    coreRows: all.flatMap((w) => w.coreRows ?? []),
  };
}
