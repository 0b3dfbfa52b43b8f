import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import {
  bindTargetsCall,
  ChainBootstrap,
  ChainEvents,
  contractInterface,
  governanceDeployment,
  governedDeployment,
  proposeCall,
  credentialTypeKey,
  OutboxEntity,
  OutboxService,
  OutboxWorker,
  Reconciler,
} from '../src/chain/index.js';
import { Database } from '../src/persistence/index.js';
import { PresentationRequestEntity } from '../src/verifier/index.js';
import { openApiConformance } from './support/openapi-conformance.js';
import { createActiveAgency, eventually, outboxSettled, startTestApp, type Reply, type TestApp } from './support/test-app.js';
import { wallet } from './support/wallet.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';
import { drivingLicenceQuery } from './fixtures/dcql.js';

const DRIVING = credentialTypeKey('driving-licence');

/** The revert data of a refused transaction, wherever ethers or the node put it. */
function revertData(error: unknown): string | undefined {
  let current = error as Record<string, unknown> | undefined;
  for (let depth = 0; current && depth < 6; depth++) {
    const data = current['data'];
    if (typeof data === 'string') return data;
    const info = current['info'] as Record<string, unknown> | undefined;
    current = (typeof data === 'object' && data !== null ? data : (info?.['error'] ?? current['error'])) as
      Record<string, unknown> | undefined;
  }
  return undefined;
}
const PURPOSE = 'Check the identity of a market trader applying for a stall licence';

/**
 * Issue 15: three departments, each its own Chancery (own database, own keys), on one chain node, with
 * nothing shared but the chain. Department A founds a consortium of the three with threshold 2; an
 * authorisation and a data-sharing permission need two votes; B's verifier trusts A's credentials only as
 * the chain says. ethers reads the contracts directly to confirm proposals, votes and registry state.
 */
