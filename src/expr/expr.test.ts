/**
 * Table-driven tests of the expression language: every row of spec §3.5, then our own edge cases
 * for §3.2–§3.3 and the decisions recorded in `values.ts`, `keys.ts` and `lexer.ts`. Each row
 * names its expected result; error rows name the position and a fragment of the message.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ExpressionSyntaxError,
  MAX_NESTING,
  compileExpression,
  compileKeyReference,
  parseExpression,
  taskrouterCurrentHour,
  taskrouterCurrentMin,
  taskrouterCurrentTime,
  taskrouterDayOfWeek,
} from './index.ts';
import type { ChannelView, EvaluationContext, ExpressionScope, QueueWorkerCounts, WorkerView } from './index.ts';

// ── fixtures ────────────────────────────────────────────────────────────────

/** Base task document A of spec §3.5. */
const DOC_A: Record<string, unknown> = {
  type: 'support',
  priority_level: 3,
  lang: 'en',
  skills: ['billing', 'sales'],
  vip: true,
  score: '6',
  customer: { tier: 'gold', ids: [10, 20, 30] },
  note: null,
};

/** A plus the shapes our edge cases need. */
const DOC_B: Record<string, unknown> = {
  ...DOC_A,
  nested: [[1, 2], [3]],
  list: ['a', null, 1, true],
  text: 'Hello, World',
  num: 12345,
  mixed: ['6', 7],
  $key: 1,
  _under: 2,
  tags: ['x-y'],
  quote: 'say "hi"',
  apostrophe: "it's",
  path: 'C:\\dir',
  multiline: 'a\nb',
  big: 800,
  str800: '0800',
  flag: false,
  emptyText: '',
  in: 'keyword-named',
  constructor: 'own',
};

const WEDNESDAY_1405 = Date.UTC(2024, 0, 3, 14, 5);
const NINE_AM = Date.UTC(2024, 0, 3, 9, 0);
const SUNDAY_MIDNIGHT = Date.UTC(2024, 0, 7, 0, 0);
const WORKER_SID = 'WK0123456789abcdef0123456789abcdef';
const ACTIVITY_SID = 'WA0123456789abcdef0123456789abcdef';

interface WorkerInit {
  readonly sid?: string;
  readonly activityName?: string;
  readonly attributes?: Record<string, unknown>;
  readonly channels?: Record<string, ChannelView>;
}

function worker(init: WorkerInit = {}): WorkerView {
  const channels = new Map(Object.entries(init.channels ?? {}));
  return {
    sid: init.sid ?? WORKER_SID,
    friendlyName: 'Alice',
    activitySid: ACTIVITY_SID,
    activityName: init.activityName ?? 'Available',
    attributes: init.attributes ?? {},
    channel: (uniqueName) => channels.get(uniqueName),
  };
}

function counts(available: number, unavailable: number, byActivity: Record<string, number> = {}): QueueWorkerCounts {
  return { available, unavailable, byActivitySid: (sid) => byActivity[sid] ?? 0 };
}

const taskContext = (task: Record<string, unknown>, nowMs = WEDNESDAY_1405): EvaluationContext => ({ nowMs, task });
const workerContext = (view: WorkerView): EvaluationContext => ({ nowMs: WEDNESDAY_1405, worker: view });
const targetContext = (task: Record<string, unknown>, view: WorkerView): EvaluationContext => ({ nowMs: WEDNESDAY_1405, task, worker: view });
const skipContext = (workers: QueueWorkerCounts): EvaluationContext => ({ nowMs: WEDNESDAY_1405, workers });

/** The richest context: constants-only rows run against it in every scope. */
const EVERYTHING: EvaluationContext = { ...targetContext(DOC_A, worker()), workers: counts(1, 1) };

const ALL_SCOPES: readonly ExpressionScope[] = ['worker', 'task', 'target', 'skip_if'];

interface Row {
  readonly id: string;
  readonly expression: string;
  /** `any` runs the row in every scope against {@link EVERYTHING}. */
  readonly scope: ExpressionScope | 'any';
  readonly context: EvaluationContext;
  readonly expected: boolean;
}

const onA = (id: string, expression: string, expected: boolean): Row => ({ id, expression, scope: 'task', context: taskContext(DOC_A), expected });
const onB = (id: string, expression: string, expected: boolean): Row => ({ id, expression, scope: 'task', context: taskContext(DOC_B), expected });
const anywhere = (id: string, expression: string, expected: boolean): Row => ({ id, expression, scope: 'any', context: EVERYTHING, expected });
const at = (id: string, expression: string, nowMs: number, expected: boolean): Row => ({ id, expression, scope: 'task', context: taskContext({}, nowMs), expected });

function runRows(rows: readonly Row[]): void {
  for (const row of rows) {
    const scopes = row.scope === 'any' ? ALL_SCOPES : [row.scope];
    for (const scope of scopes) {
      test(`${row.id} [${scope}] ${row.expression} → ${row.expected}`, () => {
        assert.equal(compileExpression(row.expression, scope).evaluate(row.context), row.expected);
      });
    }
  }
}

// ── spec §3.5 ───────────────────────────────────────────────────────────────

