import type { Violation } from '../../common/index.js';
import type { LicenceType } from '../../credentials/index.js';

/**
 * One OpenID Connect scope a portal may ask for, served by a wallet presentation of one credential type.
 * The scope decides what the wallet is asked to disclose and what the portal receives.
 */
export interface LoginScope {
  /** The catalogue type whose credential the wallet presents (SD-JWT VC, so only these claims are disclosed). */
  typeId: string;
  /** Credential claim → the claim name the portal receives (OIDC standard names where one exists). */
  claims: Record<string, string>;
  /**
   * The credential claim that identifies the citizen. It is asked for but never released: it is hashed into
   * the pseudonymous account id, from which each portal gets its own pairwise `sub`.
   */
  subjectClaim: string;
  /**
   * Subjects with the same namespace and value are the same citizen. The driving licence number is the
   * citizen ID number (GA 482, 机动车驾驶证证号即公民身份号码), so both scopes share one namespace and a
   * citizen keeps one `sub` per portal whichever of the two credentials they log in with.
   */
  subjectNamespace: string;
}

/** The scope table: what each scope costs the citizen in disclosure. */
export const LOGIN_SCOPES: Readonly<Record<string, LoginScope>> = {
  resident_identity: {
    typeId: 'resident-identity',
    claims: { family_name: 'family_name', given_name: 'given_name', birth_date: 'birthdate' },
    subjectClaim: 'id_number',
    subjectNamespace: 'cn-citizen-id',
  },
  driving_licence: {
    typeId: 'driving-licence',
    claims: {
      family_name: 'family_name',
      given_name: 'given_name',
      categories: 'licence_categories',
      expiry_date: 'licence_expiry_date',
    },
    subjectClaim: 'licence_number',
    subjectNamespace: 'cn-citizen-id',
  },
};

/** `openid` alone logs in with the resident identity and releases nothing but `sub` and `acr`. */
export const DEFAULT_LOGIN_SCOPE = 'resident_identity';

/** `acr` names the credential type whose presentation authenticated the citizen. */
export const ACR_PREFIX = 'urn:chancery:acr:credential:';
export const acrFor = (typeId: string): string => `${ACR_PREFIX}${typeId}`;

export type ScopeTable = Readonly<Record<string, LoginScope>>;

/** A space-separated scope parameter as a list without repeats. */
export function parseScope(scope: unknown): string[] {
  return typeof scope === 'string' ? [...new Set(scope.split(' ').filter(Boolean))] : [];
}

export type SelectedScope =
  { scope: string; entry: LoginScope; releasesClaims: boolean } | { error: 'invalid_scope'; description: string };

/**
 * Which credential a login asks for: the one credential scope requested, or the default (with no claims
 * released) for `openid` alone. One credential per login: two credential scopes are refused rather than
 * asking the citizen to present two credentials whose subjects would have to agree.
 */
export function selectLoginScope(scopes: string[], table: ScopeTable = LOGIN_SCOPES): SelectedScope {
  if (!scopes.includes('openid')) return { error: 'invalid_scope', description: 'the openid scope is required' };
  const credentialScopes = scopes.filter((scope) => Object.hasOwn(table, scope));
  if (credentialScopes.length > 1) {
    return { error: 'invalid_scope', description: 'ask for one credential scope per login' };
  }
  const scope = credentialScopes[0];
  if (scope) return { scope, entry: table[scope]!, releasesClaims: true };
  const fallback = table[DEFAULT_LOGIN_SCOPE];
  if (!fallback) return { error: 'invalid_scope', description: 'no credential scope was requested' };
  return { scope: DEFAULT_LOGIN_SCOPE, entry: fallback, releasesClaims: false };
}

/** The credential claims the wallet is asked to disclose: the released ones (if any) and the subject claim. */
export function requestedClaims(selected: { entry: LoginScope; releasesClaims: boolean }): string[] {
  const released = selected.releasesClaims ? Object.keys(selected.entry.claims) : [];
  return [...new Set([...released, selected.entry.subjectClaim])];
}

