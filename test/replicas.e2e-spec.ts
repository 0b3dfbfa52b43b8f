import { createHash, randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Contract, JsonRpcProvider, keccak256, toUtf8Bytes } from 'ethers';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  contractInterface,
  credentialTypeKey,
  EmbeddedChainNode,
  OutboxEntity,
  OutboxService,
  OutboxWorker,
  Reconciler,
} from '../src/chain/index.js';
import { AgencyAuthorisationEntity, AgencyEntity } from '../src/issuer/index.js';
import { Database } from '../src/persistence/index.js';
import { StatusListEntity, StatusPublicationEntity, StatusService } from '../src/status/index.js';
import { eventually, outboxSettled, startTestApp, testDatabase, type TestApp } from './support/test-app.js';
import { testPort } from './support/ports.js';
import { PRE_AUTHORIZED_GRANT, preAuthorizedCodeOf, wallet } from './support/wallet.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';

const TYPES = ['driving-licence', 'business-licence'] as const;
const DRIVING_LICENCE = { ...DRIVING_LICENCE_CLAIMS, issue_date: '2012-05-01' };

/**
 * Two replicas on one database and one chain node, with the work split across both: every outbox
 * entry is advanced by one replica only, mined-listeners settle state from the write's content, and
 * the reconciler repairs what a lost race or an older version left behind, without a restart.
 */
