import { GENERIC_VC_TYPE, type LicenceType } from './catalogue.js';
import { registryProblem, type IssuerDecision } from './issuer-trust.js';
import { verifyKeyBinding, type ParsedSdJwt } from './sd-jwt.js';
import {
  attempt,
  checkJwsSignature,
  DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS,
  isoSeconds,
  type Checks,
  type HolderBindingExpectations,
  UNCHALLENGED_KEY_BINDING,
  type VerificationResult,
  type VerifiedCredential,
  type VerifierContext,
} from './verify-common.js';

/** What an authenticated credential says, in any securing format. */
export interface AuthenticatedCredential {
  format: VerifiedCredential['format'];
  dataModel?: '2.0' | '1.1';
  issuer: string;
  id?: string;
  /** The catalogue type its claims name (by vct or VC type), if any. */
  type: LicenceType | undefined;
  claims: Record<string, unknown>;
  validFrom?: number;
  validUntil?: number;
  holder?: VerifiedCredential['holder'];
  /** Why the credential's own holder key is unacceptable (private members, curve not advertised). */
  holderKeyProblem?: string;
  status: unknown;
  sdJwt?: ParsedSdJwt;
  /** Why no catalogue type matched (reported when a chain issuer's credential has none). */
  unknownTypeReason?: string;
  /** The W3C type array names more than one catalogue type: refused whoever the issuer (see `ambiguousTypes`). */
  ambiguousType?: boolean;
  /** The type the registry was asked about before authentication (chain issuers). */
  claimedTypeId?: string;
}

/**
 * The checks after authentication, the same for every format: type (a catalogue type for chain issuers;
 * anchors may issue any VCDM type), schema, validity, authorisation (and who vouched), holder binding
 * (SD-JWT key binding here; presentations bind JWT VCs) and status.
 */
export async function finishCredential(
  checks: Checks,
  read: AuthenticatedCredential,
  decision: IssuerDecision,
  context: VerifierContext,
  holderBinding?: HolderBindingExpectations,
): Promise<VerificationResult> {
  const { type } = read;
  // Its schema and expiry would be checked for none of them while a reader trusts one: no issuer may do that.
  if (read.ambiguousType) return checks.fail('type', 'the credential names more than one catalogue type');
  if (!type && (decision.chain || decision.registryDid)) {
    return checks.fail('type', read.unknownTypeReason ?? 'no catalogue type matches');
  }
  checks.pass('type', type?.id ?? 'VerifiableCredential');
  if (type) {
    const violations = context.catalogue.validateClaims(type.id, read.claims, read.sdJwt ? 'partial' : 'full');
    checks.record('schema', violations.length ? violations.map((v) => `${v.path}: ${v.message}`).join('; ') : undefined);
  }

  const now = context.nowSeconds();
  const { validFrom, validUntil } = read;
  checks.record(
    'validity',
    validUntil === undefined && type && type.vcType !== GENERIC_VC_TYPE
      ? // Licence types always expire; VCDM 2.0 makes validUntil optional for everything else (the generic type too).
        'the credential has no expiry'
      : // exp is the first second the credential is no longer valid (RFC 7519 §4.1.4).
        validUntil !== undefined && validUntil + context.clockSkewSeconds <= now
        ? `expired at ${isoSeconds(validUntil) ?? `${validUntil} s`}`
        : validFrom !== undefined && validFrom - context.clockSkewSeconds > now
          ? `not valid before ${isoSeconds(validFrom) ?? `${validFrom} s`}`
          : undefined,
  );

  // Asked before authentication for the claimed type; again only if the disclosed type is another one.
  // The registry decides for the issuer's did:ethr: itself, or the agency's behind its did:key (ADR 40).
  const registryDid = decision.chain ? read.issuer : decision.registryDid;
  const authorisedProblem =
    registryDid && type && type.id !== read.claimedTypeId ? await registryProblem(context, registryDid, type.id) : undefined;
  checks.record('issuer_authorised', authorisedProblem);
  if (!authorisedProblem) checks.list.at(-1)!.trustedBy = decision.trustedBy;

  const { sdJwt, holder } = read;
  if (read.holderKeyProblem) {
    // Whether or not binding was asked for: a credential naming a private or unsupported key is unusable.
    checks.record('holder_binding', read.holderKeyProblem);
  } else if (holderBinding && sdJwt) {
    if (!holder?.jwk) checks.record('holder_binding', 'the credential is not bound to a holder key');
    else {
      checks.record(
        'holder_binding',
        await verifyKeyBinding(
          sdJwt,
          holder.jwk,
          {
            audience: holderBinding.audience,
            nonce: holderBinding.nonce,
            nowSeconds: now,
            maxAgeSeconds:
              holderBinding.maxAgeSeconds ?? context.holderProofMaxAgeSeconds ?? DEFAULT_HOLDER_PROOF_MAX_AGE_SECONDS,
            clockSkewSeconds: context.clockSkewSeconds,
          },
          (jws, jwk) => checkJwsSignature(jws, jwk, context),
        ),
        // A VC-API caller that gave no challenge: the answer says what that leaves open (and the route warns).
        holderBinding.nonce === undefined ? UNCHALLENGED_KEY_BINDING : undefined,
      );
    }
  } else if (sdJwt?.keyBindingJwt && !holderBinding) {
    checks.record('holder_binding', 'a key-binding JWT was presented but no audience and nonce were given to check it');
  }

  // No status fetch for a credential from an issuer the registry does not (or could not) vouch for.
  if (authorisedProblem === undefined) {
    // A W3C data model credential (Data Integrity, or an SD-JWT with @context) carries credentialStatus entries,
    // as a JWT VC does; only an SD-JWT VC carries a Token Status List reference.
    const format = read.format === 'ldp_vc' || read.dataModel !== undefined ? 'jwt_vc_json' : read.format;
    const statusOutcome = await attempt(() => context.checkStatus(read.status, format, read.issuer));
    if ('unavailable' in statusOutcome) checks.record('status', statusOutcome.unavailable);
    else {
      const outcome = statusOutcome.value;
      checks.record('status', outcome.passed ? undefined : (outcome.reason ?? outcome.state), outcome.state);
      if (outcome.anchored !== undefined) checks.list.at(-1)!.anchored = outcome.anchored;
      if (!outcome.passed && outcome.problemType !== undefined) checks.list.at(-1)!.problemType = outcome.problemType;
    }
  }

  const validFromIso = isoSeconds(validFrom);
  const validUntilIso = isoSeconds(validUntil);
  const credential: VerifiedCredential = {
    format: read.format,
    ...(read.dataModel ? { dataModel: read.dataModel } : {}),
    issuer: read.issuer,
    type: type?.id ?? 'VerifiableCredential',
    // An IETF SD-JWT VC's vct (as its catalogue type names it); a VCDM vc+sd-jwt has none, so a DCQL query's
    // vct_values (OID4VP 1.0 B.3.5) cannot be met by one.
    ...(read.format === 'dc+sd-jwt' && read.dataModel === undefined && type ? { vct: type.vct } : {}),
    ...(read.id ? { id: read.id } : {}),
    claims: read.claims,
    ...(validFromIso !== undefined ? { validFrom: validFromIso } : {}),
    ...(validUntilIso !== undefined ? { validUntil: validUntilIso } : {}),
    ...(holder ? { holder } : {}),
    ...(read.status !== undefined ? { status: read.status } : {}),
  };
  return { verified: checks.list.every((check) => check.passed), checks: checks.list, credential };
}
