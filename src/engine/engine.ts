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
import { compareWorkersByOrderBy } from '../expr/index.ts';
import type { SidGenerator } from '../util/sid.ts';
import { assert } from '../util/assert.ts';
import type { Command } from './commands.ts';
import type { EngineEvent, EventType, EventValue, ResourceType } from './events.ts';
import { LIMITS } from './limits.ts';
import {
  isOpen,
  isTerminal,
  isWaiting,
  removeItem,
  WorkerChannelRecord,
  WorkerRecord,
  type ActivityRecord,
  type QueueOrder,
  type ReservationRecord,
  type ReservationStatus,
  type StepRestriction,
  type TaskChannelRecord,
  type TaskRecord,
  type WorkflowRecord,
  type WorkspaceRecord,
} from './model.ts';
import { fifoBefore, lifoBefore, QueueIndex, readyBefore, readyEntryOf, type ReadyEntry, type WaitingEntry } from './queue-index.ts';
import { reject, RejectionError, type Rejection } from './rejections.ts';
import { StatisticsRecorder } from './statistics.ts';
import { clonePlain, SNAPSHOT_VERSION, type WorkspaceSnapshot } from './snapshot.ts';
import { TimerQueue, type Timer } from './timers.ts';
import { addQueueData, addWorkflowData, emitReservation, emitTask, routedTaskData, taskData, workspaceData } from './event-data.ts';
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
import type { RoutingPlan, RoutingStep } from './workflow-config.ts';

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

