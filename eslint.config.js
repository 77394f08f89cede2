import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const noNode = {
  patterns: [{ group: ['node:*'], message: 'src-shared and src-renderer must run in a browser: no node: modules.' }],
  paths: [{ name: 'electron', message: "Only src-main/electron may import 'electron'." }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // ARCHITECTURE.md boundaries: enforced here, not by hope.
  { files: ['src-shared/**', 'src-renderer/**'], rules: { 'no-restricted-imports': ['error', noNode] }, languageOptions: { globals: { ...globals.browser } } },
  {
    files: ['src-main/core/**', 'src-main/cli/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: "The core runs in plain Node: only src-main/electron may import 'electron'." }] }] },
  },
);
