import { Injectable } from '@nestjs/common';
import { Database, timeOrderedId, type Tx } from '../persistence/index.js';
import type { CredentialUsageEntity } from './audit.entity.js';
import { AuditLog } from './audit-log.js';
import { AuditRepository } from './audit.repository.js';

export interface VerdictRecord {
  presentationRequestId: string;
  relyingParty: { id: string; name: string; purpose: string };
  verified: boolean;
  /** One per presentation in the vp_token, in order; `discarded`: left out of the response (OID4VP 1.0 §8.6). */
  credentials: { type?: string; issuer?: string; claimNames: string[]; fingerprints: string[]; discarded?: true }[];
}

export interface UsageRecord {
  at: string;
  relyingParty: { id: string; name: string };
  purpose: string;
  claims: string[];
  verified: boolean;
  auditSeq: number | null;
}

/**
 * The holders' usage log (用证记录): every presentation verdict, as an audit entry (relying party, purpose,
 * credential types and disclosed claim names, no values, no fingerprints) and as usage rows keyed by the
 * credential fingerprint, in one transaction.
 */
@Injectable()
export class UsageLog {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly repository: AuditRepository,
  ) {}

  /** In the caller's transaction when given (the verdict's own completion commits with it), else in one of its own. */
  async recordVerdict(record: VerdictRecord, inTransaction?: Tx): Promise<void> {
    const verifiedAt = new Date();
    const write = async (tx: Tx) => {
      const rows: CredentialUsageEntity[] = record.credentials.flatMap((credential) =>
        [...new Set(credential.fingerprints)].map((fingerprint) => ({
          id: timeOrderedId(),
          fingerprint,
          presentationRequestId: record.presentationRequestId,
          relyingPartyId: record.relyingParty.id,
          relyingPartyName: record.relyingParty.name.slice(0, 200),
          purpose: record.relyingParty.purpose.slice(0, 500),
          claimNames: JSON.stringify([...credential.claimNames].sort()),
          // A discarded presentation (OID4VP 1.0 §8.6) was not relied on: not a verified use of it, and no claim of it reached the party.
          verified: record.verified && !credential.discarded,
          auditSeq: null,
          verifiedAt,
        })),
      );
      // The entry's seq goes into the usage rows; only their insert follows the append (head locked until commit).
      const entry = await this.audit.append(
        {
          kind: 'presentation.verdict',
          actor: `relying-party:${record.relyingParty.id}`,
          subject: `presentation:${record.presentationRequestId}`,
          data: {
            relyingParty: record.relyingParty.name,
            purpose: record.relyingParty.purpose,
            verified: record.verified,
            credentials: record.credentials.map((credential) => ({
              type: credential.type ?? null,
              issuer: credential.issuer ?? null,
              claims: [...credential.claimNames].sort(),
              ...(credential.discarded ? { discarded: true } : {}),
            })),
          },
        },
        tx,
      );
      for (const row of rows) row.auditSeq = entry.seq;
      await this.repository.insertUsage(tx, rows);
    };
    await (inTransaction ? write(inTransaction) : this.db.transaction(write));
  }

  /** The fingerprints a (verified) presentation request showed. */
  async fingerprintsOfRequest(presentationRequestId: string): Promise<string[]> {
    return [...new Set((await this.repository.usageOfRequest(presentationRequestId)).map((row) => row.fingerprint))];
  }

  /** Every verification of one credential known to this deployment, oldest first. */
  async usage(fingerprint: string): Promise<UsageRecord[]> {
    return (await this.repository.usageByFingerprint(fingerprint)).map((row) => ({
      at: row.verifiedAt.toISOString(),
      relyingParty: { id: row.relyingPartyId, name: row.relyingPartyName },
      purpose: row.purpose,
      claims: JSON.parse(row.claimNames) as string[],
      verified: row.verified,
      auditSeq: row.auditSeq,
    }));
  }
}
