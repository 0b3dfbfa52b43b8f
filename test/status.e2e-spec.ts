import { createHash, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeList } from '@digitalbazaar/vc-bitstring-status-list';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import { decodeJwt } from 'jose';
import { Contract, JsonRpcProvider, keccak256, toUtf8Bytes } from 'ethers';
import { Database, IdempotencyRepository } from '../src/persistence/index.js';
import { CredentialOfferEntity } from '../src/issuer/offers/offer.entity.js';
import {
  INDEX_BLOCK,
  StatusIndexAllocator,
  StatusListPublisher,
  StatusPublicationEntity,
  StatusService,
} from '../src/status/index.js';
import { StatusRepository } from '../src/status/status.repository.js';
import { publicationHeadsOf, STATUS_PUBLICATIONS } from '../src/status/publication-heads.js';
import { IndexBlockRepository } from '../src/status/index-block.repository.js';
import { OutboxEntity, OutboxService, StatusListAnchorClient } from '../src/chain/index.js';
import { KeyService } from '../src/keys/index.js';
import { VerifierService } from '../src/verifier/index.js';
import { signJws } from '../src/credentials/index.js';
import { createActiveAgency, eventually, outboxSettled, startTestApp, type TestApp } from './support/test-app.js';
import { holdNextCall } from './support/hold.js';
import { SingleFlight } from '../src/common/index.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';

const LICENCE = DRIVING_LICENCE_CLAIMS;

/**
 * Revocation and suspension. Publication is driven explicitly here (the timer is set to an hour) so that
 * each test decides what goes into one batch.
 */
