import type { JsonWebKey } from 'node:crypto';
import { jsonBoundsProblem } from '../common/json-bounds.js';
import { p256HexToJwk } from './jws.js';
import { jwkToMultibase, multibaseToJwk } from './multikey.js';

/** A DID document as far as verification needs it (DID Core §5). */
export interface DidDocument {
  '@context'?: unknown;
  id: string;
  verificationMethod?: VerificationMethod[];
  assertionMethod?: (string | VerificationMethod)[];
  authentication?: (string | VerificationMethod)[];
  [member: string]: unknown;
}

export interface VerificationMethod {
  id: string;
  type: string;
  controller: string;
  publicKeyJwk?: JsonWebKey;
  publicKeyMultibase?: string;
  publicKeyHex?: string;
  [member: string]: unknown;
}

const DID_CONTEXTS = ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'];
const RELATIONSHIPS = ['assertionMethod', 'authentication', 'capabilityInvocation', 'capabilityDelegation'] as const;

/** did:key (Multikey P-256, P-384, Ed25519): the DID document the did:key method derives from the key itself. */
export function didKeyDocument(did: string): DidDocument | undefined {
  const match = /^did:key:(z[1-9A-HJ-NP-Za-km-z]{40,120})$/.exec(did);
  if (!match || !multibaseToJwk(match[1])) return undefined;
  const id = `${did}#${match[1]}`;
  const method: VerificationMethod = { id, type: 'Multikey', controller: did, publicKeyMultibase: match[1]! };
  return {
    '@context': DID_CONTEXTS,
    id: did,
    verificationMethod: [method],
    ...Object.fromEntries(RELATIONSHIPS.map((r) => [r, [id]])),
  };
}

/**
 * The did:key of a public key (P-256, P-384, Ed25519) and its one verification method (`did:key:z…#z…`): what
 * an agency's Data Integrity credentials may name as issuer for tools that resolve no other method (ADR 40).
 */
export function didKeyOf(jwk: JsonWebKey): { did: string; verificationMethod: string } {
  const multibase = jwkToMultibase(jwk);
  return { did: `did:key:${multibase}`, verificationMethod: `did:key:${multibase}#${multibase}` };
}

/** did:jwk: the DID is the public JWK; its one verification method is `#0`. */
export function didJwkDocument(did: string): DidDocument | undefined {
  const match = /^did:jwk:([A-Za-z0-9_-]+)$/.exec(did);
  if (!match) return undefined;
  let jwk: unknown;
  try {
    jwk = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof jwk !== 'object' || jwk === null || 'd' in jwk) return undefined;
  const { kty, crv, x, y } = jwk as JsonWebKey;
  try {
    jwkToMultibase({ kty, crv, x, y }); // a point on a curve we verify with
  } catch {
    return undefined;
  }
  const id = `${did}#0`;
  const method: VerificationMethod = {
    id,
    type: 'JsonWebKey',
    controller: did,
    publicKeyJwk: y === undefined ? { kty, crv, x } : { kty, crv, x, y },
  };
  return {
    '@context': DID_CONTEXTS,
    id: did,
    verificationMethod: [method],
    ...Object.fromEntries(RELATIONSHIPS.map((r) => [r, [id]])),
  };
}

/** did:key and did:jwk documents, derived offline; undefined for any other method. */
export function offlineDidDocument(did: string): DidDocument | undefined {
  if (did.startsWith('did:key:')) return didKeyDocument(did);
  if (did.startsWith('did:jwk:')) return didJwkDocument(did);
  return undefined;
}

/**
 * Why a DID document fetched from elsewhere (did:web) cannot be used as one, or undefined: the members this
 * service reads must have DID Core's shapes (an `id` string naming `did`; `verificationMethod` a list of objects
 * with string `id` and `type`; each relationship a list of references or such objects), within the JSON bounds.
 */
