import type { CredentialFormat } from './catalogue.js';
import { finishCredential, type AuthenticatedCredential } from './credential-checks.js';
import { jwkFromDidJwk } from './did-jwk.js';
import { decideIssuer, isChainIssuer, issuerSigningKey } from './issuer-trust.js';
import { decodeJws, readJosePart, type DecodedJws } from './jws.js';
import { JWT_PROOF_2020, readJwtVc, type ReadJwtVc } from './jwt-vc.js';
import { applyDisclosures, DisclosureError, NEVER_DISCLOSED_CLAIMS, parseSdJwt, type ParsedSdJwt } from './sd-jwt.js';
import { dataModelOf, issuerIdOf, isUrl, validateCredential, VCDM2_CONTEXT } from './vcdm2.js';
import {
  Checks,
  checkJwsSignature,
  holderKeyOf,
  isoSeconds,
  isResult,
  limitsOf,
  violationsReason,
  type HolderBindingExpectations,
  type VerificationResult,
  type VerifierContext,
} from './verify-common.js';
import { merged } from '../common/merged.js';
import { untrustedText } from '../common/json-bounds.js';

export * from './verify-common.js';

/** `typ` values of SD-JWTs: IETF SD-JWT VC (`dc+sd-jwt`, legacy `vc+sd-jwt` with `vct`) or VCDM 2.0 (`vc+sd-jwt` with `@context`). */
const SD_JWT_TYPES = ['dc+sd-jwt', 'vc+sd-jwt'];
const SD_JWT_VC_RULES = { neverDisclosedAtTop: NEVER_DISCLOSED_CLAIMS };

/** VC-JOSE-COSE §3.1.2: when `iss` is present it must name the credential's issuer. */
/** A JWT NumericDate as a dateTime, when it is a number Date can hold. */
const isoOfSeconds = (value: unknown) => (typeof value === 'number' ? isoSeconds(value) : undefined);

/**
 * The credential a VCDM 1.1 JWT stands for, decoded as §6.3.1 says: `iss` is its issuer, `nbf` its issuanceDate,
 * `exp` its expirationDate, `sub` its subject's id and `jti` (when a URI) its id, whatever the `vc` claim holds for
 * them (the registered claims are what was signed for; wallets leave placeholders in `vc`). A JWT with neither
 * `nbf` nor an issuanceDate is dated by `iat`, or not at all (its validity is checked from the claims).
 */
function vc11Document(payload: Record<string, unknown>): Record<string, unknown> {
  const vc = payload['vc'] as Record<string, unknown>;
  const document: Record<string, unknown> = { ...vc };
  if (payload['iss'] !== undefined) document['issuer'] = payload['iss'];
  if (isUrl(payload['jti'])) document['id'] = payload['jti'];
  const issued = isoOfSeconds(payload['nbf']) ?? (vc['issuanceDate'] === undefined ? isoOfSeconds(payload['iat']) : undefined);
  if (issued !== undefined) document['issuanceDate'] = issued;
  const expires = isoOfSeconds(payload['exp']);
  if (expires !== undefined) document['expirationDate'] = expires;
  const subject = vc['credentialSubject'];
  if (
    isUrl(payload['sub']) &&
    (subject === undefined || (typeof subject === 'object' && subject !== null && !Array.isArray(subject)))
  )
    document['credentialSubject'] = { ...(subject as Record<string, unknown> | undefined), id: payload['sub'] };
  return document;
}

/**
 * A VCDM 1.1 JWT VC as the JSON credential it stands for (`vc11Document`: the registered claims win), the JWT itself
 * as its JwtProof2020 proof. Undefined for anything but a 1.1 JWT VC within the JSON bounds. The JSON is a view: only
 * the JWT is verified, and a verifier given this form checks that it is exactly the view of its JWT.
 */
export function jwtVc11Document(jwt: string): Record<string, unknown> | undefined {
  const header = readJosePart(jwt, 0);
  const payload = readJosePart(jwt, 1);
  if (!header || !payload || (header['typ'] !== undefined && header['typ'] !== 'JWT')) return undefined;
  const vc = payload['vc'];
  if (typeof vc !== 'object' || vc === null || Array.isArray(vc)) return undefined;
  return { ...vc11Document(payload), proof: { type: JWT_PROOF_2020, jwt } };
}

function issMismatch(payload: Record<string, unknown>): boolean {
  return 'iss' in payload && payload['iss'] !== issuerIdOf(payload['issuer']);
}

/**
 * Verifies one compact credential (SD-JWT VC; VCDM 2.0 `vc+jwt` or `vc+sd-jwt`; VCDM 1.1 JWT) and reports
 * every check. Cheap checks run before expensive ones: size and structure, the VCDM 2.0 data model, whether
 * anyone vouches for the issuer (the registry for the claimed type, one cached read, or a trust anchor)
 * before its DID is resolved, the signature checked, disclosures walked or a status list fetched. Signature
 * problems end the run. A check whose dependency could not answer fails closed (`unavailable` /
 * `chain_unavailable`) instead of failing the request.
 */
