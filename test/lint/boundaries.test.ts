// The layering of DESIGN.md ("Who may import whom", rule 1) holds and stays held:
// (a) the lint rules generated from IMPORT_TABLE (eslint.config.js) report a forbidden import and
//     impure code in a pure core, and leave allowed code alone (linted from strings, nothing written);
// (b) the folder-level import graph of src has no cycle and no edge the table lacks, checked from
//     the source itself, so an `eslint-disable` line or a dynamic `import()` does not slip past.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative, sep } from 'node:path';
import { ESLint } from 'eslint';
import { cyclesOf, folderGraph, importsOf, loadImportTable, REPO_ROOT, sourceFiles, violations, type FolderEdge } from './import-graph.ts';

const eslint = new ESLint({ cwd: REPO_ROOT });

/** The rule ids ESLint reports for `code` as if it were the file at `filePath` (relative to the repository). */
async function reported(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(REPO_ROOT, filePath) });
  assert.ok(result !== undefined);
  const fatal = result.messages.filter((m) => m.fatal === true);
  assert.deepEqual(fatal, [], `${filePath} did not parse`);
  return result.messages.map((m) => m.ruleId ?? '');
}

const IMPORT_RULE = '@typescript-eslint/no-restricted-imports';

test('the import table bites: a forbidden import is reported, an allowed one is not', async () => {
  const forbidden: Array<[string, string]> = [
    ['src/engine/x.ts', "import { Runtime } from '../runtime/runtime.ts';\nexport const r = Runtime;"],
    ['src/engine/x.ts', "import type { Runtime } from '../runtime/runtime.ts';\nexport type R = Runtime;"],
    ['src/engine/x.ts', "export { Runtime } from '../runtime/runtime.ts';"],
    ['src/util/x.ts', "import { assert } from '../engine/index.ts';\nexport const r = assert;"],
    ['src/callbacks/x.ts', "import { SimulatedNetwork } from '../voice/simulated-network.ts';\nexport const r = SimulatedNetwork;"],
    ['src/runtime/x.ts', "import { WebhookDispatcher } from '../webhooks/dispatcher.ts';\nexport const r = WebhookDispatcher;"],
    ['src/api/routes/x.ts', "import { TwilioCalls } from '../../voice/twilio-calls.ts';\nexport const r = TwilioCalls;"],
    ['src/sim/x.ts', "import { TwilioCalls } from '../voice/twilio-calls.ts';\nexport const r = TwilioCalls;"],
    ['src/sim/x.ts', "import { Runtime } from '../runtime/runtime.ts';\nexport const r = Runtime;"],
    // the call-flow core: no shell, no adapter, and the callback core does not import it back
    ['src/callflows/x.ts', "import { Runtime } from '../runtime/runtime.ts';\nexport const r = Runtime;"],
    ['src/callflows/x.ts', "import { TwilioCalls } from '../voice/twilio-calls.ts';\nexport const r = TwilioCalls;"],
    ['src/callbacks/x.ts', "import { CallFlowInterpreter } from '../callflows/index.ts';\nexport const r = CallFlowInterpreter;"],
    // type-only rows refuse values
    ['src/store/x.ts', "import { WorkspaceEngine } from '../engine/index.ts';\nexport const r = WorkspaceEngine;"],
    ['src/analytics/x.ts', "import { describeEvent, type EngineEvent } from '../engine/events.ts';\nexport const r = (e: EngineEvent) => describeEvent(e);"],
    // a single-file allowance covers that file only
    ['src/voice/x.ts', "import { CallbackCenter } from '../callbacks/center.ts';\nexport const r = CallbackCenter;"],
    // nothing outside src
    ['src/engine/x.ts', "import { x } from '../../test/support/x.ts';\nexport const r = x;"],
  ];
  for (const [filePath, code] of forbidden) assert.deepEqual(await reported(filePath, code), [IMPORT_RULE], `${filePath}: ${code}`);

  const allowed: Array<[string, string]> = [
    ['src/engine/x.ts', "import { parseExpression } from '../expr/index.ts';\nexport const r = parseExpression;"],
    ['src/store/x.ts', "import type { WorkspaceSnapshot } from '../engine/index.ts';\nexport type R = WorkspaceSnapshot;"],
    ['src/analytics/x.ts', "import { type EngineEvent } from '../engine/events.ts';\nexport type R = EngineEvent;"],
    ['src/voice/x.ts', "import { checkResumedDials } from '../callbacks/telephony-port.ts';\nimport type { DialOutcome } from '../callbacks/center.ts';\nexport const r = checkResumedDials;\nexport type D = DialOutcome;"],
    ['src/api/routes/x.ts', "import { Runtime } from '../../runtime/runtime.ts';\nimport { x } from '../callbacks.ts';\nexport const r = [Runtime, x];"],
    ['src/cli/x.ts', "import { TwilioCalls } from '../voice/twilio-calls.ts';\nexport const r = TwilioCalls;"],
    ['src/callflows/x.ts', "import { decideOffer } from '../callbacks/offer.ts';\nimport type { Command } from '../engine/commands.ts';\nexport const r = decideOffer;\nexport type C = Command;"],
    // tests may wire any parts together
    ['src/engine/x.test.ts', "import { Runtime } from '../runtime/runtime.ts';\nexport const r = Runtime;"],
  ];
  for (const [filePath, code] of allowed) assert.deepEqual(await reported(filePath, code), [], `${filePath}: ${code}`);
});

