/**
 * Pseudonymous subjects. A MAC under a deployment secret (src/keys), never a plain hash: ID numbers are a
 * small, structured space that a hash would let anyone enumerate.
 *
 * - The account id is what oidc-provider stores in sessions, grants and codes: MAC("subject", namespace,
 *   value). It never leaves the service.
 * - Each portal receives a pairwise `sub` (OIDC Core §8.1): MAC("pairwise", sector, account id), the sector
 *   being the host of the portal's redirect URIs. Two portals cannot link their users; the same portal gets
 *   the same `sub` at every login.
 */
export type Mac = (message: string) => Promise<Buffer>;

/** The name of the HMAC secret in src/keys behind both pseudonyms. */
export const SUBJECT_KEY_NAME = 'citizen-login-subject';

const encode = (...parts: string[]) => parts.map((part) => `${part.length}:${part}`).join('|');

export async function accountIdFor(mac: Mac, namespace: string, value: string): Promise<string> {
  if (!namespace || !value) throw new Error('A subject needs a namespace and a value');
  return (await mac(encode('subject', namespace, value))).toString('base64url');
}

export async function pairwiseSubject(mac: Mac, sector: string, accountId: string): Promise<string> {
  if (!sector || !accountId) throw new Error('A pairwise subject needs a sector and an account id');
  return (await mac(encode('pairwise', sector.toLowerCase(), accountId))).toString('base64url');
}