/** The DCQL query for a login: one SD-JWT VC of the scope's type, disclosing exactly `requestedClaims`. */
export function loginDcqlQuery(selected: { entry: LoginScope; releasesClaims: boolean }, vct: string) {
  return {
    credentials: [
      {
        id: 'login',
        format: 'dc+sd-jwt',
        meta: { vct_values: [vct] },
        claims: requestedClaims(selected).map((claim) => ({ path: [claim] })),
      },
    ],
  };
}

/** What the portal receives: only the scope's claims, renamed to their OIDC names; never the subject claim. */
export function releasedClaims(
  selected: { entry: LoginScope; releasesClaims: boolean },
  disclosed: Record<string, unknown>,
): Record<string, unknown> {
  if (!selected.releasesClaims) return {};
  const released: Record<string, unknown> = {};
  for (const [credentialClaim, oidcClaim] of Object.entries(selected.entry.claims)) {
    if (credentialClaim === selected.entry.subjectClaim) continue;
    if (Object.hasOwn(disclosed, credentialClaim)) released[oidcClaim] = disclosed[credentialClaim];
  }
  return released;
}

/** The subject claim's value, normalised (an ID number's check character `x` is `X`); undefined if absent. */
export function subjectValue(entry: LoginScope, disclosed: Record<string, unknown>): string | undefined {
  const value = disclosed[entry.subjectClaim];
  if (typeof value !== 'string') return undefined;
  const normalised = value.trim().toUpperCase();
  return normalised.length > 0 ? normalised : undefined;
}

/** oidc-provider's `claims` configuration: which claim names each scope releases. */
export function oidcClaimsByScope(table: ScopeTable = LOGIN_SCOPES): Record<string, string[]> {
  return Object.fromEntries(Object.entries(table).map(([scope, entry]) => [scope, Object.values(entry.claims)]));
}

/**
 * What the internal relying party may ask for: per credential type, the union of every scope's claims and
 * subject claims (OID4VP data minimisation still applies to each request).
 */
export function allowedClaimsUnion(table: ScopeTable = LOGIN_SCOPES): Record<string, string[]> {
  const union: Record<string, Set<string>> = {};
  for (const entry of Object.values(table)) {
    const claims = (union[entry.typeId] ??= new Set());
    for (const claim of [...Object.keys(entry.claims), entry.subjectClaim]) claims.add(claim);
  }
  return Object.fromEntries(
    Object.entries(union)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([typeId, claims]) => [typeId, [...claims].sort()]),
  );
}

/**
 * The table checked against the catalogue at start-up: every type offers SD-JWT, every claim exists and is
 * selectively disclosable (otherwise the wallet could not disclose only what the scope names).
 */
export function scopeTableProblems(table: ScopeTable, typeOf: (typeId: string) => LicenceType | undefined): Violation[] {
  const problems: Violation[] = [];
  for (const [scope, entry] of Object.entries(table)) {
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(scope) || scope === 'openid') {
      problems.push({ path: scope, message: 'a scope is lower-case letters, digits and _ and not openid' });
    }
    const type = typeOf(entry.typeId);
    if (!type) {
      problems.push({ path: `${scope}.typeId`, message: `unknown credential type ${entry.typeId}` });
      continue;
    }
    if (!type.formats.includes('dc+sd-jwt')) problems.push({ path: `${scope}.typeId`, message: 'the type has no SD-JWT format' });
    for (const claim of [...Object.keys(entry.claims), entry.subjectClaim]) {
      if (!(claim in type.claims.properties)) problems.push({ path: `${scope}.${claim}`, message: 'unknown claim' });
      else if (!type.selectivelyDisclosable.includes(claim))
        problems.push({ path: `${scope}.${claim}`, message: 'not selectively disclosable' });
    }
    if (entry.subjectClaim in entry.claims)
      problems.push({ path: `${scope}.${entry.subjectClaim}`, message: 'the subject claim is never released' });
    for (const oidcClaim of Object.values(entry.claims)) {
      if (['sub', 'acr', 'amr', 'iss', 'aud', 'sid', 'auth_time', 'nonce'].includes(oidcClaim))
        problems.push({ path: `${scope}.${oidcClaim}`, message: 'a reserved claim name' });
    }
  }
  return problems;
}
