export { VerifierModule } from './verifier.module.js';
export { VerifierService, type StatusChecker } from './verifier.service.js';
