/**
 * One TaskRouter workspace as a deterministic state machine (DESIGN.md, "How data flows").
 *
 *     const { engine, events } = WorkspaceEngine.create({ friendlyName: 'Support', at, newSid });
 *     const outcome = engine.execute({ type: 'createTask', at, attributes: '{"type":"billing"}' });
 *
 * `execute(command)` first fires every timer due up to `command.at`, then applies the command,
 * then settles routing (every ready worker that can take a waiting task gets a reservation).
 * It returns the events in emission order and, for a refused command, a {@link Rejection}; a
 * refused command changes nothing. The engine never reads a clock, draws a random number or
 * does I/O: time comes with each command and SIDs from the injected generator, so the same
 * commands give the same events byte for byte.
 *
 * Behaviour follows shared/specs/taskrouter-semantics.md; section numbers below refer to it.
 * Our choices where the spec leaves room are listed in docs/compatibility.md.
 */
import type { SidGenerator } from '../util/sid.ts';
import { assert } from '../util/assert.ts';
import type { Command } from './commands.ts';
import type { EngineEvent, EventType, EventValue, ResourceType } from './events.ts';
import { LIMITS } from './limits.ts';
import {
  isOpen,
  isTerminal,
  isWaiting,
  WorkerChannelRecord,
  WorkerRecord,
  type ActivityRecord,
  type QueueOrder,
  type ReservationRecord,
  type ReservationStatus,
  type TaskChannelRecord,
  type TaskRecord,
  type WorkflowRecord,
  type WorkspaceRecord,
} from './model.ts';
import { QueueIndex } from './queue-index.ts';
import { reject, RejectionError, type Rejection } from './rejections.ts';
import { StatisticsRecorder } from './statistics.ts';
import { clonePlain, SNAPSHOT_VERSION, type WorkspaceSnapshot } from './snapshot.ts';
import { TimerQueue, type Timer } from './timers.ts';
import { emitReservation, emitTask, workspaceData } from './event-data.ts';
import {
  activityOrReject,
  channelOrReject,
  checkInteger,
  checkVersion,
  parseAttributes,
  queueOrReject,
  taskOrReject,
  workerOrReject,
  workflowOrReject,
} from './validation.ts';
import {
  addActivity,
  addChannel,
  createActivity,
  createTaskChannel,
  createTaskQueue,
  createWorkflow,
  deleteActivity,
  deleteTaskChannel,
  deleteTaskQueue,
  deleteWorkflow,
  updateActivity,
  updateTaskChannel,
  updateTaskQueue,
  updateWorkflow,
  updateWorkspace,
} from './config-commands.ts';
import { createWorker, deleteWorker, setWorkerActivity, updateWorker, updateWorkerChannel } from './worker-commands.ts';
import { restoreState, saveWorkspace } from './snapshot-restore.ts';
import { advance, enterQueue, reroute, routeFromTop } from './workflow-routing.ts';
import { hasOpenSlot, hasPendingReservationFor, markDirty, refreshWorker, routeNow, settle, unlist } from './matching.ts';

/** What one `execute` or `advanceTo` call produced. */
export interface Outcome {
  /** Events in emission order, timers' events first. */
  events: EngineEvent[];
  /** Set when the command was refused; the command then changed nothing. */
  rejection: Rejection | null;
  /** SID of the resource the command created or addressed, when it has one. */
  sid: string | null;
}

/** Options for a new workspace (spec §1.4, Workspace create parameters). */
export interface CreateWorkspaceOptions {
  friendlyName: string;
  /** Epoch ms. */
  at: number;
  newSid: SidGenerator;
  eventCallbackUrl?: string | null;
  eventsFilter?: string | null;
  multiTaskEnabled?: boolean;
  prioritizeQueueOrder?: QueueOrder;
  /** `FIFO` also creates a queue for every worker and a workflow sending all tasks to it. */
  template?: 'NONE' | 'FIFO';
  /** Extension: false turns automatic matching off (shadow replay); default true. */
  automaticRouting?: boolean;
}

const SEED_CHANNELS = ['default', 'voice', 'chat', 'sms', 'video'] as const;

/**
 * One workspace. The public API is `create`, `restore`, `execute`, `advanceTo`, `nextDeadline`,
 * `snapshot`, `findChannel`, `findWorkerByName` and the record maps (read-only for callers).
 *
 * The engine is split by concern; this class holds the state and the task and reservation
 * lifecycles (spec §5, §6) and timers, and the other concerns are functions of the engine:
 *
 * - config-commands.ts: workspace, activities, task channels, task queues, workflows;
 * - worker-commands.ts: workers and their channels;
 * - workflow-routing.ts: filters and steps (spec §4.2);
 * - matching.ts: ready workers, listed tasks, who gets what (spec §7);
 * - event-data.ts: event data and emit helpers (spec §9.3);
 * - validation.ts: look-ups and input checks;
 * - snapshot-restore.ts: saving and rebuilding the state (format in snapshot.ts).
 *
 * Methods and fields without `private` that the public API above does not list are for those
 * modules only.
 */
