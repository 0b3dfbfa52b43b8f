import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { z } from 'zod';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { codeAttempt, MAX_CODE_FAILURES, offerCodeMatches } from '../../oid4vci/index.js';
import { OfferRepository } from '../offers/offer.repository.js';
import type { CredentialOfferEntity } from '../offers/offer.entity.js';

export type Authentication = { ok: true } | { ok: false; message: string; final: boolean };
/** A signed-in citizen without an offer: a stable subject and the claims the identity provider vouches for. */
export type Identification =
  { ok: true; subject: string; claims: Record<string, unknown> } | { ok: false; message: string; final: boolean };

/**
 * The citizen login of the authorization code flow. A deployment binds its identity provider here (a
 * national e-ID, an agency portal session); the demo binds LoginCodeAuthenticator.
 */
export interface CitizenAuthenticator {
  authenticate(offer: CredentialOfferEntity, form: Record<string, unknown>): Promise<Authentication>;
  /**
   * A wallet-started application (issue 16): no offer yet, so the citizen signs in with the identity
   * provider, which returns who they are and the claims it vouches for for this credential type.
   */
  identify(typeId: string, form: Record<string, unknown>): Promise<Identification>;
}

export const CITIZEN_AUTHENTICATOR = Symbol('CITIZEN_AUTHENTICATOR');

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const PASSWORD_HASH = /^scrypt:([A-Za-z0-9_-]{16,}):([A-Za-z0-9_-]{43})$/;

/** A password as the citizen directory keeps it: `scrypt:<salt>:<key>` (base64url, 32-byte key). */
export async function hashCitizenPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt:${salt.toString('base64url')}:${(await scryptAsync(password, salt, 32)).toString('base64url')}`;
}

async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const match = PASSWORD_HASH.exec(stored);
  if (!match) return false;
  const expected = Buffer.from(match[2]!, 'base64url');
  return timingSafeEqual(await scryptAsync(password, Buffer.from(match[1]!, 'base64url'), expected.length), expected);
}

/** CITIZEN_DIRECTORY_FILE: the demo identity provider's citizens, with the claims it holds per credential type. */
export const citizenDirectorySchema = z.object({
  citizens: z
    .array(
      z.object({
        username: z.string().min(1).max(100),
        password: z.string().regex(PASSWORD_HASH, 'scrypt:<salt>:<key> (see hashCitizenPassword)'),
        /** A stable, pseudonymous id of the citizen at the identity provider. */
        subject: z.string().min(1).max(200),
        /** Claims per catalogue type id, as the identity provider's registers hold them. */
        claims: z.record(z.string(), z.record(z.string(), z.unknown())),
      }),
    )
    .max(10_000),
});

/** Compared against when the username is unknown (a hash of nothing anyone knows). */
const UNKNOWN_USER_HASH = `scrypt:${randomBytes(16).toString('base64url')}:${randomBytes(32).toString('base64url')}`;

/** Demo: the one-time login code the officer handed the citizen with the offer; 5 wrong codes lock it. */
@Injectable()
export class LoginCodeAuthenticator implements CitizenAuthenticator {
  constructor(
    private readonly offers: OfferRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Demo identity provider for wallet-started applications: username and password checked against the
   * citizen directory file (scrypt hashes), read on each sign-in; a deployment binds its e-ID here.
   */
  async identify(typeId: string, form: Record<string, unknown>): Promise<Identification> {
    const file = this.config.citizenDirectoryFile;
    if (!file) return { ok: false, message: 'No citizen directory is configured', final: true };
    const directory = citizenDirectorySchema.parse(JSON.parse(await readFile(file, 'utf8')));
    const { username, password } = form;
    const citizen =
      typeof username === 'string' ? directory.citizens.find((entry) => entry.username === username.trim()) : undefined;
    // A password is hashed for an unknown user too, so the answer takes as long either way.
    const matches = await passwordMatches(typeof password === 'string' ? password : '', citizen?.password ?? UNKNOWN_USER_HASH);
    if (!citizen || !matches) return { ok: false, message: 'Wrong username or password / 用户名或密码错误', final: false };
    const claims = citizen.claims[typeId];
    if (!claims) return { ok: false, message: `No ${typeId} record for this citizen`, final: true };
    return { ok: true, subject: citizen.subject, claims };
  }

  async authenticate(offer: CredentialOfferEntity, form: Record<string, unknown>): Promise<Authentication> {
    // The attempt is counted before the comparison (and given back by a right code, in the same transaction), so
    // parallel guesses cannot exceed the limit.
    const code = form['login_code'];
    const attempt = await this.offers.attemptCode(offer.id, MAX_CODE_FAILURES, (attemptsUsed) =>
      codeAttempt(attemptsUsed, typeof code === 'string' && offerCodeMatches(offer, code.trim())),
    );
    switch (attempt.outcome) {
      case 'accepted':
        return { ok: true };
      case 'wrong':
        return { ok: false, message: `Wrong login code (${attempt.triesLeft} tries left) / 登录码错误`, final: false };
      case 'locked_now':
        return { ok: false, message: 'Too many wrong login codes', final: true };
      case 'locked':
        return { ok: false, message: 'Too many wrong login codes', final: true };
    }
  }
}
