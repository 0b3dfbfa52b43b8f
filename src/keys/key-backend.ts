export type KeyAlgorithm = 'ES256' | 'ES256K';

export interface GeneratedKey {
  /** Uncompressed SEC1 public key (0x04 || x || y). */
  publicKey: Uint8Array;
  /** What the backend needs to find the private key again; never the plaintext key. */
  secretRef: string;
}

export interface RawSignature {
  /** r || s, 64 bytes, low-S. */
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
  /** Signs data (ES256: SHA-256 is applied here) or, with prehashed, a 32-byte digest. */
  sign(algorithm: KeyAlgorithm, secretRef: string, data: Uint8Array, prehashed: boolean): Promise<RawSignature>;
  /** Encrypts application data (e.g. claims waiting in a credential offer), bound to a context string. */
  encryptData(plaintext: Uint8Array, context: string): Promise<string>;
  decryptData(sealed: string, context: string): Promise<Uint8Array>;
  /** Releases what the backend holds open (a thread, a session); called once, when the service stops. */
  close?(): Promise<void>;
}
