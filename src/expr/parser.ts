/**
 * Recursive-descent parser for TaskRouter expressions (spec §3.2):
 *
 * ```
 * expr       := or
 * or         := and { OR and }
 * and        := unary { AND unary }
 * unary      := NOT unary | primary              (NOT may repeat: NOT NOT vip)
 * primary    := "(" expr ")" | comparison
 * comparison := operand [ op operand ]
 * op         := == | = | != | > | >= | < | <= | CONTAINS | HAS | >- | IN | <- | NOT IN
 * operand    := string | number | true | false | null | array | key
 * array      := "[" [ operand { "," operand } ] "]"
 * ```
 *
 * Precedence is therefore parentheses, comparisons, NOT, AND, OR. A comparison has one operator
 * (`a == b == c` is an error) and an operand is never parenthesised (`(a) == 1` is an error).
 * Nesting of parentheses, NOT and arrays is limited to {@link MAX_NESTING} levels so a hostile
 * expression cannot exhaust the stack.
 */
import { tokenize } from './lexer.ts';
import type { Keyword, SymbolText, Token } from './lexer.ts';
import { ExpressionSyntaxError } from './syntax-error.ts';
import type { ArrayNode, ComparisonOperator, ExpressionNode, KeyNode, OperandNode } from './syntax-tree.ts';

/** Deepest nesting of parentheses, NOT and arrays one expression may use. */
export const MAX_NESTING = 100;

/**
 * Longest expression, in characters (UTF-16 code units, white space included). Twilio documents
 * no figure; ours matches the attribute limit (4,096, TaskRouter resource limits) and bounds the
 * work of parsing and of each evaluation (docs/compatibility.md "Limits").
 */
export const MAX_EXPRESSION_LENGTH = 4_096;

const SYMBOL_OPERATORS: ReadonlyMap<SymbolText, ComparisonOperator> = new Map<SymbolText, ComparisonOperator>([
  ['==', '=='],
  ['=', '=='],
  ['!=', '!='],
  ['>', '>'],
  ['>=', '>='],
  ['<', '<'],
  ['<=', '<='],
  ['>-', 'HAS'],
  ['<-', 'IN'],
]);

const KEYWORD_OPERATORS: ReadonlyMap<Keyword, ComparisonOperator> = new Map<Keyword, ComparisonOperator>([
  ['CONTAINS', 'CONTAINS'],
  ['HAS', 'HAS'],
  ['IN', 'IN'],
]);

const VALUE_REASON = 'expected a value: a string, a number, true, false, null, an array or a key';

/**
 * Parses a whole expression into a syntax tree (spec §3.2) with 0-based source spans on every node.
 * An empty or whitespace-only source is an error: callers decide what an empty TargetWorkers means.
 * @throws {ExpressionSyntaxError} with the position of the first offending character or token.
 */
export function parseExpression(source: string): ExpressionNode {
  checkLength(source);
  return new Parser(source).parseWhole();
}

/**
 * Parses a source that must be exactly one key, such as `task.agents[0]` (surrounding whitespace
 * is allowed). Used for known-worker references (spec §4.1).
 * @throws {ExpressionSyntaxError} when the source is anything else.
 */
export function parseKey(source: string): KeyNode {
  checkLength(source);
  return new Parser(source).parseSingleKey();
}

/** @throws {ExpressionSyntaxError} at the first character past {@link MAX_EXPRESSION_LENGTH}. */
function checkLength(source: string): void {
  if (source.length <= MAX_EXPRESSION_LENGTH) return;
  throw new ExpressionSyntaxError({
    expression: source,
    position: MAX_EXPRESSION_LENGTH,
    problem: `Expression of ${source.length} characters`,
    reason: `an expression may hold at most ${MAX_EXPRESSION_LENGTH} characters`,
  });
}

