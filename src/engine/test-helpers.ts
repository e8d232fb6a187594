/**
 * Shared fixture for the engine's unit tests: a fresh workspace with deterministic SIDs, lookups
 * of the seed activities and channels by name, builders for queues, workflows, workers and
 * tasks, and {@link Fixture.play}, which runs a scenario written as a table (STYLE.md, "Write
 * scenarios as tables"): each row is one input at one instant, ending with the event types it
 * must emit, in order, or the rejection code it must return.
 *
 * Time is written in whole seconds after {@link T0}; commands default to the engine's clock.
 */
// eslint-disable-next-line no-restricted-imports -- test-only module (imported by *.test.ts alone): assertions, no I/O.
import assert from 'node:assert/strict';
import { SequentialSids } from '../util/sid.ts';
import type { Command } from './commands.ts';
import { WorkspaceEngine, type Outcome } from './engine.ts';
import type { EngineEvent, EventType } from './events.ts';
import type { QueueOrder, ReservationRecord, ReservationStatus, TaskRecord, TaskStatus, WorkerRecord } from './model.ts';
import type { Rejection, RejectionCode } from './rejections.ts';

/** The instant every fixture workspace is created: Monday 2024-01-01 12:00:00 UTC. */
export const T0 = 1_704_110_400_000;

