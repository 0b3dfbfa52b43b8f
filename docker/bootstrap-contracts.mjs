// One-shot bootstrap of a fresh consortium chain (compose service chancery-bootstrap). Starts the service
// once, without the contract addresses, so that it deploys the ERC-1056 registry, the trusted-issuer
// registry, the status-list anchor, the audit anchor (ADR 16) and the consortium (ADR 15) through its outbox, signed by its own governor key (kept in the
// database under KMS_MASTER_KEY, so the replicas can govern the registry afterwards). Writes the addresses
// as contracts.env for the replicas, which run in production mode and require them. Idempotent: a second
// run finds the recorded contracts and writes the same addresses.
//
// Usage (inside the image): node docker/bootstrap-contracts.mjs <output file>
/* eslint-disable no-restricted-properties -- a container entry point is where the environment comes in. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyFileSecrets } from './entrypoint.mjs';

/**
 * Deploys (or finds) the contracts on the chain at CHAIN_RPC_URL with the database and keys of `env`;
 * returns the contracts.env text. `service` is the built service (dist/) in the image, src/ in tests.
 */
export async function bootstrapContracts(env, { loadConfig, startApp }) {
  // Production refuses to start without the addresses; this run deploys them. It listens on loopback
  // only, creates no demo agency, and stops as soon as the addresses are known.
  const config = loadConfig({
    ...applyFileSecrets(env),
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    DEMO_AGENCY: 'false',
    CHAIN_REGISTRY_ADDRESS: '',
    CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS: '',
    CHAIN_STATUS_ANCHOR_ADDRESS: '',
    CHAIN_AUDIT_ANCHOR_ADDRESS: '',
    // Founds the consortium with DEPARTMENT_NAME, CONSORTIUM_FOUNDERS and CONSORTIUM_THRESHOLD (ADR 15),
    // unless CHAIN_CONSORTIUM_ADDRESS names one to join.
  });
  if (!config.chain.rpcUrl) throw new Error('CHAIN_RPC_URL is required: the bootstrap deploys to the consortium chain');
  if (!config.keys.masterKey) throw new Error('KMS_MASTER_KEY is required: the replicas must be able to use the governor key');
  const running = await startApp(config);
  try {
    const response = await fetch(`${running.url}/operator/chain`, {
      headers: { authorization: `Bearer ${running.operatorApiKey}` },
    });
    if (!response.ok) throw new Error(`GET /operator/chain answered ${response.status}`);
    const { chainId, contracts, consortium, auditAnchor } = await response.json();
    return [
      `# Written by docker/bootstrap-contracts.mjs for chain ${chainId}; do not edit.`,
      `CHAIN_REGISTRY_ADDRESS=${contracts.EthereumDIDRegistry}`,
      `CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS=${contracts.TrustedIssuerRegistry}`,
      `CHAIN_STATUS_ANCHOR_ADDRESS=${contracts.StatusListAnchor}`,
      `CHAIN_CONSORTIUM_ADDRESS=${consortium.governance}`,
      `CHAIN_AUDIT_ANCHOR_ADDRESS=${auditAnchor}`,
      '',
    ].join('\n');
  } finally {
    await running.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const output = process.argv[2];
  if (!output) {
    process.stderr.write('Usage: node docker/bootstrap-contracts.mjs <output file>\n');
    process.exit(2);
  }
  const { loadConfig } = await import('../dist/src/config/index.js');
  const { startApp } = await import('../dist/src/app.js');
  const text = await bootstrapContracts(process.env, { loadConfig, startApp });
  writeFileSync(output, text);
  process.stdout.write(text);
}
