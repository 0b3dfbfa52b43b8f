import type { JsonWebKey } from 'node:crypto';
import { createHash } from 'node:crypto';
import { decodeJws, verifyJwsSignature, type CredentialFormat, type StatusOutcome } from '../credentials/index.js';
import { bitstringStatus, TOKEN_STATUS, tokenListStatus } from './lists.js';

export interface StatusCheckDeps {
  fetchList(url: string): Promise<string>;
  issuerKey(kid: string, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }>;
  /**
   * When given, the served list's digest must equal the one anchored on chain for its version, and that
   * version must be the newest anchored one (an older, validly signed list would hide later revocations).
   */
  anchor?(url: string, version: number): Promise<{ digest: string; latestVersion: number }>;
}

class StatusProblem extends Error {}

/** Fetches, authenticates (issuer signature, chain anchor) and decodes one status list. */
async function loadList(url: string, issuer: string, expectedTyp: string, deps: StatusCheckDeps) {
  if (!/^https?:\/\//.test(url)) throw new StatusProblem(`status list URL ${url} is not http(s)`);
  let jwt: string;
  try {
    jwt = await deps.fetchList(url);
  } catch (error) {
    throw new StatusProblem(`status list ${url} could not be fetched: ${(error as Error).message}`);
  }
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
  if (deps.anchor) {
    const version = jws.payload['version'];
    if (typeof version !== 'number') throw new StatusProblem('the status list carries no version to compare with its anchor');
    const anchored = await deps.anchor(url, version);
    const served = createHash('sha256').update(jwt).digest('hex');
    if (!anchored.digest) throw new StatusProblem(`status list version ${version} is not anchored on chain`);
    if (anchored.digest !== served) {
      throw new StatusProblem(`the served status list (version ${version}) does not match its anchor on chain`);
    }
    if (anchored.latestVersion > version) {
      throw new StatusProblem(
        `the served status list is version ${version} but version ${anchored.latestVersion} is anchored on chain`,
      );
    }
  }
  return jws.payload;
}

/** Reads a credential's status: `status.status_list` for SD-JWT VCs, BitstringStatusListEntry for JWT VCs. */
export async function checkCredentialStatus(
  status: unknown,
  format: CredentialFormat,
  issuer: string,
  deps: StatusCheckDeps,
): Promise<StatusOutcome> {
  if (status === undefined) return { passed: true, state: 'no status entry' };
  try {
    if (format === 'dc+sd-jwt') {
      const reference = (status as { status_list?: { idx?: unknown; uri?: unknown } }).status_list;
      if (!reference || typeof reference.idx !== 'number' || typeof reference.uri !== 'string') {
        return { passed: false, state: 'unknown', reason: 'status.status_list needs idx and uri' };
      }
      const payload = await loadList(reference.uri, issuer, 'statuslist+jwt', deps);
      if (payload['sub'] !== reference.uri) throw new StatusProblem('the status list sub does not match its URL');
      const value = tokenListStatus(payload['status_list'] as { bits: number; lst: string }, reference.idx);
      if (value === TOKEN_STATUS.valid) return { passed: true, state: 'valid' };
      if (value === TOKEN_STATUS.invalid) return { passed: false, state: 'revoked', reason: 'the credential is revoked' };
      if (value === TOKEN_STATUS.suspended) return { passed: false, state: 'suspended', reason: 'the credential is suspended' };
      return { passed: false, state: 'unknown', reason: `unknown status value ${value}` };
    }
    const entries = (Array.isArray(status) ? status : [status]) as Record<string, unknown>[];
    const states: string[] = [];
    for (const entry of entries) {
      if (entry['type'] !== 'BitstringStatusListEntry')
        return { passed: false, state: 'unknown', reason: `unsupported status type ${String(entry['type'])}` };
      const url = String(entry['statusListCredential']);
      const index = Number(entry['statusListIndex']);
      const payload = await loadList(url, issuer, 'vc+jwt', deps);
      const subject = payload['credentialSubject'] as { statusPurpose?: unknown; encodedList?: unknown } | undefined;
      if (payload['id'] !== url) throw new StatusProblem('the status list credential id does not match its URL');
      if (subject?.statusPurpose !== entry['statusPurpose'])
        throw new StatusProblem('the status list purpose does not match the entry');
      if (!Number.isInteger(index)) throw new StatusProblem('statusListIndex is not an integer');
      if (bitstringStatus(String(subject?.encodedList), index) === 1)
        states.push(entry['statusPurpose'] === 'revocation' ? 'revoked' : 'suspended');
    }
    if (states.includes('revoked')) return { passed: false, state: 'revoked', reason: 'the credential is revoked' };
    if (states.includes('suspended')) return { passed: false, state: 'suspended', reason: 'the credential is suspended' };
    return { passed: true, state: 'valid' };
  } catch (error) {
    if (error instanceof StatusProblem) return { passed: false, state: 'unknown', reason: error.message };
    return { passed: false, state: 'unknown', reason: `status list unreadable: ${(error as Error).message}` };
  }
}
