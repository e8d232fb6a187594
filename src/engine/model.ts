/**
 * The records one workspace holds. Field names follow TaskRouter's resources (spec §1.4) in
 * camelCase; instants are epoch milliseconds (`…At`), durations say their unit.
 *
 * Each record has two parts: the persisted fields (plain data, saved by {@link snapshot}) and
 * derived fields (parsed attributes, index bookkeeping) that are rebuilt on restore. Derived
 * fields are marked "derived".
 *
 * Task lifecycle (spec §5.2):
 *
 *     pending ──reservation created──► reserved ──accepted──► assigned ──► wrapping ──► completed
 *        ▲                                │                       └────────────────────────┘
 *        └──all reservations ended────────┘
 *     pending/reserved ──cancel, TTL, workflow end, attempt cap──► canceled
 *     canceled/completed ──5 minutes later──► purged (task.system-deleted)
 *
 * Reservation lifecycle (spec §6): pending → accepted → wrapping → completed, or pending →
 * rejected | timeout | canceled | rescinded.
 */
import type { ChannelView, CompiledExpression, WorkerView } from '../expr/types.ts';
import type { QueueIndex, TaskList } from './queue-index.ts';
import type { Timer } from './timers.ts';
import type { RoutingPlan } from './workflow-config.ts';

export type TaskStatus = 'pending' | 'reserved' | 'assigned' | 'wrapping' | 'completed' | 'canceled';
export type ReservationStatus =
  | 'pending'
  | 'accepted'
  | 'rejected'
  | 'timeout'
  | 'canceled'
  | 'rescinded'
  | 'wrapping'
  | 'completed';
export type QueueOrder = 'FIFO' | 'LIFO';

export interface WorkspaceRecord {
  sid: string;
  friendlyName: string;
  eventCallbackUrl: string | null;
  eventsFilter: string | null;
  defaultActivitySid: string;
  timeoutActivitySid: string;
  multiTaskEnabled: boolean;
  prioritizeQueueOrder: QueueOrder;
  /**
   * Extension (off = TaskRouter behaviour): false makes the engine never match tasks to workers
   * on its own; tasks are offered only by the `offerTask` command. Replay uses it to put each
   * call with the agent who really answered it (shadow mode, DESIGN.md "Replay and simulation").
   */
  automaticRouting: boolean;
  dateCreated: number;
  dateUpdated: number;
}

export interface ActivityRecord {
  sid: string;
  friendlyName: string;
  available: boolean;
  dateCreated: number;
  dateUpdated: number;
}

export interface TaskChannelRecord {
  sid: string;
  friendlyName: string;
  uniqueName: string;
  channelOptimizedRouting: boolean;
  dateCreated: number;
  dateUpdated: number;
  /** Dense index of the channel, for per-channel arrays; never reused. */
  index: number;
  /** Deleted channels keep their index slot so per-channel arrays never shift. */
  deleted: boolean;
}

export interface TaskQueueRecord {
  sid: string;
  friendlyName: string;
  /** The TargetWorkers expression; null or empty means no worker is eligible. */
  targetWorkers: string | null;
  maxReservedWorkers: number;
  taskOrder: QueueOrder;
  reservationActivitySid: string | null;
  assignmentActivitySid: string | null;
  dateCreated: number;
  dateUpdated: number;
}

export interface WorkflowRecord {
  sid: string;
  friendlyName: string;
  /** The configuration JSON exactly as given. */
  configuration: string;
  assignmentCallbackUrl: string | null;
  fallbackAssignmentCallbackUrl: string | null;
  /** Seconds a reservation stays pending before it times out (spec §4.3). */
  taskReservationTimeoutS: number;
  dateCreated: number;
  dateUpdated: number;
  /** Derived: the validated, compiled configuration. */
  plan: RoutingPlan;
}

/** A worker's capacity on one task channel (spec §1.4 WorkerChannel, §7.3). */
export class WorkerChannelRecord implements ChannelView {
  sid: string;
  taskChannelSid: string;
  /** Dense index of the task channel. */
  channelIndex: number;
  configuredCapacity: number;
  available: boolean;
  dateCreated: number;
  dateUpdated: number;
  /** When this worker last got a reservation on this channel; null if never (spec §7.2). */
  lastReservedAt: number | null;
  /** Derived: reservations on this channel in pending, accepted or wrapping status. */
  activeTasks = 0;
  /** Derived: accepted and wrapping reservations on this channel. */
  assignedTasks = 0;
  /** Derived: bumped whenever readiness or rank changes; stale index entries carry an old one. */
  stamp = 0;
  /** Derived: ready to be offered a task on this channel (§7.2 rules 3–5). */
  ready = false;
  /** Derived: the rank this channel's ready entries carry (see queue-index.ts ReadyEntry). */
  rankBusy = 0;
  rankIdleSince = 0;
  /** Derived: the stamp last published to the queues' ready heaps. */
  publishedStamp = -1;

