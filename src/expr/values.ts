/**
 * How values compare: the evaluation rules of spec §3.3, as plain functions over JSON values.
 *
 * Value kinds: NULL (`null` or `undefined`: a missing key, JSON null, an index out of range),
 * scalars (string, number, boolean) and compound values (arrays and objects).
 *
 * 1. Scalar operators (`== != > >= < <= CONTAINS`) with a compound value on either side are false.
 *    This rule comes before rule 3, so `skills != null` is false when `skills` is an array
 *    (OUR CHOICE: the spec lists `!=` under rule 1; test presence with `skills HAS …` or a count).
 *    OUR CHOICE: objects count as compound like arrays (`customer == null` and `customer != null`
 *    are both false).
 * 2. `HAS` needs an array on the left, `IN` / `NOT IN` an array on the right; otherwise false.
 * 3. `x == null` holds only for NULL; `!=` is the negation of `==` for non-compound values; ordering
 *    and CONTAINS with NULL are false; `NULL IN array` is false and `NULL NOT IN array` is true.
 *    OUR CHOICE, for symmetry with IN: `array HAS null` is false.
 * 4. Number vs numeric string compares numerically. A string is numeric when it is written like a
 *    number literal of the language (`6`, `-1.5`, `.5`, `0800`); OUR CHOICE: no spaces, no `+`, no
 *    exponent, so `" 6"`, `"+6"`, `"1e3"` and `""` are not numeric. Two strings compare by Unicode
 *    code point (`"10" > "9"` is false). A boolean equals only the same boolean; OUR CHOICE:
 *    ordering with a boolean is false.
 * 5. CONTAINS is a case-sensitive substring test; a number takes its JavaScript string form
 *    (`0800` is the number 800, so its form is `"800"`). OUR CHOICE: booleans never contain.
 * 6. Membership uses `==` on each element. OUR CHOICE: arrays never equal anything, not even an
 *    equal array, so `[[1,2]] HAS [1,2]` and `[1,2] IN [[1,2]]` are false (rule 1 applied to elements).
 * 7. Only `true` is truthy (handled by the compiler).
 */
import type { ComparisonOperator } from './syntax-tree.ts';

type OperatorRule = (left: unknown, right: unknown) => boolean;

const NUMERIC_STRING = /^-?(?:\d+(?:\.\d+)?|\.\d+)$/;

export function isNull(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/** Arrays and objects: values the scalar operators reject (rule 1). */
function isCompound(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

function isScalar(value: unknown): value is string | number | boolean {
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean';
}

/** The number a numeric string stands for, or NaN (rule 4). */
function numericValue(text: string): number {
  return NUMERIC_STRING.test(text) ? Number(text) : Number.NaN;
}

/** The `==` rule for any two values (rules 1, 3, 4): compound values equal nothing. */
function valuesEqual(left: unknown, right: unknown): boolean {
  if (typeof left === 'string') {
    if (typeof right === 'string') return left === right;
    return typeof right === 'number' && numericValue(left) === right;
  }
  if (typeof left === 'number') {
    if (typeof right === 'number') return left === right;
    return typeof right === 'string' && left === numericValue(right);
  }
  if (typeof left === 'boolean') return left === right;
  if (isNull(left)) return isNull(right);
  return false;
}

/**
 * Orders two values (rules 1, 3, 4): negative, zero or positive, or NaN when they cannot be
 * ordered (NULL, compound, boolean, or a number against a non-numeric string). Every ordering
 * operator is false on NaN.
 */
function compareValues(left: unknown, right: unknown): number {
  if (typeof left === 'string' && typeof right === 'string') return compareCodePoints(left, right);
  const a = numberForOrdering(left, right);
  const b = numberForOrdering(right, left);
  return a < b ? -1 : a > b ? 1 : a === b ? 0 : Number.NaN;
}

/** A number, or a numeric string facing a number (rule 4); NaN for anything else. */
function numberForOrdering(value: unknown, other: unknown): number {
  if (typeof value === 'number') return value;
  return typeof value === 'string' && typeof other === 'number' ? numericValue(value) : Number.NaN;
}

/**
 * Compares strings by Unicode code point rather than UTF-16 code unit: the two differ only when a
 * surrogate pair (a code point above U+FFFF) meets a code unit in U+E000–U+FFFF.
 */
function compareCodePoints(left: string, right: string): number {
  if (left === right) return 0;
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const a = left.charCodeAt(i);
    const b = right.charCodeAt(i);
    if (a !== b) return codePointOrder(a) - codePointOrder(b);
  }
  return left.length - right.length;
}

/** Moves surrogates (U+D800–U+DFFF) above U+E000–U+FFFF, which gives code point order. */
function codePointOrder(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** The text CONTAINS works on (rule 5), or undefined for values it rejects. */
function containsForm(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : undefined;
}

function contains(left: unknown, right: unknown): boolean {
  const haystack = containsForm(left);
  const needle = containsForm(right);
  return haystack !== undefined && needle !== undefined && haystack.includes(needle);
}

/** True when some element of `array` is `==` to `value` (rule 6). */
function isMember(array: readonly unknown[], value: unknown): boolean {
  for (const element of array) {
    if (valuesEqual(element, value)) return true;
  }
  return false;
}

function has(left: unknown, right: unknown): boolean {
  return Array.isArray(left) && !isNull(right) && isMember(left, right);
}

function isIn(left: unknown, right: unknown): boolean {
  return Array.isArray(right) && isScalar(left) && isMember(right, left);
}

function isNotIn(left: unknown, right: unknown): boolean {
  if (!Array.isArray(right)) return false;
  if (isNull(left)) return true;
  return isScalar(left) && !isMember(right, left);
}

function notEqual(left: unknown, right: unknown): boolean {
  return !isCompound(left) && !isCompound(right) && !valuesEqual(left, right);
}

/** Each comparison operator as a function of its two operand values (spec §3.3). */
export const OPERATOR_RULES: Readonly<Record<ComparisonOperator, OperatorRule>> = {
  '==': valuesEqual,
  '!=': notEqual,
  '>': (left, right) => compareValues(left, right) > 0,
  '>=': (left, right) => compareValues(left, right) >= 0,
  '<': (left, right) => compareValues(left, right) < 0,
  '<=': (left, right) => compareValues(left, right) <= 0,
  CONTAINS: contains,
  HAS: has,
  IN: isIn,
  'NOT IN': isNotIn,
};
