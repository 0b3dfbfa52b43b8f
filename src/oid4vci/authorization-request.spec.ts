import { OAuthError } from '../common/index.js';
import {
  authorizationDetailsConfigurations,
  authorizationResponseUrl,
  authorizeParametersProblem,
  checkPushedAuthorizationRequest,
  dpopJktProblem,
  pushedRequestOfferProblem,
  pushedSessionProblem,
} from './authorization-request.js';

const now = new Date('2026-11-25T05:00:00Z');
const REDIRECT = 'https://wallet.example/cb';
const allowed = new Set([REDIRECT, 'https://other.example/cb']);
const par = (overrides: Record<string, string | undefined> = {}) => ({
  response_type: 'code',
  client_id: 'wallet',
  redirect_uri: REDIRECT,
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  code_challenge_method: 'S256',
  issuer_state: 'state-of-offer',
  ...overrides,
});
const thrown = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    if (error instanceof OAuthError) return error.error;
    throw error;
  }
  return undefined;
};

describe('checkPushedAuthorizationRequest', () => {
  it('returns what the session keeps', () => {
    expect(checkPushedAuthorizationRequest(par({ state: 'xyz' }), allowed)).toEqual({
      clientId: 'wallet',
      redirectUri: REDIRECT,
      state: 'xyz',
      codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      issuerState: 'state-of-offer',
    });
    expect(checkPushedAuthorizationRequest(par(), allowed).state).toBeNull();
  });

  it('accepts a registered redirect_uri by exact match only (RFC 9700 §4.1.1)', () => {
    for (const redirectUri of [
      `${REDIRECT}/`,
      `${REDIRECT}?x=1`,
      'HTTPS://wallet.example/cb',
      'https://wallet.example/cb#f',
      'https://evil.example/cb',
    ])
      expect({
        redirectUri,
        error: thrown(() => checkPushedAuthorizationRequest(par({ redirect_uri: redirectUri }), allowed)),
      }).toEqual({
        redirectUri,
        error: 'invalid_request',
      });
    expect(thrown(() => checkPushedAuthorizationRequest(par(), new Set()))).toBe('invalid_request');
    expect(
      thrown(() => checkPushedAuthorizationRequest(par({ redirect_uri: 'https://other.example/cb' }), allowed)),
    ).toBeUndefined();
  });

  it('requires response_type code, client_id, redirect_uri and PKCE S256', () => {
    expect(thrown(() => checkPushedAuthorizationRequest(par({ response_type: 'token' }), allowed))).toBe(
      'unsupported_response_type',
    );
    expect(thrown(() => checkPushedAuthorizationRequest(par({ client_id: undefined }), allowed))).toBe('invalid_request');
    expect(thrown(() => checkPushedAuthorizationRequest(par({ redirect_uri: '' }), allowed))).toBe('invalid_request');
    expect(thrown(() => checkPushedAuthorizationRequest(par({ code_challenge_method: 'plain' }), allowed))).toBe(
      'invalid_request',
    );
    expect(thrown(() => checkPushedAuthorizationRequest(par({ code_challenge: undefined }), allowed))).toBe('invalid_request');
    expect(thrown(() => checkPushedAuthorizationRequest(par({ code_challenge: 'short' }), allowed))).toBe('invalid_request');
  });

  it('bounds client_id, redirect_uri and state by their columns', () => {
    expect(thrown(() => checkPushedAuthorizationRequest(par({ client_id: 'c'.repeat(200) }), allowed))).toBeUndefined();
    expect(thrown(() => checkPushedAuthorizationRequest(par({ client_id: 'c'.repeat(201) }), allowed))).toBe('invalid_request');
    expect(thrown(() => checkPushedAuthorizationRequest(par({ state: 's'.repeat(201) }), allowed))).toBe('invalid_request');
    const long = `https://wallet.example/${'p'.repeat(480)}`;
    expect(thrown(() => checkPushedAuthorizationRequest(par({ redirect_uri: long }), new Set([long])))).toBe('invalid_request');
  });
});

describe('dpopJktProblem', () => {
  it('accepts a SHA-256 thumbprint or none', () => {
    expect(dpopJktProblem(undefined)).toBeUndefined();
    expect(dpopJktProblem('N'.repeat(43))).toBeUndefined();
    expect(dpopJktProblem('N'.repeat(42))?.error).toBe('invalid_request');
    expect(dpopJktProblem(`${'N'.repeat(42)}=`)?.error).toBe('invalid_request');
  });
});

