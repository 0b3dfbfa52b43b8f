import type { ExternalSigningKey, KoaContextWithOIDC, Policy, ProviderClient, interactionPolicy } from 'oidc-provider';
import { escapeHtml } from '../../common/index.js';
import { CLIENT_AUTH_METHODS, ID_TOKEN_SIGNING_ALGS } from './client-registration.js';
import { acrFor, LOGIN_SCOPES, oidcClaimsByScope, type ScopeTable } from './scopes.js';

/** Where the provider is mounted under PUBLIC_URL; the issuer is PUBLIC_URL + this. */
export const OIDC_PREFIX = '/oidc';
/** Authorization codes live one minute (RFC 6749 §4.1.2 recommends at most ten). */
export const AUTHORIZATION_CODE_TTL_SECONDS = 60;
/** How long a citizen has to finish a login page. */
export const INTERACTION_TTL_SECONDS = 600;

export interface AccountLookup {
  accountId: string;
  claims(): Promise<Record<string, unknown>>;
}

export interface ProviderConfigInput {
  /** Absolute URL of the mount point (the issuer). */
  issuer: string;
  adapter: unknown;
  /** One key per ID-token algorithm (ES256, RS256); the provider picks by the portal's registered algorithm. */
  signingKeys: ExternalSigningKey[];
  cookieKeys: string[];
  claimsRetentionSeconds: number;
  policy: typeof interactionPolicy;
  findAccount(ctx: KoaContextWithOIDC, accountId: string, token?: { grantId?: string }): Promise<AccountLookup>;
  pairwiseIdentifier(ctx: KoaContextWithOIDC, accountId: string, client: ProviderClient): Promise<string>;
  table?: ScopeTable;
}

/**
 * Every login needs a fresh wallet presentation: the provider's session never logs a citizen in by itself
 * (no single sign-on), so claims are never served from an older login and `acr` always names the credential
 * presented for this very request.
 */
export function loginPolicy(policy: typeof interactionPolicy): Policy {
  const base = policy.base();
  base
    .get('login')!
    .checks.add(
      new policy.Check(
        'wallet_presentation_required',
        'every login presents a credential from the wallet',
        'login_required',
        (ctx) => (ctx.oidc.result?.login ? policy.Check.NO_NEED_TO_PROMPT : policy.Check.REQUEST_PROMPT),
      ),
      0,
    );
  // prompt=select_account (Core §3.1.2.1) is answered by the login itself: the wallet presents one citizen's
  // credential, which is the account chosen.
  base.add(new policy.Prompt({ name: 'select_account', requestable: true }));
  return base;
}

/** The provider's error page (no script, every value escaped); API endpoints answer RFC 6749 JSON themselves. */
export async function renderError(ctx: KoaContextWithOIDC, out: Record<string, unknown>): Promise<void> {
  const code = typeof out['error'] === 'string' ? out['error'] : 'server_error';
  const description = typeof out['error_description'] === 'string' ? out['error_description'] : '';
  ctx.type = 'html';
  ctx.body = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录失败 / Sign-in failed</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:.1rem .3rem}</style>
