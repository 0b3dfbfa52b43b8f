import type { JsonWebKey } from 'node:crypto';
import { hash } from 'node:crypto';
import {
  base64urlText,
  duplicateJsonMember,
  isDatabaseConnectivityError,
  jsonBoundsProblem,
  merged,
  untrustedText,
} from '../common/index.js';
import {
  decodeJws,
  issuerIdOf,
  verifyJwsSignature,
  VerifierDependencyUnavailable,
  type CredentialFormat,
  type StatusOutcome,
} from '../credentials/index.js';
import { bitstringAt, inflateBitstring, inflateTokenList, LIST_SIZE, TOKEN_STATUS, tokenListAt } from './lists.js';
import type { StatusListMemo, VerifiedList } from './list-memo.js';

/** A list read from this service's own database, with whether its anchor transaction is mined yet. */
export interface LocalStatusList {
  body: string;
  /** sha256 (hex) of `body`, when the reader knows it already (it remembers the bytes it last read). */
  digest?: string;
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
  anchor?(url: string, version: number): Promise<{ digest: string; latestVersion: number; publisher?: string }>;
  /**
   * The account a list's issuer anchors with (a did:ethr's address; for an agency's did:key, its did:ethr's), or
   * undefined for an issuer whose anchoring account is not known here (a trust anchor's did:web or did:key). Such a
   * list needs no version while nothing is anchored under its URL; once something is (the issuer itself, through an
   * account we cannot tell, e.g. another deployment's agency did:key), it must carry one and not be older than the
   * anchor. The price: any account that may transact on the chain can so refuse a trust anchor's lists by anchoring a
   * high version under their URL (visible, with its sender, in the anchor's transaction). For an issuer whose account
   * is known, a list anchored first by any other account says nothing of its versions and is refused.
   */
  anchorPublisher?(issuer: string): Promise<string | undefined>;
  /**
   * Verifies the Data Integrity proof of a status list credential served as JSON (issuers outside this chain publish
   * them so): whether it verifies for the `assertionMethod` of its issuer. Without it such lists are refused.
   */
  verifyDataIntegrity?(document: Record<string, unknown>): Promise<{ verified: boolean; problem?: string }>;
  /**
   * The leaf key of a status list's `x5c` chain when it leads to a configured X.509 root and names `issuer` (an
   * issuer trusted by X.509, not a DID); without it such lists are refused.
   */
  x5cKey?(x5c: unknown, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }>;
  /** Versions already verified (keyed by their digest), so a warm check skips the signature and inflate. */
  memo?: StatusListMemo;
}

/** A status outcome that also says whether every list it read was anchored on chain (when anchors are checked). */
export type AnchoredStatusOutcome = StatusOutcome & { anchored?: boolean };

/**
 * Why a status list or entry could not be used, by the Bitstring Status List's processing errors (§3.x): the list
 * could not be retrieved, it or the entry did not validate, it is shorter than the herd-privacy minimum, or the
 * index is past its end.
 */
type StatusProblemKind = 'retrieval' | 'verification' | 'length' | 'range';

class StatusProblem extends Error {
  constructor(
    message: string,
    readonly kind: StatusProblemKind = 'verification',
  ) {
    super(message);
  }
}

/**
 * The error `type` a W3C verifier reports for each kind: Bitstring Status List §3.x ("MUST be a URL that starts with
 * https://www.w3.org/ns/credentials/status-list#"), and VCDM 2.0 §7.1's RANGE_ERROR for an index outside the list.
 */
const BITSTRING_PROBLEM_TYPES: Record<StatusProblemKind, string> = {
  retrieval: 'https://www.w3.org/ns/credentials/status-list#STATUS_RETRIEVAL_ERROR',
  verification: 'https://www.w3.org/ns/credentials/status-list#STATUS_VERIFICATION_ERROR',
  length: 'https://www.w3.org/ns/credentials/status-list#STATUS_LIST_LENGTH_ERROR',
  range: 'https://www.w3.org/TR/vc-data-model#RANGE_ERROR',
};

