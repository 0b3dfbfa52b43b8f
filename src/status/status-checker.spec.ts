import { createHash, generateKeyPairSync, sign as ecdsaSign } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { signJws, VerifierDependencyUnavailable } from '../credentials/index.js';
import { encodeBitstring, encodeTokenList, LIST_SIZE, TOKEN_STATUS } from './lists.js';
import {
  checkCredentialStatus,
  MAX_STATUS_ENTRIES,
  StatusListUnreachable,
  type LocalStatusList,
  type StatusCheckDeps,
} from './status-checker.js';
import { StatusListMemo } from './list-memo.js';

const ISSUER = 'did:ethr:govchain:0x1111111111111111111111111111111111111111';
const KID = `${ISSUER}#controller-key`;
const URL_ = 'https://issuer.example/status/5f0c1f3e-0000-4000-8000-000000000001/token';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey;

/** A token status list signed with a real P-256 key: index 7 revoked or not. */
async function list(version: number, revoked: boolean, extra: Record<string, unknown> = {}): Promise<string> {
  return signJws(
    { alg: 'ES256', kid: KID, typ: 'statuslist+jwt' },
    {
      iss: ISSUER,
      sub: URL_,
      iat: 1_700_000_000,
      version,
      status_list: encodeTokenList(LIST_SIZE, 2, revoked ? [[7, TOKEN_STATUS.invalid]] : []),
      ...extra,
    },
    async (input) => ecdsaSign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
  );
}
const digest = (jwt: string) => createHash('sha256').update(jwt).digest('hex');
const status = { status_list: { idx: 7, uri: URL_ } };

function deps(served: string | LocalStatusList, anchor: StatusCheckDeps['anchor']): StatusCheckDeps & { anchorCalls: number } {
  const result = {
    anchorCalls: 0,
    fetchList: async () => served,
    issuerKey: async () => ({ jwk }),
    anchor: anchor
      ? async (url: string, version: number) => {
          result.anchorCalls++;
          return anchor(url, version);
        }
      : undefined,
  };
  return result;
}

