import { ESLint } from 'eslint';

/** ADR 2: TypeORM is used only in repositories, entities and src/persistence; the lint configuration says so. */
describe('TypeORM boundary (eslint.config.js)', () => {
  // The rule is syntactic: only it runs, without building the TypeScript program (that costs most of the time).
  const eslint = new ESLint({
    ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-syntax',
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  });

  const errorsFor = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.filter((message) => message.ruleId === 'no-restricted-syntax').map((message) => message.message);
  };
  const query = 'export const load = (m: any) => m.getRepository(Object).findOneBy({});\n';
  const builder = 'export const purge = (m: any) => m.createQueryBuilder().delete().execute();\n';

  it('refuses TypeORM imports and queries in services and controllers', async () => {
    expect(
      await errorsFor('src/chain/outbox.service.ts', "import { In } from 'typeorm';\nexport const open = In([]);\n"),
    ).toEqual([expect.stringContaining('ADR 2')]);
    expect(await errorsFor('src/keys/key.service.ts', query)).toHaveLength(1);
    expect(await errorsFor('src/issuer/agencies/agency.controller.ts', builder)).toHaveLength(1);
  }, 120_000);

  it('allows them in repositories, entities and src/persistence, and type-only imports anywhere', async () => {
    expect(
      await errorsFor('src/chain/outbox.repository.ts', `import { In } from 'typeorm';\nexport const open = In([]);\n${builder}`),
    ).toEqual([]);
    expect(
      await errorsFor('src/keys/key.entity.ts', "import { Entity } from 'typeorm';\nexport const entity = Entity;\n"),
    ).toEqual([]);
    expect(await errorsFor('src/persistence/database.ts', query)).toEqual([]);
    expect(
      await errorsFor('src/app.module.ts', "import type { DataSource } from 'typeorm';\nexport type Source = DataSource;\n"),
    ).toEqual([]);
  }, 120_000);
});
