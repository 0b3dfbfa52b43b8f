import { Injectable } from '@nestjs/common';
import { Database } from '../../persistence/index.js';
import { ApprovalInboxCursorEntity, ApprovalInboxEntity } from './approval.entity.js';

/**
 * A department's inbox of joint-approval applications (issue 16): the scan cursor per contract and the
 * submissions found that require us. Replicas may scan at once: entries are inserted once (ON CONFLICT DO
 * NOTHING) and the cursor only moves forward (conditional UPDATE).
 */
@Injectable()
export class InboxRepository {
  constructor(private readonly db: Database) {}

  /** The block the next scan of this contract starts at, or undefined before the first scan. */
  async cursor(contract: string): Promise<number | undefined> {
    const found = await this.db.use(undefined, (m) =>
      m.getRepository(ApprovalInboxCursorEntity).findOneBy({ contract: contract.toLowerCase() }),
    );
    return found?.nextBlock;
  }

  /** Moves the cursor from `from` (undefined: none yet) to `next`; false when another scan moved it first. */
  async advance(contract: string, from: number | undefined, next: number): Promise<boolean> {
    const key = contract.toLowerCase();
    if (from === undefined) {
      await this.db.use(undefined, (m) =>
        m
          .createQueryBuilder()
          .insert()
          .into(ApprovalInboxCursorEntity)
          .values({ contract: key, nextBlock: next, updatedAt: new Date() })
          .orIgnore()
          .execute(),
      );
      return (await this.cursor(key)) === next;
    }
    const result = await this.db.use(undefined, (m) =>
      m
        .getRepository(ApprovalInboxCursorEntity)
        .update({ contract: key, nextBlock: from }, { nextBlock: next, updatedAt: new Date() }),
    );
    return result.affected === 1;
  }

  async add(entries: ApprovalInboxEntity[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.use(undefined, (m) =>
      m.createQueryBuilder().insert().into(ApprovalInboxEntity).values(entries).orIgnore().execute(),
    );
  }

  /** Open entries of this contract, newest first. */
  open(contract: string, limit: number): Promise<ApprovalInboxEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(ApprovalInboxEntity).find({
        where: { contract: contract.toLowerCase(), state: 'open' },
        order: { blockNumber: 'DESC' },
        take: limit,
      }),
    );
  }

  /** The block an application was submitted in, when it is in our inbox (where reading its events may start). */
  async blockOf(applicationId: string): Promise<number | undefined> {
    const found = await this.db.use(undefined, (m) =>
      m.getRepository(ApprovalInboxEntity).findOneBy({ applicationId: applicationId.toLowerCase() }),
    );
    return found?.blockNumber;
  }

  /** An entry that needs no decision from us any more (decided, approved, rejected, expired). */
  async close(applicationId: string): Promise<void> {
    await this.db.use(undefined, (m) =>
      m.getRepository(ApprovalInboxEntity).update({ applicationId: applicationId.toLowerCase() }, { state: 'closed' }),
    );
  }
}