describe('authorizationDetailsConfigurations (RFC 9396)', () => {
  const known = { 'a.sd_jwt': {}, 'b.jwt_vc': {} };
  it('reads openid_credential details, as JSON text or already parsed', () => {
    expect(authorizationDetailsConfigurations(undefined, known)).toBeUndefined();
    const details = [{ type: 'openid_credential', credential_configuration_id: 'a.sd_jwt' }];
    expect(authorizationDetailsConfigurations(JSON.stringify(details), known)).toEqual(['a.sd_jwt']);
    expect(authorizationDetailsConfigurations(details, known)).toEqual(['a.sd_jwt']);
  });

  it('refuses malformed, empty, oversized, foreign-type and unknown details with invalid_authorization_details', () => {
    const detail = { type: 'openid_credential', credential_configuration_id: 'a.sd_jwt' };
    for (const bad of [
      '{',
      '[]',
      '{}',
      JSON.stringify(Array(11).fill(detail)),
      [{ type: 'other', credential_configuration_id: 'a.sd_jwt' }],
      [{ type: 'openid_credential' }],
      [{ ...detail, credential_configuration_id: 'c.sd_jwt' }],
      // Names every plain object inherits are no configuration of ours.
      [{ ...detail, credential_configuration_id: 'constructor' }],
      [{ ...detail, credential_configuration_id: 'toString' }],
      [null],
    ])
      expect(thrown(() => authorizationDetailsConfigurations(bad, known))).toBe('invalid_authorization_details');
  });
});

describe('pushedRequestOfferProblem', () => {
  const offer = {
    id: 'o',
    flow: 'authorization_code' as const,
    status: 'offered' as const,
    expiresAt: new Date(now.getTime() + 1000),
    txCodeHash: null,
    configurationIds: ['a.sd_jwt'],
  };
  it('needs an open authorization-code offer that offered what authorization_details asks for', () => {
    expect(pushedRequestOfferProblem(offer, undefined, now)).toBeUndefined();
    expect(pushedRequestOfferProblem(offer, ['a.sd_jwt'], now)).toBeUndefined();
    expect(pushedRequestOfferProblem(offer, ['a.sd_jwt', 'b.jwt_vc'], now)?.error).toBe('invalid_authorization_details');
    expect(pushedRequestOfferProblem(null, undefined, now)?.error).toBe('invalid_request');
    expect(pushedRequestOfferProblem({ ...offer, flow: 'pre-authorized_code' }, undefined, now)?.error).toBe('invalid_request');
    expect(pushedRequestOfferProblem({ ...offer, status: 'redeemed' }, undefined, now)?.error).toBe('invalid_request');
    expect(pushedRequestOfferProblem({ ...offer, expiresAt: now }, undefined, now)?.error).toBe('invalid_request');
  });
});

describe('the authorization endpoint', () => {
  it('takes a request_uri with its client_id only', () => {
    expect(authorizeParametersProblem('wallet', 'urn:x')).toBeUndefined();
    expect(authorizeParametersProblem(undefined, 'urn:x')?.error).toBe('invalid_request');
    expect(authorizeParametersProblem('wallet', ['urn:x'])?.error).toBe('invalid_request');
  });

  it('uses a pushed request once, by its client, before it expires', () => {
    const session = { clientId: 'wallet', status: 'pushed', requestExpiresAt: new Date(now.getTime() + 1000) };
    expect(pushedSessionProblem(session, 'wallet', now)).toBeUndefined();
    expect(pushedSessionProblem(session, 'other', now)?.error).toBe('invalid_request');
    expect(pushedSessionProblem({ ...session, status: 'authorized' }, 'wallet', now)?.error).toBe('invalid_request');
    expect(pushedSessionProblem({ ...session, requestExpiresAt: now }, 'wallet', now)?.error).toBe('invalid_request');
    expect(pushedSessionProblem(null, 'wallet', now)?.error).toBe('invalid_request');
  });

  it('redirects with the code or error, the state and iss (RFC 9207), keeping the registered query', () => {
    const url = new URL(
      authorizationResponseUrl({ redirectUri: `${REDIRECT}?app=1`, state: 's1' }, { code: 'c' }, 'https://issuer.example'),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({ app: '1', code: 'c', state: 's1', iss: 'https://issuer.example' });
    const denied = new URL(
      authorizationResponseUrl({ redirectUri: REDIRECT, state: null }, { error: 'access_denied' }, 'https://i'),
    );
    expect(Object.fromEntries(denied.searchParams)).toEqual({ error: 'access_denied', iss: 'https://i' });
  });
});