describe('status list anchors: a version not older than the newest anchored one is accepted', () => {
  it('accepts a newer, signed, not yet anchored version and reports anchored: false', async () => {
    const v2 = await list(2, true);
    const outcome = await checkCredentialStatus(
      status,
      'dc+sd-jwt',
      ISSUER,
      deps(v2, async () => ({ digest: '', latestVersion: 1 })),
    );
    expect(outcome).toEqual({ passed: false, state: 'revoked', reason: 'the credential is revoked', anchored: false });
  });

  it('refuses a status list whose exp has passed (draft-ietf-oauth-status-list: exp, when present, is checked)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await list(2, false, { exp: now - 60 });
    const outcome = await checkCredentialStatus(
      status,
      'dc+sd-jwt',
      ISSUER,
      deps(expired, async () => ({ digest: '', latestVersion: 1 })),
    );
    expect(outcome).toMatchObject({ passed: false, reason: expect.stringContaining('has expired') });
    const current = await list(2, false, { exp: now + 600 });
    expect(
      await checkCredentialStatus(
        status,
        'dc+sd-jwt',
        ISSUER,
        deps(current, async () => ({ digest: '', latestVersion: 1 })),
      ),
    ).toMatchObject({ passed: true });
  });

  it('refuses a token status list without iat (REQUIRED) or before its nbf', async () => {
    const now = Math.floor(Date.now() / 1000);
    const withAnchor = (jwt: string) => deps(jwt, async () => ({ digest: '', latestVersion: 1 }));
    expect(
      await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, withAnchor(await list(2, false, { iat: undefined }))),
    ).toMatchObject({
      passed: false,
      state: 'unknown',
      reason: 'the status list has no iat',
    });
    expect(
      await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, withAnchor(await list(2, false, { nbf: now + 600 }))),
    ).toMatchObject({
      passed: false,
      reason: expect.stringContaining('is not valid yet'),
    });
    expect(
      await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, withAnchor(await list(2, false, { nbf: now - 5 }))),
    ).toMatchObject({
      passed: true,
    });
  });

  it('reports anchored: true when the served version matches its anchor', async () => {
    const v2 = await list(2, false);
    const outcome = await checkCredentialStatus(
      status,
      'dc+sd-jwt',
      ISSUER,
      deps(v2, async () => ({ digest: digest(v2), latestVersion: 2 })),
    );
    expect(outcome).toEqual({ passed: true, state: 'valid', anchored: true });
  });

  it('refuses a version older than the newest anchored one (a replayed list hiding a revocation)', async () => {
    const v1 = await list(1, false);
    const outcome = await checkCredentialStatus(
      status,
      'dc+sd-jwt',
      ISSUER,
      deps(v1, async () => ({ digest: digest(v1), latestVersion: 2 })),
    );
    expect(outcome).toMatchObject({ passed: false, state: 'unknown' });
    expect(outcome.anchored).toBeUndefined();
  });

  it("refuses a list anchored first by another account than its issuer's (its anchors could pin an old version)", async () => {
    const v2 = await list(2, false);
    const issuerAddress = ISSUER.split(':').pop()!;
    const anchoredBy = (publisher: string) => ({
      ...deps(v2, async () => ({ digest: digest(v2), latestVersion: 2, publisher })),
      anchorPublisher: async (issuer: string) => (issuer === ISSUER ? issuerAddress : undefined),
    });
    const squatted = await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, anchoredBy(`0x${'2'.repeat(40)}`));
    expect(squatted).toMatchObject({ passed: false, state: 'unknown', reason: expect.stringContaining('not by its issuer') });
    // The issuer's own anchors, whatever the address's case; a list never anchored has the zero address.
    expect(
      await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, anchoredBy(issuerAddress.toUpperCase().replace('0X', '0x'))),
    ).toEqual({ passed: true, state: 'valid', anchored: true });
    const never = {
      ...deps(v2, async () => ({ digest: '', latestVersion: 0, publisher: `0x${'0'.repeat(40)}` })),
      anchorPublisher: async () => issuerAddress,
    };
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, never)).toEqual({
      passed: true,
      state: 'valid',
      anchored: false,
    });
  });

  it("reads a list nobody anchors without a version (a trust anchor's); one anchored under its URL must carry one", async () => {
    // Another issuer's list carries no `version` (ours do, for the anchors).
    const withoutVersion = await list(1, true, { version: undefined });
    expect(JSON.parse(Buffer.from(withoutVersion.split('.')[1]!, 'base64url').toString())).not.toHaveProperty('version');
    const NO_ONE = `0x${'0'.repeat(40)}`;
    const foreign = (anchor: { digest: string; latestVersion: number; publisher: string }) => ({
      ...deps(withoutVersion, async () => anchor),
      anchorPublisher: async () => undefined,
    });
    expect(
      await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, foreign({ digest: '', latestVersion: 0, publisher: NO_ONE })),
    ).toEqual({
      passed: false,
      state: 'revoked',
      reason: 'the credential is revoked',
    });
    // Its URL anchored by someone (this very issuer's list, when the verifier does not know which account it anchors
    // with, e.g. an agency's did:key configured as a trust anchor elsewhere): no version, no way to tell a replay.
    const anchoredUrl = foreign({ digest: '', latestVersion: 3, publisher: `0x${'2'.repeat(40)}` });
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, anchoredUrl)).toMatchObject({
      state: 'unknown',
      reason: 'the status list carries no version to compare with its anchor',
    });
    // An issuer of this chain must version its lists even before their first anchor.
    const chainIssuer = {
      ...deps(withoutVersion, async () => ({ digest: '', latestVersion: 0, publisher: NO_ONE })),
      anchorPublisher: async () => ISSUER.split(':').pop(),
    };
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, chainIssuer)).toMatchObject({
      state: 'unknown',
      reason: 'the status list carries no version to compare with its anchor',
    });
    // A versioned list of an issuer we cannot place is still held to the anchors of its URL.
    const v2 = await list(2, false);
    const older = {
      ...deps(v2, async () => ({ digest: '', latestVersion: 3, publisher: `0x${'2'.repeat(40)}` })),
      anchorPublisher: async () => undefined,
    };
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, older)).toMatchObject({
      state: 'unknown',
      reason: expect.stringContaining('version 3 is anchored'),
    });
  });

  it('refuses an anchored version whose served bytes differ from the anchor', async () => {
    const genuine = await list(2, true);
    const altered = await list(2, false);
    const outcome = await checkCredentialStatus(
      status,
      'dc+sd-jwt',
      ISSUER,
      deps(altered, async () => ({ digest: digest(genuine), latestVersion: 2 })),
    );
    expect(outcome).toMatchObject({ passed: false, state: 'unknown' });
  });

  it('reads our own list with a queued anchor without asking the chain', async () => {
    const v3 = await list(3, true);
    const d = deps({ body: v3, anchorMined: false }, async () => {
      throw new Error('chain down');
    });
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, d)).toMatchObject({ state: 'revoked', anchored: false });
    expect(d.anchorCalls).toBe(0);
  });

  it('keeps our own mined list usable while the chain cannot be read, but not a remote one', async () => {
    const v3 = await list(3, true);
    const down = async (): Promise<never> => {
      throw new Error('chain down');
    };
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, deps({ body: v3, anchorMined: true }, down))).toMatchObject({
      state: 'revoked',
      anchored: false,
    });
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, deps(v3, down))).toMatchObject({
      passed: false,
      state: 'unknown',
    });
  });

  it('checks a mined own list against the chain like any other (an altered copy is caught)', async () => {
    const genuine = await list(4, true);
    const altered = await list(4, false);
    const outcome = await checkCredentialStatus(
      status,
      'dc+sd-jwt',
      ISSUER,
      deps({ body: altered, anchorMined: true }, async () => ({ digest: digest(genuine), latestVersion: 4 })),
    );
    expect(outcome).toMatchObject({ passed: false, state: 'unknown' });
  });
});

