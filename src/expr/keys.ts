/**
 * What a key means in each scope (spec §3.1, contract in `types.ts`), resolved once at compile
 * time into a closure over the evaluation context. Keys a scope does not allow are rejected here,
 * as {@link ExpressionSyntaxError}s at the key's position.
 *
 * - `worker`: bare keys read the worker's attributes; `sid`, `friendly_name`, `activity_sid` and
 *   `activity_name` fall back to the worker's own fields when the attributes lack them.
 * - `task`: bare keys read the task's attributes.
 * - `target`: `task.<path>` reads the task, `worker.<path>` the worker as in the `worker` scope.
 *   `worker.channel.<unique_name>.<field>` with a channel field (`configured_capacity`,
 *   `assigned_tasks`, `available_capacity_percentage`) reads the channel's state, never the
 *   attributes, and is NULL when the worker has no such channel (OUR CHOICE). Other
 *   `worker.channel…` paths read the attributes.
 * - `skip_if`: `workers.available`, `workers.unavailable`, `workers.<ActivitySid>` only.
 * - every scope: `taskrouter.currentTime|currentHour|currentMin|dayOfWeek`; any other
 *   `taskrouter.` key is an error (so an attribute named `taskrouter` is not reachable).
 */
import { ExpressionSyntaxError } from './syntax-error.ts';
import { compilePath, ownValue } from './paths.ts';
import { TASKROUTER_TIME_KEYS, TASKROUTER_TIME_VALUES } from './time.ts';
import type { KeyNode, PathSegment } from './syntax-tree.ts';
import type { ChannelView, EvaluationContext, ExpressionScope, WorkerView } from './types.ts';

/** Reads one operand's value from the context. */
export type ContextReader = (context: EvaluationContext) => unknown;

/** Mutable form of `CompiledExpression['dependsOn']`, filled while keys are compiled. */
export interface Dependencies {
  workerActivity: boolean;
  workerChannel: boolean;
  time: boolean;
}

const WORKER_FIELDS: ReadonlyMap<string, (worker: WorkerView) => string> = new Map([
  ['sid', (worker: WorkerView) => worker.sid],
  ['friendly_name', (worker: WorkerView) => worker.friendlyName],
  ['activity_sid', (worker: WorkerView) => worker.activitySid],
  ['activity_name', (worker: WorkerView) => worker.activityName],
]);

const ACTIVITY_FIELDS: ReadonlySet<string> = new Set(['activity_sid', 'activity_name']);

const CHANNEL_FIELDS: ReadonlyMap<string, (channel: ChannelView) => number> = new Map([
  ['configured_capacity', (channel: ChannelView) => channel.configuredCapacity],
  ['assigned_tasks', (channel: ChannelView) => channel.assignedTasks],
  ['available_capacity_percentage', (channel: ChannelView) => channel.availableCapacityPercentage],
]);

/** An Activity SID as spec §1.1 writes it: `WA` and 32 hex digits (in any case). */
const ACTIVITY_SID = /^WA[0-9a-fA-F]{32}$/;

const TARGET_REASON = 'in a workflow target expression every key starts with "task." or "worker."';
const SKIP_IF_REASON =
  'a skip_if expression can read only workers.available, workers.unavailable, workers.<ActivitySid> and taskrouter.*';

/** Compiles the keys of one expression for one scope, and records what they depend on. */
export class KeyCompiler {
  readonly dependsOn: Dependencies = { workerActivity: false, workerChannel: false, time: false };
  private readonly source: string;
  private readonly scope: ExpressionScope;

  constructor(source: string, scope: ExpressionScope) {
    this.source = source;
    this.scope = scope;
  }

  /** A closure reading `key` in this scope. @throws {ExpressionSyntaxError} when the scope forbids it. */
  compile(key: KeyNode): ContextReader {
    const [root, ...rest] = key.path;
    if (root === 'taskrouter') return this.timeKey(key, rest);
    switch (this.scope) {
      case 'worker':
        return this.workerReader(root, rest);
      case 'task':
        return this.taskReader(key.path);
      case 'target':
        return this.targetKey(key, root, rest);
      case 'skip_if':
        return this.skipIfKey(key, root, rest);
    }
  }

  private timeKey(key: KeyNode, rest: readonly PathSegment[]): ContextReader {
    const [name] = rest;
    const value = rest.length === 1 && typeof name === 'string' ? TASKROUTER_TIME_VALUES.get(name) : undefined;
    if (value === undefined) {
      throw this.keyError(key, 'Unknown key', `taskrouter offers ${TASKROUTER_TIME_KEYS.join(', ')}`);
    }
    this.dependsOn.time = true;
    return (context) => value(context.nowMs);
  }

  private taskReader(path: readonly PathSegment[]): ContextReader {
    const read = compilePath(path);
    return (context) => read(context.task);
  }

  /** A worker attribute path with the field fallback of spec §3.1. */
  private workerReader(name: string, rest: readonly PathSegment[]): ContextReader {
    const field = WORKER_FIELDS.get(name);
    if (ACTIVITY_FIELDS.has(name)) this.dependsOn.workerActivity = true;
    const readRest = compilePath(rest);
    return (context) => {
      const worker = context.worker;
      if (worker === undefined) return undefined;
      const own = ownValue(worker.attributes, name);
      return readRest(own === undefined && field !== undefined ? field(worker) : own);
    };
  }

  private targetKey(key: KeyNode, root: string, rest: readonly PathSegment[]): ContextReader {
    const [name, ...tail] = rest;
    if ((root !== 'task' && root !== 'worker') || typeof name !== 'string') {
      throw this.keyError(key, 'Key not allowed', TARGET_REASON);
    }
    if (root === 'task') return this.taskReader(rest);
    return this.channelKey(rest) ?? this.workerReader(name, tail);
  }

  /** `worker.channel.<unique_name>.<field>` → the channel's state; undefined for any other path. */
  private channelKey(rest: readonly PathSegment[]): ContextReader | undefined {
    const [channel, uniqueName, fieldName, ...more] = rest;
    if (channel !== 'channel' || typeof uniqueName !== 'string' || typeof fieldName !== 'string' || more.length > 0) {
      return undefined;
    }
    const field = CHANNEL_FIELDS.get(fieldName);
    if (field === undefined) return undefined;
    this.dependsOn.workerChannel = true;
    return (context) => {
      const state = context.worker?.channel(uniqueName);
      return state === undefined ? undefined : field(state);
    };
  }

  private skipIfKey(key: KeyNode, root: string, rest: readonly PathSegment[]): ContextReader {
    const [name] = rest;
    if (root !== 'workers' || rest.length !== 1 || typeof name !== 'string') {
      throw this.keyError(key, 'Key not allowed', SKIP_IF_REASON);
    }
    if (name === 'available') return (context) => context.workers?.available;
    if (name === 'unavailable') return (context) => context.workers?.unavailable;
    if (!ACTIVITY_SID.test(name)) {
      throw this.keyError(key, 'Unknown worker count', `"${name}" is not an Activity SID (WA and 32 hex digits); ${SKIP_IF_REASON}`);
    }
    // SIDs are generated with lowercase hex (spec §1.1); accept any case as written.
    const activitySid = `WA${name.slice(2).toLowerCase()}`;
    return (context) => context.workers?.byActivitySid(activitySid);
  }

  private keyError(key: KeyNode, problem: string, reason: string): ExpressionSyntaxError {
    const text = this.source.slice(key.start, key.end);
    return new ExpressionSyntaxError({
      expression: this.source,
      position: key.start,
      problem: `${problem} ${JSON.stringify(text)}`,
      reason,
    });
  }
}