</head><body>
<h1>登录失败 / Sign-in failed</h1>
<p>错误 / Error: <code data-testid="error">${escapeHtml(code)}</code></p>
<p data-testid="error-description">${escapeHtml(description)}</p>
<p>请返回您要登录的网站重试。/ Go back to the site you were signing in to and try again.</p>
</body></html>`;
}

/** Whether an authorization request (or a pushed one) carries a non-empty `nonce`. */
function hasNonce(ctx: KoaContextWithOIDC): boolean {
  const nonce = ctx.oidc.params?.['nonce'];
  return typeof nonce === 'string' && nonce.length > 0;
}

/** oidc-provider's configuration for wallet login: code flow, PKCE S256 (or a nonce), PAR, pairwise subjects, ES256 or RS256. */
export function providerConfiguration(input: ProviderConfigInput): Record<string, unknown> {
  const table = input.table ?? LOGIN_SCOPES;
  const retention = input.claimsRetentionSeconds;
  /** Seconds left of the grant the token is made for (the whole retention when no grant is at hand). */
  const untilGrantEnds = (ctx: KoaContextWithOIDC, fallback: number): number => {
    const exp = (ctx.oidc?.entities?.Grant as { exp?: number } | undefined)?.exp;
    return typeof exp === 'number' ? Math.max(1, exp - Math.floor(Date.now() / 1000)) : fallback;
  };
  return {
    adapter: input.adapter,
    jwks: { keys: input.signingKeys },
    cookies: {
      names: { session: '_chancery_session', interaction: '_chancery_interaction', resume: '_chancery_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
      keys: input.cookieKeys,
    },
    findAccount: input.findAccount,
    pairwiseIdentifier: input.pairwiseIdentifier,
    subjectTypes: ['pairwise'],
    scopes: ['openid', ...Object.keys(table)],
    // acr (the credential type), amr and auth_time are part of every ID token, not only when requested.
    claims: { iss: null, sid: null, openid: ['sub', 'acr', 'amr', 'auth_time'], ...oidcClaimsByScope(table) },
    // Scope claims go into the ID token too: portals that never call userinfo still get them.
    conformIdTokenClaims: false,
    acrValues: [...new Set(Object.values(table).map((entry) => acrFor(entry.typeId)))],
    responseTypes: ['code'],
    // Every portal is a confidential client; PKCE (S256) is required unless the request carries an OpenID Connect
    // nonce, which binds the code to the portal's session as well (RFC 9700 §2.1.1, §4.5.3): portals whose library
    // has no PKCE can sign citizens in. A code issued without a challenge is refused with a verifier (downgrade).
    pkce: { required: (ctx: KoaContextWithOIDC) => !hasNonce(ctx) },
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
      subject_type: 'pairwise',
    },
    enabledJWA: {
      // RS256 is every OpenID Provider's duty (Core §15.1, Discovery §3); ES256 stays the default.
      idTokenSigningAlgValues: [...ID_TOKEN_SIGNING_ALGS],
      userinfoSigningAlgValues: ['ES256'],
      // private_key_jwt: whatever the portal's registered key signs with (the provider matches key and algorithm).
      clientAuthSigningAlgValues: ['ES256', 'RS256', 'PS256'],
      requestObjectSigningAlgValues: ['ES256'],
      authorizationSigningAlgValues: ['ES256'],
      introspectionSigningAlgValues: ['ES256'],
      dPoPSigningAlgValues: ['ES256'],
    },
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      userinfo: { enabled: true },
      claimsParameter: { enabled: false },
      resourceIndicators: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      revocation: { enabled: false },
      introspection: { enabled: false },
      // Signing stays in src/keys: the provider gets a key object that signs by calling KeyService.
      externalSigningSupport: { enabled: true, ack: 'experimental-01' },
    },
    extraClientMetadata: { properties: ['data_sharing_permission'] },
    allowOmittingSingleRegisteredRedirectUri: false,
    // Portals exchange codes from their back-end; no browser origin calls the token or userinfo endpoint.
    clientBasedCORS: () => false,
    interactions: {
      policy: loginPolicy(input.policy),
      url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `${input.issuer}/interaction/${interaction.uid}`,
    },
    renderError,
    ttl: {
      AuthorizationCode: AUTHORIZATION_CODE_TTL_SECONDS,
      // Nothing outlives the claims: tokens, grants and sessions end with the login's claims retention. Tokens are
      // made at the code exchange, up to a minute after the grant: they end with the grant, not a full period later
      // (userinfo answered invalid_token for the last seconds of the expires_in it had promised).
      AccessToken: (ctx: KoaContextWithOIDC) => untilGrantEnds(ctx, retention),
      Grant: retention,
      Session: retention,
      IdToken: (ctx: KoaContextWithOIDC) => untilGrantEnds(ctx, retention),
      Interaction: INTERACTION_TTL_SECONDS,
    },
  };
}
