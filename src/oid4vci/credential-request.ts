import { compactJwsProblem, HOLDER_KEY_ALGORITHMS, readJosePart } from '../credentials/index.js';
import { insufficientScopeError, oauthError, type AuthScheme } from '../oauth/index.js';
import { MAX_PROOFS_PER_REQUEST } from './lifetimes.js';

/** The two identifiers a credential request may name, exactly one of them (OID4VCI 1.0 §8.2). */
export interface RequestedCredential {
  configurationId?: string;
  identifier?: string;
}

/**
 * The shape of a credential request, checked before the protocol library parses it: a JSON object with
 * exactly one of credential_identifier / credential_configuration_id (strings), no response encryption
 * asked for, and `proof` or `proofs` holding signed compact JWS only (anything else is invalid_proof,
 * OID4VCI 1.0 §8.3.1.2). Other members (a pre-1.0 `format`, say) are ignored, as §8.2 requires.
 */
export function requestedCredential(body: unknown): RequestedCredential {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw oauthError(400, 'invalid_credential_request', 'The credential request must be a JSON object');
  const request = body as Record<string, unknown>;
  const configurationId = request['credential_configuration_id'];
  const identifier = request['credential_identifier'];
  if (configurationId !== undefined && identifier !== undefined)
    throw oauthError(400, 'invalid_credential_request', 'Give credential_identifier or credential_configuration_id, not both');
  if (configurationId === undefined && identifier === undefined)
    throw oauthError(400, 'invalid_credential_request', 'credential_identifier or credential_configuration_id is required');
  if (configurationId !== undefined && typeof configurationId !== 'string')
    throw oauthError(400, 'invalid_credential_request', 'credential_configuration_id must be a string');
  if (identifier !== undefined && typeof identifier !== 'string')
    throw oauthError(400, 'invalid_credential_request', 'credential_identifier must be a string');
  refuseResponseEncryption(request);
  const proofs = request['proofs'];
  if (proofs !== undefined) {
    const jwt = (proofs as Record<string, unknown> | null)?.['jwt'];
    if (typeof proofs !== 'object' || proofs === null || !Array.isArray(jwt) || Object.keys(proofs).length !== 1)
      throw oauthError(400, 'invalid_proof', 'proofs must hold one non-empty jwt array');
    if (jwt.some((proof) => typeof proof !== 'string' || !signedCompactJws(proof)))
      throw oauthError(400, 'invalid_proof', 'Each jwt proof must be a signed compact JWS');
  }
  // `proof` (one proof, drafts before 1.0) is still read from wallets that send only it; beside `proofs` it is an
  // unrecognised parameter of 1.0, which the issuer MUST ignore (§8.2): see withoutSupersededProof.
  const single = proofs === undefined ? (request['proof'] as Record<string, unknown> | undefined) : undefined;
  if (single !== undefined && (typeof single?.['jwt'] !== 'string' || !signedCompactJws(single['jwt'])))
    throw oauthError(400, 'invalid_proof', 'The jwt proof must be a signed compact JWS');
  return { configurationId: configurationId as string | undefined, identifier: identifier as string | undefined };
}

/**
 * A request asking for an encrypted response (OID4VCI 1.0 §8.2 `credential_response_encryption`, §9.1 for
 * deferred requests): the issuer MUST then encrypt, and this one advertises no encryption
 * (`credential_response_encryption` is absent from its metadata), so the parameters are invalid here.
 */
export function refuseResponseEncryption(request: unknown): void {
  if ((request as Record<string, unknown> | null | undefined)?.['credential_response_encryption'] !== undefined)
    throw oauthError(
      400,
      'invalid_encryption_parameters',
      'This issuer does not encrypt credential responses (its metadata offers no credential_response_encryption)',
    );
}

/** A compact JWS whose header names a signature algorithm (`alg: none` is no proof: invalid_proof, §8.3.1.2). */
const signedCompactJws = (proof: string): boolean => {
  const alg = compactJwsProblem(proof) === undefined ? readJosePart(proof, 0)?.['alg'] : undefined;
  return typeof alg === 'string' && alg.toLowerCase() !== 'none';
};

/**
 * Which configuration a request is for (OID4VCI 1.0 §8.2). After authorization_details the access token
 * grants credential identifiers and the request must name one of them; otherwise it names a known
 * configuration. Either way the configuration must be one the offer made: one it did not is outside the
 * token's grant, an RFC 6750 authorization error (§8.3.1.1), 403 insufficient_scope.
 */