const SPEC_ROWS: readonly Row[] = [
  anywhere('#1', '1 == 1', true),
  anywhere('#2', '0 != 1', true),
  anywhere('#3', `"apple" != 'orange'`, true),
  onA('#4', 'type == "support"', true),
  onA('#5', "type == 'Support'", false),
  onA('#6', 'type = "support"', true),
  onA('#7', 'priority_level > 2', true),
  onA('#8', 'priority_level >= 3 AND lang == "en"', true),
  onA('#9', 'priority_level < 3 OR vip == true', true),
  onA('#10', 'skills HAS "billing"', true),
  onA('#11', 'skills HAS "tech"', false),
  onA('#12', 'skills >- "sales"', true),
  onA('#13', 'lang IN ["en","es"]', true),
  onA('#14', "lang <- ['fr']", false),
  onA('#15', 'lang NOT IN ["fr","de"]', true),
  onA('#16', 'customer.tier == "gold"', true),
  onA('#17', 'customer.ids[1] == 20', true),
  onA('#18', 'customer.ids[5] == 20', false),
  onA('#19', 'missing == null', true),
  onA('#20', 'missing != null', false),
  onA('#21', 'missing > 1', false),
  onA('#22', 'missing != "x"', true),
  onA('#23', 'note == null', true),
  onA('#24', 'score > 5', true),
  onA('#25', 'score == 6', true),
  anywhere('#26', '"10" > "9"', false),
  onA('#27', 'skills == "billing"', false),
  onA('#28', 'lang HAS "en"', false),
  onA('#29', 'skills IN ["billing"]', false),
  onA('#30', 'type CONTAINS "sup"', true),
  onA('#31', 'type CONTAINS "Sup"', false),
  onA('#32', '(lang == "fr" OR lang == "en") AND priority_level >= 3.0', true),
  onA('#33', 'vip == "true"', false),
  onA('#34', 'type == "support" and vip == true', true),
  onA('#35', 'missing NOT IN ["x"]', true),
  anywhere('#36', '1 == 1.0', true),
  {
    id: '#39',
    expression: 'task.required_language IN worker.spoken_languages',
    scope: 'target',
    context: targetContext({ required_language: 'es' }, worker({ attributes: { spoken_languages: ['en', 'es'] } })),
    expected: true,
  },
  {
    id: '#40',
    expression: 'worker.id IN task.preferred_agents',
    scope: 'target',
    context: targetContext({ preferred_agents: ['a1', 'a4'] }, worker({ attributes: { id: 'a4' } })),
    expected: true,
  },
  {
    id: '#41',
    expression: 'worker.id IN task.preferred_agents',
    scope: 'target',
    context: targetContext({}, worker({ attributes: { id: 'a4' } })),
    expected: false,
  },
  {
    id: '#42',
    expression: "worker.activity_name IN ['Available','Busy']",
    scope: 'target',
    context: targetContext({}, worker({ activityName: 'Available' })),
    expected: true,
  },
  {
    id: '#43',
    expression: 'worker.sid == task.worker_sid',
    scope: 'target',
    context: targetContext({ worker_sid: WORKER_SID }, worker()),
    expected: true,
  },
  {
    id: '#44',
    expression: 'worker.channel.chat.available_capacity_percentage <= 50',
    scope: 'target',
    context: targetContext({}, worker({ channels: { chat: { configuredCapacity: 4, assignedTasks: 2, availableCapacityPercentage: 50 } } })),
    expected: true,
  },
  {
    id: '#45',
    expression: 'worker.channel.voice.assigned_tasks == 0',
    scope: 'target',
    context: targetContext({}, worker({ channels: { voice: { configuredCapacity: 1, assignedTasks: 1, availableCapacityPercentage: 0 } } })),
    expected: false,
  },
  { id: '#46', expression: 'workers.available == 0', scope: 'skip_if', context: skipContext(counts(0, 3)), expected: true },
  at('#47', "taskrouter.currentTime > 0800 AND taskrouter.dayOfWeek IN ['Mon','Wed']", WEDNESDAY_1405, true),
  at('#48', 'taskrouter.currentHour > 8', NINE_AM, true),
];

// ── our edge cases ──────────────────────────────────────────────────────────

const STRING_ROWS: readonly Row[] = [
  onB('str-1 escaped double quote', String.raw`quote == "say \"hi\""`, true),
  onB('str-2 escaped single quote', String.raw`apostrophe == 'it\'s'`, true),
  onB('str-3 other quote needs no escape', `apostrophe == "it's"`, true),
  onB('str-4 escaped backslash', String.raw`path == "C:\\dir"`, true),
  onB('str-5 \\n escape', String.raw`multiline == "a\nb"`, true),
  onB('str-6 \\u escape', String.raw`type == "\u0073upport"`, true),
  onB('str-7 \\/ and \\t escapes vs a real tab', '"a\\/b\\tc" == "a/b\tc"', true),
  onB('str-8 hyphen inside a string', 'tags HAS "x-y"', true),
  onB('str-9 strings are case-sensitive', 'type == "SUPPORT"', false),
  onB('str-10 empty string equals only itself', 'emptyText == ""', true),
  onB('str-11 empty string is not 0', 'emptyText == 0', false),
  anywhere('str-12 code point order: upper case first', '"Zebra" < "apple"', true),
  anywhere('str-13 code point order: prefix first', '"abc" < "abcd"', true),
  anywhere('str-14 code point order beyond UTF-16 units', String.raw`"\uffff" < "😀"`, true),
  anywhere('str-15 <= on equal strings', '"a" <= "a"', true),
  anywhere('str-16 non-ASCII compares by code point', '"é" > "z"', true),
];