describe('status lists', () => {
  let app: TestApp;
  let apiKey: string;
  let provider: JsonRpcProvider;
  let anchorContract: Contract;

  const issue = async (format: 'dc+sd-jwt' | 'jwt_vc_json') => {
    const response = await app.call('POST', '/credentials/issue', {
      token: apiKey,
      body: { credential: { type: 'DrivingLicenceCredential', credentialSubject: LICENCE }, options: { format } },
    });
    expect(response.status).toBe(201);
    return { id: response.body.credentialId as string, credential: response.body.credential as string };
  };
  const setStatus = (id: string, action: string, reason = 'officer decision') =>
    app.call('POST', `/credentials/${id}/status`, { token: apiKey, body: { action, reason } });
  const statusOf = async (credential: string) => {
    const result = (await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } })).body;
    return { verified: result.verified as boolean, status: result.checks.find((c: { check: string }) => c.check === 'status') };
  };
  /** One batch: sign every changed list and wait until its anchor is mined. */
  const publish = async () => {
    const published = await app.app.get(StatusService).publishPending();
    await outboxSettled(app);
    return published;
  };
  /**
   * Makes a change of a list's publications and waits until this replica has heard of it: PostgreSQL notifies
   * after the commit, and the notice moves the remembered heads' generation, so a burst started before it could
   * split into two shared reads. Reading a remembered head makes a feed report what it has seen.
   */
  const changeHeard = async (listId: string, change: () => Promise<unknown>) => {
    const db = app.app.get(Database);
    let heard = false;
    db.changeFeed(STATUS_PUBLICATIONS)!.subscribe((event) => {
      if ('everything' in event || event.key === `${listId}/token`) heard = true;
    });
    await change();
    await eventually(
      async () => {
        publicationHeadsOf(db).get(`${listId}/token`);
        return heard ? true : undefined;
      },
      20_000,
      10,
    );
  };
  const tokenListOf = (credential: string) => {
    const uri = (
      JSON.parse(Buffer.from(credential.split('.')[1]!, 'base64url').toString()) as { status: { status_list: { uri: string } } }
    ).status.status_list.uri;
    return { uri, listId: new URL(uri).pathname.split('/')[2]! };
  };
  const tokenIndexOf = (credential: string) =>
    (JSON.parse(Buffer.from(credential.split('.')[1]!, 'base64url').toString()) as { status: { status_list: { idx: number } } })
      .status.status_list.idx;
  const fetchList = async (url: string) => {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    return { jwt: await response.text(), response };
  };

  beforeAll(async () => {
    // Publication and reconciliation are driven by the tests (their counts are exact): neither runs on a timer.
    app = await startTestApp({
      STATUS_PUBLISH_INTERVAL_MS: '3600000',
      STATUS_RECONCILE_INTERVAL_MS: '3600000',
      STATUS_LIST_MAX_AGE_SECONDS: '0',
    });
    ({ apiKey } = await createActiveAgency(app, 'vehicle-office', 'Vehicle Office 车管所', ['driving-licence']));
    const chain = (await app.operator('GET', '/operator/chain')).body;
    provider = new JsonRpcProvider(app.rpcUrl, chain.chainId, { staticNetwork: true });
    const artifact = JSON.parse(readFileSync(join(process.cwd(), 'contracts/artifacts/StatusListAnchor.json'), 'utf8'));
    anchorContract = new Contract(chain.contracts.StatusListAnchor, artifact.abi, provider);
  });
  afterAll(async () => {
    provider?.destroy();
    await app?.close();
  });

  it('revokes a JWT VC: the W3C bitstring decoder reads the bit, and verification turns to revoked', async () => {
    const { id, credential } = await issue('jwt_vc_json');
    const other = await issue('jwt_vc_json');
    expect(await statusOf(credential)).toEqual({
      verified: true,
      status: { check: 'status', passed: true, reason: 'valid', anchored: true },
    });

    const entries = decodeJwt(credential).credentialStatus as {
      statusPurpose: string;
      statusListIndex: string;
      statusListCredential: string;
    }[];
    expect(entries.map((entry) => entry.statusPurpose)).toEqual(['revocation', 'suspension']);
    const revocation = entries[0]!;
    const index = Number(revocation.statusListIndex);
    expect(Number((decodeJwt(other.credential).credentialStatus as { statusListIndex: string }[])[0]!.statusListIndex)).not.toBe(
      index,
    );

    const revoked = await setStatus(id, 'revoke', 'licence withdrawn by court order');
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual(expect.objectContaining({ revoked: true, suspended: false }));
    // The change itself signed and served the new version; nothing is left for the publisher.
    expect(await publish()).toBe(0);

    const { jwt, response } = await fetchList(revocation.statusListCredential);
    expect(response.headers.get('content-type')).toContain('application/vc+jwt');
    expect(response.headers.get('cache-control')).toBe('public, max-age=0');
    const payload = decodeJwt(jwt) as { credentialSubject: { encodedList: string; statusPurpose: string }; type: string[] };
    expect(payload.type).toContain('BitstringStatusListCredential');
    // No ttl where lists may not be cached (max-age=0): it would have to be positive.
    expect(payload.credentialSubject).not.toHaveProperty('ttl');
    // A list at a past time is not served (draft-ietf-oauth-status-list: 501), rather than answered with today's.
    const past = await app.call('GET', `${new URL(revocation.statusListCredential).pathname}?time=1700000000`);
    expect(past.status).toBe(501);
    expect(past.headers.get('content-type')).toContain('application/problem+json');
    // A list that does not exist is not found, whatever the query asks.
    const unknown = new URL(revocation.statusListCredential).pathname.replace(/\/status\/[^/]+\//, '/status/no-such-list/');
    expect((await app.call('GET', `${unknown}?time=1700000000`)).status).toBe(404);
    expect((await app.call('GET', unknown)).status).toBe(404);
    const list = await decodeList({ encodedList: payload.credentialSubject.encodedList });
    expect(list.getStatus(index)).toBe(true);
    expect(
      list.getStatus(Number((decodeJwt(other.credential).credentialStatus as { statusListIndex: string }[])[0]!.statusListIndex)),
    ).toBe(false);

    expect(await statusOf(credential)).toEqual({
      verified: false,
      status: { check: 'status', passed: false, reason: 'the credential is revoked', anchored: true },
    });
    expect((await statusOf(other.credential)).verified).toBe(true);
    // Revocation is final.
    expect((await setStatus(id, 'reinstate')).status).toBe(409);

    const again = await fetch(revocation.statusListCredential, { headers: { 'if-none-match': response.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('suspends and reinstates an SD-JWT VC, read by the IETF token status list decoder', async () => {
    const { id, credential } = await issue('dc+sd-jwt');
    const { status } = JSON.parse(Buffer.from(credential.split('.')[1]!, 'base64url').toString()) as {
      status: { status_list: { idx: number; uri: string } };
    };
    const tokenStatus = async () =>
      getListFromStatusListJWT((await fetchList(status.status_list.uri)).jwt).getStatus(status.status_list.idx);

    expect((await setStatus(id, 'suspend', 'medical review pending')).body.suspended).toBe(true);
    await publish();
    expect(await tokenStatus()).toBe(2);
    expect((await fetchList(status.status_list.uri)).response.headers.get('content-type')).toContain(
      'application/statuslist+jwt',
    );
    expect((await statusOf(credential)).status).toEqual({
      check: 'status',
      passed: false,
      reason: 'the credential is suspended',
      anchored: true,
    });

    expect((await setStatus(id, 'reinstate', 'review passed')).body.suspended).toBe(false);
    await publish();
    expect(await tokenStatus()).toBe(0);
    expect((await statusOf(credential)).verified).toBe(true);

    const trail = (await app.call('GET', `/credentials/${id}/status`, { token: apiKey })).body;
    expect(trail.history.map((row: { action: string; reason: string }) => [row.action, row.reason])).toEqual([
      ['suspend', 'medical review pending'],
      ['reinstate', 'review passed'],
    ]);
  });

  it('anchors each served version on chain, where anyone can compare it and see the history', async () => {
    const { id, credential } = await issue('dc+sd-jwt');
    await setStatus(id, 'revoke', 'lost');
    await publish();
    const uri = (
      JSON.parse(Buffer.from(credential.split('.')[1]!, 'base64url').toString()) as { status: { status_list: { uri: string } } }
    ).status.status_list.uri;
    const { jwt } = await fetchList(uri);
    const version = decodeJwt(jwt).version as number;
    const key = keccak256(toUtf8Bytes(uri));
    const [digest] = await anchorContract.anchorOf!(key, version);
    expect(digest).toBe('0x' + createHash('sha256').update(jwt).digest('hex'));
    expect(Number(await anchorContract.latestVersion!(key))).toBe(version);

    const history = (await app.call('GET', `${new URL(uri).pathname}/history`)).body;
    expect(history.map((entry: { version: number }) => entry.version)).toEqual(Array.from({ length: version }, (_, i) => i + 1));
    expect(history.every((entry: { anchor: { status: string } }) => entry.anchor.status === 'mined')).toBe(true);
    expect(history.at(-1)).toMatchObject({ digest: createHash('sha256').update(jwt).digest('hex') });
  });

  it("pages a list's history, two statements a page however many versions it has", async () => {
    const { id, credential } = await issue('dc+sd-jwt');
    for (const action of ['suspend', 'reinstate', 'suspend', 'reinstate']) await setStatus(id, action);
    await publish();
    const path = `${new URL(tokenListOf(credential).uri).pathname}/history`;
    const all = (await app.call('GET', path)).body as { version: number; anchor: { status: string } }[];
    const versions = all.map((entry) => entry.version);
    expect(versions.length).toBeGreaterThanOrEqual(5);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));

    const repository = app.app.get(StatusRepository);
    const outbox = app.app.get(OutboxService);
    const pages = jest.spyOn(repository, 'publicationPage');
    const writes = jest.spyOn(outbox, 'getMany');
    const seen: number[] = [];
    try {
      let next: string | null = `${path}?limit=2`;
      while (next) {
        const page = await app.call('GET', next);
        expect(page.status).toBe(200);
        const entries = page.body as { version: number; anchor: { status: string } }[];
        expect(entries.length).toBeLessThanOrEqual(2);
        expect(entries.every((entry) => entry.anchor.status === 'mined')).toBe(true);
        seen.unshift(...entries.map((entry) => entry.version));
        next = /<([^>]+)>; rel="next"/.exec(page.headers.get('link') ?? '')?.[1] ?? null;
      }
      expect(seen).toEqual(versions);
      const calls = Math.ceil(versions.length / 2);
      expect(pages.mock.calls.length).toBeGreaterThanOrEqual(calls);
      expect(pages.mock.calls.length).toBeLessThanOrEqual(calls + 1);
      expect(writes).toHaveBeenCalledTimes(pages.mock.calls.length);
    } finally {
      pages.mockRestore();
      writes.mockRestore();
    }
    // A client's mistake is a problem document, not a 500; an unknown list or purpose a 404.
    for (const query of ['limit=0', 'limit=1001', 'before=abc', 'before=-1']) {
      const refused = await app.call('GET', `${path}?${query}`);
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body.detail).toBe('The query is invalid');
    }
    const notANumber = await app.call('GET', `${path}?limit=abc`);
    expect(notANumber.body.violations).toEqual([{ path: 'limit', message: 'must be a whole number' }]);
    // Versions are 32-bit in the database: a larger before= is after all of them (PostgreSQL refused it as a 400).
    for (const before of [2 ** 31, Number.MAX_SAFE_INTEGER]) {
      const everything = await app.call('GET', `${path}?before=${before}`);
      expect(everything.status).toBe(200);
      expect(everything.body.map((entry: { version: number }) => entry.version)).toEqual(versions.slice(-100));
    }
    expect((await app.call('GET', path.replace('/token/', '/revocation/'))).status).toBe(404);
    expect((await app.call('GET', `/status/${randomUUID()}/token/history`)).status).toBe(404);
  });

  it('detects a served list altered after anchoring, and an older list served instead of the newest', async () => {
    const { id, credential } = await issue('jwt_vc_json');
    const url = (decodeJwt(credential).credentialStatus as { statusListCredential: string }[])[0]!.statusListCredential;
    await setStatus(id, 'revoke', 'fraud');
    await publish();
    expect((await statusOf(credential)).status.reason).toBe('the credential is revoked');

    // Someone with write access to the served copy clears the bit and re-signs with the agency key.
    const db = app.app.get(Database);
    const listId = new URL(url).pathname.split('/')[2]!;
    const served = (await db.use(undefined, (m) =>
      m.getRepository(StatusPublicationEntity).findOne({ where: { listId, purpose: 'revocation' }, order: { version: 'DESC' } }),
    ))!;
    const [header, body] = served.jwt
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    const list = await decodeList({ encodedList: body.credentialSubject.encodedList });
    list.setStatus(Number((decodeJwt(credential).credentialStatus as { statusListIndex: string }[])[0]!.statusListIndex), false);
    body.credentialSubject.encodedList = await list.encode().then((encoded: string) => 'u' + encoded.replace(/^u/, ''));
    const statusList = (await app.app.get(StatusService).served(listId, 'revocation')).list;
    const forged = await signJws(header, body, (input) => app.app.get(KeyService).signJws(statusList.signingKeyId, input));
    await db.use(undefined, (m) => m.getRepository(StatusPublicationEntity).update({ id: served.id }, { jwt: forged }));
    // PostgreSQL: a warm replica hears of a row changed by hand through the table's notification (ADR 22).
    const caught = (reason: string) =>
      eventually(async () => {
        const { status } = await statusOf(credential);
        return status.reason === reason ? status : undefined;
      });
    expect(await caught(`the served status list (version ${served.version}) does not match its anchor on chain`)).toEqual({
      check: 'status',
      passed: false,
      reason: `the served status list (version ${served.version}) does not match its anchor on chain`,
      // What a W3C verifier reports for it (Bitstring Status List §3.x); the VC-API answer's error carries it as its type.
      problemType: 'https://www.w3.org/ns/credentials/status-list#STATUS_VERIFICATION_ERROR',
    });

    // Serving the previous, genuinely anchored version (before the revocation) is caught as well.
    await db.use(undefined, (m) => m.getRepository(StatusPublicationEntity).update({ id: served.id }, { jwt: served.jwt }));
    const previous = (await db.use(undefined, (m) =>
      m.getRepository(StatusPublicationEntity).findOneBy({ listId, purpose: 'revocation', version: served.version - 1 }),
    ))!;
    await db.use(undefined, (m) => m.getRepository(StatusPublicationEntity).update({ id: served.id }, { jwt: previous.jwt }));
    expect(
      (await caught(`the served status list is version ${served.version - 1} but version ${served.version} is anchored on chain`))
        .passed,
    ).toBe(false);
    await db.use(undefined, (m) => m.getRepository(StatusPublicationEntity).update({ id: served.id }, { jwt: served.jwt }));
  });

  it('shares one chain read of a list anchor among verifications that need it at once', async () => {
    // STATUS_LIST_MAX_AGE_SECONDS is 0 here: every verification needs the newest anchored version again.
    const { credential } = await issue('dc+sd-jwt');
    await publish();
    const verifier = app.app.get(VerifierService);
    // A private member, on purpose: the chain client this verifier reads through.
    const anchors = (verifier as unknown as { anchors: StatusListAnchorClient }).anchors;
    const asked = jest.spyOn(SingleFlight.prototype, 'run');
    const held = holdNextCall(anchors, 'anchorOf');
    try {
      const verifying = Promise.all(Array.from({ length: 16 }, () => verifier.verifyCredential(credential)));
      await held.reached;
      // Every verification has asked for the anchor (keyed url#version) while the first read is still on its way.
      const anchorAsks = () => asked.mock.calls.filter(([key]) => key.includes('#')).length;
      await eventually(async () => (anchorAsks() >= 16 ? true : undefined), 20_000, 5);
      held.release();
      expect((await verifying).map((result) => result.verified)).toEqual(Array(16).fill(true));
      expect(held.spy).toHaveBeenCalledTimes(1);
      // The read is not kept: the next verification reads again.
      expect((await verifier.verifyCredential(credential)).verified).toBe(true);
      expect(held.spy).toHaveBeenCalledTimes(2);
    } finally {
      held.release();
      held.spy.mockRestore();
      asked.mockRestore();
    }
  });

  it('shares one read of a list head among verifications that find it changed at once, never across a publication', async () => {
    const { credential } = await issue('dc+sd-jwt');
    const { listId } = tokenListOf(credential);
    const { id: other } = await issue('dc+sd-jwt');
    await changeHeard(listId, () => setStatus(other, 'suspend'));
    const verifier = app.app.get(VerifierService);
    const repository = app.app.get(StatusRepository);
    // A private member, on purpose: the statement a shared read runs.
    const reads = repository as unknown as { readHead: () => Promise<unknown> };
    expect((await verifier.verifyCredential(credential)).verified).toBe(true);
    // Stale as after a publication by this replica: every verification needs the newest head.
    repository.publicationCommitted(listId, 'token');
    const asked = jest.spyOn(SingleFlight.prototype, 'run');
    const headReads = () => asked.mock.calls.filter(([key]) => new RegExp(`^\\d+ ${listId}/token `).test(key)).length;
    const held = holdNextCall(reads, 'readHead');
    try {
      const verifying = Promise.all(Array.from({ length: 16 }, () => verifier.verifyCredential(credential)));
      await held.reached;
      await eventually(async () => (headReads() >= 16 ? true : undefined), 20_000, 5);
      expect(held.spy).toHaveBeenCalledTimes(1);
      // After another publication of ours, a verification reads on its own instead of joining the held read.
      repository.publicationCommitted(listId, 'token');
      const after = verifier.verifyCredential(credential);
      await eventually(async () => (held.spy.mock.calls.length >= 2 ? true : undefined), 20_000, 5);
      held.release();
      expect((await verifying).map((result) => result.verified)).toEqual(Array(16).fill(true));
      expect((await after).verified).toBe(true);
      expect(held.spy).toHaveBeenCalledTimes(2);
    } finally {
      held.release();
      held.spy.mockRestore();
      asked.mockRestore();
    }
  });

  it('serves a list version from memory: concurrent requests share one read, a new version is served at once', async () => {
    const { id, credential } = await issue('dc+sd-jwt');
    const { uri, listId } = tokenListOf(credential);
    await changeHeard(listId, () => setStatus(id, 'suspend'));
    const asked = jest.spyOn(SingleFlight.prototype, 'run');
    // The read of a list's newest version with its row, as served.
    const held = holdNextCall(app.app.get(StatusService), 'served');
    let first: Response[];
    try {
      const requests = Promise.all(Array.from({ length: 8 }, () => fetch(uri)));
      await held.reached;
      // Every request has found the new version and waits for the one read of it.
      await eventually(
        async () =>
          asked.mock.calls.filter(([key]) => new RegExp(`^\\d+ ${listId}/token \\d+$`).test(key)).length >= 8 ? true : undefined,
        20_000,
        5,
      );
      held.release();
      first = await requests;
    } finally {
      held.release();
      asked.mockRestore();
    }
    const bodies = await Promise.all(first.map((response) => response.text()));
    expect(first.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect(new Set(bodies).size).toBe(1);
    const etag = first[0]!.headers.get('etag')!;
    expect(first.every((response) => response.headers.get('etag') === etag)).toBe(true);
    expect(etag).toBe(`"${createHash('sha256').update(bodies[0]!).digest('base64url')}"`);
    expect(getListFromStatusListJWT(bodies[0]!).getStatus(tokenIndexOf(credential))).toBe(2);
    expect(held.spy).toHaveBeenCalledTimes(1);

    // Unchanged: served and revalidated without reading the row again.
    const again = await fetch(uri);
    expect([again.status, await again.text(), again.headers.get('etag')]).toEqual([200, bodies[0], etag]);
    const revalidated = await fetch(uri, { headers: { 'if-none-match': `W/${etag}` } });
    expect(revalidated.status).toBe(304);
    expect(held.spy).toHaveBeenCalledTimes(1);

    // A new version is served by the next request, under a new tag; the old tag no longer matches.
    await setStatus(id, 'reinstate');
    const changed = await fetch(uri, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    const body = await changed.text();
    expect(changed.headers.get('etag')).toBe(`"${createHash('sha256').update(body).digest('base64url')}"`);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(getListFromStatusListJWT(body).getStatus(tokenIndexOf(credential))).toBe(0);
    expect(held.spy).toHaveBeenCalledTimes(2);
    held.spy.mockRestore();
  });

  /** A fresh SD-JWT VC, its token list, the publisher's leases, and the list's served version now. */
  async function leaseFixture() {
    const { id, credential } = await issue('dc+sd-jwt');
    const { listId } = tokenListOf(credential);
    const status = app.app.get(StatusService);
    const leases = app.app.get(StatusRepository);
    const versionOf = async () => (await status.served(listId, 'token')).publication.version;
    return { id, credential, listId, status, leases, versionOf, before: await versionOf() };
  }

  it('publishes only under the list lease: a change waits for another publisher to let go, then is published once', async () => {
    const { id, credential, listId, status, leases, versionOf, before } = await leaseFixture();

    // Another instance's publisher holds the lease; ours cannot take it.
    expect(await leases.claimLease(listId, 'other-instance', Date.now(), 60_000)).toBe(true);
    expect(await leases.claimLease(listId, status.publisherId, Date.now(), 60_000)).toBe(false);
    expect(await status.publishPending()).toBe(0);

    const revoking = setStatus(id, 'revoke', 'lease test');
    await eventually(async () =>
      (await app.call('GET', `/credentials/${id}/status`, { token: apiKey })).body.revoked ? true : undefined,
    );
    expect(await versionOf()).toBe(before); // committed, but not published while the other holds the lease
    await leases.releaseLease(listId, 'other-instance');
    expect((await revoking).status).toBe(200);
    // Published by the change itself, or (a host slower than the change's bounded wait) by the next round.
    await status.publishPending();
    expect(await versionOf()).toBe(before + 1);
    expect(await status.publishPending()).toBe(0);
    expect((await statusOf(credential)).status).toEqual(expect.objectContaining({ reason: 'the credential is revoked' }));
    await outboxSettled(app);
  });

  it("answers a committed change at once when its list cannot be published now: a dead holder's lease, a failed publication", async () => {
    const { id, credential, listId, status, leases, versionOf, before } = await leaseFixture();
    // A replica killed while holding the list's lease: it will never let go before the lease runs out.
    expect(await leases.claimLease(listId, 'killed-instance', Date.now(), 120_000)).toBe(true);
    const suspended = await setStatus(id, 'suspend', 'dead holder');
    expect({ status: suspended.status, suspended: suspended.body.suspended }).toEqual({ status: 200, suspended: true });
    // Answered while the dead lease still holds (not after it ran out), and not published meanwhile.
    expect(await leases.claimLease(listId, status.publisherId, Date.now(), 1_000)).toBe(false);
    expect(await versionOf()).toBe(before);
    await leases.releaseLease(listId, 'killed-instance');
    // The publisher's next round (this suite runs them by hand) publishes the change.
    expect(await status.publishPending()).toBe(1);
    expect(await versionOf()).toBe(before + 1);

    // The publication right after the commit fails (the database gone for a moment): the change stands and says so.
    const publisher = app.app.get(StatusListPublisher);
    const failing = jest.spyOn(publisher, 'publishPending').mockRejectedValueOnce(new Error('Connection terminated'));
    try {
      const reinstated = await setStatus(id, 'reinstate', 'publication fails');
      expect({ status: reinstated.status, suspended: reinstated.body.suspended }).toEqual({ status: 200, suspended: false });
      expect(failing).toHaveBeenCalled();
    } finally {
      failing.mockRestore();
    }
    expect(await versionOf()).toBe(before + 1);
    expect(await status.publishPending()).toBe(1);
    expect(await versionOf()).toBe(before + 2);
    expect((await statusOf(credential)).verified).toBe(true);
    await outboxSettled(app);
  });

  it('records one revocation of a credential revoked by several requests at once (replicas on one database)', async () => {
    const { id } = await issue('dc+sd-jwt');
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        app.call('POST', '/credentials/status', {
          token: apiKey,
          body: { credentialIds: [id], action: 'revoke', reason: `r${i}` },
        }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    expect(answers.map((answer) => answer.body.changed).sort()).toEqual([0, 0, 0, 0, 0, 1]);
    const history = (await app.call('GET', `/credentials/${id}/status`, { token: apiKey })).body.history;
    expect(history.map((row: { action: string }) => row.action)).toEqual(['revoke']);
    await app.app.get(StatusService).publishPending();
  });

  it('two publishers on one database never race for a version: each change is published once', async () => {
    const { credential } = await issue('dc+sd-jwt');
    const { listId } = tokenListOf(credential);
    const mine = app.app.get(StatusService);
    // A second instance's publisher: same database, keys and outbox, its own lease identity.
    const other = new StatusListPublisher(
      app.app.get(Database),
      app.app.get(StatusRepository),
      app.app.get(KeyService),
      app.app.get(OutboxService),
      app.app.get(StatusListAnchorClient),
      app.config,
    );
    expect(other.publisherId).not.toBe(mine.publisherId);
    const before = (await mine.served(listId, 'token')).publication.version;
    for (let round = 0; round < 5; round++) {
      await app.app.get(Database).transaction((tx) => app.app.get(StatusRepository).bumpSequence(tx, [listId], 'suspension'));
      const counts = await Promise.all([mine.publishPending([listId]), other.publishPending([listId])]);
      expect(counts[0] + counts[1]).toBe(1);
    }
    expect((await mine.served(listId, 'token')).publication.version).toBe(before + 5);
    await outboxSettled(app);
  });

  it('reconciles: a committed but unpublished change is published, a reverted anchor is replaced by a new version', async () => {
    const { id, credential } = await issue('dc+sd-jwt');
    const { listId } = tokenListOf(credential);
    const status = app.app.get(StatusService);
    const db = app.app.get(Database);
    await setStatus(id, 'suspend', 'reconcile test');
    await outboxSettled(app);
    const first = (await status.served(listId, 'token')).publication;

    // A crash between the commit of a change and its publication: the sequence moved, no version follows.
    await db.transaction((tx) => app.app.get(StatusRepository).bumpSequence(tx, [listId], 'suspension'));
    expect(await status.reconcile()).toBe(1);
    const second = (await status.served(listId, 'token')).publication;
    expect(second.version).toBe(first.version + 1);
    await outboxSettled(app);

    // The newest version's anchor reverted: reconciliation publishes and anchors a newer one.
    await db.use(undefined, (m) => m.getRepository(OutboxEntity).update({ id: second.outboxId }, { status: 'reverted' }));
    expect(await status.reconcile()).toBe(1);
    await outboxSettled(app);
    const third = (await status.served(listId, 'token')).publication;
    expect(third.version).toBe(second.version + 1);
    expect(await status.reconcile()).toBe(0);
    expect((await statusOf(credential)).status).toEqual({
      check: 'status',
      passed: false,
      reason: 'the credential is suspended',
      anchored: true,
    });
  });

  it('replays a bulk status change for the same Idempotency-Key, and refuses the key with another body', async () => {
    const a = await issue('jwt_vc_json');
    const b = await issue('jwt_vc_json');
    const send = (credentialIds: string[], key: string) =>
      app.call('POST', '/credentials/status', {
        token: apiKey,
        headers: { 'idempotency-key': key },
        body: { credentialIds, action: 'suspend', reason: 'audit' },
      });
    const first = await send([a.id, b.id], 'bulk-suspend-1');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ changed: 2 });
    // Without the key a second run would answer { changed: 0 }; the retry gets the first answer.
    const retry = await send([a.id, b.id], 'bulk-suspend-1');
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ changed: 2 });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const reused = await send([a.id], 'bulk-suspend-1');
    expect(reused.status).toBe(422);
    expect(reused.body.type).toBe('urn:chancery:problem:idempotency_key_reused');
    const invalid = await send([a.id], 'x'.repeat(256));
    expect(invalid.status).toBe(400);
    // A failed request frees its key: nothing was changed, so the retry runs.
    const missing = await send([randomUUID()], 'bulk-suspend-2');
    expect(missing.status).toBe(404);
    expect((await send([a.id], 'bulk-suspend-2')).body).toEqual({ changed: 0 });
    // The single-credential change takes a key as well.
    const single = () =>
      app.call('POST', `/credentials/${a.id}/status`, {
        token: apiKey,
        headers: { 'idempotency-key': 'single-reinstate' },
        body: { action: 'reinstate', reason: 'audit passed' },
      });
    const reinstated = await single();
    expect(reinstated.body.suspended).toBe(false);
    expect(await single()).toEqual(expect.objectContaining({ status: 200, body: reinstated.body }));
    // The same key and body for another credential is another request: refused, not answered with a's state
    // (b stays suspended either way, and the officer is told so).
    const other = await app.call('POST', `/credentials/${b.id}/status`, {
      token: apiKey,
      headers: { 'idempotency-key': 'single-reinstate' },
      body: { action: 'reinstate', reason: 'audit passed' },
    });
    expect(other.status).toBe(422);
    expect(other.body.type).toBe('urn:chancery:problem:idempotency_key_reused');
    await outboxSettled(app);
  });

  it('stores an Idempotency-Key answer with what it answers for: a change, an offer; a failure storing it leaves neither', async () => {
    const idempotency = app.app.get(IdempotencyRepository);
    const failOnce = () => jest.spyOn(idempotency, 'complete').mockRejectedValueOnce(new Error('the database refused the row'));
    const credential = await issue('dc+sd-jwt');
    const suspend = () =>
      app.call('POST', `/credentials/${credential.id}/status`, {
        token: apiKey,
        headers: { 'idempotency-key': 'stored-with-the-change' },
        body: { action: 'suspend', reason: 'audit' },
      });
    let failing = failOnce();
    try {
      expect((await suspend()).status).toBe(500);
    } finally {
      failing.mockRestore();
    }
    // The suspension rolled back with its answer, and the key is free: the retry suspends, once.
    const state = await app.call('GET', `/credentials/${credential.id}/status`, { token: apiKey });
    expect(state.body).toMatchObject({ suspended: false, history: [] });
    const suspended = await suspend();
    expect(suspended.body).toMatchObject({ suspended: true, history: [expect.objectContaining({ action: 'suspend' })] });
    expect(await suspend()).toEqual(expect.objectContaining({ status: 200, body: suspended.body }));

    const offers = () => app.app.get(Database).use(undefined, (m) => m.getRepository(CredentialOfferEntity).count());
    const before = await offers();
    const offer = () =>
      app.call('POST', '/agency/offers', {
        token: apiKey,
        headers: { 'idempotency-key': 'one-offer' },
        body: { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: DRIVING_LICENCE_CLAIMS },
      });
    failing = failOnce();
    try {
      expect((await offer()).status).toBe(500);
    } finally {
      failing.mockRestore();
    }
    expect(await offers()).toBe(before);
    const created = await offer();
    expect(created.status).toBe(201);
    const replayed = await offer();
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body.offerId).toBe(created.body.offerId);
    expect(replayed.body.txCode).toBe(created.body.txCode);
    expect(await offers()).toBe(before + 1);
    await outboxSettled(app);
  });

  it('revokes 10,000 credentials with one anchoring transaction per batch', async () => {
    const status = app.app.get(StatusService);
    const agency = (await app.call('GET', '/agency', { token: apiKey })).body;
    const { credential } = await issue('jwt_vc_json');
    const url = (decodeJwt(credential).credentialStatus as { statusListCredential: string }[])[0]!.statusListCredential;
    const { list } = await status.served(new URL(url).pathname.split('/')[2]!, 'revocation');
    const issuer = {
      agencyId: agency.id,
      did: agency.did,
      signingKeyId: list.signingKeyId,
      signingKid: list.signingKid,
      controllerKeyId: list.controllerKeyId,
    };
    // Status entries are what revocation touches; allocating them in-process keeps the test about the batch. They
    // are reserved one by one and written 500 per transaction, as issuance writes them with its records (one
    // transaction per entry made this set-up most of the test's time).
    const ids: string[] = [];
    const db = app.app.get(Database);
    for (let i = 0; i < 10_000; i += 500) {
      const entries: { allocation: Awaited<ReturnType<StatusService['reserve']>>; credentialId: string }[] = [];
      for (let j = 0; j < 500; j++) {
        const allocation = await status.reserve(issuer, 'bitstring');
        expect(allocation.listId).toBe(list.id);
        entries.push({ allocation, credentialId: randomUUID() });
      }
      const allocator = app.app.get(StatusIndexAllocator);
      await db.transaction(async (tx) => {
        for (const entry of entries) await allocator.commitEntry(tx, entry.allocation, entry.credentialId);
      });
      ids.push(...entries.map((entry) => entry.credentialId));
    }
    expect(new Set(ids).size).toBe(10_000);
    await outboxSettled(app);
    const minedBefore = (await app.operator('GET', '/operator/outbox')).body.mined as number;
    // Each batch request is signed, served and queued for anchoring at once: one transaction per batch.
    for (let i = 0; i < ids.length; i += 1_000) {
      const response = await app.call('POST', '/credentials/status', {
        token: apiKey,
        body: { credentialIds: ids.slice(i, i + 1_000), action: 'revoke', reason: 'mass recall' },
      });
      expect(response.body).toEqual({ changed: 1_000 });
    }
    expect(await publish()).toBe(0);
    expect((await app.operator('GET', '/operator/outbox')).body.mined).toBe(minedBefore + 10);

    const latest = (await status.history(list.id, 'revocation')).at(-1)!;
    const receipt = await provider.getTransactionReceipt(latest.anchor.txHash!);
    const gasPerCredential = Number(receipt!.gasUsed) / 1_000;
    console.log(
      `1,000 revocations per batch: 1 anchoring transaction, ${receipt!.gasUsed} gas, ${gasPerCredential.toFixed(2)} gas per credential`,
    );
    expect(gasPerCredential).toBeLessThan(200);

    const { jwt } = await fetchList(url);
    const decoded = await decodeList({ encodedList: (decodeJwt(jwt).credentialSubject as { encodedList: string }).encodedList });
    const revokedBits = (decodeJwt(credential).credentialStatus as { statusListIndex: string }[])[0]!.statusListIndex;
    expect(decoded.getStatus(Number(revokedBits))).toBe(false);
  });

  it('reserves the next index block while the open one lasts, and retries a reservation that failed', async () => {
    const allocator = app.app.get(StatusIndexAllocator);
    const blockRepository = app.app.get(IndexBlockRepository);
    const db = app.app.get(Database);
    // An agency of its own, whose bitstring list nobody has taken an index from yet (it issues an SD-JWT VC
    // only, which takes one from its token list, whose signing key the bitstring list shares).
    const other = await createActiveAgency(app, 'block-office', 'Block Office', ['driving-licence']);
    const agency = (await app.call('GET', '/agency', { token: other.apiKey })).body;
    const issued = await app.call('POST', '/credentials/issue', {
      token: other.apiKey,
      body: { credential: { type: 'DrivingLicenceCredential', credentialSubject: LICENCE }, options: { format: 'dc+sd-jwt' } },
    });
    expect(issued.status).toBe(201);
    const { list } = await app.app.get(StatusService).served(tokenListOf(issued.body.credential as string).listId, 'token');
    const issuer = {
      agencyId: agency.id as string,
      did: agency.did as string,
      signingKeyId: list.signingKeyId,
      signingKid: list.signingKid,
      controllerKeyId: list.controllerKeyId,
    };
    const param = db.kind === 'postgres' ? '$1' : '?';
    const ownBlocks = async () =>
      (
        (await db.dataSource.query(
          `SELECT b.block FROM status_index_blocks b JOIN status_lists l ON l.id = b.list_id WHERE l.agency_id = ${param} AND l.kind = 'bitstring'`,
          [issuer.agencyId],
        )) as { block: number }[]
      ).map((row) => Number(row.block));
    const blockOf = (idx: number) => Math.floor(idx / INDEX_BLOCK);

    const first = await allocator.reserve(issuer, 'bitstring');
    expect(await ownBlocks()).toEqual([blockOf(first.idx)]);
    const handedOut = [first.idx];
    while (handedOut.length < INDEX_BLOCK - INDEX_BLOCK / 4) handedOut.push((await allocator.reserve(issuer, 'bitstring')).idx);
    // Three quarters handed out: the next block's reservation starts without any caller waiting for it.
    const [firstBlock, nextBlock] = await eventually(async () => {
      const blocks = await ownBlocks();
      return blocks.length === 2 ? [blockOf(first.idx), blocks.find((block) => block !== blockOf(first.idx))!] : undefined;
    });
    expect(new Set(handedOut.map(blockOf))).toEqual(new Set([firstBlock]));
    // The rest of the open block, then the reserved one, with no further reservation on the way.
    const reserveSpy = jest.spyOn(blockRepository, 'reserveBlock');
    while (handedOut.length < INDEX_BLOCK + 1) handedOut.push((await allocator.reserve(issuer, 'bitstring')).idx);
    expect(reserveSpy).not.toHaveBeenCalled();
    expect(blockOf(handedOut.at(-1)!)).toBe(nextBlock);
    expect(new Set(handedOut).size).toBe(handedOut.length);

    // A reservation made ahead of need that fails is forgotten, not an unhandled rejection: the caller that
    // finds the block spent reserves again.
    reserveSpy.mockRejectedValueOnce(new Error('database went away'));
    while (handedOut.length < 2 * INDEX_BLOCK - INDEX_BLOCK / 4 + 1) {
      handedOut.push((await allocator.reserve(issuer, 'bitstring')).idx);
    }
    await eventually(async () => (reserveSpy.mock.calls.length === 1 ? true : undefined));
    await new Promise((resolve) => setImmediate(resolve));
    reserveSpy.mockRestore();
    while (handedOut.length < 2 * INDEX_BLOCK + 1) handedOut.push((await allocator.reserve(issuer, 'bitstring')).idx);
    const blocks = await ownBlocks();
    expect(blocks).toHaveLength(3);
    expect(blocks.filter((block) => block !== firstBlock && block !== nextBlock)).toEqual([blockOf(handedOut.at(-1)!)]);
    expect(new Set(handedOut).size).toBe(handedOut.length);
  });
});

