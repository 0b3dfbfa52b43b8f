export { StatusModule } from './status.module.js';
export { StatusService, type StatusAction } from './status.service.js';
export { StatusIndexAllocator, IndexTaken, type StatusAllocation, type ListIssuer } from './index-allocator.js';
export { StatusListPublisher } from './list-publisher.js';
export { StatusListFetcher } from './list-fetcher.js';
export { checkCredentialStatus, type StatusCheckDeps, type LocalStatusList } from './status-checker.js';
export {
  StatusListEntity,
  StatusEntryEntity,
  StatusIndexBlockEntity,
  StatusPublicationEntity,
  StatusAuditEntity,
} from './status.entity.js';
export { encodeBitstring, bitstringStatus, encodeTokenList, tokenListStatus, LIST_SIZE } from './lists.js';
export { IndexBlockRepository } from './index-block.repository.js';
export { INDEX_BLOCK } from './index-blocks.js';
export { StatusListMemo, type VerifiedList } from './list-memo.js';
