/**
 * JOSE algorithms of the keys we hold: ES256 (P-256) for credentials and tokens, ES256K (secp256k1) for chain
 * accounts, RS256 (RSA 2048) only where a specification requires it (OpenID Connect ID tokens, Core §15.1).
 */
export type KeyAlgorithm = 'ES256' | 'ES256K' | 'RS256';

export interface GeneratedKey {
  /** EC keys: uncompressed SEC1 public key (0x04 || x || y); RSA keys: the SubjectPublicKeyInfo (DER). */
  publicKey: Uint8Array;
  /** What the backend needs to find the private key again; never the plaintext key. */
  secretRef: string;
}

export interface RawSignature {
  /** EC: r || s, 64 bytes, low-S (as JWS writes it); RSA: the RSASSA-PKCS1-v1_5 signature. */
  signature: Uint8Array;
  /** Recovery bit for secp256k1, needed for Ethereum transactions. */
  recovery?: 0 | 1;
}

/**
 * Where private keys live. The local backend keeps them encrypted in the database; a PKCS#11 HSM backend
 * implements the same three calls with the key never leaving the device.
 */
export interface KeyBackend {
  readonly name: string;
  generate(algorithm: KeyAlgorithm): Promise<GeneratedKey>;
  /** Signs data (ES256, RS256: SHA-256 is applied here) or, with prehashed, a 32-byte digest (ES256K only). */
  sign(algorithm: KeyAlgorithm, secretRef: string, data: Uint8Array, prehashed: boolean): Promise<RawSignature>;
  /** Encrypts application data (e.g. claims waiting in a credential offer), bound to a context string. */
  encryptData(plaintext: Uint8Array, context: string): Promise<string>;
  decryptData(sealed: string, context: string): Promise<Uint8Array>;
  /** Releases what the backend holds open (a thread, a session); called once, when the service stops. */
  close?(): Promise<void>;
}