export function requestedConfiguration(options: {
  requested: RequestedCredential;
  /** The identifiers the access token grants, or undefined when it grants none. */
  grantedIdentifiers: readonly string[] | undefined;
  known: Record<string, unknown>;
  offered: readonly string[];
  /** How the access token was presented, for the challenge of an insufficient_scope answer. */
  scheme: AuthScheme;
}): string {
  const { requested, grantedIdentifiers, known, offered } = options;
  let configuration: string;
  if (grantedIdentifiers) {
    if (requested.identifier === undefined)
      throw oauthError(
        400,
        'invalid_credential_request',
        'This access token was granted credential_identifiers; send credential_identifier',
      );
    if (!grantedIdentifiers.includes(requested.identifier))
      throw oauthError(400, 'unknown_credential_identifier', 'Unknown credential_identifier');
    configuration = requested.identifier;
  } else {
    if (requested.identifier !== undefined)
      throw oauthError(400, 'unknown_credential_identifier', 'This access token was granted no credential identifiers');
    configuration = requested.configurationId!;
    if (!Object.hasOwn(known, configuration))
      throw oauthError(400, 'unknown_credential_configuration', 'Unknown credential_configuration_id');
  }
  if (!offered.includes(configuration))
    throw insufficientScopeError({
      scheme: options.scheme,
      dpopAlgs: HOLDER_KEY_ALGORITHMS,
      description: `This access token covers only the offered configurations: ${offered.join(', ')}`,
    });
  return configuration;
}

/**
 * A configuration already issued under the offer is not issued again: credential_request_denied (§8.3.1.2, "has
 * not been accepted by the Credential Issuer", which the wallet treats as final), as the request itself is well formed.
 */
export function alreadyIssuedProblem(configuration: string, issued: readonly string[]) {
  return issued.includes(configuration) ? alreadyIssued(configuration) : undefined;
}

export const alreadyIssued = (configuration: string) =>
  oauthError(400, 'credential_request_denied', `${configuration} was already issued under this offer`);

/** The jwt proofs of a parsed request: at least one, jwt only, at most MAX_PROOFS_PER_REQUEST. */
export function jwtProofs(proofs: Record<string, unknown[] | undefined> | undefined): string[] {
  const jwt = proofs?.['jwt'] as string[] | undefined;
  if (!jwt?.length) throw oauthError(400, 'invalid_proof', 'A jwt proof of possession of the holder key is required');
  if (proofs && Object.keys(proofs).some((type) => type !== 'jwt'))
    throw oauthError(400, 'invalid_proof', 'Only jwt proofs are supported');
  if (jwt.length > MAX_PROOFS_PER_REQUEST)
    throw oauthError(400, 'invalid_proof', `At most ${MAX_PROOFS_PER_REQUEST} proofs per request`);
  return jwt;
}

/** OID4VCI 1.0 §8.3.1.2 invalid_nonce; the wallet gets a fresh c_nonce from the nonce endpoint. */
export const invalidNonce = (nonceEndpoint: string) =>
  oauthError(400, 'invalid_nonce', `The proof nonce is unknown, expired or already used; get a fresh one from ${nonceEndpoint}`);

/**
 * What issuing one configuration does to the offer: the last one the grant covers finishes it (its sealed
 * claims are erased), and an offer awaiting an officer's approval defers the request (OID4VCI 1.0 §9).
 * A grant narrowed by authorization_details (§5.1.1, §6.1) covers fewer than the offer holds; the others can
 * never be issued (the code is spent), so the claims must not wait for the offer's expiry.
 */
export function issuanceStep(offer: {
  approval: 'pending' | 'approved' | 'rejected' | null;
  grantedCount: number;
  issuedCount: number;
}) {
  const last = offer.issuedCount + 1 === offer.grantedCount;
  return { last, deferred: offer.approval === 'pending' };
}

/** The credential identifiers an access token grants (its RFC 9396 authorization_details), or undefined. */
export function grantedCredentialIdentifiers(tokenPayload: Record<string, unknown>): string[] | undefined {
  const details = tokenPayload['authorization_details'];
  if (!Array.isArray(details)) return undefined;
  return details.flatMap((detail: { credential_identifiers?: unknown }) =>
    Array.isArray(detail?.credential_identifiers)
      ? detail.credential_identifiers.filter((id): id is string => typeof id === 'string')
      : [],
  );
}

/** authorization_details of a token response after RFC 9396: each configuration is its own credential identifier. */
export const tokenAuthorizationDetails = (credentialIdentifiers: readonly string[]) =>
  credentialIdentifiers.map((id) => ({
    type: 'openid_credential',
    credential_configuration_id: id,
    credential_identifiers: [id],
  }));

/** The request without `proof` when it carries `proofs` (OID4VCI 1.0 §8.2: unrecognised parameters are ignored). */
export function withoutSupersededProof(body: Record<string, unknown>): Record<string, unknown> {
  if (body['proofs'] === undefined || body['proof'] === undefined) return body;
  const { proof: _ignored, ...rest } = body;
  return rest;
}
