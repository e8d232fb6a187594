/**
 * Workflow configuration: validation and compilation (spec §4.1). A configuration is checked
 * completely before it is accepted; every error names its JSON path, e.g.
 * `task_routing.filters[1].targets[0].timeout must be a positive whole number of seconds`.
 */
import { compileExpression, compileKeyReference, parseOrderBy, ExpressionSyntaxError } from '../expr/index.ts';
import type { CompiledExpression, OrderByClause } from '../expr/types.ts';

/** One step of a filter. */
export interface RoutingStep {
  queueSid: string;
  /** Priority the task takes at this step; null keeps its current priority. */
  priority: number | null;
  /** Seconds this step adds to the filter's cumulative deadline; null makes the step terminal. */
  timeoutS: number | null;
  expression: CompiledExpression | null;
  orderBy: OrderByClause[] | null;
  skipIf: CompiledExpression | null;
  /** Known-worker reference (`known_worker_sid` or `known_worker_friendly_name`). */
  knownWorker: { read: (task: Readonly<Record<string, unknown>>) => unknown; byName: boolean } | null;
}

export interface RoutingFilter {
  friendlyName: string | null;
  expression: CompiledExpression;
  steps: RoutingStep[];
}

/** A validated configuration, ready for routing. */
export interface RoutingPlan {
  filters: RoutingFilter[];
  defaultFilter: { queueSid: string; priority: number | null } | null;
  /** Every task queue the plan can send a task to. */
  queueSids: Set<string>;
}

/** Thrown by {@link compileWorkflowConfiguration} with a path-qualified message. */
export class WorkflowConfigurationError extends Error {}

const MAX_CONFIGURATION_BYTES = 1_038_576;
/**
 * Filters per workflow and targets per filter. Twilio documents only the configuration's size;
 * these are ours (docs/compatibility.md "Limits"): a task is matched against the filters in
 * order, so their number bounds the routing work of every task.
 */
export const MAX_WORKFLOW_FILTERS = 1_000;
export const MAX_FILTER_TARGETS = 100;

/**
 * Parses and validates a workflow configuration JSON string (spec §4.1).
 * `queueExists(sid)` tells whether a task queue SID belongs to this workspace.
 * Throws {@link WorkflowConfigurationError} naming the first problem found.
 */
