import type { DcqlCredentialPresentation, DcqlQuery } from 'dcql';
import { merged, secretsEqual, sha256Hex } from '../common/index.js';
import {
  proofForAnotherRequest,
  readJosePart,
  type Check,
  type PresentationResult,
  type VerifiedCredential,
} from '../credentials/index.js';
import { vcTypeValues, type ClaimPath, type RequestedCredential } from './dcql.js';
import { claimsOfMetOptions, dcqlMatchProblems, presentationMatchProblems, vpTokenProblems } from './dcql-response.js';

export interface VerdictCredential {
  queryId: string;
  type?: string;
  issuer?: string;
  /** Only the requested claims the wallet disclosed. */
  claims?: Record<string, unknown>;
  checks?: Check[];
  /**
   * This presentation failed its own checks or its query's criteria and was left out (OID4VP 1.0 §8.6), in a verified
   * or a rejected verdict. Only its query id and checks are kept: nothing it claims (type, issuer, claims) reaches the
   * relying party.
   */
  discarded?: true;
}

export interface Verdict {
  verified: boolean;
  reason?: string;
  credentials: VerdictCredential[];
  /**
   * Why a verified response's presentations that failed their own checks were discarded (OID4VP 1.0 §8.6); the query
   * was met without them. `credentials` still lists every presentation in order, those marked `discarded`.
   */
  discarded?: string[];
}

export interface ResponseLimits {
  /** OID4VP_MAX_VP_TOKEN_ENTRIES */
  maxEntries: number;
  /** OID4VP_MAX_ISSUERS_PER_RESPONSE */
  maxIssuers: number;
}

const rejected = (reason: string): Verdict => ({ verified: false, reason, credentials: [] });

/** Issuer DIDs a presentation claims (read before any verification, to bound the chain lookups). */
export function claimedIssuers(presentation: string): string[] {
  const issuerOf = (jwt: unknown) => {
    const iss = typeof jwt === 'string' ? readJosePart(jwt, 1)?.['iss'] : undefined;
    return typeof iss === 'string' ? iss : '(none)';
  };
  if (presentation.includes('~')) return [issuerOf(presentation.split('~')[0])];
  const vp = readJosePart(presentation, 1)?.['vp'] as { verifiableCredential?: unknown } | undefined;
  const inner = vp?.verifiableCredential;
  return (Array.isArray(inner) ? inner : [inner]).map(issuerOf);
}

/** The vp_token as (query id, presentation) pairs, in the wallet's order. */
export function vpTokenEntries(vpToken: Record<string, unknown>): { queryId: string; presentation: string }[] {
  return Object.entries(vpToken).flatMap(([queryId, value]) =>
    (Array.isArray(value) ? value : [value]).map((presentation) => ({ queryId, presentation: presentation as string })),
  );
}

/**
 * The vp_token's structure, before anything is verified or any chain lookup made: known query ids only,
 * `multiple`, at most `maxEntries` presentations and `maxIssuers` distinct claimed issuers. A verdict
 * when the response is refused, undefined when it may be verified.
 */
export function vpTokenRejection(query: DcqlQuery.Output, vpToken: Record<string, unknown>, limits: ResponseLimits) {
  const structural = vpTokenProblems(query, vpToken, { maxEntries: limits.maxEntries });
  if (structural.length) return rejected(structural.join('; '));
  const issuers = new Set(vpTokenEntries(vpToken).flatMap(({ presentation }) => claimedIssuers(presentation)));
  if (issuers.size > limits.maxIssuers)
    return rejected(`the response names ${issuers.size} issuers; at most ${limits.maxIssuers}`);
  return undefined;
}

/**
 * A presentation made for another request, read before anything is verified: OID4VP 1.0 §14.1.2, "If any Verifiable
 * Presentation in the response does not contain the correct nonce value, the response MUST be rejected" (the whole
 * response: unlike a presentation failing other checks, which is discarded, §8.6; it may be a replay slipped in beside
 * good ones), and each must be addressed to the client identifier (B.1.3.1, B.3.6). Every presentation is bound to its
 * holder here (DCQL's require_cryptographic_holder_binding: false is refused), so one without a key-binding JWT carries
 * no nonce either. Read unverified: the wallet may send any bytes anyway, and a replay is refused before any signature
 * check or chain lookup. The reason, or undefined when every presentation names this request.
 */
export function presentationForAnotherRequest(
  vpToken: Record<string, unknown>,
  expected: { nonce: string; audience: string },
): string | undefined {
  for (const { queryId, presentation } of vpTokenEntries(vpToken)) {
    const problem = bindingToAnotherRequest(presentation, expected);
    if (problem) return `${queryId}: holder_binding: ${problem}`;
  }
  return undefined;
}

function bindingToAnotherRequest(presentation: string, expected: { nonce: string; audience: string }): string | undefined {
  const sdJwt = presentation.includes('~');
  const what = sdJwt ? 'the key-binding JWT' : 'the presentation';
  const jwt = sdJwt ? presentation.slice(presentation.lastIndexOf('~') + 1) : presentation;
  if (sdJwt && jwt === '') return 'the presentation has no key-binding JWT';
  const payload = readJosePart(jwt, 1);
  if (!payload) return `${what} is malformed`;
  return proofForAnotherRequest(payload, expected, what)?.reason;
}