const NUMBER_ROWS: readonly Row[] = [
  anywhere('num-1 negative literal', '-1 < 0', true),
  anywhere('num-2 leading dot', '.5 == 0.5', true),
  anywhere('num-3 negative leading dot', '-.5 < 0', true),
  anywhere('num-4 leading zeros', '0800 == 800', true),
  anywhere('num-5 more leading zeros', '007 == 7', true),
  anywhere('num-6 trailing zeros', '1.50 == 1.5', true),
  anywhere('num-7 -0 equals 0', '-0 == 0', true),
  onB('num-8 integer attribute vs decimal literal', 'priority_level == 3.0', true),
  onB('num-9 numeric string with leading zero vs number', 'str800 == 800', true),
  onB('num-10 number vs numeric string', 'priority_level == "3.0"', true),
  onB('num-11 number vs numeric string orders numerically', 'priority_level < "10"', true),
  anywhere('num-12 two numeric strings order as text', '"3" < "10"', false),
  onB('num-13 string attribute vs string literal is text', 'score > "10"', true),
  onB('num-14 numeric string vs different spelling', 'score == "6.0"', false),
  anywhere('num-15 exponent strings are not numeric', '"1e3" == 1000', false),
  anywhere('num-16 padded strings are not numeric', '" 6" == 6', false),
  anywhere('num-17 number vs non-numeric string: ordering false', '1 > "abc"', false),
  anywhere('num-18 number vs non-numeric string: != true', '1 != "abc"', true),
  onB('num-19 numeric string >= number', 'score >= 6', true),
  onB('num-20 numeric string <= number', 'score <= 5.5', false),
];

const KEY_ROWS: readonly Row[] = [
  onB('key-1 index 0', 'customer.ids[0] == 10', true),
  onB('key-2 index on a string is NULL', 'customer.tier[0] == null', true),
  onB('key-3 index on a string never equals', 'customer.tier[0] == "g"', false),
  onB('key-4 names do not read arrays', 'customer.ids.length == null', true),
  onB('key-5 index on an object is NULL', 'customer[0] == null', true),
  onB('key-6 nested indexes', 'nested[0][1] == 2', true),
  onB('key-7 deep missing path', 'customer.missing.deep == null', true),
  onB('key-8 keys are case-sensitive', 'Type == "support"', false),
  onB('key-9 $ and _ in names', '$key == 1 AND _under == 2', true),
  onB('key-10 keyword as a later segment is a name', 'customer.in == null', true),
  onB('key-11 own properties only', 'toString == null', true),
  onB('key-12 own property named like a prototype member', 'constructor == "own"', true),
  onB('key-13 object compared with null (compound → false)', 'customer == null', false),
  onB('key-14 object != null is false too', 'customer != null', false),
  onB('key-15 missing key equals JSON null', 'note == missing', true),
];

const MEMBERSHIP_ROWS: readonly Row[] = [
  onB('in-1 IN with an array key on the right', '"x-y" IN tags', true),
  onB('in-2 IN uses numeric == on elements', '6 IN mixed', true),
  onB('in-3 IN numeric string vs number element', '"7" IN mixed', true),
  onB('in-4 IN with a string on the right', '"ell" IN text', false),
  onB('in-5 HAS with an array literal on the right', 'nested HAS [1, 2]', false),
  onB('in-6 array on the left of IN', '[1, 2] IN nested', false),
  anywhere('in-7 nested array element is skipped', '1 IN [[1], 1]', true),
  onB('in-8 boolean element', 'true IN list', true),
  onB('in-9 boolean vs string element', '"true" IN list', false),
  anywhere('in-10 empty array: IN', '1 IN []', false),
  anywhere('in-11 empty array: NOT IN', '1 NOT IN []', true),
  anywhere('in-12 empty array: HAS', '[] HAS 1', false),
  anywhere('in-13 HAS on a literal array', '[1, 2, 3] HAS 2', true),
  onB('in-14 array of keys', '[lang, type] HAS "support"', true),
  onB('in-15 NOT IN with a non-array right side', 'lang NOT IN text', false),
  onB('in-16 NOT IN with an array on the left', 'skills NOT IN ["x"]', false),
  onB('in-17 NOT IN when present', 'lang NOT IN ["en"]', false),
  onB('in-18 lowercase in (Twilio docs style)', 'lang in ["en"]', true),
];

const CONTAINS_ROWS: readonly Row[] = [
  onB('contains-1 number contains number (string forms)', 'num CONTAINS 234', true),
  onB('contains-2 number contains string', 'num CONTAINS "45"', true),
  anywhere('contains-3 string contains number', '"abc123" CONTAINS 12', true),
  anywhere('contains-4 leading zeros vanish from number literals', '"0800" CONTAINS 0800', true),
  onB('contains-5 not a substring', 'text CONTAINS 12', false),
  onB('contains-6 array left', 'skills CONTAINS "bill"', false),
  onB('contains-7 boolean left', 'vip CONTAINS "t"', false),
  onB('contains-8 empty needle', 'text CONTAINS ""', true),
  onB('contains-9 case-sensitive', 'text CONTAINS "world"', false),
];