export function compileWorkflowConfiguration(json: string, queueExists: (sid: string) => boolean): RoutingPlan {
  if (utf8Length(json) > MAX_CONFIGURATION_BYTES) {
    fail('', `is larger than ${MAX_CONFIGURATION_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (error) {
    throw new WorkflowConfigurationError(`Configuration is not valid JSON: ${(error as Error).message}`);
  }
  const root = objectAt(doc, 'configuration');
  const routing = objectAt(root['task_routing'], 'task_routing');
  const queueSids = new Set<string>();
  const filtersValue = routing['filters'] ?? [];
  if (!Array.isArray(filtersValue)) fail('task_routing.filters', 'must be an array');
  if (filtersValue.length > MAX_WORKFLOW_FILTERS) fail('task_routing.filters', `may hold at most ${MAX_WORKFLOW_FILTERS} filters (got ${filtersValue.length})`);
  const filters = filtersValue.map((f, i) => compileFilter(f, `task_routing.filters[${i}]`, queueExists, queueSids));
  let defaultFilter: RoutingPlan['defaultFilter'] = null;
  if (routing['default_filter'] !== undefined && routing['default_filter'] !== null) {
    const d = objectAt(routing['default_filter'], 'task_routing.default_filter');
    const queueSid = queueAt(d['queue'], 'task_routing.default_filter.queue', queueExists);
    queueSids.add(queueSid);
    defaultFilter = { queueSid, priority: optionalInteger(d['priority'], 'task_routing.default_filter.priority', 0) };
  }
  if (filters.length === 0 && defaultFilter === null) {
    fail('task_routing', 'needs at least one filter or a default_filter');
  }
  return { filters, defaultFilter, queueSids };
}

function compileFilter(
  value: unknown,
  path: string,
  queueExists: (sid: string) => boolean,
  queueSids: Set<string>,
): RoutingFilter {
  const f = objectAt(value, path);
  const friendlyName = f['filter_friendly_name'] ?? f['friendly_name'] ?? null;
  if (friendlyName !== null && typeof friendlyName !== 'string') fail(`${path}.filter_friendly_name`, 'must be a string');
  const expression = expressionAt(f['expression'], `${path}.expression`, 'task', true) as CompiledExpression;
  const targets = f['targets'];
  if (!Array.isArray(targets) || targets.length === 0) fail(`${path}.targets`, 'must be a non-empty array');
  if (targets.length > MAX_FILTER_TARGETS) fail(`${path}.targets`, `may hold at most ${MAX_FILTER_TARGETS} targets (got ${targets.length})`);
  const steps: RoutingStep[] = [];
  targets.forEach((t, i) => {
    const tp = `${path}.targets[${i}]`;
    const target = objectAt(t, tp);
    const inherited = steps[i - 1]?.queueSid;
    const queueSid =
      target['queue'] === undefined && inherited !== undefined ? inherited : queueAt(target['queue'], `${tp}.queue`, queueExists);
    queueSids.add(queueSid);
    const sidRef = target['known_worker_sid'];
    const nameRef = target['known_worker_friendly_name'];
    if (sidRef !== undefined && nameRef !== undefined) {
      fail(tp, 'may set known_worker_sid or known_worker_friendly_name, not both');
    }
    let knownWorker: RoutingStep['knownWorker'] = null;
    if (sidRef !== undefined || nameRef !== undefined) {
      const refPath = `${tp}.${sidRef !== undefined ? 'known_worker_sid' : 'known_worker_friendly_name'}`;
      const ref = sidRef ?? nameRef;
      if (typeof ref !== 'string') fail(refPath, 'must be a string such as "task.agent_sid"');
      knownWorker = { read: guardSyntax(refPath, () => compileKeyReference(ref)), byName: sidRef === undefined };
    }
    let orderBy: OrderByClause[] | null = null;
    if (target['order_by'] !== undefined && target['order_by'] !== null) {
      const source = target['order_by'];
      if (typeof source !== 'string') fail(`${tp}.order_by`, 'must be a string such as "worker.level DESC"');
      orderBy = guardSyntax(`${tp}.order_by`, () => parseOrderBy(source));
    }
    steps.push({
      queueSid,
      priority: optionalInteger(target['priority'], `${tp}.priority`, 0),
      timeoutS: optionalInteger(target['timeout'], `${tp}.timeout`, 1),
      expression: expressionAt(target['expression'], `${tp}.expression`, 'target', false),
      orderBy,
      skipIf: expressionAt(target['skip_if'], `${tp}.skip_if`, 'skip_if', false),
      knownWorker,
    });
  });
  return { friendlyName: friendlyName as string | null, expression, steps };
}

function fail(path: string, problem: string): never {
  throw new WorkflowConfigurationError(path === '' ? `Configuration ${problem}` : `Configuration ${path} ${problem}`);
}

function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be a JSON object');
  return value as Record<string, unknown>;
}

function queueAt(value: unknown, path: string, queueExists: (sid: string) => boolean): string {
  if (typeof value !== 'string' || value === '') fail(path, 'must be a TaskQueue SID');
  if (!queueExists(value)) fail(path, `names TaskQueue ${value}, which does not exist in this workspace`);
  return value;
}

function expressionAt(value: unknown, path: string, scope: 'task' | 'target' | 'skip_if', required: boolean): CompiledExpression | null {
  if (value === undefined || value === null) {
    if (required) fail(path, 'is required');
    return null;
  }
  if (typeof value !== 'string') fail(path, 'must be a string');
  if (!required && value.trim() === '') return null;
  return guardSyntax(path, () => compileExpression(value, scope));
}

function guardSyntax<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) fail(path, `is invalid: ${error.message}`);
    throw error;
  }
}

/** An integer given as a number or a numeric string (spec §4.1), at least `min`; null if absent. */
function optionalInteger(value: unknown, path: string, min: number): number | null {
  if (value === undefined || value === null) return null;
  const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) {
    fail(path, min > 0 ? 'must be a positive whole number of seconds' : `must be a whole number ≥ ${min}`);
  }
  return n;
}

/** Bytes `text` takes in UTF-8 (pure: no Buffer). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
