export { ChainClient } from './chain.client.js';
export { ChainModule } from './chain.module.js';
export { ChainBootstrap, type ChainOptions } from './chain-bootstrap.js';
export { ChainEvents } from './chain-events.js';
export { OutboxService, type ChainWrite, type OutboxEntry } from './outbox.service.js';
export { OutboxWorker } from './outbox.worker.js';
export { OutboxEntity, ChainContractEntity, type OutboxStatus } from './outbox.entity.js';
export { EmbeddedChainNode, freePort } from './embedded-node.js';
export { setAttributeCall, addDelegateCall, revokeAttributeCall, erc1056Interface, ERC1056_NAME } from './erc1056.js';
