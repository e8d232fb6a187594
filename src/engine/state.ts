/**
 * The state of one workspace engine as plain data: the records (model.ts), the routing indexes
 * (queue-index.ts), the timers (timers.ts), the statistics recorder and the bookkeeping that
 * routing keeps between commands. Every lifecycle and command module is a set of functions of
 * an {@link EngineState}; none of them holds state of its own. engine.ts wraps one state in the
 * `WorkspaceEngine` facade, and callers outside src/engine read it through view.ts.
 *
 * Instants are epoch milliseconds. Nothing here reads a clock: `now` moves only with the
 * commands and timers the engine is given (DESIGN.md, "How data flows").
 */
import type { SidGenerator } from '../util/sid.ts';
import type { EngineEvent } from './events.ts';
import type { ActivityRecord, ReservationRecord, TaskChannelRecord, TaskRecord, WorkerRecord, WorkflowRecord, WorkspaceRecord } from './model.ts';
import type { QueueIndex } from './queue-index.ts';
import type { StatisticsRecorder } from './statistics.ts';
import { TimerQueue } from './timers.ts';
import { newTransferIndex, type TransferIndex } from './transfer-index.ts';

/** Everything one workspace holds; see the module comment. */
export interface EngineState {
  readonly workspace: WorkspaceRecord;
  /** By SID. */
  readonly activities: Map<string, ActivityRecord>;
  /** By SID. */
  readonly channels: Map<string, TaskChannelRecord>;
  /** By dense index (deleted channels stay, flagged). */
  readonly channelList: TaskChannelRecord[];
  /** Each task queue's record with its routing indexes, by SID. */
  readonly queues: Map<string, QueueIndex>;
  readonly workflows: Map<string, WorkflowRecord>;
  readonly workers: Map<string, WorkerRecord>;
  readonly tasks: Map<string, TaskRecord>;
  readonly reservations: Map<string, ReservationRecord>;
  /** Task transfers (transfers.ts). */
  readonly transfers: TransferIndex;
  readonly statistics: StatisticsRecorder;
  /** The engine's current instant, epoch ms: never goes back. */
  now: number;
  readonly newSid: SidGenerator;
  /** Reservation timeouts, step deadlines, TTLs, assignment limits and purges, by due time. */
  readonly timers: TimerQueue;
  /** Workers by lower-case friendly name (names are unique case-insensitively, spec §1.4). */
  readonly workersByName: Map<string, WorkerRecord>;
  /** Queues whose TargetWorkers read the worker's activity: membership changes with it. */
  readonly activityQueues: Set<QueueIndex>;
  /** Events of the command being executed, in emission order (taken when it ends). */
  events: EngineEvent[];
  /**
   * Workers to serve when routing settles, in the order they were first marked (FIFO). An array
   * with a flag on the worker (`queuedToServe`) instead of a Set: marking a worker already queued
   * leaves it in place, and one served and marked again goes to the back, as with a Set, without
   * a hash lookup per mark. A deleted worker stays queued and is skipped when reached.
   */
  readonly dirtyWorkers: WorkerRecord[];
  /** Tasks listed as `direct` (RoutingTarget WK, waiting): while 0, no worker's directTasks need reading. */
  directListed: number;
  /** Tasks listed in a queue (`waiting`, `restricted` or `known`): while 0, a worker being served has no queue to look in. */
  queueListed: number;
  /** Listed tasks whose target expression reads `worker.channel.*` (see matching.ts refreshWorker). */
  channelReadingTasks: number;
}

/**
 * An empty state for `workspace` (no activities, channels or other records yet), its clock at
 * the workspace's creation. `newSid` makes every SID the engine hands out; `statistics` is a
 * fresh recorder or one loaded from a snapshot.
 */
export function newEngineState(workspace: WorkspaceRecord, newSid: SidGenerator, statistics: StatisticsRecorder): EngineState {
  return {
    workspace,
    activities: new Map(),
    channels: new Map(),
    channelList: [],
    queues: new Map(),
    workflows: new Map(),
    workers: new Map(),
    tasks: new Map(),
    reservations: new Map(),
    transfers: newTransferIndex(),
    statistics,
    now: workspace.dateCreated,
    newSid,
    timers: new TimerQueue(),
    workersByName: new Map(),
    activityQueues: new Set(),
    events: [],
    dirtyWorkers: [],
    directListed: 0,
    queueListed: 0,
    channelReadingTasks: 0,
  };
}

/**
 * The key under which the `WorkspaceEngine` facade keeps its state. It is not exported from
 * index.ts: only modules of src/engine (the invariant checker) reach a facade's state with it.
 */
export const ENGINE_STATE: unique symbol = Symbol('switchboard.engine-state');

/** What carries an engine state under {@link ENGINE_STATE}: the `WorkspaceEngine` facade. */
export interface HoldsEngineState {
  readonly [ENGINE_STATE]: EngineState;
}

/** A live task channel by SID or unique name (spec §1.2); undefined for a deleted or unknown one. */
export function findChannel(state: EngineState, ref: string): TaskChannelRecord | undefined {
  const bySid = state.channels.get(ref);
  if (bySid !== undefined) return bySid.deleted ? undefined : bySid;
  for (const c of state.channelList) if (!c.deleted && c.uniqueName === ref) return c;
  return undefined;
}

/** A worker by friendly name, case-insensitively (spec §1.4). */
export function findWorkerByName(state: EngineState, name: string): WorkerRecord | undefined {
  return state.workersByName.get(name.toLowerCase());
}
