import type { JsonWebKey } from 'node:crypto';
import type { LicenceType } from './catalogue.js';
import { findVerificationMethod, verificationMethodJwk } from './dids.js';
import { attempt, issuerBudgetProblem, type Checks, type VerificationResult, type VerifierContext } from './verify-common.js';

/** How an issuer came to be trusted: the chain registry (did:ethr on our chain, per type) or a configured anchor. */
export interface IssuerDecision {
  chain: boolean;
  /** For anchors: the label reported as `issuer_authorised.trustedBy`. */
  trustedBy: string;
  /** For x5c: the validated leaf key, which must have signed. */
  jwk?: JsonWebKey;
  /** An agency's did:key: its did:ethr, authorised per catalogue type by the registry (ADR 40). */
  registryDid?: string;
}

export const CHAIN_REGISTRY = 'chain-registry';

export const isChainIssuer = (issuer: string) => issuer.startsWith('did:ethr:');

/** The registry's answer for (issuer, type): undefined when authorised, else the reason (or `chain_unavailable`). */
export async function registryProblem(context: VerifierContext, issuer: string, typeId: string): Promise<string | undefined> {
  const outcome = await attempt(() => context.isAuthorised(issuer, typeId));
  if ('unavailable' in outcome) return outcome.unavailable;
  return outcome.value ? undefined : `${issuer} is not authorised to issue ${typeId}`;
}

/**
 * Decides whether anyone vouches for `issuer` before anything expensive happens: a did:ethr on our chain
 * must be authorised by the registry for the type it claims (one cached read, before its DID is resolved);
 * any other issuer must be a configured trust anchor (by DID, or by an x5c chain to an X.509 root). An
 * issuer nobody vouches for fails `issuer_authorised` at once. Counts the issuer against the request budget.
 */
export async function decideIssuer(
  issuer: string,
  x5c: unknown,
  claimedType: LicenceType | undefined,
  context: VerifierContext,
  checks: Checks,
): Promise<IssuerDecision | VerificationResult> {
  let decision: IssuerDecision;
  if (isChainIssuer(issuer) && x5c === undefined) {
    const problem = context.issuerProblem?.(issuer);
    if (problem) return checks.fail('issuer_key', problem);
    const authorisation = claimedType ? await registryProblem(context, issuer, claimedType.id) : undefined;
    if (authorisation) return checks.fail('issuer_authorised', authorisation);
    decision = { chain: true, trustedBy: CHAIN_REGISTRY };
  } else {
    const outcome = context.trustAnchor ? await attempt(() => context.trustAnchor!(issuer, x5c)) : { value: undefined };
    if ('unavailable' in outcome) return checks.fail('issuer_authorised', outcome.unavailable);
    const trust = outcome.value;
    if (!trust)
      return checks.fail(
        'issuer_authorised',
        `${issuer.slice(0, 200)} is not a trusted issuer (no trust anchor, not on the chain registry)`,
      );
    if ('reason' in trust) return checks.fail('issuer_authorised', trust.reason);
    if (trust.registryDid) {
      // An agency's did:key issues catalogue types only, each as the registry authorises its did:ethr.
      if (!claimedType) return checks.fail('issuer_authorised', `${issuer.slice(0, 200)} issues catalogue types only`);
      const authorisation = await registryProblem(context, trust.registryDid, claimedType.id);
      if (authorisation) return checks.fail('issuer_authorised', authorisation);
    }
    decision = { chain: false, ...trust };
  }
  const budget = issuerBudgetProblem(context, issuer);
  if (budget) return checks.fail('issuer_key', budget);
  return decision;
}

/** The key a JWS issuer signed with: the chain's assertion method, the x5c leaf, or the anchor's DID document. */
export async function issuerSigningKey(
  issuer: string,
  kid: unknown,
  decision: IssuerDecision,
  context: VerifierContext,
  checks: Checks,
): Promise<JsonWebKey | VerificationResult> {
  if (decision.jwk) {
    checks.pass('issuer_key', 'x5c');
    return decision.jwk;
  }
  if (typeof kid !== 'string') return checks.fail('issuer_key', 'the JWS header has no kid');
  const kidDid = kid.startsWith('#') ? issuer : kid.split('#')[0];
  if (kidDid !== issuer) return checks.fail('issuer_key', `kid ${kid.slice(0, 200)} does not belong to the issuer ${issuer}`);
  const absoluteKid = kid.startsWith('#') ? `${issuer}${kid}` : kid;
  if (decision.chain) {
    const resolved = await attempt(() => context.resolveIssuerKey(absoluteKid, issuer));
    if ('unavailable' in resolved) return checks.fail('issuer_key', resolved.unavailable);
    if ('reason' in resolved.value) return checks.fail('issuer_key', resolved.value.reason);
    checks.pass('issuer_key', absoluteKid);
    return resolved.value.jwk;
  }
  const document = context.resolveDid ? await attempt(() => context.resolveDid!(issuer)) : { value: undefined };
  if ('unavailable' in document) return checks.fail('issuer_key', document.unavailable);
  if (!document.value) return checks.fail('issuer_key', `issuer DID ${issuer.slice(0, 200)} did not resolve`);
  const method = findVerificationMethod(document.value, absoluteKid, 'assertionMethod');
  const jwk = method && verificationMethodJwk(method);
  if (!jwk)
    return checks.fail('issuer_key', `kid ${absoluteKid.slice(0, 200)} is not an assertion method of ${issuer.slice(0, 200)}`);
  checks.pass('issuer_key', absoluteKid);
  return jwk;
}
