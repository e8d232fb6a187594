/**
 * The one error the expression language throws (STYLE.md "Errors": `ExpressionSyntaxError` gives
 * the position). Lexer, parser, scope checks and `order_by` parsing all report through it, so a
 * caller needs a single `instanceof` to turn any bad expression into a 400/20001 (spec §4.1).
 */

/** What went wrong, where, and why. */
export interface SyntaxProblem {
  /** The whole source text that was being read. */
  readonly expression: string;
  /** 0-based offset of the offending character or token (the source length for "unexpected end"). */
  readonly position: number;
  /** A short headline, e.g. `Unexpected "-"` or `Unterminated string starting`. */
  readonly problem: string;
  /** What the rule is or what to write instead, e.g. `keys may contain letters, digits, "_" and "$" only`. */
  readonly reason: string;
}

/**
 * A bad expression. The message reads
 * `Unexpected "-" at position 5 in expression "skill-level > 3": keys may contain letters, digits, "_" and "$" only`.
 */
export class ExpressionSyntaxError extends Error {
  readonly expression: string;
  readonly position: number;
  readonly reason: string;
  /** The headline before "at position", e.g. `Unexpected "-"`. */
  readonly problem: string;

  constructor(details: SyntaxProblem) {
    super(`${details.problem} at position ${details.position} in expression ${JSON.stringify(shortened(details.expression))}: ${details.reason}`);
    this.name = 'ExpressionSyntaxError';
    this.expression = details.expression;
    this.position = details.position;
    this.reason = details.reason;
    this.problem = details.problem;
  }
}

/** The expression as a message quotes it: at most {@link QUOTED_LENGTH} characters, then `…`. */
function shortened(expression: string): string {
  return expression.length <= QUOTED_LENGTH ? expression : `${expression.slice(0, QUOTED_LENGTH - 1)}…`;
}

/** Longest stretch of an expression an error message quotes (the rest is elided): messages stay small. */
const QUOTED_LENGTH = 200;
