import { Injectable } from '@nestjs/common';
import { Database } from '../persistence/index.js';
import { ChainContractEntity } from './chain-contract.entity.js';

export type DeployedContract = Readonly<ChainContractEntity>;

/** The contracts we deployed on each chain, so a restart finds them instead of deploying again. */
@Injectable()
export class ChainContractRepository {
  constructor(private readonly db: Database) {}

  /** The recorded contract `name` on chain `chainId`, or null when we never deployed it there. */
  recorded(chainId: number, name: string): Promise<DeployedContract | null> {
    return this.db.use(undefined, (m) => m.getRepository(ChainContractEntity).findOneBy({ chainId, name }));
  }

  /**
   * Records a deployment; recording the same name on the same chain again replaces the address (a
   * redeploy after the chain was reset). Deployments run at start-up, one writer per chain.
   */
  async recordDeployment(contract: { chainId: number; name: string; address: string; outboxId: string | null }): Promise<void> {
    await this.db.use(undefined, (m) => m.getRepository(ChainContractEntity).save({ ...contract, createdAt: new Date() }));
  }
}
