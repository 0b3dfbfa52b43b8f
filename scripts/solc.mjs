// solc standard-JSON compilation shared by the compile script and the artifact test.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const solc = require('solc');

/** @param {Record<string, string>} sources file name → Solidity source */
export function compileContracts(sources) {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([file, content]) => [file, { content }])),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      metadata: { bytecodeHash: 'none' },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((error) => error.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((error) => error.formattedMessage).join('\n'));
  const artifacts = {};
  for (const file of Object.keys(output.contracts ?? {})) {
    for (const [name, contract] of Object.entries(output.contracts[file])) {
      artifacts[name] = {
        contractName: name,
        sourceName: file,
        compiler: `solc ${solc.version()}`,
        abi: contract.abi,
        bytecode: '0x' + contract.evm.bytecode.object,
      };
    }
  }
  return artifacts;
}