/** Describes a token for an "Unexpected …" headline, using the text as written. */
export function describeToken(token: Token, source: string): string {
  const text = source.slice(token.start, token.end);
  const shown = text.length > 32 ? `${text.slice(0, 31)}…` : text;
  switch (token.kind) {
    case 'end':
      return 'Unexpected end of expression';
    case 'string':
      return `Unexpected string ${shown}`;
    case 'number':
      return `Unexpected number ${shown}`;
    case 'key':
      return `Unexpected key ${JSON.stringify(shown)}`;
    default:
      return `Unexpected ${JSON.stringify(shown)}`;
  }
}

class Parser {
  private readonly source: string;
  private readonly tokens: readonly Token[];
  private readonly endToken: Token;
  private index = 0;
  private depth = 0;

  constructor(source: string) {
    this.source = source;
    this.tokens = tokenize(source);
    this.endToken = { kind: 'end', start: source.length, end: source.length };
  }

  parseWhole(): ExpressionNode {
    if (this.peek().kind === 'end') throw this.fail(this.peek(), 'Empty expression', 'write a condition such as type == "support"');
    const node = this.parseOr();
    const rest = this.peek();
    if (rest.kind !== 'end') throw this.unexpected(rest, this.reasonAfterCondition(rest));
    return node;
  }

  parseSingleKey(): KeyNode {
    const token = this.peek();
    if (token.kind === 'end') throw this.fail(token, 'Empty key reference', 'write a key such as task.agent_sid');
    if (token.kind !== 'key') throw this.unexpected(token, 'expected a key such as task.agent_sid');
    this.advance();
    const rest = this.peek();
    if (rest.kind !== 'end') throw this.unexpected(rest, 'a key reference is a single key such as task.agent_sid');
    return { kind: 'key', path: token.path, start: token.start, end: token.end };
  }

  // ── conditions ────────────────────────────────────────────────────────────

  private parseOr(): ExpressionNode {
    return this.parseLogical('OR', () => this.parseAnd());
  }

  private parseAnd(): ExpressionNode {
    return this.parseLogical('AND', () => this.parseUnary());
  }

  /** `operand { keyword operand }`, flattened into one node when the keyword appears. */
  private parseLogical(keyword: 'AND' | 'OR', parseOperand: () => ExpressionNode): ExpressionNode {
    const start = this.peek().start;
    const first = parseOperand();
    const operands = [first];
    while (this.atKeyword(keyword)) {
      this.advance();
      operands.push(parseOperand());
    }
    if (operands.length === 1) return first;
    return { kind: keyword === 'AND' ? 'and' : 'or', operands, start, end: this.previousEnd() };
  }

  private parseUnary(): ExpressionNode {
    if (!this.atKeyword('NOT')) return this.parsePrimary();
    const not = this.advance();
    this.enter(not);
    const operand = this.parseUnary();
    this.depth--;
    return { kind: 'not', operand, start: not.start, end: this.previousEnd() };
  }

  private parsePrimary(): ExpressionNode {
    if (!this.atSymbol('(')) return this.parseComparison();
    const open = this.advance();
    this.enter(open);
    const inner = this.parseOr();
    this.expectSymbol(')', `expected AND, OR or ")" to close the "(" at position ${open.start}`);
    this.depth--;
    return inner;
  }

  private parseComparison(): ExpressionNode {
    const left = this.parseOperand();
    const operatorStart = this.peek().start;
    const operator = this.parseOperator();
    if (operator === undefined) return left;
    const right = this.parseOperand();
    return { kind: 'comparison', operator, operatorStart, left, right, start: left.start, end: right.end };
  }

  /** Consumes and returns the operator at the cursor, or undefined when there is none. */
  private parseOperator(): ComparisonOperator | undefined {
    const token = this.peek();
    const operator =
      token.kind === 'symbol' ? SYMBOL_OPERATORS.get(token.symbol) : token.kind === 'keyword' ? KEYWORD_OPERATORS.get(token.keyword) : undefined;
    if (operator !== undefined) {
      this.advance();
      return operator;
    }
    if (!this.atKeyword('NOT')) return undefined;
    this.advance();
    const next = this.peek();
    if (next.kind !== 'keyword' || next.keyword !== 'IN') throw this.unexpected(next, 'after a value, NOT can only start NOT IN');
    this.advance();
    return 'NOT IN';
  }