describe('status list memo: one verified version per URL, keyed by its digest', () => {
  /** Serves whatever `current` holds, with a memo shared across checks, and counts key look-ups. */
  function memoDeps(memo: StatusListMemo, current: { jwt: string; jwk: JsonWebKey }): StatusCheckDeps {
    return { fetchList: async () => current.jwt, issuerKey: async () => ({ jwk: current.jwk }), memo };
  }

  it('keeps the verified version, and a new version (other bytes) replaces it', async () => {
    const memo = new StatusListMemo();
    const v1 = await list(1, false);
    const current = { jwt: v1, jwk };
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, memoDeps(memo, current))).toEqual({
      passed: true,
      state: 'valid',
    });
    expect(memo.digestOf(URL_)).toBe(digest(v1));
    // Warm: the same bytes again answer from the memo.
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, memoDeps(memo, current))).toMatchObject({ state: 'valid' });

    current.jwt = await list(2, true);
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, memoDeps(memo, current))).toMatchObject({
      passed: false,
      state: 'revoked',
    });
    expect(memo.digestOf(URL_)).toBe(digest(current.jwt));
    expect(memo.size).toBe(1);
  });

  it('weighs a remembered list with its inflated bytes, and drops the least recent when they pass its budget', async () => {
    const OTHER = URL_.replace('0001/token', '0002/token');
    const first = await list(1, false);
    const second = await list(1, false, { sub: OTHER });
    const inflatedBytes = (LIST_SIZE * 2) / 8;
    const uninflated = (jwt: string) => 1024 + 2 * jwt.length;
    // Room for both lists as set, and for one of them inflated: not for both inflated.
    const memo = new StatusListMemo({ maxBytes: uninflated(first) + uninflated(second) + inflatedBytes + 16 });
    const deps = (jwt: string) => memoDeps(memo, { jwt, jwk });
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, deps(first))).toMatchObject({ state: 'valid' });
    expect(memo.digestOf(URL_)).toBe(digest(first));
    const atOther = { status_list: { idx: 7, uri: OTHER } };
    expect(await checkCredentialStatus(atOther, 'dc+sd-jwt', ISSUER, deps(second))).toMatchObject({ state: 'valid' });
    expect(memo.digestOf(OTHER)).toBe(digest(second));
    expect(memo.digestOf(URL_)).toBeUndefined();
    expect(memo.size).toBe(1);
  });

  it('never serves a remembered verdict for other bytes of the same version, nor under another key', async () => {
    const memo = new StatusListMemo();
    const genuine = await list(5, false);
    const current = { jwt: genuine, jwk };
    await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, memoDeps(memo, current));
    expect(memo.digestOf(URL_)).toBe(digest(genuine));

    // Same version number, payload altered, signature kept: other digest, so verified afresh and refused.
    const [header, , signature] = genuine.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...(JSON.parse(Buffer.from(genuine.split('.')[1]!, 'base64url').toString()) as object), iat: 1 }),
    ).toString('base64url');
    current.jwt = `${header}.${forgedPayload}.${signature}`;
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, memoDeps(memo, current))).toMatchObject({
      passed: false,
      state: 'unknown',
      reason: expect.stringContaining('signature'),
    });

    // The genuine bytes, but the issuer's key changed (rotation): verified again with the new key, and refused.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as JsonWebKey;
    current.jwt = genuine;
    current.jwk = other;
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, memoDeps(memo, current))).toMatchObject({
      passed: false,
      state: 'unknown',
      reason: expect.stringContaining('signature'),
    });
  });
});

