export { KeyService, type PublicKeyInfo, type KeyPurpose, type EthereumSignature } from './key.service.js';
export { KeyEntity } from './key.entity.js';
export type { KeyBackend, KeyAlgorithm } from './key-backend.js';
export { LocalKeyBackend, p256PublicKeyObject } from './local-key-backend.js';
export { KeysModule } from './keys.module.js';
export { resolveMasterKey } from './master-key.js';
export { HmacKeys } from './hmac-keys.js';
export { HmacKeyEntity } from './hmac-key.entity.js';