const NULL_ROWS: readonly Row[] = [
  anywhere('null-1 null == null', 'null == null', true),
  anywhere('null-2 null != null', 'null != null', false),
  onB('null-3 missing != number', 'missing != 1', true),
  onB('null-4 missing >= 1', 'missing >= 1', false),
  onB('null-5 missing < 1', 'missing < 1', false),
  onB('null-6 missing <= 1', 'missing <= 1', false),
  anywhere('null-7 null <= null', 'null <= null', false),
  onB('null-8 missing CONTAINS', 'missing CONTAINS "a"', false),
  onB('null-9 CONTAINS null', 'text CONTAINS null', false),
  onB('null-10 missing HAS', 'missing HAS "a"', false),
  onB('null-11 HAS null (symmetric with NULL IN)', 'list HAS null', false),
  onB('null-12 missing IN array', 'missing IN ["a"]', false),
  onB('null-13 missing IN array holding null', 'missing IN [null]', false),
  onB('null-14 missing NOT IN array holding null', 'missing NOT IN [null]', true),
  onB('null-15 NOT IN a missing array', 'lang NOT IN missing', false),
  onB('null-16 array == null (rule 1)', 'skills == null', false),
  onB('null-17 array != null (rule 1 before rule 3)', 'skills != null', false),
  onB('null-18 JSON null ordering', 'note > 0', false),
];

const BOOLEAN_ROWS: readonly Row[] = [
  onB('bool-1 != false', 'vip != false', true),
  onB('bool-2 booleans do not order', 'vip > false', false),
  onB('bool-3 boolean is not a number', 'vip == 1', false),
  anywhere('bool-4 true is not "true"', 'true == "true"', false),
  onB('bool-5 bare true key', 'vip', true),
  onB('bool-6 bare false key', 'flag', false),
  onB('bool-7 bare string key', 'lang', false),
  anywhere('bool-8 bare number', '1', false),
  anywhere('bool-9 bare string "true"', '"true"', false),
  anywhere('bool-10 bare array', '[true]', false),
  anywhere('bool-11 bare literal true', 'TRUE', true),
  anywhere('bool-12 keywords any case', 'False OR True', true),
];

const LOGIC_ROWS: readonly Row[] = [
  onB('logic-1 doubled parentheses', '((type == "support"))', true),
  onB('logic-2 nested parentheses', '(type == "x" OR (lang == "en" AND (vip)))', true),
  onB('logic-3 NOT of a group', 'NOT (type == "x" OR lang == "fr")', true),
  onB('logic-4 NOT binds looser than a comparison', 'NOT type == "support"', false),
  onB('logic-5 double NOT', 'NOT NOT vip', true),
  onB('logic-6 NOT of NULL', 'NOT missing', true),
  onB('logic-7 NOT binds tighter than AND', 'NOT vip AND lang == "en"', false),
  anywhere('logic-8 AND binds tighter than OR', 'true OR false AND false', true),
  anywhere('logic-9 parentheses override', '(true OR false) AND false', false),
  anywhere('logic-10 OR NOT', 'false OR NOT false', true),
  onB('logic-11 mixed-case keywords', 'type == "support" AnD vip', true),
  onB('logic-12 lowercase not in', 'lang not in ["fr"]', true),
  onB('logic-13 lowercase has', 'skills has "billing"', true),
  onB('logic-14 lowercase contains', 'type contains "port"', true),
  onB('logic-15 TRUE / NULL keywords', 'vip == TRUE AND note == NULL', true),
  onB('logic-16 four-way AND', 'vip AND lang == "en" AND score == 6 AND type != "x"', true),
  onB('logic-17 four-way OR', 'flag OR lang == "x" OR score == 7 OR type == "support"', true),
  onB('logic-18 greedy >- (level>-1 is HAS)', 'priority_level>-1', false),
  onB('logic-19 > -1 with a space', 'priority_level > -1', true),
  onB('logic-20 no spaces needed', 'type=="support"AND(lang<-["en"])', true),
  onB('logic-21 whitespace of every kind', '\ttype\n==\r\n"support"  ', true),
];