describe('a consortium of three departments on one chain', () => {
  let a: TestApp;
  let b: TestApp;
  let c: TestApp;
  let provider: JsonRpcProvider;
  let governance: Contract;
  let issuerRegistry: Contract;
  let dataSharing: Contract;
  const controllers: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
  let agency: { id: string; did: string; apiKey: string };
  let bank: { apiKey: string; clientId: string };
  let held: Awaited<ReturnType<ReturnType<typeof wallet>['receive']>>;
  let permissionId: string;
  const citizen = wallet();

  const dcql = (claims: string[]) => drivingLicenceQuery(a.config.http.publicUrl, claims);
  const requestAtB = (claims: string[]) =>
    b.call('POST', '/rp/requests', { token: bank.apiKey, body: { dcql_query: dcql(claims), response_mode: 'direct_post.jwt' } });
  const verdictAtB = (id: string) => b.call('GET', `/rp/requests/${id}`, { token: bank.apiKey }).then((reply) => reply.body);
  const propose = async (app: TestApp, body: Record<string, unknown>) => {
    const reply = await app.operator('POST', '/operator/consortium/proposals', body);
    expect(reply.status).toBe(200);
    expect(reply.body.status).toBe('mined');
    return reply.body as { proposalId: string; executed: boolean };
  };
  const vote = (app: TestApp, id: string) => app.operator('POST', `/operator/consortium/proposals/${id}/votes`);
  const authorisation = async (app: TestApp) =>
    (
      (await app.operator('GET', `/operator/agencies/${agency.id}/authorisations`)).body as { typeId: string; status: string }[]
    ).find((entry) => entry.typeId === 'driving-licence')?.status;
  const onChainAuthorised = async () =>
    Boolean(await issuerRegistry.getFunction('isAuthorised')(agency.did.split(':').pop()!, DRIVING));
  const proposal = async (id: string) => {
    const found = await governance.getFunction('proposal')(BigInt(id));
    return { state: Number(found.state), approvals: Number(await governance.getFunction('approvalsOf')(BigInt(id))) };
  };
  const OPEN = 1;
  const EXECUTED = 2;

  beforeAll(async () => {
    a = await startTestApp({
      DEPARTMENT_NAME: 'Public Security',
      RECONCILE_INTERVAL_MS: '200',
      STATUS_LIST_MAX_AGE_SECONDS: '0',
    });
    const chain = (await a.operator('GET', '/operator/chain')).body;
    // B and C: their own databases and keys; the chain node and its DID registry and status anchor are shared.
    const onTheChain = {
      CHAIN_RPC_URL: a.rpcUrl,
      CHAIN_REGISTRY_ADDRESS: chain.contracts.EthereumDIDRegistry,
      CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS: chain.contracts.TrustedIssuerRegistry,
      CHAIN_STATUS_ANCHOR_ADDRESS: chain.contracts.StatusListAnchor,
      RECONCILE_INTERVAL_MS: '200',
      // One vct namespace for the consortium: B's verifier recognises the types A issues.
      VCT_BASE_URL: a.config.http.publicUrl!,
    };
    [b, c] = await Promise.all([
      startTestApp({ ...onTheChain, DEPARTMENT_NAME: 'Market Regulation', DATA_SHARING_ENFORCED: 'true' }),
      startTestApp({ ...onTheChain, DEPARTMENT_NAME: 'Transport' }),
    ]);
    provider = new JsonRpcProvider(a.rpcUrl, chain.chainId, { staticNetwork: true });
  });
  afterAll(async () => {
    provider?.destroy();
    await Promise.all([b?.close(), c?.close()]);
    await a?.close();
  });

  it('founds the consortium: A deploys it with B and C (consortium:init), B and C join it; threshold 2 of 3', async () => {
    // Each started alone: a consortium of one, itself (the embedded default).
    for (const [name, app] of [
      ['a', a],
      ['b', b],
      ['c', c],
    ] as const) {
      const status = (await app.operator('GET', '/operator/consortium')).body;
      expect(status).toMatchObject({ threshold: 1, members: [{ address: status.department.controller }] });
      expect(status.department.member).toBe(true);
      controllers[name] = status.department.controller;
    }
    expect(new Set(Object.values(controllers)).size).toBe(3);

    const founded = await a.operator('POST', '/operator/consortium/init', {
      founders: [
        { member: controllers.b, name: 'Market Regulation' },
        { member: controllers.c, name: 'Transport' },
      ],
      threshold: 2,
    });
    expect(founded.status).toBe(200);
    expect(founded.body).toMatchObject({ threshold: 2, department: { member: true, name: 'Public Security' } });
    const address = founded.body.governance as string;
    // A consortium whose founder bound a look-alike registry (a catalogue registry in the issuer registry's place: it
    // too names the governance, all bindTargets checks) is not followed: its code is not this release's.
    const founder = await provider.getSigner(0);
    const deploy = async (data: string) => (await (await founder.sendTransaction({ data })).wait())!.contractAddress!;
    const rogue = await deploy(
      governanceDeployment(
        [
          { member: await founder.getAddress(), name: 'Rogue founder' },
          { member: controllers.c, name: 'Transport' },
        ],
        1,
      ),
    );
    const targets = {
      issuerRegistry: await deploy(governedDeployment('CatalogueRegistry', rogue)),
      catalogue: await deploy(governedDeployment('CatalogueRegistry', rogue)),
      dataSharing: await deploy(governedDeployment('DataSharingRegistry', rogue)),
      jointApproval: await deploy(governedDeployment('JointApproval', rogue)),
    };
    await (await founder.sendTransaction({ to: rogue, data: bindTargetsCall(targets) })).wait();
    const refused = await c.operator('POST', '/operator/consortium/join', { governance: rogue });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain(`issuerRegistry the governance binds at ${targets.issuerRegistry}`);
    expect((await c.operator('GET', '/operator/consortium')).body.governance).not.toBe(rogue);
    for (const app of [b, c]) {
      const joined = await app.operator('POST', '/operator/consortium/join', { governance: address });
      expect(joined.status).toBe(200);
      expect(joined.body.department.member).toBe(true);
      expect(joined.body.issuerRegistry).toBe(founded.body.issuerRegistry);
    }
    // A proposal must stay open long enough to be voted on: one expiring at once (which could only block the same content
    // from another member's proposal, DuplicateProposal) is refused; a removed or never-admitted account cancels nothing.
    const simulate = (from: string, data: string) => provider.call({ from, to: address, data });
    const selector = (name: string) => contractInterface('ConsortiumGovernance').getError(name)!.selector;
    const revertOf = async (from: string, data: string) =>
      ((await simulate(from, data).catch((error: unknown) => error)) as { data?: string }).data?.slice(0, 10);
    const now = (await provider.getBlock('latest'))!.timestamp;
    const change = { kind: 'ChangeThreshold', threshold: 1 } as const;
    expect(await revertOf(controllers.a, proposeCall(change, now + 60))).toBe(selector('BadExpiry'));
    expect(await simulate(controllers.a, proposeCall(change, now + 7_200))).toMatch(/^0x/);
    const outsider = Wallet.createRandom().address;
    expect(await revertOf(outsider, contractInterface('ConsortiumGovernance').encodeFunctionData('cancel', [1n]))).toBe(
      selector('NotMember'),
    );
    // A governance that does not exist cannot be joined.
    const nowhere = await c.operator('POST', '/operator/consortium/join', { governance: Wallet.createRandom().address });
    expect(nowhere.status).toBe(409);
    expect(nowhere.body.detail).not.toMatch(/version=|code=/);
    // A mixed-case address with a wrong EIP-55 checksum is a typo: 400 where an address is asked for, not a 500 or
    // the library's message.
    const typo = '0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAa';
    for (const [path, body] of [
      ['/operator/consortium/join', { governance: typo }],
      ['/operator/consortium/proposals', { kind: 'AddMember', member: typo, name: 'Typo' }],
      ['/operator/consortium/proposals', { kind: 'RemoveMember', member: typo }],
      ['/operator/consortium/init', { founders: [{ member: typo, name: 'Typo' }], threshold: 1 }],
    ] as const) {
      const refused = await c.operator('POST', path, body);
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
    }

    // ethers, from the contract's ABI alone.
    governance = new Contract(address, contractInterface('ConsortiumGovernance'), provider);
    expect([...(await governance.getFunction('members')())]).toEqual([controllers.a, controllers.b, controllers.c]);
    expect(await governance.getFunction('memberName')(controllers.c)).toBe('Transport');
    expect(await governance.getFunction('threshold')()).toBe(2n);
    issuerRegistry = new Contract(
      await governance.getFunction('issuerRegistry')(),
      contractInterface('GovernedIssuerRegistry'),
      provider,
    );
    dataSharing = new Contract(await governance.getFunction('dataSharing')(), contractInterface('DataSharingRegistry'), provider);
    expect(await issuerRegistry.getFunction('governance')()).toBe(address);
  });

  it('authorises an agency of A for the driving licence by two votes; one is not enough, a non-member’s is refused', async () => {
    const created = await createActiveAgency(a, 'traffic-police', 'Traffic Police');
    agency = { id: created.agency.id, did: created.agency.did, apiKey: created.apiKey };
    const granting = await a.operator('PUT', `/operator/agencies/${agency.id}/authorisations/driving-licence`);
    expect(granting.status).toBe(200);
    await outboxSettled(a);
    // A's write is a proposal carrying A's vote: open, one approval, nothing authorised yet.
    const listed = (await b.operator('GET', '/operator/consortium/proposals')).body;
    expect(listed[0]).toMatchObject({
      state: 'Open',
      approvals: 1,
      voters: [controllers.a],
      action: { kind: 'AuthoriseIssuer', issuer: agency.did.split(':').pop(), credentialType: DRIVING },
    });
    const proposalId = listed[0].id as string;
    expect(await proposal(proposalId)).toEqual({ state: OPEN, approvals: 1 });
    // Only the open ones, and paging on by id: older proposals (the founding's, executed) are behind it, never it.
    const open = (await b.operator('GET', '/operator/consortium/proposals?state=open')).body as { id: string; state: string }[];
    expect(open.map((entry) => entry.state)).toEqual(open.map(() => 'Open'));
    expect(open.map((entry) => entry.id)).toContain(proposalId);
    const older = (await b.operator('GET', `/operator/consortium/proposals?before=${proposalId}`)).body as { id: string }[];
    expect(older.every((entry) => BigInt(entry.id) < BigInt(proposalId))).toBe(true);
    expect((await b.operator('GET', '/operator/consortium/proposals?before=abc')).status).toBe(400);
    expect(await onChainAuthorised()).toBe(false);
    // The mirror waits for the votes (a reconcile round leaves it alone); A refuses to issue.
    await a.app.get(Reconciler).runOnce();
    expect(await authorisation(a)).toBe('granting');
    // The operator asks again (an answer lost on the way): the same change, answered as it stands, nothing queued.
    const writes = () => a.app.get(Database).use(undefined, (m) => m.getRepository(OutboxEntity).count());
    const writesBefore = await writes();
    const repeated = await a.operator('PUT', `/operator/agencies/${agency.id}/authorisations/driving-licence`);
    expect({ status: repeated.status, state: repeated.body.status }).toEqual({ status: 200, state: 'granting' });
    expect(await writes()).toBe(writesBefore);
    const offer = { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: DRIVING_LICENCE_CLAIMS, txCode: false };
    await expect(citizen.receive(a, agency.apiKey, offer)).rejects.toThrow(/not anchored on chain yet/);

    // A second vote by A changes nothing; a non-member's vote is refused by the contract.
    // Refused by the contract through eth_call before anything is queued: no outbox entry, nothing signed.
    const queued = () => a.app.get(Database).use(undefined, (m) => m.getRepository(OutboxEntity).count());
    const before = await queued();
    const again = await vote(a, proposalId);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'proposal_refused', reason: 'AlreadyVoted' });
    const tooHigh = await a.operator('POST', '/operator/consortium/proposals', { kind: 'ChangeThreshold', threshold: 50 });
    expect(tooHigh.status).toBe(409);
    expect(tooHigh.body.code).toBe('proposal_refused');
    expect(await queued()).toBe(before);
    // A proposal that does not exist is not found, as GET says (the contract's word is ProposalNotOpen).
    expect((await vote(a, '777')).status).toBe(404);
    // A write that reverts after its pre-check (state changed in between) is dropped by the worker, which
    // records the contract's error by name before the raw data an operator could not read.
    const signerKeyId = await a.app.get(ChainBootstrap).governorKeyId();
    const [stale] = await a.app.get(Database).transaction((tx) =>
      a.app.get(OutboxService).enqueue(tx, [
        {
          signerKeyId,
          to: String(governance.target),
          data: governance.interface.encodeFunctionData('vote', [777n]),
          purpose: 'governance-vote',
          ref: 'test:stale-vote',
        },
      ]),
    );
    const dropped = await eventually(async () => {
      const entry = await a.app.get(OutboxService).get(stale!);
      return entry?.status === 'reverted' ? entry : undefined;
    });
    expect(dropped.lastError).toMatch(/^would revert with ProposalNotOpen: .*data="0x/);
    const outsider = Wallet.createRandom().connect(provider);
    const refused = await outsider
      .sendTransaction({ to: governance.target, data: governance.interface.encodeFunctionData('vote', [BigInt(proposalId)]) })
      .then(
        () => 'accepted',
        (error: unknown) => governance.interface.parseError(revertData(error) ?? '0x')?.name,
      );
    expect(refused).toBe('NotMember');
    expect(await proposal(proposalId)).toEqual({ state: OPEN, approvals: 1 });

    // B's vote meets the threshold and executes the proposal in the same transaction.
    const voted = await vote(b, proposalId);
    expect(voted.status).toBe(200);
    expect(voted.body).toMatchObject({ status: 'mined', proposalId, executed: true });
    expect(await proposal(proposalId)).toEqual({ state: EXECUTED, approvals: 2 });
    expect(await governance.getFunction('hasVoted')(BigInt(proposalId), controllers.b)).toBe(true);
    expect(await onChainAuthorised()).toBe(true);
    expect([...(await issuerRegistry.getFunction('issuersOf')(DRIVING))]).toEqual([agency.did.split(':').pop()]);
    // A's mirror settles on the registry event.
    await eventually(async () => ((await authorisation(a)) === 'active' ? true : undefined));
  });

  it('issues through A and verifies through B’s OID4VP endpoint within a permission granted by governance', async () => {
    held = await citizen.receive(a, agency.apiKey, {
      type: 'driving-licence',
      formats: ['dc+sd-jwt'],
      claims: DRIVING_LICENCE_CLAIMS,
      txCode: false,
    });
    const registered = await b.operator('POST', '/operator/relying-parties', {
      name: 'Market stall desk',
      purpose: 'Check identity',
      allowedClaims: { 'driving-licence': ['family_name', 'given_name', 'licence_number'] },
      clientIdPrefix: 'decentralized_identifier',
    });
    expect(registered.status).toBe(201);
    bank = { apiKey: registered.body.apiKey, clientId: registered.body.relyingParty.clientId };

    // B enforces data sharing: without a permission on chain, no request.
    const before = await requestAtB(['family_name', 'given_name']);
    expect(before.status).toBe(403);
    expect(before.headers.get('content-type')).toContain('application/problem+json');
    expect(before.body.code).toBe('data_sharing_not_permitted');

    const expiresAt = Math.floor(Date.now() / 1000) + 30 * 86_400;
    /** B proposes a 30-day permission for family and given name of the driving licence. */
    const proposeGrant = (relyingParty: string, clientId: string, purpose: string) =>
      propose(b, {
        kind: 'GrantPermission',
        relyingParty,
        clientId,
        credentialType: 'driving-licence',
        claims: ['family_name', 'given_name'],
        purpose,
        expiresAt,
      });
    const granted = await proposeGrant('did:example:market-regulation', bank.clientId, PURPOSE);
    expect(granted.executed).toBe(false);
    expect((await vote(c, granted.proposalId)).body.executed).toBe(true);
    const [verdict, id] = await dataSharing.getFunction('isPermitted')(bank.clientId, DRIVING, ['given_name', 'family_name']);
    expect(Number(verdict)).toBe(1); // Permitted
    permissionId = String(id);
    expect((await dataSharing.getFunction('permission')(id)).terms.purpose).toBe(PURPOSE);

    // Two claims: permitted; the holder sees the registered purpose and the permission.
    const created = await eventually(async () => {
      const reply = await requestAtB(['family_name', 'given_name']);
      return reply.status === 201 ? reply : undefined;
    });
    expect(created.body.dataSharing).toEqual([{ queryId: 'licence', permissionId, purpose: PURPOSE }]);
    const answered = await citizen.answer(created.body.link, held);
    expect(answered.status).toBe(200);
    const shown = answered.request as unknown as { client_metadata: { purpose: string }; verifier_info: unknown };
    expect(shown.client_metadata.purpose).toBe(PURPOSE);
    expect(shown.verifier_info).toEqual([
      {
        format: 'urn:chancery:data-sharing-permission',
        data: expect.objectContaining({ permission_id: permissionId, purpose: PURPOSE }),
        credential_ids: ['licence'],
      },
    ]);
    const result = await verdictAtB(created.body.id);
    expect(result.status).toBe('verified');
    expect(result.result.credentials[0].claims).toEqual({ family_name: 'Li', given_name: 'Hua' });
    expect(result.result.credentials[0].issuer).toBe(agency.did);
    // The verdict's row names the permission it relied on.
    const row = await b.app
      .get(Database)
      .use(undefined, (m) => m.getRepository(PresentationRequestEntity).findOneByOrFail({ id: created.body.id }));
    expect(row.dataSharingPermissions).toBe(permissionId);

    // A third claim goes beyond the permission (although within B's own registration): refused.
    const third = await requestAtB(['family_name', 'given_name', 'licence_number']);
    expect(third.status).toBe(403);
    expect(third.body.code).toBe('data_sharing_not_permitted');
    expect(third.body.violations[0].message).toContain('beyond the data-sharing permission');

    // A permission granted to a client_id every redirect_uri party of B shares would lend one party's grant to all:
    // it grants none of them (and says why), though it stands on chain.
    const sharedParty = async (name: string) => {
      const reply = await b.operator('POST', '/operator/relying-parties', {
        name,
        purpose: 'Check identity',
        allowedClaims: { 'driving-licence': ['family_name', 'given_name'] },
        clientIdPrefix: 'redirect_uri',
      });
      expect(reply.status).toBe(201);
      return { apiKey: reply.body.apiKey as string, clientId: reply.body.relyingParty.clientId as string };
    };
    const [grantee, other] = [await sharedParty('Grantee desk'), await sharedParty('Other desk')];
    expect(other.clientId).toBe(grantee.clientId);
    const sharedGrant = await proposeGrant('did:example:grantee', grantee.clientId, 'Grantee purpose');
    expect((await vote(c, sharedGrant.proposalId)).body.executed).toBe(true);
    expect(Number((await dataSharing.getFunction('isPermitted')(grantee.clientId, DRIVING, ['given_name']))[0])).toBe(1);
    await b.app.get(ChainEvents).poll();
    for (const party of [grantee, other]) {
      const refusedShared = await b.call('POST', '/rp/requests', {
        token: party.apiKey,
        body: { dcql_query: dcql(['family_name', 'given_name']), response_mode: 'direct_post.jwt' },
      });
      expect(refusedShared.status).toBe(403);
      expect(refusedShared.body.code).toBe('data_sharing_not_permitted');
      expect(refusedShared.body.violations[0].message).toContain('shared by every relying party of its prefix');
    }
  });

  it('withdrawing the agency’s authorisation by vote makes B’s verifier refuse new presentations', async () => {
    const pending = await requestAtB(['family_name', 'given_name']);
    expect(pending.status).toBe(201);
    expect((await a.operator('DELETE', `/operator/agencies/${agency.id}/authorisations/driving-licence`)).status).toBe(200);
    await outboxSettled(a);
    const proposed = (await c.operator('GET', '/operator/consortium/proposals')).body[0];
    expect(proposed).toMatchObject({ state: 'Open', action: { kind: 'WithdrawIssuer' } });
    expect(await onChainAuthorised()).toBe(true);
    expect((await vote(c, proposed.id)).body.executed).toBe(true);
    expect(await onChainAuthorised()).toBe(false);
    // B learns of the withdrawal from the registry's event (its poll interval bounds how late): poll now.
    await b.app.get(ChainEvents).poll();

    const answered = await citizen.answer(pending.body.link, held);
    expect(answered.status).toBe(200);
    const result = await verdictAtB(pending.body.id);
    expect(result.status).toBe('rejected');
    expect(JSON.stringify(result.result)).toContain('not authorised');
    await eventually(async () => ((await authorisation(a)) === 'withdrawn' ? true : undefined));
  });

  it('a permission withdrawn by governance stops requests at once', async () => {
    const withdrawal = await propose(c, { kind: 'WithdrawPermission', permissionId });
    expect((await vote(a, withdrawal.proposalId)).body.executed).toBe(true);
    const [verdict] = await dataSharing.getFunction('isPermitted')(bank.clientId, DRIVING, ['family_name']);
    expect(Number(verdict)).toBe(2); // Withdrawn
    // B forgets its cached answers when it sees the registry's event (its poll interval bounds how late): poll now.
    await b.app.get(ChainEvents).poll();
    const refused = await requestAtB(['family_name', 'given_name']);
    expect(refused.status).toBe(403);
    expect(refused.body.violations[0].message).toContain('withdrawn');
  });

  it('refuses a proposal while the same one is still on its way to the chain (a retry during an outage)', async () => {
    const worker = a.app.get(OutboxWorker);
    await worker.stop();
    const action = { kind: 'AddMember', member: Wallet.createRandom().address, name: 'Retried' };
    let first: Promise<Reply> | undefined;
    try {
      first = a.operator('POST', '/operator/consortium/proposals', action);
      await eventually(async () =>
        (
          await a.app
            .get(Database)
            .use(undefined, (m) => m.getRepository(OutboxEntity).findBy({ purpose: 'consortium:propose:AddMember' }))
        ).find((entry) => entry.status === 'pending'),
      );
      const retried = await a.operator('POST', '/operator/consortium/proposals', action);
      expect(retried.status).toBe(409);
      expect(retried.body.reason).toMatch(/^the same propose:AddMember is on its way to the chain/);
    } finally {
      worker.start();
    }
    expect((await first).status).toBeLessThan(300);
  });

  it('declares its operator routes in the OpenAPI document', async () => {
    const document = await b.call('GET', '/docs/openapi.json');
    const conforms = openApiConformance(document.body);
    const check = (method: string, template: string, reply: Reply, status: number) =>
      expect({ status: reply.status, nonConformities: conforms(method, template, reply) }).toEqual({
        status,
        nonConformities: [],
      });
    check('GET', '/operator/consortium', await b.operator('GET', '/operator/consortium'), 200);
    check('GET', '/operator/consortium/proposals', await b.operator('GET', '/operator/consortium/proposals'), 200);
    check('GET', '/operator/consortium/proposals/{id}', await b.operator('GET', '/operator/consortium/proposals/1'), 200);
    check('GET', '/operator/consortium/proposals/{id}', await b.operator('GET', '/operator/consortium/proposals/999'), 404);
    check('POST', '/operator/consortium/proposals/{id}/votes', await vote(b, '1'), 409);
    check(
      'POST',
      '/operator/consortium/proposals',
      await b.operator('POST', '/operator/consortium/proposals', { kind: 'ChangeThreshold', threshold: 0 }),
      400,
    );
    check(
      'POST',
      '/operator/consortium/proposals',
      await b.operator('POST', '/operator/consortium/proposals', { kind: 'ChangeThreshold', threshold: 3 }),
      200,
    );
    check('GET', '/operator/chain', await b.operator('GET', '/operator/chain'), 200);
  });
});
