import { OAuthError, sha256Hex } from '../common/index.js';
import { readJosePart } from '../credentials/index.js';
import type { Verdict } from './verdict.js';

/** What the intake rules need to know of a stored presentation request. */
export interface RequestUnderAnswer {
  id: string;
  status: string;
  expiresAt: Date;
  /** SHA-256 (hex) of the request's state. */
  stateHash: string;
  /** direct_post.jwt was asked for (the request still holds its decryption key). */
  expectsEncryption: boolean;
}

export interface RequestLookup<R extends RequestUnderAnswer> {
  byId(id: string): Promise<R | null>;
  byStateHash(stateHash: string): Promise<R | null>;
}

const malformed = (description: string) => new OAuthError(400, 'invalid_request', description);

/** The single-use rule lost: another response completed the request first. */
export const alreadyAnswered = (): OAuthError => malformed('This presentation request was already answered');

/** A direct_post body is an error response when it carries `error` (OID4VP 1.0 §8.5, RFC 6749 §4.1.2.1). */
export const isErrorResponse = (form: Record<string, unknown>): boolean => typeof form['error'] === 'string';

/**
 * Which pending request a direct_post / direct_post.jwt body answers, and whether it may answer it now:
 *
 * - direct_post.jwt: the JWE header's `kid` names the request (its ephemeral key decrypts it);
 * - direct_post: the `state` names it (looked up by hash); a request that asked for an encrypted response
 *   accepts a plain body only for an error response (a wallet may not be able to encrypt its refusal);
 * - the request must still be pending (answered once) and not expired at `now`.
 *
 * Throws OAuthError invalid_request (RFC 6749 JSON) otherwise.
 */
export async function requestAnswered<R extends RequestUnderAnswer>(
  form: Record<string, unknown>,
  lookup: RequestLookup<R>,
  now: Date,
): Promise<R> {
  let request: R | null;
  if (typeof form['response'] === 'string') {
    const header = readJosePart(form['response'], 0);
    if (!header) throw malformed('response is not a JWE');
    const kid = header['kid'];
    request = typeof kid === 'string' ? await lookup.byId(kid) : null;
    if (!request) throw malformed('The response is not for a known presentation request');
  } else {
    const state = form['state'];
    request = typeof state === 'string' ? await lookup.byStateHash(sha256Hex(state)) : null;
    if (!request) throw malformed('state does not name a presentation request');
    if (request.expectsEncryption && !isErrorResponse(form))
      throw malformed('This request requires an encrypted (direct_post.jwt) response');
  }
  if (request.status !== 'pending') throw alreadyAnswered();
  if (request.expiresAt <= now) throw malformed('This presentation request has expired');
  return request;
}

/** The response's `state` must be the request's own (compared by hash, as stored). */
export function checkResponseState(state: unknown, stateHash: string): void {
  if (state === undefined) throw malformed('state is required: the request had one');
  if (typeof state !== 'string' || sha256Hex(state) !== stateHash) throw malformed('state does not match the request');
}

/**
 * A wallet's error response ends the request only with the request's own state (anyone who saw the QR code
 * could otherwise cancel it), and only a well-formed error code is recorded.
 */
export function walletErrorVerdict(form: Record<string, unknown>, stateHash: string): Verdict {
  checkResponseState(form['state'], stateHash);
  const error = typeof form['error'] === 'string' ? form['error'] : '';
  const code = /^[a-z_]{1,64}$/.test(error) ? error : 'invalid_error_code';
  return { verified: false, reason: `wallet answered ${code}`, credentials: [] };
}