const SCOPE_ROWS: readonly Row[] = [
  { id: 'scope-1 worker: sid falls back', expression: `sid == "${WORKER_SID}"`, scope: 'worker', context: workerContext(worker()), expected: true },
  { id: 'scope-2 worker: attribute shadows sid', expression: 'sid == "custom"', scope: 'worker', context: workerContext(worker({ attributes: { sid: 'custom' } })), expected: true },
  { id: 'scope-3 worker: activity_name', expression: 'activity_name == "Available"', scope: 'worker', context: workerContext(worker()), expected: true },
  { id: 'scope-4 worker: friendly_name', expression: 'friendly_name == "Alice"', scope: 'worker', context: workerContext(worker()), expected: true },
  { id: 'scope-5 worker: activity_sid', expression: `activity_sid == "${ACTIVITY_SID}"`, scope: 'worker', context: workerContext(worker()), expected: true },
  { id: 'scope-6 worker: attributes', expression: 'skills HAS "billing" AND level >= 3', scope: 'worker', context: workerContext(worker({ attributes: { skills: ['billing'], level: 3 } })), expected: true },
  { id: 'scope-7 worker: no worker in context', expression: 'level == null', scope: 'worker', context: { nowMs: 0 }, expected: true },
  { id: 'scope-8 target: missing channel is NULL', expression: 'worker.channel.sms.assigned_tasks == null', scope: 'target', context: targetContext({}, worker()), expected: true },
  { id: 'scope-9 target: configured_capacity', expression: 'worker.channel.voice.configured_capacity == 1', scope: 'target', context: targetContext({}, worker({ channels: { voice: { configuredCapacity: 1, assignedTasks: 0, availableCapacityPercentage: 100 } } })), expected: true },
  { id: 'scope-10 target: other worker.channel paths read attributes', expression: 'worker.channel == "sms"', scope: 'target', context: targetContext({}, worker({ attributes: { channel: 'sms' } })), expected: true },
  { id: 'scope-11 target: task nested path', expression: 'task.customer.ids[2] == 30', scope: 'target', context: targetContext(DOC_A, worker()), expected: true },
  { id: 'scope-12 skip_if: unavailable', expression: 'workers.unavailable > 2', scope: 'skip_if', context: skipContext(counts(0, 3)), expected: true },
  { id: 'scope-13 skip_if: by activity', expression: `workers.${ACTIVITY_SID} == 2`, scope: 'skip_if', context: skipContext(counts(0, 0, { [ACTIVITY_SID]: 2 })), expected: true },
  { id: 'scope-14 skip_if: activity SID in upper-case hex', expression: `workers.WA${ACTIVITY_SID.slice(2).toUpperCase()} == 2`, scope: 'skip_if', context: skipContext(counts(0, 0, { [ACTIVITY_SID]: 2 })), expected: true },
  { id: 'scope-15 skip_if: no counts in context', expression: 'workers.available == 0', scope: 'skip_if', context: { nowMs: 0 }, expected: false },
  { id: 'scope-16 task: task. prefix is an ordinary attribute', expression: 'task.type == null', scope: 'task', context: taskContext(DOC_A), expected: true },
];

const TIME_ROWS: readonly Row[] = [
  at('time-1 currentTime is HHMM', 'taskrouter.currentTime == 1405', WEDNESDAY_1405, true),
  at('time-2 currentHour is a string', 'taskrouter.currentHour == "14"', WEDNESDAY_1405, true),
  at('time-3 currentMin keeps its zero', 'taskrouter.currentMin == "05"', WEDNESDAY_1405, true),
  at('time-4 currentMin vs number', 'taskrouter.currentMin == 5', WEDNESDAY_1405, true),
  at('time-5 dayOfWeek', 'taskrouter.dayOfWeek == "Wed"', WEDNESDAY_1405, true),
  at('time-6 midnight is 0', 'taskrouter.currentTime == 0 AND taskrouter.currentHour == "00"', SUNDAY_MIDNIGHT, true),
  at('time-7 Sunday', 'taskrouter.dayOfWeek == "Sun"', SUNDAY_MIDNIGHT, true),
  at('time-8 business hours window', 'taskrouter.currentTime >= 0900 AND taskrouter.currentTime < 1700', NINE_AM, true),
  { id: 'time-9 in worker scope', expression: 'taskrouter.dayOfWeek NOT IN ["Sat","Sun"]', scope: 'worker', context: workerContext(worker()), expected: true },
  { id: 'time-10 in skip_if scope', expression: 'workers.available == 0 OR taskrouter.currentHour >= 18', scope: 'skip_if', context: skipContext(counts(2, 0)), expected: false },
];

describe('spec §3.5 test table', () => runRows(SPEC_ROWS));
describe('strings and escapes', () => runRows(STRING_ROWS));
describe('numbers', () => runRows(NUMBER_ROWS));
describe('keys, nesting and indexes', () => runRows(KEY_ROWS));
describe('HAS, IN and NOT IN', () => runRows(MEMBERSHIP_ROWS));
describe('CONTAINS', () => runRows(CONTAINS_ROWS));
describe('NULL on every operator', () => runRows(NULL_ROWS));
describe('booleans and bare operands', () => runRows(BOOLEAN_ROWS));
describe('NOT, AND, OR, parentheses, keyword case', () => runRows(LOGIC_ROWS));
describe('scopes', () => runRows(SCOPE_ROWS));
describe('taskrouter.* time', () => runRows(TIME_ROWS));

// ── errors ──────────────────────────────────────────────────────────────────

interface ErrorRow {
  readonly id: string;
  readonly expression: string;
  readonly scope: ExpressionScope | 'any';
  readonly position: number;
  /** A fragment the message must contain. */
  readonly message: string;
}

const syntaxError = (id: string, expression: string, position: number, message: string): ErrorRow => ({ id, expression, scope: 'any', position, message });
const scopeError = (id: string, scope: ExpressionScope, expression: string, position: number, message: string): ErrorRow => ({
  id,
  expression,
  scope,
  position,
  message,
});

