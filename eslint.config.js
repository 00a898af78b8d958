// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** Workflow and domain code is deterministic and bundled: no Node builtins, no activity/worker/client code. */
const builtinPaths = nodeBuiltins.map((name) => ({ name, message: 'Workflow and domain code must not use Node builtins (determinism, bundling).' }));
const deterministicPatterns = [
  {
    group: ['@temporalio/activity', '@temporalio/worker', '@temporalio/client', '@temporalio/testing'],
    allowTypeImports: true,
    message: 'Workflow and domain code may only import types from @temporalio/{activity,worker,client}.',
  },
  {
    group: ['../activities', '../activities/*', '../worker', '../worker/*', '../client', '../client/*'],
    allowTypeImports: true,
    message: 'Workflows may only import *types* from activities/ (proxyActivities); never worker/ or client/.',
  },
];
const deterministicRestrictions = { 'no-restricted-imports': ['error', { paths: builtinPaths, patterns: deterministicPatterns }] };

/**
 * Workflows also keep away from the modules that build zod schemas at load time (the sandbox loads
 * every module once per workflow: domain/schemas.ts explains): they use the schema factories of
 * domain/schemas.ts, the constants of domain/labels.ts, and only types from the rest.
 */
const workflowRestrictions = {
  'no-restricted-imports': [
    'error',
    {
      paths: builtinPaths,
      patterns: [
        ...deterministicPatterns,
        { group: ['../domain/index.js'], message: 'Workflows import the domain module they need, not the barrel (it builds every zod schema).' },
        {
          group: ['../domain/inputs.js', '../domain/results.js', '../domain/rigbox.js'],
          allowTypeImports: true,
          message: 'Workflows only import types from these (they build zod schemas at load); use domain/schemas.ts factories and domain/labels.ts.',
        },
      ],
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Handlers and activities are async by contract even when one of them does not await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
    },
  },
  { files: ['domain/**/*.ts', 'contract/**/*.ts'], rules: deterministicRestrictions },
  { files: ['workflows/**/*.ts'], rules: workflowRestrictions },
  // dependency-cruiser reads its rules from a CommonJS file (linted without types: it is no part of the program).
  {
    files: ['.dependency-cruiser.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false, project: false }, sourceType: 'commonjs', globals: { module: 'writable' } },
  },
  {
    // With reuseV8Context, module state is shared by every workflow in a worker thread: a top-level
    // `let` would leak between runs and differ on replay. Keep per-run state in the run's objects.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "Program > VariableDeclaration[kind='let']", message: 'No module-level `let` in workflow code: it is shared between workflow runs.' },
        { selector: "Program > VariableDeclaration[kind='var']", message: 'No module-level `var` in workflow code: it is shared between workflow runs.' },
      ],
    },
  },
  {
    // Tests and scripts work with untyped JSON and fixtures a lot; keep the safety rules that catch bugs.
    files: ['test/**/*.ts', 'scripts/**/*.mjs', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
