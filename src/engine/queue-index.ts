/**
 * The per-queue routing indexes (DESIGN.md rule 5: indexes, not scans).
 *
 * For each task queue and task channel we keep
 * - `readyWorkers`: a heap of members ready for the channel, longest idle first (spec §7.2);
 * - `waiting`: a heap of tasks waiting for a worker, in the queue's order (spec §7.1),
 *   for tasks whose current step has no per-worker restriction;
 * and for tasks whose step narrows who may take them:
 * - `restricted`: per channel, tasks with a target expression, kept in the queue's order; a
 *   newly ready worker walks it from the best task and stops at the first it may take, or as
 *   soon as the rest cannot beat the best candidate it already has;
 * - `knownWorkerTasks`: tasks for one named worker, by that worker's SID (or `~` + lower-case
 *   friendly name), so the worker finds its own tasks without looking at anyone else's.
 *
 * A queue's ready heaps are built on first use (`ensureIndexed`): a queue no task has entered
 * yet costs nothing when its members' readiness changes.
 *
 * Both heaps use lazy deletion: an entry is valid only while its `stamp` equals the live stamp
 * on the worker channel or task. Anything that changes a worker's readiness or rank, or a
 * task's place, bumps the stamp; stale entries fall out when they reach the top or when the
 * heap is compacted (once it holds more than twice its live entries).
 */
import type { CompiledExpression, WorkerView } from '../expr/types.ts';
import { Heap, type HeapOrder } from './heap.ts';
import type { QueueOrder, TaskQueueRecord, TaskRecord, WorkerChannelRecord, WorkerRecord } from './model.ts';

/** A ready worker on one channel, shared by every member queue's heap. */
export interface ReadyEntry {
  readonly worker: WorkerRecord;
  readonly channel: number;
  /**
   * `worker.channels[channel]`, kept so that telling a stale entry (most of those popped) reads
   * the channel alone, not the worker and its channel list too.
   */
  readonly workerChannel: WorkerChannelRecord;
  readonly stamp: number;
  /** 1 when channel-optimized routing ranks this worker after workers with no task. */
  readonly busy: number;
  /** Idle since (epoch ms): last reservation on the channel, or the worker's creation. */
  readonly idleSince: number;
}

/** The entry for a worker's channel as it stands (its current stamp and rank). */
export function readyEntryOf(worker: WorkerRecord, ch: WorkerChannelRecord): ReadyEntry {
  return { worker, channel: ch.channelIndex, workerChannel: ch, stamp: ch.stamp, busy: ch.rankBusy, idleSince: ch.rankIdleSince };
}

/**
 * A listed task. The order keys are copied in when it is listed: entries outlive their listing
 * (lazy deletion), and a stale entry must not change its place when the task's priority or
 * virtual start time changes later, or the heap order breaks for the live entries around it.
 */
export interface WaitingEntry extends OrderKey {
  readonly task: TaskRecord;
  readonly stamp: number;
}

/** What the queue order reads of a task (spec §7.1). */
export interface OrderKey {
  readonly priority: number;
  readonly virtualStartTime: number;
  readonly sid: string;
}

function entryOf(task: TaskRecord): WaitingEntry {
  return { task, stamp: task.stamp, priority: task.priority, virtualStartTime: task.virtualStartTime, sid: task.sid };
}

/** Longest idle first; SID breaks ties so the order is total and deterministic. */
export function readyBefore(a: ReadyEntry, b: ReadyEntry): boolean {
  if (a.busy !== b.busy) return a.busy < b.busy;
  if (a.idleSince !== b.idleSince) return a.idleSince < b.idleSince;
  return a.worker.sid < b.worker.sid;
}

/** FIFO queue order: priority high to low, then virtual start time old to new, then SID. */
export function fifoBefore(a: OrderKey, b: OrderKey): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.virtualStartTime !== b.virtualStartTime) return a.virtualStartTime < b.virtualStartTime;
  return a.sid < b.sid;
}

/** LIFO queue order: newest virtual start time first, priority ignored (spec §7.1). */
export function lifoBefore(a: OrderKey, b: OrderKey): boolean {
  if (a.virtualStartTime !== b.virtualStartTime) return a.virtualStartTime > b.virtualStartTime;
  return a.sid > b.sid;
}

