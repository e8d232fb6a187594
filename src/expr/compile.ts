/**
 * Compiles a syntax tree into closures (spec §3.3). Evaluation never walks the tree: every key
 * path, operator and AND/OR chain becomes a small function once, at compile time.
 *
 * Constant folding: comparisons whose operands are both constants, arrays of constants, NOT of a
 * constant and AND/OR with constant members are decided at compile time. Every key is still
 * compiled first, so scope errors are reported even in a branch that folding removes.
 */
import { KeyCompiler } from './keys.ts';
import type { ContextReader } from './keys.ts';
import { parseExpression, parseKey } from './parser.ts';
import { compilePath } from './paths.ts';
import { ExpressionSyntaxError } from './syntax-error.ts';
import type { ArrayNode, ComparisonNode, ExpressionNode, LogicalNode, OperandNode } from './syntax-tree.ts';
import type { CompiledExpression, EvaluationContext, ExpressionScope } from './types.ts';
import { OPERATOR_RULES } from './values.ts';

type Predicate = (context: EvaluationContext) => boolean;

/** An operand after compilation: a constant value, or a reader for values known only at run time. */
type CompiledOperand = { readonly constant: true; readonly value: unknown } | { readonly constant: false; readonly read: ContextReader };

/** A condition after compilation: a decided result, or a predicate to run. */
type CompiledCondition = { readonly constant: true; readonly value: boolean } | { readonly constant: false; readonly test: Predicate };

/**
 * Parses and compiles `source` for `scope` (spec §3.1–§3.3).
 * `evaluate(context)` is true when the expression holds; `dependsOn` says whether the result
 * can change with the worker's activity, its channels or the time of day.
 * @throws {ExpressionSyntaxError} for a syntax error, an empty expression, or a key the scope forbids.
 */
export function compileExpression(source: string, scope: ExpressionScope): CompiledExpression {
  const keys = new KeyCompiler(source, scope);
  const condition = compileCondition(parseExpression(source), keys);
  return Object.freeze({
    source,
    scope,
    evaluate: toPredicate(condition),
    dependsOn: Object.freeze({ ...keys.dependsOn }),
  });
}

/**
 * Compiles a known-worker reference such as `task.agent_sid` or `task.agents[0]` (spec §4.1) into
 * a reader over the task's attributes. The reader returns `null` when the path is missing.
 * @throws {ExpressionSyntaxError} unless `source` is one key starting with `task.`.
 */
export function compileKeyReference(source: string): (task: Readonly<Record<string, unknown>>) => unknown {
  const key = parseKey(source);
  const [root, name, ...rest] = key.path;
  if (root !== 'task' || typeof name !== 'string') {
    throw new ExpressionSyntaxError({
      expression: source,
      position: key.start,
      problem: `Key not allowed ${JSON.stringify(source.slice(key.start, key.end))}`,
      reason: 'a known-worker reference reads the task, e.g. task.agent_sid',
    });
  }
  const read = compilePath([name, ...rest]);
  return (task) => read(task) ?? null;
}

function toPredicate(condition: CompiledCondition): Predicate {
  if (!condition.constant) return condition.test;
  const value = condition.value;
  return () => value;
}

// ── conditions ──────────────────────────────────────────────────────────────

function compileCondition(node: ExpressionNode, keys: KeyCompiler): CompiledCondition {
  switch (node.kind) {
    case 'and':
    case 'or':
      return compileLogical(node, keys);
    case 'not':
      return compileNot(compileCondition(node.operand, keys));
    case 'comparison':
      return compileComparison(node, keys);
    default:
      return compileBareOperand(compileOperand(node, keys));
  }
}

function constantCondition(value: boolean): CompiledCondition {
  return { constant: true, value };
}

function compileNot(inner: CompiledCondition): CompiledCondition {
  if (inner.constant) return constantCondition(!inner.value);
  const test = inner.test;
  return { constant: false, test: (context) => !test(context) };
}

/** Rule 7: a bare operand holds only when its value is `true`. */
function compileBareOperand(operand: CompiledOperand): CompiledCondition {
  if (operand.constant) return constantCondition(operand.value === true);
  const read = operand.read;
  return { constant: false, test: (context) => read(context) === true };
}

/**
 * AND / OR with short-circuit. A member equal to the "absorbing" value (false for AND, true for
 * OR) decides the whole node; members equal to the neutral value are dropped.
 */
function compileLogical(node: LogicalNode, keys: KeyCompiler): CompiledCondition {
  const isAnd = node.kind === 'and';
  const members = node.operands.map((operand) => compileCondition(operand, keys));
  const tests: Predicate[] = [];
  for (const member of members) {
    if (!member.constant) tests.push(member.test);
    else if (member.value !== isAnd) return constantCondition(member.value);
  }
  if (tests.length === 0) return constantCondition(isAnd);
  return { constant: false, test: isAnd ? allOf(tests) : anyOf(tests) };
}

function allOf(tests: readonly Predicate[]): Predicate {
  const [a, b, c, ...more] = tests;
  if (a === undefined || b === undefined) return a ?? (() => true);
  if (c === undefined) return (context) => a(context) && b(context);
  if (more.length === 0) return (context) => a(context) && b(context) && c(context);
  return (context) => tests.every((test) => test(context));
}

function anyOf(tests: readonly Predicate[]): Predicate {
  const [a, b, c, ...more] = tests;
  if (a === undefined || b === undefined) return a ?? (() => false);
  if (c === undefined) return (context) => a(context) || b(context);
  if (more.length === 0) return (context) => a(context) || b(context) || c(context);
  return (context) => tests.some((test) => test(context));
}

/** Binds the operator's rule to its operands, specialising for a constant side. */
function compileComparison(node: ComparisonNode, keys: KeyCompiler): CompiledCondition {
  const rule = OPERATOR_RULES[node.operator];
  const left = compileOperand(node.left, keys);
  const right = compileOperand(node.right, keys);
  if (left.constant && right.constant) return constantCondition(rule(left.value, right.value));
  if (right.constant) {
    const readLeft = readerOf(left);
    const value = right.value;
    return { constant: false, test: (context) => rule(readLeft(context), value) };
  }
  const readRight = readerOf(right);
  if (left.constant) {
    const value = left.value;
    return { constant: false, test: (context) => rule(value, readRight(context)) };
  }
  const readLeft = readerOf(left);
  return { constant: false, test: (context) => rule(readLeft(context), readRight(context)) };
}

// ── operands ────────────────────────────────────────────────────────────────

function compileOperand(node: OperandNode, keys: KeyCompiler): CompiledOperand {
  switch (node.kind) {
    case 'literal':
      return { constant: true, value: node.value };
    case 'key':
      return { constant: false, read: keys.compile(node) };
    case 'array':
      return compileArray(node, keys);
  }
}

function readerOf(operand: CompiledOperand): ContextReader {
  if (!operand.constant) return operand.read;
  const value = operand.value;
  return () => value;
}

/** An array of constants is one frozen constant; otherwise the array is built per evaluation. */
function compileArray(node: ArrayNode, keys: KeyCompiler): CompiledOperand {
  const elements = node.elements.map((element) => compileOperand(element, keys));
  if (elements.every((element) => element.constant)) {
    return { constant: true, value: Object.freeze(elements.map((element) => (element.constant ? element.value : undefined))) };
  }
  const readers = elements.map(readerOf);
  return {
    constant: false,
    read: (context) => readers.map((read) => read(context)),
  };
}
