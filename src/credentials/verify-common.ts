import type { JsonWebKey } from 'node:crypto';
import type { Catalogue, CredentialFormat } from './catalogue.js';
import type { DidDocument } from './dids.js';
import { holderPublicJwk, InvalidHolderKey } from './holder-key.js';
import {
  verifyJwsSignature,
  verifyJwsSignatureOnThreadpool,
  verifyJwsSignatureUnderLoad,
  type DecodedJws,
  type SignatureOptions,
} from './jws.js';
import type { IssuerTrust } from './trust-anchors.js';
import type { VcdmViolation } from './vcdm2.js';

export type CheckName =
  | 'format'
  | 'data_model'
  | 'issuer_key'
  | 'signature'
  | 'disclosures'
  | 'type'
  | 'schema'
  | 'validity'
  | 'issuer_authorised'
  | 'holder_binding'
  | 'status';

export interface Check {
  check: CheckName;
  passed: boolean;
  reason?: string;
  /** status only: whether the status lists read were anchored on chain (absent when anchors are not checked). */
  anchored?: boolean;
  /** issuer_authorised only: what vouched for the issuer (`chain-registry`, `did:key:…`, `x509:<subject>/sha256:…`). */
  trustedBy?: string;
  /** data_model only: every VCDM 2.0 violation found. */
  violations?: VcdmViolation[];
  /** holder_binding only: see `HolderProofProblem`. */
  forAnotherRequest?: true;
  /** status only, when failed: the error type a W3C verifier reports (Bitstring Status List §3.x). */
  problemType?: string;
}

/**
 * Why a holder's proof (a KB-JWT, a holder-signed presentation) failed. `forAnotherRequest`: it names another nonce or
 * audience than the request's, so it was made for another request (a replay): OID4VP 1.0 §14.1.2 then refuses the
 * whole response, not only that presentation.
 */
export interface HolderProofProblem {
  reason: string;
  forAnotherRequest?: true;
}

export interface VerifiedCredential {
  format: CredentialFormat | 'ldp_vc';
  dataModel?: '2.0' | '1.1';
  issuer: string;
  /** Catalogue type id, or `VerifiableCredential` for a credential of no catalogue type from a trust anchor. */
  type: string;
  vct?: string;
  id?: string;
  /** Claims as disclosed (for SD-JWT, only what the holder revealed). */
  claims: Record<string, unknown>;
  validFrom?: string;
  validUntil?: string;
  holder?: { jwk?: JsonWebKey; did?: string };
  status?: unknown;
}

export interface VerificationResult {
  verified: boolean;
  checks: Check[];
  credential?: VerifiedCredential;
}

export type StatusOutcome = {
  passed: boolean;
  state: string;
  reason?: string;
  anchored?: boolean;
  /** A failed W3C status check: the Bitstring Status List's error type (a URL) for what went wrong. */
  problemType?: string;
};

/**
 * What the plain verifier needs from the outside world (the chain, the status lists, trust anchors, DID
 * resolution, the clock). One context per request: the distinct-issuer budget is counted per context object.
 *
 * The async members answer a client's problem with a value (`{ reason }`, `false`) and throw only when
 * the check could not be made (chain or list unreachable): the verifier then fails that check closed
 * with reason `unavailable`, or the `code` of a thrown VerifierDependencyUnavailable.
 */
export interface VerifierContext {
  catalogue: Catalogue;
  /** Cheap, local check of a did:ethr issuer (network, checksum) run before anything touches the chain. */
  issuerProblem?(issuer: string): string | undefined;
  /** The public key `kid` names, if it is an assertion method of `issuer`'s DID document on chain. */
  resolveIssuerKey(kid: string, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }>;
  isAuthorised(issuer: string, typeId: string): Promise<boolean>;
  checkStatus(status: unknown, format: CredentialFormat, issuer: string): Promise<StatusOutcome>;
  /**
   * Trust beside the chain registry (configured anchors): who vouches for an issuer that is not a did:ethr
   * on our chain; with an `x5c` chain, the validated leaf key. Undefined: nobody.
   */
  trustAnchor?(issuer: string, x5c?: unknown): Promise<IssuerTrust | { reason: string } | undefined>;
  /** DID documents for did:key, did:jwk (offline), did:web (fetched) and did:ethr (chain); undefined if none. */
  resolveDid?(did: string): Promise<DidDocument | undefined>;
  nowSeconds(): number;
  clockSkewSeconds: number;
  /** Default KB-JWT / JWT VP `iat` window when the caller gives none (HOLDER_PROOF_MAX_AGE_SECONDS). */
  holderProofMaxAgeSeconds?: number;
  limits?: Partial<VerifierLimits>;
  /**
   * Where credential and presentation signatures are computed (ADR 28). `inline` (the default) for a lone
   * caller, which gains nothing from handing the work over; `threadpool-when-busy` for request handlers:
   * on libuv's threadpool while the event loop is saturated, so it serves other connections meanwhile;
   * `threadpool` always.
   */
  signatureChecks?: SignatureChecks;
}

export type SignatureChecks = 'inline' | 'threadpool-when-busy' | 'threadpool';

/** A JWS signature checked where `context.signatureChecks` says; a reason when it fails. */
export function checkJwsSignature(
  jws: DecodedJws,
  jwk: JsonWebKey,
  context: Pick<VerifierContext, 'signatureChecks'>,
  options?: SignatureOptions,
): string | undefined | Promise<string | undefined> {
  switch (context.signatureChecks) {
    case 'threadpool':
      return verifyJwsSignatureOnThreadpool(jws, jwk, options);
    case 'threadpool-when-busy':
      return verifyJwsSignatureUnderLoad(jws, jwk, options);
    default:
      return verifyJwsSignature(jws, jwk, options);
  }
}

