import { presentedAccessToken } from './access-token.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const token = (claims: object, header: object = { alg: 'ES256', kid: 'k1' }) => `${b64(header)}.${b64(claims)}.c2ln`;
const bound = token({ sub: 'o', cnf: { jkt: 'x'.repeat(43) } });
const bearer = token({ sub: 'o' });

describe('presentedAccessToken (RFC 6750 §2.1, RFC 9449 §7.1)', () => {
  it('reads a DPoP-bound token with a proof and a Bearer token, with their kid', () => {
    expect(presentedAccessToken(`DPoP ${bound}`, 'proof')).toEqual({ ok: true, scheme: 'DPoP', token: bound, kid: 'k1' });
    expect(presentedAccessToken(`Bearer ${bearer}`, null)).toEqual({ ok: true, scheme: 'Bearer', token: bearer, kid: 'k1' });
    expect(presentedAccessToken(`Bearer ${token({}, { alg: 'ES256' })}`, null)).toMatchObject({ ok: true, kid: undefined });
  });

  it('reads the scheme case-insensitively, after one or more spaces (RFC 9110 §11.1, §11.4)', () => {
    for (const header of [`bearer ${bearer}`, `BEARER ${bearer}`, `Bearer  ${bearer}`])
      expect(presentedAccessToken(header, null)).toEqual({ ok: true, scheme: 'Bearer', token: bearer, kid: 'k1' });
    expect(presentedAccessToken(`dpop ${bound}`, 'proof')).toMatchObject({ ok: true, scheme: 'DPoP' });
  });

  it('names no error when no credentials were sent (RFC 6750 §3.1)', () => {
    expect(presentedAccessToken(null, null)).toMatchObject({ ok: false, scheme: undefined, code: 'invalid_token' });
  });

  it('refuses a malformed header or token with invalid_token', () => {
    // Another method's credentials are as none (RFC 6750 §3.1: the challenge names no error).
    for (const header of ['Basic abc', 'Negotiate YII=', 'Bearerx y'])
      expect(presentedAccessToken(header, null)).toMatchObject({ ok: false, scheme: undefined });
    for (const header of ['Bearer', `Bearer ${bearer} extra`, 'bearer x.y.z', `Bearer\t${bearer}`])
      expect(presentedAccessToken(header, null)).toMatchObject({ ok: false, scheme: 'Bearer', code: 'invalid_token' });
    expect(presentedAccessToken('Bearer a.b.c', null)).toMatchObject({ ok: false, scheme: 'Bearer', code: 'invalid_token' });
  });

  it('binds schemes to tokens: a bound token only as DPoP and with a proof, DPoP only for a bound token', () => {
    expect(presentedAccessToken(`Bearer ${bound}`, null)).toMatchObject({ ok: false, scheme: 'DPoP', code: 'invalid_token' });
    expect(presentedAccessToken(`DPoP ${bearer}`, 'proof')).toMatchObject({ ok: false, scheme: 'DPoP', code: 'invalid_token' });
    expect(presentedAccessToken(`DPoP ${bound}`, null)).toMatchObject({ ok: false, scheme: 'DPoP', code: 'invalid_dpop_proof' });
  });
});
