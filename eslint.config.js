// Lint rules. Besides the recommended sets, two kinds of rule keep the layering of DESIGN.md
// ("Who may import whom", rule 1), both generated below from IMPORT_TABLE:
// - the import table: each folder of src imports only the folders its row names;
// - purity: a pure core reads no clock, draws no random number and does no I/O.
// test/lint/boundaries.test.ts proves both bite and checks the folder graph of src against the same
// table (no cycle, no edge the table lacks), so disabling a lint line does not slip past it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Who may import whom, one row per folder of src (docs/ARCHITECTURE.md explains it).
 * - `pure`: a core: no clock, no randomness, no I/O, no process; no package outside the repo
 *   except those in PURE_PACKAGES.
 * - `may`: what its non-test files may import: a folder (`'engine'`), one file of a folder
 *   (`'callbacks/telephony-port.ts'`: only that file), or `'*'` for anything.
 * - `types`: folders it may import types from only (`import type …` / `import { type … }`, erased
 *   before the code runs).
 * Everything else under src is forbidden, and so is reaching outside src (test/, bench/, web/).
 * Test files (`*.test.ts`) are exempt: a test may wire any parts together.
 * A new folder under src needs a row here (the boundaries test fails without one).
 */
export const IMPORT_TABLE = {
  // pure cores
  util: { pure: true, may: [] },
  expr: { pure: true, may: ['util'] },
  engine: { pure: true, may: ['expr', 'util'] },
  analytics: { pure: true, may: ['util'], types: ['engine'] },
  callbacks: { pure: true, may: ['engine', 'analytics', 'util'] },
  // call flows (voice IVR): a pure core beside the callback center, whose pure functions it may use
  callflows: { pure: true, may: ['engine', 'analytics', 'callbacks', 'util'] },
  // conversations (chats, their state timers, webhooks): a pure core of its own
  conversations: { pure: true, may: ['util'] },
  // Event Streams (sinks, subscriptions, the type and schema catalogue, the CloudEvents envelope)
  streams: { pure: true, may: ['util'], types: ['engine'] },
  // adapters behind a core's port: the port's module, the core's types
  voice: { pure: false, may: ['callbacks/telephony-port.ts', 'callflows/voice-port.ts', 'util'], types: ['callbacks', 'callflows'] },
  // messaging adapters behind the conversations core's port
  messaging: { pure: false, may: ['conversations/messaging-port.ts', 'util'] },
  // shell
  store: { pure: false, may: ['util'], types: ['engine'] },
  runtime: { pure: false, may: ['store', 'util', 'expr', 'engine', 'analytics', 'callbacks', 'callflows', 'conversations', 'streams'] },
  webhooks: { pure: false, may: ['runtime', 'store', 'util'], types: ['engine'] },
  // (the voice webhooks: the TwiML renderer; the voice port's and the Twilio adapters' types)
  api: { pure: false, may: ['runtime', 'util', 'expr', 'engine', 'analytics', 'callbacks', 'conversations', 'streams', 'voice/twiml.ts'], types: ['callflows', 'voice', 'messaging'] },
  // the simulator; `simulate --voice` runs the runtime's voice core from src/cli (a shell), the flows and callers are sim's
  sim: { pure: false, may: ['util', 'expr', 'engine', 'analytics', 'callbacks', 'callflows', 'voice/simulated-network.ts'] },
  cli: { pure: false, may: ['*'] },
};

/** Packages a pure core may import (none yet: a core needs nothing from outside the repo). */
const PURE_PACKAGES = [];

/** How deep under src/<folder>/ files may sit and still be covered by the import rule (src/api/routes/x.ts is depth 2). */
export const MAX_DEPTH = 4;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * The `@typescript-eslint/no-restricted-imports` blocks of one folder: one block per depth, so a
 * pattern names exactly the top-level folder an import reaches (`../runtime/` from src/engine/x.ts,
 * `../../runtime/` from src/api/routes/x.ts) and never a same-named subfolder or file.
 */
