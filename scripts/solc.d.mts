// Types of scripts/solc.mjs for TypeScript callers (the contract tests compile test-only contracts with it).
export interface CompiledArtifact {
  contractName: string;
  sourceName: string;
  compiler: string;
  abi: unknown[];
  bytecode: string;
}

export function compileContracts(sources: Record<string, string>): {
  artifacts: Record<string, CompiledArtifact>;
  warnings: string[];
};