test('the purity rule bites in every pure core: no clock, timer, randomness, process or I/O module', async () => {
  const impure: Array<[string, string, string]> = [
    ['src/engine/x.ts', 'export const r = Date.now();', 'no-restricted-globals'],
    ['src/expr/x.ts', 'export const r = new Date(0).toISOString();', 'no-restricted-globals'],
    ['src/analytics/x.ts', 'export const r = performance.now();', 'no-restricted-globals'],
    ['src/callbacks/x.ts', 'export const r = setTimeout(() => {}, 1);', 'no-restricted-globals'],
    ['src/util/x.ts', 'export const r = process.env;', 'no-restricted-globals'],
    ['src/engine/x.ts', 'export const r = crypto.randomUUID();', 'no-restricted-globals'],
    ['src/engine/x.ts', 'export const r = Math.random();', 'no-restricted-properties'],
    ['src/callbacks/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;", 'no-restricted-imports'],
    ['src/engine/x.ts', "import { randomBytes } from 'crypto';\nexport const r = randomBytes;", 'no-restricted-imports'],
    ['src/analytics/x.ts', "import pg from 'pg';\nexport const r = pg;", 'no-restricted-imports'],
    ['src/callflows/x.ts', 'export const r = Date.now();', 'no-restricted-globals'],
    ['src/callflows/x.ts', "import twilio from 'twilio';\nexport const r = twilio;", 'no-restricted-imports'],
  ];
  for (const [filePath, code, rule] of impure) assert.deepEqual(await reported(filePath, code), [rule], `${filePath}: ${code}`);

  const fine: Array<[string, string]> = [
    ['src/engine/x.ts', 'export const r = (now: number) => Math.floor(now / 1000);'],
    ['src/engine/x.test.ts', "import { test } from 'node:test';\ntest('t', () => { void Date.now(); });"],
    ['src/runtime/x.ts', "import { setTimeout as sleep } from 'node:timers/promises';\nexport const r = [Date.now(), sleep];"],
    ['src/voice/x.ts', 'export const r = Date.now();'],
  ];
  for (const [filePath, code] of fine) assert.deepEqual(await reported(filePath, code), [], `${filePath}: ${code}`);
});

test('the folder graph of src has no cycle and no edge the import table lacks', async () => {
  const { table, maxDepth } = await loadImportTable();
  const edges = folderGraph();
  assert.ok(edges.length > 10, 'the graph walker found the imports');
  assert.deepEqual(cyclesOf(edges), [], 'folder cycles');
  assert.deepEqual(violations(edges, table), [], 'imports the table does not allow');

  // Every folder of src has a row, and every file sits where the generated lint blocks reach.
  const src = join(REPO_ROOT, 'src');
  for (const file of sourceFiles(src, true)) {
    const parts = relative(src, file).split(sep);
    assert.ok(parts.length >= 2, `${file}: src holds folders only`);
    assert.ok(table[parts[0]!] !== undefined, `src/${parts[0]} has no row in IMPORT_TABLE (eslint.config.js)`);
    assert.ok(parts.length - 1 <= maxDepth, `${file} is deeper than MAX_DEPTH (${maxDepth}) in eslint.config.js`);
  }
});

test('the graph check bites: a cycle, a forbidden edge and a value import through a type-only row are found', async () => {
  const { table } = await loadImportTable();
  const edge = (from: string, to: string, target: string, typeOnly: boolean): FolderEdge => ({
    from,
    to,
    typeOnly,
    imports: [{ file: `src/${from}/x.ts`, target: `src/${to}/${target}`, targetInFolder: target, typeOnly }],
  });
  const bad = [
    edge('engine', 'runtime', 'runtime.ts', true),
    edge('runtime', 'engine', 'index.ts', false),
    edge('store', 'engine', 'index.ts', false),
    edge('voice', 'callbacks', 'center.ts', false),
    edge('voice', 'callbacks', 'telephony-port.ts', false),
    edge('newfolder', 'util', 'assert.ts', false),
  ];
  assert.deepEqual(cyclesOf(bad), [['engine', 'runtime']]);
  assert.deepEqual(violations(bad, table), [
    'src/newfolder has no row in the import table',
    'src/engine/x.ts → src/runtime/runtime.ts (type-only): engine may not import runtime',
    'src/store/x.ts → src/engine/index.ts: store may not import engine except types',
    'src/voice/x.ts → src/callbacks/center.ts: voice may not import callbacks except types',
  ]);
});

test('the import walker sees every form of import, and which are type-only', () => {
  const code = [
    "import a from './a.ts';",
    "import type { B } from './b.ts';",
    "import { type C, type D } from './c.ts';",
    "import { E, type F } from './e.ts';",
    "import './side-effect.ts';",
    "export * from './all.ts';",
    "export type { G } from './g.ts';",
    "export { H } from './h.ts';",
    "type I = import('./i.ts').I;",
    "const j = await import('./j.ts');",
  ].join('\n');
  assert.deepEqual(importsOf('x.ts', code), [
    { specifier: './a.ts', typeOnly: false },
    { specifier: './b.ts', typeOnly: true },
    { specifier: './c.ts', typeOnly: true },
    { specifier: './e.ts', typeOnly: false },
    { specifier: './side-effect.ts', typeOnly: false },
    { specifier: './all.ts', typeOnly: false },
    { specifier: './g.ts', typeOnly: true },
    { specifier: './h.ts', typeOnly: false },
    { specifier: './i.ts', typeOnly: true },
    { specifier: './j.ts', typeOnly: false },
  ]);
});
