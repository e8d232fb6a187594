/**
 * The syntax tree `parseExpression` returns (spec §3.2). Every node carries its 0-based source span
 * `[start, end)`, so later stages (scope checks, API error messages, an expression-test endpoint)
 * can point at the exact text. A parenthesised condition is returned as its inner node: the span of
 * `(a == 1)` is that of `a == 1`, while an AND/OR/NOT node around it includes the parentheses.
 */

/** One step of a key path: a name (`customer`, `tier`) or a 0-based array index (`[1]`). */
export type PathSegment = string | number;

/** A key path always starts with a name: `customer.ids[1]` is `["customer", "ids", 1]`. */
export type KeyPath = readonly [string, ...PathSegment[]];

/** Source span of a node: `start` is the first character, `end` is one past the last. */
export interface SourceSpan {
  readonly start: number;
  readonly end: number;
}

/** Comparison operators after alias resolution (`=` is `==`, `>-` is `HAS`, `<-` is `IN`). */
export type ComparisonOperator = '==' | '!=' | '>' | '>=' | '<' | '<=' | 'CONTAINS' | 'HAS' | 'IN' | 'NOT IN';

/** A scalar constant: string, number, `true`, `false` or `null`. */
export interface LiteralNode extends SourceSpan {
  readonly kind: 'literal';
  readonly value: string | number | boolean | null;
}

/** An array of operands, e.g. `["en", lang, 3]`. */
export interface ArrayNode extends SourceSpan {
  readonly kind: 'array';
  readonly elements: readonly OperandNode[];
}

/** A reference into the evaluation context, resolved per scope at compile time (spec §3.1). */
export interface KeyNode extends SourceSpan {
  readonly kind: 'key';
  readonly path: KeyPath;
}

export type OperandNode = LiteralNode | ArrayNode | KeyNode;

/** `left <operator> right`. `operatorStart` is where the operator text begins. */
export interface ComparisonNode extends SourceSpan {
  readonly kind: 'comparison';
  readonly operator: ComparisonOperator;
  readonly operatorStart: number;
  readonly left: OperandNode;
  readonly right: OperandNode;
}

/** Unary `NOT` (our extension, spec §3.2). */
export interface NotNode extends SourceSpan {
  readonly kind: 'not';
  readonly operand: ExpressionNode;
}

/** `a AND b AND c` or `a OR b OR c`, flattened: `operands` has at least two entries. */
export interface LogicalNode extends SourceSpan {
  readonly kind: 'and' | 'or';
  readonly operands: readonly ExpressionNode[];
}

/** A whole condition. A bare operand (`vip`) is a condition that holds only when it is `true`. */
export type ExpressionNode = LogicalNode | NotNode | ComparisonNode | OperandNode;
