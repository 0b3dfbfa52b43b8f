import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common/index.js';
import { CONSORTIUM_CONTRACT_NAMES, CONTRACT_NAMES, contractBytecode, contractInterface } from './contracts.js';
import { ERC1056_NAME } from './erc1056.js';

const artifactsDir = join(projectRoot(), 'contracts', 'artifacts');

describe('contract artifacts', () => {
  it('match what the pinned solc compiles from contracts/*.sol (OpenZeppelin from node_modules), without warnings', () => {
    const result = spawnSync(process.execPath, [join(projectRoot(), 'scripts/compile-contracts.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('exist for exactly the contracts the service names, each deployable', () => {
    const compiled = [...CONTRACT_NAMES.filter((name) => name !== ERC1056_NAME), ...CONSORTIUM_CONTRACT_NAMES];
    const files = readdirSync(artifactsDir).map((file) => file.replace(/\.json$/, ''));
    expect(files.sort()).toEqual([...compiled].sort());
    for (const name of compiled) {
      const artifact = JSON.parse(readFileSync(join(artifactsDir, `${name}.json`), 'utf8')) as { compiler: string };
      expect(artifact.compiler).toMatch(/^solc 0\.8\.26\+/);
      expect(contractBytecode(name)).toMatch(/^0x(?:[0-9a-f]{2})+$/);
      expect(contractInterface(name).fragments.length).toBeGreaterThan(0);
    }
  });

  it('keep the contracts the running service deploys unchanged in what it calls (ABI)', () => {
    const legacy = contractInterface('TrustedIssuerRegistry');
    const governed = contractInterface('GovernedIssuerRegistry');
    // The verifier reads either registry with the same calldata and events.
    for (const name of ['isAuthorised', 'setAuthorised']) {
      expect(governed.getFunction(name)!.selector).toBe(legacy.getFunction(name)!.selector);
    }
    expect(governed.getEvent('IssuerAuthorisation')!.topicHash).toBe(legacy.getEvent('IssuerAuthorisation')!.topicHash);
    expect(legacy.deploy.inputs).toHaveLength(0);
    expect(contractInterface('StatusListAnchor').deploy.inputs).toHaveLength(0);
  });
});
