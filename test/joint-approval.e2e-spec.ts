import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import BetterSqlite from 'better-sqlite3';
import pg from 'pg';
import { Contract, encodeBytes32String, JsonRpcProvider } from 'ethers';
import { contractInterface, credentialTypeKey, EmbeddedChainNode, JointApprovalChain, OutboxWorker } from '../src/chain/index.js';
import {
  httpCaller,
  createActiveAgency,
  eventually,
  outboxSettled,
  startTestApp,
  testDatabase,
  type TestApp,
} from './support/test-app.js';
import { childEntry } from './support/child-command.js';
import { testPort } from './support/ports.js';
import { clientErrorCode, wallet, signInAtIssuer } from './support/wallet.js';
import { deferredCredentials, verifiedIndependently } from './support/deferred.js';
import { BUSINESS_LICENCE_CLAIMS } from './fixtures/claims.js';

const CONFIGURATION = 'business-licence.sd_jwt';
const DECISION = { None: 0n, Approve: 1n, Reject: 2n };
const OUTCOME = { Pending: 1n, Approved: 2n, Rejected: 3n };

/** The issuing department as a real child process (so that it can be killed with SIGKILL) on its own database. */
async function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, childEntry('test/support/child-app.ts'), {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the service exited (${code}) before it listened`)));
    lines.on('line', (line) => {
      try {
        resolve(JSON.parse(line) as { url: string });
      } catch {
        // a log line
      }
    });
  });
  return { child, ...ready };
}

/** A TestApp-like facade over HTTP, for the child process. */
function httpFacade(url: () => string, operatorKey: string, rpcUrl: string): TestApp {
  const call = httpCaller(url);
  return {
    call,
    operator: (method: string, path: string, body?: unknown) => call(method, path, { body, token: operatorKey }),
    rpcUrl,
  } as unknown as TestApp;
}

/** Counts rows in the issuing department's database, to see exactly what it issued. */
async function counter(database: Awaited<ReturnType<typeof testDatabase>>) {
  return async (sql: string): Promise<number> => {
    if (database.config.kind === 'postgres') {
      const client = new pg.Client({ connectionString: database.config.url });
      await client.connect();
      try {
        return Number((await client.query(sql)).rows[0].n);
      } finally {
        await client.end();
      }
    }
    const db = new BetterSqlite(database.config.path, { readonly: true });
    try {
      return Number((db.prepare(sql).get() as { n: number }).n);
    } finally {
      db.close();
    }
  };
}

/**
 * Issue 16: joint approval (并联审批) by smart contract. Three departments, each its own Chancery and
 * database, on one chain node: Market Regulation (A, the issuer, a child process) issues business
 * licences once Fire Safety (B) and Environment (C) both approved on the JointApproval contract.
 */
describe('joint approval across three departments', () => {
  let chain: EmbeddedChainNode;
  let database: Awaited<ReturnType<typeof testDatabase>>;
  let count: (sql: string) => Promise<number>;
  let dataDir: string;
  let childEnv: Record<string, string>;
  let child: ChildProcess | undefined;
  let aUrl = '';
  let a: TestApp;
  let b: TestApp;
  let c: TestApp;
  let provider: JsonRpcProvider;
  let jointApproval: Contract;
  const controllers: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
  let agency: { id: string; did: string; apiKey: string };

  const propose = async (app: TestApp, body: Record<string, unknown>) => {
    const reply = await app.operator('POST', '/operator/consortium/proposals', body);
    expect(reply.status).toBe(200);
    return reply.body as { proposalId: string; executed: boolean };
  };
  const vote = async (app: TestApp, id: string) => {
    const reply = await app.operator('POST', `/operator/consortium/proposals/${id}/votes`);
    expect(reply.body).toMatchObject({ status: 'mined', executed: true });
  };
  const decide = (app: TestApp, applicationId: string, body: Record<string, unknown>) =>
    app.operator('POST', `/operator/approvals/${applicationId}/decision`, body);

  /** An application at A, and the wallet's deferred credential request for it (202 with a transaction_id). */
  const applyAndRequest = async () => {
    const filed = await a.call('POST', '/agency/approvals', {
      token: agency.apiKey,
      body: { type: 'business-licence', formats: ['dc+sd-jwt'], claims: BUSINESS_LICENCE_CLAIMS, txCode: false },
    });
    expect(filed.status).toBe(201);
    const holder = wallet();
    const credentialOffer = await holder.client.resolveCredentialOffer(filed.body.offer.credentialOffer);
    const issuerMetadata = await holder.client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const { accessTokenResponse } = await holder.client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
    });
    const requested = await holder.sendCredentialRequest({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId: CONFIGURATION,
    });
    expect(requested.response.status).toBe(202);
    const transactionId = requested.credentialResponse.transaction_id!;
    const poll = () =>
      holder.client.retrieveDeferredCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, transactionId });
    const state = () =>
      a.call('GET', `/approvals/${filed.body.reference}`, { token: filed.body.readToken }).then((reply) => reply.body);
    // Submitted through A's outbox: the contract holds it, pending.
    await eventually(
      async () => ((await state()).timeline.some((step: { step: string }) => step.step === 'submitted') ? true : undefined),
      60_000,
    );
    return { filed: filed.body as { reference: string; applicationId: string; readToken: string }, poll, state, holder };
  };

  beforeAll(async () => {
    chain = await EmbeddedChainNode.start({ chainId: 7777, port: await testPort() });
    database = await testDatabase('approvals');
    count = await counter(database);
    dataDir = mkdtempSync(join(tmpdir(), 'chancery-data-'));
    const port = await testPort();
    const operatorKey = randomBytes(24).toString('base64url');
    childEnv = {
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      CHAIN_RPC_URL: chain.rpcUrl,
      CHAIN_POLL_MS: '50',
      OUTBOX_POLL_MS: '100',
      STATUS_PUBLISH_INTERVAL_MS: '200',
      RECONCILE_INTERVAL_MS: '200',
      KMS_MASTER_KEY: randomBytes(32).toString('base64'),
      OPERATOR_API_KEY: operatorKey,
      DEMO_AGENCY: 'false',
      DEPARTMENT_NAME: 'Market Regulation',
      // The applicant's wallet in the authorization code flow.
      OID4VCI_WALLET_REDIRECT_URIS: 'https://wallet.example/callback',
      ...database.env,
    };
    const started = await startChild(childEnv);
    child = started.child;
    aUrl = started.url;
    a = httpFacade(() => aUrl, operatorKey, chain.rpcUrl);
    controllers.a = (await a.operator('GET', '/operator/consortium')).body.department.controller;
    const contracts = (await a.operator('GET', '/operator/chain')).body.contracts;
    const onTheChain = {
      CHAIN_RPC_URL: chain.rpcUrl,
      CHAIN_REGISTRY_ADDRESS: contracts.EthereumDIDRegistry,
      CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS: contracts.TrustedIssuerRegistry,
      CHAIN_STATUS_ANCHOR_ADDRESS: contracts.StatusListAnchor,
      RECONCILE_INTERVAL_MS: '200',
      // Where B and C fetch an application's content: the issuing department's peer API.
      CONSORTIUM_PEER_URLS: `${controllers.a}=${aUrl}`,
    };
    [b, c] = await Promise.all([
      startTestApp({ ...onTheChain, DEPARTMENT_NAME: 'Fire Safety' }),
      startTestApp({ ...onTheChain, DEPARTMENT_NAME: 'Environment' }),
    ]);
    controllers.b = (await b.operator('GET', '/operator/consortium')).body.department.controller;
    controllers.c = (await c.operator('GET', '/operator/consortium')).body.department.controller;
    provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true });

    // The consortium of the three (threshold 2), founded by A; B and C join.
    const founded = await a.operator('POST', '/operator/consortium/init', {
      founders: [
        { member: controllers.b, name: 'Fire Safety' },
        { member: controllers.c, name: 'Environment' },
      ],
      threshold: 2,
    });
    expect(founded.status).toBe(200);
    for (const app of [b, c])
      expect((await app.operator('POST', '/operator/consortium/join', { governance: founded.body.governance })).status).toBe(200);
    jointApproval = new Contract(founded.body.jointApproval, contractInterface('JointApproval'), provider);

    // A's agency, authorised for the business licence by two votes.
    const created = await createActiveAgency(a, 'market-office', 'Market Office');
    agency = { id: created.agency.id, did: created.agency.did, apiKey: created.apiKey };
    expect((await a.operator('PUT', `/operator/agencies/${agency.id}/authorisations/business-licence`)).status).toBe(200);
    await outboxSettled(a);
    const authorisation = (await b.operator('GET', '/operator/consortium/proposals')).body[0];
    expect(authorisation.action.kind).toBe('AuthoriseIssuer');
    await vote(b, authorisation.id);
    await eventually(async () => {
      const list = (await a.operator('GET', `/operator/agencies/${agency.id}/authorisations`)).body as {
        typeId: string;
        status: string;
      }[];
      return list.find((entry) => entry.typeId === 'business-licence')?.status === 'active' ? true : undefined;
    }, 60_000);
  }, 300_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    provider?.destroy();
    await Promise.all([b?.close(), c?.close()]);
    await chain?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 300_000);

  it('sets the business-licence policy by governance: B and C must both approve, A issues', async () => {
    const proposed = await propose(a, {
      kind: 'SetApprovalPolicy',
      credentialType: 'business-licence',
      issuingDepartment: controllers.a,
      issuingAgency: agency.id,
      departments: [controllers.b, controllers.c],
    });
    expect(proposed.executed).toBe(false);
    // Without the policy there is nothing to apply under.
    const early = await a.call('POST', '/agency/approvals', {
      token: agency.apiKey,
      body: { type: 'business-licence', claims: BUSINESS_LICENCE_CLAIMS },
    });
    expect(early.status).toBe(409);
    expect(early.body.type).toBe('urn:chancery:problem:no_approval_policy');
    await vote(c, proposed.proposalId);

    const policies = (await b.operator('GET', '/operator/consortium/approval-policies')).body;
    expect(policies).toEqual([
      expect.objectContaining({
        policyId: '1',
        typeId: 'business-licence',
        credentialType: credentialTypeKey('business-licence'),
        issuingDepartment: controllers.a,
        issuingAgency: agency.did.split(':').pop(),
        departments: [controllers.b, controllers.c],
        required: 2,
        decisionPeriod: 0,
        active: true,
      }),
    ]);
    expect(await jointApproval.getFunction('activePolicyOf')(credentialTypeKey('business-licence'))).toBe(1n);
  }, 300_000);

  it('issues only after the second approval; the third department is refused by the contract', async () => {
    const { filed, poll, state } = await applyAndRequest();
    const { applicationId } = filed;
    // Only the salted digest is on chain.
    expect(applicationId).toMatch(/^0x[0-9a-f]{64}$/);

    // B's inbox has it; B reads the content from A over the authenticated peer API.
    const inbox = (await b.operator('GET', '/operator/approvals/inbox')).body as { applicationId: string }[];
    expect(inbox.map((entry) => entry.applicationId)).toContain(applicationId);
    const shown = (await b.operator('GET', `/operator/approvals/${applicationId}`)).body;
    expect(shown).toMatchObject({ outcome: 'Pending', typeId: 'business-licence', required: 2, contentError: null });
    expect(shown.content).toEqual({ typeId: 'business-licence', formats: ['dc+sd-jwt'], claims: BUSINESS_LICENCE_CLAIMS });
    // What answers at a member's peer URL is the member's: B follows no redirect (its token would go along) and
    // reads no body past the cap, however the peer answers.
    const hostile = createServer((request, response) => {
      if (request.url?.startsWith('/redirect/')) {
        response.writeHead(302, { location: `${aUrl}${request.url.slice('/redirect'.length)}` }).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = `{"pad":"${'x'.repeat(64 * 1024)}",`;
      const flood = () => {
        while (response.write(chunk));
      };
      response.on('drain', flood);
      flood();
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const peerUrls = b.config.chain.consortium.peerUrls;
    const honest = peerUrls[controllers.a.toLowerCase()]!;
    try {
      const hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
      for (const [url, reason] of [
        [`${hostileUrl}/redirect`, 'the issuing department answered 302'],
        [hostileUrl, 'the issuing department sent content that is too large or not JSON'],
      ] as const) {
        peerUrls[controllers.a.toLowerCase()] = url;
        const view = (await b.operator('GET', `/operator/approvals/${applicationId}`)).body;
        expect({ content: view.content, contentError: view.contentError }).toEqual({ content: null, contentError: reason });
      }
    } finally {
      peerUrls[controllers.a.toLowerCase()] = honest;
      hostile.closeAllConnections();
      await new Promise((resolve) => hostile.close(resolve));
    }
    // The peer API refuses anyone without a department's signature.
    expect((await a.call('GET', `/consortium/approvals/${applicationId}/content`)).status).toBe(401);
    // A is a member but not a required department: the contract refuses its decision (simulated first).
    const refused = await decide(a, applicationId, { approve: true });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'approval_refused', reason: 'NotARequiredDepartment' });
    // A rejection needs a reason code.
    expect((await decide(b, applicationId, { approve: false })).status).toBe(400);

    const first = await decide(b, applicationId, { approve: true });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'mined', outcome: 'Pending' });
    expect(
      await jointApproval
        .getFunction('decisionOf')(applicationId, controllers.b)
        .then((d: { decision: bigint }) => d.decision),
    ).toBe(DECISION.Approve);
    expect((await jointApproval.getFunction('application')(applicationId)).approvals).toBe(1n);
    // Not issued after one approval: still 202; B's inbox no longer lists it, C's does.
    const waiting = await poll();
    expect(waiting.response.status).toBe(202);
    expect(
      (await b.operator('GET', '/operator/approvals/inbox')).body.map((e: { applicationId: string }) => e.applicationId),
    ).not.toContain(applicationId);
    expect(
      (await c.operator('GET', '/operator/approvals/inbox')).body.map((e: { applicationId: string }) => e.applicationId),
    ).toContain(applicationId);
    // B cannot decide twice.
    const twice = await decide(b, applicationId, { approve: true });
    expect(twice.body).toMatchObject({ code: 'approval_refused', reason: 'AlreadyDecided' });

    const second = await decide(c, applicationId, { approve: true });
    expect(second.body).toMatchObject({ status: 'mined', outcome: 'Approved' });
    expect((await jointApproval.getFunction('application')(applicationId)).outcome).toBe(OUTCOME.Approved);
    const decisions = await jointApproval.getFunction('decisions')(applicationId);
    expect([...decisions[0]]).toEqual([controllers.b, controllers.c]);
    expect(decisions[1].map((record: { decision: bigint }) => record.decision)).toEqual([DECISION.Approve, DECISION.Approve]);

    // Issued at once: the wallet's next deferred request gets the credential (the @openid4vc client).
    const [credential] = await deferredCredentials(poll);
    expect(await verifiedIndependently({ ...b, rpcUrl: chain.rpcUrl } as TestApp, credential)).toMatchObject({
      iss: agency.did,
      enterprise_name: BUSINESS_LICENCE_CLAIMS.enterprise_name,
    });
    // Re-delivery (ADR 18): polling again gets the same credential, not a second issuance.
    expect(((await poll()).deferredCredentialResponse.credentials![0] as { credential: string }).credential).toBe(credential);

    // The timeline, every chain step with its transaction.
    const view = await state();
    expect(view.state).toBe('approved');
    expect(view.timeline.map((step: { step: string; department: string | null }) => [step.step, step.department])).toEqual([
      ['submitted', null],
      ['decision', controllers.b],
      ['decision', controllers.c],
      ['approved', null],
      ['issued', null],
    ]);
    expect(view.timeline[1]).toMatchObject({
      txHash: first.body.txHash,
      blockNumber: first.body.blockNumber,
      decision: 'approve',
    });
    expect(view.timeline[3].txHash).toBe(second.body.txHash);
    expect(view.timeline[4]).toMatchObject({ configurationId: CONFIGURATION, txHash: null });
    // The applicant's view needs the read token.
    expect((await a.call('GET', `/approvals/${filed.reference}`, { token: 'wrong' })).status).toBe(404);
    // Decided: A erased its copy of the citizen's content when it settled, so its peer API has none to serve (404;
    // a department asking between the chain's outcome and A's settling is refused with 403).
    const afterwards = (await b.operator('GET', `/operator/approvals/${applicationId}`)).body;
    expect({ content: afterwards.content, contentError: afterwards.contentError }).toEqual({
      content: null,
      contentError: 'the issuing department answered 404',
    });
    expect(
      await count(`SELECT COUNT(*) AS n FROM approval_applications WHERE id = '${filed.reference}' AND content_sealed = ''`),
    ).toBe(1);
  }, 300_000);

  it('a rejection ends another application with its reason; the wallet is denied', async () => {
    const { filed, poll, state } = await applyAndRequest();
    // Well-formed but not one of B's configured codes (a name in pieces): refused before anything goes on chain.
    const unlisted = await decide(b, filed.applicationId, { approve: false, reasonCode: 'zhang-wei' });
    expect(unlisted.status).toBe(400);
    expect(unlisted.body.violations).toEqual([{ path: 'reasonCode', message: expect.stringContaining('fire-exits-missing') }]);
    // The contract itself refuses a reason that is not of a reason code's form, from a required department's key used
    // directly (simulated as B): nothing but a short code may go on chain for good.
    const decideAsB = (reason: string) =>
      provider.call({
        from: controllers.b,
        to: jointApproval.target as string,
        data: contractInterface('JointApproval').encodeFunctionData('decide', [
          filed.applicationId,
          false,
          encodeBytes32String(reason),
        ]),
      });
    // A code of the right form is accepted (once the application is pending on chain); the rest are not.
    await eventually(async () => ((await decideAsB('fire-exits-missing')) === '0x' ? true : undefined));
    const badReasonCode = contractInterface('JointApproval').getError('BadReasonCode')!.selector;
    for (const personal of ['ZhangSan 110101199003071234', 'zhang-1990-0307', 'Li Hua', '-dash-first']) {
      const reverted = (await decideAsB(personal).catch((error: unknown) => error)) as { data?: string };
      expect(reverted.data?.slice(0, 10)).toBe(badReasonCode);
    }
    // B's rejection waits in its outbox (the chain not reached yet): a contradicting approval meanwhile is refused,
    // not queued behind it to revert later with an audit entry of a decision that never happened.
    const worker = b.app.get(OutboxWorker);
    await worker.stop();
    let deciding: Promise<Awaited<ReturnType<typeof decide>>> | undefined;
    try {
      deciding = decide(b, filed.applicationId, { approve: false, reasonCode: 'fire-exits-missing' });
      await eventually(async () => b.app.get(JointApprovalChain).queuedWrite(filed.applicationId, 'approval:decide'));
      const contradicting = await decide(b, filed.applicationId, { approve: true });
      expect(contradicting.status).toBe(409);
      expect(contradicting.body.reason).toMatch(/^AlreadyDecided \(this department's decision is on its way/);
    } finally {
      worker.start();
    }
    const rejected = await deciding;
    expect(rejected.body).toMatchObject({ status: 'mined', outcome: 'Rejected' });
    const decision = await jointApproval.getFunction('decisionOf')(filed.applicationId, controllers.b);
    expect(decision.decision).toBe(DECISION.Reject);
    expect((await jointApproval.getFunction('application')(filed.applicationId)).outcome).toBe(OUTCOME.Rejected);
    const view = await eventually(async () => {
      const current = await state();
      return current.state === 'rejected' ? current : undefined;
    }, 60_000);
    expect(view.reasonCodes).toEqual(['fire-exits-missing']);
    expect(view.timeline.at(-1)).toMatchObject({ step: 'rejected', department: controllers.b, reasonCode: 'fire-exits-missing' });
    expect(clientErrorCode(await poll().catch((error: unknown) => error))).toBe('credential_request_denied');
    // Nothing will be issued from the citizen's claims: the application's and the offer's copies are erased.
    expect(
      await count(
        `SELECT COUNT(*) AS n FROM approval_applications ap JOIN credential_offers o ON o.id = ap.offer_id WHERE ap.id = '${filed.reference}' ` +
          "AND ap.content_sealed = '' AND o.claims_sealed IS NULL AND o.offer_sealed IS NULL",
      ),
    ).toBe(1);
    // Decisions are closed.
    const late = await decide(c, filed.applicationId, { approve: true });
    expect(late.body).toMatchObject({ code: 'approval_refused', reason: 'ApplicationNotPending' });
  }, 300_000);

  it('an applicant who signs in through the authorization code flow (CitizenAuthenticator) waits for the same approvals', async () => {
    const filed = await a.call('POST', '/agency/approvals', {
      token: agency.apiKey,
      body: { type: 'business-licence', claims: BUSINESS_LICENCE_CLAIMS, flow: 'authorization_code' },
    });
    expect(filed.status).toBe(201);
    expect(filed.body.offer.loginCode).toMatch(/^\d{6}$/);
    const { client, sendCredentialRequest } = wallet();
    const credentialOffer = await client.resolveCredentialOffer(filed.body.offer.credentialOffer);
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const redirectUri = 'https://wallet.example/callback';
    const authorization = await client.initiateAuthorization({
      clientId: 'citizen-wallet',
      issuerMetadata,
      credentialOffer,
      redirectUri,
      scope: 'business-licence',
    });
    if (authorization.authorizationFlow !== 'Oauth2Redirect') throw new Error('expected a redirect flow');
    const authorizeUrl = new URL(authorization.authorizationRequestUrl);
    // The applicant signs in (the demo CitizenAuthenticator: the login code handed over with the reference).
    const login = await signInAtIssuer(aUrl, authorizeUrl, { login_code: filed.body.offer.loginCode });
    expect(login.status).toBe(302);
    const { accessTokenResponse } = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
      issuerMetadata,
      credentialOffer,
      authorizationCode: new URL(login.headers.get('location')!).searchParams.get('code')!,
      pkceCodeVerifier: authorization.pkce?.codeVerifier,
      redirectUri,
    });
    const requested = await sendCredentialRequest({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      configurationId: CONFIGURATION,
    });
    expect(requested.response.status).toBe(202);
    const transactionId = requested.credentialResponse.transaction_id!;
    const poll = () =>
      client.retrieveDeferredCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, transactionId });
    const applicationId = filed.body.applicationId as string;
    await eventually(
      async () =>
        (await jointApproval.getFunction('application')(applicationId)).outcome === OUTCOME.Pending ? true : undefined,
      60_000,
    );
    expect((await decide(b, applicationId, { approve: true })).body.outcome).toBe('Pending');
    expect((await poll()).response.status).toBe(202);
    expect((await decide(c, applicationId, { approve: true })).body.outcome).toBe('Approved');
    expect(await deferredCredentials(poll)).toHaveLength(1);
  }, 300_000);

  it('kill -9 of the issuing department before the last approval: after restart, exactly one credential', async () => {
    const { filed, poll, state } = await applyAndRequest();
    expect((await decide(b, filed.applicationId, { approve: true })).body.outcome).toBe('Pending');
    const issuedBefore = await count('SELECT COUNT(*) AS n FROM issued_credentials');

    child!.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    // The last approval lands while A is down: A's event watcher never sees it.
    expect((await decide(c, filed.applicationId, { approve: true })).body.outcome).toBe('Approved');

    const restarted = await startChild(childEnv);
    child = restarted.child;
    aUrl = restarted.url;
    // The reconciler catches up from the chain (the event was missed) and settles the application.
    await eventually(async () => ((await state()).state === 'approved' ? true : undefined), 90_000, 250);
    // Several concurrent deferred requests (a retrying wallet): one issues; the others are told to poll
    // again (202) or, once it committed, get the same credential re-delivered (ADR 18). One credential.
    const credentialOf = (response: { credentials?: unknown[] }) =>
      (response.credentials![0] as { credential: string }).credential;
    const polls = await Promise.all(
      Array.from({ length: 4 }, () =>
        poll().then(
          (result) => (result.response.status === 200 ? result.deferredCredentialResponse : `status ${result.response.status}`),
          (error: unknown) => clientErrorCode(error),
        ),
      ),
    );
    const delivered = polls.filter((answer) => typeof answer !== 'string');
    expect(delivered.length).toBeGreaterThanOrEqual(1);
    expect(new Set(delivered.map(credentialOf)).size).toBe(1);
    const waiting = polls.filter((answer) => typeof answer === 'string');
    expect(waiting).toEqual(Array(waiting.length).fill('status 202'));
    const last = await poll();
    expect(last.response.status).toBe(200);
    expect(credentialOf(last.deferredCredentialResponse)).toBe(credentialOf(delivered[0]!));
    expect(await count('SELECT COUNT(*) AS n FROM issued_credentials')).toBe(issuedBefore + 1);
    expect(
      await count(`SELECT COUNT(*) AS n FROM approval_steps WHERE step = 'issued' AND application_ref = '${filed.reference}'`),
    ).toBe(1);
    const view = await state();
    expect(view.state).toBe('approved');
    expect(view.timeline.map((step: { step: string }) => step.step)).toEqual([
      'submitted',
      'decision',
      'decision',
      'approved',
      'issued',
    ]);
  }, 300_000);
});
