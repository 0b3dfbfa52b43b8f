import { createHash } from 'node:crypto';
import {
  authorizationCodeGrantProblem,
  pkceS256Matches,
  type CodeSession,
  type CodeTokenRequest,
} from './authorization-code-grant.js';

const now = new Date('2026-11-25T05:00:00Z');
const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
// RFC 7636 Appendix B: this verifier's S256 challenge.
const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const session = (overrides: Partial<CodeSession> = {}): CodeSession => ({
  status: 'authorized',
  clientId: 'wallet',
  redirectUri: 'https://wallet.example/cb',
  codeChallenge: challenge,
  codeExpiresAt: new Date(now.getTime() + 30_000),
  dpopJkt: null,
  ...overrides,
});
const request = (overrides: Partial<CodeTokenRequest> = {}): CodeTokenRequest => ({
  redirectUri: 'https://wallet.example/cb',
  clientId: 'wallet',
  codeVerifier: verifier,
  hasDpopProof: false,
  ...overrides,
});
const errorOf = (s: CodeSession | null, r: CodeTokenRequest, at = now) => authorizationCodeGrantProblem(s, r, at)?.error;

describe('pkceS256Matches (RFC 7636)', () => {
  it('matches the RFC 7636 Appendix B example and nothing else', () => {
    expect(pkceS256Matches(verifier, challenge)).toBe(true);
    expect(pkceS256Matches(`${verifier.slice(0, -1)}l`, challenge)).toBe(false);
    expect(pkceS256Matches(verifier, verifier)).toBe(false);
  });

  it('refuses verifiers outside 43 to 128 unreserved characters even when the hash matches', () => {
    const short = 'a'.repeat(42);
    expect(pkceS256Matches(short, createHash('sha256').update(short).digest('base64url'))).toBe(false);
    const spaced = `${'a'.repeat(42)} `;
    expect(pkceS256Matches(spaced, createHash('sha256').update(spaced).digest('base64url'))).toBe(false);
    const longest = 'b'.repeat(128);
    expect(pkceS256Matches(longest, createHash('sha256').update(longest).digest('base64url'))).toBe(true);
    expect(pkceS256Matches(`${longest}b`, createHash('sha256').update(`${longest}b`).digest('base64url'))).toBe(false);
  });
});

describe('authorizationCodeGrantProblem', () => {
  it('accepts the exchange of an authorized, unexpired code by its client with the right verifier', () => {
    expect(errorOf(session(), request())).toBeUndefined();
  });

  it('requires client_id: a public client names itself when it exchanges a code (RFC 6749 §4.1.3)', () => {
    expect(errorOf(session(), request({ clientId: undefined }))).toBe('invalid_request');
  });

  it('refuses an unknown, not yet authorized or already exchanged code', () => {
    expect(errorOf(null, request())).toBe('invalid_grant');
    expect(errorOf(session({ status: 'pushed' }), request())).toBe('invalid_grant');
    expect(errorOf(session({ status: 'exchanged' }), request())).toBe('invalid_grant');
  });

  it('requires the pushed redirect_uri exactly, and the client the code was issued to', () => {
    expect(errorOf(session(), request({ redirectUri: 'https://wallet.example/cb/' }))).toBe('invalid_grant');
    expect(errorOf(session(), request({ redirectUri: undefined }))).toBe('invalid_grant');
    expect(errorOf(session(), request({ clientId: 'other' }))).toBe('invalid_grant');
  });

  it('requires a DPoP proof for a code bound to a DPoP key (RFC 9449 §10)', () => {
    expect(errorOf(session({ dpopJkt: 'x'.repeat(43) }), request())).toBe('invalid_dpop_proof');
    expect(errorOf(session({ dpopJkt: 'x'.repeat(43) }), request({ hasDpopProof: true }))).toBeUndefined();
  });

  it('requires the PKCE verifier (invalid_request when missing, invalid_grant when wrong)', () => {
    expect(errorOf(session(), request({ codeVerifier: undefined }))).toBe('invalid_request');
    expect(errorOf(session(), request({ codeVerifier: 'x'.repeat(43) }))).toBe('invalid_grant');
  });

  it('refuses an expired code, and one without an expiry', () => {
    expect(errorOf(session(), request(), new Date(now.getTime() + 30_000))).toBeUndefined();
    expect(errorOf(session(), request(), new Date(now.getTime() + 30_001))).toBe('invalid_grant');
    expect(errorOf(session({ codeExpiresAt: null }), request())).toBe('invalid_grant');
  });
});
