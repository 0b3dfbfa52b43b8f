export { DidModule } from './did.module.js';
export { DidResolverService } from './did-resolver.service.js';
export { ethrDid, ethrDidAddress, agencyDidWrites, SIGNING_KEY_ATTRIBUTE, SERVICE_ATTRIBUTE } from './ethr-did.js';
export { parseResolvableDid, MAX_DID_LENGTH, type ParsedDid } from './did-syntax.js';
