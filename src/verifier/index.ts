export { VerifierModule } from './verifier.module.js';
export { VerifierService } from './verifier.service.js';
