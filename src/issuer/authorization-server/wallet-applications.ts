import type { Tx } from '../../persistence/index.js';

/**
 * The authorization server's hook for wallet-started applications (issue 16): a wallet's pushed
 * authorization request without issuer_state, for a credential type under a joint-approval policy, becomes
 * an application once the citizen has signed in. Implemented by the joint-approval module.
 */
export interface WalletApplications {
  /**
   * A pushed request without an offer asks for these configurations: the id of the offer the application
   * will get (the authorization session keeps it), or an OAuth error when no joint-approval policy of
   * ours covers them.
   */
  start(configurationIds: readonly string[], expiresAt: Date): Promise<string>;
  /** What the sign-in page of a waiting request shows; undefined when `offerId` is no waiting request. */
  describe(offerId: string): Promise<{ agencyName: string; typeId: string; typeName: string } | undefined>;
  /**
   * Files the application of the signed-in citizen with the claims the identity provider vouches for;
   * `inTransaction` (the authorization code) commits with it, and throws to refuse it.
   */
  complete(
    offerId: string,
    citizen: { subject: string; claims: Record<string, unknown> },
    inTransaction: (tx: Tx) => Promise<void>,
  ): Promise<void>;
}

export const WALLET_APPLICATIONS = Symbol('WALLET_APPLICATIONS');

/** A wallet-started application that the citizen's sign-in cannot complete (told to the wallet as access_denied). */
export class ApplicationRefused extends Error {}
