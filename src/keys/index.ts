export {
  KeyService,
  KEY_BACKEND,
  ecPublicJwk,
  type PublicKeyInfo,
  type KeyPurpose,
  type EthereumSignature,
  type EcPublicJwk,
  type RsaPublicJwk,
} from './key.service.js';
export { KeyEntity } from './key.entity.js';
export { KeyRepository } from './key.repository.js';
export type { KeyBackend, KeyAlgorithm } from './key-backend.js';
export { LocalKeyBackend, p256PublicKeyObject, signingLoad } from './local-key-backend.js';
export { KeysModule } from './keys.module.js';
export { resolveMasterKey } from './master-key.js';
export { SealedSecrets, type AgreementPublicJwk, type JweAlgorithms, type DecryptedJwe } from './sealed-secrets.js';
export { HmacKeys } from './hmac-keys.js';
export { HmacKeyEntity } from './hmac-key.entity.js';