export async function verifyCredential(
  serialized: string,
  context: VerifierContext,
  holderBinding?: HolderBindingExpectations,
): Promise<VerificationResult> {
  const checks = new Checks();
  const limits = limitsOf(context);
  if (serialized.length > limits.maxSerializedLength)
    return checks.fail('format', `the credential is longer than ${limits.maxSerializedLength} characters`);
  let format: CredentialFormat;
  let jws: DecodedJws;
  let sdJwt: ParsedSdJwt | undefined;
  let read: ReadJwtVc | undefined;
  /** A VCDM 2.0 credential secured as SD-JWT (VC-JOSE-COSE §3.2): its payload is the credential. */
  let vcdmSdJwt = false;
  try {
    // decodeJws bounds depth and size of header and payload and refuses repeated members and crit.
    if (serialized.includes('~')) {
      sdJwt = parseSdJwt(serialized);
      jws = decodeJws(sdJwt.jws);
      if (!SD_JWT_TYPES.includes(jws.header['typ'] as string)) {
        return checks.fail('format', `SD-JWT VC typ must be dc+sd-jwt, got ${untrustedText(jws.header['typ'])}`);
      }
      vcdmSdJwt = jws.header['typ'] === 'vc+sd-jwt' && '@context' in jws.payload;
      format = 'dc+sd-jwt';
    } else {
      jws = decodeJws(serialized);
      format = 'jwt_vc_json';
      read = readJwtVc(jws.header, jws.payload);
    }
  } catch (error) {
    return checks.fail('format', (error as Error).message);
  }
  checks.pass('format', vcdmSdJwt ? 'vc+sd-jwt' : format);

  // VCDM 2.0 content (vc+jwt; a VCDM 1.1 JWT whose vc claim uses the v2 context) is checked as a document.
  const vcdmDocument = read?.dataModel === '2.0' ? jws.payload : asV2(read ? jws.payload['vc'] : undefined);
  if (vcdmDocument) {
    const violations = validateCredential(vcdmDocument);
    if (violations.length) return checks.fail('data_model', violationsReason(violations), { violations });
    if (read?.dataModel === '2.0' && issMismatch(jws.payload)) return checks.fail('data_model', 'iss does not match issuer');
    checks.pass('data_model', 'VCDM 2.0');
  } else if (read?.dataModel === '1.1' && dataModelOf(jws.payload['vc']) === '1.1') {
    // VCDM 1.1 §6.3.1: the registered claims stand for the members they replace; where both are given they agree.
    const violations = validateCredential(vc11Document(jws.payload), { models: ['1.1'] }).filter(
      // Undated is not malformed here: the validity check reads the claims (nbf, iat, exp) as it always did.
      (violation) => violation.rule !== 'issuanceDate.required',
    );
    if (violations.length) return checks.fail('data_model', violationsReason(violations), { violations });
    checks.pass('data_model', 'VCDM 1.1');
  } else if (vcdmSdJwt) {
    // Selectively disclosed members are checked once disclosed; the issuer must be plain.
    if (typeof issuerIdOf(jws.payload['issuer']) !== 'string')
      return checks.fail('data_model', 'issuer must not be selectively disclosable');
    if (issMismatch(jws.payload)) return checks.fail('data_model', 'iss does not match issuer');
  }

  const issuer = sdJwt ? (vcdmSdJwt ? issuerIdOf(jws.payload['issuer']) : jws.payload['iss']) : read!.issuer;
  const x5c = jws.header['x5c'];
  if (typeof issuer !== 'string' || !(issuer.startsWith('did:') || (x5c !== undefined && isUrl(issuer))))
    return checks.fail('issuer_key', 'the issuer is not a DID');
  const claimedVct = jws.payload['vct'];
  const claimedType = sdJwt
    ? vcdmSdJwt
      ? context.catalogue.byVcTypes(jws.payload['type'])
      : typeof claimedVct === 'string'
        ? context.catalogue.byVct(claimedVct)
        : undefined
    : context.catalogue.byVcTypes(read!.types);
  const decision = await decideIssuer(issuer, x5c, claimedType, context, checks);
  if (isResult(decision)) return decision;
  // An agency's did:key issues Data Integrity credentials only (ADR 40); its JOSE credentials come from its did:ethr.
  if (decision.registryDid)
    return checks.fail('issuer_authorised', `${issuer.slice(0, 200)} issues Data Integrity credentials (ldp_vc) only`);
  const key = await issuerSigningKey(issuer, jws.header['kid'], decision, context, checks);
  if (isResult(key)) return key;

  // Every issuer on our chain signs low-S, so a high-S twin can only be a malleated copy.
  const signatureProblem = await checkJwsSignature(jws, key, context, { rejectHighS: isChainIssuer(issuer) });
  if (signatureProblem) return checks.fail('signature', signatureProblem);
  checks.pass('signature');

  const authenticated = sdJwt ? readSdJwt(sdJwt, jws, vcdmSdJwt, context, checks) : readJose(read!, context, issuer);
  if (isResult(authenticated)) return authenticated;
  return finishCredential(checks, merged(authenticated, { claimedTypeId: claimedType?.id }), decision, context, holderBinding);
}

