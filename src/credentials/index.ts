export {
  Catalogue,
  CREDENTIAL_FORMATS,
  CATALOGUE_FORMATS,
  GENERIC_VC_TYPE,
  parseLicenceTypeDefinition,
  licenceTypeSchema,
  readSeedDefinitions,
  canonicalJson,
  type CredentialFormat,
  type CatalogueFormat,
  type LicenceType,
  type LicenceTypeDefinition,
} from './catalogue.js';
export { sdJwtVcTypeMetadata } from './type-metadata.js';
export { RESERVED_CLAIM_NAMES } from './sd-jwt.js';
export { CatalogueService, retired as credentialTypeRetired, type CatalogueVersionPublished } from './catalogue.service.js';
export { CredentialTypeEntity, CredentialTypeVersionEntity } from './catalogue.entity.js';
export {
  CatalogueRepository,
  CatalogueConflict,
  type CatalogueChange,
  type RecordCatalogueChange,
} from './catalogue.repository.js';
export { issueSdJwt, parseSdJwt, applyDisclosures, verifyKeyBinding, MAX_DISCLOSURES } from './sd-jwt.js';
export { jwtVcPayload, JWT_PROOF_2020, readJwtVc, type DataModel } from './jwt-vc.js';
export {
  signJws,
  b64url,
  b64urlJson,
  readJosePart,
  proofForAnotherRequest,
  decodeJws,
  verifyJwsSignature,
  verifyJwsSignatureUnderLoad,
  p256HexToJwk,
  jwkThumbprint,
  isPublicJwk,
  sha256b64url,
  isHighS,
  compactJwsProblem,
  criticalHeaderProblem,
  MalformedJws,
  type Signer,
  type SignatureOptions,
} from './jws.js';
export {
  holderPublicJwk,
  safeHolderPublicJwk,
  InvalidHolderKey,
  HOLDER_KEY_ALGORITHMS,
  type HolderKeyAlgorithm,
} from './holder-key.js';
export { didJwk, jwkFromDidJwk } from './did-jwk.js';
export { verifyPresentation, holderKey, type PresentationResult, type PresentationExpectations } from './verify-presentation.js';
export {
  verifyCredentialDocument,
  verifyPresentationDocument,
  verifyIssuerProof,
  type CredentialProofOptions,
} from './verify-document.js';
export { couldNotBeChecked, UNAVAILABLE_REASONS } from './verify-common.js';
export {
  parseTrustAnchors,
  trustX5c,
  didAnchorFor,
  TrustAnchorError,
  type TrustAnchor,
  type IssuerTrust,
} from './trust-anchors.js';
export {
  didDocumentProblem,
  offlineDidDocument,
  didKeyDocument,
  didKeyOf,
  hasAssertionKey,
  didJwkDocument,
  findVerificationMethod,
  verificationMethodJwk,
  asMultikey,
  type DidDocument,
  type VerificationMethod,
} from './dids.js';
export { jwkToMultibase, multibaseToJwk } from './multikey.js';
export { CHAIN_REGISTRY } from './issuer-trust.js';
export { jsonLdTypeProblem } from './data-integrity/json-ld-types.js';
export { createDocumentLoader, DocumentNotLoadable, type DocumentLoader } from './data-integrity/document-loader.js';
export {
  secureWithEcdsaRdfc2019,
  verifyCredentialProof,
  verifyPresentationProof,
  SUPPORTED_CRYPTOSUITES,
  type RawSigner,
} from './data-integrity/proofs.js';
export { BUNDLED_CONTEXTS } from './data-integrity/contexts.js';
export {
  verifyCredential,
  VerifierDependencyUnavailable,
  DEFAULT_VERIFIER_LIMITS,
  DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS,
  type VerifierLimits,
  type Check,
  type CheckName,
  type VerificationResult,
  type VerifiedCredential,
  type VerifierContext,
  type SignatureChecks,
  type StatusOutcome,
  type HolderBindingExpectations,
  jwtVc11Document,
} from './verify.js';
export {
  validateCredential,
  validatePresentation,
  validateEnvelope,
  parseDataUrl,
  envelopeKind,
  isUrl,
  isDateTimeStamp,
  issuerIdOf,
  VCDM2_CONTEXT,
  VALIDITY_MEMBERS,
  ENVELOPE_MEDIA_TYPES,
  type VcdmViolation,
  type VcdmRule,
  type ParsedEnvelope,
} from './vcdm2.js';
export {
  checkIssueInput,
  buildCredentialDocument,
  vcJwtPayload,
  vcJwt11Payload,
  holderJwkOfSubject,
  UNDEFINED_TERMS_CONTEXT,
  type IssueInput,
  type IssueViolation,
  type IssueRule,
} from './issue-input.js';
export { CredentialsModule } from './credentials.module.js';
