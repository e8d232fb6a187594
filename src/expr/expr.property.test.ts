/**
 * Properties of the expression language (fast-check). The first is the one STYLE.md asks for:
 * whatever the input, parsing and compiling either succeed or throw an ExpressionSyntaxError whose
 * position lies inside the source; a compiled expression always evaluates to a boolean.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ExpressionSyntaxError,
  compileExpression,
  compileKeyReference,
  parseExpression,
  parseOrderBy,
  taskrouterCurrentHour,
  taskrouterCurrentMin,
  taskrouterCurrentTime,
  taskrouterDayOfWeek,
} from './index.ts';
import type { EvaluationContext, ExpressionScope } from './index.ts';

const SCOPES: readonly ExpressionScope[] = ['worker', 'task', 'target', 'skip_if'];

const ATTRIBUTES = { a: 1, b: 'x', c: [1, 'x', null], d: { e: true }, skills: ['billing'], level: 3, agent_sid: 'WK1' };

const CONTEXT: EvaluationContext = {
  nowMs: Date.UTC(2024, 0, 3, 14, 5),
  task: ATTRIBUTES,
  worker: {
    sid: 'WK1',
    friendlyName: 'Alice',
    activitySid: 'WA1',
    activityName: 'Available',
    attributes: ATTRIBUTES,
    channel: () => ({ configuredCapacity: 2, assignedTasks: 1, availableCapacityPercentage: 50 }),
  },
  workers: { available: 1, unavailable: 2, byActivitySid: () => 3 },
};

/** Fragments that make random strings look like expressions, so the parser goes deep. */
const FRAGMENTS = [
  '(', ')', '[', ']', ',', ' ', '==', '=', '!=', '>', '>=', '<', '<=', '>-', '<-', '!', '-', '.', '\\', '"', "'",
  'AND', 'or', 'NOT', 'in', 'HAS', 'contains', 'true', 'FALSE', 'null', '1', '-2', '.5', '0800', '1.', 'a', 'a.b',
  'c[0]', 'c[', 'task.a', 'worker.skills', 'worker.channel.voice.assigned_tasks', 'workers.available',
  'taskrouter.currentTime', 'taskrouter.x', '"s"', "'t'", '"\\u00e9"', '"\\q"', 'skill-level', 'é', '😀',
];

const expressionLike = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 24 }).map((parts) => parts.join(''));
const anyText = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), expressionLike);

/** Runs `attempt`; any error other than a well-formed ExpressionSyntaxError fails the property. */
function onlySyntaxErrors(source: string, attempt: () => void): void {
  try {
    attempt();
  } catch (error) {
    assert.ok(error instanceof ExpressionSyntaxError, `threw ${String(error)} for ${JSON.stringify(source)}`);
    assert.equal(error.expression, source);
    assert.ok(error.position >= 0 && error.position <= source.length, `position ${error.position} outside ${JSON.stringify(source)}`);
    assert.ok(error.message.includes(`at position ${error.position}`));
  }
}

describe('parser robustness', () => {
  test('parseExpression throws only ExpressionSyntaxError', () => {
    fc.assert(fc.property(anyText, (source) => onlySyntaxErrors(source, () => parseExpression(source))), { numRuns: 3000 });
  });

  test('compiled expressions evaluate to a boolean in every scope', () => {
    fc.assert(
      fc.property(anyText, (source) => {
        for (const scope of SCOPES) {
          onlySyntaxErrors(source, () => assert.equal(typeof compileExpression(source, scope).evaluate(CONTEXT), 'boolean'));
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('parseOrderBy and compileKeyReference throw only ExpressionSyntaxError', () => {
    fc.assert(
      fc.property(anyText, (source) => {
        onlySyntaxErrors(source, () => parseOrderBy(source));
        onlySyntaxErrors(source, () => compileKeyReference(source)(ATTRIBUTES));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('evaluation laws', () => {
  const scalar = fc.oneof(
    fc.integer({ min: -20, max: 20 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom('6', '06', '6.0', '-1', '.5', 'abc', '', ' 6', 'true'),
    fc.string({ maxLength: 4 }),
    fc.boolean(),
  );
  const value = fc.oneof(scalar, fc.constant(null), fc.array(scalar, { maxLength: 3 }));
  const evaluate = (expression: string, attributes: Record<string, unknown>): boolean =>
    compileExpression(expression, 'task').evaluate({ nowMs: 0, task: attributes });

  test('== and != are complements unless a side is an array (then both are false)', () => {
    fc.assert(
      fc.property(value, value, (x, y) => {
        const equal = evaluate('x == y', { x, y });
        const notEqual = evaluate('x != y', { x, y });
        return Array.isArray(x) || Array.isArray(y) ? !equal && !notEqual : equal !== notEqual;
      }),
    );
  });

  test('x IN list agrees with list HAS x, and NOT IN negates IN for non-null scalars', () => {
    fc.assert(
      fc.property(scalar, fc.array(fc.oneof(scalar, fc.constant(null)), { maxLength: 5 }), (x, list) => {
        const isIn = evaluate('x IN list', { x, list });
        return isIn === evaluate('list HAS x', { x, list }) && isIn === !evaluate('x NOT IN list', { x, list });
      }),
    );
  });

  test('x < y agrees with y > x, and <= is < or == for strings and numbers', () => {
    const orderable = fc.oneof(fc.integer({ min: -20, max: 20 }), fc.constantFrom('6', '06', '-1', 'abc', ''), fc.string({ maxLength: 3 }));
    fc.assert(
      fc.property(orderable, orderable, (x, y) => {
        const less = evaluate('x < y', { x, y });
        return less === evaluate('y > x', { x, y }) && evaluate('x <= y', { x, y }) === (less || evaluate('x == y', { x, y }));
      }),
    );
  });
});

describe('taskrouter time helpers agree with Date in UTC', () => {
  const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  test('for any instant between 1900 and 2200', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) }), (nowMs) => {
        const date = new Date(nowMs);
        const hour = date.getUTCHours();
        const minute = date.getUTCMinutes();
        assert.equal(taskrouterCurrentTime(nowMs), hour * 100 + minute);
        assert.equal(taskrouterCurrentHour(nowMs), String(hour).padStart(2, '0'));
        assert.equal(taskrouterCurrentMin(nowMs), String(minute).padStart(2, '0'));
        assert.equal(taskrouterDayOfWeek(nowMs), DAYS[date.getUTCDay()]);
      }),
      { numRuns: 2000 },
    );
  });
});