// The same three orders as heap keys (heap.ts): each must agree with its function above.
const READY_ORDER: HeapOrder<ReadyEntry> = {
  major: (e) => e.busy,
  minor: (e) => e.idleSince,
  tieBefore: (a, b) => a.worker.sid < b.worker.sid,
};
const FIFO_ORDER: HeapOrder<WaitingEntry> = {
  major: (e) => -e.priority,
  minor: (e) => e.virtualStartTime,
  tieBefore: (a, b) => a.sid < b.sid,
};
const LIFO_ORDER: HeapOrder<WaitingEntry> = {
  major: (e) => -e.virtualStartTime,
  minor: () => 0,
  tieBefore: (a, b) => a.sid > b.sid,
};

export class QueueIndex {
  record: TaskQueueRecord;
  /** Compiled TargetWorkers; null when it is empty (nobody is eligible). */
  expression: CompiledExpression | null;
  readonly members = new Set<WorkerRecord>();
  /** Members per activity SID, for skip_if and real-time statistics. */
  readonly membersByActivity = new Map<string, number>();
  availableMembers = 0;
  readonly readyWorkers: Heap<ReadyEntry>[] = [];
  readonly waiting: Heap<WaitingEntry>[] = [];
  /** Live entries in each `waiting` heap. */
  readonly waitingCount: number[] = [];
  readonly restricted: WaitingEntry[][] = [];
  /** Live entries in each `restricted` list. */
  readonly restrictedCount: number[] = [];
  readonly knownWorkerTasks = new Map<string, Set<TaskRecord>>();
  /** Non-terminal tasks currently in this queue, for real-time statistics. */
  readonly tasks = new TaskList();
  /** The ready heaps are maintained (see ensureIndexed). */
  indexed = false;

  constructor(record: TaskQueueRecord, expression: CompiledExpression | null, channelCount: number) {
    this.record = record;
    this.expression = expression;
    for (let c = 0; c < channelCount; c++) this.addChannel();
  }

  get order(): QueueOrder {
    return this.record.taskOrder;
  }

  addChannel(): void {
    this.readyWorkers.push(new Heap(READY_ORDER));
    this.waiting.push(new Heap(this.waitingOrder));
    this.waitingCount.push(0);
    this.restricted.push([]);
    this.restrictedCount.push(0);
  }

  /** The queue's order as a "comes before" test on tasks. */
  get before(): (a: OrderKey, b: OrderKey) => boolean {
    return this.record.taskOrder === 'LIFO' ? lifoBefore : fifoBefore;
  }

  /** The queue's order as keys of the waiting heaps. */
  private get waitingOrder(): HeapOrder<WaitingEntry> {
    return this.record.taskOrder === 'LIFO' ? LIFO_ORDER : FIFO_ORDER;
  }

