// solc standard-JSON compilation shared by the compile script and the artifact test.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';

const require = createRequire(import.meta.url);
const solc = require('solc');

/** Import prefixes resolved from node_modules, pinned by package.json (exact versions). */
const PACKAGES = ['@openzeppelin/contracts/'];

/**
 * Resolves `@openzeppelin/contracts/...` imports from node_modules. The source unit name stays the import
 * path, so the bytecode does not depend on where node_modules is. Anything else is refused.
 */
function findImport(path) {
  const prefix = PACKAGES.find((candidate) => path.startsWith(candidate));
  if (!prefix) return { error: `Import ${path} is neither in contracts/ nor in ${PACKAGES.join(', ')}` };
  const packageRoot = dirname(require.resolve(`${prefix}package.json`));
  const file = normalize(join(packageRoot, path.slice(prefix.length)));
  if (!file.startsWith(packageRoot + sep)) return { error: `Import ${path} leaves its package` };
  try {
    return { contents: readFileSync(file, 'utf8') };
  } catch {
    return { error: `Import ${path} not found in node_modules` };
  }
}

/**
 * Compiles our sources; returns an artifact per deployable contract defined in them (interfaces, abstract
 * contracts and library code from imported packages have no artifact of their own), and the compiler's
 * warnings about our sources (those about imported packages are theirs to fix).
 * @param {Record<string, string>} sources file name → Solidity source
 */
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
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const errors = (output.errors ?? []).filter((error) => error.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((error) => error.formattedMessage).join('\n'));
  const warnings = (output.errors ?? [])
    .filter((error) => error.severity !== 'error' && (error.sourceLocation?.file ?? '') in sources)
    .map((error) => error.formattedMessage);
  const artifacts = {};
  for (const file of Object.keys(output.contracts ?? {})) {
    if (!(file in sources)) continue;
    for (const [name, contract] of Object.entries(output.contracts[file])) {
      if (contract.evm.bytecode.object === '') continue;
      artifacts[name] = {
        contractName: name,
        sourceName: file,
        compiler: `solc ${solc.version()}`,
        abi: contract.abi,
        bytecode: '0x' + contract.evm.bytecode.object,
      };
    }
  }
  return { artifacts, warnings };
}
