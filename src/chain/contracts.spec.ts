import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../common/index.js';

describe('contract artifacts', () => {
  it('match what the pinned solc compiles from contracts/*.sol', () => {
    const result = spawnSync(process.execPath, [join(projectRoot(), 'scripts/compile-contracts.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
