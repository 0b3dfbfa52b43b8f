export { VerifierModule } from './verifier.module.js';
export { VerifierService } from './verifier.service.js';
export { PresentationModule } from './presentations/presentations.module.js';
export { RelyingPartyEntity, RelyingPartyApiKeyEntity } from './relying-parties/relying-party.entity.js';
export { PresentationRequestEntity } from './presentations/presentation-request.entity.js';
export { RelyingPartyService } from './relying-parties/relying-party.service.js';
export { PresentationRequestService } from './presentations/presentation-request.service.js';
export { VerdictDeliveryService } from './presentations/verdict-delivery.service.js';
