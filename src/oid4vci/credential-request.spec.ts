import { OAuthError } from '../common/index.js';
import {
  alreadyIssuedProblem,
  grantedCredentialIdentifiers,
  issuanceStep,
  jwtProofs,
  requestedConfiguration,
  requestedCredential,
  tokenAuthorizationDetails,
  withoutSupersededProof,
} from './credential-request.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** Shaped like a signed compact JWS (requestedCredential checks structure only; signatures are checked later). */
const jws = `${b64({ alg: 'ES256', typ: 'openid4vci-proof+jwt' })}.${b64({ nonce: 'n' })}.${Buffer.alloc(64, 1).toString('base64url')}`;
const thrown = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    if (error instanceof OAuthError) return error.error;
    throw error;
  }
  return undefined;
};

describe('requestedCredential (OID4VCI 1.0 §8.2)', () => {
  it('returns the one identifier the request names', () => {
    expect(requestedCredential({ credential_configuration_id: 'a.sd_jwt', proofs: { jwt: [jws] } })).toEqual({
      configurationId: 'a.sd_jwt',
      identifier: undefined,
    });
    expect(requestedCredential({ credential_identifier: 'a.sd_jwt', proof: { proof_type: 'jwt', jwt: jws } })).toEqual({
      configurationId: undefined,
      identifier: 'a.sd_jwt',
    });
  });

  it('refuses non-objects, both or neither identifier, and non-strings', () => {
    for (const body of [null, [], 'x', 1]) expect(thrown(() => requestedCredential(body))).toBe('invalid_credential_request');
    for (const body of [
      { credential_configuration_id: 'a', credential_identifier: 'a' },
      {},
      { credential_configuration_id: 1 },
      { credential_identifier: ['a'] },
    ])
      expect(thrown(() => requestedCredential(body))).toBe('invalid_credential_request');
  });

  it('ignores members it does not know (a pre-1.0 format, proof beside proofs), and refuses a response encryption it does not offer', () => {
    expect(requestedCredential({ credential_configuration_id: 'a', format: 'dc+sd-jwt', vct: 'x' })).toEqual({
      configurationId: 'a',
      identifier: undefined,
    });
    // `proof` is no parameter of 1.0: beside `proofs` it is ignored (§8.2), whatever it holds, and left out of what
    // the library parses.
    const both = { credential_configuration_id: 'a', proof: { jwt: 'not a jws' }, proofs: { jwt: [jws] } };
    expect(requestedCredential(both)).toEqual({ configurationId: 'a', identifier: undefined });
    expect(withoutSupersededProof(both)).toEqual({ credential_configuration_id: 'a', proofs: { jwt: [jws] } });
    const single = { credential_configuration_id: 'a', proof: { proof_type: 'jwt', jwt: jws } };
    expect(withoutSupersededProof(single)).toBe(single);
    const encryption = { jwk: { kty: 'EC' }, enc: 'A128GCM' };
    expect(
      thrown(() => requestedCredential({ credential_configuration_id: 'a', credential_response_encryption: encryption })),
    ).toBe('invalid_encryption_parameters');
  });

  it('answers proofs that are not signed compact JWS with invalid_proof, before any library sees them', () => {
    for (const proofs of [
      null,
      { jwt: 'x' },
      { jwt: [jws], ldp_vp: [] },
      { jwt: ['not-a-jwt'] },
      { jwt: [42] },
      { jwt: [`${b64({ alg: 'ES256', crit: ['b64'], b64: false })}.${jws.split('.').slice(1).join('.')}`] },
      // alg none (any case), or no alg: no signature to check, so no proof
      { jwt: [`${b64({ alg: 'none', typ: 'openid4vci-proof+jwt' })}.${jws.split('.').slice(1).join('.')}`] },
      { jwt: [`${b64({ alg: 'NONE', typ: 'openid4vci-proof+jwt' })}.${jws.split('.').slice(1).join('.')}`] },
      { jwt: [`${b64({ typ: 'openid4vci-proof+jwt' })}.${jws.split('.').slice(1).join('.')}`] },
    ])
      expect(thrown(() => requestedCredential({ credential_configuration_id: 'a', proofs }))).toBe('invalid_proof');
    for (const proof of [{ jwt: 1 }, { jwt: 'a.b' }, null])
      expect(thrown(() => requestedCredential({ credential_configuration_id: 'a', proof }))).toBe('invalid_proof');
  });
});