/** A verified credential as the `dcql` library describes a presentation (`vcType`: the W3C type of its catalogue type). */
export function describeForDcql(
  credential: Pick<VerifiedCredential, 'format' | 'vct' | 'type' | 'claims'>,
  checks: Pick<Check, 'check' | 'passed'>[],
  vcType: string | undefined,
): DcqlCredentialPresentation {
  const holderBound = checks.some((check) => check.check === 'holder_binding' && check.passed);
  if (credential.format === 'dc+sd-jwt') {
    return {
      credential_format: 'dc+sd-jwt',
      vct: credential.vct ?? '',
      claims: credential.claims as never,
      cryptographic_holder_binding: holderBound,
    };
  }
  return {
    credential_format: 'jwt_vc_json',
    // Short and expanded: a query's type_values may be either (vcTypeValues).
    type: vcTypeValues(['VerifiableCredential', ...(vcType ? [vcType] : [])]),
    claims: merged(credential.claims, { credentialSubject: credential.claims }) as never,
    cryptographic_holder_binding: holderBound,
  };
}

/**
 * Data minimisation: of what the wallet disclosed, only the claims that were asked for. With their paths, a nested
 * claim (`["address", "postal_code"]`) keeps only that member of its object; a path through an array keeps the
 * claim it starts at whole.
 */