function assertSyntaxError(run: () => unknown, expression: string, position: number, message: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ExpressionSyntaxError, `expected ExpressionSyntaxError, got ${String(error)}`);
    assert.equal(error.position, position, error.message);
    assert.equal(error.expression, expression);
    assert.ok(error.message.includes(message), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(message)}`);
    assert.ok(error.message.includes(`at position ${position}`));
    return true;
  });
}

const DEEP_OK = `${'('.repeat(MAX_NESTING)}true${')'.repeat(MAX_NESTING)}`;
const DEEP_TOO = `${'('.repeat(MAX_NESTING + 1)}true${')'.repeat(MAX_NESTING + 1)}`;

const SYNTAX_ERROR_ROWS: readonly ErrorRow[] = [
  syntaxError('#37 hyphen in a key', 'skill-level > 3', 5, 'Unexpected "-" at position 5 in expression "skill-level > 3": keys may contain letters, digits, "_" and "$" only'),
  syntaxError('#38 unterminated string', 'type == "support', 8, 'Unterminated string starting at position 8'),
  syntaxError('err-1 empty', '', 0, 'Empty expression'),
  syntaxError('err-2 whitespace only', '   ', 3, 'Empty expression'),
  syntaxError('err-3 missing right operand', 'type ==', 7, 'Unexpected end of expression'),
  syntaxError('err-4 missing left operand', '== 1', 0, 'Unexpected "=="'),
  syntaxError('err-5 unclosed parenthesis', '(type == "a"', 12, 'to close the "(" at position 0'),
  syntaxError('err-6 extra parenthesis', 'type == "a")', 11, 'has no matching "("'),
  syntaxError('err-7 chained comparison', 'a == b == c', 7, 'exactly one operator'),
  syntaxError('err-8 dangling AND', 'a AND', 5, 'Unexpected end of expression'),
  syntaxError('err-9 doubled OR', 'a OR OR b', 5, 'Unexpected "OR"'),
  syntaxError('err-10 NOT without IN', 'a NOT b', 6, 'NOT can only start NOT IN'),
  syntaxError('err-11 unclosed array', '[1, 2', 5, 'to close the "[" at position 0'),
  syntaxError('err-12 trailing comma', 'lang IN [1,]', 11, 'expected a value'),
  syntaxError('err-13 missing comma', 'lang IN [1 2]', 11, 'Unexpected number 2'),
  syntaxError('err-14 two decimal points', '1.2.3 == 1', 3, 'numbers are written like'),
  syntaxError('err-15 letters after a number', '12abc == 1', 2, 'Unexpected "a"'),
  syntaxError('err-16 no digit after the point', '1. == 1', 2, 'numbers are written like'),
  syntaxError('err-17 = = is not ==', 'a = = b', 4, 'expected a value'),
  syntaxError('err-18 dot without a name', 'task. == 1', 5, 'must be followed by a name'),
  syntaxError('err-19 empty index', 'ids[] == 1', 4, 'array index'),
  syntaxError('err-20 negative index', 'ids[-1] == 1', 4, 'array index'),
  syntaxError('err-21 unclosed index', 'ids[1 == 1', 5, 'array index'),
  syntaxError('err-22 unknown escape', String.raw`"a\q" == 1`, 2, String.raw`Unknown escape "\\q"`),
  syntaxError('err-23 bad \\u escape', String.raw`"\u12G4" == 1`, 1, 'Unknown escape'),
  syntaxError('err-24 && instead of AND', 'a && b', 2, 'use AND'),
  syntaxError('err-25 || instead of OR', 'a || b', 2, 'use OR'),
  syntaxError('err-26 ! instead of NOT', '!a', 0, 'NOT'),
  syntaxError('err-27 unknown character', 'a # b', 2, 'Unexpected "#"'),
  syntaxError('err-28 astral character shown whole', 'a == 😀', 5, 'Unexpected "😀"'),
  syntaxError('err-29 lone minus', 'x == 1 -', 7, 'negative number'),
  syntaxError('err-30 hyphen in a nested key', 'worker.first-name == "x"', 12, 'keys may contain'),
  syntaxError('err-31 arithmetic looks like a hyphen', 'a == b-1', 6, 'keys may contain'),
  syntaxError('err-32 nesting limit', DEEP_TOO, MAX_NESTING, 'Too deeply nested'),
  syntaxError('err-33 bare NOT', 'NOT', 3, 'Unexpected end of expression'),
  syntaxError('err-34 unterminated single-quoted string', "'abc", 0, "add the closing '"),
  syntaxError('err-35 backslash at the end', '"abc\\', 0, 'Unterminated string starting at position 0'),
  syntaxError('err-36 IN without array', 'a IN', 4, 'Unexpected end of expression'),
  syntaxError('err-37 parenthesised operand', '(a) == 1', 4, 'parentheses group conditions'),
  syntaxError('err-38 parenthesis in operand position', 'a == (1)', 5, 'expected a value'),
  syntaxError('err-39 NOT in operand position', 'a == NOT b', 5, 'Unexpected "NOT"'),
  syntaxError('err-40 keyword then dot', 'true.x == 1', 4, 'Unexpected "."'),
  syntaxError('err-41 key ending in a dot', 'a.b. == 1', 4, 'must be followed by a name'),
  syntaxError('err-42 empty group', 'a == 1 AND (b == 2 OR)', 21, 'Unexpected ")"'),
  syntaxError('err-43 lone dot', '.', 0, 'Unexpected "."'),
  syntaxError('err-44 two operands', 'a b', 2, 'expected an operator, AND, OR'),
];

const SCOPE_ERROR_ROWS: readonly ErrorRow[] = [
  scopeError('scope-err-1 target: bare key', 'target', 'type == "x"', 0, 'Key not allowed "type"'),
  scopeError('scope-err-2 target: bare task', 'target', 'task == 1', 0, '"task." or "worker."'),
  scopeError('scope-err-3 target: second key', 'target', 'task.lang IN langs', 13, 'Key not allowed "langs"'),
  scopeError('scope-err-4 target: worker index', 'target', 'worker[0] == 1', 0, 'Key not allowed'),
  scopeError('scope-err-5 target: error inside a folded branch', 'target', 'false AND type == 1', 10, 'Key not allowed "type"'),
  scopeError('scope-err-6 skip_if: unknown count', 'skip_if', 'workers.busy == 0', 0, 'is not an Activity SID'),
  scopeError('scope-err-7 skip_if: task key', 'skip_if', 'task.x == 1', 0, 'a skip_if expression can read only'),
  scopeError('scope-err-8 skip_if: too deep', 'skip_if', 'workers.available.x > 0', 0, 'Key not allowed'),
  scopeError('scope-err-9 skip_if: short SID', 'skip_if', 'workers.WA123 > 0', 0, 'Unknown worker count "workers.WA123"'),
  scopeError('scope-err-10 skip_if: bare key after OR', 'skip_if', 'workers.available == 0 OR available == 0', 26, 'Key not allowed "available"'),
  scopeError('scope-err-11 unknown taskrouter key', 'task', 'taskrouter.now > 1', 0, 'taskrouter offers currentTime'),
  scopeError('scope-err-12 taskrouter path too long', 'worker', '1 == 1 AND taskrouter.currentTime.x > 1', 11, 'Unknown key'),
  scopeError('scope-err-13 bare taskrouter', 'task', 'taskrouter == 1', 0, 'Unknown key "taskrouter"'),
  scopeError('scope-err-14 taskrouter names are case-sensitive', 'target', 'taskrouter.currenttime > 1', 0, 'Unknown key'),
];

describe('syntax errors (every scope)', () => {
  for (const row of SYNTAX_ERROR_ROWS) {
    test(`${row.id}: ${JSON.stringify(row.expression.slice(0, 40))} fails at ${row.position}`, () => {
      assertSyntaxError(() => parseExpression(row.expression), row.expression, row.position, row.message);
      for (const scope of ALL_SCOPES) {
        assertSyntaxError(() => compileExpression(row.expression, scope), row.expression, row.position, row.message);
      }
    });
  }
  test(`nesting of exactly ${MAX_NESTING} levels is allowed`, () => {
    assert.equal(compileExpression(DEEP_OK, 'task').evaluate(taskContext({})), true);
  });
  test('the message of #37 is exactly the documented one', () => {
    assert.throws(() => parseExpression('skill-level > 3'), {
      name: 'ExpressionSyntaxError',
      message: 'Unexpected "-" at position 5 in expression "skill-level > 3": keys may contain letters, digits, "_" and "$" only',
      reason: 'keys may contain letters, digits, "_" and "$" only',
    });
  });
});

describe('scope violations', () => {
  for (const row of SCOPE_ERROR_ROWS) {
    const scope = row.scope === 'any' ? 'task' : row.scope;
    test(`${row.id} [${scope}]: ${row.expression} fails at ${row.position}`, () => {
      parseExpression(row.expression);
      assertSyntaxError(() => compileExpression(row.expression, scope), row.expression, row.position, row.message);
    });
  }
});

// ── syntax tree ─────────────────────────────────────────────────────────────

describe('parseExpression', () => {
  test('gives every node its 0-based span and resolves aliases', () => {
    assert.deepEqual(parseExpression('NOT (a.b[1] = 2) or x <- ["y", z]'), {
      kind: 'or',
      start: 0,
      end: 33,
      operands: [
        {
          kind: 'not',
          start: 0,
          end: 16,
          operand: {
            kind: 'comparison',
            operator: '==',
            operatorStart: 12,
            start: 5,
            end: 15,
            left: { kind: 'key', path: ['a', 'b', 1], start: 5, end: 11 },
            right: { kind: 'literal', value: 2, start: 14, end: 15 },
          },
        },
        {
          kind: 'comparison',
          operator: 'IN',
          operatorStart: 22,
          start: 20,
          end: 33,
          left: { kind: 'key', path: ['x'], start: 20, end: 21 },
          right: {
            kind: 'array',
            start: 25,
            end: 33,
            elements: [
              { kind: 'literal', value: 'y', start: 26, end: 29 },
              { kind: 'key', path: ['z'], start: 31, end: 32 },
            ],
          },
        },
      ],
    });
  });

  test('flattens AND chains and keeps NOT IN as one operator', () => {
    const tree = parseExpression('a AND b AND c NOT IN [1]');
    assert.equal(tree.kind, 'and');
    assert.equal(tree.kind === 'and' ? tree.operands.length : 0, 3);
    const last = tree.kind === 'and' ? tree.operands[2] : undefined;
    assert.equal(last?.kind === 'comparison' ? last.operator : undefined, 'NOT IN');
  });
});

// ── compiled expressions ────────────────────────────────────────────────────

describe('compileExpression', () => {
  const DEPENDENCY_ROWS: readonly { expression: string; scope: ExpressionScope; activity: boolean; channel: boolean; time: boolean }[] = [
    { expression: 'activity_name == "Available"', scope: 'worker', activity: true, channel: false, time: false },
    { expression: 'skills HAS "x"', scope: 'worker', activity: false, channel: false, time: false },
    { expression: `worker.activity_sid == "${ACTIVITY_SID}"`, scope: 'target', activity: true, channel: false, time: false },
    { expression: 'worker.channel.voice.assigned_tasks == 0', scope: 'target', activity: false, channel: true, time: false },
    { expression: 'worker.channel == "x"', scope: 'target', activity: false, channel: false, time: false },
    { expression: 'taskrouter.currentHour > 8', scope: 'task', activity: false, channel: false, time: true },
    { expression: 'workers.available == 0', scope: 'skip_if', activity: false, channel: false, time: false },
    { expression: '1 == 2 AND worker.activity_name == "x"', scope: 'target', activity: true, channel: false, time: false },
  ];
  for (const row of DEPENDENCY_ROWS) {
    test(`dependsOn of [${row.scope}] ${row.expression}`, () => {
      assert.deepEqual(compileExpression(row.expression, row.scope).dependsOn, {
        workerActivity: row.activity,
        workerChannel: row.channel,
        time: row.time,
      });
    });
  }

  test('keeps source and scope', () => {
    const compiled = compileExpression('1 == 1', 'worker');
    assert.equal(compiled.source, '1 == 1');
    assert.equal(compiled.scope, 'worker');
  });

  test('folds constants: a constant expression never reads the context', () => {
    const untouchable = new Proxy({} as EvaluationContext, {
      get: () => assert.fail('the context was read'),
    });
    assert.equal(compileExpression('1 == 1 AND (2 > 1 OR x == 1) AND NOT false', 'task').evaluate(untouchable), true);
    assert.equal(compileExpression('[1, 2] HAS 2 AND "a" IN ["a"]', 'task').evaluate(untouchable), true);
  });

  test('AND and OR short-circuit', () => {
    const exploding = worker({ attributes: {} });
    const context = targetContext(DOC_A, { ...exploding, channel: () => assert.fail('channel read after a decided OR') });
    assert.equal(compileExpression('task.vip == true OR worker.channel.voice.assigned_tasks == 0', 'target').evaluate(context), true);
    assert.equal(compileExpression('task.vip == false AND worker.channel.voice.assigned_tasks == 0', 'target').evaluate(context), false);
  });

  test('reads attributes live: a compiled expression sees changed documents', () => {
    const compiled = compileExpression('level >= 3', 'worker');
    assert.equal(compiled.evaluate(workerContext(worker({ attributes: { level: 2 } }))), false);
    assert.equal(compiled.evaluate(workerContext(worker({ attributes: { level: 5 } }))), true);
  });
});

// ── known-worker references ─────────────────────────────────────────────────

describe('compileKeyReference', () => {
  const task = { agent_sid: WORKER_SID, agents: ['a1', 'a2'], customer: { tier: 'gold' }, note: null };
  const VALUE_ROWS: readonly [string, unknown][] = [
    ['task.agent_sid', WORKER_SID],
    ['task.agents[0]', 'a1'],
    ['task.agents[5]', null],
    ['task.missing', null],
    ['task.customer.tier', 'gold'],
    ['  task.agent_sid\t', WORKER_SID],
    ['task.note', null],
    ['task.customer', { tier: 'gold' }],
  ];
  for (const [source, expected] of VALUE_ROWS) {
    test(`${JSON.stringify(source)} reads ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(compileKeyReference(source)(task), expected);
    });
  }
  const ERROR_ROWS: readonly [string, number, string][] = [
    ['agent_sid', 0, 'Key not allowed "agent_sid"'],
    ['task', 0, 'known-worker reference reads the task'],
    ['task.agent_sid == 1', 15, 'a key reference is a single key'],
    ['', 0, 'Empty key reference'],
    ['worker.sid', 0, 'Key not allowed'],
    ['task.a-b', 6, 'keys may contain'],
    ['task[0]', 0, 'Key not allowed'],
    ['"task.x"', 0, 'Unexpected string "task.x"'],
  ];
  for (const [source, position, message] of ERROR_ROWS) {
    test(`${JSON.stringify(source)} fails at ${position}`, () => {
      assertSyntaxError(() => compileKeyReference(source), source, position, message);
    });
  }
});

