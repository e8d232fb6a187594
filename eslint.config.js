// Lint rules. The import bans keep the functional core pure (DESIGN.md rule 1):
// nothing under src/engine or src/expr may read the clock, draw random numbers or do I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const impureGlobals = [
  { name: 'Date', message: 'The engine is pure: time comes in with each command (DESIGN.md rule 1).' },
  { name: 'setTimeout', message: 'Timers are data in the engine; the runtime owns the one real timer.' },
  { name: 'setInterval', message: 'Timers are data in the engine; the runtime owns the one real timer.' },
  { name: 'performance', message: 'No clock inside the pure core.' },
  { name: 'process', message: 'No process access inside the pure core.' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'replay-out/**', 'data/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/engine/**/*.ts', 'src/expr/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error', ...impureGlobals],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Randomness is injected (seeded PRNG).' }],
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'fs', 'path', 'http', 'crypto', 'os'], message: 'No I/O inside the pure core.' },
        { group: ['**/store/**', '**/api/**', '**/runtime/**', '**/sim/**', '**/analytics/**', '**/webhooks/**'], message: 'engine and expr import only expr and util (STYLE.md layout).' },
      ] }],
    },
  },
);
