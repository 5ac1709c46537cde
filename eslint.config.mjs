// ESLint flat config. TypeScript (lib, bin, constructs, examples, index.ts, test) gets
// typescript-eslint's type-checked recommended rules through one program, tsconfig.test.json, which
// includes all of it; the CommonJS scripts (scripts, bench, jest.config.js, test/summary-reporter.js)
// get ESLint's recommended rules without type information. Layout belongs to prettier (.prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Every eslint-disable comment must say why, after " -- " (ESLint's own description syntax):
// `// eslint-disable-next-line some-rule -- reason`. reportUnusedDisableDirectives catches stale ones.
const local = {
  rules: {
    'disable-needs-reason': {
      meta: {
        type: 'suggestion',
        schema: [],
        messages: { missing: 'say why after " -- " (e.g. // eslint-disable-next-line rule -- reason)' },
      },
      create(context) {
        return {
          Program() {
            for (const comment of context.sourceCode.getAllComments()) {
              const text = comment.value.trim();
              if (!/^eslint-disable(-next-line|-line)?(\s|$)/.test(text)) continue;
              const reason = text.split(/\s--\s/)[1];
              if (reason === undefined || reason.trim() === '') context.report({ loc: comment.loc, messageId: 'missing' });
            }
          },
        };
      },
    },
  },
};

const nodeGlobals = Object.fromEntries(
  [
    'require',
    'module',
    'exports',
    'process',
    'console',
    '__dirname',
    '__filename',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
  ].map((g) => [g, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/', 'dist-test/', 'cdktf.out/', '.jsii-build/', 'coverage/', '.gen/', '.ci-logs/', 'tmp/'] },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { local },
    rules: { 'local/disable-needs-reason': 'error' },
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_name` marks a parameter kept for its position (callbacks, interface shapes).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.ts', '**/*.js'],
    rules: {
      // Validations match control characters on purpose (/[\s\x00-\x1f\x7f]/: a table line or path must not
      // carry them), and ANSI stripping matches ESC; the rule exists to catch such characters by accident.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests JSON.parse synthesized stacks, bundles and CLI output (typed `any`) and assert on them with
      // expect(); a typed model of every output would only restate the constructs' own types.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['test/**/*.test.ts'],
    rules: {
      // Fakes implement async interfaces (executors, dialers, sleep, line sources) without awaiting anything.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'commonjs', globals: nodeGlobals },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module' },
  },
);