function importBlocks(folder, row) {
  if (row.may.includes('*')) return [];
  const others = Object.keys(IMPORT_TABLE).filter((f) => f !== folder);
  const allowedFolders = new Set(row.may.filter((m) => !m.includes('/')));
  const allowedFiles = row.may.filter((m) => m.includes('/'));
  const types = new Set(row.types ?? []);
  const says = `${folder} may import ${[...row.may, ...[...types].map((t) => `${t} (types only)`)].join(', ') || 'nothing of ours'}`;
  const blocks = [];
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    const up = '\\.\\./'.repeat(depth);
    // A folder with only some files allowed: every other file of it is forbidden.
    const except = (f) => {
      const files = allowedFiles.filter((m) => m.startsWith(`${f}/`)).map((m) => escape(m.slice(f.length + 1)));
      return files.length === 0 ? '' : `(?!(${files.join('|')})$)`;
    };
    const forbidden = others.filter((f) => !allowedFolders.has(f) && !types.has(f));
    const typesOnly = others.filter((f) => types.has(f) && !allowedFolders.has(f));
    const patterns = [{ regex: `^${up}\\.\\./`, message: `src imports nothing outside src (DESIGN.md "Who may import whom").` }];
    for (const f of forbidden) patterns.push({ regex: `^${up}${f}/${except(f)}`, caseSensitive: true, message: `${says} (DESIGN.md "Who may import whom"; table in eslint.config.js).` });
    for (const f of typesOnly) {
      patterns.push({
        regex: `^${up}${f}/${except(f)}`,
        caseSensitive: true,
        allowTypeImports: true,
        message: `${says}: use \`import type\` for ${f} (DESIGN.md "Who may import whom").`,
      });
    }
    blocks.push({
      name: `boundaries/${folder}/depth-${depth}`,
      files: [`src/${folder}/${'*/'.repeat(depth - 1)}*.ts`],
      ignores: ['**/*.test.ts'],
      rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
    });
  }
  return blocks;
}

const CLOCK = 'No clock in a pure core: time comes in with each command (DESIGN.md rule 1).';
const TIMER = 'No timers in a pure core: timers are data, the runtime owns the one real timer.';

/** The purity rule for every pure core's non-test files. */
const purity = {
  name: 'purity',
  files: Object.entries(IMPORT_TABLE)
    .filter(([, row]) => row.pure)
    .map(([folder]) => `src/${folder}/**/*.ts`),
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-globals': [
      'error',
      { name: 'Date', message: CLOCK },
      { name: 'performance', message: CLOCK },
      { name: 'setTimeout', message: TIMER },
      { name: 'setInterval', message: TIMER },
      { name: 'setImmediate', message: TIMER },
      { name: 'clearTimeout', message: TIMER },
      { name: 'clearInterval', message: TIMER },
      { name: 'clearImmediate', message: TIMER },
      { name: 'process', message: 'No process access in a pure core: configuration comes in as options.' },
      { name: 'crypto', message: 'Randomness is injected in a pure core (seeded PRNG, SID generator).' },
      { name: 'fetch', message: 'No I/O in a pure core.' },
      { name: 'require', message: 'No I/O in a pure core.' },
      { name: 'globalThis', message: 'A pure core reaches no globals through globalThis.' },
    ],
    'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Randomness is injected in a pure core (seeded PRNG).' }],
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: PURE_PACKAGES.length === 0 ? '^[^.]' : `^(?!(${PURE_PACKAGES.map(escape).join('|')})(/|$))[^.]`,
            message: 'A pure core imports no node: or I/O module and no package (DESIGN.md rule 1; PURE_PACKAGES in eslint.config.js lists the exceptions).',
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'replay-out/**', 'data/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...Object.entries(IMPORT_TABLE).flatMap(([folder, row]) => importBlocks(folder, row)),
  purity,
);
