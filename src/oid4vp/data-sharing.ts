import type { Violation } from '../common/index.js';
import type { PermissionVerdict } from '../chain/index.js';
import type { RequestedCredential } from './dcql.js';

/** The on-chain answer for one credential query of a request (ADR 15, 授权用证). */
export interface PermissionCheck {
  queryId: string;
  typeId: string;
  verdict: PermissionVerdict;
  permissionId: string | null;
  purpose: string | null;
  /** The client_id is shared by every party of its prefix (isSharedClientId): no permission can grant it anything. */
  sharedClientId?: boolean;
}

const VERDICT_TEXT: Record<PermissionVerdict, string> = {
  Permitted: 'permitted',
  NoPermission: 'no data-sharing permission of the consortium covers this client and credential type',
  Withdrawn: 'the data-sharing permission was withdrawn by the consortium',
  Expired: 'the data-sharing permission has expired',
  ClaimNotPermitted: 'the request asks for claims beyond the data-sharing permission',
};

const SHARED_CLIENT_ID_TEXT =
  'this client_id is shared by every relying party of its prefix here, so no data-sharing permission can name this party; ' +
  'register it with the decentralized_identifier or x509_hash prefix';

/**
 * Which credential queries the consortium's data-sharing registry does not allow. A registered permission
 * always binds (withdrawn, expired or narrower than the request: refused). Without one, `enforced`
 * decides: refused, or (the one-member embedded default) the relying party's own registration is the limit.
 */
export function dataSharingViolations(
  checks: PermissionCheck[],
  requested: RequestedCredential[],
  enforced: boolean,
): Violation[] {
  const violations: Violation[] = [];
  for (const check of checks) {
    if (check.verdict === 'Permitted' || (check.verdict === 'NoPermission' && !enforced)) continue;
    const index = requested.findIndex((credential) => credential.queryId === check.queryId);
    const text = check.sharedClientId && check.verdict === 'NoPermission' ? SHARED_CLIENT_ID_TEXT : VERDICT_TEXT[check.verdict];
    violations.push({ path: `dcql_query.credentials.${index}`, message: `${check.typeId}: ${text}` });
  }
  return violations;
}

/**
 * A registry answer for a shared client_id (isSharedClientId): what it refuses still binds, what it grants does not,
 * since it would grant every party sharing the id (one party's permission lent to all of them).
 */
export function withoutSharedGrant(check: PermissionCheck): PermissionCheck {
  if (check.verdict !== 'Permitted') return { ...check, sharedClientId: true };
  return { ...check, verdict: 'NoPermission', permissionId: null, purpose: null, sharedClientId: true };
}

/** The permissions a request relies on (recorded with its verdict). */
export const permissionIdsOf = (checks: PermissionCheck[]): string[] => [
  ...new Set(checks.flatMap((check) => (check.permissionId && check.verdict === 'Permitted' ? [check.permissionId] : []))),
];

/** OID4VP 1.0 §5.1 verifier_info entry format for a consortium data-sharing permission. */
export const DATA_SHARING_VERIFIER_INFO_FORMAT = 'urn:chancery:data-sharing-permission';

export interface VerifierInfo {
  format: string;
  data: Record<string, unknown>;
  credential_ids?: string[];
}

/** verifier_info telling the wallet which registered permission (and purpose) each credential query rests on. */
export function dataSharingVerifierInfo(
  checks: PermissionCheck[],
  registry: { chainId: number; address: string },
): VerifierInfo[] {
  return checks
    .filter((check) => check.verdict === 'Permitted' && check.permissionId)
    .map((check) => ({
      format: DATA_SHARING_VERIFIER_INFO_FORMAT,
      data: {
        permission_id: check.permissionId,
        purpose: check.purpose,
        credential_type: check.typeId,
        registry: `eip155:${registry.chainId}:${registry.address}`,
      },
      credential_ids: [check.queryId],
    }));
}

/** The purpose shown to the holder: the registered purposes when the request rests on permissions. */
export function shownPurpose(checks: PermissionCheck[], partyPurpose: string): string {
  const purposes = [
    ...new Set(checks.flatMap((check) => (check.verdict === 'Permitted' && check.purpose ? [check.purpose] : []))),
  ];
  return purposes.length ? purposes.join('; ') : partyPurpose;
}
