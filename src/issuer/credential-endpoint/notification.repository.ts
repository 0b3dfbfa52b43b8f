import { Injectable } from '@nestjs/common';
import { IsNull, Not } from 'typeorm';
import { Database, type Tx } from '../../persistence/index.js';
import { Oid4vciNotificationEntity } from './credential-endpoint.entity.js';

/** What the wallet reports about issued credentials (OID4VCI 1.0 §11). */
@Injectable()
export class NotificationRepository {
  constructor(private readonly db: Database) {}

  async insert(notification: Oid4vciNotificationEntity, tx?: Tx): Promise<void> {
    await this.db.use(tx, (m) => m.getRepository(Oid4vciNotificationEntity).insert(notification));
  }

  /** Records the wallet's report once; false for an unknown id, another offer's, or one already reported. */
  async report(id: string, offerId: string, event: string, description: string | null, now: Date, tx?: Tx): Promise<boolean> {
    const result = await this.db.use(tx, (m) =>
      m
        .getRepository(Oid4vciNotificationEntity)
        .update({ id, offerId, reportedAt: IsNull() }, { event, description, reportedAt: now }),
    );
    return result.affected === 1;
  }

  /** A later event for a notification already reported (OID4VCI 1.0 §11.1): it replaces the recorded one. */
  async replaceEvent(
    id: string,
    offerId: string,
    event: string,
    description: string | null,
    now: Date,
    tx?: Tx,
  ): Promise<boolean> {
    const result = await this.db.use(tx, (m) =>
      m
        .getRepository(Oid4vciNotificationEntity)
        .update({ id, offerId, reportedAt: Not(IsNull()) }, { event, description, reportedAt: now }),
    );
    return result.affected === 1;
  }

  byId(id: string, tx?: Tx): Promise<Oid4vciNotificationEntity | null> {
    return this.db.use(tx, (m) => m.getRepository(Oid4vciNotificationEntity).findOneBy({ id }));
  }
}
