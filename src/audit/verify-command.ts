import { Contract, JsonRpcProvider, getAddress } from 'ethers';
import type { AppConfig } from '../config/index.js';
import { contractInterface } from '../chain/index.js';
import { openAuditExport } from './audit-export.repository.js';
import { toRecord } from './audit-log.js';
import { checkTrail, type OnChainAnchor, type TrailReport } from './trail-check.js';

export interface VerifyOptions {
  database: AppConfig['database'];
  rpcUrl: string;
  /** The AuditAnchor address; default: the one recorded in chain_contracts for the node's chain. */
  contract?: string;
  /** Anchoring accounts to check; default: those of the anchors recorded in the database. */
  departments?: string[];
}

/**
 * `npm run cli -- audit:verify`: reads the database (never writes it, runs no migration) and the
 * AuditAnchor contract with plain ethers calls, and checks the whole trail (checkTrail).
 */
export async function verifyAuditTrail(
  options: VerifyOptions,
): Promise<TrailReport & { contract?: string; warnings?: string[] }> {
  const stored = await openAuditExport(options.database);
  const provider = new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true });
  try {
    const repository = stored.audit;
    const entries = (await repository.all()).map(toRecord);
    const head = await repository.head();
    const chainId = Number((await provider.getNetwork()).chainId);
    const address = options.contract ?? (await stored.contracts.recorded(chainId, 'AuditAnchor'))?.address;
    const departments = options.departments?.length
      ? options.departments
      : [...new Set((await repository.anchors()).map((anchor) => anchor.department))];
    const anchors: OnChainAnchor[] = [];
    if (address) {
      const contract = new Contract(address, contractInterface('AuditAnchor'), provider);
      for (const department of departments.map((value) => getAddress(value))) {
        const count = Number(await contract.getFunction('anchorCount')(department));
        for (let index = 0; index < count; index++) {
          const found = (await contract.getFunction('anchorAt')(department, index)) as [bigint, bigint, bigint, string];
          anchors.push({ index, fromSeq: Number(found[0]), toSeq: Number(found[1]), root: found[3] });
        }
      }
    }
    // What the database says about where its anchors are is what an editor of the database could change too: the
    // check is only as independent as the department and contract it is given (README, audit trail).
    const warnings: string[] = [];
    if (!options.departments?.length)
      warnings.push(
        departments.length
          ? 'the anchoring departments were read from the database: give --department <controller address> from an independent record'
          : 'no anchor is recorded in the database, so none was read from the chain: give --department <controller address> to check the trail against the chain',
      );
    if (!options.contract)
      warnings.push('the AuditAnchor address was read from the database: give --contract (or CHAIN_AUDIT_ANCHOR_ADDRESS)');
    return {
      ...checkTrail(entries, head, anchors),
      ...(address ? { contract: address } : {}),
      ...(warnings.length ? { warnings } : {}),
    };
  } finally {
    provider.destroy();
    await stored.close();
  }
}