export class WorkspaceEngine {
  readonly workspace: WorkspaceRecord;
  readonly activities = new Map<string, ActivityRecord>();
  /** By SID. */
  readonly channels = new Map<string, TaskChannelRecord>();
  /** By dense index (deleted channels stay, flagged). */
  readonly channelList: TaskChannelRecord[] = [];
  readonly queues = new Map<string, QueueIndex>();
  readonly workflows = new Map<string, WorkflowRecord>();
  readonly workers = new Map<string, WorkerRecord>();
  readonly tasks = new Map<string, TaskRecord>();
  readonly reservations = new Map<string, ReservationRecord>();
  readonly statistics: StatisticsRecorder;

  /** The engine's current instant, epoch ms: never goes back. */
  now: number;

  // Internal state: read and written by the engine's modules (see the list above the class),
  // not part of the public API; callers outside src/engine use the records and methods.
  readonly newSid: SidGenerator;
  readonly timers = new TimerQueue();
  readonly workersByName = new Map<string, WorkerRecord>();
  /** Queues whose TargetWorkers read the worker's activity: membership changes with it. */
  readonly activityQueues = new Set<QueueIndex>();
  events: EngineEvent[] = [];
  /**
   * Workers to serve when routing settles, in the order they were first marked (FIFO). An array
   * with a flag on the worker (`queuedToServe`) instead of a Set: marking a worker already queued
   * leaves it in place, and one served and marked again goes to the back, as with a Set, without
   * a hash lookup per mark. A deleted worker stays queued and is skipped when reached.
   */
  dirtyWorkers: WorkerRecord[] = [];
  /** Tasks listed as `direct` (RoutingTarget WK, waiting): while 0, no worker's directTasks need reading. */
  directListed = 0;
  /** Tasks listed in a queue (`waiting`, `restricted` or `known`): while 0, a worker being served has no queue to look in. */
  queueListed = 0;
  /** Listed tasks whose target expression reads `worker.channel.*` (see refreshWorker). */
  channelReadingTasks = 0;

  private constructor(workspace: WorkspaceRecord, newSid: SidGenerator, statistics = new StatisticsRecorder()) {
    this.workspace = workspace;
    this.now = workspace.dateCreated;
    this.newSid = newSid;
    this.statistics = statistics;
  }

