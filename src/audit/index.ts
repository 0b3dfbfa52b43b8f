export { AuditModule } from './audit.module.js';
export { AuditLog, type AuditEvent, type AuditKind } from './audit-log.js';
export { AuditAnchoring } from './audit-anchoring.js';
export { UsageLog, type UsageRecord, type VerdictRecord } from './usage-log.js';
export { credentialFingerprints } from './fingerprint.js';
export {
  AuditAnchorEntity,
  AuditEntryEntity,
  AuditHeadEntity,
  AuditPendingEntity,
  CredentialUsageEntity,
} from './audit.entity.js';
export {
  canonicalJson,
  entryHash,
  firstChainBreak,
  GENESIS_HASH,
  type AuditEntryRecord,
  type ChainBreak,
  type JsonValue,
} from './hash-chain.js';
export { verifyAuditTrail, type VerifyOptions } from './verify-command.js';
export { checkTrail, type TrailReport, type TrailBreak, type OnChainAnchor } from './trail-check.js';
