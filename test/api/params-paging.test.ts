/** Pure helpers of the API: parameter parsing, If-Match, SIDs, pages and rejection mapping. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { page } from '../../src/api/paging.ts';
import { ifMatch, normalizeSid, Params, parseBoolean } from '../../src/api/params.ts';
import { isoDate } from '../../src/api/serializers.ts';
import { ApiError, fromRejection } from '../../src/api/twilio-errors.ts';

function fails(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ApiError && e.status === 400 && e.code === 20001 && e.field === field && e.message.includes(field));
}

test('booleans: true/false/1/0/yes/no in any case, nothing else', () => {
  for (const v of ['true', 'TRUE', '1', 'yes', 'Yes']) assert.equal(parseBoolean(v), true);
  for (const v of ['false', 'False', '0', 'no', 'NO']) assert.equal(parseBoolean(v), false);
  for (const v of ['', 'y', 'on', '2']) assert.equal(parseBoolean(v), undefined);
  fails(() => new Params({ Available: 'on' }).boolean('Available'), 'Available');
});

test('integers, SIDs, JSON, dates and repeated keys are checked and named', () => {
  const p = new Params({ N: ' 42 ', Bad: '4.5', Big: '99', Sid: 'wk' + 'A'.repeat(32), Json: '{"a":1}', BadJson: '{', D: '2026-11-21T09:00:00Z', BadD: 'yesterday', Twice: ['a', 'b'], Once: ['a'] });
  assert.equal(p.integer('N'), 42);
  fails(() => p.integer('Bad'), 'Bad');
  fails(() => p.integer('Big', 0, 50), 'Big');
  assert.equal(p.sid('Sid', 'WK'), 'WK' + 'a'.repeat(32));
  fails(() => p.sid('Sid', 'WA'), 'Sid');
  assert.equal(p.json('Json'), '{"a":1}');
  fails(() => p.json('BadJson'), 'BadJson');
  assert.equal(p.date('D'), Date.UTC(2026, 10, 21, 9));
  fails(() => p.date('BadD'), 'BadD');
  fails(() => p.string('Twice'), 'Twice');
  assert.equal(p.string('Once'), 'a');
  assert.deepEqual(p.all('Twice'), ['a', 'b']);
  fails(() => new Params({}).requiredString('FriendlyName'), 'FriendlyName');
  fails(() => p.oneOf('N', ['FIFO', 'LIFO']), 'N');
});

test('If-Match takes a number, quoted or not; SIDs normalize; dates are ISO with Z and whole seconds', () => {
  assert.equal(ifMatch(undefined), undefined);
  assert.equal(ifMatch('3'), 3);
  assert.equal(ifMatch('"7"'), 7);
  assert.equal(ifMatch('W/"8"'), 8);
  assert.throws(() => ifMatch('abc'), (e: unknown) => e instanceof ApiError && e.status === 400);
  assert.equal(normalizeSid('ws' + 'ABC'.padEnd(32, 'F')), 'WS' + 'abc'.padEnd(32, 'f'));
  assert.equal(normalizeSid('default'), 'default');
  assert.equal(isoDate(Date.UTC(2014, 4, 14, 18, 50, 2, 999)), '2014-05-14T18:50:02Z');
  assert.equal(isoDate(null), null);
});

test('pages: cursors forward and back, filters echoed, bounds checked', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  const req = (query: Record<string, string>) => ({ listUrl: 'https://x/v1/L', query: new Params(query), key: 'things' });
  const p0 = page(req({ Foo: 'a b', PageSize: '2' }), items, (s) => s, (s) => s);
  assert.deepEqual(p0['things'], ['a', 'b']);
  const m0 = p0['meta'] as Record<string, unknown>;
  assert.equal(m0['next_page_url'], 'https://x/v1/L?Foo=a%20b&PageSize=2&Page=1&PageToken=PAb');
  assert.equal(m0['previous_page_url'], null);
  const p1 = page(req({ Foo: 'a b', PageSize: '2', Page: '1', PageToken: 'PAb' }), items, (s) => s, (s) => s);
  assert.deepEqual(p1['things'], ['c', 'd']);
  assert.equal((p1['meta'] as Record<string, unknown>)['previous_page_url'], 'https://x/v1/L?Foo=a%20b&PageSize=2&Page=0&PageToken=PBc');
  const back = page(req({ PageSize: '2', PageToken: 'PBc' }), items, (s) => s, (s) => s);
  assert.deepEqual(back['things'], ['a', 'b']);
  const last = page(req({ PageSize: '2', Page: '2', PageToken: 'PAd' }), items, (s) => s, (s) => s);
  assert.deepEqual(last['things'], ['e']);
  assert.equal((last['meta'] as Record<string, unknown>)['next_page_url'], null);
  const gone = page(req({ PageSize: '2', Page: '1', PageToken: 'PAzz' }), items, (s) => s, (s) => s);
  assert.deepEqual(gone['things'], ['c', 'd'], 'a vanished cursor falls back to the page number');
  fails(() => page(req({ PageToken: 'XYZ' }), items, (s) => s, (s) => s), 'PageToken');
  fails(() => page(req({ PageSize: '1001' }), items, (s) => s, (s) => s), 'PageSize');
});

test('rejections map to Twilio status and code', () => {
  const cases: [Parameters<typeof fromRejection>[0]['code'], number, number][] = [
    ['invalid_parameter', 400, 20001],
    ['duplicate', 400, 20001],
    ['in_use', 400, 20001],
    ['invalid_state', 400, 20001],
    ['limit_exceeded', 400, 20001],
    ['not_found', 404, 20404],
    ['reservation_not_pending', 410, 20410],
    ['version_mismatch', 412, 20412],
    ['window_too_old', 400, 14241],
  ];
  for (const [code, status, twilio] of cases) {
    const e = fromRejection({ code, message: 'm' });
    assert.deepEqual([e.status, e.code], [status, twilio], code);
  }
  const param = fromRejection({ code: 'not_found', message: 'Workflow WW… was not found', field: 'WorkflowSid' }, new Set(['WorkflowSid']));
  assert.deepEqual([param.status, param.code], [400, 20001], 'a missing resource named in the body is a bad parameter');
});