  /**
   * Creates a workspace with TaskRouter's seed resources: activities Offline (default and
   * timeout activity), Available and Unavailable, and task channels default, voice, chat, sms
   * and video (spec §1.4). Returns the engine and the creation events.
   */
  static create(options: CreateWorkspaceOptions): { engine: WorkspaceEngine; events: EngineEvent[] } {
    const at = options.at;
    const ws: WorkspaceRecord = {
      sid: options.newSid('WS'),
      friendlyName: options.friendlyName,
      eventCallbackUrl: options.eventCallbackUrl ?? null,
      eventsFilter: options.eventsFilter ?? null,
      defaultActivitySid: '',
      timeoutActivitySid: '',
      multiTaskEnabled: options.multiTaskEnabled ?? true,
      prioritizeQueueOrder: options.prioritizeQueueOrder ?? 'FIFO',
      automaticRouting: options.automaticRouting ?? true,
      dateCreated: at,
      dateUpdated: at,
    };
    const engine = new WorkspaceEngine(ws, options.newSid);
    engine.emit('workspace.created', 'workspace', ws.sid, workspaceData(engine));
    const offline = addActivity(engine, 'Offline', false);
    addActivity(engine, 'Available', true);
    addActivity(engine, 'Unavailable', false);
    ws.defaultActivitySid = offline.sid;
    ws.timeoutActivitySid = offline.sid;
    for (const name of SEED_CHANNELS) addChannel(engine, name, name, false);
    if (options.template === 'FIFO') {
      const q = engine.run({ type: 'createTaskQueue', at, friendlyName: 'Sample Queue', targetWorkers: '1==1' });
      engine.run({
        type: 'createWorkflow',
        at,
        friendlyName: 'Default Fifo Workflow',
        configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: q } } }),
      });
    }
    return { engine, events: engine.takeEvents() };
  }

  // ───────────────────────────── snapshot and restore ─────────────────────────────

  /** The whole workspace as plain data (see snapshot.ts). The engine stays usable. */
  snapshot(): WorkspaceSnapshot {
    return saveWorkspace(this);
  }

  /**
   * Rebuilds an engine from a snapshot. With the same SID generator state it behaves exactly
   * as the engine the snapshot was taken from. Throws if the snapshot is of another version.
   */
  static restore(snapshot: WorkspaceSnapshot, newSid: SidGenerator): WorkspaceEngine {
    if (snapshot.version !== SNAPSHOT_VERSION) throw new Error(`snapshot version ${String(snapshot.version)} is not supported`);
    const s = clonePlain(snapshot);
    const engine = new WorkspaceEngine(s.workspace, newSid, StatisticsRecorder.load(s.statistics));
    restoreState(engine, s);
    return engine;
  }

  // ───────────────────────────── driving ─────────────────────────────

  /**
   * Fires every timer due at or before `at` (epoch ms), then executes the command. Never throws
   * for bad input: a refusal comes back as `outcome.rejection` and changes nothing.
   */
  execute(command: Command): Outcome {
    this.fireTimersUntil(command.at);
    let sid: string | null;
    try {
      sid = this.apply(command);
    } catch (error) {
      if (error instanceof RejectionError) return { events: this.takeEvents(), rejection: error.rejection, sid: null };
      throw error;
    }
    settle(this);
    return { events: this.takeEvents(), rejection: null, sid };
  }

  /** Fires every timer due at or before `at` (epoch ms). Same as executing a `tick`. */
  advanceTo(at: number): Outcome {
    return this.execute({ type: 'tick', at });
  }

  /** When the next timer is due (epoch ms), or null: the driver's cue to call `advanceTo`. */
  nextDeadline(): number | null {
    return this.timers.nextDueAt();
  }

  /** Runs a command that must succeed (seeding, templates); a rejection here is a bug. */
  private run(command: Command): string {
    const sid = this.apply(command);
    settle(this);
    assert(sid !== null, `${command.type} returned no SID`);
    return sid;
  }

  private takeEvents(): EngineEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  private fireTimersUntil(at: number): void {
    if (at > this.now) {
      let timer: Timer | undefined;
      while ((timer = this.timers.popDue(at)) !== undefined) {
        this.now = Math.max(this.now, timer.at);
        this.fire(timer);
        settle(this);
      }
      this.now = at;
    }
    const liveBound = 3 * this.tasks.size + this.reservations.size;
    if (this.timers.size > 2 * liveBound + 1024) this.timers.compact((t) => this.isTimerLive(t));
  }

  private apply(command: Command): string | null {
    switch (command.type) {
      case 'tick':
        return null;
      case 'updateWorkspace':
        return updateWorkspace(this, command);
      case 'createActivity':
        return createActivity(this, command);
      case 'updateActivity':
        return updateActivity(this, command);
      case 'deleteActivity':
        return deleteActivity(this, command);
      case 'createTaskChannel':
        return createTaskChannel(this, command);
      case 'updateTaskChannel':
        return updateTaskChannel(this, command);
      case 'deleteTaskChannel':
        return deleteTaskChannel(this, command);
      case 'createTaskQueue':
        return createTaskQueue(this, command);
      case 'updateTaskQueue':
        return updateTaskQueue(this, command);
      case 'deleteTaskQueue':
        return deleteTaskQueue(this, command);
      case 'createWorkflow':
        return createWorkflow(this, command);
      case 'updateWorkflow':
        return updateWorkflow(this, command);
      case 'deleteWorkflow':
        return deleteWorkflow(this, command);
      case 'createWorker':
        return createWorker(this, command);
      case 'updateWorker':
        return updateWorker(this, command);
      case 'deleteWorker':
        return deleteWorker(this, command);
      case 'updateWorkerChannel':
        return updateWorkerChannel(this, command);
      case 'createTask':
        return this.createTask(command);
      case 'updateTask':
        return this.updateTask(command);
      case 'deleteTask':
        return this.deleteTask(command);
      case 'updateReservation':
        return this.updateReservation(command);
      case 'offerTask':
        return this.offerTask(command);
    }
  }

  // ───────────────────────────── events ─────────────────────────────

  /** Emits an event; `worker`, for a reservation event, is its worker (statistics keep a slot on it). */
  emit(eventType: EventType, resourceType: ResourceType, resourceSid: string, data: Record<string, EventValue>, worker?: WorkerRecord): void {
    const event: EngineEvent = { sid: this.newSid('EV'), eventType, at: this.now, resourceType, resourceSid, data };
    this.events.push(event);
    this.statistics.record(event, worker);
  }

  // ───────────────────────────── lookups ─────────────────────────────

  /** A task channel by SID or unique name (spec §1.2). */
  findChannel(ref: string): TaskChannelRecord | undefined {
    const bySid = this.channels.get(ref);
    if (bySid !== undefined) return bySid.deleted ? undefined : bySid;
    for (const c of this.channelList) if (!c.deleted && c.uniqueName === ref) return c;
    return undefined;
  }

  /** Looks a worker up by friendly name, case-insensitively (spec §1.4). */
  findWorkerByName(name: string): WorkerRecord | undefined {
    return this.workersByName.get(name.toLowerCase());
  }

  // Workspace, activity, task channel, task queue and workflow commands: config-commands.ts.
  // Worker commands: worker-commands.ts.

  // ───────────────────────────── tasks ─────────────────────────────

  private createTask(c: Extract<Command, { type: 'createTask' }>): string {
    const attributesJson = c.attributes ?? '{}';
    const attributes = parseAttributes(attributesJson);
    if (c.priority !== undefined) checkInteger(c.priority, 'Priority', 0, LIMITS.taskPriorityMax);
    if (c.timeoutS !== undefined) checkInteger(c.timeoutS, 'Timeout', 1, LIMITS.taskTimeoutMaxS);
    const channel = channelOrReject(this, c.taskChannel ?? 'default', 'TaskChannel');
    if (c.virtualStartTime !== undefined) {
      if (!Number.isFinite(c.virtualStartTime) || c.virtualStartTime > this.now || c.virtualStartTime < -2_208_988_800_000) {
        reject('invalid_parameter', 'VirtualStartTime must be a date between 1900 and now', 'VirtualStartTime');
      }
    }
    // Where the task goes: a worker, a queue, or a workflow (spec §5.1 RoutingTarget).
    let workflowSid: string | null = null;
    let queueSid: string | null = null;
    let workerTarget: string | null = null;
    const target = c.routingTarget ?? (c.taskQueueSid !== undefined ? c.taskQueueSid : undefined);
    const field = c.routingTarget !== undefined ? 'RoutingTarget' : 'TaskQueueSid';
    if (target !== undefined) {
      const prefix = target.slice(0, 2);
      if (prefix === 'WK') workerTarget = workerOrReject(this, target, field).sid;
      else if (prefix === 'WQ') queueSid = queueOrReject(this, target, field).record.sid;
      else if (prefix === 'WW') workflowSid = workflowOrReject(this, target, field).sid;
      else reject('invalid_parameter', `${field} must be a Worker (WK), TaskQueue (WQ) or Workflow (WW) SID`, field);
    }
    if (c.workflowSid !== undefined) {
      const wf = workflowOrReject(this, c.workflowSid);
      if (workflowSid !== null && workflowSid !== wf.sid) reject('invalid_parameter', 'WorkflowSid and RoutingTarget name different workflows', 'WorkflowSid');
      workflowSid = wf.sid;
    }
    if (workflowSid === null && queueSid === null && workerTarget === null) {
      if (this.workflows.size !== 1) {
        reject('invalid_parameter', `WorkflowSid is required: the workspace has ${this.workflows.size} workflows`, 'WorkflowSid');
      }
      workflowSid = this.workflows.keys().next().value as string;
    }
    if (c.ignoreCapacity !== undefined && workerTarget === null) {
      reject('invalid_parameter', 'IgnoreCapacity applies only with a worker (WK) RoutingTarget', 'IgnoreCapacity');
    }
    if (this.tasks.size >= LIMITS.tasks) reject('limit_exceeded', `A workspace holds at most ${LIMITS.tasks} tasks`);

    const priority = c.priority ?? 0;
    const task: TaskRecord = {
      sid: this.newSid('WT'),
      attributesJson,
      assignmentStatus: 'pending',
      priority,
      basePriority: priority,
      timeoutS: c.timeoutS ?? LIMITS.taskTimeoutDefaultS,
      reason: null,
      taskQueueSid: null,
      taskQueueEnteredAt: null,
      workflowSid,
      taskChannelSid: channel.sid,
      virtualStartTime: c.virtualStartTime ?? this.now,
      routingTarget: c.routingTarget ?? null,
      ignoreCapacity: workerTarget !== null ? (c.ignoreCapacity ?? true) : false,
      addons: '{}',
      dateCreated: this.now,
      dateUpdated: this.now,
      version: 0,
      routing: { filterIndex: null, stepIndex: 0, filterEnteredAt: this.now, stepDeadlineAt: null, stepExpired: false },
      reservationCycles: 0,
      reservationSids: [],
      lastReservation: null,
      statusChangedAt: this.now,
      attributes,
      pendingReservations: 0,
      stamp: 0,
      restriction: null,
      listedIn: null,
      listedChannel: channel.index,
      queueList: null,
      queuePrev: null,
      queueNext: null,
      statusTimer: null,
    };
    this.tasks.set(task.sid, task);
    emitTask(this, 'task.created', task);
    this.setStatusTimer(task, this.ttlAt(task), 'taskTtl');
    this.startRouting(task, workerTarget, queueSid);
    return task.sid;
  }

  ttlAt(task: TaskRecord): number {
    return task.dateCreated + task.timeoutS * 1000;
  }

  /**
   * Schedules the timer of the task's (new) status and cancels the previous one, which can no
   * longer fire: a task never returns to a status it left. Lazy cancellation would keep the
   * one-day TTL and assignment limit of every task, almost never due, queued for a compaction.
   */
  setStatusTimer(task: TaskRecord, at: number, kind: 'taskTtl' | 'assignedLimit' | 'purge'): void {
    task.statusTimer = task.statusTimer === null ? this.timers.schedule(at, kind, task.sid, task) : this.timers.reschedule(task.statusTimer, at, kind);
  }

  private startRouting(task: TaskRecord, workerTarget: string | null, queueSid: string | null): void {
    if (workerTarget !== null) {
      routeNow(this, task);
    } else if (queueSid !== null) {
      enterQueue(this, task, queueSid);
      routeNow(this, task);
    } else {
      emitTask(this, 'workflow.entered', task, null);
      routeFromTop(this, task);
    }
  }

  touchTask(task: TaskRecord): void {
    task.version += 1;
    task.dateUpdated = this.now;
  }

  private updateTask(c: Extract<Command, { type: 'updateTask' }>): string {
    const task = taskOrReject(this, c.taskSid);
    checkVersion(c.ifMatch, task.version, `Task ${task.sid}`);
    const status = task.assignmentStatus;
    const changesFields = c.attributes !== undefined || c.priority !== undefined || c.taskChannel !== undefined || c.virtualStartTime !== undefined;
    if (changesFields && isTerminal(status)) reject('invalid_state', `Task ${task.sid} is ${status} and can no longer change`);
    const attributes = c.attributes !== undefined ? parseAttributes(c.attributes) : null;
    if (c.priority !== undefined) checkInteger(c.priority, 'Priority', 0, LIMITS.taskPriorityMax);
    const channel = c.taskChannel !== undefined ? channelOrReject(this, c.taskChannel, 'TaskChannel') : null;
    if (c.virtualStartTime !== undefined && (!Number.isFinite(c.virtualStartTime) || c.virtualStartTime > this.now)) {
      reject('invalid_parameter', 'VirtualStartTime must not be in the future', 'VirtualStartTime');
    }
    if (c.assignmentStatus !== undefined) this.checkStatusChange(task, c.assignmentStatus);

    if (changesFields) {
      const rerouteNeeded = isWaiting(status) && (attributes !== null || (channel !== null && channel.sid !== task.taskChannelSid));
      if (isWaiting(status)) unlist(this, task);
      if (attributes !== null && c.attributes !== undefined) {
        task.attributesJson = c.attributes;
        task.attributes = attributes;
      }
      if (c.priority !== undefined) {
        task.priority = c.priority;
        task.basePriority = c.priority;
      }
      if (channel !== null) task.taskChannelSid = channel.sid;
      if (c.virtualStartTime !== undefined) task.virtualStartTime = c.virtualStartTime;
      this.touchTask(task);
      emitTask(this, 'task.updated', task);
      if (rerouteNeeded) reroute(this, task);
      else if (isWaiting(status)) routeNow(this, task);
    }
    if (c.assignmentStatus !== undefined && c.assignmentStatus !== task.assignmentStatus) {
      if (c.reason !== undefined) task.reason = c.reason;
      if (c.assignmentStatus === 'canceled') this.cancelTask(task, c.reason ?? null);
      else if (c.assignmentStatus === 'wrapping') this.wrapTask(task);
      else this.completeTask(task, c.reason ?? null);
    }
    return task.sid;
  }

  /** Validates a requested AssignmentStatus against the task's status (spec §5.2 rules). */
  private checkStatusChange(task: TaskRecord, to: string): void {
    const from = task.assignmentStatus;
    // No idempotent repeats: canceling a canceled task or completing a completed one is a 400
    // like any other change to a terminal task (spec §5.2 rules).
    switch (to) {
      case 'canceled':
        if (!isWaiting(from)) reject('invalid_state', `Cannot cancel task ${task.sid} because it is not pending or reserved (it is ${from})`, 'AssignmentStatus');
        return;
      case 'wrapping':
        if (from !== 'assigned') reject('invalid_state', `Cannot wrap up task ${task.sid} because it's not currently assigned (it is ${from})`, 'AssignmentStatus');
        return;
      case 'completed':
        if (from !== 'assigned' && from !== 'wrapping') {
          reject('invalid_state', `Cannot complete task ${task.sid} because it is not assigned or wrapping (it is ${from})`, 'AssignmentStatus');
        }
        return;
      default:
        reject('invalid_parameter', `AssignmentStatus can be set to canceled, wrapping or completed, not ${to}`, 'AssignmentStatus');
    }
  }

  private deleteTask(c: Extract<Command, { type: 'deleteTask' }>): string {
    const task = taskOrReject(this, c.taskSid);
    checkVersion(c.ifMatch, task.version, `Task ${task.sid}`);
    unlist(this, task);
    for (const r of this.openReservationsOf(task)) {
      if (r.reservationStatus === 'pending') this.endReservation(r, 'canceled', null, false);
      else this.releaseReservation(r);
    }
    emitTask(this, 'task.deleted', task);
    this.removeTask(task);
    return task.sid;
  }

  /** Drops a task and its reservations from the state (delete, purge). */
  private removeTask(task: TaskRecord): void {
    unlist(this, task);
    // A terminal task left its queue when it ended (cancelTask, completeTask).
    if (!isTerminal(task.assignmentStatus)) this.leaveQueue(task);
    // A terminal task holds no open reservation (completing releases the accepted one, and only a
    // task without one can be canceled): its reservations need no look-up before they go.
    const terminal = isTerminal(task.assignmentStatus);
    for (const rsid of task.reservationSids) {
      const r = terminal ? undefined : this.reservations.get(rsid);
      if (r !== undefined && isOpen(r.reservationStatus)) {
        this.stopReservationTimer(r);
        this.releaseReservation(r);
      }
      this.reservations.delete(rsid);
    }
    if (task.statusTimer !== null) this.timers.cancel(task.statusTimer);
    task.statusTimer = null;
    this.tasks.delete(task.sid);
  }

  *openReservationsOf(task: TaskRecord): Generator<ReservationRecord> {
    for (const rsid of [...task.reservationSids]) {
      const r = this.reservations.get(rsid);
      if (r !== undefined && isOpen(r.reservationStatus)) yield r;
    }
  }

  /** Ends a task as canceled (spec §5.2): open reservations are canceled first. */
  cancelTask(task: TaskRecord, reason: string | null): void {
    assert(isWaiting(task.assignmentStatus), `cancel from ${task.assignmentStatus}`);
    unlist(this, task);
    for (const r of this.openReservationsOf(task)) this.endReservation(r, 'canceled', null, false);
    task.assignmentStatus = 'canceled';
    task.reason = reason;
    task.statusChangedAt = this.now;
    this.touchTask(task);
    emitTask(this, 'task.canceled', task);
    this.leaveQueue(task);
    this.setStatusTimer(task, this.now + LIMITS.terminalRetentionMs, 'purge');
  }

  private acceptedReservation(task: TaskRecord): ReservationRecord {
    // The last reservation first, without a look-up: usually the only one.
    const last = task.lastReservation;
    if (last !== null && (last.reservationStatus === 'accepted' || last.reservationStatus === 'wrapping')) return last;
    for (let i = task.reservationSids.length - 2; i >= 0; i--) {
      const r = this.reservations.get(task.reservationSids[i] as string);
      if (r !== undefined && (r.reservationStatus === 'accepted' || r.reservationStatus === 'wrapping')) return r;
    }
    throw new Error(`task ${task.sid} is ${task.assignmentStatus} without an accepted reservation`);
  }

  private wrapTask(task: TaskRecord): void {
    const r = this.acceptedReservation(task);
    task.assignmentStatus = 'wrapping';
    this.touchTask(task);
    r.reservationStatus = 'wrapping';
    r.dateUpdated = this.now;
    emitTask(this, 'task.wrapup', task);
    emitReservation(this, 'reservation.wrapup', r, task, r.worker as WorkerRecord);
  }

  private completeTask(task: TaskRecord, reason: string | null): void {
    const r = this.acceptedReservation(task);
    const w = r.worker as WorkerRecord;
    task.assignmentStatus = 'completed';
    task.reason = reason;
    task.statusChangedAt = this.now;
    this.touchTask(task);
    this.releaseReservation(r);
    r.reservationStatus = 'completed';
    r.dateUpdated = this.now;
    emitTask(this, 'task.completed', task);
    emitReservation(this, 'reservation.completed', r, task, w);
    this.leaveQueue(task);
    this.setStatusTimer(task, this.now + LIMITS.terminalRetentionMs, 'purge');
  }

  /** Frees the worker capacity an open reservation holds (its status is set by the caller). */
  private releaseReservation(r: ReservationRecord): void {
    const w = r.worker;
    if (w === null || !w.openReservations.delete(r.sid)) return;
    const ch = r.workerChannel as WorkerChannelRecord;
    ch.activeTasks -= 1;
    if (r.reservationStatus === 'accepted' || r.reservationStatus === 'wrapping') ch.assignedTasks -= 1;
    refreshWorker(this, w, -1, ch.channelIndex);
  }

  leaveQueue(task: TaskRecord): void {
    // The list it is in is that of its queue (taskQueueSid): no look-up of the queue by SID.
    task.queueList?.delete(task);
  }

  // ───────────────────────────── reservations ─────────────────────────────

  private updateReservation(c: Extract<Command, { type: 'updateReservation' }>): string {
    const r = this.reservations.get(c.reservationSid);
    if (r === undefined || (c.taskSid !== undefined && r.taskSid !== c.taskSid) || (c.workerSid !== undefined && r.workerSid !== c.workerSid)) {
      reject('not_found', `Reservation ${c.reservationSid} was not found`, 'ReservationSid');
    }
    const task = r.task;
    checkVersion(c.ifMatch, task.version, `Task ${task.sid}`);
    const status = r.reservationStatus;
    switch (c.reservationStatus) {
      case 'accepted':
      case 'rejected': {
        if (status !== 'pending') {
          reject('reservation_not_pending', `Reservation ${r.sid} is ${status}, not pending, so it can no longer be ${c.reservationStatus}`, 'ReservationStatus');
        }
        if (c.reservationStatus === 'accepted') {
          this.acceptReservation(r, task);
        } else {
          const activity = c.workerActivitySid !== undefined ? activityOrReject(this, c.workerActivitySid, 'WorkerActivitySid').sid : null;
          this.endReservation(r, 'rejected', activity);
        }
        return r.sid;
      }
      case 'wrapping':
        if (status !== 'accepted') reject('invalid_state', `Reservation ${r.sid} is ${status}; only an accepted reservation can wrap up`, 'ReservationStatus');
        this.wrapTask(task);
        return r.sid;
      case 'completed':
        if (status !== 'accepted' && status !== 'wrapping') {
          reject('invalid_state', `Reservation ${r.sid} is ${status}; only an accepted or wrapping reservation can complete`, 'ReservationStatus');
        }
        this.completeTask(task, null);
        return r.sid;
      default:
        reject('invalid_parameter', `ReservationStatus must be accepted, rejected, wrapping or completed`, 'ReservationStatus');
    }
  }

  private offerTask(c: Extract<Command, { type: 'offerTask' }>): string {
    const task = taskOrReject(this, c.taskSid);
    const w = workerOrReject(this, c.workerSid);
    if (!isWaiting(task.assignmentStatus)) {
      reject('invalid_state', `Task ${task.sid} is ${task.assignmentStatus}; only a pending or reserved task can be offered`, 'TaskSid');
    }
    if (hasPendingReservationFor(this, task, w)) reject('invalid_state', `Worker ${w.friendlyName} already holds a pending reservation for task ${task.sid}`, 'WorkerSid');
    unlist(this, task);
    this.createReservation(task, w);
    return task.reservationSids[task.reservationSids.length - 1] as string;
  }

  createReservation(task: TaskRecord, w: WorkerRecord): void {
    const channel = this.channels.get(task.taskChannelSid) as TaskChannelRecord;
    const ch = w.channels[channel.index] as WorkerChannelRecord;
    const workflow = task.workflowSid === null ? undefined : this.workflows.get(task.workflowSid);
    const timeoutS = workflow?.taskReservationTimeoutS ?? LIMITS.defaultReservationTimeoutS;
    const r: ReservationRecord = {
      sid: this.newSid('WR'),
      taskSid: task.sid,
      workerSid: w.sid,
      reservationStatus: 'pending',
      taskQueueSid: task.taskQueueSid,
      workflowSid: task.workflowSid,
      taskChannelSid: channel.sid,
      dateCreated: this.now,
      dateUpdated: this.now,
      timeoutAt: this.now + timeoutS * 1000,
      previousActivitySid: null,
      timer: null,
      worker: w,
      workerChannel: ch,
      task,
    };
    this.reservations.set(r.sid, r);
    // The first SID gets an array of its own size: a push onto the empty array would allocate
    // room for 16, kept for as long as the task (most tasks have one reservation).
    if (task.reservationSids.length === 0) task.reservationSids = [r.sid];
    else task.reservationSids.push(r.sid);
    task.lastReservation = r;
    task.pendingReservations += 1;
    if (task.assignmentStatus === 'pending') {
      task.assignmentStatus = 'reserved';
      task.reservationCycles += 1;
      this.touchTask(task);
    }
    w.openReservations.add(r.sid);
    ch.activeTasks += 1;
    ch.lastReservedAt = this.now;
    emitReservation(this, 'reservation.created', r, task, w);
    r.timer = this.timers.schedule(r.timeoutAt, 'reservationTimeout', r.sid, r);
    const q = task.taskQueueSid === null ? undefined : this.queues.get(task.taskQueueSid);
    const reservationActivity = q?.record.reservationActivitySid ?? null;
    if (reservationActivity !== null && reservationActivity !== w.activitySid) {
      r.previousActivitySid = w.activitySid;
      setWorkerActivity(this, w, reservationActivity);
    }
    refreshWorker(this, w, channel.index, channel.index);
    if (!hasOpenSlot(this, task)) unlist(this, task);
  }

  private acceptReservation(r: ReservationRecord, task: TaskRecord): void {
    const w = r.worker as WorkerRecord;
    unlist(this, task);
    this.stopReservationTimer(r);
    r.reservationStatus = 'accepted';
    r.dateUpdated = this.now;
    task.pendingReservations -= 1;
    (r.workerChannel as WorkerChannelRecord).assignedTasks += 1;
    task.assignmentStatus = 'assigned';
    task.statusChangedAt = this.now;
    this.touchTask(task);
    emitReservation(this, 'reservation.accepted', r, task, w);
    if (this.channelReadingTasks > 0) markDirty(this, w, -1);
    if (task.pendingReservations > 0) {
      for (const other of this.openReservationsOf(task)) {
        if (other.reservationStatus === 'pending') this.endReservation(other, 'rescinded', null, false);
      }
    }
    const q = r.taskQueueSid === null ? undefined : this.queues.get(r.taskQueueSid);
    const assignmentActivity = q?.record.assignmentActivitySid ?? null;
    if (assignmentActivity !== null) setWorkerActivity(this, w, assignmentActivity);
    this.setStatusTimer(task, this.now + LIMITS.assignedRetentionMs, 'assignedLimit');
  }

  /**
   * Cancels the timeout of a reservation that stops being pending: it could never fire again
   * (a reservation does not return to pending), and most reservations are accepted long before
   * their timeout, which would otherwise stay queued until then.
   */
  private stopReservationTimer(r: ReservationRecord): void {
    if (r.timer === null) return;
    this.timers.cancel(r.timer);
    r.timer = null;
  }

  /**
   * Ends a pending reservation unaccepted (spec §6): rejected, timeout, canceled or rescinded.
   * Moves the worker as the spec says and, when `continueRouting`, sends the task back to
   * matching once no reservation of it is pending (spec §4.4: retry in the current step).
   */
  endReservation(
    r: ReservationRecord,
    status: Extract<ReservationStatus, 'rejected' | 'timeout' | 'canceled' | 'rescinded'>,
    activitySid: string | null,
    continueRouting = true,
  ): void {
    assert(r.reservationStatus === 'pending', `end ${r.reservationStatus} reservation`);
    const task = r.task;
    const w = r.worker as WorkerRecord;
    this.stopReservationTimer(r);
    r.reservationStatus = status;
    r.dateUpdated = this.now;
    task.pendingReservations -= 1;
    w.openReservations.delete(r.sid);
    (r.workerChannel as WorkerChannelRecord).activeTasks -= 1;
    emitReservation(this, `reservation.${status}`, r, task, w);
    if (status === 'timeout') {
      setWorkerActivity(this, w, this.workspace.timeoutActivitySid);
    } else if (activitySid !== null) {
      setWorkerActivity(this, w, activitySid);
    } else if (r.previousActivitySid !== null && this.activities.has(r.previousActivitySid)) {
      const q = r.taskQueueSid === null ? undefined : this.queues.get(r.taskQueueSid);
      if (q === undefined || w.activitySid === q.record.reservationActivitySid) setWorkerActivity(this, w, r.previousActivitySid);
    }
    refreshWorker(this, w);
    if (continueRouting) this.resumeRouting(task);
  }

  /**
   * After a reservation of a reserved task ended unaccepted: back to pending once none is
   * pending, then retry the current step (spec §4.4), or advance if its deadline passed.
   */
  resumeRouting(task: TaskRecord): void {
    if (task.pendingReservations > 0 || task.assignmentStatus !== 'reserved') {
      if (task.assignmentStatus === 'reserved') routeNow(this, task);
      return;
    }
    task.assignmentStatus = 'pending';
    this.touchTask(task);
    if (task.reservationCycles >= LIMITS.reservationCycles) {
      this.cancelTask(task, 'Task TTL Exceeded or Max assignment count exceeded');
    } else if (task.routing.stepExpired) {
      advance(this, task, 'timeout');
    } else {
      routeNow(this, task);
    }
  }

  // Workflow routing (spec §4.2): workflow-routing.ts. Matching (spec §7): matching.ts.

  // ───────────────────────────── timers ─────────────────────────────

  /**
   * Can this timer still act? A reservation's timeout and a task's status timer are live while
   * their record still holds them (they are dropped from the record when they stop mattering,
   * and when the record is removed); a step deadline while the task waits in that step.
   */
  private isTimerLive(t: Timer): boolean {
    switch (t.kind) {
      case 'reservationTimeout':
        return (t.owner as ReservationRecord).timer === t;
      case 'stepTimeout': {
        const task = t.owner as TaskRecord;
        return this.tasks.get(t.sid) === task && isWaiting(task.assignmentStatus) && task.routing.stepDeadlineAt === t.at && !task.routing.stepExpired;
      }
      case 'taskTtl':
      case 'assignedLimit':
      case 'purge':
        return (t.owner as TaskRecord).statusTimer === t;
    }
  }

  private fire(t: Timer): void {
    if (!this.isTimerLive(t)) return;
    switch (t.kind) {
      case 'reservationTimeout':
        this.endReservation(t.owner as ReservationRecord, 'timeout', null);
        return;
      case 'stepTimeout': {
        const task = t.owner as TaskRecord;
        if (task.pendingReservations > 0) {
          // Acted on once the reservations end unaccepted (spec §5.2).
          task.routing.stepExpired = true;
          unlist(this, task);
        } else {
          advance(this, task, 'timeout');
        }
        return;
      }
      case 'taskTtl': {
        const task = t.owner as TaskRecord;
        this.cancelTask(task, 'Task TTL Exceeded');
        return;
      }
      case 'assignedLimit':
      case 'purge': {
        const task = t.owner as TaskRecord;
        emitTask(this, 'task.system-deleted', task);
        this.removeTask(task);
        return;
      }
    }
  }
}
