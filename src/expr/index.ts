/**
 * TaskRouter expressions (spec taskrouter-semantics §3): parse to a syntax tree with positions,
 * compile to closures, `order_by`, `skip_if`, and the `taskrouter.*` time values. Pure: no clock,
 * no I/O; time comes in as `EvaluationContext.nowMs`.
 *
 * Pipeline: `lexer.ts` (tokens) → `parser.ts` (syntax tree, `syntax-tree.ts`) → `compile.ts`
 * (closures; keys resolved per scope by `keys.ts`, values compared by `values.ts`).
 */
export type * from './types.ts';
export { ExpressionSyntaxError } from './syntax-error.ts';
export { parseExpression, MAX_EXPRESSION_LENGTH, MAX_NESTING } from './parser.ts';
export type {
  ArrayNode,
  ComparisonNode,
  ComparisonOperator,
  ExpressionNode,
  KeyNode,
  KeyPath,
  LiteralNode,
  LogicalNode,
  NotNode,
  OperandNode,
  PathSegment,
  SourceSpan,
} from './syntax-tree.ts';
export { compileExpression, compileKeyReference } from './compile.ts';
export { parseOrderBy, compareWorkersByOrderBy } from './order-by.ts';
export {
  taskrouterCurrentTime,
  taskrouterCurrentHour,
  taskrouterCurrentMin,
  taskrouterDayOfWeek,
  TASKROUTER_TIME_KEYS,
} from './time.ts';
export type { DayOfWeek, TaskrouterTimeKey } from './time.ts';