export interface VerifierLimits {
  /** Characters of one serialized credential or presentation, checked before any decoding. */
  maxSerializedLength: number;
  /** Credentials in one presentation (VERIFIER_MAX_CREDENTIALS_PER_PRESENTATION). */
  maxCredentialsPerPresentation: number;
  /** Distinct issuer DIDs resolved with one context, i.e. in one request (VERIFIER_MAX_ISSUERS_PER_REQUEST). */
  maxIssuersPerRequest: number;
}

export const DEFAULT_VERIFIER_LIMITS: VerifierLimits = {
  maxSerializedLength: 65_536,
  maxCredentialsPerPresentation: 10,
  maxIssuersPerRequest: 5,
};

/** RFC 9901 KB-JWTs and JWT VPs older than this are refused (HOLDER_PROOF_MAX_AGE_SECONDS). */
export const DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS = 60;

/**
 * Thrown by a VerifierContext member when a dependency could not answer (e.g. the chain refused the
 * connection); `code` becomes the failed check's reason, e.g. `chain_unavailable`.
 */
export class VerifierDependencyUnavailable extends Error {
  constructor(readonly code: string = 'unavailable') {
    super(code);
    this.name = 'VerifierDependencyUnavailable';
  }
}

/** Reasons of checks that could not be made: the request is answered 503, never as verified or refused. */
export const UNAVAILABLE_REASONS = ['unavailable', 'chain_unavailable', 'did_unavailable'];

/** Whether a credential's or a presentation's result (its credentials' checks too) has a check that could not be made. */
export function couldNotBeChecked(result: { checks: Check[]; credentials?: { checks: Check[] }[] }): boolean {
  return [...result.checks, ...(result.credentials ?? []).flatMap((credential) => credential.checks)].some(
    (check) => !check.passed && UNAVAILABLE_REASONS.includes(check.reason ?? ''),
  );
}

/** Runs a context call; a throw becomes the reason of a check that could not be completed (fail closed). */
export async function attempt<T>(call: () => Promise<T>): Promise<{ value: T } | { unavailable: string }> {
  try {
    return { value: await call() };
  } catch (error) {
    return { unavailable: error instanceof VerifierDependencyUnavailable ? error.code : 'unavailable' };
  }
}

export const limitsOf = (context: VerifierContext): VerifierLimits => ({ ...DEFAULT_VERIFIER_LIMITS, ...context.limits });

const issuersSeen = new WeakMap<VerifierContext, Set<string>>();

/** Counts `issuer` against the context's distinct-issuer budget; a reason when it is exhausted. */
export function issuerBudgetProblem(context: VerifierContext, issuer: string): string | undefined {
  let seen = issuersSeen.get(context);
  if (!seen) issuersSeen.set(context, (seen = new Set()));
  if (seen.has(issuer)) return undefined;
  const max = limitsOf(context).maxIssuersPerRequest;
  if (seen.size >= max) return `more than ${max} distinct issuers in one request`;
  seen.add(issuer);
  return undefined;
}

/** The holder key of a credential: only public members of an advertised holder algorithm (ES256). */
export function holderKeyOf(value: unknown): { jwk: JsonWebKey } | { problem: string } {
  try {
    return { jwk: holderPublicJwk(value) };
  } catch (error) {
    return { problem: error instanceof InvalidHolderKey ? error.message : 'the key is invalid' };
  }
}

/** The pass reason of a KB-JWT checked without a challenge: a copy of it passes again while it is recent. */
export const UNCHALLENGED_KEY_BINDING =
  'not bound to a challenge: a copy of this presentation passes again while its key-binding JWT is recent';

export interface HolderBindingExpectations {
  /** The audience (domain) the holder must have addressed; optional for VC-API presentations. */
  audience?: string;
  /** The challenge (nonce) the holder must have signed; optional for VC-API presentations. */
  nonce?: string;
  maxAgeSeconds?: number;
  /**
   * The nonce is single-use and was made by this service for one request (OID4VP): it alone makes a presentation
   * fresh, so a JWT VP without iat or nbf is accepted. A VC-API caller's challenge may be reused: not set there.
   */
  nonceSingleUse?: boolean;
}

export class Checks {
  readonly list: Check[] = [];
  pass(check: CheckName, reason?: string): void {
    this.list.push(reason ? { check, passed: true, reason } : { check, passed: true });
  }
  fail(check: CheckName, reason: string, extra: Partial<Check> = {}): VerificationResult {
    this.list.push({ check, passed: false, reason, ...extra });
    return { verified: false, checks: this.list };
  }
  record(check: CheckName, problem: string | HolderProofProblem | undefined, passReason?: string): boolean {
    if (typeof problem === 'string') this.list.push({ check, passed: false, reason: problem });
    else if (problem) this.list.push({ check, passed: false, ...problem });
    else this.pass(check, passReason);
    return !problem;
  }
}

/** A NumericDate as an ISO date-time; undefined for one past what Date can hold (±8.64e12 s, e.g. a signed `nbf` of 1e15). */
export const isoSeconds = (value: number | undefined) =>
  value !== undefined && Number.isFinite(value) && Math.abs(value) <= 8.64e12 ? new Date(value * 1000).toISOString() : undefined;

/** The data_model check's reason: the first violations, with their paths. */
export const violationsReason = (violations: VcdmViolation[]) =>
  violations
    .slice(0, 5)
    .map((v) => `${v.path || '(document)'}: ${v.rule}`)
    .join('; ') + (violations.length > 5 ? `; and ${violations.length - 5} more` : '');

/** True for a finished (failed) run, as returned by the helpers that either answer a value or end the run. */
export const isResult = (value: unknown): value is VerificationResult =>
  typeof value === 'object' && value !== null && 'checks' in value && 'verified' in value;
