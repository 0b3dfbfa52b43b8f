import { ESLint } from 'eslint';

/** ADR 2's layers are enforced by the lint configuration; these fixtures show that an upward import fails. */
describe('module layers (eslint.config.js)', () => {
  const eslint = new ESLint();

  const errorsFor = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
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
});
