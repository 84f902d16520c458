import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'test-results/**', '**/*.mjs', '**/*.cjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // The engine must run in workers, the CLI and tests: no editor or DOM imports.
    files: ['src/engine/**/*.ts', 'src/model/**/*.ts', 'src/tokenize/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['**/host/**', '**/webview/**'] }],
    },
  },
  {
    // The engine returns ids and tensors: it never words anything for people, nor reaches for callers.
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['**/host/**', '**/webview/**', '**/present/**', '**/pipeline/**', '**/worker/**', '**/export/**', 'node:*'] }],
    },
  },
  {
    // Shared words run in the webview too: no Node, no editor.
    files: ['src/present/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['node:*', '**/host/**', '**/pipeline/**', '**/worker/**', '**/model/**'] }],
    },
  },
  {
    // The webview is browser code: no editor API, and from src/ only the protocol, the shared words
    // (src/present), the token display helpers and (as types) the engine.
    files: ['webview/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['vscode'],
          patterns: [
            { group: ['**/src/*', '!**/src/protocol', '!**/src/present', '!**/src/engine', '!**/src/tokenize'], message: 'The webview may import only src/protocol.ts, src/present/, src/tokenize/display.ts and engine types.' },
            { group: ['**/src/tokenize/*', '!**/src/tokenize/display'], message: 'The webview may import only src/tokenize/display.ts from the tokenizers.' },
            { group: ['**/src/engine/*'], allowTypeImports: true, message: 'The webview may import only types from the engine.' },
          ],
        },
      ],
    },
  },
);
