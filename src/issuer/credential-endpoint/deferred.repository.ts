import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../../persistence/index.js';
import { DeferredRequestEntity } from './credential-endpoint.entity.js';

/** Credential requests waiting for an officer (deferred issuance). */
@Injectable()
export class DeferredRequestRepository {
  constructor(private readonly db: Database) {}

  async insert(request: DeferredRequestEntity): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(DeferredRequestEntity).insert(request));
  }

  byTransactionHash(transactionHash: string): Promise<DeferredRequestEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(DeferredRequestEntity).findOneBy({ transactionHash }));
  }

  /** pending → issued, once; inside the caller's transaction when given (the credential's own commit). */
  async complete(transactionHash: string, tx?: Tx): Promise<boolean> {
    const result = await this.db.use(tx, (m) =>
      m.getRepository(DeferredRequestEntity).update({ transactionHash, status: 'pending' }, { status: 'issued' }),
    );
    return result.affected === 1;
  }
}
