/**
 * One TaskRouter workspace as a deterministic state machine (DESIGN.md, "How data flows").
 *
 *     const { engine, events } = WorkspaceEngine.create({ friendlyName: 'Support', at, newSid });
 *     const outcome = engine.execute({ type: 'createTask', at, attributes: '{"type":"billing"}' });
 *
 * `execute(command)` first fires every timer due up to `command.at`, then applies the command,
 * then settles routing (every ready worker that can take a waiting task gets a reservation).
 * It returns the events in emission order and, for a refused command, a `Rejection`; a
 * refused command changes nothing. The engine never reads a clock, draws a random number or
 * does I/O: time comes with each command and SIDs from the injected generator, so the same
 * commands give the same events byte for byte.
 *
 * This class is a facade over plain data: the state is an {@link EngineState} (state.ts), and
 * every command and lifecycle is a function of it in the modules beside this one (execute.ts
 * lists them). Readers see the workspace through the read-only {@link EngineView} (view.ts).
 * No module of src/engine imports this one.
 *
 * Behaviour follows shared/specs/taskrouter-semantics.md; section numbers below refer to it.
 * Our choices where the spec leaves room are listed in docs/compatibility.md.
 */
import type { SidGenerator } from '../util/sid.ts';
import type { Command } from './commands.ts';
import { createWorkspace, type CreateWorkspaceOptions } from './create.ts';
import type { EngineEvent } from './events.ts';
import { executeCommand, type Outcome } from './execute.ts';
import type {
  ActivityRecord,
  ReservationRecord,
  TaskChannelRecord,
  TaskRecord,
  WorkerRecord,
  WorkflowRecord,
  WorkspaceRecord,
} from './model.ts';
import type { WorkspaceSnapshot } from './snapshot.ts';
import { restoreWorkspace, saveWorkspace } from './snapshot-restore.ts';
import { ENGINE_STATE, findChannel, findWorkerByName, type EngineState } from './state.ts';
import type { StatisticsRecorder } from './statistics.ts';
import type { TransferRecord } from './transfers.ts';
import type { EngineView, TaskQueueView } from './view.ts';

export type { CreateWorkspaceOptions } from './create.ts';
export type { Outcome } from './execute.ts';

/**
 * One workspace: `create`, `restore`, `execute`, `advanceTo`, `nextDeadline`, `snapshot`, and
 * the read-only view of its records (see {@link EngineView}).
 */
export class WorkspaceEngine implements EngineView {
  /** The state this facade drives; reached only by modules of src/engine (see state.ts). */
  readonly [ENGINE_STATE]: EngineState;

  private constructor(state: EngineState) {
    this[ENGINE_STATE] = state;
  }

  /**
   * Creates a workspace with TaskRouter's seed resources: activities Offline (default and
   * timeout activity), Available and Unavailable, and task channels default, voice, chat, sms
   * and video (spec §1.4). Returns the engine and the creation events.
   */
  static create(options: CreateWorkspaceOptions): { engine: WorkspaceEngine; events: EngineEvent[] } {
    const { state, events } = createWorkspace(options);
    return { engine: new WorkspaceEngine(state), events };
  }

  /**
   * Rebuilds an engine from a snapshot. With the same SID generator state it behaves exactly
   * as the engine the snapshot was taken from. Throws if the snapshot is of another version.
   */
  static restore(snapshot: WorkspaceSnapshot, newSid: SidGenerator): WorkspaceEngine {
    return new WorkspaceEngine(restoreWorkspace(snapshot, newSid));
  }

  /** The whole workspace as plain data (see snapshot.ts). The engine stays usable. */
  snapshot(): WorkspaceSnapshot {
    return saveWorkspace(this[ENGINE_STATE]);
  }

  /**
   * Fires every timer due at or before `command.at` (epoch ms), then executes the command. Never
   * throws for bad input: a refusal comes back as `outcome.rejection` and changes nothing.
   */
  execute(command: Command): Outcome {
    return executeCommand(this[ENGINE_STATE], command);
  }

  /** Fires every timer due at or before `at` (epoch ms). Same as executing a `tick`. */
  advanceTo(at: number): Outcome {
    return executeCommand(this[ENGINE_STATE], { type: 'tick', at });
  }

  /** When the next timer is due (epoch ms), or null: the driver's cue to call `advanceTo`. */
  nextDeadline(): number | null {
    return this[ENGINE_STATE].timers.nextDueAt();
  }

  // ───────────────────────────── the read-only view ─────────────────────────────

  get workspace(): Readonly<WorkspaceRecord> {
    return this[ENGINE_STATE].workspace;
  }

  /** The engine's current instant, epoch ms: never goes back. */
  get now(): number {
    return this[ENGINE_STATE].now;
  }

  get activities(): ReadonlyMap<string, ActivityRecord> {
    return this[ENGINE_STATE].activities;
  }

  /** Task channels by SID, deleted ones included (flagged). */
  get channels(): ReadonlyMap<string, TaskChannelRecord> {
    return this[ENGINE_STATE].channels;
  }

  /** Task channels by dense index, deleted ones included (flagged). */
  get channelList(): readonly TaskChannelRecord[] {
    return this[ENGINE_STATE].channelList;
  }

  get queues(): ReadonlyMap<string, TaskQueueView> {
    return this[ENGINE_STATE].queues;
  }

  get workflows(): ReadonlyMap<string, WorkflowRecord> {
    return this[ENGINE_STATE].workflows;
  }

  get workers(): ReadonlyMap<string, WorkerRecord> {
    return this[ENGINE_STATE].workers;
  }

  get tasks(): ReadonlyMap<string, TaskRecord> {
    return this[ENGINE_STATE].tasks;
  }

  get reservations(): ReadonlyMap<string, ReservationRecord> {
    return this[ENGINE_STATE].reservations;
  }

  /** Task transfers by `TT` SID (transfers.ts). */
  get transfers(): ReadonlyMap<string, TransferRecord> {
    return this[ENGINE_STATE].transfers.bySid;
  }

  /** The transfer that created task `taskSid`, if one did. */
  incomingTransfer(taskSid: string): TransferRecord | undefined {
    return this[ENGINE_STATE].transfers.byTransferTask.get(taskSid);
  }

  /** The latest transfer of task `taskSid`, if it has one. */
  outgoingTransfer(taskSid: string): TransferRecord | undefined {
    return this[ENGINE_STATE].transfers.byTask.get(taskSid);
  }

  get statistics(): StatisticsRecorder {
    return this[ENGINE_STATE].statistics;
  }

  /** A task channel by SID or unique name (spec §1.2); undefined for a deleted or unknown one. */
  findChannel(ref: string): TaskChannelRecord | undefined {
    return findChannel(this[ENGINE_STATE], ref);
  }

  /** Looks a worker up by friendly name, case-insensitively (spec §1.4). */
  findWorkerByName(name: string): WorkerRecord | undefined {
    return findWorkerByName(this[ENGINE_STATE], name);
  }
}
