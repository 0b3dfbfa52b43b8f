import type { JsonWebKey } from 'node:crypto';
import { createHash } from 'node:crypto';
import { decodeJws, verifyJwsSignature, type CredentialFormat, type StatusOutcome } from '../credentials/index.js';
import { bitstringStatus, TOKEN_STATUS, tokenListStatus } from './lists.js';

/** A list read from this service's own database, with whether its anchor transaction is mined yet. */
export interface LocalStatusList {
  body: string;
  anchorMined: boolean;
}

export interface StatusCheckDeps {
  /** The served list: over HTTP (a string), or from our own database for our own agencies' lists. */
  fetchList(url: string): Promise<string | LocalStatusList>;
  issuerKey(kid: string, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }>;
  /**
   * When given, the served list's version may not be older than the newest version anchored on chain (an
   * older, validly signed list would hide later revocations), and when its own version is anchored the
   * served bytes must match that anchor. A newer version whose anchor is not mined yet is accepted and
   * reported as `anchored: false`: lists are published at once and anchored asynchronously.
   */
  anchor?(url: string, version: number): Promise<{ digest: string; latestVersion: number }>;
}

/** A status outcome that also says whether every list it read was anchored on chain (when anchors are checked). */
export type AnchoredStatusOutcome = StatusOutcome & { anchored?: boolean };

class StatusProblem extends Error {}

/** Fetches, authenticates (issuer signature, chain anchor) and decodes one status list. */
async function loadList(
  url: string,
  issuer: string,
  expectedTyp: string,
  deps: StatusCheckDeps,
): Promise<{ payload: Record<string, unknown>; anchored: boolean | undefined }> {
  if (!/^https?:\/\//.test(url)) throw new StatusProblem(`status list URL ${url} is not http(s)`);
  let fetched: string | LocalStatusList;
  try {
    fetched = await deps.fetchList(url);
  } catch (error) {
    throw new StatusProblem(`status list ${url} could not be fetched: ${(error as Error).message}`);
  }
  const local = typeof fetched === 'string' ? undefined : fetched;
  const jwt = typeof fetched === 'string' ? fetched : fetched.body;
  const jws = decodeJws(jwt);
  if (jws.header['typ'] !== expectedTyp)
    throw new StatusProblem(`status list typ is ${String(jws.header['typ'])}, expected ${expectedTyp}`);
  const kid = jws.header['kid'];
  const listIssuer = jws.payload['iss'];
  if (listIssuer !== issuer || typeof kid !== 'string' || kid.split('#')[0] !== issuer) {
    throw new StatusProblem('the status list is not signed by the credential issuer');
  }
  const key = await deps.issuerKey(kid, issuer);
  if ('reason' in key) throw new StatusProblem(`status list key: ${key.reason}`);
  const problem = verifyJwsSignature(jws, key.jwk);
  if (problem) throw new StatusProblem(`status list signature: ${problem}`);
  if (!deps.anchor) return { payload: jws.payload, anchored: undefined };
  const version = jws.payload['version'];
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)
    throw new StatusProblem('the status list carries no version to compare with its anchor');
  // Our own newest version whose anchor is still queued: anchors are mined in version order, so nothing
  // newer can be anchored; no need to ask the chain (which may be the very thing that is down).
  if (local && !local.anchorMined) return { payload: jws.payload, anchored: false };
  let anchored: { digest: string; latestVersion: number };
  try {
    anchored = await deps.anchor(url, version);
  } catch (error) {
    // Our own list, read from our own database, stays usable while the chain cannot be read.
    if (local) return { payload: jws.payload, anchored: false };
    throw error;
  }
  if (anchored.latestVersion > version) {
    throw new StatusProblem(
      `the served status list is version ${version} but version ${anchored.latestVersion} is anchored on chain`,
    );
  }
  if (!anchored.digest) {
    // Signed by the issuer and not older than anything anchored: its anchor is on its way.
    if (anchored.latestVersion === version) throw new StatusProblem(`status list version ${version} is not anchored on chain`);
    return { payload: jws.payload, anchored: false };
  }
  if (anchored.digest !== createHash('sha256').update(jwt).digest('hex')) {
    throw new StatusProblem(`the served status list (version ${version}) does not match its anchor on chain`);
  }
  return { payload: jws.payload, anchored: true };
}

