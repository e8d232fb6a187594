/**
 * Look-ups and input checks shared by the engine's commands. Each check throws a
 * `RejectionError` (through `reject`) naming the offending field and the reason, before the
 * command has changed anything; the limits come from limits.ts (spec §1.3, §1.4).
 */
import { compileExpression, ExpressionSyntaxError } from '../expr/index.ts';
import type { CompiledExpression } from '../expr/types.ts';
import { LIMITS } from './limits.ts';
import type { ActivityRecord, TaskChannelRecord, TaskRecord, WorkerRecord, WorkflowRecord } from './model.ts';
import type { QueueIndex } from './queue-index.ts';
import { reject } from './rejections.ts';
import { compileWorkflowConfiguration, WorkflowConfigurationError, type RoutingPlan } from './workflow-config.ts';
import { findChannel, type EngineState } from './state.ts';

/** The worker with this SID, or a `not_found` rejection naming `field`. */
export function workerOrReject(state: EngineState, sid: string, field = 'WorkerSid'): WorkerRecord {
  return state.workers.get(sid) ?? reject('not_found', `Worker ${sid} was not found in workspace ${state.workspace.sid}`, field);
}

/** The task with this SID, or a `not_found` rejection naming TaskSid. */
export function taskOrReject(state: EngineState, sid: string): TaskRecord {
  return state.tasks.get(sid) ?? reject('not_found', `Task ${sid} was not found in workspace ${state.workspace.sid}`, 'TaskSid');
}

/** The task queue (with its indexes) with this SID, or a `not_found` rejection naming `field`. */
export function queueOrReject(state: EngineState, sid: string, field = 'TaskQueueSid'): QueueIndex {
  return state.queues.get(sid) ?? reject('not_found', `TaskQueue ${sid} was not found in workspace ${state.workspace.sid}`, field);
}

/** The workflow with this SID, or a `not_found` rejection naming `field`. */
export function workflowOrReject(state: EngineState, sid: string, field = 'WorkflowSid'): WorkflowRecord {
  return state.workflows.get(sid) ?? reject('not_found', `Workflow ${sid} was not found in workspace ${state.workspace.sid}`, field);
}

/** The activity with this SID, or an `invalid_parameter` rejection naming `field` (a reference in another resource). */
export function activityOrReject(state: EngineState, sid: string, field: string): ActivityRecord {
  return state.activities.get(sid) ?? reject('invalid_parameter', `${field} ${sid} is not an activity of workspace ${state.workspace.sid}`, field);
}

/** A live task channel by SID or unique name (spec §1.2), or an `invalid_parameter` rejection naming `field`. */
export function channelOrReject(state: EngineState, ref: string, field: string): TaskChannelRecord {
  return findChannel(state, ref) ?? reject('invalid_parameter', `${field} ${ref} is not a task channel SID or unique name in this workspace`, field);
}

/** A non-blank friendly name of at most `LIMITS.friendlyNameLength` characters, or an `invalid_parameter` rejection. */
export function checkFriendlyName(name: unknown, field = 'FriendlyName'): string {
  if (typeof name !== 'string' || name.trim() === '') reject('invalid_parameter', `${field} is required and must not be empty`, field);
  if (name.length > LIMITS.friendlyNameLength) {
    reject('invalid_parameter', `${field} must be at most ${LIMITS.friendlyNameLength} characters (got ${name.length})`, field);
  }
  return name;
}

/** Parses an attributes JSON string: an object of at most 4,096 characters (spec §1.3). */
export function parseAttributes(json: string, field = 'Attributes'): Record<string, unknown> {
  if (json.length > LIMITS.attributesLength) {
    reject('invalid_parameter', `${field} must be at most ${LIMITS.attributesLength} characters, white space included (got ${json.length})`, field);
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    reject('invalid_parameter', `${field} is not valid JSON: ${(error as Error).message}`, field);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    reject('invalid_parameter', `${field} must be a JSON object`, field);
  }
  return value as Record<string, unknown>;
}

/** Rejects with `version_mismatch` when an If-Match version is given and differs from the resource's `version`. */
export function checkVersion(ifMatch: number | undefined, version: number, what: string): void {
  if (ifMatch !== undefined && ifMatch !== version) {
    reject('version_mismatch', `${what} is at version ${version}, not ${ifMatch} as If-Match requires`, 'If-Match');
  }
}

/** Rejects unless `value` is a safe integer in [`min`, `max`]; `field` names the parameter. */
export function checkInteger(value: number, field: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    reject('invalid_parameter', `${field} must be a whole number from ${min} to ${max} (got ${value})`, field);
  }
}

/** Compiles a TargetWorkers expression; empty or null means nobody is eligible. */
export function compileTargetWorkers(source: string | null): CompiledExpression | null {
  if (source === null || source.trim() === '') return null;
  try {
    return compileExpression(source, 'worker');
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) reject('invalid_parameter', `TargetWorkers is invalid: ${error.message}`, 'TargetWorkers');
    throw error;
  }
}

/** Compiles a workflow Configuration against the workspace's queues, or an `invalid_parameter` rejection naming Configuration. */
export function compilePlan(state: EngineState, configuration: string): RoutingPlan {
  try {
    return compileWorkflowConfiguration(configuration, (sid) => state.queues.has(sid));
  } catch (error) {
    if (error instanceof WorkflowConfigurationError) reject('invalid_parameter', error.message, 'Configuration');
    throw error;
  }
}
