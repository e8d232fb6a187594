/**
 * The contract between the expression language (`src/expr`) and its users (the engine,
 * later the API's list filters). Grammar and evaluation rules: shared/specs/taskrouter-semantics.md §3.
 */

/**
 * Where an expression is written decides what its names resolve to (spec §3.1):
 * - `worker`: TaskQueue `TargetWorkers`, Workers list `TargetWorkersExpression`, TaskQueues list
 *   `EvaluateWorkerAttributes`. Bare keys are worker attributes; when the attributes lack a key and
 *   it is `sid`, `friendly_name`, `activity_sid` or `activity_name`, the worker's own field is used.
 * - `task`: workflow `filters[].expression`, Tasks list `EvaluateTaskAttributes`. Bare keys are task
 *   attributes.
 * - `target`: workflow `targets[].expression`. Every key starts with `task.` or `worker.`
 *   (`worker.sid|friendly_name|activity_sid|activity_name` fall back to the worker's fields as above,
 *   `worker.channel.<unique_name>.{configured_capacity,assigned_tasks,available_capacity_percentage}`
 *   reads the worker's channel state); any other root is a syntax error at compile time.
 * - `skip_if`: only `workers.available`, `workers.unavailable`, `workers.<ActivitySid>` and constants.
 * `taskrouter.currentTime|currentHour|currentMin|dayOfWeek` are allowed in every scope.
 */
export type ExpressionScope = 'worker' | 'task' | 'target' | 'skip_if';

/** A worker's channel as an expression sees it (`worker.channel.<unique_name>.*`). */
export interface ChannelView {
  readonly configuredCapacity: number;
  readonly assignedTasks: number;
  /** 0–100, spec §7.3. */
  readonly availableCapacityPercentage: number;
}

/** What an expression may read of a worker. The engine's worker record implements it. */
export interface WorkerView {
  readonly sid: string;
  readonly friendlyName: string;
  readonly activitySid: string;
  readonly activityName: string;
  /** The parsed JSON attributes document (an object). */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** The worker's channel with this unique name, or undefined when there is none. */
  channel(uniqueName: string): ChannelView | undefined;
}

/** Counts a `skip_if` expression can read, over the members of the step's task queue. */
export interface QueueWorkerCounts {
  readonly available: number;
  readonly unavailable: number;
  /** Members whose current activity has this SID. */
  byActivitySid(activitySid: string): number;
}

/** Everything one evaluation may read. Only the parts the scope needs must be present. */
export interface EvaluationContext {
  /** Epoch milliseconds, for `taskrouter.*` (evaluated in UTC). */
  readonly nowMs: number;
  /** Parsed task attributes (scopes `task` and `target`). */
  readonly task?: Readonly<Record<string, unknown>>;
  /** The worker (scopes `worker` and `target`). */
  readonly worker?: WorkerView;
  /** Queue counts (scope `skip_if`). */
  readonly workers?: QueueWorkerCounts;
}

/** A parsed and compiled expression: evaluation runs closures built once, no tree walking. */
export interface CompiledExpression {
  readonly source: string;
  readonly scope: ExpressionScope;
  /** True when the expression holds for this context (a non-boolean result counts as false, §3.3 rule 7). */
  evaluate(context: EvaluationContext): boolean;
  /** What the result depends on beyond attributes, so callers know when to re-evaluate. */
  readonly dependsOn: {
    /** Reads the worker's activity (`activity_sid`/`activity_name`, bare or `worker.`-prefixed). */
    readonly workerActivity: boolean;
    /** Reads `worker.channel.*`. */
    readonly workerChannel: boolean;
    /** Reads `taskrouter.*`. */
    readonly time: boolean;
  };
}

/** One `order_by` clause (spec §3.4): a path under `worker.` and a direction. */
export interface OrderByClause {
  /** Path inside the worker's attributes, e.g. `["skills", "level"]` or `["langs", 0]`. */
  readonly path: readonly (string | number)[];
  readonly descending: boolean;
}
