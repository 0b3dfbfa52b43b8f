import { Global, Module, type DynamicModule } from '@nestjs/common';
import { KeyService } from '../keys/index.js';
import { ChainBootstrap, CHAIN_OPTIONS, type ChainOptions } from './chain-bootstrap.js';
import { ChainClient } from './chain.client.js';
import { ChainEvents } from './chain-events.js';
import { OutboxService } from './outbox.service.js';
import { OutboxRepository } from './outbox.repository.js';
import { ChainContractRepository } from './chain-contract.repository.js';
import { JobLeaseRepository } from './job-lease.repository.js';
import { OutboxWorker } from './outbox.worker.js';
import { TrustedIssuerRegistry } from './trusted-issuers.js';
import { StatusListAnchorClient } from './status-anchor.js';
import { JobLeases, Replica } from './leases.js';
import { Reconciler } from './reconciler.js';
import { JointApprovalChain } from './joint-approval.service.js';
import { ConsortiumService } from './consortium.service.js';
import { DataSharingPermissions } from './data-sharing-permissions.js';

@Global()
@Module({})
export class ChainModule {
  static forRoot(client: ChainClient, options: ChainOptions): DynamicModule {
    return {
      module: ChainModule,
      providers: [
        { provide: ChainClient, useValue: client },
        { provide: CHAIN_OPTIONS, useValue: options },
        Replica,
        JobLeaseRepository,
        JobLeases,
        Reconciler,
        OutboxRepository,
        OutboxService,
        ChainContractRepository,
        {
          provide: OutboxWorker,
          inject: [OutboxService, ChainClient, KeyService],
          useFactory: (outbox: OutboxService, chain: ChainClient, keys: KeyService) =>
            new OutboxWorker(outbox, chain, keys, { pollMs: options.outboxPollMs, priorityFeeWei: options.priorityFeeWei }),
        },
        {
          provide: ChainEvents,
          inject: [ChainClient],
          useFactory: (chain: ChainClient) => new ChainEvents(chain, options.pollMs),
        },
        ChainBootstrap,
        TrustedIssuerRegistry,
        StatusListAnchorClient,
        ConsortiumService,
        DataSharingPermissions,
        JointApprovalChain,
      ],
      exports: [
        ConsortiumService,
        JointApprovalChain,
        DataSharingPermissions,
        ChainClient,
        Replica,
        JobLeases,
        Reconciler,
        OutboxService,
        OutboxWorker,
        ChainEvents,
        ChainBootstrap,
        TrustedIssuerRegistry,
        StatusListAnchorClient,
      ],
    };
  }
}
