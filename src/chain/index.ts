export { ChainClient, ChainUnavailableError, connectionFailure } from './chain.client.js';
export { ChainModule } from './chain.module.js';
export { ChainBootstrap, ChainStateLostError, WrongChainError, type ChainOptions } from './chain-bootstrap.js';
export { ChainEvents, MAX_BLOCKS_PER_QUERY } from './chain-events.js';
export { OutboxService, type ChainWrite, type OutboxEntry } from './outbox.service.js';
export { OutboxWorker } from './outbox.worker.js';
export { isSettled, OutboxEntity, OUTBOX_STATUSES, type OutboxStatus } from './outbox.entity.js';
export { OutboxRepository, OPEN_OUTBOX_STATUSES, type OutboxChanges } from './outbox.repository.js';
export { ChainContractEntity } from './chain-contract.entity.js';
export { ChainContractRepository, type DeployedContract } from './chain-contract.repository.js';
export { JobLeaseEntity } from './job-lease.entity.js';
export { JobLeaseRepository } from './job-lease.repository.js';
export { JobLeases, Replica } from './leases.js';
export { Reconciler, type ReconcileStep } from './reconciler.js';
export {
  EmbeddedChainNode,
  EmbeddedNodePortBusyError,
  embeddedNodeCommand,
  freePort,
  listenable,
  LOWEST_PICKED_PORT,
} from './embedded-node.js';
export { setAttributeCall, addDelegateCall, revokeAttributeCall, erc1056Interface, ERC1056_NAME } from './erc1056.js';
export { TrustedIssuerRegistry, credentialTypeKey } from './trusted-issuers.js';
export { CONTRACT_NAMES, contractInterface, type ContractName } from './contracts.js';
export { StatusListAnchorClient, statusListKey, type StatusAnchor } from './status-anchor.js';
export {
  CONSORTIUM_CONTRACT_NAMES,
  contractBytecode,
  deploymentData,
  type CompiledContractName,
  type ConsortiumContractName,
} from './contracts.js';
// Consortium contract bindings (ADR 11): pure calldata builders and decoders; every name is unique.
export * from './consortium-governance.js';
export * from './consortium-registries.js';
export * from './data-sharing.js';
export * from './joint-approval.js';
export * from './audit-anchor.js';
export * from './merkle.js';
export {
  ConsortiumService,
  PROPOSAL_LIST_MAX,
  APPROVAL_POLICY_LIST_MAX,
  actionView,
  revertReason,
  type ConsortiumStatus,
  type GovernanceWriteResult,
  type ProposalView,
} from './consortium.service.js';
export { JointApprovalChain, jointApprovalErrorName, type JointApprovalLog } from './joint-approval.service.js';
export { readConsortium, type ConsortiumAddresses, type Founder } from './consortium-bootstrap.js';
export { AUTHORISATION_PROPOSAL_LIFETIME_SECONDS } from './trusted-issuers.js';
export { DataSharingPermissions, PERMISSION_CACHE_MAX_ENTRIES, type PermissionAnswer } from './data-sharing-permissions.js';
