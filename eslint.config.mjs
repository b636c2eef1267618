// ESLint (flat config): typescript-eslint's type-checked rules for every TypeScript file, the layering of
// ARCHITECTURE.md as rules (lint/layering.mjs), and eslint-config-prettier last so that no rule argues with
// Prettier about layout. `npm run lint` runs this, then `prettier --check .`, then lint/check-line-length.mjs.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import tseslint from 'typescript-eslint';
import layering from './lint/layering.mjs';

const TYPESCRIPT = ['shared/**/*.ts', 'tasks/**/*.ts', 'extension/*.ts', 'test/**/*.ts'];
const SCRIPTS = ['**/*.mjs', '**/*.cjs'];

/** Node's globals the build and test scripts use (no `globals` package is installed). */
const NODE_GLOBALS = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'structuredClone'].map((name) => [
    name,
    'readonly',
  ]),
);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'coverage/**'] },
  {
    files: TYPESCRIPT,
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An argument or binding named `_…` is unused on purpose (a callback's shape), and so is a property
      // taken out of an object only to leave it out of the `...rest`.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests and emulators handle JSON bodies, query strings, YAML nodes and parsed `##vso` outputs whose
    // shape the documented API defines; an assertion on the value is the check there. Typing every journal
    // entry and response body would copy each API's schema into the tests (the product code narrows
    // `unknown` at its boundaries and keeps these rules). So `any`, the no-unsafe-* family and the two rules
    // about turning such values into text are off in test/ only; so is require-await, since a fake of an
    // async interface (a sleep that records its delay, an UndoKind) returns a promise without awaiting.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Issue 11's size limits, so a newcomer can hold any file or function in their head: a file of shared/ or
    // tasks/ stays under 450 lines, a function under 80 (blank lines and comments not counted). A task's
    // runTask callback reads the shared inputs and hands each action or provider to a function of its own.
    files: ['shared/**/*.ts', 'tasks/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 450 }] },
  },
  {
    files: ['shared/**/*.ts', 'tasks/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: SCRIPTS,
    extends: [js.configs.recommended],
    languageOptions: { globals: NODE_GLOBALS },
  },
  {
    files: ['test/helpers/reporter.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { ...NODE_GLOBALS, require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
  },
  {
    files: [...TYPESCRIPT, ...SCRIPTS],
    plugins: { layering },
    rules: {
      'layering/layer-order': 'error',
      'layering/shared-not-tasks': 'error',
      'layering/no-task-to-task': 'error',
      'layering/product-not-tests': 'error',
      'layering/emulators-types-only': 'error',
    },
  },
  {
    // Tests, emulators and the command-line scripts set up the agent's environment; only the product
    // (what is bundled into a task) must reach the agent through shared/core alone.
    files: ['shared/**', 'tasks/**'],
    rules: {
      'layering/task-lib-only-in-core': 'error',
      'layering/process-env-only-in-core': 'error',
    },
  },
  prettier,
);
