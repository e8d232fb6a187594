/**
 * Reading key paths out of JSON documents (spec §3.2): nested keys, 0-based array indexes,
 * out of range and missing → `undefined` (the evaluator treats `undefined` and `null` as NULL).
 *
 * Only own properties are read, so `constructor` or `__proto__` never reach `Object.prototype`.
 * OUR CHOICE: a name reads only plain objects and an index only arrays, so `skills.length`,
 * `type[0]` and `customer[0]` are NULL rather than JavaScript's answers.
 */
import type { PathSegment } from './syntax-tree.ts';

/** Reads one step of a path; `undefined` when the step does not apply to the value. */
type PathStep = (value: unknown) => unknown;

/** True for a JSON object (not null, not an array). */
function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `record[key]` when `key` is the record's own property, else `undefined`. */
export function ownValue(record: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Follows `path` from `root` (a slow, interpreted path walk; used by `order_by`). */
export function readPath(root: unknown, path: readonly PathSegment[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === undefined) return undefined;
    value = readSegment(value, segment);
  }
  return value;
}

function readSegment(value: unknown, segment: PathSegment): unknown {
  if (typeof segment === 'number') return Array.isArray(value) ? (value as readonly unknown[])[segment] : undefined;
  return isRecord(value) ? ownValue(value, segment) : undefined;
}

const identity: PathStep = (value) => value;

/** Builds a closure that follows `path`, specialised for the short paths expressions use. */
export function compilePath(path: readonly PathSegment[]): PathStep {
  const steps = path.map(stepFor);
  const [first, second, third] = steps;
  if (first === undefined) return identity;
  if (second === undefined) return first;
  if (third === undefined) return (value) => second(first(value));
  return (value) => {
    let current = value;
    for (const step of steps) current = step(current);
    return current;
  };
}

function stepFor(segment: PathSegment): PathStep {
  if (typeof segment === 'number') {
    return (value) => (Array.isArray(value) ? (value as readonly unknown[])[segment] : undefined);
  }
  return (value) => (isRecord(value) && Object.hasOwn(value, segment) ? value[segment] : undefined);
}
