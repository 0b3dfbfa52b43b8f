import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import { peerToken, peerTokenSigningInput } from '../src/issuer/approvals/peer-token.js';
import { KeyService } from '../src/keys/index.js';
import { hashCitizenPassword } from '../src/issuer/authorization-server/citizen-authenticator.js';
import { Database } from '../src/persistence/index.js';
import { ApprovalRepository } from '../src/issuer/approvals/approval.repository.js';
import {
  ApprovalApplicationEntity,
  ApprovalInboxCursorEntity,
  ApprovalInboxEntity,
} from '../src/issuer/approvals/approval.entity.js';
import { CredentialOfferEntity } from '../src/issuer/offers/offer.entity.js';
import { OfferService } from '../src/issuer/offers/offer.service.js';
import { OutboxEntity } from '../src/chain/outbox.entity.js';
import { ChainBootstrap, ConsortiumService, credentialTypeKey, JointApprovalChain } from '../src/chain/index.js';
import { contentMatchesApplication } from '../src/issuer/approvals/approval-rules.js';
import { ApprovalService } from '../src/issuer/approvals/approval.service.js';
import { holdNextCall } from './support/hold.js';
import { createActiveAgency, eventually, startTestApp, type TestApp } from './support/test-app.js';
import { AuthorizationSessionRepository } from '../src/issuer/authorization-server/authorization-session.repository.js';
import { clientErrorCode, wallet, signInAtIssuer } from './support/wallet.js';
import { deferredCredentials, verifiedIndependently } from './support/deferred.js';
import { BUSINESS_LICENCE_CLAIMS, DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';

const REDIRECT_URI = 'https://wallet.example/callback';
const CONFIGURATION = 'business-licence.sd_jwt';
/** What the demo identity provider holds for the applicant (another enterprise than the agency API's). */
const CITIZEN_CLAIMS = { ...BUSINESS_LICENCE_CLAIMS, enterprise_name: '钱七餐饮有限公司', legal_representative: '钱七' };

/** A decision period short enough to pass by moving the chain's clock, long enough not to pass by itself. */
const DECISION_PERIOD = 3_600;

/**
 * Issue 16 leftovers, in one department (it issues and is the one required department of the policies):
 * no orphan offer when the application cannot be stored, the operator's expire after the deadline, and the
 * inbox that follows a stored cursor.
 */
describe('joint approval in one department', () => {
  let app: TestApp;
  let db: Database;
  let controller: string;
  let agency: { id: string; did: string; apiKey: string };
  let provider: JsonRpcProvider;
  let directoryDir: string;

  const apply = (type: string, claims: Record<string, unknown>) =>
    app.call('POST', '/agency/approvals', { token: agency.apiKey, body: { type, claims, txCode: false } });
  const state = (filed: { reference: string; readToken: string }) =>
    app.call('GET', `/approvals/${filed.reference}`, { token: filed.readToken }).then((reply) => reply.body);
  const submitted = (filed: { reference: string; readToken: string }) =>
    eventually(
      async () => ((await state(filed)).timeline.some((step: { step: string }) => step.step === 'submitted') ? true : undefined),
      60_000,
    );
  /** Files an application and waits until its submission is on chain. */
  const fileSubmitted = async (type: string, claims: Record<string, unknown>) => {
    const filed = await apply(type, claims);
    expect(filed.status).toBe(201);
    await submitted(filed.body);
    return filed.body as { reference: string; readToken: string; applicationId: string };
  };
  const inbox = async () =>
    ((await app.operator('GET', '/operator/approvals/inbox')).body as { applicationId: string }[]).map(
      (entry) => entry.applicationId,
    );
  const count = (entity: new () => object) => db.use(undefined, (m) => m.getRepository(entity).count());
  /** A peer token for the content of an application, signed by this department's own controller key. */
  const controllerToken = async (applicationId: string) => {
    const { signingInput, digest } = peerTokenSigningInput(controller, applicationId, Math.floor(Date.now() / 1000));
    const governorKey = await app.app.get(ChainBootstrap).governorKeyId();
    return peerToken(signingInput, await app.app.get(KeyService).signDigest(governorKey, digest));
  };

  beforeAll(async () => {
    // The demo identity provider of wallet-started applications: one citizen with a business-licence record.
    directoryDir = mkdtempSync(join(tmpdir(), 'chancery-citizens-'));
    const directory = join(directoryDir, 'citizens.json');
    writeFileSync(
      directory,
      JSON.stringify({
        citizens: [
          {
            username: 'qian.qi',
            password: await hashCitizenPassword('correct horse battery'),
            subject: 'citizen-0001',
            claims: { 'business-licence': CITIZEN_CLAIMS },
          },
        ],
      }),
    );
    app = await startTestApp({
      RECONCILE_INTERVAL_MS: '200',
      OID4VCI_WALLET_REDIRECT_URIS: REDIRECT_URI,
      CITIZEN_DIRECTORY_FILE: directory,
    });
    db = app.app.get(Database);
    provider = new JsonRpcProvider(app.rpcUrl, undefined, { staticNetwork: true });
    controller = (await app.operator('GET', '/operator/consortium')).body.department.controller;
    const created = await createActiveAgency(app, 'market-office', 'Market Office', ['business-licence', 'driving-licence']);
    agency = { id: created.agency.id, did: created.agency.did, apiKey: created.apiKey };
    // A consortium of one (threshold 1): each proposal executes at once. Business licences need our approval;
    // driving licences too, within an hour.
    for (const [type, period] of [
      ['business-licence', 0],
      ['driving-licence', DECISION_PERIOD],
    ] as const) {
      const proposed = await app.operator('POST', '/operator/consortium/proposals', {
        kind: 'SetApprovalPolicy',
        credentialType: type,
        issuingDepartment: controller,
        issuingAgency: agency.id,
        departments: [controller],
        decisionPeriodSeconds: period,
      });
      expect(proposed.status).toBe(200);
      expect(proposed.body.executed).toBe(true);
    }
  }, 300_000);

  afterAll(async () => {
    provider?.destroy();
    await app?.close();
    if (directoryDir) rmSync(directoryDir, { recursive: true, force: true });
  }, 120_000);

  it('leaves no orphan offer (nor chain write) when the application cannot be stored after its offer', async () => {
    const before = {
      offers: await count(CredentialOfferEntity),
      applications: await count(ApprovalApplicationEntity),
      outbox: await count(OutboxEntity),
    };
    // The application's INSERT fails (the offer was inserted just before it, in the same transaction); then
    // building the agency's answer fails (it is built before the filing, so nothing is filed without it).
    const failures = [
      () => jest.spyOn(app.app.get(ApprovalRepository), 'insert').mockRejectedValueOnce(new Error('disk full')),
      () => jest.spyOn(app.app.get(OfferService), 'offerCreated').mockRejectedValueOnce(new Error('no QR code')),
    ];
    for (const fail of failures) {
      const failing = fail();
      try {
        const filed = await apply('business-licence', BUSINESS_LICENCE_CLAIMS);
        expect(filed.status).toBe(500);
        expect(failing).toHaveBeenCalledTimes(1);
      } finally {
        failing.mockRestore();
      }
    }
    expect({
      offers: await count(CredentialOfferEntity),
      applications: await count(ApprovalApplicationEntity),
      outbox: await count(OutboxEntity),
    }).toEqual(before);

    // The same request once the database works: offer, application and submit write all stored.
    const filed = await apply('business-licence', BUSINESS_LICENCE_CLAIMS);
    expect(filed.status).toBe(201);
    expect(await count(CredentialOfferEntity)).toBe(before.offers + 1);
    expect(await count(ApprovalApplicationEntity)).toBe(before.applications + 1);
    const offer = await db.use(undefined, (m) =>
      m.getRepository(CredentialOfferEntity).findOneBy({ id: filed.body.offer.offerId }),
    );
    expect(offer).toMatchObject({ approval: 'pending', status: 'offered' });
    await submitted(filed.body);
    // Only the contract settles an application's offer: the agency's officer approval does not apply to it.
    const byOfficer = await app.call('POST', `/agency/offers/${filed.body.offer.offerId}/approve`, { token: agency.apiKey });
    expect(byOfficer.status).toBe(404);
    expect(
      await db.use(undefined, (m) => m.getRepository(CredentialOfferEntity).findOneBy({ id: filed.body.offer.offerId })),
    ).toMatchObject({ approval: 'pending' });
  }, 120_000);

  it('the inbox follows a stored cursor from the deployment block and keeps old pending applications', async () => {
    const first = await apply('business-licence', BUSINESS_LICENCE_CLAIMS);
    expect(first.status).toBe(201);
    await submitted(first.body);
    const listed = await inbox();
    expect(listed).toContain(first.body.applicationId);
    const contract = (await app.operator('GET', '/operator/consortium')).body.jointApproval as string;
    const cursor = async () =>
      (await db.use(undefined, (m) =>
        m.getRepository(ApprovalInboxCursorEntity).findOneBy({ contract: contract.toLowerCase() }),
      ))!.nextBlock;
    const afterFirst = await cursor();
    expect(afterFirst).toBeGreaterThan(0);
    // A later scan starts at the cursor; the older application is still listed (stored as an open entry).
    const second = await apply('business-licence', BUSINESS_LICENCE_CLAIMS);
    await submitted(second.body);
    const relisted = await inbox();
    expect(relisted).toEqual(expect.arrayContaining([first.body.applicationId, second.body.applicationId]));
    // Newest first.
    expect(relisted.indexOf(second.body.applicationId)).toBeLessThan(relisted.indexOf(first.body.applicationId));
    expect(await cursor()).toBeGreaterThan(afterFirst);
    expect(await cursor()).toBeLessThanOrEqual((await provider.getBlockNumber()) + 1);
    const stored = await db.use(undefined, (m) =>
      m.getRepository(ApprovalInboxEntity).findOneBy({ applicationId: first.body.applicationId }),
    );
    expect(stored).toMatchObject({ state: 'open', policyId: '1' });

    // Our decision takes it out of the inbox for good.
    const decided = await app.operator('POST', `/operator/approvals/${first.body.applicationId}/decision`, { approve: true });
    expect(decided.body).toMatchObject({ status: 'mined', outcome: 'Approved' });
    expect(await inbox()).not.toContain(first.body.applicationId);
    expect(
      await db.use(undefined, (m) => m.getRepository(ApprovalInboxEntity).findOneBy({ applicationId: first.body.applicationId })),
    ).toMatchObject({ state: 'closed' });
  }, 120_000);

  it("decrypts an application's content for a required department only: another signer gets 403, nothing opened", async () => {
    const filed = await fileSubmitted('business-licence', BUSINESS_LICENCE_CLAIMS);
    const { applicationId } = filed;
    // A good signature by a key that is not a department of the application's policy.
    const outsider = Wallet.createRandom();
    const tokenFor = (id: string) => {
      const { signingInput, digest } = peerTokenSigningInput(outsider.address, id, Math.floor(Date.now() / 1000));
      return peerToken(signingInput, outsider.signingKey.sign(digest));
    };
    const opened = jest.spyOn(app.app.get(KeyService), 'openJson');
    try {
      const refused = await app.call('GET', `/consortium/approvals/${applicationId}/content`, { token: tokenFor(applicationId) });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'forbidden' });
      const unknown = '0x' + 'ab'.repeat(32);
      expect((await app.call('GET', `/consortium/approvals/${unknown}/content`, { token: tokenFor(unknown) })).status).toBe(404);
      expect(opened).not.toHaveBeenCalled();
    } finally {
      opened.mockRestore();
    }
    // Our own controller is the policy's one required department: it reads the content, which is what the id commits to.
    const keys = app.app.get(KeyService);
    const ours = () => controllerToken(applicationId);
    const read = await app.call('GET', `/consortium/approvals/${applicationId}/content`, { token: await ours() });
    expect(read.status).toBe(200);
    expect(contentMatchesApplication(applicationId, read.body.salt, read.body.content)).toBe(true);
    // The same department once removed from the consortium (the governance contract says so): 403, nothing opened.
    const member = jest.spyOn(app.app.get(ConsortiumService), 'isMember').mockResolvedValue(false);
    const openedAgain = jest.spyOn(keys, 'openJson');
    try {
      const removed = await app.call('GET', `/consortium/approvals/${applicationId}/content`, { token: await ours() });
      expect(removed.status).toBe(403);
      expect(openedAgain).not.toHaveBeenCalled();
    } finally {
      member.mockRestore();
      openedAgain.mockRestore();
    }
  }, 120_000);

  it('ignores an application id that someone else submitted first under another policy: no content served, nothing settled', async () => {
    const filed = await fileSubmitted('business-licence', BUSINESS_LICENCE_CLAIMS);
    const { applicationId } = filed;
    const chain = app.app.get(JointApprovalChain);
    const real = await chain.application(applicationId);
    expect(real).toBeDefined();
    // As the chain would answer had a front-runner's submit under its own policy taken the id.
    const taken = jest.spyOn(chain, 'application').mockResolvedValue({ ...real!, policyId: real!.policyId + 1000n });
    try {
      const token = await controllerToken(applicationId);
      expect((await app.call('GET', `/consortium/approvals/${applicationId}/content`, { token })).status).toBe(404);
      // Its Approved event settles nothing of ours.
      await app.app.get(ApprovalService).record({
        event: { event: 'Approved', applicationId, policyId: real!.policyId + 1000n },
        txHash: '0x' + '11'.repeat(32),
        blockNumber: 1,
      } as never);
      expect((await state(filed)).state).toBe('pending');
    } finally {
      taken.mockRestore();
    }
  }, 120_000);

  it('expires an application past its deadline by itself (chain time moved on): Rejected on chain, expired here, content erased', async () => {
    const filed = await fileSubmitted('driving-licence', DRIVING_LICENCE_CLAIMS);
    const { applicationId } = filed;
    expect(await inbox()).toContain(applicationId);

    // Before the deadline the contract refuses (simulated; nothing is sent).
    const early = await app.operator('POST', `/operator/approvals/${applicationId}/expire`);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'approval_refused', reason: 'DeadlineNotPassed' });

    await provider.send('evm_increaseTime', [DECISION_PERIOD + 1]);
    await provider.send('evm_mine', []);
    // Decisions are closed now; nobody asks, and the reconcile step closes it on chain by itself (it could no longer
    // be decided, and its content would stay kept and served while it stayed pending).
    const late = await app.operator('POST', `/operator/approvals/${applicationId}/decision`, { approve: true });
    expect(['DecisionAfterDeadline', 'ApplicationNotPending']).toContain(late.body.reason);

    const view = await eventually(async () => {
      const current = await state(filed);
      return current.state === 'expired' ? current : undefined;
    }, 60_000);
    expect(view.reasonCodes).toEqual(['deadline-missed']);
    expect(view.timeline.at(-1)).toMatchObject({
      step: 'expired',
      reasonCode: 'deadline-missed',
      txHash: expect.stringMatching(/^0x/),
    });
    expect(await inbox()).not.toContain(applicationId);
    const [row] = await db.use(undefined, (m) =>
      m.query(`SELECT content_sealed, applicant_hash FROM approval_applications WHERE id = '${filed.reference}'`),
    );
    expect(row).toEqual({ content_sealed: '', applicant_hash: null });
    // Twice: the contract says it is no longer pending.
    const again = await app.operator('POST', `/operator/approvals/${applicationId}/expire`);
    expect(again.body).toMatchObject({ code: 'approval_refused', reason: 'ApplicationNotPending' });

    // The audit trail has the expiry's request (by the system) and the outcome (no content).
    const kinds = await db.use(undefined, (m) =>
      m.query(
        `SELECT kind FROM audit_entries WHERE subject IN ('application:${applicationId}', 'application:${filed.reference}') ORDER BY seq`,
      ),
    );
    expect((kinds as { kind: string }[]).map((row) => row.kind)).toEqual(
      expect.arrayContaining(['approval.expire.requested', 'approval.expired']),
    );
  }, 120_000);

  it('a wallet applies by itself (authorization code flow, scope): the citizen signs in, the application waits for our approval', async () => {
    const holder = wallet();
    const oauth2 = holder.oauth2;
    const issuerMetadata = await holder.client.resolveIssuerMetadata(app.url);
    const authorizationServerMetadata = issuerMetadata.authorizationServers[0]!;
    const start = (scope: string) =>
      oauth2.initiateAuthorization({ authorizationServerMetadata, clientId: 'citizen-wallet', redirectUri: REDIRECT_URI, scope });

    // No offer and no joint-approval policy for the type: a wallet cannot start anything.
    expect(clientErrorCode(await start('resident-identity').catch((error: unknown) => error))).toBe('invalid_request');
    // authorization_details work the same way (one type per application).
    const detailed = (ids: string[]) =>
      oauth2.initiateAuthorization({
        authorizationServerMetadata,
        clientId: 'citizen-wallet',
        redirectUri: REDIRECT_URI,
        additionalRequestPayload: {
          authorization_details: JSON.stringify(
            ids.map((id) => ({ type: 'openid_credential', credential_configuration_id: id })),
          ),
        },
      });
    const byDetails = await fetch((await detailed([CONFIGURATION])).authorizationRequestUrl);
    expect(byDetails.status).toBe(200);
    expect(await byDetails.text()).toContain('name="password"');
    const twoTypes = await detailed([CONFIGURATION, 'driving-licence.sd_jwt']).catch((error: unknown) => error);
    expect(clientErrorCode(twoTypes)).toBe('invalid_request');

    const applications = await count(ApprovalApplicationEntity);
    const authorization = await start('business-licence');
    const authorizeUrl = new URL(authorization.authorizationRequestUrl);
    const page = await fetch(authorizeUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="password"');
    const signIn = (fields: Record<string, string>) => signInAtIssuer(app.url, authorizeUrl, fields);
    // A wrong password: the page again, and nothing filed.
    const wrong = await signIn({ username: 'qian.qi', password: 'wrong' });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('Wrong username or password');
    expect(await count(ApprovalApplicationEntity)).toBe(applications);

    // Storing the authorization code fails: nothing is filed (the application, its offer and its chain write
    // commit with the code, so the wallet can always follow what was filed), and the same sign-in again works.
    const outbox = await count(OutboxEntity);
    const failing = jest
      .spyOn(app.app.get(AuthorizationSessionRepository), 'authorize')
      .mockRejectedValueOnce(new Error('the database refused the row'));
    try {
      expect((await signIn({ username: 'qian.qi', password: 'correct horse battery' })).status).toBe(500);
      expect(failing).toHaveBeenCalledTimes(1);
    } finally {
      failing.mockRestore();
    }
    expect(await count(ApprovalApplicationEntity)).toBe(applications);
    expect(await count(OutboxEntity)).toBe(outbox);

    const signedIn = await signIn({ username: 'qian.qi', password: 'correct horse battery' });
    expect(signedIn.status).toBe(302);
    const redirect = new URL(signedIn.headers.get('location')!);
    expect(redirect.origin + redirect.pathname).toBe(REDIRECT_URI);
    // The application was filed by the sign-in, before the wallet has a token.
    expect(await count(ApprovalApplicationEntity)).toBe(applications + 1);
    // The request is single-use: a second sign-in with it is refused.
    expect((await signIn({ username: 'qian.qi', password: 'correct horse battery' })).status).toBe(400);
    // The same citizen applies again for the same licence while the first application waits: refused at the sign-in
    // (access_denied to the wallet), nothing filed and nothing sent to the chain.
    const outboxBefore = await count(OutboxEntity);
    const again = new URL((await start('business-licence')).authorizationRequestUrl);
    expect((await fetch(again)).status).toBe(200);
    const refusedAgain = await signInAtIssuer(app.url, again, { username: 'qian.qi', password: 'correct horse battery' });
    const back = new URL(refusedAgain.headers.get('location') ?? 'about:blank');
    expect({ status: refusedAgain.status, error: back.searchParams.get('error') }).toEqual({
      status: 302,
      error: 'access_denied',
    });
    expect(back.searchParams.get('error_description')).toMatch(/already have an application for this licence/);
    expect(await count(ApprovalApplicationEntity)).toBe(applications + 1);
    expect(await count(OutboxEntity)).toBe(outboxBefore);

    const { accessTokenResponse } = await oauth2.retrieveAuthorizationCodeAccessToken({
      authorizationServerMetadata,
      authorizationCode: redirect.searchParams.get('code')!,
      pkceCodeVerifier: authorization.pkce?.codeVerifier,
      redirectUri: REDIRECT_URI,
    });
    const requested = await holder.sendCredentialRequest({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId: CONFIGURATION,
    });
    // Deferred: a transaction_id, and the application's reference with the applicant's read token.
    expect(requested.response.status).toBe(202);
    const transactionId = requested.credentialResponse.transaction_id!;
    expect(transactionId).toBeDefined();
    const link = (
      requested.credentialResponse as unknown as { application: { reference: string; status_uri: string; read_token: string } }
    ).application;
    expect(link.status_uri).toBe(`${app.url}/approvals/${link.reference}`);
    const filed = { reference: link.reference, readToken: link.read_token };
    const view = await state(filed);
    expect(view).toMatchObject({ typeId: 'business-licence', state: 'pending' });
    await submitted(filed);
    const poll = () =>
      holder.client.retrieveDeferredCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, transactionId });

    // The application holds the identity provider's claims (what the deciding department reads), for
    // every format the scope covers.
    const shown = (await app.operator('GET', `/operator/approvals/${view.applicationId}`)).body;
    expect(shown.content).toEqual({ typeId: 'business-licence', formats: ['dc+sd-jwt', 'jwt_vc_json'], claims: CITIZEN_CLAIMS });
    expect(await inbox()).toContain(view.applicationId);

    // Not issued before the approval.
    expect((await poll()).response.status).toBe(202);
    const approved = await app.operator('POST', `/operator/approvals/${view.applicationId}/decision`, { approve: true });
    expect(approved.body).toMatchObject({ status: 'mined', outcome: 'Approved' });

    // Issued after it, through the deferred flow, with the citizen's claims.
    const [credential] = await deferredCredentials(poll);
    expect(await verifiedIndependently(app, credential)).toMatchObject({
      iss: agency.did,
      enterprise_name: CITIZEN_CLAIMS.enterprise_name,
    });

    // The timeline: submitted, our decision, approved, issued; the chain steps with their transactions.
    const final = await state(filed);
    expect(final.state).toBe('approved');
    expect(final.timeline.map((step: { step: string }) => step.step)).toEqual(['submitted', 'decision', 'approved', 'issued']);
    expect(final.timeline[1]).toMatchObject({ department: controller, decision: 'approve', txHash: approved.body.txHash });
    // Filed by the wallet's sign-in (no personal data in the audit entry).
    const submittedBy = await db.use(undefined, (m) =>
      m.query(`SELECT actor FROM audit_entries WHERE kind = 'approval.submitted' AND subject = 'application:${link.reference}'`),
    );
    expect(submittedBy).toEqual([{ actor: 'wallet' }]);
  }, 180_000);

  it('deletes the draft offer of a wallet request whose sign-in never came, and keeps every offer that has claims', async () => {
    const holder = wallet();
    const issuerMetadata = await holder.client.resolveIssuerMetadata(app.url);
    const offers = () => db.use(undefined, (m) => m.getRepository(CredentialOfferEntity).find());
    const before = await offers();
    // An anonymous pushed request for a type under a joint-approval policy: a draft offer, waiting for a sign-in.
    await holder.oauth2.initiateAuthorization({
      authorizationServerMetadata: issuerMetadata.authorizationServers[0]!,
      clientId: 'citizen-wallet',
      redirectUri: REDIRECT_URI,
      scope: 'business-licence',
    });
    const known = new Set(before.map((offer) => offer.id));
    const drafts = (await offers()).filter((offer) => !known.has(offer.id));
    expect(drafts.map((offer) => [offer.status, offer.claimsSealed])).toEqual([['offered', null]]);
    // The sign-in never comes: once its request has expired, the reconcile step's purge takes the draft too.
    await app.app.get(ApprovalRepository).purgeWalletRequests(new Date(Date.now() + 24 * 3_600_000));
    const left = new Set((await offers()).map((offer) => offer.id));
    expect(left.has(drafts[0]!.id)).toBe(false);
    for (const offer of before.filter((offer) => offer.claimsSealed !== null)) expect(left.has(offer.id)).toBe(true);
  });

  it("shares one chain read of a type's active policy among the requests that need it at once", async () => {
    const chain = app.app.get(JointApprovalChain);
    const type = credentialTypeKey('business-licence');
    // A private member, on purpose: the two eth_calls a shared read makes.
    let firstPolicyId = 0n;
    const held = holdNextCall(chain as unknown as { readActivePolicy: () => Promise<unknown> }, 'readActivePolicy');
    try {
      const reading = Promise.all(Array.from({ length: 8 }, () => chain.activePolicy(type)));
      await held.reached;
      held.release();
      const policies = await reading;
      expect(policies.map((policy) => policy?.terms.issuingDepartment)).toEqual(Array(8).fill(controller));
      expect(held.spy).toHaveBeenCalledTimes(1);
      firstPolicyId = policies[0]!.policyId;
      // Nothing is kept: the next request reads again.
      expect((await chain.activePolicy(type))?.policyId).toBe(policies[0]!.policyId);
      expect(held.spy).toHaveBeenCalledTimes(2);
    } finally {
      held.release();
      held.spy.mockRestore();
    }
    // A request after our own vote set a new policy never joins a read started before it.
    const stale = holdNextCall(chain as unknown as { readActivePolicy: () => Promise<unknown> }, 'readActivePolicy');
    try {
      const before = chain.activePolicy(type);
      await stale.reached;
      const proposed = await app.operator('POST', '/operator/consortium/proposals', {
        kind: 'SetApprovalPolicy',
        credentialType: 'business-licence',
        issuingDepartment: controller,
        issuingAgency: agency.id,
        departments: [controller],
        decisionPeriodSeconds: 0,
      });
      expect(proposed.body.executed).toBe(true);
      const after = chain.activePolicy(type);
      expect(stale.spy).toHaveBeenCalledTimes(2);
      stale.release();
      const newer = await after;
      expect(newer!.policyId > firstPolicyId).toBe(true);
      expect((await before)?.policyId).toBe(newer!.policyId);
    } finally {
      stale.release();
      stale.spy.mockRestore();
    }
  });
});
