import {
  Oauth2Error,
  Oauth2ErrorCodes,
  Oauth2ResourceUnauthorizedError,
  Oauth2ServerErrorResponseError,
} from '@openid4vc/oauth2';
import { OAuthError } from '../common/index.js';
import { oauthError } from './oauth-errors.js';
import { asOAuthError, LIBRARY_DESCRIPTIONS, mapErrors } from './library-errors.js';

const view = (error: unknown) =>
  error instanceof OAuthError
    ? { status: error.status, error: error.error, description: error.description, challenge: error.headers['www-authenticate'] }
    : error;

describe('asOAuthError', () => {
  it('keeps a library error response code with our fixed text, never the library message', () => {
    const library = new Oauth2ServerErrorResponseError({
      error: Oauth2ErrorCodes.InvalidGrant,
      error_description: "Invalid 'tx_code' provided\n\tsecret-echo",
    });
    expect(view(asOAuthError(library, 'invalid_request', undefined))).toEqual({
      status: 400,
      error: 'invalid_grant',
      description: LIBRARY_DESCRIPTIONS.invalid_grant,
      challenge: undefined,
    });
  });

  it('keeps a 4xx status of the library and turns anything else into 400', () => {
    const unauthorized = new Oauth2ServerErrorResponseError({ error: Oauth2ErrorCodes.InvalidClient }, { status: 401 });
    expect(view(asOAuthError(unauthorized, 'invalid_request', undefined))).toMatchObject({
      status: 401,
      error: 'invalid_client',
    });
    const server = new Oauth2ServerErrorResponseError({ error: Oauth2ErrorCodes.ServerError }, { status: 500 });
    expect(view(asOAuthError(server, 'invalid_request', undefined))).toMatchObject({ status: 400, error: 'server_error' });
  });

  it('makes any other library error the endpoint fallback code', () => {
    expect(view(asOAuthError(new Oauth2Error('multi\nline "message"'), 'invalid_credential_request', undefined))).toEqual({
      status: 400,
      error: 'invalid_credential_request',
      description: LIBRARY_DESCRIPTIONS.invalid_credential_request,
      challenge: undefined,
    });
  });

  it('turns a resource-server refusal into a 401 with a challenge naming the error in its scheme', () => {
    const refused = new Oauth2ResourceUnauthorizedError('bad token', {
      scheme: 'DPoP',
      error: Oauth2ErrorCodes.InvalidDpopProof,
      error_description: 'echo "input"',
    });
    expect(view(asOAuthError(refused, 'invalid_token', ['DPoP', 'Bearer']))).toEqual({
      status: 401,
      error: 'invalid_dpop_proof',
      description: LIBRARY_DESCRIPTIONS.invalid_dpop_proof,
      challenge: `DPoP algs="ES256", error="invalid_dpop_proof", error_description="${LIBRARY_DESCRIPTIONS.invalid_dpop_proof}", Bearer`,
    });
    const anonymous = new Oauth2ResourceUnauthorizedError('no token', { scheme: 'Bearer' });
    expect(view(asOAuthError(anonymous, 'invalid_token', ['DPoP', 'Bearer']))).toMatchObject({
      status: 401,
      error: 'invalid_token',
      challenge: 'DPoP algs="ES256", Bearer',
    });
  });

  it('passes our own errors and foreign errors through unchanged', () => {
    const ours = oauthError(400, 'invalid_proof', 'x');
    expect(asOAuthError(ours, 'invalid_request', undefined)).toBe(ours);
    const foreign = new TypeError('bug');
    expect(asOAuthError(foreign, 'invalid_request', undefined)).toBe(foreign);
  });
});

describe('mapErrors', () => {
  it('returns the work’s value, or throws the mapped error', async () => {
    await expect(mapErrors(async () => 42)).resolves.toBe(42);
    await expect(
      mapErrors(async () => {
        throw new Oauth2Error('x');
      }, 'invalid_notification_request'),
    ).rejects.toMatchObject({ status: 400, error: 'invalid_notification_request' });
  });
});
