import { Oauth2ErrorCodes } from '@openid4vc/oauth2';
import { OAUTH_ERROR_CODES, type OAuthErrorCode } from '../common/index.js';
import { MAX_ERROR_DESCRIPTION_LENGTH, oauthError, safeErrorDescription, wwwAuthenticate } from './oauth-errors.js';

/** RFC 6749 §5.2 error_description characters. */
const RFC6749_TEXT = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;
/** One RFC 9110 challenge parameter list: token68-free auth-params with quoted strings. */
const CHALLENGE = /^(DPoP|Bearer)( [a-z_]+="[\x20-\x21\x23-\x5B\x5D-\x7E]*"(, [a-z_]+="[\x20-\x21\x23-\x5B\x5D-\x7E]*")*)?$/;

describe('safeErrorDescription', () => {
  it('makes a multi-line library message with quotes, backslashes and non-ASCII one safe line', () => {
    const text = safeErrorDescription('Error occurred during validation.\n\t- "htu": expected \\ string\r\n证照 ✓');
    expect(text).toMatch(RFC6749_TEXT);
    expect(text).toBe('Error occurred during validation. - htu : expected string');
  });

  it('bounds the length and never returns an empty text', () => {
    expect(safeErrorDescription('x'.repeat(5000))).toHaveLength(MAX_ERROR_DESCRIPTION_LENGTH);
    expect(safeErrorDescription('\n\n')).toMatch(RFC6749_TEXT);
    expect(safeErrorDescription(undefined)).toMatch(RFC6749_TEXT);
  });
});

describe('oauthError', () => {
  it('sanitises the description and refuses, at run time too, an error code that is not one of ours', () => {
    const error = oauthError(400, 'invalid_proof', 'bad\nproof "x"');
    expect(error.description).toBe('bad proof x');
    expect(oauthError(400, 'bad "code"\n' as OAuthErrorCode).error).toBe('invalid_request');
  });

  it('knows every error code the protocol library can raise, so library errors keep their code', () => {
    expect(OAUTH_ERROR_CODES).toEqual(expect.arrayContaining(Object.values(Oauth2ErrorCodes)));
    for (const code of OAUTH_ERROR_CODES) expect(code).toMatch(/^[a-z][a-z0-9_]{0,63}$/);
  });
});

describe('wwwAuthenticate', () => {
  it('builds parseable DPoP and Bearer challenges, the error in its scheme only', () => {
    const header = wwwAuthenticate({
      schemes: ['DPoP', 'Bearer'],
      dpopAlgs: ['ES256'],
      error: { scheme: 'DPoP', code: 'invalid_dpop_proof', description: 'line one\nline "two"' },
    });
    expect(header).toBe('DPoP algs="ES256", error="invalid_dpop_proof", error_description="line one line two", Bearer');
    const [dpop, bearer] = header.split(/, (?=Bearer)/);
    expect(dpop).toMatch(CHALLENGE);
    expect(bearer).toMatch(CHALLENGE);
    // Node refuses header values with control characters (ERR_INVALID_CHAR); ours are accepted.
    expect(() => new Headers({ 'www-authenticate': header })).not.toThrow();
  });

  it('names no error for a request without credentials (RFC 6750 §3.1)', () => {
    expect(wwwAuthenticate({ schemes: ['DPoP', 'Bearer'], dpopAlgs: ['ES256'] })).toBe('DPoP algs="ES256", Bearer');
  });
});