// ── time helpers ────────────────────────────────────────────────────────────

describe('taskrouter time helpers', () => {
  const TIME_HELPER_ROWS: readonly [string, number, number, string, string, string][] = [
    ['Wednesday 14:05', WEDNESDAY_1405, 1405, '14', '05', 'Wed'],
    ['the epoch (a Thursday)', 0, 0, '00', '00', 'Thu'],
    ['one minute before the epoch', -60_000, 2359, '23', '59', 'Wed'],
    ['Sunday 09:00', Date.UTC(2024, 0, 7, 9, 0), 900, '09', '00', 'Sun'],
    ['the last millisecond of a Monday', Date.UTC(2024, 0, 8, 23, 59, 59, 999), 2359, '23', '59', 'Mon'],
    ['Saturday 12:30 in 2100', Date.UTC(2100, 0, 2, 12, 30), 1230, '12', '30', 'Sat'],
  ];
  for (const [label, nowMs, time, hour, minute, day] of TIME_HELPER_ROWS) {
    test(label, () => {
      assert.equal(taskrouterCurrentTime(nowMs), time);
      assert.equal(taskrouterCurrentHour(nowMs), hour);
      assert.equal(taskrouterCurrentMin(nowMs), minute);
      assert.equal(taskrouterDayOfWeek(nowMs), day);
    });
  }
});
