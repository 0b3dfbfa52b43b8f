import * as vc from '@digitalbazaar/vc';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as ecdsaRdfc2019Unbounded } from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import { cryptosuite as eddsaRdfc2022Unbounded } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import jsigs from 'jsonld-signatures';
import { dataModelOf, isDateTimeStamp, VALIDITY_MEMBERS } from '../vcdm2.js';
import { boundedCryptosuite, CanonicalisationRefused } from './canonicalisation.js';
import { DocumentNotLoadable, type DocumentLoader } from './document-loader.js';

const ecdsaRdfc2019 = boundedCryptosuite(ecdsaRdfc2019Unbounded);
const eddsaRdfc2022 = boundedCryptosuite(eddsaRdfc2022Unbounded);

/** Cryptosuites we verify (VC Data Integrity ECDSA 2019 with P-256/P-384, EdDSA 2022 with Ed25519). */
export const SUPPORTED_CRYPTOSUITES = ['ecdsa-rdfc-2019', 'eddsa-rdfc-2022'] as const;

const verifyingSuites = () => [
  new DataIntegrityProof({ cryptosuite: ecdsaRdfc2019 }),
  new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 }),
];

type Json = Record<string, unknown>;

export interface ProofOutcome {
  verified: boolean;
  /** The verification method that signed (the proof's, once it verified). */
  verificationMethod?: string;
  /** Why not, one line, safe to show. */
  problem?: string;
  /** `malformed` proofs are a request error (400); the rest a verification failure. */
  kind?: 'malformed' | 'failed';
}

const malformed = (problem: string): ProofOutcome => ({ verified: false, problem, kind: 'malformed' });
const failed = (problem: string): ProofOutcome => ({ verified: false, problem, kind: 'failed' });

/** The single Data Integrity proof of a document, checked for the members VC Data Integrity §2.1 requires. */
export function dataIntegrityProof(document: Json): { proof: Json } | ProofOutcome {
  const value = document['proof'];
  const proofs = Array.isArray(value) ? value : [value];
  if (value === undefined) return malformed('the document has no proof');
  if (proofs.length !== 1) return malformed('exactly one proof is supported (no proof sets or chains)');
  const proof = proofs[0];
  if (typeof proof !== 'object' || proof === null || Array.isArray(proof)) return malformed('proof must be an object');
  const p = proof as Json;
  if (p['type'] !== 'DataIntegrityProof') return malformed('proof.type must be DataIntegrityProof');
  if (typeof p['cryptosuite'] !== 'string' || !(SUPPORTED_CRYPTOSUITES as readonly string[]).includes(p['cryptosuite']))
    return malformed(`proof.cryptosuite must be one of ${SUPPORTED_CRYPTOSUITES.join(', ')}`);
  if (typeof p['proofPurpose'] !== 'string') return malformed('proof.proofPurpose is required');
  if (typeof p['verificationMethod'] !== 'string') return malformed('proof.verificationMethod must be a URL');
  if (typeof p['proofValue'] !== 'string' || !/^[zu]/.test(p['proofValue']))
    return malformed('proof.proofValue must be a multibase (base58btc or base64url) value');
  for (const member of ['created', 'expires'] as const) {
    if (member in p && !isDateTimeStamp(p[member])) return malformed(`proof.${member} must be an XML Schema dateTimeStamp`);
  }
  return { proof: p };
}

