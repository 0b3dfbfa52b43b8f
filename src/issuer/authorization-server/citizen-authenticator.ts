import { Injectable } from '@nestjs/common';
import { codeAttempt, MAX_CODE_FAILURES, offerCodeMatches } from '../../oid4vci/index.js';
import { OfferRepository } from '../offers/offer.repository.js';
import type { CredentialOfferEntity } from '../offers/offer.entity.js';

export type Authentication = { ok: true } | { ok: false; message: string; final: boolean };

/**
 * The citizen login of the authorization code flow. A deployment binds its identity provider here (a
 * national e-ID, an agency portal session); the demo binds LoginCodeAuthenticator.
 */
export interface CitizenAuthenticator {
  authenticate(offer: CredentialOfferEntity, form: Record<string, unknown>): Promise<Authentication>;
}

export const CITIZEN_AUTHENTICATOR = Symbol('CITIZEN_AUTHENTICATOR');

/** Demo: the one-time login code the officer handed the citizen with the offer; 5 wrong codes lock it. */
@Injectable()
export class LoginCodeAuthenticator implements CitizenAuthenticator {
  constructor(private readonly offers: OfferRepository) {}

  async authenticate(offer: CredentialOfferEntity, form: Record<string, unknown>): Promise<Authentication> {
    // The attempt is counted before the comparison, so parallel guesses cannot exceed the limit.
    const attempts = await this.offers.reserveCodeAttempt(offer.id, MAX_CODE_FAILURES);
    const code = form['login_code'];
    const attempt = codeAttempt(attempts, typeof code === 'string' && offerCodeMatches(offer, code.trim()));
    switch (attempt.outcome) {
      case 'accepted':
        return { ok: true };
      case 'wrong':
        return { ok: false, message: `Wrong login code (${attempt.triesLeft} tries left) / 登录码错误`, final: false };
      case 'locked_now':
        await this.offers.lock(offer.id);
        return { ok: false, message: 'Too many wrong login codes', final: true };
      case 'locked':
        return { ok: false, message: 'Too many wrong login codes', final: true };
    }
  }
}
