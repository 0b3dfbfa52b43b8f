import { Injectable } from '@nestjs/common';
import { chainUnavailable, notFound } from '../common/index.js';
import { auditLeaf, auditRangeTree, ChainBootstrap, ChainUnavailableError } from '../chain/index.js';
import type { AuditAnchorEntity } from './audit.entity.js';
import { AuditRepository } from './audit.repository.js';
import { AuditAnchoring } from './audit-anchoring.js';
import { toRecord } from './audit-log.js';
import type { AnchorRefusalView, AuditAnchorView, AuditEntryView } from './audit.schemas.js';

/** Operator reads of the trail: an entry, its inclusion proof, its anchor; anchoring on demand. */
@Injectable()
export class AuditTrailService {
  constructor(
    private readonly repository: AuditRepository,
    private readonly anchoring: AuditAnchoring,
    private readonly bootstrap: ChainBootstrap,
  ) {}

  async entry(seq: number): Promise<AuditEntryView> {
    const row = await this.repository.entry(seq);
    if (!row) throw notFound(`No audit entry ${seq}`);
    const entry = toRecord(row);
    const found = await this.repository.anchorCovering(seq);
    const anchor = found && (await this.anchoring.current(found));
    let proof: string[] | null = null;
    if (anchor && anchor.status !== 'reverted') {
      const range = await this.repository.range(anchor.fromSeq, anchor.toSeq);
      const tree = auditRangeTree(range.map((item) => ({ seq: item.seq, entryHash: '0x' + item.entryHash })));
      // The stored range no longer gives the anchored root: the log was changed after anchoring.
      proof = tree.root === anchor.root ? tree.proof(seq) : null;
    }
    return {
      entry,
      leaf: auditLeaf(seq, '0x' + entry.entryHash),
      proof,
      anchor: anchor && anchor.status !== 'reverted' ? this.anchorView(anchor) : null,
    };
  }

  async anchorNow(): Promise<{ anchor: AuditAnchorView | null; refused: AnchorRefusalView | null }> {
    const anchor = await this.anchoring.anchorNow().catch((error: unknown) => {
      throw error instanceof ChainUnavailableError ? chainUnavailable() : error;
    });
    const refusal = anchor ? undefined : this.anchoring.lastRefusal();
    return {
      anchor: anchor ? this.anchorView(anchor) : null,
      refused: refusal ? { ...refusal, at: refusal.at.toISOString() } : null,
    };
  }

  private anchorView(anchor: AuditAnchorEntity): AuditAnchorView {
    return {
      id: anchor.id,
      fromSeq: anchor.fromSeq,
      toSeq: anchor.toSeq,
      root: anchor.root,
      department: anchor.department,
      contract: this.bootstrap.address('AuditAnchor'),
      status: anchor.status,
      txHash: anchor.txHash,
      blockNumber: anchor.blockNumber,
      createdAt: anchor.createdAt.toISOString(),
    };
  }
}