/** Status entries read per credential: ours issue two (revocation, suspension); an issuer may add a few of its own. */
export const MAX_STATUS_ENTRIES = 8;

/** Another issuer's list host could not be reached (refused, reset, TLS, timeout): no answer about the credential. */
export class StatusListUnreachable extends Error {
  constructor(cause: unknown) {
    super('status list host unreachable', { cause });
  }
}

/**
 * A list that could not be read because something is down (our database, the chain, the list's host unreachable
 * or too slow): no answer about the credential, so the caller reports the check unavailable (503), never failed.
 */
const couldNotCheck = (error: unknown): boolean =>
  error instanceof VerifierDependencyUnavailable ||
  error instanceof StatusListUnreachable ||
  isDatabaseConnectivityError(error) ||
  (error instanceof Error && ['AbortError', 'TimeoutError'].includes(error.name));

/** What the list fetcher itself says (an HTTP status, a size); anything else is not passed on (addresses, SQL). */
const fetchProblem = (error: unknown): string => {
  const message = error instanceof Error ? error.message : '';
  return /^(HTTP \d{3}|status list [a-z ]+)$/.test(message) ? message : 'it could not be read';
};

/** The protected header of a compact JWS, without decoding its (large) payload. */
function jwsHeader(jwt: string): Record<string, unknown> {
  try {
    const header = JSON.parse(base64urlText(jwt.slice(0, jwt.indexOf('.')))) as unknown;
    return header && typeof header === 'object' ? (header as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Who a status list says issued it: `iss` for a Token Status List; for a Bitstring list credential (a VC
 * secured as a JWT) its `issuer`, with an `iss` beside it only if the two agree (VC-JOSE-COSE needs no `iss`).
 */
function listIssuer(payload: Record<string, unknown>, typ: string): unknown {
  const iss = payload['iss'];
  if (typ !== 'vc+jwt') return iss;
  const issuer = issuerIdOf(payload['issuer']);
  if (issuer === undefined) return iss;
  return iss === undefined || iss === issuer ? issuer : undefined;
}

/** Fetches, authenticates (issuer signature, chain anchor) and decodes one status list. */
async function loadList(
  url: string,
  issuer: string,
  expectedTyp: string,
  deps: StatusCheckDeps,
): Promise<{ list: VerifiedList; anchored: boolean | undefined }> {
  if (!/^https?:\/\//.test(url)) throw new StatusProblem(`status list URL ${url} is not http(s)`, 'retrieval');
  let fetched: string | LocalStatusList;
  try {
    fetched = await deps.fetchList(url);
  } catch (error) {
    if (couldNotCheck(error)) throw error;
    throw new StatusProblem(`status list ${url} could not be fetched: ${fetchProblem(error)}`, 'retrieval');
  }
  const local = typeof fetched === 'string' ? undefined : fetched;
  const jwt = typeof fetched === 'string' ? fetched : fetched.body;
  const digest = local?.digest ?? hash('sha256', jwt, 'hex');
  if (!local && jwt.startsWith('{')) return loadDataIntegrityList(url, jwt, digest, issuer, expectedTyp, deps);
  const header = jwsHeader(jwt);
  const headerKid = header['kid'];
  // A DID URL relative to the issuer (`#key-1`) names the issuer's key as the credential's own kid may.
  const kid = typeof headerKid === 'string' && headerKid.startsWith('#') ? `${issuer}${headerKid}` : headerKid;
  if (header['typ'] !== expectedTyp)
    throw new StatusProblem(`status list typ is ${untrustedText(header['typ'])}, expected ${expectedTyp}`);
  // An issuer trusted by its X.509 chain (x5c) signs its lists with a certificate naming it, as its credentials.
  const x5c = header['x5c'];
  let key: { jwk: JsonWebKey } | { reason: string };
  let keyId: string;
  if (x5c !== undefined && deps.x5cKey && !issuer.startsWith('did:')) {
    key = await deps.x5cKey(x5c, issuer);
    keyId = `x5c:${hash('sha256', JSON.stringify(x5c), 'hex')}`;
  } else {
    if (typeof kid !== 'string' || kid.split('#')[0] !== issuer) {
      throw new StatusProblem('the status list is not signed by the credential issuer');
    }
    key = await deps.issuerKey(kid, issuer);
    keyId = kid;
  }
  if ('reason' in key) throw new StatusProblem(`status list key: ${key.reason}`);
  let list = deps.memo?.get(url, digest, issuer, keyId, key.jwk);
  if (!list) {
    const jws = decodeJws(jwt);
    // A list signed by its X.509 chain need not repeat its issuer (its certificate names it); what it names agrees.
    const named = [jws.payload['iss'], expectedTyp === 'vc+jwt' ? issuerIdOf(jws.payload['issuer']) : undefined];
    const namesIssuer =
      keyId === kid
        ? listIssuer(jws.payload, expectedTyp) === issuer
        : named.every((value) => value === undefined || value === issuer);
    if (jws.header['typ'] !== expectedTyp || jws.header['kid'] !== headerKid || !namesIssuer) {
      throw new StatusProblem('the status list is not signed by the credential issuer');
    }
    const problem = verifyJwsSignature(jws, key.jwk);
    if (problem) throw new StatusProblem(`status list signature: ${problem}`);
    list = { digest, issuer, kid: keyId, jwk: key.jwk, payload: jws.payload, servedBytes: jwt.length };
    deps.memo?.set(url, list);
  }
  checkListDates(url, list.payload);
  const found = await checkAnchor(url, list, local, deps);
  return { list, anchored: found };
}

/**
 * A Bitstring Status List credential served as JSON with a Data Integrity proof (VC Bitstring Status List §3.1 lets
 * it be secured either way): its issuer must be the credential's, its verification method one of the issuer's keys,
 * its proof must verify; then it is read as a JWT list's payload is.
 */
async function loadDataIntegrityList(
  url: string,
  body: string,
  digest: string,
  issuer: string,
  expectedTyp: string,
  deps: StatusCheckDeps,
): Promise<{ list: VerifiedList; anchored: boolean | undefined }> {
  if (expectedTyp !== 'vc+jwt') throw new StatusProblem('a token status list is a JWT');
  // The bounds a JWT list's payload gets (decodeJws), before anything walks it or a key is resolved for it.
  const duplicate = duplicateJsonMember(body);
  if (duplicate !== undefined) throw new StatusProblem(`the status list repeats the member ${duplicate.slice(0, 40)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new StatusProblem('the status list is neither a JWT nor a JSON credential');
  const bounds = jsonBoundsProblem(parsed);
  if (bounds) throw new StatusProblem(`the status list is out of bounds: ${bounds}`);
  const document = parsed as Record<string, unknown>;
  const proof = document['proof'] as Record<string, unknown> | undefined;
  const method = typeof proof?.['verificationMethod'] === 'string' ? proof['verificationMethod'] : undefined;
  if (issuerIdOf(document['issuer']) !== issuer || !method || method.split('#')[0] !== issuer)
    throw new StatusProblem('the status list is not signed by the credential issuer');
  if (![document['type']].flat().includes('BitstringStatusListCredential'))
    throw new StatusProblem('the status list is not a BitstringStatusListCredential');
  const key = await deps.issuerKey(method, issuer);
  if ('reason' in key) throw new StatusProblem(`status list key: ${key.reason}`);
  let list: VerifiedList | undefined = deps.memo?.get(url, digest, issuer, method, key.jwk);
  if (!list) {
    if (!deps.verifyDataIntegrity) throw new StatusProblem('Data Integrity status lists are not read here');
    const outcome = await deps.verifyDataIntegrity(document);
    if (!outcome.verified) throw new StatusProblem(`status list proof: ${outcome.problem ?? 'it does not verify'}`);
    list = { digest, issuer, kid: method, jwk: key.jwk, payload: document, servedBytes: body.length };
    deps.memo?.set(url, list);
  }
  checkListDates(url, list.payload);
  return { list, anchored: await checkAnchor(url, list, undefined, deps) };
}

const NO_ONE = /^0x0{40}$/i;

/**
 * Whether the list's version is anchored (undefined when anchors are not checked or the list is nobody's on chain);
 * throws when it may not be used. What the chain holds for the URL decides, not who the issuer is: a list URL someone
 * anchors must carry a version that is not older than the newest anchored one (else an old list, or a form of it
 * without a version, could be replayed to hide revocations), and its anchors must be its issuer's where we know the
 * account the issuer anchors with. Lists of issuers of this chain must carry a version even before their first anchor.
 */
async function checkAnchor(
  url: string,
  list: VerifiedList,
  local: LocalStatusList | undefined,
  deps: StatusCheckDeps,
): Promise<boolean | undefined> {
  // An issuer trusted by X.509 is no account of any chain: whoever anchors its list URL here anchors nothing of its.
  if (!deps.anchor || !list.issuer.startsWith('did:')) return undefined;
  const raw = list.payload['version'];
  const version = typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 1 ? raw : undefined;
  const noVersion = () => new StatusProblem('the status list carries no version to compare with its anchor');
  // Our own newest version whose anchor is still queued: anchors are mined in version order, so nothing
  // newer can be anchored; no need to ask the chain (which may be the very thing that is down).
  if (local && !local.anchorMined && version !== undefined) return false;
  const expectedPublisher = await deps.anchorPublisher?.(list.issuer);
  if (version === undefined && (expectedPublisher !== undefined || !deps.anchorPublisher)) throw noVersion();
  let anchored: { digest: string; latestVersion: number; publisher?: string };
  try {
    anchored = await deps.anchor(url, version ?? 0);
  } catch (error) {
    // Our own list, read from our own database, stays usable while the chain cannot be read.
    if (local) return false;
    throw error;
  }
  const publisher = anchored.publisher && !NO_ONE.test(anchored.publisher) ? anchored.publisher : undefined;
  if (publisher === undefined && anchored.latestVersion === 0) {
    // Nothing anchored under this URL: an issuer of this chain's first anchor is on its way; anyone else's list
    // is anchored nowhere.
    return expectedPublisher === undefined ? undefined : false;
  }
  if (publisher && expectedPublisher && publisher.toLowerCase() !== expectedPublisher.toLowerCase())
    throw new StatusProblem(`status list ${url} is anchored on chain by ${publisher}, not by its issuer`);
  if (version === undefined) throw noVersion();
  if (anchored.latestVersion > version) {
    throw new StatusProblem(
      `the served status list is version ${version} but version ${anchored.latestVersion} is anchored on chain`,
    );
  }
  if (!anchored.digest) {
    // Signed by the issuer and not older than anything anchored: its anchor is on its way.
    if (anchored.latestVersion === version) throw new StatusProblem(`status list version ${version} is not anchored on chain`);
    return false;
  }
  if (anchored.digest !== list.digest) {
    throw new StatusProblem(`the served status list (version ${version}) does not match its anchor on chain`);
  }
  return true;
}

/** A list's decompressed bytes, inflated once per remembered version. */
const inflatedList = (url: string, list: VerifiedList, deps: StatusCheckDeps, inflate: () => Buffer): Buffer =>
  deps.memo ? deps.memo.inflated(url, list, inflate) : (list.inflated ??= inflate());

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
    const { list, anchored } = await loadList(url, issuer, typ, deps);
    if (anchored !== undefined) allAnchored = (allAnchored ?? true) && anchored;
    return list;
  };
  const outcome = (result: StatusOutcome): AnchoredStatusOutcome =>
    allAnchored === undefined ? result : merged(result, { anchored: allAnchored });
  try {
    if (format === 'dc+sd-jwt') {
      const reference = (status as { status_list?: { idx?: unknown; uri?: unknown } }).status_list;
      if (!reference || typeof reference.idx !== 'number' || typeof reference.uri !== 'string') {
        return { passed: false, state: 'unknown', reason: 'status.status_list needs idx and uri' };
      }
      const list = await load(reference.uri, 'statuslist+jwt');
      if (list.payload['sub'] !== reference.uri) throw new StatusProblem('the status list sub does not match its URL');
      // draft-ietf-oauth-status-list §5.1: iat is REQUIRED (validation: "check for the existence of the required claims").
      if (typeof list.payload['iat'] !== 'number') throw new StatusProblem('the status list has no iat');
      const encoded = list.payload['status_list'] as { bits: unknown; lst: unknown } | undefined;
      // draft-ietf-oauth-status-list §4.1: bits MUST be 1, 2, 4 or 8; lst is base64url of the compressed bytes.
      if (!encoded || ![1, 2, 4, 8].includes(encoded.bits as number) || typeof encoded.lst !== 'string')
        throw new StatusProblem('the status list has no valid status_list (bits 1, 2, 4 or 8, and lst)');
      const inflated = inflatedList(reference.uri, list, deps, () => inflateTokenList({ lst: encoded.lst as string }));
      const value = tokenListAt(inflated, encoded.bits as number, reference.idx);
      if (value === TOKEN_STATUS.valid) return outcome({ passed: true, state: 'valid' });
      if (value === TOKEN_STATUS.invalid)
        return outcome({ passed: false, state: 'revoked', reason: 'the credential is revoked' });
      if (value === TOKEN_STATUS.suspended)
        return outcome({ passed: false, state: 'suspended', reason: 'the credential is suspended' });
      return outcome({ passed: false, state: 'unknown', reason: `unknown status value ${value}` });
    }
    const entries = (Array.isArray(status) ? status : [status]) as Record<string, unknown>[];
    // Each entry may name another list host to fetch from: a credential does not get to multiply that without end.
    if (entries.length > MAX_STATUS_ENTRIES) throw new StatusProblem(`more than ${MAX_STATUS_ENTRIES} status entries`);
    const states: string[] = [];
    for (const entry of entries) {
      if (entry['type'] !== 'BitstringStatusListEntry')
        return { passed: false, state: 'unknown', reason: `unsupported status type ${untrustedText(entry['type'])}` };
      // A set `refresh` bit only offers a newer credential, a `message` is read with statusSize > 1 (refused below):
      // neither says whether this one may be relied on. Any other purpose must match its list's, as before.
      if (entry['statusPurpose'] === 'refresh' || entry['statusPurpose'] === 'message') continue;
      const url = entry['statusListCredential'];
      if (typeof url !== 'string') throw new StatusProblem('statusListCredential is not a URL');
      // Bitstring Status List §2.1: a base-10 integer expressed as a string.
      const rawIndex = entry['statusListIndex'];
      // Any length, as the VCDM validator allows (src/credentials/vcdm2.ts): an index too long to be exact is past
      // every list's end, which is a RANGE_ERROR below, not a malformed entry.
      if (typeof rawIndex !== 'string' || !/^(0|[1-9]\d*)$/.test(rawIndex))
        throw new StatusProblem('statusListIndex is not a base-10 integer in a string');
      if (entry['statusSize'] !== undefined && entry['statusSize'] !== 1)
        throw new StatusProblem('only statusSize 1 is supported');
      const index = Number(rawIndex);
      const list = await load(url, 'vc+jwt');
      const payload = list.payload;
      const subject = payload['credentialSubject'] as { statusPurpose?: unknown; encodedList?: unknown } | undefined;
      if (payload['id'] !== url) throw new StatusProblem('the status list credential id does not match its URL');
      // Bitstring Status List §2.2: a BitstringStatusListCredential whose subject is a BitstringStatusList.
      const types = payload['type'];
      if (
        ![types].flat().includes('BitstringStatusListCredential') ||
        ![(subject as { type?: unknown })?.type].flat().includes('BitstringStatusList')
      )
        throw new StatusProblem('the status list is not a BitstringStatusListCredential of a BitstringStatusList');
      // §2.2: a list's statusPurpose is "one or more strings"; the entry's must be one of them.
      if (![subject?.statusPurpose].flat().includes(entry['statusPurpose']))
        throw new StatusProblem('the status list purpose does not match the entry');
      const inflated = inflatedList(url, list, deps, () => {
        try {
          return inflateBitstring(typeof subject?.encodedList === 'string' ? subject.encodedList : '');
        } catch {
          // §3.2: the list failed validation (its encodedList is not multibase base64url of a GZIP bitstring).
          throw new StatusProblem('the status list encodedList could not be decoded');
        }
      });
      // §3.2 (validation): a list shorter than the minimum hides nothing and MUST be refused (STATUS_LIST_LENGTH_ERROR).
      if (inflated.length * 8 < LIST_SIZE)
        throw new StatusProblem(`the status list is shorter than ${LIST_SIZE} entries`, 'length');
      // §3.2 (validation): an index past the list's end MUST raise a RANGE_ERROR.
      if (index >= inflated.length * 8)
        throw new StatusProblem(
          `statusListIndex ${rawIndex.length > 20 ? 'of ' + rawIndex.length + ' digits' : rawIndex} is past the list's end`,
          'range',
        );
      if (bitstringAt(inflated, index) === 1) states.push(entry['statusPurpose'] === 'revocation' ? 'revoked' : 'suspended');
    }
    if (states.includes('revoked')) return outcome({ passed: false, state: 'revoked', reason: 'the credential is revoked' });
    if (states.includes('suspended'))
      return outcome({ passed: false, state: 'suspended', reason: 'the credential is suspended' });
    return outcome({ passed: true, state: 'valid' });
  } catch (error) {
    if (error instanceof StatusProblem) {
      // The error types are the Bitstring Status List's; a Token Status List (SD-JWT VC) has none of its own. Each
      // outcome a literal of its own shape (ADR 33: a spread then a member makes a hidden class per object).
      if (format === 'dc+sd-jwt') return { passed: false, state: 'unknown', reason: error.message };
      return { passed: false, state: 'unknown', reason: error.message, problemType: BITSTRING_PROBLEM_TYPES[error.kind] };
    }
    if (couldNotCheck(error)) throw error;
    return { passed: false, state: 'unknown', reason: 'the status list is unreadable' };
  }
}

/** Clock skew allowed to a status list's start (ms). */
const LIST_CLOCK_SKEW_MS = 60_000;

/** A date claim in ms: a JWT NumericDate (seconds) or a VC date-time string; undefined when absent or unreadable. */
function dateMs(value: unknown, unit: 'seconds' | 'date-time'): number | undefined {
  if (unit === 'seconds') return typeof value === 'number' && Number.isFinite(value) ? value * 1000 : undefined;
  const parsed = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(parsed) ? undefined : parsed;
}

const defined = (values: (number | undefined)[]) => values.filter((value): value is number => value !== undefined);

/**
 * A list may be used only inside all of its bounds: not at or after its JWT `exp` (Token Status List: an `exp`
 * present MUST be checked), a list credential's `validUntil` or a 1.1 one's `expirationDate`; not before its `nbf`
 * (RFC 7519 §4.1.5) or `validFrom`, with a minute of skew.
 */
function checkListDates(url: string, payload: Record<string, unknown>): void {
  const vc = payload['vc'] as Record<string, unknown> | undefined;
  const ends = defined([
    dateMs(payload['exp'], 'seconds'),
    dateMs(payload['validUntil'], 'date-time'),
    dateMs(vc?.['expirationDate'], 'date-time'),
  ]);
  const now = Date.now();
  if (ends.length && Math.min(...ends) <= now) throw new StatusProblem(`status list ${url} has expired`);
  const starts = defined([dateMs(payload['nbf'], 'seconds'), dateMs(payload['validFrom'], 'date-time')]);
  if (starts.length && Math.max(...starts) > now + LIST_CLOCK_SKEW_MS)
    throw new StatusProblem(`status list ${url} is not valid yet`);
}
