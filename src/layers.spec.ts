import { ESLint } from 'eslint';

/** ADR 2's layers are enforced by the lint configuration; these fixtures show that an upward import fails. */
describe('module layers (eslint.config.js)', () => {
  // Only the two rules under test, and no type information: the rules need none, and building the program for it
  // took ~30 s of this file's ~35.
  const eslint = new ESLint({
    overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
    ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports' || ruleId === 'no-restricted-syntax',
  });

  const errorsFor = async (filePath: string, code: string, rule = 'no-restricted-imports') => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.filter((message) => message.ruleId === rule).map((message) => message.message);
  };

  it('refuses imports from the same or a higher layer, at any folder depth', async () => {
    expect(await errorsFor('src/credentials/jws.ts', "export { x } from '../issuer/index.js';\n")).toEqual([
      expect.stringContaining('ADR 2: src/credentials'),
    ]);
    expect(await errorsFor('src/chain/outbox.worker.ts', "export { x } from '../status/index.js';\n")).toHaveLength(1);
    expect(await errorsFor('src/issuer/agencies/auth.ts', "export { x } from '../../verifier/index.js';\n")).toHaveLength(1);
    expect(await errorsFor('src/keys/key.service.ts', "export { x } from '../chain/index.js';\n")).toHaveLength(1);
  }, 120_000);

  it('allows downward imports and sub-modules of the same module', async () => {
    expect(await errorsFor('src/issuer/agencies/auth.ts', "export { x } from '../credentials/index.js';\n")).toEqual([]);
    expect(await errorsFor('src/status/lists.ts', "export { x } from '../credentials/index.js';\n")).toEqual([]);
    expect(await errorsFor('src/verifier/verifier.service.ts', "export { x } from '../oid4vp/index.js';\n")).toEqual([]);
  }, 120_000);

  it('refuses SQLite cursors in repositories, src/persistence and elsewhere, and keeps TypeORM in repositories (ADR 26, ADR 2)', async () => {
    const cursor = 'declare const statement: { iterate(): unknown };\nstatement.iterate();\n';
    const typeorm = "import { DataSource } from 'typeorm';\nvoid DataSource;\n";
    for (const file of ['src/status/status.repository.ts', 'src/persistence/driver.ts', 'src/verifier/verifier.service.ts']) {
      expect(await errorsFor(file, cursor, 'no-restricted-syntax')).toEqual([expect.stringContaining('ADR 26')]);
    }
    expect(await errorsFor('src/verifier/verifier.service.ts', typeorm, 'no-restricted-syntax')).toEqual([
      expect.stringContaining('ADR 2'),
    ]);
    expect(await errorsFor('src/status/status.repository.ts', typeorm, 'no-restricted-syntax')).toEqual([]);
  }, 120_000);
});
