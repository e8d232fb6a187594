/**
 * List filters and orderings shared by the list endpoints (spec §2): `Ordering` parsing and
 * expression filters (`TargetWorkersExpression`, `EvaluateWorkerAttributes`,
 * `EvaluateTaskAttributes`), each refused with 400/20001 naming the parameter when malformed.
 */
import { compileExpression, ExpressionSyntaxError, type CompiledExpression, type ExpressionScope } from '../expr/index.ts';
import type { Params } from './params.ts';
import { badParameter } from './twilio-errors.ts';

export interface OrderClause {
  field: string;
  desc: boolean;
}

/** `Field:asc|desc` comma-separated, fields from `allowed`. */
export function parseOrdering(q: Params, allowed: readonly string[]): OrderClause[] | undefined {
  const v = q.string('Ordering');
  if (v === undefined) return undefined;
  const out: OrderClause[] = [];
  for (const part of v.split(',')) {
    const [field = '', dir = 'asc', extra] = part.trim().split(':');
    if (extra !== undefined || !allowed.includes(field) || !/^(asc|desc)$/i.test(dir)) {
      throw badParameter('Ordering', `Ordering must be ${allowed.join('|')}:asc|desc, comma-separated (got '${v}')`);
    }
    out.push({ field, desc: dir.toLowerCase() === 'desc' });
  }
  return out;
}

/** A comparator applying the clauses in order, then `tieBreak`. */
export function comparator<T>(clauses: OrderClause[], key: (item: T, field: string) => number | string, tieBreak: (a: T, b: T) => number): (a: T, b: T) => number {
  return (a, b) => {
    for (const c of clauses) {
      const x = key(a, c.field);
      const y = key(b, c.field);
      if (x !== y) return (x < y ? -1 : 1) * (c.desc ? -1 : 1);
    }
    return tieBreak(a, b);
  };
}

export function compileFilter(q: Params, name: string, scope: ExpressionScope): CompiledExpression | undefined {
  const v = q.string(name);
  if (v === undefined) return undefined;
  try {
    return compileExpression(v, scope);
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) throw badParameter(name, `${name} is not a valid expression: ${error.message}`);
    throw error;
  }
}

/** A JSON object parameter (e.g. `EvaluateWorkerAttributes`). */
export function jsonObject(q: Params, name: string): Record<string, unknown> | undefined {
  const v = q.string(name);
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (error) {
    throw badParameter(name, `${name} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badParameter(name, `${name} must be a JSON object`);
  return parsed as Record<string, unknown>;
}
