// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import rediver from './tools/eslint/noInternalMember.mjs';

// Import boundaries (CONTRIBUTING.md): packages → core only; apps → packages' public entries only.
const NO_RELATIVE_CROSS_PROJECT = {
  group: ['**/packages/**', '**/apps/**'],
  message:
    'No relative import into another project: depend on it by name (workspace:^) and import its entry.',
};
const PACKAGE_SRC_IMPORTS = [
  {
    group: ['@rediver/*', '!@rediver/core'],
    message: 'A package imports only @rediver/core; only apps wire packages together (CONTRIBUTING.md).',
  },
  NO_RELATIVE_CROSS_PROJECT,
];
const PACKAGE_TEST_IMPORTS = [
  {
    group: ['@rediver/*', '!@rediver/core', '!@rediver/testkit', '!@rediver/testkit/vitest'],
    message: "A package's tests and benches import @rediver/core and the test kit (@rediver/testkit) only.",
  },
  NO_RELATIVE_CROSS_PROJECT,
];
const APP_IMPORTS = [
  {
    group: ['@rediver/*/*', '!@rediver/testkit/vitest', '!@rediver/*/package.json'],
    message: "Apps import a package's public entry only: no `@rediver/x/internal` or other deep paths.",
  },
  {
    group: ['**/packages/**'],
    message: "No relative import into a package's files: import its public entry.",
  },
];
const APP_SRC_IMPORTS = [
  ...APP_IMPORTS,
  {
    group: ['@rediver/testkit', '@rediver/testkit/*'],
    message: 'The test kit is for tests and benches only.',
  },
];

// max-params: more than 4 positional parameters takes an options object. Two files stay, and new code may not add
// to the list: validation.ts's field checkers (str/num/obj/oneOf: ~75 calls per object on the body workers' hot
// path, built to allocate nothing per field; changing them needs the ingest bench) and the test helper makeChunk
// (its callers are test files, whose lines stay as they are in the split).
const MAX_PARAMS_GRANDFATHERED = [
  'apps/ingest-server/src/internal/validation.ts',
  'apps/ingest-server/test/helpers.ts',
];

/**
 * One flat config for the whole workspace. Architecture is encoded as rules (see STYLE.md):
 * no `export *`, type-only imports, no floating promises, exhaustive switches, no console in packages, at most
 * four positional parameters, import boundaries (packages → core; apps → public entries, no `@internal` members).
 * `tools/lintRules.test.ts` proves the important ones fire.
 */
export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.nx/**',
      '**/coverage/**',
      '**/.pack/**',
      '**/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // lintProbe.ts: the in-memory file tools/lintRules.test.ts lints to prove the rules fire.
          allowDefaultProject: [
            '*.js',
            '*.mjs',
            'tools/*.mjs',
            'tools/generators/*.mjs',
            '*/*/src/lintProbe.ts',
            '*/*/src/lintProbe.test.ts',
          ],
          defaultProject: 'tsconfig.base.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'No `export *`: export each public name explicitly.' },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports' },
      ],
      '@typescript-eslint/consistent-type-exports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      'max-params': 'off',
      '@typescript-eslint/max-params': ['error', { max: 4 }],
    },
  },
  {
    files: MAX_PARAMS_GRANDFATHERED,
    rules: { '@typescript-eslint/max-params': 'off' },
  },
  {
    // A fast-check property's callback takes one parameter per arbitrary.
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/max-params': 'off' },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/*/src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: PACKAGE_SRC_IMPORTS }] },
  },
  {
    files: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.ts',
      'packages/*/bench/**/*.ts',
      'packages/*/*.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: PACKAGE_TEST_IMPORTS }] },
  },
  {
    files: ['apps/**/*.ts', 'apps/**/*.mts'],
    plugins: { rediver },
    rules: {
      'rediver/no-internal-member': 'error',
      'no-restricted-imports': ['error', { patterns: APP_IMPORTS }],
    },
  },
  {
    files: ['apps/*/src/**/*.ts'],
    ignores: ['apps/*/src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: APP_SRC_IMPORTS }] },
  },
  {
    // Libraries log through an injected pino-compatible logger, never the console.
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/*/src/**/*.test.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      '@typescript-eslint/max-params': 'off',
      'max-params': ['error', 4],
      'rediver/no-internal-member': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts', '**/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
