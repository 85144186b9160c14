import tseslint from 'typescript-eslint';
import boundaries from './eslint/import-boundaries.js';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/generated/**', '.state/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-throw-literal': 'error',
      'prefer-promise-reject-errors': 'error',
    },
  },
  {
    files: ['{core,protocol,agent,collector,dashboards}/**/*.ts'],
    plugins: { canh: boundaries },
    rules: {
      'canh/no-cross-package': 'error',
      'canh/no-sibling-plugin': 'error',
    },
  },
  {
    // Functions stay short enough to read at once. The exceptions are marked where they
    // are (eslint-disable-next-line with the reason), except these whole folders: the
    // dashboard builders are declarative (one panel list per dashboard), and tests and
    // benchmarks read top to bottom as one scenario each.
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts', 'test/**', 'bench/**', 'dashboards/src/dashboards/**'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    // Plugins keep state through ctx.state (agent/src/state.ts, written atomically and
    // fsynced by @canh/core), never with writes and renames of their own.
    files: ['agent/src/inputs/**/*.ts', 'agent/src/detectors/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*testing.ts', 'agent/src/detectors/baseline.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        ...['node:fs', 'node:fs/promises', 'fs', 'fs/promises'].map((name) => ({
          name,
          importNames: ['writeFile', 'writeFileSync', 'rename', 'renameSync', 'appendFile', 'appendFileSync', 'copyFile', 'copyFileSync'],
          message: 'keep state through ctx.state (agent/src/state.ts): atomic and fsynced',
        })),
      ],
    },
  },
);