/**
 * Revocation does not wait for the chain: with the embedded node down, a revocation is signed and served
 * at once, the service's own verifier reports it revoked (anchored: false), and the anchor lands when the
 * node is back.
 */
describe('status lists while the chain is down', () => {
  let app: TestApp;
  let apiKey: string;
  let endOutage: (() => void) | undefined;

  beforeAll(async () => {
    // The node is restarted (and rebuilt from the journal) 1 s after it dies: held by the test until the outage was observed.
    app = await startTestApp({ STATUS_PUBLISH_INTERVAL_MS: '3600000', CHAIN_EMBEDDED_RESTART_MS: '1000' });
    ({ apiKey } = await createActiveAgency(app, 'outage-office', 'Outage Office', ['driving-licence']));
  });
  afterAll(async () => {
    endOutage?.();
    await app?.close();
  });

  it('reports a revocation at once with anchored: false, and anchored: true once the chain is back', async () => {
    const issued = await app.call('POST', '/credentials/issue', {
      token: apiKey,
      body: { credential: { type: 'DrivingLicenceCredential', credentialSubject: LICENCE }, options: { format: 'dc+sd-jwt' } },
    });
    expect(issued.status).toBe(201);
    const credential = issued.body.credential as string;
    const verify = async () =>
      (await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } })).body as {
        verified: boolean;
        checks: { check: string; passed: boolean; reason?: string; anchored?: boolean }[];
      };
    const statusCheck = (result: Awaited<ReturnType<typeof verify>>) => result.checks.find((c) => c.check === 'status');
    expect(statusCheck(await verify())).toEqual({ check: 'status', passed: true, reason: 'valid', anchored: true });

    const node = app.embeddedChain!;
    const restarting = holdNextCall(node, 'restart');
    endOutage = restarting.release;
    await node.kill();
    expect(node.running).toBe(false);
    const revoked = await app.call('POST', `/credentials/${issued.body.credentialId}/status`, {
      token: apiKey,
      body: { action: 'revoke', reason: 'revoked during a chain outage' },
    });
    expect(revoked.status).toBe(200);
    const during = await verify();
    expect(during.verified).toBe(false);
    expect(statusCheck(during)).toEqual({ check: 'status', passed: false, reason: 'the credential is revoked', anchored: false });
    expect(node.running).toBe(false); // still the outage: what we saw did not come from the chain

    // Served over HTTP as well, with its anchor still queued.
    const uri = (
      JSON.parse(Buffer.from(credential.split('.')[1]!, 'base64url').toString()) as { status: { status_list: { uri: string } } }
    ).status.status_list.uri;
    const history = (await app.call('GET', `${new URL(uri).pathname}/history`)).body as { anchor: { status: string } }[];
    expect(history.at(-1)!.anchor.status).not.toBe('mined');
    const served = decodeJwt(await (await fetch(uri)).text()) as { version: number };
    expect(served.version).toBe(history.length);

    restarting.release();
    const after = await eventually(async () => {
      const check = statusCheck(await verify());
      return check?.anchored ? check : undefined;
    }, 90_000);
    expect(after).toEqual({ check: 'status', passed: false, reason: 'the credential is revoked', anchored: true });
    expect(node.running).toBe(true);
  });
});