  // ── operands ──────────────────────────────────────────────────────────────

  private parseOperand(): OperandNode {
    const token = this.peek();
    if (token.kind === 'string' || token.kind === 'number') {
      this.advance();
      return { kind: 'literal', value: token.value, start: token.start, end: token.end };
    }
    if (token.kind === 'key') {
      this.advance();
      return { kind: 'key', path: token.path, start: token.start, end: token.end };
    }
    if (token.kind === 'keyword' && (token.keyword === 'TRUE' || token.keyword === 'FALSE' || token.keyword === 'NULL')) {
      this.advance();
      const value = token.keyword === 'NULL' ? null : token.keyword === 'TRUE';
      return { kind: 'literal', value, start: token.start, end: token.end };
    }
    if (token.kind === 'symbol' && token.symbol === '[') return this.parseArray();
    throw this.unexpected(token, VALUE_REASON);
  }

  private parseArray(): ArrayNode {
    const open = this.advance();
    this.enter(open);
    const elements: OperandNode[] = [];
    if (!this.atSymbol(']')) {
      elements.push(this.parseOperand());
      while (this.atSymbol(',')) {
        this.advance();
        elements.push(this.parseOperand());
      }
    }
    this.expectSymbol(']', `expected "," or "]" to close the "[" at position ${open.start}`);
    this.depth--;
    return { kind: 'array', elements, start: open.start, end: this.previousEnd() };
  }

  // ── cursor helpers ────────────────────────────────────────────────────────

  private peek(): Token {
    // The token list ends with `end` and the cursor never moves past it, so the fallback is never used.
    return this.tokens[this.index] ?? this.endToken;
  }

  private advance(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private previousEnd(): number {
    return this.tokens[this.index - 1]?.end ?? 0;
  }

  private atKeyword(keyword: Keyword): boolean {
    const token = this.peek();
    return token.kind === 'keyword' && token.keyword === keyword;
  }

  private atSymbol(symbol: SymbolText): boolean {
    const token = this.peek();
    return token.kind === 'symbol' && token.symbol === symbol;
  }

  private expectSymbol(symbol: SymbolText, reason: string): void {
    if (!this.atSymbol(symbol)) throw this.unexpected(this.peek(), reason);
    this.advance();
  }

  /** Counts one more level of nesting at `token`, failing past {@link MAX_NESTING}. */
  private enter(token: Token): void {
    this.depth++;
    if (this.depth > MAX_NESTING) {
      throw this.fail(token, 'Too deeply nested', `at most ${MAX_NESTING} levels of parentheses, NOT and arrays are allowed`);
    }
  }

  private reasonAfterCondition(token: Token): string {
    const isOperator =
      (token.kind === 'symbol' && SYMBOL_OPERATORS.has(token.symbol)) || (token.kind === 'keyword' && KEYWORD_OPERATORS.has(token.keyword));
    if (isOperator) {
      const previous = this.tokens[this.index - 1];
      return previous?.kind === 'symbol' && previous.symbol === ')'
        ? 'parentheses group conditions, not values: write (a == 1), not (a) == 1'
        : 'a comparison has exactly one operator; join comparisons with AND or OR';
    }
    if (token.kind === 'symbol' && token.symbol === ')') return 'this ")" has no matching "("';
    return 'expected an operator, AND, OR or the end of the expression';
  }

  private unexpected(token: Token, reason: string): ExpressionSyntaxError {
    return this.fail(token, describeToken(token, this.source), reason);
  }

  private fail(token: Token, problem: string, reason: string): ExpressionSyntaxError {
    return new ExpressionSyntaxError({ expression: this.source, position: token.start, problem, reason });
  }
}