describe('a status list that cannot be read', () => {
  const failing = (error: unknown): StatusCheckDeps => ({
    fetchList: async () => {
      throw error;
    },
    issuerKey: async () => ({ jwk }),
  });

  it('is no answer when something is down (database, chain, the list host): the caller reports it unavailable', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });
    for (const error of [
      refused,
      { driverError: new Error('Query read timeout') },
      new VerifierDependencyUnavailable('chain_unavailable'),
      new StatusListUnreachable(Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:443'), { code: 'ECONNREFUSED' })),
      Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }),
    ])
      await expect(checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, failing(error))).rejects.toBe(error);
    // The chain behind a remote list's anchor, likewise.
    const chainDown = new VerifierDependencyUnavailable('chain_unavailable');
    const anchorDown = deps(await list(3, false), async () => {
      throw chainDown;
    });
    await expect(checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, anchorDown)).rejects.toBe(chainDown);
  });

  it('fails the check when the list itself is wrong, saying only what the fetcher said', async () => {
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, failing(new Error('HTTP 404')))).toEqual({
      passed: false,
      state: 'unknown',
      reason: `status list ${URL_} could not be fetched: HTTP 404`,
    });
    const leaky = await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, failing(new Error('relation "x" at 10.0.0.5 failed')));
    expect(leaky).toEqual({
      passed: false,
      state: 'unknown',
      reason: `status list ${URL_} could not be fetched: it could not be read`,
    });
  });
});