export function didDocumentProblem(value: unknown, did: string): string | undefined {
  const bounds = jsonBoundsProblem(value);
  if (bounds) return bounds;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const document = value as Record<string, unknown>;
  if (document['id'] !== did) return 'its id is not the DID';
  const isMethod = (entry: unknown) =>
    typeof entry === 'object' &&
    entry !== null &&
    typeof (entry as Record<string, unknown>)['id'] === 'string' &&
    typeof (entry as Record<string, unknown>)['type'] === 'string' &&
    ['undefined', 'string'].includes(typeof (entry as Record<string, unknown>)['controller']);
  const methods = document['verificationMethod'];
  if (methods !== undefined && !(Array.isArray(methods) && methods.every(isMethod)))
    return 'verificationMethod is not a list of verification methods';
  for (const relationship of RELATIONSHIPS) {
    const entries = document[relationship];
    if (
      entries !== undefined &&
      !(Array.isArray(entries) && entries.every((entry) => typeof entry === 'string' || isMethod(entry)))
    )
      return `${relationship} is not a list of verification methods or references`;
  }
  return undefined;
}

/** The method `url` names (absolute or `#fragment`), embedded or referenced, if it is in `relationship`. */
export function findVerificationMethod(
  document: DidDocument,
  url: string,
  relationship?: 'assertionMethod' | 'authentication',
): VerificationMethod | undefined {
  const absolute = (id: string) => (id.startsWith('#') ? `${document.id}${id}` : id);
  const target = absolute(url);
  const embedded = [
    ...(document.verificationMethod ?? []),
    ...RELATIONSHIPS.flatMap((r) => ((document[r] as unknown[] | undefined) ?? []).filter((m) => typeof m === 'object')),
  ] as VerificationMethod[];
  // A method or reference without a string id names nothing (documents from elsewhere are checked by
  // didDocumentProblem; this keeps any other document from throwing here).
  const method = embedded.find((candidate) => typeof candidate?.id === 'string' && absolute(candidate.id) === target);
  if (!method) return undefined;
  if (relationship) {
    const refs = ((document[relationship] as (string | VerificationMethod)[] | undefined) ?? [])
      .map((ref) => (typeof ref === 'string' ? ref : ref?.id))
      .filter((id): id is string => typeof id === 'string')
      .map(absolute);
    if (!refs.includes(target)) return undefined;
  }
  return { ...method, id: target, controller: method.controller ?? document.id };
}

/** The public JWK of a verification method (publicKeyJwk, publicKeyMultibase, or ERC-1056 publicKeyHex). */
export function verificationMethodJwk(method: VerificationMethod): JsonWebKey | undefined {
  if (method.publicKeyJwk && typeof method.publicKeyJwk === 'object') {
    const { kty, crv, x, y } = method.publicKeyJwk;
    return y === undefined ? { kty, crv, x } : { kty, crv, x, y };
  }
  if (method.publicKeyMultibase) return multibaseToJwk(method.publicKeyMultibase);
  if (typeof method.publicKeyHex === 'string') {
    try {
      return p256HexToJwk(method.publicKeyHex);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The method as a Multikey (what the ecdsa/eddsa cryptosuites load), keeping its id and controller:
 * JsonWebKey2020 and ERC-1056 hex keys of our did:ethr documents are converted.
 */
export function asMultikey(method: VerificationMethod): VerificationMethod | undefined {
  if (method.type === 'Multikey' && method.publicKeyMultibase) return method;
  const jwk = verificationMethodJwk(method);
  if (!jwk) return undefined;
  try {
    return {
      '@context': 'https://w3id.org/security/multikey/v1',
      id: method.id,
      type: 'Multikey',
      controller: method.controller,
      publicKeyMultibase: jwkToMultibase(jwk),
    };
  } catch {
    return undefined;
  }
}

/** Whether `jwk` is one of the document's assertion methods (same curve and point), whatever the method's key format. */
export function hasAssertionKey(document: DidDocument, jwk: JsonWebKey): boolean {
  const refs = (document.assertionMethod ?? []).map((ref) => (typeof ref === 'string' ? ref : ref.id));
  return refs.some((ref) => {
    const method = findVerificationMethod(document, ref, 'assertionMethod');
    const listed = method && verificationMethodJwk(method);
    return listed !== undefined && listed.crv === jwk.crv && listed.x === jwk.x && listed.y === jwk.y;
  });
}