const asV2 = (value: unknown): Record<string, unknown> | undefined => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const context = (value as Record<string, unknown>)['@context'];
  return Array.isArray(context) && context[0] === VCDM2_CONTEXT ? (value as Record<string, unknown>) : undefined;
};

function readJose(read: ReadJwtVc, context: VerifierContext, issuer: string): AuthenticatedCredential {
  const subjectId = read.subjectId;
  let holder: AuthenticatedCredential['holder'];
  let holderKeyProblem: string | undefined;
  if (subjectId?.startsWith('did:jwk:')) {
    const holderJwk = jwkFromDidJwk(subjectId);
    if (holderJwk) holder = { did: subjectId, jwk: holderJwk };
    else holderKeyProblem = 'the credential subject did:jwk is not an accepted holder key (public ES256 P-256 key)';
  } else if (subjectId !== undefined) holder = { did: subjectId };
  return {
    format: 'jwt_vc_json',
    dataModel: read.dataModel,
    issuer,
    id: read.id,
    type: context.catalogue.byVcTypes(read.types),
    ambiguousType: context.catalogue.specificTypesNamed(read.types).length > 1,
    unknownTypeReason: `no catalogue type among ${JSON.stringify(read.types).slice(0, 200)}`,
    claims: read.claims,
    validFrom: read.validFrom,
    validUntil: read.validUntil,
    holder,
    holderKeyProblem,
    status: read.status,
  };
}

function readSdJwt(
  sdJwt: ParsedSdJwt,
  jws: DecodedJws,
  vcdm: boolean,
  context: VerifierContext,
  checks: Checks,
): AuthenticatedCredential | VerificationResult {
  let disclosed: Record<string, unknown>;
  try {
    // draft-ietf-oauth-sd-jwt-vc: some claims are never disclosures, so a holder cannot withhold a status or an expiry.
    disclosed = applyDisclosures(jws.payload, sdJwt.disclosures, vcdm ? {} : SD_JWT_VC_RULES);
  } catch (error) {
    if (error instanceof DisclosureError) return checks.fail('disclosures', error.message);
    throw error;
  }
  checks.pass('disclosures', `${sdJwt.disclosures.length} disclosed`);
  const { cnf } = disclosed;
  let holder: AuthenticatedCredential['holder'];
  let holderKeyProblem: string | undefined;
  if (cnf !== undefined) {
    const holderKey = holderKeyOf((cnf as { jwk?: unknown } | null)?.jwk);
    if ('jwk' in holderKey) holder = { jwk: holderKey.jwk };
    else holderKeyProblem = `the credential's holder key (cnf.jwk) is refused: ${holderKey.problem}`;
  }
  if (vcdm) {
    const violations = validateCredential(disclosed);
    if (violations.length) return checks.fail('data_model', violationsReason(violations), { violations });
    checks.pass('data_model', 'VCDM 2.0');
    let read: ReadJwtVc;
    try {
      read = readJwtVc({ typ: 'vc+jwt' }, Object.fromEntries(Object.entries(disclosed).filter(([k]) => k !== 'cnf')));
    } catch (error) {
      return checks.fail('format', (error as Error).message);
    }
    return merged(readJose(read, context, untrustedText(issuerIdOf(disclosed['issuer']), Infinity)), {
      format: 'dc+sd-jwt' as const,
      holder,
      holderKeyProblem,
      sdJwt,
    });
  }
  // Registered JWT claims describe the credential, not the subject. Left out by destructuring, not `delete`,
  // which would turn the claims into a dictionary-mode object (slower to read and to serialise).
  const { vct, iat, nbf, exp, status, cnf: _cnf, iss: _iss, sub: _sub, jti: _jti, aud: _aud, ...rest } = disclosed;
  // draft-ietf-oauth-sd-jwt-vc §3.2.2.1: vct is REQUIRED (a trust anchor's credential has no catalogue type to miss).
  if (typeof vct !== 'string') return checks.fail('format', 'the SD-JWT VC carries no vct');
  for (const [name, value] of [
    ['iat', iat],
    ['nbf', nbf],
    ['exp', exp],
  ] as const) {
    // RFC 7519 §2 NumericDate: a date in another form would otherwise be skipped (an expiry never reached).
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value)))
      return checks.fail('format', `the SD-JWT VC's ${name} is not a NumericDate`);
  }
  return {
    format: 'dc+sd-jwt',
    issuer: untrustedText(jws.payload['iss'], Infinity),
    type: typeof vct === 'string' ? context.catalogue.byVct(vct) : undefined,
    unknownTypeReason: `unknown vct ${vct.slice(0, 200)}`,
    claims: rest,
    validFrom: typeof nbf === 'number' ? nbf : typeof iat === 'number' ? iat : undefined,
    validUntil: typeof exp === 'number' ? exp : undefined,
    holder,
    holderKeyProblem,
    status,
    sdJwt,
  };
}