/** Finds the first error of ours inside the error chains jsonld and jsonld-signatures build. */
export function ourError(error: unknown, depth = 0): DocumentNotLoadable | CanonicalisationRefused | undefined {
  if (!error || typeof error !== 'object' || depth > 6) return undefined;
  if (error instanceof DocumentNotLoadable || error instanceof CanonicalisationRefused) return error;
  const e = error as { errors?: unknown[]; cause?: unknown; details?: { cause?: unknown } };
  for (const inner of [...(e.errors ?? []), e.cause, e.details?.cause]) {
    const found = ourError(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

function outcomeOf(result: vc.ProofResult | undefined, fallback: string): ProofOutcome {
  if (result?.verified) return { verified: true, verificationMethod: result.results?.[0]?.verificationMethod?.id };
  const ours = ourError(result?.error) ?? ourError(result?.results?.[0]?.error);
  // Library messages stay in the library: the client gets ours. A document over the canonicalisation budget could
  // not be checked at all: a request error, like a body over its size limit.
  if (ours instanceof CanonicalisationRefused) return malformed(ours.message);
  return ours ? failed(ours.message) : failed(fallback);
}

/**
 * A time inside the credential's validity window (VCDM 2.0's validFrom/validUntil, 1.1's issuanceDate/expirationDate):
 * the library then judges the proof only (validity is our check).
 */
function timeInsideValidity(document: Json, now: Date): Date {
  const date = (member: string) => (typeof document[member] === 'string' ? Date.parse(document[member]) : NaN);
  const members = VALIDITY_MEMBERS[dataModelOf(document)];
  const from = date(members.from);
  const until = date(members.until);
  let time = now.getTime();
  if (!Number.isNaN(until) && time > until) time = until;
  if (!Number.isNaN(from) && time < from) time = from;
  return new Date(time);
}

export interface ProofExpectations {
  now: Date;
  /**
   * A presentation whose challenge may be used again (a VC-API caller's): its proof's `created` must be this recent,
   * as a JWT VP's iat must (a captured presentation would otherwise answer the same challenge for ever).
   */
  maxAgeSeconds?: number;
  clockSkewSeconds?: number;
  /** VC-API `options.expectedProofPurpose`; a credential's proof is `assertionMethod`. */
  expectedProofPurpose?: string;
  challenge?: string;
  domain?: string;
}

const expectationProblem = (proof: Json, expect: ProofExpectations, purpose: string): string | undefined =>
  timeProblem(proof, expect) ??
  (proof['proofPurpose'] !== purpose
    ? `proof.proofPurpose must be ${purpose}`
    : expect.expectedProofPurpose !== undefined && expect.expectedProofPurpose !== proof['proofPurpose']
      ? `proof.proofPurpose is not ${expect.expectedProofPurpose.slice(0, 40)}`
      : expect.challenge !== undefined && proof['challenge'] !== expect.challenge
        ? 'proof.challenge does not match'
        : expect.domain !== undefined && ![proof['domain']].flat().includes(expect.domain)
          ? 'proof.domain does not match'
          : undefined);

/**
 * The proof's own dates (the library checks only their form): not used at or after its `expires` (VC Data Integrity
 * §2.1), and, asked for, a `created` within `maxAgeSeconds` and not in the future (`created` is optional: a proof
 * without one is judged by its challenge alone, as a JWT VP without iat is by its nonce).
 */
function timeProblem(proof: Json, expect: ProofExpectations): string | undefined {
  const now = expect.now.getTime();
  const skewMs = (expect.clockSkewSeconds ?? 60) * 1000;
  const at = (member: string) => (typeof proof[member] === 'string' ? Date.parse(proof[member]) : NaN);
  const expires = at('expires');
  if (!Number.isNaN(expires) && expires + skewMs <= now) return 'the proof has expired (proof.expires)';
  if (expect.maxAgeSeconds === undefined) return undefined;
  const created = at('created');
  if (Number.isNaN(created)) return undefined;
  if (created > now + skewMs) return 'the presentation proof is created in the future';
  if (created < now - expect.maxAgeSeconds * 1000 - skewMs) return 'the presentation proof is too old (proof.created)';
  return undefined;
}

/**
 * Verifies the Data Integrity proof of a credential (ecdsa-rdfc-2019, eddsa-rdfc-2022) with
 * @digitalbazaar/vc: RDF canonicalisation with bundled contexts only, the verification method from
 * `documentLoader`, and the method's controller must be the issuer (assertionMethod).
 */
export async function verifyCredentialProof(
  document: Json,
  loader: DocumentLoader,
  expect: ProofExpectations,
): Promise<ProofOutcome> {
  const found = dataIntegrityProof(document);
  if (!('proof' in found)) return found;
  const problem = expectationProblem(found.proof, expect, 'assertionMethod');
  if (problem) return failed(problem);
  const result = await vc.verifyCredential({
    credential: document,
    suite: verifyingSuites(),
    documentLoader: loader,
    // Status is checked by our own pipeline, with our list fetcher and anchors.
    checkStatus: async () => ({ verified: true }),
    now: timeInsideValidity(document, expect.now),
  });
  return outcomeOf(result, 'the Data Integrity proof does not verify');
}

/** Verifies a presentation's `authentication` proof (and its challenge and domain when asked for). */
export async function verifyPresentationProof(
  document: Json,
  loader: DocumentLoader,
  expect: ProofExpectations,
): Promise<ProofOutcome> {
  const found = dataIntegrityProof(document);
  if (!('proof' in found)) return found;
  const problem = expectationProblem(found.proof, { ...expect, expectedProofPurpose: undefined }, 'authentication');
  if (problem) return failed(problem);
  const challenge = typeof found.proof['challenge'] === 'string' ? found.proof['challenge'] : undefined;
  if (challenge === undefined) return failed('the presentation proof has no challenge');
  // Only the presentation's proof: embedded credentials are verified by our own pipeline (vc.verify would verify
  // each of them here too, canonicalising every one a second time).
  const purpose = new jsigs.purposes.AuthenticationProofPurpose({
    challenge,
    ...(expect.domain !== undefined ? { domain: expect.domain } : {}),
  });
  const result = await jsigs
    .verify(document, { suite: verifyingSuites(), purpose, documentLoader: loader })
    .catch((error: Error) => ({ verified: false, error }));
  return outcomeOf(result, 'the presentation proof does not verify');
}

/** Signs raw bytes with the key behind `verificationMethod` (ECDSA P-256 with SHA-256, raw r||s). */
export type RawSigner = (data: Uint8Array) => Promise<Uint8Array>;

/**
 * Secures any VCDM 2.0 credential with an `ecdsa-rdfc-2019` Data Integrity proof (assertionMethod). The
 * private key stays with `sign` (KeyService.signJws: ES256 over the bytes, raw r||s, which is exactly what
 * the cryptosuite signs: SHA-256 of the canonical proof options || SHA-256 of the canonical document).
 */
export async function secureWithEcdsaRdfc2019(
  document: Json,
  options: { verificationMethod: string; sign: RawSigner; documentLoader: DocumentLoader; created?: Date },
): Promise<Json> {
  const signer = {
    id: options.verificationMethod,
    algorithm: 'P-256',
    sign: async ({ data }: { data: Uint8Array }) => options.sign(data),
  };
  const suite = new DataIntegrityProof({
    signer,
    cryptosuite: ecdsaRdfc2019,
    ...(options.created ? { date: options.created } : {}),
  });
  return vc.issue({ credential: structuredClone(document), suite, documentLoader: options.documentLoader });
}
