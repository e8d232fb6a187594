/**
 * A workflow target's `order_by` (spec §3.4): which eligible worker is offered a task first.
 *
 * Syntax: comma-separated clauses `worker.<path> [ASC|DESC]`; the direction is case-insensitive and
 * defaults to ASC. `<path>` reads the worker's attributes (names and `[index]` as in keys).
 *
 * Comparison, clause by clause:
 * - both workers have an integer: smaller first (ASC) or larger first (DESC);
 * - one has an integer and the other is missing it (missing key or JSON null): the one with the
 *   value first, in both directions;
 * - anything else (a string, a decimal, a boolean, an array, or both missing) ignores the clause for
 *   this pair. OUR CHOICE: a missing value facing a non-integer is ignored too, since neither worker
 *   has an integer to order by.
 * Because clauses are skipped per pair, mixed-type attributes can make the order non-transitive;
 * the engine picks its best worker by pairwise comparison, which stays well defined.
 */
import { tokenize } from './lexer.ts';
import type { Token } from './lexer.ts';
import { describeToken } from './parser.ts';
import { readPath } from './paths.ts';
import { ExpressionSyntaxError } from './syntax-error.ts';
import type { OrderByClause, WorkerView } from './types.ts';
import { isNull } from './values.ts';

const CLAUSE_REASON = 'each order_by clause is worker.<attribute> optionally followed by ASC or DESC, e.g. worker.level DESC';

/**
 * Parses an `order_by` string such as `worker.level DESC, worker.langs[0]` into clauses (spec §3.4):
 * `[{ path: ["level"], descending: true }, { path: ["langs", 0], descending: false }]`.
 * @throws {ExpressionSyntaxError} with the position of the offending token (an empty string included).
 */
export function parseOrderBy(source: string): OrderByClause[] {
  const tokens = tokenize(source);
  const endToken: Token = { kind: 'end', start: source.length, end: source.length };
  let index = 0;
  const next = (): Token => tokens[index++] ?? endToken;
  const clauses: OrderByClause[] = [];
  for (;;) {
    const path = attributePath(next(), source, clauses.length === 0);
    let token = next();
    const direction = directionOf(token);
    if (direction !== undefined) token = next();
    clauses.push({ path, descending: direction === 'desc' });
    if (token.kind === 'end') return clauses;
    if (token.kind !== 'symbol' || token.symbol !== ',') {
      throw orderByError(source, token, describeToken(token, source), 'expected ASC, DESC, "," or the end of order_by');
    }
  }
}

/** The attribute path of `worker.<path>`, or an error naming the token. */
function attributePath(token: Token, source: string, isFirst: boolean): OrderByClause['path'] {
  if (token.kind === 'end') throw orderByError(source, token, isFirst ? 'Empty order_by' : 'Unexpected end of order_by');
  const [root, name, ...rest] = token.kind === 'key' ? token.path : [];
  if (root !== 'worker' || typeof name !== 'string') throw orderByError(source, token, describeToken(token, source));
  return [name, ...rest];
}

function orderByError(source: string, token: Token, problem: string, reason = CLAUSE_REASON): ExpressionSyntaxError {
  return new ExpressionSyntaxError({ expression: source, position: token.start, problem, reason });
}

/** `asc` / `desc` when the token is a one-word key spelling a direction in any case. */
function directionOf(token: Token | undefined): 'asc' | 'desc' | undefined {
  if (token?.kind !== 'key' || token.path.length !== 1) return undefined;
  const word = token.path[0].toLowerCase();
  return word === 'asc' || word === 'desc' ? word : undefined;
}

/**
 * Orders two workers by `clauses` (spec §3.4): negative when `a` comes first, positive when `b`
 * does, 0 on a full tie (the engine then applies its longest-idle tie break, spec §7.2).
 */
export function compareWorkersByOrderBy(clauses: readonly OrderByClause[], a: WorkerView, b: WorkerView): number {
  for (const clause of clauses) {
    const order = compareClause(clause, readPath(a.attributes, clause.path), readPath(b.attributes, clause.path));
    if (order !== 0) return order;
  }
  return 0;
}

function compareClause(clause: OrderByClause, a: unknown, b: unknown): number {
  const aIsInteger = Number.isInteger(a);
  const bIsInteger = Number.isInteger(b);
  if (aIsInteger && bIsInteger) {
    const ascending = Math.sign((a as number) - (b as number));
    return clause.descending ? -ascending : ascending;
  }
  if (aIsInteger && isNull(b)) return -1;
  if (bIsInteger && isNull(a)) return 1;
  return 0;
}