describe('two replicas on one database and one chain', () => {
  let a: TestApp;
  let b: TestApp;
  let provider: JsonRpcProvider;
  let registry: Contract;
  const agencies: { id: string; did: string; apiKey: string }[] = [];
  /** What each agency should end authorised for, per type. */
  const expected = new Map<string, boolean>();
  /** Every mined-listener notification, on either replica: each settled entry must appear once. */
  const notified: string[] = [];

  const db = (app: TestApp) => app.app.get(Database);
  const authorisations = async (app: TestApp, id: string) =>
    Object.fromEntries(
      ((await app.operator('GET', `/operator/agencies/${id}/authorisations`)).body as { typeId: string; status: string }[]).map(
        (entry) => [entry.typeId, entry.status],
      ),
    );
  const onChain = async (did: string, typeId: string) =>
    Boolean(await registry.getFunction('isAuthorised')(did.split(':').pop()!, credentialTypeKey(typeId)));

  beforeAll(async () => {
    // The polls of the test apps before they were slowed for the suite's CPU (chain events 50 ms, outbox 100 ms): a
    // write committed on one replica nudges only its own worker, and here dozens of writes from both wait on each
    // other's leases, so the poll is what moves them.
    const pace = { RECONCILE_INTERVAL_MS: '200', CHAIN_POLL_MS: '50', OUTBOX_POLL_MS: '100' };
    a = await startTestApp(pace);
    b = await startTestApp(pace, { replicaOf: a });
    for (const replica of [a, b]) replica.app.get(OutboxWorker).onMined(async (entry) => void notified.push(entry.id));
    const chain = (await a.operator('GET', '/operator/chain')).body;
    provider = new JsonRpcProvider(a.rpcUrl, chain.chainId, { staticNetwork: true });
    registry = new Contract(chain.consortium.issuerRegistry, contractInterface('GovernedIssuerRegistry'), provider);
  });
  afterAll(async () => {
    provider?.destroy();
    await b?.close();
    await a?.close();
  });

  it('creates agencies and changes authorisations on both: every agency ends active with the chain’s authorisations', async () => {
    const replicas = [a, b];
    for (let i = 0; i < 6; i++) {
      const created = await replicas[i % 2]!.operator('POST', '/operator/agencies', { slug: `agency-${i}`, name: `Agency ${i}` });
      expect(created.status).toBe(201);
      agencies.push({ id: created.body.agency.id, did: created.body.agency.did, apiKey: created.body.apiKey });
    }
    // Grants on one replica, then withdrawals and re-grants on the other, all queued while writes are in flight.
    for (const [i, agency] of agencies.entries()) {
      for (const typeId of TYPES) {
        expect((await replicas[i % 2]!.operator('PUT', `/operator/agencies/${agency.id}/authorisations/${typeId}`)).status).toBe(
          200,
        );
        expected.set(`${agency.id}:${typeId}`, true);
      }
      const other = replicas[(i + 1) % 2]!;
      expect((await other.operator('DELETE', `/operator/agencies/${agency.id}/authorisations/business-licence`)).status).toBe(
        200,
      );
      expected.set(`${agency.id}:business-licence`, false);
      if (i % 3 === 0) {
        expect((await other.operator('PUT', `/operator/agencies/${agency.id}/authorisations/business-licence`)).status).toBe(200);
        expected.set(`${agency.id}:business-licence`, true);
      }
    }

    await eventually(async () => {
      const views = await Promise.all(
        agencies.map(async (agency) => (await b.operator('GET', `/operator/agencies/${agency.id}`)).body),
      );
      return views.every((view) => view.status === 'active') ? true : undefined;
    }, 90_000);
    // Dozens of writes through one operator key, one at a time: on a loaded host they may take longer than 20 s.
    await outboxSettled(a, 90_000);
    for (const agency of agencies) {
      const states = await eventually(async () => {
        const found = await authorisations(a, agency.id);
        return Object.values(found).every((status) => status === 'active' || status === 'withdrawn') ? found : undefined;
      });
      for (const typeId of TYPES) {
        const authorised = expected.get(`${agency.id}:${typeId}`)!;
        expect(await onChain(agency.did, typeId)).toBe(authorised);
        expect(states[typeId]).toBe(authorised ? 'active' : 'withdrawn');
      }
    }
  });

  it('issues on both replicas exactly where the chain authorises', async () => {
    for (const [i, agency] of agencies.entries()) {
      const replica = i % 2 === 0 ? b : a;
      const issued = await replica.call('POST', '/credentials/issue', {
        token: agency.apiKey,
        body: {
          credential: { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE },
          options: { format: 'dc+sd-jwt' },
        },
      });
      expect(issued.status).toBe(201);
    }
  });

  it('refuses issuance on one replica as soon as the other queues a withdrawal, before the chain has it', async () => {
    // Agency 3 is authorised for driving licences and issued on A in the previous test: A remembers it active.
    const agency = agencies[3]!;
    const issueOnA = () =>
      a.call('POST', '/credentials/issue', {
        token: agency.apiKey,
        body: {
          credential: { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE },
          options: { format: 'dc+sd-jwt' },
        },
      });
    expect((await issueOnA()).status).toBe(201);
    // Nothing reaches the chain meanwhile, so no registry event can tell A: only the shared database can.
    for (const replica of [a, b]) await replica.app.get(OutboxWorker).stop();
    try {
      expect((await b.operator('DELETE', `/operator/agencies/${agency.id}/authorisations/driving-licence`)).status).toBe(200);
      // Without the authorisations' change feed A went on issuing until the withdrawal was mined, or for 30 s.
      const refused = await eventually(async () => {
        const answer = await issueOnA();
        return answer.status === 201 ? undefined : answer;
      }, 5_000);
      expect(refused.status).toBe(403);
      expect(refused.body.type).toBe('urn:chancery:problem:not_authorised_for_type');
    } finally {
      for (const replica of [a, b]) replica.app.get(OutboxWorker).start();
    }
    // Granted again through A for the tests that follow; both replicas issue once it is mined.
    expect((await a.operator('PUT', `/operator/agencies/${agency.id}/authorisations/driving-licence`)).status).toBe(200);
    await outboxSettled(a);
    await eventually(async () => ((await authorisations(b, agency.id))['driving-licence'] === 'active' ? true : undefined));
    await eventually(async () => ((await issueOnA()).status === 201 ? true : undefined));
  });

  it('revokes in bulk on one replica while the other suspends: both see it at once, every served list equals its anchor', async () => {
    type Issued = { id: string; credential: string; agency: (typeof agencies)[number] };
    const issued: Issued[] = [];
    const statusAt = async (replica: TestApp, credential: string) =>
      (
        (await replica.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } })).body as {
          checks: { check: string; passed: boolean; reason: string; anchored?: boolean }[];
        }
      ).checks.find((check) => check.check === 'status');
    // Two agencies, credentials of both formats issued on both replicas (so in the same lists).
    for (const agency of [agencies[3]!, agencies[4]!]) {
      for (let round = 0; round < 3; round++) {
        for (const replica of [a, b]) {
          for (const format of ['dc+sd-jwt', 'jwt_vc_json']) {
            const response = await replica.call('POST', '/credentials/issue', {
              token: agency.apiKey,
              body: { credential: { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE }, options: { format } },
            });
            expect(response.status).toBe(201);
            issued.push({ id: response.body.credentialId, credential: response.body.credential, agency });
          }
        }
      }
    }
    // Any publisher failure on either replica (a unique violation on a version included) would be logged here.
    const complaints = [jest.spyOn(Logger.prototype, 'warn'), jest.spyOn(Logger.prototype, 'error')];
    const statusComplaints = () =>
      complaints.flatMap((spy) =>
        spy.mock.contexts.filter((logger) => (logger as { context?: string }).context === 'StatusService'),
      );
    // Per agency: a third revoked in bulk on B, a third suspended in bulk on A at the same moment, a third left.
    const fate = (i: number) => (['revoke', 'suspend', 'valid'] as const)[i % 3]!;
    const changes = [agencies[3]!, agencies[4]!].flatMap((agency) =>
      (['revoke', 'suspend'] as const).map((action) => {
        const credentialIds = issued.filter((c, i) => c.agency === agency && fate(i) === action).map((c) => c.id);
        return (action === 'revoke' ? b : a)
          .call('POST', '/credentials/status', {
            token: agency.apiKey,
            body: { credentialIds, action, reason: `replica bulk ${action}` },
          })
          .then((response) => ({ response, count: credentialIds.length }));
      }),
    );
    for (const { response, count } of await Promise.all(changes)) {
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ changed: count });
    }
    const expectedStatus = (i: number) =>
      ({
        revoke: { passed: false, reason: 'the credential is revoked' },
        suspend: { passed: false, reason: 'the credential is suspended' },
        valid: { passed: true, reason: 'valid' },
      })[fate(i)];
    // At once, without waiting for the anchors, on both replicas.
    for (const [i, { credential }] of issued.entries()) {
      for (const replica of [a, b])
        expect(await statusAt(replica, credential)).toEqual(expect.objectContaining(expectedStatus(i)));
    }
    await outboxSettled(a);
    for (const [i, { credential }] of issued.entries()) {
      for (const replica of [a, b]) {
        expect(
          await eventually(async () => {
            const check = await statusAt(replica, credential);
            return check?.anchored ? check : undefined;
          }),
        ).toEqual({ check: 'status', anchored: true, ...expectedStatus(i) });
      }
    }

    // Every list, every purpose: the bytes A and B serve are the same, and equal the digest anchored for that version.
    const anchors = new Contract(
      (await a.operator('GET', '/operator/chain')).body.contracts.StatusListAnchor,
      contractInterface('StatusListAnchor'),
      provider,
    );
    const publicUrl = a.config.http.publicUrl!;
    const lists = await db(a).use(undefined, (m) => m.getRepository(StatusListEntity).find());
    expect(new Set(issued.map((c) => c.agency.id)).size).toBe(2);
    expect(lists.filter((list) => list.agencyId === agencies[3]!.id || list.agencyId === agencies[4]!.id).length).toBe(4);
    const purposesOf = { token: ['token'], bitstring: ['revocation', 'suspension'] } as const;
    for (const list of lists) {
      for (const purpose of purposesOf[list.kind]) {
        const path = `/status/${list.id}/${purpose}`;
        const [servedA, servedB] = await Promise.all([a, b].map(async (replica) => (await fetch(replica.url + path)).text()));
        expect(servedB).toBe(servedA);
        const payload = decodeJwt(servedA) as { version: number; sub?: string; id?: string };
        expect(payload.sub ?? payload.id).toBe(publicUrl + path);
        const key = keccak256(toUtf8Bytes(publicUrl + path));
        const [digest] = await anchors.getFunction('anchorOf')(key, payload.version);
        expect(digest).toBe('0x' + createHash('sha256').update(servedA).digest('hex'));
        expect(Number(await anchors.getFunction('latestVersion')(key))).toBe(payload.version);
      }
    }

    // No version was published twice: versions run 1..n per list and purpose, each anchored once, as signed.
    const publications = await db(a).use(undefined, (m) => m.getRepository(StatusPublicationEntity).find());
    const byList = new Map<string, StatusPublicationEntity[]>();
    for (const publication of publications) {
      const key = `${publication.listId}/${publication.purpose}`;
      byList.set(key, [...(byList.get(key) ?? []), publication]);
    }
    expect(byList.size).toBe(lists.reduce((sum, list) => sum + purposesOf[list.kind].length, 0));
    for (const [path, versions] of byList) {
      expect(versions.map((p) => p.version).sort((x, y) => x - y)).toEqual(versions.map((_, i) => i + 1));
      const key = keccak256(toUtf8Bytes(`${publicUrl}/status/${path}`));
      for (const publication of versions) {
        expect((await anchors.getFunction('anchorOf')(key, publication.version))[0]).toBe('0x' + publication.digest);
      }
    }
    const anchorWrites = await db(a).use(undefined, (m) => m.getRepository(OutboxEntity).findBy({ purpose: 'status:anchor' }));
    expect(anchorWrites.map((entry) => entry.id).sort()).toEqual(publications.map((p) => p.outboxId).sort());
    expect(anchorWrites.every((entry) => entry.status === 'mined')).toBe(true);
    expect(statusComplaints()).toEqual([]);
    for (const spy of complaints) spy.mockRestore();
  });

  it('redeems each pre-authorized code once across replicas, 200 parallel token requests; each token works on the other', async () => {
    const agency = agencies[5]!;
    // 50 offers (each renders its QR codes, the costly part), created on both replicas.
    const offers: { link: string; code: string; txCode: string }[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const created = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).call('POST', '/agency/offers', {
            token: agency.apiKey,
            body: { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: DRIVING_LICENCE },
          }),
        ),
      );
      for (const offer of created) {
        expect(offer.status).toBe(201);
        offers.push({
          link: offer.body.credentialOffer,
          code: preAuthorizedCodeOf(offer.body.credentialOffer),
          txCode: offer.body.txCode,
        });
      }
    }
    const tokenRequest = (replica: TestApp, code: string, txCode: string) =>
      replica.call('POST', '/oid4vci/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: PRE_AUTHORIZED_GRANT, 'pre-authorized_code': code, tx_code: txCode }).toString(),
      });
    // Four requests per code, two to each replica, the first one sent alternating: 200 requests in flight at once.
    const routes = offers.map((_, i) => (i % 2 === 0 ? [a, b, a, b] : [b, a, b, a]));
    const replies = await Promise.all(
      offers.flatMap((offer, i) => routes[i]!.map((replica) => tokenRequest(replica, offer.code, offer.txCode))),
    );
    expect(replies).toHaveLength(200);
    const tokens: { accessToken: string; issuedBy: TestApp; other: TestApp; offer: (typeof offers)[number] }[] = [];
    for (const [i, offer] of offers.entries()) {
      const answers = replies.slice(4 * i, 4 * i + 4);
      const won = answers.filter((reply) => reply.status === 200);
      expect(won).toHaveLength(1);
      for (const lost of answers.filter((reply) => reply.status !== 200)) {
        expect(lost).toEqual(expect.objectContaining({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) }));
      }
      const issuedBy = routes[i]![answers.indexOf(won[0]!)]!;
      tokens.push({ accessToken: won[0]!.body.access_token, issuedBy, other: issuedBy === a ? b : a, offer });
    }
    // Which replica wins a race is up to timing (both share this process's event loop), and a loaded machine can
    // favour one for all 50. So one more code is redeemed at each replica alone: tokens of both replicas are then
    // checked on the other, whatever the race's outcome.
    for (const replica of [a, b]) {
      const created = await replica.call('POST', '/agency/offers', {
        token: agency.apiKey,
        body: { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: DRIVING_LICENCE },
      });
      expect(created.status).toBe(201);
      const offer = {
        link: created.body.credentialOffer as string,
        code: preAuthorizedCodeOf(created.body.credentialOffer),
        txCode: created.body.txCode as string,
      };
      const reply = await tokenRequest(replica, offer.code, offer.txCode);
      expect(reply.status).toBe(200);
      tokens.unshift({ accessToken: reply.body.access_token, issuedBy: replica, other: replica === a ? b : a, offer });
    }
    expect(tokens.some((t) => t.issuedBy === a) && tokens.some((t) => t.issuedBy === b)).toBe(true);

    // One token key for the service: both publish the same JWKS, naming every token's kid.
    const [jwksA, jwksB] = await Promise.all([a, b].map((replica) => replica.call('GET', '/.well-known/jwks.json')));
    expect(jwksA.status).toBe(200);
    expect(jwksB.body).toEqual(jwksA.body);
    const kids = new Set((jwksA.body.keys as { kid: string }[]).map((key) => key.kid));
    expect(tokens.every((t) => kids.has(decodeProtectedHeader(t.accessToken).kid!))).toBe(true);

    // Every token is accepted by the other replica: past authentication, the request fails only for its missing proof.
    const credentialRequest = (replica: TestApp, token: string) =>
      replica.call('POST', '/oid4vci/credential', {
        token,
        body: { credential_configuration_id: 'driving-licence.sd_jwt' },
      });
    const forged = `${tokens[0]!.accessToken.slice(0, -4)}${tokens[0]!.accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    expect(await credentialRequest(tokens[0]!.other, forged)).toEqual(
      expect.objectContaining({ status: 401, body: expect.objectContaining({ error: 'invalid_token' }) }),
    );
    for (const reply of await Promise.all(tokens.map((t) => credentialRequest(t.other, t.accessToken)))) {
      expect(reply).toEqual(expect.objectContaining({ status: 400, body: expect.objectContaining({ error: 'invalid_proof' }) }));
    }

    // A sample goes the whole way at the other replica: its nonce, the key proof, the credential.
    const { client, requestCredential } = wallet();
    for (const t of tokens.slice(0, 10)) {
      const credentialOffer = await client.resolveCredentialOffer(t.offer.link);
      const resolved = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
      // Routed to the other replica, as a load balancer would.
      const issuerMetadata = {
        ...resolved,
        credentialIssuer: {
          ...resolved.credentialIssuer,
          credential_endpoint: `${t.other.url}/oid4vci/credential`,
          nonce_endpoint: `${t.other.url}/oid4vci/nonce`,
        },
      };
      const { credential, holderKey } = await requestCredential({
        issuerMetadata,
        accessToken: t.accessToken,
        configurationId: 'driving-licence.sd_jwt',
      });
      expect(decodeJwt(credential.split('~')[0]!)).toEqual(
        expect.objectContaining({ iss: agency.did, cnf: { jwk: expect.objectContaining({ x: holderKey.x, y: holderKey.y }) } }),
      );
      for (const replica of [a, b]) {
        expect(
          (await replica.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } })).body.verified,
        ).toBe(true);
      }
    }
  }, 300_000);

  it('sent no outbox entry twice: every transaction on chain is exactly one settled entry', async () => {
    await outboxSettled(a);
    // An entry reads mined before its mined-listeners (this test's is the last) have run and its lease is given
    // back: wait for both, then compare exactly.
    const afterStartUp = (entry: OutboxEntity) => !entry.purpose.startsWith('deploy:') && entry.purpose !== 'consortium:bind';
    const entries = await eventually(async () => {
      const all = await db(a).use(undefined, (m) => m.getRepository(OutboxEntity).find());
      const done =
        all.every((entry) => entry.claimedBy === null) && all.filter(afterStartUp).every((entry) => notified.includes(entry.id));
      return done ? all : undefined;
    });
    const settledHashes = entries.filter((entry) => entry.blockNumber !== null).map((entry) => entry.txHash!.toLowerCase());
    const onChainHashes: string[] = [];
    const latest = await provider.getBlockNumber();
    for (let n = 0; n <= latest; n++)
      onChainHashes.push(...(await provider.getBlock(n))!.transactions.map((h) => h.toLowerCase()));
    expect(new Set(settledHashes).size).toBe(settledHashes.length);
    expect(onChainHashes.sort()).toEqual([...settledHashes].sort());
    expect(entries.every((entry) => entry.status === 'mined')).toBe(true);
    expect(entries.filter((entry) => entry.claimedBy !== null)).toEqual([]);
    // Exactly one replica advanced and settled each entry written after start-up (agencies, authorisations, anchors).
    // Start-up writes (deployments, the consortium's binding, ADR 15) were settled before the listeners existed.
    const written = entries.filter(afterStartUp).map((entry) => entry.id);
    expect([...notified].sort()).toEqual(written.sort());
  });

  it('settles an authorisation from the write, so a mined-listener that runs twice on both replicas changes nothing', async () => {
    const agency = agencies[0]!;
    const row = await db(a).use(undefined, (m) =>
      m.getRepository(AgencyAuthorisationEntity).findOneByOrFail({ agencyId: agency.id, typeId: 'driving-licence' }),
    );
    const entry = await db(a).use(undefined, (m) => m.getRepository(OutboxEntity).findOneByOrFail({ id: row.outboxId }));
    for (const replica of [a, b, a, b]) await replica.app.get(OutboxWorker).notifyMined(entry);
    expect((await authorisations(b, agency.id))['driving-licence']).toBe('active');
  });

  it('repairs, without a restart, an authorisation flipped against the chain and an activation that was lost', async () => {
    const flipped = agencies[1]!;
    const stuck = agencies[2]!;
    // The reconcilers (every 200 ms here) would repair the flip before B is asked: they wait until it was refused.
    for (const replica of [a, b]) await replica.app.get(Reconciler).onApplicationShutdown();
    // What the old toggle and a lost race left behind on the replicas: state that disagrees with the chain.
    await db(a).use(undefined, (m) =>
      m
        .getRepository(AgencyAuthorisationEntity)
        .update({ agencyId: flipped.id, typeId: 'driving-licence' }, { status: 'withdrawn' }),
    );
    await db(a).use(undefined, (m) => m.getRepository(AgencyEntity).update({ id: stuck.id }, { status: 'anchoring' }));
    expect(
      (
        await b.call('POST', '/credentials/issue', {
          token: flipped.apiKey,
          body: {
            credential: { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE },
            options: { format: 'dc+sd-jwt' },
          },
        })
      ).status,
    ).toBe(403);
    for (const replica of [a, b]) replica.app.get(Reconciler).start(200);

    await eventually(async () => ((await authorisations(a, flipped.id))['driving-licence'] === 'active' ? true : undefined));
    await eventually(async () =>
      (await b.operator('GET', `/operator/agencies/${stuck.id}`)).body.status === 'active' ? true : undefined,
    );
    expect(await onChain(flipped.did, 'driving-licence')).toBe(true);
  });

  it('creates one status list per agency and kind when both replicas need a new one at the same moment', async () => {
    // On PostgreSQL both replicas at once (without the creation lock: a list per caller). On SQLite the single writer
    // serialises creators, but two replicas in this one process would stall on its file lock: one replica's calls.
    const callers = a.dbKind === 'postgres' ? [a, b, a, b] : [a, a, a, a];
    const agencyId = agencies[0]!.id;
    const listsOf = () => db(a).use(undefined, (m) => m.getRepository(StatusListEntity).findBy({ agencyId }));
    const current = (await listsOf())[0]!;
    for (let round = 0; round < 3; round++) {
      // A new signing key (kid) makes every open list unusable, so each call would create its next lists.
      const issuer = {
        agencyId,
        did: current.issuerDid,
        signingKeyId: current.signingKeyId,
        signingKid: `${current.signingKid}-rotated-${round}`,
        controllerKeyId: current.controllerKeyId,
      };
      const before = await listsOf();
      await Promise.all(callers.map((replica) => replica.app.get(StatusService).ensureLists(issuer)));
      const created = (await listsOf()).filter((list) => !before.some((old) => old.id === list.id));
      expect(created.map((list) => list.kind).sort()).toEqual(['bitstring', 'token']);
      expect(created.every((list) => list.signingKid === issuer.signingKid)).toBe(true);
    }
    await outboxSettled(a);
  });

  it('leases an entry to one replica at a time, whatever its state, until released or expired', async () => {
    for (const replica of [a, b]) await replica.app.get(OutboxWorker).stop();
    const [outboxA, outboxB] = [a.app.get(OutboxService), b.app.get(OutboxService)];
    const [id] = await db(a).transaction((tx) =>
      outboxA.enqueue(tx, [{ signerKeyId: 'no-such-key', to: null, data: '0x00', purpose: 'test:lease', ref: 'test:lease' }]),
    );
    try {
      const entry = (await outboxA.get(id!))!;
      expect(await outboxA.claim(entry, 60_000)).toBe(true);
      expect(await outboxB.claim(entry, 60_000)).toBe(false);
      // Only the holder may store a signed transaction or settle the entry.
      expect(await outboxB.updateHeld(id!, { status: 'signed', rawTx: '0x01', txHash: '0x02' })).toBe(false);
      expect(await outboxA.updateHeld(id!, { status: 'signed', rawTx: '0x01', txHash: '0x02' })).toBe(true);
      const signed = (await outboxB.get(id!))!;
      expect(await outboxB.claim(signed, 60_000)).toBe(false);
      await outboxA.release(id!);
      expect(await outboxB.claim(signed, 60_000)).toBe(true);
      expect(await outboxA.claim(signed, 60_000)).toBe(false);
      // A lease that ran out (its holder died) is taken over.
      await outboxB.release(id!);
      expect(await outboxB.claim(signed, -1_000)).toBe(true);
      expect(await outboxA.claim(signed, 60_000)).toBe(true);
    } finally {
      await db(a).use(undefined, (m) => m.getRepository(OutboxEntity).delete({ id: id! }));
      for (const replica of [a, b]) replica.app.get(OutboxWorker).start();
    }
  });
});

if (process.env.TEST_DB === 'postgres') {
  /** Replicas of a new deployment (compose, a fault harness) start at once on an empty database and chain. */
  describe('two replicas started together on a fresh database and chain', () => {
    it('deploy the contracts, found the consortium and seed the demo agency once, and agree on them', async () => {
      const node = await EmbeddedChainNode.start({ chainId: 7777, port: await testPort() });
      const database = await testDatabase('together', { migrated: true });
      const shared = {
        ...database.env,
        CHAIN_RPC_URL: node.rpcUrl,
        KMS_MASTER_KEY: randomBytes(32).toString('base64'),
        OPERATOR_API_KEY: randomBytes(24).toString('base64url'),
        DEMO_AGENCY: 'true',
      };
      const started = await Promise.allSettled([startTestApp(shared), startTestApp(shared)]);
      const replicas = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      try {
        expect(started.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
        const [first, second] = replicas as [TestApp, TestApp];
        const chains = await Promise.all(
          replicas.map(async (replica) => (await replica.operator('GET', '/operator/chain')).body),
        );
        expect(chains[1].contracts).toEqual(chains[0].contracts);
        expect(chains[1].consortium).toEqual(chains[0].consortium);
        const entries = await first.app.get(Database).use(undefined, (m) => m.getRepository(OutboxEntity).find());
        const purposes = entries.map((entry) => entry.purpose).filter((purpose) => purpose.startsWith('deploy:'));
        expect(purposes.length).toBe(new Set(purposes).size);
        const demo = await second.app
          .get(Database)
          .use(undefined, (m) => m.getRepository(AgencyEntity).countBy({ slug: 'demo' }));
        expect(demo).toBe(1);
      } finally {
        for (const replica of replicas) await replica.close();
        await node.stop();
        await database.drop();
      }
    });
  });
}
