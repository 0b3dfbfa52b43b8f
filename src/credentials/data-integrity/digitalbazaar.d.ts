// The Digital Bazaar Data Integrity stack ships no type declarations; this is the part we use.

declare module '@digitalbazaar/vc' {
  export type DocumentLoader = (url: string) => Promise<{ contextUrl: null; documentUrl: string; document: unknown }>;
  export interface ProofResult {
    verified: boolean;
    error?: Error & { errors?: Error[] };
    results?: {
      verified: boolean;
      error?: Error;
      proof?: Record<string, unknown>;
      verificationMethod?: { id?: string; controller?: string };
    }[];
  }
  export interface PresentationResult {
    verified: boolean;
    error?: Error & { errors?: Error[] };
    presentationResult?: ProofResult;
    credentialResults?: ProofResult[];
  }
  export class CredentialIssuancePurpose {
    constructor(options?: { controller?: unknown; date?: unknown; maxTimestampDelta?: number });
  }
  export function issue(options: {
    credential: Record<string, unknown>;
    suite: unknown;
    documentLoader?: DocumentLoader;
    purpose?: unknown;
    now?: Date | string;
  }): Promise<Record<string, unknown>>;
  /** Used by tests, as a holder would: an unsigned presentation of the given credentials. */
  export function createPresentation(options: {
    verifiableCredential?: unknown;
    id?: string;
    holder?: string;
  }): Record<string, unknown>;
  export function signPresentation(options: {
    presentation: Record<string, unknown>;
    suite: unknown;
    challenge: string;
    domain?: string;
    documentLoader?: DocumentLoader;
  }): Promise<Record<string, unknown>>;
  export function verifyCredential(options: {
    credential: unknown;
    suite: unknown;
    documentLoader?: DocumentLoader;
    purpose?: unknown;
    checkStatus?: (options: Record<string, unknown>) => Promise<{ verified: boolean }>;
    now?: Date | string;
    maxClockSkew?: number;
  }): Promise<ProofResult>;
  export function verify(options: {
    presentation: unknown;
    suite: unknown;
    documentLoader?: DocumentLoader;
    challenge?: string;
    domain?: string;
    unsignedPresentation?: boolean;
    presentationPurpose?: unknown;
    checkStatus?: (options: Record<string, unknown>) => Promise<{ verified: boolean }>;
    now?: Date | string;
    maxClockSkew?: number;
  }): Promise<PresentationResult>;
  export function signPresentation(options: {
    presentation: Record<string, unknown>;
    suite: unknown;
    documentLoader?: DocumentLoader;
    challenge: string;
    domain?: string;
  }): Promise<Record<string, unknown>>;
}

declare module '@digitalbazaar/data-integrity' {
  export class DataIntegrityProof {
    constructor(options: { signer?: unknown; cryptosuite: unknown; date?: Date | string | null; legacyContext?: boolean });
    verificationMethod?: string;
  }
}

declare module '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite' {
  export const cryptosuite: {
    name: string;
    requiredAlgorithm: string[];
    canonize(input: unknown, options: Record<string, unknown>): Promise<string>;
  };
}

declare module '@digitalbazaar/eddsa-rdfc-2022-cryptosuite' {
  export const cryptosuite: {
    name: string;
    requiredAlgorithm: string;
    canonize(input: unknown, options: Record<string, unknown>): Promise<string>;
  };
}

declare module 'jsonld-signatures' {
  import type { DocumentLoader, ProofResult } from '@digitalbazaar/vc';
  const jsigs: {
    verify(
      document: unknown,
      options: { suite: unknown; purpose: unknown; documentLoader: DocumentLoader },
    ): Promise<ProofResult>;
    purposes: {
      AuthenticationProofPurpose: new (options: { challenge: string; domain?: string }) => unknown;
    };
  };
  export default jsigs;
}

declare module '@digitalbazaar/ecdsa-multikey' {
  export interface EcdsaKeyPair {
    id?: string;
    controller?: string;
    publicKeyMultibase: string;
    signer(): { id?: string; algorithm: string; sign(options: { data: Uint8Array }): Promise<Uint8Array> };
    export(options: { publicKey?: boolean; secretKey?: boolean; includeContext?: boolean }): Promise<Record<string, unknown>>;
  }
  export function generate(options: { id?: string; controller?: string; curve: 'P-256' | 'P-384' }): Promise<EcdsaKeyPair>;
  export function from(key: Record<string, unknown>): Promise<EcdsaKeyPair>;
  export function fromJwk(options: {
    jwk: Record<string, unknown>;
    secretKey?: boolean;
    id?: string;
    controller?: string;
  }): Promise<EcdsaKeyPair>;
  export function toJwk(options: { keyPair: EcdsaKeyPair; secretKey?: boolean }): Promise<Record<string, unknown>>;
}

declare module '@digitalbazaar/ed25519-multikey' {
  export interface Ed25519KeyPair {
    id?: string;
    controller?: string;
    publicKeyMultibase: string;
    signer(): { id?: string; algorithm: string; sign(options: { data: Uint8Array }): Promise<Uint8Array> };
    export(options: { publicKey?: boolean; secretKey?: boolean; includeContext?: boolean }): Promise<Record<string, unknown>>;
  }
  export function generate(options?: { id?: string; controller?: string; seed?: Uint8Array }): Promise<Ed25519KeyPair>;
  export function from(key: Record<string, unknown>): Promise<Ed25519KeyPair>;
  export function fromJwk(options: {
    jwk: Record<string, unknown>;
    secretKey?: boolean;
    id?: string;
    controller?: string;
  }): Promise<Ed25519KeyPair>;
  export function toJwk(options: { keyPair: Ed25519KeyPair; secretKey?: boolean }): Promise<Record<string, unknown>>;
}

declare module '@digitalbazaar/did-method-key' {
  export interface DidKeyDriver {
    use(options: { multibaseMultikeyHeader: string; fromMultibase: (key: Record<string, unknown>) => Promise<unknown> }): void;
    get(options: { did?: string; url?: string }): Promise<Record<string, unknown>>;
    fromKeyPair(options: { verificationKeyPair: unknown }): Promise<{ didDocument: Record<string, unknown> }>;
  }
  export function driver(): DidKeyDriver;
}

declare module '@digitalbazaar/credentials-context' {
  export const contexts: Map<string, unknown>;
}
declare module '@digitalbazaar/vc-bitstring-status-list-context' {
  export const contexts: Map<string, unknown>;
}
declare module '@digitalbazaar/data-integrity-context' {
  const context: { contexts: Map<string, unknown> };
  export default context;
}
declare module '@digitalbazaar/credentials-examples-context' {
  const context: { contexts: Map<string, unknown> };
  export default context;
}
declare module '@digitalbazaar/odrl-context' {
  const context: { contexts: Map<string, unknown> };
  export default context;
}
declare module '@digitalbazaar/multikey-context' {
  const context: { contexts: Map<string, unknown> };
  export default context;
}
declare module '@digitalbazaar/security-context' {
  const context: { contexts: Map<string, unknown> };
  export default context;
}

declare module 'jsonld' {
  const jsonld: {
    expand(
      input: unknown,
      options: { documentLoader: (url: string) => Promise<unknown>; safe?: boolean },
    ): Promise<Record<string, unknown>[]>;
  };
  export default jsonld;
}
