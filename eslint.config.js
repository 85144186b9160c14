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
      'canh/no-sibling-plugin': 'warn',
    },
  },
);
