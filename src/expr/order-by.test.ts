/** `order_by` (spec §3.4): parsing rows, comparison rows, and antisymmetry as a property. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExpressionSyntaxError, compareWorkersByOrderBy, parseOrderBy } from './index.ts';
import type { OrderByClause, WorkerView } from './index.ts';

function worker(sid: string, attributes: Record<string, unknown>): WorkerView {
  return {
    sid,
    friendlyName: sid,
    activitySid: 'WA0123456789abcdef0123456789abcdef',
    activityName: 'Available',
    attributes,
    channel: () => undefined,
  };
}

describe('parseOrderBy', () => {
  const PARSE_ROWS: readonly [string, OrderByClause[]][] = [
    ['worker.level DESC', [{ path: ['level'], descending: true }]],
    ['worker.level', [{ path: ['level'], descending: false }]],
    ['worker.level asc', [{ path: ['level'], descending: false }]],
    ['worker.level Desc', [{ path: ['level'], descending: true }]],
    [
      'worker.skills.level DESC, worker.langs[0]',
      [
        { path: ['skills', 'level'], descending: true },
        { path: ['langs', 0], descending: false },
      ],
    ],
    [
      '  worker.a   DESC  ,worker.b ASC,worker.c  ',
      [
        { path: ['a'], descending: true },
        { path: ['b'], descending: false },
        { path: ['c'], descending: false },
      ],
    ],
  ];
  for (const [source, expected] of PARSE_ROWS) {
    test(`${JSON.stringify(source)}`, () => assert.deepEqual(parseOrderBy(source), expected));
  }

  const ERROR_ROWS: readonly [string, number, string][] = [
    ['', 0, 'Empty order_by'],
    ['level DESC', 0, 'Unexpected key "level"'],
    ['worker.level UP', 13, 'Unexpected key "UP"'],
    ['worker.level DESC,', 18, 'Unexpected end of order_by'],
    ['worker.level DESC worker.x', 18, 'expected ASC, DESC, ","'],
    ['worker', 0, 'worker.<attribute>'],
    ['worker.level-x', 12, 'keys may contain'],
    ['task.level', 0, 'Unexpected key "task.level"'],
    ['worker.level DESC DESC', 18, 'Unexpected key "DESC"'],
    ['DESC', 0, 'Unexpected key "DESC"'],
    ['worker.level, , worker.x', 14, 'Unexpected ","'],
  ];
  for (const [source, position, message] of ERROR_ROWS) {
    test(`${JSON.stringify(source)} fails at ${position}`, () => {
      assert.throws(
        () => parseOrderBy(source),
        (error: unknown) =>
          error instanceof ExpressionSyntaxError && error.position === position && error.message.includes(message),
      );
    });
  }
});

describe('compareWorkersByOrderBy', () => {
  const ASC = parseOrderBy('worker.level');
  const DESC = parseOrderBy('worker.level DESC');
  /** [label, clauses, a's attributes, b's attributes, sign of the expected result]. */
  const COMPARE_ROWS: readonly [string, OrderByClause[], Record<string, unknown>, Record<string, unknown>, -1 | 0 | 1][] = [
    ['ASC: smaller first', ASC, { level: 1 }, { level: 2 }, -1],
    ['DESC: larger first', DESC, { level: 1 }, { level: 2 }, 1],
    ['equal values tie', DESC, { level: 2 }, { level: 2 }, 0],
    ['ASC: missing sorts last', ASC, {}, { level: 9 }, 1],
    ['DESC: missing sorts last', DESC, { level: 1 }, {}, -1],
    ['JSON null counts as missing', DESC, { level: null }, { level: 0 }, 1],
    ['both missing tie', DESC, {}, {}, 0],
    ['numeric string is ignored', DESC, { level: '5' }, { level: 1 }, 0],
    ['decimal is ignored', DESC, { level: 2.5 }, { level: 1 }, 0],
    ['boolean is ignored', DESC, { level: true }, { level: 1 }, 0],
    ['missing vs non-integer is ignored', ASC, {}, { level: 'high' }, 0],
    ['negative integers order', ASC, { level: -3 }, { level: 0 }, -1],
    ['2.0 is an integer', DESC, { level: 2.0 }, { level: 1 }, -1],
    ['second clause breaks a tie', parseOrderBy('worker.level DESC, worker.years ASC'), { level: 2, years: 5 }, { level: 2, years: 3 }, 1],
    ['ignored first clause falls through', parseOrderBy('worker.level DESC, worker.years ASC'), { level: 'x', years: 1 }, { level: 3, years: 3 }, -1],
    ['nested path', parseOrderBy('worker.skills.billing DESC'), { skills: { billing: 4 } }, { skills: { billing: 7 } }, 1],
    ['array index path', parseOrderBy('worker.scores[1]'), { scores: [9, 1] }, { scores: [0, 2] }, -1],
    ['full tie returns 0', parseOrderBy('worker.a, worker.b DESC'), { a: 1, b: 1 }, { a: 1, b: 1 }, 0],
    ['no clauses tie', [], { level: 1 }, { level: 2 }, 0],
    ['sid is not an attribute', parseOrderBy('worker.sid'), {}, {}, 0],
  ];
  for (const [label, clauses, a, b, expected] of COMPARE_ROWS) {
    test(label, () => {
      assert.equal(Math.sign(compareWorkersByOrderBy(clauses, worker('WKa', a), worker('WKb', b))), expected);
    });
  }

  test('sorts a queue of workers', () => {
    const workers = [worker('w1', { level: 2 }), worker('w2', {}), worker('w3', { level: 5 }), worker('w4', { level: 2, years: 9 })];
    const clauses = parseOrderBy('worker.level DESC, worker.years DESC');
    const sorted = [...workers].sort((a, b) => compareWorkersByOrderBy(clauses, a, b)).map((w) => w.sid);
    assert.deepEqual(sorted, ['w3', 'w4', 'w1', 'w2']);
  });

  test('property: the comparison is antisymmetric', () => {
    const value = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constant(null), fc.constant('3'), fc.constant(1.5), fc.constant(undefined));
    const attributes = fc.record({ a: value, b: value }, { requiredKeys: [] });
    const clauses = parseOrderBy('worker.a DESC, worker.b');
    fc.assert(
      fc.property(attributes, attributes, (a, b) => {
        const forward = Math.sign(compareWorkersByOrderBy(clauses, worker('x', a), worker('y', b)));
        const backward = Math.sign(compareWorkersByOrderBy(clauses, worker('y', b), worker('x', a)));
        return forward === -backward;
      }),
    );
  });
});