/** Epoch ms of `seconds` after {@link T0}. */
export function at(seconds: number): number {
  return T0 + seconds * 1000;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A command whose `at` defaults to the engine's current instant. */
export type Cmd = DistributiveOmit<Command, 'at'> & { at?: number };

/** Event types of a list of events, in order. */
export function types(events: readonly EngineEvent[]): EventType[] {
  return events.map((e) => e.eventType);
}

/**
 * One scenario row: at `seconds` after T0, run `input` (a command, a function building one when
 * the row runs, or `'tick'` to only fire timers) and expect these event types or this rejection.
 * A fourth element names the SID the command returns, for later rows ({@link Fixture.$}); a
 * fifth checks the state after the row.
 */
export type Row = readonly [
  seconds: number,
  input: Cmd | (() => Cmd) | 'tick',
  expected: readonly EventType[] | RejectionCode,
  name?: string,
  then?: () => void,
];

export interface FixtureOptions {
  multiTaskEnabled?: boolean;
  prioritizeQueueOrder?: QueueOrder;
}

export class Fixture {
  readonly sids = new SequentialSids();
  readonly engine: WorkspaceEngine;
  /** Events of the workspace's creation. */
  readonly created: EngineEvent[];
  private readonly names = new Map<string, string>();

  constructor(options: FixtureOptions = {}) {
    const { engine, events } = WorkspaceEngine.create({ friendlyName: 'Test', at: T0, newSid: this.sids.next, ...options });
    this.engine = engine;
    this.created = events;
  }

  /** SID of an activity by friendly name (seeds: Offline, Available, Unavailable). */
  activity(friendlyName: string): string {
    for (const a of this.engine.activities.values()) if (a.friendlyName === friendlyName) return a.sid;
    throw new Error(`no activity named ${friendlyName}`);
  }

  /** SID of a task channel by unique name (seeds: default, voice, chat, sms, video). */
  channel(uniqueName: string): string {
    const ch = this.engine.findChannel(uniqueName);
    if (ch === undefined) throw new Error(`no channel ${uniqueName}`);
    return ch.sid;
  }

  /** The SID a {@link play} row named, or `nameOrSid` itself. */
  $(nameOrSid: string): string {
    return this.names.get(nameOrSid) ?? nameOrSid;
  }

  /** Runs a command as is (at defaults to now). */
  exec(command: Cmd): Outcome {
    return this.engine.execute({ ...command, at: command.at ?? this.engine.now } as Command);
  }

  /** Runs a command that must succeed. */
  ok(command: Cmd): Outcome {
    const outcome = this.exec(command);
    assert.equal(outcome.rejection, null, `${command.type} was refused: ${outcome.rejection?.message ?? ''}`);
    return outcome;
  }

  /** Runs a command that must be refused and returns the rejection. */
  refuse(command: Cmd): Rejection {
    const outcome = this.exec(command);
    assert.notEqual(outcome.rejection, null, `${command.type} was not refused`);
    return outcome.rejection as Rejection;
  }

  /** Fires timers up to `seconds` after T0 and returns what happened. */
  tick(seconds: number): Outcome {
    return this.engine.advanceTo(at(seconds));
  }

  /** Runs a scenario table; every row must produce exactly its expected event types or rejection. */
  play(rows: readonly Row[]): Outcome[] {
    return rows.map(([seconds, input, expected, name, then], i) => {
      const command: Cmd = input === 'tick' ? { type: 'tick' } : typeof input === 'function' ? input() : input;
      const outcome = this.exec({ ...command, at: at(seconds) } as Cmd);
      const label = `row ${i} (${seconds} s, ${command.type})`;
      if (typeof expected === 'string') {
        assert.equal(outcome.rejection?.code, expected, `${label}: ${outcome.rejection?.message ?? 'not refused'}`);
      } else {
        assert.equal(outcome.rejection, null, `${label} refused: ${outcome.rejection?.message ?? ''}`);
        assert.deepEqual(types(outcome.events), expected, label);
      }
      if (name !== undefined && outcome.sid !== null) this.names.set(name, outcome.sid);
      try {
        then?.();
      } catch (error) {
        throw new Error(`${label}: ${(error as Error).message}`, { cause: error });
      }
      return outcome;
    });
  }

  queue(friendlyName: string, fields: Partial<Extract<Command, { type: 'createTaskQueue' }>> = {}): string {
    return this.ok({ type: 'createTaskQueue', targetWorkers: '1==1', ...fields, friendlyName }).sid as string;
  }

  /** A workflow from a configuration object (or JSON string). */
  workflow(configuration: object | string, fields: Partial<Extract<Command, { type: 'createWorkflow' }>> = {}): string {
    const json = typeof configuration === 'string' ? configuration : JSON.stringify(configuration);
    const friendlyName = fields.friendlyName ?? `Workflow ${this.engine.workflows.size + 1}`;
    return this.ok({ type: 'createWorkflow', ...fields, friendlyName, configuration: json }).sid as string;
  }

  /** A worker in the named activity (default Available). */
  worker(friendlyName: string, attributes: object = {}, activity = 'Available'): string {
    const sid = this.ok({ type: 'createWorker', friendlyName, attributes: JSON.stringify(attributes), activitySid: this.activity(activity) }).sid;
    return sid as string;
  }

  /** Creates a task; returns its outcome (`sid` is the task SID). */
  task(attributes: object = {}, fields: Partial<Extract<Command, { type: 'createTask' }>> = {}): Outcome {
    return this.ok({ type: 'createTask', attributes: JSON.stringify(attributes), ...fields });
  }

  taskRecord(nameOrSid: string): TaskRecord {
    const t = this.engine.tasks.get(this.$(nameOrSid));
    assert.ok(t !== undefined, `task ${nameOrSid} exists`);
    return t;
  }

  status(task: string): TaskStatus {
    return this.taskRecord(task).assignmentStatus;
  }

  workerRecord(sid: string): WorkerRecord {
    const w = this.engine.workers.get(sid);
    assert.ok(w !== undefined, `worker ${sid} exists`);
    return w;
  }

  /** The friendly name of the worker's current activity. */
  activityOf(worker: string): string {
    return this.workerRecord(worker).activityName;
  }

  /** Every reservation of a task, oldest first. */
  reservations(task: string): ReservationRecord[] {
    return this.taskRecord(task).reservationSids.map((sid) => this.engine.reservations.get(sid) as ReservationRecord);
  }

  /** `[worker friendly name, status]` of each reservation of a task, oldest first. */
  reservationSummary(task: string): [string, ReservationStatus][] {
    return this.reservations(task).map((r) => [this.workerRecord(r.workerSid).friendlyName, r.reservationStatus]);
  }

  /** The newest reservation of `task` held by `worker`. */
  reservation(task: string, worker: string): ReservationRecord {
    const found = this.reservations(task).filter((r) => r.workerSid === this.$(worker));
    const r = found[found.length - 1];
    assert.ok(r !== undefined, `task ${task} has a reservation for worker ${worker}`);
    return r;
  }

  /** Row input: set the reservation of (task, worker) to a status. */
  setReservation(
    task: string,
    worker: string,
    reservationStatus: Extract<ReservationStatus, 'accepted' | 'rejected' | 'wrapping' | 'completed'>,
    workerActivity?: string,
  ): () => Cmd {
    return () => ({
      type: 'updateReservation',
      reservationSid: this.reservation(task, worker).sid,
      reservationStatus,
      ...(workerActivity === undefined ? {} : { workerActivitySid: this.activity(workerActivity) }),
    });
  }

  /** Row input: accept the reservation of (task, worker). */
  accept(task: string, worker: string): () => Cmd {
    return this.setReservation(task, worker, 'accepted');
  }

  /** Row input: set a task's AssignmentStatus over REST. */
  setStatus(task: string, assignmentStatus: TaskStatus, reason?: string): () => Cmd {
    return () => ({ type: 'updateTask', taskSid: this.$(task), assignmentStatus, ...(reason === undefined ? {} : { reason }) });
  }

  /** Row input: move a worker to an activity. */
  setActivity(worker: string, activity: string, rejectPendingReservations?: boolean): () => Cmd {
    return () => ({
      type: 'updateWorker',
      workerSid: this.$(worker),
      activitySid: this.activity(activity),
      ...(rejectPendingReservations === undefined ? {} : { rejectPendingReservations }),
    });
  }
}

/** A configuration whose only route is the default filter to `queue`. */
export function defaultOnly(queue: string): object {
  return { task_routing: { default_filter: { queue } } };
}

/** A configuration with one filter (`expression`, default `1==1`) and these targets. */
export function oneFilter(targets: object[], expression = '1==1'): object {
  return { task_routing: { filters: [{ filter_friendly_name: 'F', expression, targets }] } };
}