describe('lists from other issuers, read as their specifications write them', () => {
  const BITSTRING_URL = 'https://issuer.example/status/5f0c1f3e-0000-4000-8000-000000000003/revocation';
  const sign = async (header: Record<string, unknown>, payload: Record<string, unknown>) =>
    signJws({ alg: 'ES256', ...header }, payload, async (input) =>
      ecdsaSign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
    );
  /** A Bitstring Status List credential secured as a JWT (VC-JOSE-COSE): index 7 revoked. */
  const bitstringList = (options: { size?: number; payload?: Record<string, unknown>; kid?: string } = {}) =>
    sign(
      { typ: 'vc+jwt', kid: options.kid ?? KID },
      {
        '@context': ['https://www.w3.org/ns/credentials/v2'],
        id: BITSTRING_URL,
        type: ['VerifiableCredential', 'BitstringStatusListCredential'],
        issuer: ISSUER,
        credentialSubject: {
          type: 'BitstringStatusList',
          statusPurpose: 'revocation',
          encodedList: encodeBitstring(options.size ?? LIST_SIZE, [7]),
        },
        ...options.payload,
      },
    );
  const entry = (index: unknown, extra: Record<string, unknown> = {}) => ({
    type: 'BitstringStatusListEntry',
    statusPurpose: 'revocation',
    statusListCredential: BITSTRING_URL,
    statusListIndex: index,
    ...extra,
  });
  const served = (jwt: string): StatusCheckDeps => ({ fetchList: async () => jwt, issuerKey: async () => ({ jwk }) });

  it('takes a list credential that names its issuer without iss, and a kid relative to the issuer', async () => {
    const withoutIss = await bitstringList();
    expect(await checkCredentialStatus(entry('7'), 'jwt_vc_json', ISSUER, served(withoutIss))).toMatchObject({
      state: 'revoked',
    });
    expect(await checkCredentialStatus(entry('8'), 'jwt_vc_json', ISSUER, served(withoutIss))).toMatchObject({ state: 'valid' });
    const relative = await bitstringList({ kid: '#controller-key', payload: { iss: ISSUER } });
    expect(await checkCredentialStatus(entry('7'), 'jwt_vc_json', ISSUER, served(relative))).toMatchObject({ state: 'revoked' });
    // An iss that disagrees with issuer is no list of this issuer.
    const disagreeing = await bitstringList({ payload: { iss: 'did:example:other' } });
    expect(await checkCredentialStatus(entry('7'), 'jwt_vc_json', ISSUER, served(disagreeing))).toMatchObject({
      state: 'unknown',
      reason: 'the status list is not signed by the credential issuer',
    });
  });

  it('uses a list credential only inside all its dates, and only a BitstringStatusListCredential of a BitstringStatusList', async () => {
    const now = Math.floor(Date.now() / 1000);
    const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
    const check = async (payload: Record<string, unknown>) =>
      checkCredentialStatus(entry('7'), 'jwt_vc_json', ISSUER, served(await bitstringList({ payload })));
    // validUntil passed though exp has not (and the other way round): either ends it.
    expect(await check({ exp: now + 3600, validUntil: iso(now - 60) })).toMatchObject({
      reason: expect.stringContaining('has expired'),
    });
    expect(await check({ exp: now - 60, validUntil: iso(now + 3600) })).toMatchObject({
      reason: expect.stringContaining('has expired'),
    });
    // Not before its nbf or validFrom (a minute of skew).
    expect(await check({ nbf: now + 600 })).toMatchObject({ reason: expect.stringContaining('is not valid yet') });
    expect(await check({ validFrom: iso(now + 600) })).toMatchObject({ reason: expect.stringContaining('is not valid yet') });
    expect(await check({ validFrom: iso(now + 30), exp: now + 3600 })).toMatchObject({ state: 'revoked' });
    // Another kind of credential, or another kind of subject, is no status list.
    expect(await check({ type: ['VerifiableCredential'] })).toMatchObject({
      state: 'unknown',
      reason: 'the status list is not a BitstringStatusListCredential of a BitstringStatusList',
    });
    expect(
      await check({
        credentialSubject: { type: 'Other', statusPurpose: 'revocation', encodedList: encodeBitstring(LIST_SIZE, [7]) },
      }),
    ).toMatchObject({
      state: 'unknown',
      reason: 'the status list is not a BitstringStatusListCredential of a BitstringStatusList',
    });
  });

  it('reads revocation and suspension entries only: a set bit of another purpose (refresh) does not fail the credential', async () => {
    const refresh = await bitstringList({
      payload: {
        credentialSubject: {
          type: 'BitstringStatusList',
          statusPurpose: 'refresh',
          encodedList: encodeBitstring(LIST_SIZE, [7]),
        },
      },
    });
    const fetched: string[] = [];
    const deps = { ...served(refresh), fetchList: async (url: string) => (fetched.push(url), refresh) };
    expect(await checkCredentialStatus(entry('7', { statusPurpose: 'refresh' }), 'jwt_vc_json', ISSUER, deps)).toEqual({
      passed: true,
      state: 'valid',
    });
    expect(fetched).toEqual([]);
    // A missing or unknown purpose is no refresh: it must still match its list's (revocation here), as before.
    for (const purpose of [undefined, 'revocaton'])
      expect(
        await checkCredentialStatus(entry('7', { statusPurpose: purpose }), 'jwt_vc_json', ISSUER, served(await bitstringList())),
      ).toMatchObject({ passed: false, state: 'unknown', reason: 'the status list purpose does not match the entry' });
  });

  it("reads a list of an issuer trusted by X.509 (x5c, its leaf naming the issuer), never held to our chain's anchors", async () => {
    const X509_ISSUER = 'https://pid.issuer.example';
    const x5cList = (payload: Record<string, unknown> = {}) =>
      sign(
        { typ: 'statuslist+jwt', x5c: ['MIIB'] },
        { sub: URL_, iat: 1_700_000_000, status_list: encodeTokenList(LIST_SIZE, 1, [[7, TOKEN_STATUS.invalid]]), ...payload },
      );
    const x5cDeps = (jwt: string) => ({
      ...deps(jwt, async () => ({ digest: 'f'.repeat(64), latestVersion: 9, publisher: `0x${'2'.repeat(40)}` })),
      x5cKey: async (x5c: unknown, issuer: string) =>
        issuer === X509_ISSUER && Array.isArray(x5c) ? { jwk } : { reason: 'x5c: no' },
      anchorPublisher: async () => undefined,
    });
    const anchoredBySomeone = x5cDeps(await x5cList());
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', X509_ISSUER, anchoredBySomeone)).toEqual({
      passed: false,
      state: 'revoked',
      reason: 'the credential is revoked',
    });
    expect(anchoredBySomeone.anchorCalls).toBe(0);
    expect(
      await checkCredentialStatus(status, 'dc+sd-jwt', X509_ISSUER, x5cDeps(await x5cList({ iss: X509_ISSUER }))),
    ).toMatchObject({ state: 'revoked' });
    expect(
      await checkCredentialStatus(status, 'dc+sd-jwt', X509_ISSUER, x5cDeps(await x5cList({ iss: 'https://other.example' }))),
    ).toMatchObject({
      state: 'unknown',
      reason: 'the status list is not signed by the credential issuer',
    });
    // A DID issuer's list is signed by its DID key, whatever x5c it carries.
    expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, x5cDeps(await x5cList({ iss: ISSUER })))).toMatchObject({
      state: 'unknown',
      reason: 'the status list is not signed by the credential issuer',
    });
  });

  it('reads a list served as JSON with a Data Integrity proof: its issuer and key checked, its proof verified once per version', async () => {
    const document = (edit: Record<string, unknown> = {}) =>
      JSON.stringify({
        '@context': ['https://www.w3.org/ns/credentials/v2'],
        id: BITSTRING_URL,
        type: ['VerifiableCredential', 'BitstringStatusListCredential'],
        issuer: { id: ISSUER },
        credentialSubject: {
          type: 'BitstringStatusList',
          statusPurpose: 'revocation',
          encodedList: encodeBitstring(LIST_SIZE, [7]),
        },
        proof: {
          type: 'DataIntegrityProof',
          cryptosuite: 'ecdsa-rdfc-2019',
          verificationMethod: KID,
          proofPurpose: 'assertionMethod',
          proofValue: 'z1',
        },
        ...edit,
      });
    const proofChecks: unknown[] = [];
    const jsonDeps = (body: string, verified = true): StatusCheckDeps => ({
      ...served(body),
      verifyDataIntegrity: async (doc) => (
        proofChecks.push(doc),
        verified ? { verified } : { verified, problem: 'bad signature' }
      ),
      memo: new StatusListMemo(),
    });
    const good = jsonDeps(document());
    expect(await checkCredentialStatus(entry('7'), 'jwt_vc_json', ISSUER, good)).toMatchObject({ state: 'revoked' });
    expect(await checkCredentialStatus(entry('8'), 'jwt_vc_json', ISSUER, good)).toMatchObject({ state: 'valid' });
    expect(proofChecks).toHaveLength(1);
    const reason = async (
      body: string,
      deps: StatusCheckDeps = jsonDeps(body),
      format: 'jwt_vc_json' | 'dc+sd-jwt' = 'jwt_vc_json',
    ) => (await checkCredentialStatus(format === 'dc+sd-jwt' ? status : entry('7'), format, ISSUER, deps)).reason;
    expect(await reason(document(), jsonDeps(document(), false))).toBe('status list proof: bad signature');
    expect(await reason(document(), served(document()))).toBe('Data Integrity status lists are not read here');
    expect(await reason(document({ issuer: 'did:example:other' }))).toBe(
      'the status list is not signed by the credential issuer',
    );
    expect(await reason(document({ proof: { verificationMethod: 'did:example:other#key-1' } }))).toBe(
      'the status list is not signed by the credential issuer',
    );
    expect(await reason(document({ type: ['VerifiableCredential'] }))).toBe(
      'the status list is not a BitstringStatusListCredential',
    );
    expect(await reason(document(), jsonDeps(document()), 'dc+sd-jwt')).toBe('a token status list is a JWT');
    expect(await reason(document().replace('{', '{"id":"x",'))).toBe('the status list repeats the member id');
    expect(await reason(document({ deep: JSON.parse('['.repeat(40) + ']'.repeat(40)) }))).toMatch(/out of bounds/);
    expect(await reason('{not json')).toBe('the status list is neither a JWT nor a JSON credential');
  });

  it('refuses an index that is no base-10 string, a statusSize it cannot read, and a list below the minimum length', async () => {
    const jwt = await bitstringList();
    for (const [index, extra] of [
      [7, {}],
      ['0x7', {}],
      ['07', {}],
      ['', {}],
      ['7', { statusSize: 2 }],
    ] as const)
      expect(await checkCredentialStatus(entry(index, extra), 'jwt_vc_json', ISSUER, served(jwt))).toMatchObject({
        passed: false,
        state: 'unknown',
      });
    const short = await bitstringList({ size: 8 * 1024 });
    expect(await checkCredentialStatus(entry('7'), 'jwt_vc_json', ISSUER, served(short))).toEqual({
      passed: false,
      state: 'unknown',
      reason: `the status list is shorter than ${LIST_SIZE} entries`,
      problemType: 'https://www.w3.org/ns/credentials/status-list#STATUS_LIST_LENGTH_ERROR',
    });
  });

  it('names each failure by the Bitstring Status List processing error a W3C verifier reports (§3.x)', async () => {
    const jwt = await bitstringList();
    const typeOf = async (status: unknown, deps: StatusCheckDeps) =>
      (await checkCredentialStatus(status, 'jwt_vc_json', ISSUER, deps)).problemType;
    const statusList = 'https://www.w3.org/ns/credentials/status-list#';
    // An index past the list's end: "a RANGE_ERROR MUST be raised" (VCDM 2.0 §7.1's type).
    expect(await typeOf(entry(String(LIST_SIZE)), served(jwt))).toBe('https://www.w3.org/TR/vc-data-model#RANGE_ERROR');
    expect(await typeOf(entry(String(LIST_SIZE - 1)), served(jwt))).toBeUndefined();
    // However long: an index of 20 or 400 digits is past every list's end, not a malformed entry.
    expect(await typeOf(entry('1'.repeat(20)), served(jwt))).toBe('https://www.w3.org/TR/vc-data-model#RANGE_ERROR');
    expect(await checkCredentialStatus(entry('9'.repeat(400)), 'jwt_vc_json', ISSUER, served(jwt))).toMatchObject({
      reason: "statusListIndex of 400 digits is past the list's end",
    });
    const notFound: StatusCheckDeps = {
      fetchList: async () => {
        throw new Error('HTTP 404');
      },
      issuerKey: async () => ({ jwk }),
    };
    expect(await typeOf(entry('7'), notFound)).toBe(`${statusList}STATUS_RETRIEVAL_ERROR`);
    expect(await typeOf(entry('7', { statusListCredential: 'ftp://issuer.example/list' }), served(jwt))).toBe(
      `${statusList}STATUS_RETRIEVAL_ERROR`,
    );
    expect(await typeOf(entry('0x7'), served(jwt))).toBe(`${statusList}STATUS_VERIFICATION_ERROR`);
    expect(await typeOf(entry('7', { statusPurpose: 'suspension' }), served(jwt))).toBe(`${statusList}STATUS_VERIFICATION_ERROR`);
    const otherIssuer = await bitstringList({ payload: { issuer: 'did:example:someone-else' } });
    expect(await typeOf(entry('7'), served(otherIssuer))).toBe(`${statusList}STATUS_VERIFICATION_ERROR`);
    // A signed list whose encodedList is no GZIP bitstring failed validation too.
    const undecodable = await bitstringList({
      payload: { credentialSubject: { type: 'BitstringStatusList', statusPurpose: 'revocation', encodedList: 'uH4sIAAAA' } },
    });
    expect(await checkCredentialStatus(entry('7'), 'jwt_vc_json', ISSUER, served(undecodable))).toEqual({
      passed: false,
      state: 'unknown',
      reason: 'the status list encodedList could not be decoded',
      problemType: `${statusList}STATUS_VERIFICATION_ERROR`,
    });
    // A revoked credential is no processing error: the check fails with no error type of the list's.
    expect(await checkCredentialStatus(entry('7'), 'jwt_vc_json', ISSUER, served(jwt))).toEqual({
      passed: false,
      state: 'revoked',
      reason: 'the credential is revoked',
    });
    // A Token Status List (SD-JWT VC) has no such types.
    expect((await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, notFound)).problemType).toBeUndefined();
  });

  it('matches an entry against a list of several purposes ("one or more strings", §2.2)', async () => {
    const both = await bitstringList({
      payload: {
        credentialSubject: {
          type: 'BitstringStatusList',
          statusPurpose: ['revocation', 'suspension'],
          encodedList: encodeBitstring(LIST_SIZE, [7]),
        },
      },
    });
    expect(await checkCredentialStatus(entry('7'), 'jwt_vc_json', ISSUER, served(both))).toMatchObject({ state: 'revoked' });
    expect(
      await checkCredentialStatus(entry('7', { statusPurpose: 'suspension' }), 'jwt_vc_json', ISSUER, served(both)),
    ).toMatchObject({
      state: 'suspended',
    });
    expect(
      await checkCredentialStatus(entry('8', { statusPurpose: 'suspension' }), 'jwt_vc_json', ISSUER, served(both)),
    ).toMatchObject({
      passed: true,
    });
    expect(
      await checkCredentialStatus(entry('7', { statusPurpose: 'message' }), 'jwt_vc_json', ISSUER, served(both)),
    ).toMatchObject({
      passed: true,
    });
    expect(
      await checkCredentialStatus(entry('7', { statusPurpose: 'revocaton' }), 'jwt_vc_json', ISSUER, served(both)),
    ).toMatchObject({ passed: false, reason: 'the status list purpose does not match the entry' });
  });

  it('reads at most MAX_STATUS_ENTRIES entries of a credential, fetching nothing for one with more', async () => {
    const jwt = await bitstringList();
    const fetched: string[] = [];
    const counting: StatusCheckDeps = { fetchList: async (url) => (fetched.push(url), jwt), issuerKey: async () => ({ jwk }) };
    const many = Array.from({ length: MAX_STATUS_ENTRIES + 1 }, () => entry('3'));
    expect(await checkCredentialStatus(many, 'jwt_vc_json', ISSUER, counting)).toEqual({
      passed: false,
      state: 'unknown',
      reason: `more than ${MAX_STATUS_ENTRIES} status entries`,
      problemType: 'https://www.w3.org/ns/credentials/status-list#STATUS_VERIFICATION_ERROR',
    });
    expect(fetched).toEqual([]);
    expect(await checkCredentialStatus(many.slice(1), 'jwt_vc_json', ISSUER, counting)).toMatchObject({ passed: true });
  });

  it('refuses a token status list whose bits is not 1, 2, 4 or 8', async () => {
    for (const bits of [3, 16, '2', undefined]) {
      const jwt = await sign(
        { typ: 'statuslist+jwt', kid: KID },
        { iss: ISSUER, sub: URL_, iat: 1_700_000_000, status_list: { ...encodeTokenList(LIST_SIZE, 2, []), bits } },
      );
      expect(await checkCredentialStatus(status, 'dc+sd-jwt', ISSUER, served(jwt))).toEqual({
        passed: false,
        state: 'unknown',
        reason: 'the status list has no valid status_list (bits 1, 2, 4 or 8, and lst)',
      });
    }
  });
});
