import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { BackgroundJob } from '../common/index.js';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { Database } from '../persistence/index.js';
import { KeyService } from '../keys/index.js';
import {
  anchorRangeCall,
  auditRangeTree,
  ChainBootstrap,
  ChainClient,
  decodeNextSequence,
  JobLeases,
  nextSequenceCall,
  OutboxService,
} from '../chain/index.js';
import type { AuditAnchorEntity } from './audit.entity.js';
import { AuditRepository } from './audit.repository.js';
import { AuditSealer } from './audit-sealer.js';

const LEASE_NAME = 'audit-anchor';
/** Long enough to read a range and queue its anchor; the lease is released right after. */
const LEASE_MS = 60_000;

export const anchorPurpose = 'audit:anchor';

/** Why the last round queued nothing although entries were waiting: the contract expects another range. */
export interface AnchorRefusal {
  at: Date;
  /** Where our anchored ranges end + 1. */
  fromSeq: number;
  /** Where the contract's series for this department continues (its nextSequence). */
  expected: number;
  department: string;
  contract: string;
}

/**
 * Anchors the Merkle root of the entries not yet anchored on the AuditAnchor contract, through the outbox
 * (signed by the department's controller, the `chain:deployer` account). Periodically and on demand; one
 * replica at a time (a job lease), and one anchor in flight at a time, so ranges follow each other without
 * gap or overlap as the contract demands. A reverted anchor is settled as such and its range anchored again.
 */
@Injectable()
export class AuditAnchoring implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuditAnchoring');
  private readonly job = new BackgroundJob(this.logger, 'audit anchoring');
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<AuditAnchorEntity | undefined> | undefined;
  private refusal: AnchorRefusal | undefined;

  constructor(
    private readonly db: Database,
    private readonly repository: AuditRepository,
    private readonly sealer: AuditSealer,
    private readonly outbox: OutboxService,
    private readonly bootstrap: ChainBootstrap,
    private readonly keys: KeyService,
    private readonly leases: JobLeases,
    private readonly chain: ChainClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.audit.anchorIntervalMs > 0) this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.job.run(() => this.anchorNow()).finally(() => this.schedule());
    }, this.config.audit.anchorIntervalMs);
  }

  /**
   * Settles the anchor in flight; when none is, queues the next range (up to AUDIT_ANCHOR_MAX_ENTRIES
   * entries). Returns the anchor queued, or undefined when there was nothing to anchor, an anchor is still
   * in flight, or another replica holds the lease.
   */
  anchorNow(): Promise<AuditAnchorEntity | undefined> {
    const run = (this.running ?? Promise.resolve(undefined)).catch(() => undefined).then(() => this.round());
    this.running = run;
    return run;
  }

  private async round(): Promise<AuditAnchorEntity | undefined> {
    // A refusal is over once a range from where it stopped has been anchored, by this replica or another one
    // (which may hold the lease, or leave this one nothing to anchor): seen here, before either can return early.
    if (this.refusal) {
      const newest = (await this.repository.anchors()).filter((anchor) => anchor.status === 'mined').at(-1);
      if (newest && newest.toSeq >= this.refusal.fromSeq) this.refusal = undefined;
    }
    if (!(await this.leases.acquire(LEASE_NAME, LEASE_MS))) return undefined;
    try {
      const anchors = await this.repository.anchors();
      if (!(await this.settle(anchors))) return undefined;
      const anchored = anchors.filter((anchor) => anchor.status === 'mined');
      const fromSeq = (anchored.at(-1)?.toSeq ?? 0) + 1;
      // Issuance entries still pending (ADR 20) are chained first, so the range holds what committed.
      await this.sealer.seal();
      const head = await this.repository.head();
      if (head.seq < fromSeq) return undefined;
      const toSeq = Math.min(head.seq, fromSeq + this.config.audit.anchorMaxEntries - 1);
      const entries = await this.repository.range(fromSeq, toSeq);
      const tree = auditRangeTree(entries.map((entry) => ({ seq: entry.seq, entryHash: '0x' + entry.entryHash })));
      const signerKeyId = await this.bootstrap.governorKeyId();
      const department = (await this.keys.getKey(signerKeyId)).address!;
      const expected = await this.nextOnChain(department);
      if (expected !== fromSeq) {
        // Our record and the contract disagree (a reset chain, a database restored from an older backup):
        // anchoring anything else would revert; an operator has to look.
        const contract = this.bootstrap.address('AuditAnchor');
        this.refusal = { at: new Date(), fromSeq, expected, department, contract };
        this.logger.error(
          { event: 'audit_anchor_refused', fromSeq, expected, department, contract },
          'the AuditAnchor contract expects another range; not anchoring',
        );
        return undefined;
      }
      this.refusal = undefined;
      const anchor: AuditAnchorEntity = {
        id: randomUUID(),
        fromSeq,
        toSeq,
        root: tree.root,
        department,
        outboxId: '',
        status: 'pending',
        txHash: null,
        blockNumber: null,
        createdAt: new Date(),
      };
      await this.db.transaction(async (tx) => {
        [anchor.outboxId] = await this.outbox.enqueue(tx, [
          {
            signerKeyId,
            to: this.bootstrap.address('AuditAnchor'),
            data: anchorRangeCall(BigInt(fromSeq), BigInt(toSeq), tree.root),
            purpose: anchorPurpose,
            ref: `audit-anchor:${anchor.id}`,
          },
        ]);
        await this.repository.insertAnchor(tx, anchor);
      });
      this.logger.log({ fromSeq, toSeq, root: tree.root }, 'audit range queued for anchoring');
      return anchor;
    } finally {
      // After a queued range, a failed release must not fail the answer: the lease runs out by itself.
      await this.leases
        .release(LEASE_NAME)
        .catch((error: unknown) =>
          this.logger.warn(
            { event: 'audit_anchor_lease_release_failed', code: (error as { code?: unknown }).code },
            'lease left to run out',
          ),
        );
    }
  }

  /** The refusal of the last round on this replica, until a range from where it stopped is anchored (by any replica). */
  lastRefusal(): AnchorRefusal | undefined {
    return this.refusal;
  }

  /** Where the contract expects this department's next range to start (ChainUnavailableError when unreachable). */
  private async nextOnChain(department: string): Promise<number> {
    const to = this.bootstrap.address('AuditAnchor');
    return Number(decodeNextSequence(await this.chain.provider.call({ to, data: nextSequenceCall(department) })));
  }

  /** Settles pending anchors from their outbox entries; false while one is still in flight. */
  private async settle(anchors: AuditAnchorEntity[]): Promise<boolean> {
    let idle = true;
    for (const anchor of anchors.filter((candidate) => candidate.status === 'pending')) {
      const entry = await this.outbox.get(anchor.outboxId);
      if (entry?.status === 'mined' || entry?.status === 'reverted') {
        const changes = { status: entry.status, txHash: entry.txHash, blockNumber: entry.blockNumber };
        await this.repository.settleAnchor(anchor.id, changes);
        Object.assign(anchor, changes);
        if (entry.status === 'reverted')
          this.logger.error({ anchorId: anchor.id, error: entry.lastError }, 'audit anchor reverted');
      } else idle = false;
    }
    return idle;
  }

  /** The anchor with its status brought up to date from the outbox (readers need not wait for a round). */
  async current(anchor: AuditAnchorEntity): Promise<AuditAnchorEntity> {
    await this.settle([anchor]);
    return anchor;
  }
}
