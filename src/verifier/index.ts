export { VerifierModule } from './verifier.module.js';
export { VerifierService } from './verifier.service.js';
export { PresentationModule } from './oid4vp/presentation.module.js';
export { PresentationService } from './oid4vp/presentation.service.js';
export { RelyingPartyEntity, RelyingPartyApiKeyEntity, PresentationRequestEntity } from './oid4vp/relying-party.entity.js';
