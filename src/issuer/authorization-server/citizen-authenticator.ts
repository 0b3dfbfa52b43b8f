import { Injectable } from '@nestjs/common';
import { secretsEqual, sha256Hex } from '../../common/index.js';
import { OfferRepository } from './offer.repository.js';
import type { CredentialOfferEntity } from './offer.entity.js';

export type Authentication = { ok: true } | { ok: false; message: string; final: boolean };

/**
 * The citizen login of the authorization code flow. A deployment binds its identity provider here (a
 * national e-ID, an agency portal session); the demo binds LoginCodeAuthenticator.
 */
export interface CitizenAuthenticator {
  authenticate(offer: CredentialOfferEntity, form: Record<string, unknown>): Promise<Authentication>;
}

export const CITIZEN_AUTHENTICATOR = Symbol('CITIZEN_AUTHENTICATOR');
export const MAX_CODE_FAILURES = 5;

/** Demo: the one-time login code the officer handed the citizen with the offer; 5 wrong codes lock it. */
@Injectable()
export class LoginCodeAuthenticator implements CitizenAuthenticator {
  constructor(private readonly offers: OfferRepository) {}

  async authenticate(offer: CredentialOfferEntity, form: Record<string, unknown>): Promise<Authentication> {
    // The attempt is counted before the comparison, so parallel guesses cannot exceed the limit.
    const attempts = await this.offers.reserveCodeAttempt(offer.id, MAX_CODE_FAILURES);
    if (attempts === undefined) return { ok: false, message: 'Too many wrong login codes', final: true };
    const code = form['login_code'];
    if (typeof code === 'string' && offer.txCodeHash && secretsEqual(sha256Hex(`${offer.id}:${code.trim()}`), offer.txCodeHash)) {
      return { ok: true };
    }
    if (attempts >= MAX_CODE_FAILURES) {
      await this.offers.lock(offer.id);
      return { ok: false, message: 'Too many wrong login codes', final: true };
    }
    return { ok: false, message: `Wrong login code (${MAX_CODE_FAILURES - attempts} tries left) / 登录码错误`, final: false };
  }
}
