import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackgroundJob, forEachIsolated } from '../common/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../config/index.js';
import { Database } from '../persistence/index.js';
import { KeyService } from '../keys/index.js';
import { OutboxService, StatusListAnchorClient } from '../chain/index.js';
import { signJws } from '../credentials/index.js';
import { encodeBitstring, encodeTokenList, TOKEN_STATUS } from './lists.js';
import { PURPOSES_BY_KIND, statusListUrl } from './list-urls.js';
import { StatusRepository } from './status.repository.js';
import type { StatusListEntity, StatusPurpose } from './status.entity.js';

/** How long a status change waits for another publisher's lease on a list before leaving it to the next round. */
const MAX_LEASE_WAIT_MS = 3_000;

/**
 * Publishes status lists. A change flips flags and bumps a sequence in the database; the publisher then
 * signs one new version per changed list (served from then on) and queues the anchoring of its digest in
 * the outbox, so a batch of any size costs one anchoring transaction per list and a revocation never waits
 * for the chain. Only the holder of a list's publisher lease signs its versions, so several service
 * instances never race for one.
 */
@Injectable()
export class StatusListPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('StatusListPublisher');
  private readonly publicationJob = new BackgroundJob(this.logger, 'status publication');
  private readonly reconciliationJob = new BackgroundJob(this.logger, 'status reconciliation');
  private readonly baseUrl: string;
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<unknown> | undefined;
  private stopped = false;
  private publishQueue: Promise<unknown> = Promise.resolve();
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<unknown> | undefined;
  /** This process's publisher identity for list leases. */
  readonly publisherId = randomUUID();

  constructor(
    private readonly db: Database,
    private readonly repository: StatusRepository,
    private readonly keys: KeyService,
    private readonly outbox: OutboxService,
    private readonly anchors: StatusListAnchorClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.baseUrl = publicBaseUrl(config);
  }

  onApplicationBootstrap(): void {
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.publishing = this.publicationJob.run(() => this.publishPending()).finally(tick);
      }, this.config.status.publishIntervalMs);
    };
    tick();
    const reconcileTick = () => {
      if (this.stopped) return;
      this.reconcileTimer = setTimeout(() => {
        this.reconciling = this.reconciliationJob.run(() => this.reconcile()).finally(reconcileTick);
      }, this.config.status.reconcileIntervalMs);
    };
    reconcileTick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.reconcileTimer);
    await Promise.all([this.publishing, this.reconciling]);
  }

  /**
   * Signs a new version of every list (or of the given lists) that changed since its last publication,
   * and queues its anchor. With `waitForLease`, waits while another publisher holds a list's lease (it
   * may have read the list before our change) instead of leaving the change to the next round.
   */
  publishPending(listIds?: string[], options: { waitForLease?: boolean; reconcile?: boolean } = {}): Promise<number> {
    const run = this.publishQueue.then(() => this.publishChanged(listIds, options));
    this.publishQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * The reconciler's step for status lists: publishes changes that were committed but not published
   * (a crash between the two), and publishes a new version of a list whose newest anchor was reverted
   * or lost, so that every list ends with an anchored newest version. Runs under each list's lease.
   */
  reconcile(): Promise<number> {
    return this.publishPending(undefined, { reconcile: true });
  }

  private async publishChanged(
    listIds: string[] | undefined,
    options: { waitForLease?: boolean; reconcile?: boolean },
  ): Promise<number> {
    let published = 0;
    const lists = listIds
      ? await this.db.transaction((tx) => this.repository.listsByIds(tx, listIds))
      : await this.repository.allLists();
    // A list that keeps failing does not hold up the lists after it (they come in the same order every round).
    await forEachIsolated(
      lists,
      async (candidate) => {
        if (this.stopped) return;
        // Checked before taking the lease, so an idle round writes nothing.
        if ((await this.due(candidate, options.reconcile === true)).length === 0) return;
        if (!(await this.claimLease(candidate.id, options.waitForLease === true))) return;
        try {
          // Read again under the lease: the sequences may have moved, or another publisher did the work.
          const list = (await this.repository.list(candidate.id))!;
          for (const { purpose, seq, version } of await this.due(list, options.reconcile === true)) {
            await this.publish(list, purpose, seq, version);
            published++;
          }
        } finally {
          await this.repository.releaseLease(candidate.id, this.publisherId);
        }
      },
      (error, candidate) => this.logger.warn({ err: error, listId: candidate.id }, 'publishing a status list failed; will retry'),
    );
    return published;
  }

  /** The purposes of a list that need a new version: changed since the last one, or (reconciling) its anchor lost. */
  private async due(list: StatusListEntity, reconcile: boolean) {
    const due: { purpose: StatusPurpose; seq: number; version: number }[] = [];
    for (const purpose of PURPOSES_BY_KIND[list.kind]) {
      const seq =
        purpose === 'revocation'
          ? list.revocationSeq
          : purpose === 'suspension'
            ? list.suspensionSeq
            : list.revocationSeq + list.suspensionSeq;
      const latest = await this.repository.latestPublication(list.id, purpose);
      if (latest && latest.seq >= seq && !(reconcile && (await this.anchorLost(latest.outboxId)))) continue;
      due.push({ purpose, seq, version: (latest?.version ?? 0) + 1 });
    }
    return due;
  }

  /** An anchor that will never land: reverted on chain, or its outbox entry is gone. */
  private async anchorLost(outboxId: string): Promise<boolean> {
    const write = await this.outbox.get(outboxId);
    return !write || write.status === 'reverted';
  }

  private async claimLease(listId: string, wait: boolean): Promise<boolean> {
    const leaseMs = this.config.status.publisherLeaseMs;
    // A live holder publishes within milliseconds; a holder that died keeps its lease until it runs out, and the
    // change waiting here would wait that long for an answer the next round gives anyway.
    const deadline = Date.now() + Math.min(leaseMs, MAX_LEASE_WAIT_MS);
    for (;;) {
      if (await this.repository.claimLease(listId, this.publisherId, Date.now(), leaseMs)) return true;
      if (!wait || Date.now() > deadline || this.stopped) return false;
      await sleep(50);
    }
  }

  private async publish(list: StatusListEntity, purpose: StatusPurpose, seq: number, version: number): Promise<void> {
    const flagged = await this.repository.flagged(list.id);
    const url = statusListUrl(this.baseUrl, list.id, purpose);
    const now = Math.floor(Date.now() / 1000);
    const sign = (input: Uint8Array) => this.keys.signJws(list.signingKeyId, input);
    let jwt: string;
    if (purpose === 'token') {
      const statuses = flagged.map((e): [number, number] => [e.idx, e.revoked ? TOKEN_STATUS.invalid : TOKEN_STATUS.suspended]);
      jwt = await signJws(
        { alg: 'ES256', kid: list.signingKid, typ: 'statuslist+jwt' },
        {
          iss: list.issuerDid,
          sub: url,
          iat: now,
          // ttl MUST be positive (draft-ietf-oauth-status-list): with STATUS_LIST_MAX_AGE_SECONDS=0 there is none.
          ...(this.config.status.maxAgeSeconds > 0 ? { ttl: this.config.status.maxAgeSeconds } : {}),
          version,
          status_list: encodeTokenList(list.size, 2, statuses),
        },
        sign,
      );
    } else {
      const indices = flagged.filter((e) => (purpose === 'revocation' ? e.revoked : e.suspended)).map((e) => e.idx);
      jwt = await signJws(
        { alg: 'ES256', kid: list.signingKid, typ: 'vc+jwt', cty: 'vc' },
        {
          '@context': ['https://www.w3.org/ns/credentials/v2'],
          id: url,
          type: ['VerifiableCredential', 'BitstringStatusListCredential'],
          issuer: list.issuerDid,
          validFrom: new Date(now * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          credentialSubject: {
            id: `${url}#list`,
            type: 'BitstringStatusList',
            statusPurpose: purpose,
            encodedList: encodeBitstring(list.size, indices),
            // Milliseconds (Bitstring Status List §2.2), aligned with Cache-Control: verifiers built to earlier text of
            // the spec read a missing ttl as 300000, ten times our default max-age.
            ...(this.config.status.maxAgeSeconds > 0 ? { ttl: this.config.status.maxAgeSeconds * 1000 } : {}),
          },
          iss: list.issuerDid,
          iat: now,
          version,
        },
        sign,
      );
    }
    const digest = createHash('sha256').update(jwt).digest('hex');
    await this.db.transaction(async (tx) => {
      const [outboxId] = await this.outbox.enqueue(tx, [
        this.anchors.anchorWrite(list.controllerKeyId, url, version, digest, `status:${list.id}`),
      ]);
      await this.repository.insertPublication(tx, {
        id: randomUUID(),
        listId: list.id,
        purpose,
        version,
        seq,
        jwt,
        digest,
        outboxId: outboxId!,
        createdAt: new Date(),
      });
    });
    this.repository.publicationCommitted(list.id, purpose);
    this.logger.log({ listId: list.id, purpose, version, entries: flagged.length }, 'status list published');
  }
}