  constructor(init: {
    sid: string;
    taskChannelSid: string;
    channelIndex: number;
    configuredCapacity: number;
    available: boolean;
    dateCreated: number;
    dateUpdated: number;
    lastReservedAt: number | null;
  }) {
    this.sid = init.sid;
    this.taskChannelSid = init.taskChannelSid;
    this.channelIndex = init.channelIndex;
    this.configuredCapacity = init.configuredCapacity;
    this.available = init.available;
    this.dateCreated = init.dateCreated;
    this.dateUpdated = init.dateUpdated;
    this.lastReservedAt = init.lastReservedAt;
  }

  /** floor((1 − active/configured) × 100), 0 when the configured capacity is 0 (spec §7.3). */
  get availableCapacityPercentage(): number {
    if (this.configuredCapacity <= 0) return 0;
    return Math.max(0, Math.floor((1 - this.activeTasks / this.configuredCapacity) * 100));
  }
}

export class WorkerRecord implements WorkerView {
  sid: string;
  friendlyName: string;
  /** Attributes JSON exactly as given. */
  attributesJson: string;
  activitySid: string;
  /** Last activity change (epoch ms). */
  dateStatusChanged: number;
  dateCreated: number;
  dateUpdated: number;
  /** Incremented on every change; exposed as ETag and `WorkerVersion`. */
  version: number;
  /** One per task channel, in channel index order. */
  channels: WorkerChannelRecord[];

  /** Derived: parsed attributes. */
  attributes: Record<string, unknown>;
  /** Derived: current activity name (kept in step with activitySid). */
  activityName: string;
  /** Derived: true when the current activity is available. */
  activityAvailable: boolean;
  /** Derived: sids of this worker's reservations in pending, accepted or wrapping status. */
  openReservations = new Set<string>();
  /** Derived: task queues whose TargetWorkers this worker matches. */
  queues = new Set<string>();
  /**
   * Derived: the same queues' indexes, in the same order, for routing loops to skip the lookup by
   * SID. An array, walked on every serve and publish (a Set's iteration costs more); it changes
   * only with membership.
   */
  queueIndexes: QueueIndex[] = [];
  /** Derived: tasks routed straight to this worker (RoutingTarget WK) waiting for it. */
  directTasks = new Set<string>();
  /** Derived: bit i set = channel i became ready or re-ranked since the worker was last served; -1 = all. */
  dirtyChannels = 0;
  /** Derived: the worker is in the engine's queue of workers to serve (matching.ts markDirty). */
  queuedToServe = false;
  /** Derived: the statistics recorder's slot for this worker (StatisticsRecorder.record); not read by the engine. */
  statisticsSeries: unknown = null;
  /** Derived: set when the worker is deleted, for loops still holding the record. */
  deleted = false;

  constructor(init: {
    sid: string;
    friendlyName: string;
    attributesJson: string;
    attributes: Record<string, unknown>;
    activitySid: string;
    activityName: string;
    activityAvailable: boolean;
    dateStatusChanged: number;
    dateCreated: number;
    dateUpdated: number;
    version: number;
    channels: WorkerChannelRecord[];
  }) {
    this.sid = init.sid;
    this.friendlyName = init.friendlyName;
    this.attributesJson = init.attributesJson;
    this.attributes = init.attributes;
    this.activitySid = init.activitySid;
    this.activityName = init.activityName;
    this.activityAvailable = init.activityAvailable;
    this.dateStatusChanged = init.dateStatusChanged;
    this.dateCreated = init.dateCreated;
    this.dateUpdated = init.dateUpdated;
    this.version = init.version;
    this.channels = init.channels;
  }

  /** Channel state by unique name, for `worker.channel.<name>.*` in expressions. Set by the engine. */
  channelByName: (uniqueName: string) => WorkerChannelRecord | undefined = () => undefined;

  channel(uniqueName: string): ChannelView | undefined {
    return this.channelByName(uniqueName);
  }

  /** Open reservations over all channels (pending, accepted, wrapping). */
  get totalActiveTasks(): number {
    return this.openReservations.size;
  }
}

/** Where a task stands in its workflow (spec §4.2). */
export interface TaskRouting {
  /** Index of the matched filter; -1 for the default filter; null when not routed by a workflow. */
  filterIndex: number | null;
  /** Index of the current target within the filter. */
  stepIndex: number;
  /** When the task entered the current filter (step deadlines count from here, cumulatively). */
  filterEnteredAt: number;
  /** When the current step times out; null for a terminal step. */
  stepDeadlineAt: number | null;
  /** The deadline passed while reservations were open: advance once they end unaccepted. */
  stepExpired: boolean;
}