describe('requestedConfiguration', () => {
  const known = { 'a.sd_jwt': {}, 'a.jwt_vc': {}, 'b.sd_jwt': {} };
  const resolve = (requested: object, grantedIdentifiers?: string[], offered = ['a.sd_jwt']) =>
    requestedConfiguration({ requested, grantedIdentifiers, known, offered, scheme: 'Bearer' });

  it('takes an offered configuration id when the token grants no identifiers', () => {
    expect(resolve({ configurationId: 'a.sd_jwt' })).toBe('a.sd_jwt');
    expect(thrown(() => resolve({ configurationId: 'nope.sd_jwt' }))).toBe('unknown_credential_configuration');
    expect(thrown(() => resolve({ configurationId: 'constructor' }))).toBe('unknown_credential_configuration');
    expect(thrown(() => resolve({ configurationId: 'b.sd_jwt' }))).toBe('insufficient_scope');
    expect(thrown(() => resolve({ identifier: 'a.sd_jwt' }))).toBe('unknown_credential_identifier');
  });

  it('takes only a granted credential_identifier after authorization_details', () => {
    expect(resolve({ identifier: 'a.sd_jwt' }, ['a.sd_jwt'])).toBe('a.sd_jwt');
    expect(thrown(() => resolve({ configurationId: 'a.sd_jwt' }, ['a.sd_jwt']))).toBe('invalid_credential_request');
    expect(thrown(() => resolve({ identifier: 'a.jwt_vc' }, ['a.sd_jwt']))).toBe('unknown_credential_identifier');
    expect(thrown(() => resolve({ identifier: 'a.jwt_vc' }, ['a.jwt_vc']))).toBe('insufficient_scope');
  });

  it('does not issue a configuration twice', () => {
    expect(alreadyIssuedProblem('a.sd_jwt', [])).toBeUndefined();
    expect(alreadyIssuedProblem('a.sd_jwt', ['a.sd_jwt'])?.error).toBe('credential_request_denied');
  });
});

describe('jwtProofs', () => {
  it('needs 1 to 10 jwt proofs and nothing else', () => {
    expect(jwtProofs({ jwt: ['a'] })).toEqual(['a']);
    expect(jwtProofs({ jwt: Array(10).fill('a') })).toHaveLength(10);
    expect(thrown(() => jwtProofs({ jwt: Array(11).fill('a') }))).toBe('invalid_proof');
    expect(thrown(() => jwtProofs(undefined))).toBe('invalid_proof');
    expect(thrown(() => jwtProofs({ jwt: [] }))).toBe('invalid_proof');
    expect(thrown(() => jwtProofs({ jwt: ['a'], attestation: ['b'] }))).toBe('invalid_proof');
  });
});

describe('issuanceStep', () => {
  it('finishes the offer with its last configuration and defers while approval is pending', () => {
    expect(issuanceStep({ approval: null, grantedCount: 2, issuedCount: 0 })).toEqual({ last: false, deferred: false });
    expect(issuanceStep({ approval: null, grantedCount: 2, issuedCount: 1 })).toEqual({ last: true, deferred: false });
    expect(issuanceStep({ approval: 'pending', grantedCount: 1, issuedCount: 0 })).toEqual({ last: true, deferred: true });
    expect(issuanceStep({ approval: 'approved', grantedCount: 1, issuedCount: 0 })).toEqual({ last: true, deferred: false });
  });
});

describe('credential identifiers in tokens', () => {
  it('round-trips: what the token response grants is what the credential endpoint reads back', () => {
    const details = tokenAuthorizationDetails(['a.sd_jwt', 'b.sd_jwt']);
    expect(details[0]).toEqual({
      type: 'openid_credential',
      credential_configuration_id: 'a.sd_jwt',
      credential_identifiers: ['a.sd_jwt'],
    });
    expect(grantedCredentialIdentifiers({ authorization_details: details })).toEqual(['a.sd_jwt', 'b.sd_jwt']);
  });

  it('grants none without authorization_details, and ignores malformed entries', () => {
    expect(grantedCredentialIdentifiers({ sub: 'x' })).toBeUndefined();
    expect(grantedCredentialIdentifiers({ authorization_details: [{ credential_identifiers: ['a', 1] }, null, {}] })).toEqual([
      'a',
    ]);
  });
});
