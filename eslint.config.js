import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * ADR 2: modules under src/ import only downward. Rank per module; a module may import modules of a lower
 * rank only (same-rank modules stay independent). Relative imports are matched by depth, so
 * `src/issuer/agencies` importing `../credentials` (issuer's own sub-module) is not mistaken for src/credentials.
 */
const LAYER_RANK = {
  config: 0,
  common: 1,
  persistence: 2,
  keys: 3,
  chain: 4,
  audit: 5,
  credentials: 5,
  did: 5,
  status: 6,
  oauth: 7,
  oid4vci: 8,
  oid4vp: 8,
  issuer: 9,
  verifier: 9,
  health: 9,
  citizens: 10,
};

function layerRules() {
  const modules = Object.keys(LAYER_RANK);
  return modules.flatMap((module) => {
    const forbidden = modules.filter((other) => other !== module && LAYER_RANK[other] >= LAYER_RANK[module]);
    if (forbidden.length === 0) return [];
    // A file at src/<module>/<depth folders>/file.ts reaches src/ with depth + 1 '../'.
    return [0, 1, 2, 3].map((depth) => ({
      files: [`src/${module}/${'*/'.repeat(depth)}*.ts`],
      // Unit specs may reach across layers to build fixtures; the layers bind production code.
      ignores: ['**/*.spec.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `^(\\.\\./){${depth + 1}}(${forbidden.join('|')})(/|$)`,
                message: `ADR 2: src/${module} must not import from a module in the same or a higher layer.`,
              },
            ],
          },
        ],
      },
    }));
  });
}

/** Repositories, entities and src/persistence: where database code lives. */
const DATA_LAYER = ['**/*.repository.ts', '**/*.entity.ts', 'src/persistence/**', 'src/entities.ts'];

/**
 * ADR 26: an unfinished cursor holds a read snapshot on the service's SQLite connection while
 * `inTransaction` is false, and the change feeds would pair that snapshot's `data_version` with the current
 * WAL-index header, missing another connection's commit. Read rows with `all`/`get`.
 */
const NO_CURSORS = {
  selector: "CallExpression[callee.property.name='iterate']",
  message: 'ADR 26: no SQLite cursors (.iterate()) in the service: they hide commits from the change feeds.',
};

export default tseslint.config(
  { ignores: ['dist/**', '.cache/**', 'node_modules/**', 'data/**', 'coverage/**', 'docker/**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config.' },
      ],
    },
  },
  {
    files: ['src/config/**', 'src/main.ts', 'src/cli.ts', 'test/**', 'bench/**', 'scripts/**', '*.js'],
    rules: { 'no-restricted-properties': 'off' },
  },
  ...layerRules(),
  {
    // ADR 2: TypeORM only in repositories (and entities, migrations, src/persistence). Elsewhere a query is
    // a repository method whose name says the use case.
    files: ['src/**/*.ts'],
    ignores: ['**/*.spec.ts', ...DATA_LAYER],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='typeorm'][importKind!='type']",
          message: 'ADR 2: TypeORM only in repositories, entities and src/persistence.',
        },
        {
          selector: 'CallExpression[callee.property.name=/^(getRepository|createQueryBuilder)$/]',
          message: 'ADR 2: queries belong in a repository (*.repository.ts).',
        },
        NO_CURSORS,
      ],
    },
  },
  {
    files: DATA_LAYER,
    ignores: ['**/*.spec.ts'],
    rules: { 'no-restricted-syntax': ['error', NO_CURSORS] },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
);