/** Read instead of a worker's directTasks while no task is listed as direct (not written to). */
const NO_TASK_SIDS: ReadonlySet<string> = new Set();
const SEED_CHANNELS = ['default', 'voice', 'chat', 'sms', 'video'] as const;

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
    this.settle();
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
  run(command: Command): string {
    const sid = this.apply(command);
    this.settle();
    assert(sid !== null, `${command.type} returned no SID`);
    return sid;
  }

  takeEvents(): EngineEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  fireTimersUntil(at: number): void {
    if (at > this.now) {
      let timer: Timer | undefined;
      while ((timer = this.timers.popDue(at)) !== undefined) {
        this.now = Math.max(this.now, timer.at);
        this.fire(timer);
        this.settle();
      }
      this.now = at;
    }
    const liveBound = 3 * this.tasks.size + this.reservations.size;
    if (this.timers.size > 2 * liveBound + 1024) this.timers.compact((t) => this.isTimerLive(t));
  }

  apply(command: Command): string | null {
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

  // ───────────────────────────── lookups and validation ─────────────────────────────

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

  // ───────────────────────────── workspace, activities, channels ─────────────────────────────

  // ───────────────────────────── task queues ─────────────────────────────

  // ───────────────────────────── workflows ─────────────────────────────

  // ───────────────────────────── workers ─────────────────────────────

  /** Re-evaluates one queue's TargetWorkers for one worker and updates the indexes. */
  updateMembership(w: WorkerRecord, q: QueueIndex): void {
    const member = q.expression !== null && q.expression.evaluate({ nowMs: this.now, worker: w });
    const was = q.members.has(w);
    if (member === was) return;
    if (member) {
      q.addMember(w);
      w.queues.add(q.record.sid);
      w.queueIndexes.push(q);
      if (q.indexed) {
        for (const ch of w.channels) {
          // Only an entry already published elsewhere; an unpublished one reaches every member
          // queue, this one included, when the worker has been served (publishReady).
          if (ch.ready && ch.publishedStamp === ch.stamp) {
            q.pushReady(readyEntryOf(w, ch));
          }
        }
      }
      this.markDirty(w, -1);
    } else {
      q.removeMember(w);
      w.queues.delete(q.record.sid);
      removeItem(w.queueIndexes, q);
      if (q.indexed) this.restampReady(w);
    }
  }

  /**
   * After a worker left an indexed queue: its published ready entries, shared by every member
   * queue's heap, go stale (new stamps) and fresh ones go to the queues it is still in. That way
   * an entry is live by its stamp alone (QueueIndex.isReadyEntryLive), without a membership
   * lookup for every entry a heap pops. The live entries of the other queues keep their keys,
   * so their order is unchanged.
   */
  restampReady(w: WorkerRecord): void {
    for (const ch of w.channels) {
      if (!ch.ready || ch.publishedStamp !== ch.stamp) continue;
      ch.stamp += 1;
      ch.publishedStamp = ch.stamp;
      const entry = readyEntryOf(w, ch);
      for (const q of w.queueIndexes) {
        if (q.indexed) q.pushReady(entry);
      }
    }
  }

  /**
   * Recomputes a worker's readiness per channel (spec §7.2 rules 3–5) and, where it is ready
   * with a new rank, publishes a ready entry to every indexed member queue. `repushChannel`
   * forces a new entry on that channel (after its entry was taken from a heap).
   *
   * `countsChangedOn` (≥ 0) says that only that channel's task counts and the worker's open
   * reservations changed since the worker was last refreshed. Another channel then depends on
   * the change only through the worker's total, that is with single-tasking or channel-optimized
   * routing; the others are skipped without being read (a cache miss each, for a worker served
   * long ago).
   */
  refreshWorker(w: WorkerRecord, repushChannel = -1, countsChangedOn = -1): void {
    const total = w.openReservations.size;
    const singleTasking = !this.workspace.multiTaskEnabled;
    const singleBusy = singleTasking && total > 0;
    const channels = w.channels;
    for (let i = 0; i < channels.length; i++) {
      const tc = this.channelList[i] as TaskChannelRecord;
      if (countsChangedOn >= 0 && i !== countsChangedOn && !singleTasking && !tc.channelOptimizedRouting) continue;
      const ch = channels[i] as WorkerChannelRecord;
      const ready = !tc.deleted && w.activityAvailable && ch.available && ch.activeTasks < ch.configuredCapacity && !singleBusy;
      if (!ready && !ch.ready) continue;
      const busy = tc.channelOptimizedRouting && total > 0 ? 1 : 0;
      const idleSince = ch.lastReservedAt ?? w.dateCreated;
      const repush = ch.channelIndex === repushChannel;
      if (ready && ch.ready && !repush && busy === ch.rankBusy && idleSince === ch.rankIdleSince) continue;
      ch.stamp += 1;
      ch.ready = ready;
      ch.rankBusy = busy;
      ch.rankIdleSince = idleSince;
      // Published to the queues' ready heaps once the worker has been served (publishReady):
      // a worker that takes a waiting task at once never enters a heap.
      if (ready) this.markDirty(w, ch.channelIndex);
    }
    // Waiting tasks whose target expression reads `worker.channel.*` may have become eligible on
    // any channel when this worker's counts changed.
    if ((this.directListed > 0 && w.directTasks.size > 0) || this.channelReadingTasks > 0) this.markDirty(w, -1);
  }

  /** Queues the worker for serving on a channel (-1: every channel) when routing settles. */
  markDirty(w: WorkerRecord, channel: number): void {
    w.dirtyChannels |= channel < 0 || channel > 30 ? -1 : 1 << channel;
    if (!w.queuedToServe) {
      w.queuedToServe = true;
      this.dirtyWorkers.push(w);
    }
  }

  // ───────────────────────────── tasks ─────────────────────────────

  createTask(c: Extract<Command, { type: 'createTask' }>): string {
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

  startRouting(task: TaskRecord, workerTarget: string | null, queueSid: string | null): void {
    if (workerTarget !== null) {
      this.routeNow(task);
    } else if (queueSid !== null) {
      this.enterQueue(task, queueSid);
      this.routeNow(task);
    } else {
      emitTask(this, 'workflow.entered', task, null);
      this.routeFromTop(task);
    }
  }

  touchTask(task: TaskRecord): void {
    task.version += 1;
    task.dateUpdated = this.now;
  }

  updateTask(c: Extract<Command, { type: 'updateTask' }>): string {
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
      const reroute = isWaiting(status) && (attributes !== null || (channel !== null && channel.sid !== task.taskChannelSid));
      if (isWaiting(status)) this.unlist(task);
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
      if (reroute) this.reroute(task);
      else if (isWaiting(status)) this.routeNow(task);
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
  checkStatusChange(task: TaskRecord, to: string): void {
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

  deleteTask(c: Extract<Command, { type: 'deleteTask' }>): string {
    const task = taskOrReject(this, c.taskSid);
    checkVersion(c.ifMatch, task.version, `Task ${task.sid}`);
    this.unlist(task);
    for (const r of this.openReservationsOf(task)) {
      if (r.reservationStatus === 'pending') this.endReservation(r, 'canceled', null, false);
      else this.releaseReservation(r);
    }
    emitTask(this, 'task.deleted', task);
    this.removeTask(task);
    return task.sid;
  }

  /** Drops a task and its reservations from the state (delete, purge). */
  removeTask(task: TaskRecord): void {
    this.unlist(task);
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
    this.unlist(task);
    for (const r of this.openReservationsOf(task)) this.endReservation(r, 'canceled', null, false);
    task.assignmentStatus = 'canceled';
    task.reason = reason;
    task.statusChangedAt = this.now;
    this.touchTask(task);
    emitTask(this, 'task.canceled', task);
    this.leaveQueue(task);
    this.setStatusTimer(task, this.now + LIMITS.terminalRetentionMs, 'purge');
  }

  acceptedReservation(task: TaskRecord): ReservationRecord {
    // The last reservation first, without a look-up: usually the only one.
    const last = task.lastReservation;
    if (last !== null && (last.reservationStatus === 'accepted' || last.reservationStatus === 'wrapping')) return last;
    for (let i = task.reservationSids.length - 2; i >= 0; i--) {
      const r = this.reservations.get(task.reservationSids[i] as string);
      if (r !== undefined && (r.reservationStatus === 'accepted' || r.reservationStatus === 'wrapping')) return r;
    }
    throw new Error(`task ${task.sid} is ${task.assignmentStatus} without an accepted reservation`);
  }

  wrapTask(task: TaskRecord): void {
    const r = this.acceptedReservation(task);
    task.assignmentStatus = 'wrapping';
    this.touchTask(task);
    r.reservationStatus = 'wrapping';
    r.dateUpdated = this.now;
    emitTask(this, 'task.wrapup', task);
    emitReservation(this, 'reservation.wrapup', r, task, r.worker as WorkerRecord);
  }

  completeTask(task: TaskRecord, reason: string | null): void {
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
  releaseReservation(r: ReservationRecord): void {
    const w = r.worker;
    if (w === null || !w.openReservations.delete(r.sid)) return;
    const ch = r.workerChannel as WorkerChannelRecord;
    ch.activeTasks -= 1;
    if (r.reservationStatus === 'accepted' || r.reservationStatus === 'wrapping') ch.assignedTasks -= 1;
    this.refreshWorker(w, -1, ch.channelIndex);
  }

  leaveQueue(task: TaskRecord): void {
    // The list it is in is that of its queue (taskQueueSid): no look-up of the queue by SID.
    task.queueList?.delete(task);
  }

  // ───────────────────────────── reservations ─────────────────────────────

  updateReservation(c: Extract<Command, { type: 'updateReservation' }>): string {
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

  offerTask(c: Extract<Command, { type: 'offerTask' }>): string {
    const task = taskOrReject(this, c.taskSid);
    const w = workerOrReject(this, c.workerSid);
    if (!isWaiting(task.assignmentStatus)) {
      reject('invalid_state', `Task ${task.sid} is ${task.assignmentStatus}; only a pending or reserved task can be offered`, 'TaskSid');
    }
    if (this.hasPendingReservationFor(task, w)) reject('invalid_state', `Worker ${w.friendlyName} already holds a pending reservation for task ${task.sid}`, 'WorkerSid');
    this.unlist(task);
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
    this.refreshWorker(w, channel.index, channel.index);
    if (!this.hasOpenSlot(task)) this.unlist(task);
  }

  acceptReservation(r: ReservationRecord, task: TaskRecord): void {
    const w = r.worker as WorkerRecord;
    this.unlist(task);
    this.stopReservationTimer(r);
    r.reservationStatus = 'accepted';
    r.dateUpdated = this.now;
    task.pendingReservations -= 1;
    (r.workerChannel as WorkerChannelRecord).assignedTasks += 1;
    task.assignmentStatus = 'assigned';
    task.statusChangedAt = this.now;
    this.touchTask(task);
    emitReservation(this, 'reservation.accepted', r, task, w);
    if (this.channelReadingTasks > 0) this.markDirty(w, -1);
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
  stopReservationTimer(r: ReservationRecord): void {
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
    this.refreshWorker(w);
    if (continueRouting) this.resumeRouting(task);
  }

  /**
   * After a reservation of a reserved task ended unaccepted: back to pending once none is
   * pending, then retry the current step (spec §4.4), or advance if its deadline passed.
   */
  resumeRouting(task: TaskRecord): void {
    if (task.pendingReservations > 0 || task.assignmentStatus !== 'reserved') {
      if (task.assignmentStatus === 'reserved') this.routeNow(task);
      return;
    }
    task.assignmentStatus = 'pending';
    this.touchTask(task);
    if (task.reservationCycles >= LIMITS.reservationCycles) {
      this.cancelTask(task, 'Task TTL Exceeded or Max assignment count exceeded');
    } else if (task.routing.stepExpired) {
      this.advance(task, 'timeout');
    } else {
      this.routeNow(task);
    }
  }

  // ───────────────────────────── workflow routing (spec §4.2) ─────────────────────────────

  /** Sends a waiting task through its workflow again from the first filter (spec §4.4). */
  reroute(task: TaskRecord): void {
    this.unlist(task);
    for (const r of this.openReservationsOf(task)) {
      if (r.reservationStatus === 'pending') this.endReservation(r, 'canceled', null, false);
    }
    if (task.assignmentStatus === 'reserved') task.assignmentStatus = 'pending';
    if (task.workflowSid === null || !this.workflows.has(task.workflowSid)) {
      this.routeNow(task);
      return;
    }
    task.priority = task.basePriority;
    this.routeFromTop(task);
  }

  planOf(task: TaskRecord): RoutingPlan | null {
    return task.workflowSid === null ? null : (this.workflows.get(task.workflowSid)?.plan ?? null);
  }

  routeFromTop(task: TaskRecord): void {
    const plan = this.planOf(task);
    assert(plan !== null, `task ${task.sid} has a workflow`);
    const f = this.firstMatchingFilter(plan, task, 0);
    if (f >= 0) {
      task.routing.filterEnteredAt = this.now;
      this.enterStep(task, plan, f, 0);
    } else if (plan.defaultFilter !== null) {
      this.enterDefault(task, plan);
    } else {
      emitTask(this, 'workflow.timeout', task);
      this.cancelTask(task, 'No matching filter');
    }
  }

  firstMatchingFilter(plan: RoutingPlan, task: TaskRecord, from: number): number {
    const scope = { nowMs: this.now, task: task.attributes };
    for (let i = from; i < plan.filters.length; i++) {
      if ((plan.filters[i] as RoutingPlan['filters'][number]).expression.evaluate(scope)) return i;
    }
    return -1;
  }

  enterDefault(task: TaskRecord, plan: RoutingPlan): void {
    const d = plan.defaultFilter as NonNullable<RoutingPlan['defaultFilter']>;
    task.routing = { filterIndex: -1, stepIndex: 0, filterEnteredAt: this.now, stepDeadlineAt: null, stepExpired: false };
    if (d.priority !== null) task.priority = d.priority;
    task.restriction = null;
    this.moveOut(task, d.queueSid);
    emitTask(this, 'workflow.target-matched', task, d.queueSid);
    this.enterQueue(task, d.queueSid);
    this.routeNow(task);
  }

  /** Puts the task on step `stepIndex` of filter `filterIndex` (spec §4.2 enterFilter). */
  enterStep(task: TaskRecord, plan: RoutingPlan, filterIndex: number, stepIndex: number): void {
    const filter = plan.filters[filterIndex] as RoutingPlan['filters'][number];
    const step = filter.steps[stepIndex] as RoutingStep;
    let cumulativeS = 0;
    for (let i = 0; i <= stepIndex; i++) cumulativeS += (filter.steps[i] as RoutingStep).timeoutS ?? 0;
    const deadline = step.timeoutS === null ? null : task.routing.filterEnteredAt + cumulativeS * 1000;
    // In place: the routing object belongs to this task alone (a snapshot copies it).
    const routing = task.routing;
    routing.filterIndex = filterIndex;
    routing.stepIndex = stepIndex;
    routing.stepDeadlineAt = deadline;
    routing.stepExpired = false;
    if (step.priority !== null) task.priority = step.priority;
    task.restriction = this.restrictionFor(step, task);
    this.moveOut(task, step.queueSid);
    const q = this.queues.get(step.queueSid);
    const wf = task.workflowSid === null ? undefined : this.workflows.get(task.workflowSid);
    const d = q !== undefined && wf !== undefined ? routedTaskData(this, task, q.record, wf) : addWorkflowData(this, addQueueData(this, taskData(this, task), step.queueSid), task.workflowSid);
    d['filter_friendly_name'] = filter.friendlyName;
    d['target_index'] = stepIndex;
    this.emit('workflow.target-matched', 'task', task.sid, d);
    this.enterQueue(task, step.queueSid);
    if (deadline !== null) this.timers.schedule(deadline, 'stepTimeout', task.sid, task);
    // Deadlines are cumulative (spec §4.2): a task that reaches a step after its deadline (it was
    // held by reservations at the step before) is not offered there, it times out below.
    const created = deadline !== null && deadline <= this.now ? 0 : this.routeNow(task);
    if (created > 0) return;
    if (step.skipIf !== null) {
      const q = this.queues.get(step.queueSid) as QueueIndex;
      const counts = {
        available: q.availableMembers,
        unavailable: q.members.size - q.availableMembers,
        byActivitySid: (sid: string) => q.countByActivity(sid),
      };
      if (step.skipIf.evaluate({ nowMs: this.now, workers: counts })) {
        this.advance(task, 'skip');
        return;
      }
    }
    if (deadline !== null && deadline <= this.now) this.advance(task, 'timeout');
  }

  restrictionFor(step: RoutingStep, task: TaskRecord): StepRestriction | null {
    if (step.expression === null && step.knownWorker === null && step.orderBy === null) return null;
    let knownWorker: string | null = null;
    let knownWorkerMissing = false;
    if (step.knownWorker !== null) {
      const value = step.knownWorker.read(task.attributes);
      if (typeof value === 'string' && value !== '') knownWorker = value;
      else knownWorkerMissing = true;
    }
    return { expression: step.expression, knownWorker, knownWorkerMissing, byName: step.knownWorker?.byName ?? false, orderBy: step.orderBy };
  }

  /** Moves the task on after a step timed out or was skipped (spec §4.2 advance). */
  advance(task: TaskRecord, cause: 'timeout' | 'skip'): void {
    const plan = this.planOf(task);
    const f = task.routing.filterIndex;
    this.unlist(task);
    if (cause === 'timeout') emitTask(this, 'task-queue.timeout', task);
    if (plan === null || f === null || f < 0) {
      this.finishWorkflow(task, cause);
      return;
    }
    const filter = plan.filters[f];
    if (filter !== undefined && task.routing.stepIndex + 1 < filter.steps.length) {
      this.enterStep(task, plan, f, task.routing.stepIndex + 1);
      return;
    }
    const next = this.firstMatchingFilter(plan, task, f + 1);
    if (next >= 0) {
      task.routing.filterEnteredAt = this.now;
      this.enterStep(task, plan, next, 0);
    } else if (cause === 'skip' && plan.defaultFilter !== null) {
      this.enterDefault(task, plan);
    } else {
      this.finishWorkflow(task, cause);
    }
  }

  finishWorkflow(task: TaskRecord, cause: 'timeout' | 'skip'): void {
    if (cause === 'timeout') {
      emitTask(this, 'workflow.timeout', task);
      this.cancelTask(task, 'Workflow Timeout');
    } else {
      emitTask(this, 'workflow.skipped', task);
      this.cancelTask(task, 'Workflow Skipped');
    }
  }

  /** Emits task-queue.moved when the task is about to leave its queue for another one. */
  moveOut(task: TaskRecord, queueSid: string): void {
    const previous = task.taskQueueSid;
    if (previous === null || previous === queueSid) return;
    const d = addWorkflowData(this, addQueueData(this, taskData(this, task), previous), task.workflowSid);
    d['task_queue_moved_to_sid'] = queueSid;
    this.emit('task-queue.moved', 'task', task.sid, d);
    this.leaveQueue(task);
  }

  /**
   * Puts the task in a queue and emits task-queue.entered. A caller moving it from another queue
   * calls moveOut first (task-queue.moved comes before workflow.target-matched, spec §5.2), so
   * this only leaves the old queue's set: a second moveOut here would emit task-queue.moved twice.
   */
  enterQueue(task: TaskRecord, queueSid: string): void {
    this.leaveQueue(task);
    task.taskQueueSid = queueSid;
    task.taskQueueEnteredAt = this.now;
    (this.queues.get(queueSid) as QueueIndex).tasks.add(task);
    this.touchTask(task);
    emitTask(this, 'task-queue.entered', task);
  }

  // ───────────────────────────── matching (spec §7) ─────────────────────────────

  /** A task can get (more) reservations: waiting, in a queue or aimed at a worker, step not expired. */
  isRoutable(task: TaskRecord): boolean {
    return (
      isWaiting(task.assignmentStatus) &&
      !task.routing.stepExpired &&
      (task.taskQueueSid !== null || task.routingTarget?.startsWith('WK') === true)
    );
  }

  slotsOf(task: TaskRecord): number {
    if (task.taskQueueSid === null) return 1;
    return (this.queues.get(task.taskQueueSid) as QueueIndex).record.maxReservedWorkers;
  }

  hasOpenSlot(task: TaskRecord): boolean {
    return this.isRoutable(task) && task.pendingReservations < this.slotsOf(task);
  }

  /**
   * Offers the task to the best ready workers now, up to its open slots (spec §6
   * multi-reservation), and lists it as waiting if slots remain. Returns reservations created.
   */
  routeNow(task: TaskRecord): number {
    this.unlist(task);
    if (!this.workspace.automaticRouting || !this.hasOpenSlot(task)) return 0;
    const workers = this.pickWorkers(task, this.slotsOf(task) - task.pendingReservations);
    for (const w of workers) this.createReservation(task, w);
    if (this.hasOpenSlot(task)) this.list(task);
    return workers.length;
  }

  hasPendingReservationFor(task: TaskRecord, w: WorkerRecord): boolean {
    if (task.pendingReservations === 0) return false;
    for (const rsid of w.openReservations) {
      const r = this.reservations.get(rsid) as ReservationRecord;
      if (r.taskSid === task.sid && r.reservationStatus === 'pending') return true;
    }
    return false;
  }

  /** Does the step's restriction let this worker take the task (spec §7.2 rule 2)? */
  restrictionAllows(task: TaskRecord, w: WorkerRecord): boolean {
    const r = task.restriction;
    if (r === null) return true;
    if (r.knownWorkerMissing) return false;
    if (r.knownWorker !== null) {
      const matches = r.byName ? w.friendlyName.toLowerCase() === r.knownWorker.toLowerCase() : w.sid === r.knownWorker;
      if (!matches) return false;
    }
    return r.expression === null || r.expression.evaluate({ nowMs: this.now, task: task.attributes, worker: w });
  }

  /** The best ready workers for a task, best first, at most `slots` (spec §7.2). */
  pickWorkers(task: TaskRecord, slots: number): WorkerRecord[] {
    const channel = (this.channels.get(task.taskChannelSid) as TaskChannelRecord).index;
    if (task.taskQueueSid === null) {
      const w = task.routingTarget === null ? undefined : this.workers.get(task.routingTarget);
      if (w === undefined || this.hasPendingReservationFor(task, w)) return [];
      const ready = (w.channels[channel] as WorkerChannelRecord).ready;
      return task.ignoreCapacity || ready ? [w] : [];
    }
    const q = this.queues.get(task.taskQueueSid) as QueueIndex;
    const r = task.restriction;
    if (r?.knownWorkerMissing) return [];
    if (r?.knownWorker) {
      const w = r.byName ? this.findWorkerByName(r.knownWorker) : this.workers.get(r.knownWorker);
      if (w === undefined || !q.members.has(w) || !(w.channels[channel] as WorkerChannelRecord).ready) return [];
      return this.restrictionAllows(task, w) && !this.hasPendingReservationFor(task, w) ? [w] : [];
    }
    q.ensureIndexed();
    const heap = q.readyWorkers[channel];
    if (heap === undefined) return [];
    if (r?.orderBy) {
      const seen = new Set<WorkerRecord>();
      const candidates: ReadyEntry[] = [];
      for (const e of heap.unordered()) {
        if (seen.has(e.worker) || !q.isReadyEntryLive(e)) continue;
        seen.add(e.worker);
        if (this.restrictionAllows(task, e.worker) && !this.hasPendingReservationFor(task, e.worker)) candidates.push(e);
      }
      const orderBy = r.orderBy;
      candidates.sort((a, b) => compareWorkersByOrderBy(orderBy, a.worker, b.worker) || (readyBefore(a, b) ? -1 : 1));
      return candidates.slice(0, slots).map((e) => e.worker);
    }
    const chosen: WorkerRecord[] = [];
    let skipped: ReadyEntry[] | null = null; // allocated only when an entry is passed over
    while (chosen.length < slots) {
      const e = heap.pop();
      if (e === undefined) break;
      if (!q.isReadyEntryLive(e)) continue;
      if (chosen.includes(e.worker) || !this.restrictionAllows(task, e.worker) || this.hasPendingReservationFor(task, e.worker)) {
        (skipped ??= []).push(e);
        continue;
      }
      chosen.push(e.worker);
    }
    if (skipped !== null) for (const e of skipped) heap.push(e);
    return chosen;
  }

  /** Lists a routable task with open slots where newly ready workers will find it. */
  list(task: TaskRecord): void {
    assert(task.listedIn === null, `task ${task.sid} listed twice`);
    const channel = (this.channels.get(task.taskChannelSid) as TaskChannelRecord).index;
    task.listedChannel = channel;
    if (task.taskQueueSid === null) {
      (this.workers.get(task.routingTarget as string) as WorkerRecord).directTasks.add(task.sid);
      task.listedIn = 'direct';
      this.directListed += 1;
      return;
    }
    const q = this.queues.get(task.taskQueueSid) as QueueIndex;
    const r = task.restriction;
    task.stamp += 1;
    if (r?.expression?.dependsOn.workerChannel && !r.knownWorkerMissing) this.channelReadingTasks += 1;
    if (r?.knownWorkerMissing) {
      task.listedIn = 'nowhere';
      return;
    }
    this.queueListed += 1;
    if (r?.knownWorker) {
      const key = knownWorkerKey(r);
      let set = q.knownWorkerTasks.get(key);
      if (set === undefined) q.knownWorkerTasks.set(key, (set = new Set()));
      set.add(task);
      task.listedIn = 'known';
    } else if (r?.expression) {
      q.pushRestricted(task, channel);
      task.listedIn = 'restricted';
    } else {
      q.pushWaiting(task, channel);
      task.listedIn = 'waiting';
    }
  }

  unlist(task: TaskRecord): void {
    const where = task.listedIn;
    if (where === null) return;
    task.listedIn = null;
    task.stamp += 1;
    if (where === 'direct') {
      this.directListed -= 1;
      this.workers.get(task.routingTarget as string)?.directTasks.delete(task.sid);
      return;
    }
    if (where !== 'nowhere') this.queueListed -= 1;
    const q = this.queues.get(task.taskQueueSid as string) as QueueIndex;
    const ch = task.listedChannel;
    if ((where === 'restricted' || where === 'known') && task.restriction?.expression?.dependsOn.workerChannel) this.channelReadingTasks -= 1;
    if (where === 'waiting') q.waitingCount[ch] = (q.waitingCount[ch] as number) - 1;
    else if (where === 'restricted') q.restrictedCount[ch] = (q.restrictedCount[ch] as number) - 1;
    else if (where === 'known') {
      const key = knownWorkerKey(task.restriction as StepRestriction);
      const set = q.knownWorkerTasks.get(key);
      set?.delete(task);
      if (set?.size === 0) q.knownWorkerTasks.delete(key);
    }
  }

  /** Serves workers that became ready until no ready worker can take a waiting task. */
  settle(): void {
    const queue = this.dirtyWorkers;
    if (!this.workspace.automaticRouting) {
      for (const w of queue) w.queuedToServe = false;
      queue.length = 0;
      return;
    }
    // Serving may queue more workers (and this one again): they are pushed behind `next`.
    for (let next = 0; next < queue.length; next++) {
      const w = queue[next] as WorkerRecord;
      w.queuedToServe = false;
      if (!w.deleted) this.serveWorker(w);
    }
    queue.length = 0;
  }

  serveWorker(w: WorkerRecord): void {
    const mask = w.dirtyChannels;
    w.dirtyChannels = 0;
    if (!this.workspace.multiTaskEnabled) {
      // Single-tasking: one task over all channels, so the channels' best tasks compete in queue
      // order (spec §7.1) instead of the lowest channel index winning. A new reservation marks
      // the worker dirty again while direct (IgnoreCapacity) tasks remain.
      const orderOf = (t: TaskRecord): QueueOrder => (t.taskQueueSid === null ? 'FIFO' : (this.queues.get(t.taskQueueSid) as QueueIndex).order);
      let best: TaskRecord | null = null;
      for (const ch of w.channels) {
        const t = this.bestTaskFor(w, ch.channelIndex);
        if (t !== null && (best === null || this.taskBefore(t, orderOf(t), best, orderOf(best)))) best = t;
      }
      if (best !== null) this.createReservation(best, w);
      this.publishReady(w, mask);
      return;
    }
    const channels = w.channels;
    for (let i = 0; i < channels.length; i++) {
      if (!inChannelMask(mask, i)) continue;
      const ch = channels[i] as WorkerChannelRecord;
      let guard = 0;
      while (ch.ready || (guard === 0 && this.directListed > 0 && w.directTasks.size > 0)) {
        const task = this.bestTaskFor(w, ch.channelIndex);
        if (task === null) break;
        this.createReservation(task, w);
        guard += 1;
        assert(guard < 10_000, 'serveWorker loops');
      }
    }
    this.publishReady(w, mask);
  }

  /**
   * Puts the worker's ready channels whose rank changed into its indexed queues' ready heaps.
   * `served` is the channel mask the worker was served for. Only channels in it, or marked dirty
   * while it was served, can need publishing: refreshWorker marks every channel whose stamp it
   * bumps while ready, and each serve ends here. The others are not read (cache misses, for a
   * worker last served long ago).
   */
  publishReady(w: WorkerRecord, served: number): void {
    const mask = served | w.dirtyChannels;
    const channels = w.channels;
    for (let i = 0; i < channels.length; i++) {
      if (!inChannelMask(mask, i)) continue;
      const ch = channels[i] as WorkerChannelRecord;
      if (!ch.ready || ch.publishedStamp === ch.stamp) continue;
      ch.publishedStamp = ch.stamp;
      const entry = readyEntryOf(w, ch);
      for (const q of w.queueIndexes) {
        if (q.indexed) q.pushReady(entry);
      }
    }
  }

  /** Compares candidate tasks from different queues (spec §7.1, OUR CHOICE for cross-queue ties). */
  taskBefore(a: TaskRecord, aOrder: QueueOrder, b: TaskRecord, bOrder: QueueOrder): boolean {
    if (aOrder !== bOrder) return aOrder === this.workspace.prioritizeQueueOrder;
    return aOrder === 'FIFO' ? fifoBefore(a, b) : lifoBefore(a, b);
  }

  /** The waiting task a newly ready worker should take on a channel, or null. */
  bestTaskFor(w: WorkerRecord, channel: number): TaskRecord | null {
    let best: TaskRecord | null = null;
    let bestOrder: QueueOrder = 'FIFO';
    const direct = this.directListed > 0 ? w.directTasks : NO_TASK_SIDS;
    for (const tsid of direct) {
      const t = this.tasks.get(tsid) as TaskRecord;
      if (t.listedChannel !== channel || this.hasPendingReservationFor(t, w)) continue;
      if (!t.ignoreCapacity && !(w.channels[channel] as WorkerChannelRecord).ready) continue;
      if (best === null || this.taskBefore(t, 'FIFO', best, bestOrder)) {
        best = t;
        bestOrder = 'FIFO';
      }
    }
    if (!(w.channels[channel] as WorkerChannelRecord).ready || this.queueListed === 0) return best;
    for (const q of w.queueIndexes) {
      const order = q.order;
      if (q.waitingCount[channel] !== 0) {
        const head = this.waitingHeadFor(q, channel, w);
        if (head !== null && (best === null || this.taskBefore(head, order, best, bestOrder))) {
          best = head;
          bestOrder = order;
        }
      }
      if (q.restrictedCount[channel] !== 0) {
        for (const e of q.restricted[channel] as WaitingEntry[]) {
          if (e.task.stamp !== e.stamp) continue;
          if (best !== null && !this.taskBefore(e.task, order, best, bestOrder)) break;
          if (this.restrictionAllows(e.task, w) && !this.hasPendingReservationFor(e.task, w)) {
            best = e.task;
            bestOrder = order;
            break;
          }
        }
      }
      if (q.knownWorkerTasks.size !== 0) {
        for (const key of [w.sid, `~${w.friendlyName.toLowerCase()}`]) {
          for (const t of q.knownWorkerTasks.get(key) ?? []) {
            if (t.listedChannel !== channel || !this.restrictionAllows(t, w) || this.hasPendingReservationFor(t, w)) continue;
            if (best === null || this.taskBefore(t, order, best, bestOrder)) {
              best = t;
              bestOrder = order;
            }
          }
        }
      }
    }
    return best;
  }

  /** The first live waiting task of a queue that this worker holds no reservation for. */
  waitingHeadFor(q: QueueIndex, channel: number, w: WorkerRecord): TaskRecord | null {
    const heap = q.waiting[channel];
    if (heap === undefined) return null;
    let skipped: WaitingEntry[] | null = null; // allocated only when an entry is passed over
    let found: TaskRecord | null = null;
    for (let e = heap.peek(); e !== undefined; e = heap.peek()) {
      if (e.task.stamp !== e.stamp) {
        heap.pop();
        continue;
      }
      if (this.hasPendingReservationFor(e.task, w)) {
        (skipped ??= []).push(heap.pop() as WaitingEntry);
        continue;
      }
      found = e.task;
      break;
    }
    if (skipped !== null) for (const e of skipped) heap.push(e);
    return found;
  }

  // ───────────────────────────── timers ─────────────────────────────

  /**
   * Can this timer still act? A reservation's timeout and a task's status timer are live while
   * their record still holds them (they are dropped from the record when they stop mattering,
   * and when the record is removed); a step deadline while the task waits in that step.
   */
  isTimerLive(t: Timer): boolean {
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

  fire(t: Timer): void {
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
          this.unlist(task);
        } else {
          this.advance(task, 'timeout');
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

/** Is channel `index` in a mask of {@link WorkspaceEngine} `markDirty` (-1: every channel)? */
function inChannelMask(mask: number, index: number): boolean {
  return mask === -1 || (mask & (1 << Math.min(index, 31))) !== 0;
}

/** Where a known-worker task is filed: the worker's SID, or `~` + lower-case friendly name. */
function knownWorkerKey(r: StepRestriction): string {
  return r.byName ? `~${(r.knownWorker as string).toLowerCase()}` : (r.knownWorker as string);
}