export function minimiseClaims(
  wanted: string[],
  disclosed: Record<string, unknown>,
  paths?: readonly ClaimPath[],
): Record<string, unknown> {
  if (!paths) return Object.fromEntries(wanted.filter((claim) => claim in disclosed).map((claim) => [claim, disclosed[claim]]));
  const kept: Record<string, unknown> = {};
  for (const path of paths) {
    const name = path[0];
    if (typeof name !== 'string' || !Object.hasOwn(disclosed, name)) continue;
    if (!path.every((segment) => typeof segment === 'string')) {
      kept[name] = disclosed[name];
      continue;
    }
    keepAt(kept, disclosed, path as readonly string[]);
  }
  return kept;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Copies `source` at `path` (object members only) into `target`, building the objects on the way. */
function keepAt(target: Record<string, unknown>, source: Record<string, unknown>, path: readonly string[]): void {
  const [head, ...rest] = path as [string, ...string[]];
  if (!Object.hasOwn(source, head)) return;
  const value = source[head];
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  // A path that goes on where the value has no members selects nothing (OID4VP 1.0 §7.1.1).
  if (!isPlainObject(value)) return;
  const existing = target[head];
  // A path asked before kept this whole claim already: nothing narrower to add.
  if (Object.hasOwn(target, head) && existing === value) return;
  const inner = isPlainObject(existing) ? existing : {};
  keepAt(inner, value, rest);
  if (Object.keys(inner).length > 0) target[head] = inner;
}

export interface VerifiedPresentation {
  queryId: string;
  result: PresentationResult;
}

/**
 * The verdict on verified presentations, never trusting the wallet. One made for another request (its nonce or audience
 * not this request's) refuses the whole response (OID4VP 1.0 §14.1.2). A presentation that fails any other of its checks
 * (a check of the presentation or its credential, one credential of the type asked for, every requested claim
 * disclosed unless the query has claim_sets) is discarded (OID4VP 1.0 §8.6: "the effected Presentation MUST be
 * discarded"); the others must then meet every DCQL rule (claims, values, claim_sets, vct/type, multiple,
 * credential_sets). Met: verified, with the discarded ones named. Not met: rejected, for why the discarded ones
 * failed when there were any (the precise cause), else for the rules left unmet. The verdict keeps only the
 * requested claims.
 */
export function judgePresentations(
  query: DcqlQuery.Output,
  requested: RequestedCredential[],
  presentations: VerifiedPresentation[],
  vcTypeOf: (typeId: string) => string | undefined,
): Verdict {
  // OID4VP 1.0 §14.1.2: a presentation whose nonce (or audience) is not this request's refuses the whole response,
  // unlike other failures, which discard that presentation only (§8.6): it may be a replay slipped in beside good ones.
  for (const { queryId, result } of presentations) {
    const replay = [...result.checks, ...result.credentials.flatMap((credential) => credential.checks)].find(
      (check) => check.forAnotherRequest,
    );
    if (!replay) continue;
    // Each presentation by its checks only, in order (the usage log pairs them with what was presented): nothing
    // any of them claims reaches the relying party.
    const credentials = presentations.map((entry) => ({
      queryId: entry.queryId,
      checks: entry.result.credentials[0]?.checks ?? entry.result.checks,
    }));
    return { verified: false, reason: `${queryId}: ${replay.check}: ${replay.reason}`, credentials };
  }
  const credentials: VerdictCredential[] = [];
  const discarded: string[] = [];
  const discardedAt = new Set<number>();
  const described: Record<string, DcqlCredentialPresentation[]> = {};
  for (const { queryId, result } of presentations) {
    const wanted = requested.find((credential) => credential.queryId === queryId);
    if (!wanted) throw new Error(`${queryId} is not a query of this request (check vpTokenRejection first)`);
    const verified = result.credentials[0];
    // An SD-JWT presentation reports its checks once, as the presentation's and the credential's.
    const allChecks = [...new Set([...result.checks, ...(verified?.checks ?? [])])];
    const failed = allChecks.filter((check) => !check.passed);
    const credential = verified?.credential;
    const problems = failed.map((check) => `${queryId}: ${check.check}: ${check.reason ?? 'failed'}`);
    if (result.credentials.length > 1) problems.push(`${queryId}: one credential per presentation`);
    if (credential && credential.type !== wanted.typeId)
      problems.push(`${queryId}: a ${credential.type} was presented, ${wanted.typeId} was asked for`);
    const disclosed = credential?.claims ?? {};
    const claimSets = (query.credentials.find((entry) => entry.id === queryId) as { claim_sets?: unknown } | undefined)
      ?.claim_sets;
    const missing = claimSets ? [] : wanted.claims.filter((claim) => !(claim in disclosed));
    if (credential && missing.length) problems.push(`${queryId}: claims not disclosed: ${missing.join(', ')}`);
    if (!credential && !problems.length) problems.push(`${queryId}: no credential in the presentation`);
    // §8.6: one that does not meet its query's criteria (values, nested paths, claim_sets) is discarded like the rest.
    const description =
      credential && !problems.length ? describeForDcql(credential, allChecks, vcTypeOf(credential.type)) : undefined;
    if (description) problems.push(...presentationMatchProblems(query, queryId, description));
    // With claim_sets, only the claims of an option met: another option's may hold a value the query excluded.
    const kept = claimSets ? claimsOfMetOptions(query, queryId, disclosed) : undefined;
    const entry = {
      queryId,
      type: credential?.type,
      issuer: credential?.issuer,
      claims: minimiseClaims(
        kept ? wanted.claims.filter((_, index) => kept[index]) : wanted.claims,
        disclosed,
        kept ? wanted.paths?.filter((_, index) => kept[index]) : wanted.paths,
      ),
      checks: verified?.checks ?? result.checks,
    };
    credentials.push(entry);
    if (problems.length) {
      discarded.push(...problems);
      discardedAt.add(credentials.length - 1);
      continue;
    }
    (described[queryId] ??= []).push(description!);
  }
  // A discarded presentation keeps its place and its checks, nothing it claims (§8.6), whatever the verdict.
  const kept = credentials.map((entry, index) =>
    discardedAt.has(index) ? { queryId: entry.queryId, checks: entry.checks, discarded: true as const } : entry,
  );
  // The query's own rules on what is left.
  const unmet = dcqlMatchProblems(query, described);
  if (unmet.length) return { verified: false, reason: (discarded.length ? discarded : unmet).join('; '), credentials: kept };
  if (!discarded.length) return { verified: true, credentials };
  return { verified: true, credentials: kept, discarded };
}

/** The verdict as stored: same-device flows also keep the hash of the response_code that releases it. */
export type StoredVerdict = Verdict & { responseCodeHash?: string };

export function verdictToStore(verdict: Verdict, responseCode: string | undefined): StoredVerdict {
  return responseCode ? merged(verdict, { responseCodeHash: sha256Hex(responseCode) }) : verdict;
}

export interface RequestProgress {
  id: string;
  status: string;
  expiresAt: Date;
  completedAt: Date | null;
  purgedAt: Date | null;
}

export interface VerdictView {
  id: string;
  status: string;
  result?: Verdict;
  responseCodeRequired?: true;
  resultPurged?: true;
  completedAt: Date | null;
}

/**
 * What a poll of a request shows at `now`, and whether it released the verdict. A verdict stored with a
 * response_code hash is released only to a caller that shows that response_code (a same-device flow:
 * the view token or API key alone would let a verdict be fixed onto another person's session, OID4VP 1.0
 * §13.3). A pending request past its expiry shows as expired.
 */
export function verdictView(
  request: RequestProgress,
  stored: StoredVerdict | undefined,
  responseCode: unknown,
  now: Date,
): { view: VerdictView; released: boolean } {
  const expired = request.status === 'pending' && request.expiresAt <= now;
  const { responseCodeHash, ...verdict } = stored ?? ({} as StoredVerdict);
  const released =
    stored !== undefined &&
    (!responseCodeHash || (typeof responseCode === 'string' && secretsEqual(sha256Hex(responseCode), responseCodeHash)));
  return {
    released,
    view: {
      id: request.id,
      status: expired ? 'expired' : request.status,
      ...(released ? { result: verdict as Verdict } : {}),
      ...(stored && !released ? { responseCodeRequired: true as const } : {}),
      ...(request.purgedAt ? { resultPurged: true as const } : {}),
      completedAt: request.completedAt,
    },
  };
}
