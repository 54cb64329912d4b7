import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'proto/gen/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // The agent runs alone on a Pi (Node 18, no Aedes, no InfluxDB client): it must not reach into the server side.
    files: ['agent/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/broker/**', '**/ingestor/**', 'aedes', 'aedes-*', '@influxdata/*'] }],
    },
  },
);