  /** Inserts a task with a target expression into its channel's ordered list. */
  pushRestricted(task: TaskRecord, channel: number): void {
    let list = this.restricted[channel] as WaitingEntry[];
    const live = (this.restrictedCount[channel] as number) + 1;
    this.restrictedCount[channel] = live;
    if (list.length > 2 * live + 64) {
      list = list.filter((e) => e.task.stamp === e.stamp);
      this.restricted[channel] = list;
    }
    const before = this.before;
    const entry = entryOf(task);
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(list[mid] as WaitingEntry, entry)) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, entry);
  }

  /** Is this task listed here as restricted (for invariant checks)? */
  holdsRestricted(task: TaskRecord): boolean {
    return (this.restricted[task.listedChannel] ?? []).some((e) => e.task === task && e.stamp === task.stamp);
  }

  /** Rebuilds the waiting heaps and restricted lists after the queue's order changed. */
  reorder(): void {
    const before = this.before;
    for (let c = 0; c < this.waiting.length; c++) {
      const heap = new Heap(this.waitingOrder);
      for (const e of (this.waiting[c] as Heap<WaitingEntry>).unordered()) if (e.task.stamp === e.stamp) heap.push(e);
      this.waiting[c] = heap;
      const list = (this.restricted[c] as WaitingEntry[]).filter((e) => e.task.stamp === e.stamp);
      list.sort((a, b) => (before(a, b) ? -1 : 1));
      this.restricted[c] = list;
    }
  }

  /**
   * Is the entry the worker's current one on a ready channel? Membership needs no check: a
   * worker leaving an indexed queue gets new stamps (matching.ts restampReady), so the
   * entries this queue still holds for it are stale.
   */
  isReadyEntryLive(e: ReadyEntry): boolean {
    const ch = e.workerChannel;
    return ch.stamp === e.stamp && ch.ready;
  }

  /** Starts maintaining the ready heaps, filling them from the members' current readiness. */
  ensureIndexed(): void {
    if (this.indexed) return;
    this.indexed = true;
    for (const w of this.members) {
      for (const ch of w.channels) {
        // Only what is published: a channel that became ready and was not served yet reaches
        // the heaps when it is (publishReady), as it does for queues indexed earlier.
        if (ch.ready && ch.publishedStamp === ch.stamp) {
          this.pushReady(readyEntryOf(w, ch));
        }
      }
    }
  }

  pushReady(e: ReadyEntry): void {
    const heap = this.readyWorkers[e.channel] as Heap<ReadyEntry>;
    heap.push(e);
    if (heap.size > 2 * this.members.size + 64) heap.filter((x) => this.isReadyEntryLive(x));
  }

  pushWaiting(task: TaskRecord, channel: number): void {
    const heap = this.waiting[channel] as Heap<WaitingEntry>;
    heap.push(entryOf(task));
    const live = (this.waitingCount[channel] as number) + 1;
    this.waitingCount[channel] = live;
    if (heap.size > 2 * live + 64) heap.filter((x) => x.task.stamp === x.stamp);
  }

  /**
   * Would a worker with these fields match the queue's TargetWorkers at `nowMs` (epoch ms)?
   * False when TargetWorkers is empty (nobody is eligible, spec §3.1).
   */
  matchesWorker(worker: WorkerView, nowMs: number): boolean {
    return this.expression !== null && this.expression.evaluate({ nowMs, worker });
  }

  /** Members whose current activity is `activitySid` (skip_if's `workers.<ActivitySid>`). */
  countByActivity(activitySid: string): number {
    return this.membersByActivity.get(activitySid) ?? 0;
  }

  addMember(worker: WorkerRecord): void {
    this.members.add(worker);
    this.countActivity(worker.activitySid, worker.activityAvailable, 1);
  }

  removeMember(worker: WorkerRecord): void {
    this.members.delete(worker);
    this.countActivity(worker.activitySid, worker.activityAvailable, -1);
  }

  countActivity(activitySid: string, available: boolean, delta: number): void {
    this.membersByActivity.set(activitySid, (this.membersByActivity.get(activitySid) ?? 0) + delta);
    if (available) this.availableMembers += delta;
  }
}

/**
 * The tasks of one queue in the order they entered it, with a Set's behaviour (adding a member
 * keeps its place, a task added again after it left goes last), as a doubly linked list threaded
 * through the task records (`queuePrev`, `queueNext`, `queueList`, all derived). Entering and
 * leaving a queue, once per task each, then allocate nothing and hash nothing. A task is in at
 * most one list. The list must not change while it is being iterated.
 */
export class TaskList implements Iterable<TaskRecord> {
  private head: TaskRecord | null = null;
  private tail: TaskRecord | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(task: TaskRecord): boolean {
    return task.queueList === this;
  }

  /** Appends the task unless it is already here; throws if it is in another list. */
  add(task: TaskRecord): this {
    if (task.queueList === this) return this;
    if (task.queueList !== null) throw new Error(`task ${task.sid} is already listed in another queue`);
    task.queueList = this;
    task.queuePrev = this.tail;
    task.queueNext = null;
    if (this.tail === null) this.head = task;
    else this.tail.queueNext = task;
    this.tail = task;
    this.count += 1;
    return this;
  }

  /** Removes the task; false if it was not here. */
  delete(task: TaskRecord): boolean {
    if (task.queueList !== this) return false;
    const { queuePrev: prev, queueNext: next } = task;
    if (prev === null) this.head = next;
    else prev.queueNext = next;
    if (next === null) this.tail = prev;
    else next.queuePrev = prev;
    task.queueList = null;
    task.queuePrev = null;
    task.queueNext = null;
    this.count -= 1;
    return true;
  }

  *[Symbol.iterator](): Iterator<TaskRecord> {
    for (let t = this.head; t !== null; t = t.queueNext) yield t;
  }
}