export interface TaskRecord {
  sid: string;
  attributesJson: string;
  assignmentStatus: TaskStatus;
  priority: number;
  /** The create-time priority, which a re-route starts from (spec §4.3). */
  basePriority: number;
  /** TTL in seconds from dateCreated (spec §5.1). */
  timeoutS: number;
  reason: string | null;
  taskQueueSid: string | null;
  taskQueueEnteredAt: number | null;
  workflowSid: string | null;
  taskChannelSid: string;
  virtualStartTime: number;
  routingTarget: string | null;
  ignoreCapacity: boolean;
  addons: string;
  dateCreated: number;
  dateUpdated: number;
  version: number;
  routing: TaskRouting;
  /** How many times the task went from pending to reserved (cap: spec §5.2). */
  reservationCycles: number;
  /** All reservations of this task, oldest first. */
  reservationSids: string[];
  /** Derived: the record of the last of `reservationSids` (null before the first), so that finding the accepted one needs no lookup by SID. */
  lastReservation: ReservationRecord | null;
  /** When it became assigned (24 h limit) or terminal (5 min purge); null otherwise. */
  statusChangedAt: number;

  /** Derived: parsed attributes. */
  attributes: Record<string, unknown>;
  /** Derived: reservations currently pending. */
  pendingReservations: number;
  /** Derived: bumped whenever its place in a queue index changes; stale entries carry an old one. */
  stamp: number;
  /** Derived: the step's worker restriction (target expression, known worker, order_by). */
  restriction: StepRestriction | null;
  /**
   * Derived: where the task waits for a worker, if it does (see queue-index.ts); `nowhere` when
   * its step names a known worker that does not resolve, so nobody may take it.
   */
  listedIn: 'waiting' | 'restricted' | 'known' | 'direct' | 'nowhere' | null;
  /** Derived: channel index it was listed under. */
  listedChannel: number;
  /** Derived: the queue task list holding it (QueueIndex.tasks), and its neighbours there; null when in none. */
  queueList: TaskList | null;
  queuePrev: TaskRecord | null;
  queueNext: TaskRecord | null;
  /**
   * Derived: the timer of its status (TTL while waiting, the 24-hour limit while assigned or
   * wrapping, the purge once terminal), canceled when the status moves on; null before the first.
   */
  statusTimer: Timer | null;
}

/** What narrows the workers a task may go to at its current step, beyond queue membership. */
export interface StepRestriction {
  expression: CompiledExpression | null;
  /** The known worker's SID (or friendly name, when `byName`), already resolved from the task. */
  knownWorker: string | null;
  /** The step names a known worker but the reference resolved to nothing: nobody is eligible. */
  knownWorkerMissing: boolean;
  byName: boolean;
  orderBy: import('../expr/types.ts').OrderByClause[] | null;
}

export interface ReservationRecord {
  sid: string;
  taskSid: string;
  workerSid: string;
  reservationStatus: ReservationStatus;
  /** The queue and workflow the task was in when this reservation was made. */
  taskQueueSid: string | null;
  workflowSid: string | null;
  taskChannelSid: string;
  dateCreated: number;
  dateUpdated: number;
  /** When it times out if still pending. */
  timeoutAt: number;
  /** The worker's activity before a queue's reservation activity replaced it; null if untouched. */
  previousActivitySid: string | null;
  /** Derived: its timeout timer while pending, else null. */
  timer: Timer | null;
  /**
   * Derived: the worker record, so that the hot paths need no lookup by SID. Always set while
   * the reservation is open (a worker with open reservations cannot be deleted); null only for
   * a closed one whose worker was deleted before a restore.
   */
  worker: WorkerRecord | null;
  /** Derived: `worker`'s channel record for the reservation's task channel; null with `worker`. */
  workerChannel: WorkerChannelRecord | null;
  /** Derived: the task record (a reservation is removed with its task), so that no hot path looks it up by SID. */
  task: TaskRecord;
}

/** Is the status one a task can still be routed or canceled in? */
export function isWaiting(status: TaskStatus): boolean {
  return status === 'pending' || status === 'reserved';
}

/** Is the status terminal? */
export function isTerminal(status: TaskStatus): boolean {
  return status === 'completed' || status === 'canceled';
}

/** Pending, accepted and wrapping reservations hold worker capacity. */
export function isOpen(status: ReservationStatus): boolean {
  return status === 'pending' || status === 'accepted' || status === 'wrapping';
}

/** Removes the first `item` from `list`, if there. */
export function removeItem<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