/** Reads a credential's status: `status.status_list` for SD-JWT VCs, BitstringStatusListEntry for JWT VCs. */
export async function checkCredentialStatus(
  status: unknown,
  format: CredentialFormat,
  issuer: string,
  deps: StatusCheckDeps,
): Promise<AnchoredStatusOutcome> {
  if (status === undefined) return { passed: true, state: 'no status entry' };
  let allAnchored: boolean | undefined;
  const load = async (url: string, typ: string) => {
    const { payload, anchored } = await loadList(url, issuer, typ, deps);
    if (anchored !== undefined) allAnchored = (allAnchored ?? true) && anchored;
    return payload;
  };
  const outcome = (result: StatusOutcome): AnchoredStatusOutcome =>
    allAnchored === undefined ? result : { ...result, anchored: allAnchored };
  try {
    if (format === 'dc+sd-jwt') {
      const reference = (status as { status_list?: { idx?: unknown; uri?: unknown } }).status_list;
      if (!reference || typeof reference.idx !== 'number' || typeof reference.uri !== 'string') {
        return { passed: false, state: 'unknown', reason: 'status.status_list needs idx and uri' };
      }
      const payload = await load(reference.uri, 'statuslist+jwt');
      if (payload['sub'] !== reference.uri) throw new StatusProblem('the status list sub does not match its URL');
      const value = tokenListStatus(payload['status_list'] as { bits: number; lst: string }, reference.idx);
      if (value === TOKEN_STATUS.valid) return outcome({ passed: true, state: 'valid' });
      if (value === TOKEN_STATUS.invalid)
        return outcome({ passed: false, state: 'revoked', reason: 'the credential is revoked' });
      if (value === TOKEN_STATUS.suspended)
        return outcome({ passed: false, state: 'suspended', reason: 'the credential is suspended' });
      return outcome({ passed: false, state: 'unknown', reason: `unknown status value ${value}` });
    }
    const entries = (Array.isArray(status) ? status : [status]) as Record<string, unknown>[];
    const states: string[] = [];
    for (const entry of entries) {
      if (entry['type'] !== 'BitstringStatusListEntry')
        return { passed: false, state: 'unknown', reason: `unsupported status type ${String(entry['type'])}` };
      const url = String(entry['statusListCredential']);
      const index = Number(entry['statusListIndex']);
      const payload = await load(url, 'vc+jwt');
      const subject = payload['credentialSubject'] as { statusPurpose?: unknown; encodedList?: unknown } | undefined;
      if (payload['id'] !== url) throw new StatusProblem('the status list credential id does not match its URL');
      if (subject?.statusPurpose !== entry['statusPurpose'])
        throw new StatusProblem('the status list purpose does not match the entry');
      if (!Number.isInteger(index)) throw new StatusProblem('statusListIndex is not an integer');
      if (bitstringStatus(String(subject?.encodedList), index) === 1)
        states.push(entry['statusPurpose'] === 'revocation' ? 'revoked' : 'suspended');
    }
    if (states.includes('revoked')) return outcome({ passed: false, state: 'revoked', reason: 'the credential is revoked' });
    if (states.includes('suspended'))
      return outcome({ passed: false, state: 'suspended', reason: 'the credential is suspended' });
    return outcome({ passed: true, state: 'valid' });
  } catch (error) {
    if (error instanceof StatusProblem) return { passed: false, state: 'unknown', reason: error.message };
    return { passed: false, state: 'unknown', reason: `status list unreadable: ${(error as Error).message}` };
  }
}
