import { ChainBootstrap, OutboxEntity } from '../src/chain/index.js';
import { AgencyAuthorisationEntity } from '../src/issuer/index.js';
import { Database } from '../src/persistence/index.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';
import { holdNextCall } from './support/hold.js';
import { createActiveAgency, eventually, startTestApp, type TestApp } from './support/test-app.js';
import { wallet } from './support/wallet.js';
import { drivingLicenceQuery } from './fixtures/dcql.js';

const PER_RESOURCE = 5;
const PER_IP = 3;

/** A browser's cookie jar for one flow: name=value of every Set-Cookie seen. */
function cookieJar() {
  const cookies = new Map<string, string>();
  return {
    header: () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    take(response: Response) {
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const at = pair!.indexOf('=');
        cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
      }
    },
  };
}

/**
 * An attacker's review of the routes of the last round (consortium operator API, audit trail, usage log,
 * wallet login, catalogue): each case proves one defect found (docs/notes/review.md), red before its fix.
 */
describe('review hardening', () => {
  let app: TestApp;
  let agencyKey: string;
  let rpKey: string;
  const holder = wallet();
  let held: Awaited<ReturnType<typeof holder.receive>>;

  beforeAll(async () => {
    // Production-like limits (tests default to none); the cases below stay under them except where one proves one.
    app = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000', RATE_LIMIT_PER_RESOURCE_PER_MINUTE: String(PER_RESOURCE) });
    agencyKey = (await createActiveAgency(app, 'review-dmv', 'Review Vehicle Office', ['driving-licence'])).apiKey;
    const party = await app.operator('POST', '/operator/relying-parties', {
      name: 'Review Bank',
      purpose: 'Account opening',
      allowedClaims: { 'driving-licence': ['expiry_date', 'categories'] },
      clientIdPrefix: 'decentralized_identifier',
    });
    expect(party.status).toBe(201);
    rpKey = party.body.apiKey;
    held = await holder.receive(app, agencyKey, {
      type: 'driving-licence',
      formats: ['dc+sd-jwt'],
      claims: DRIVING_LICENCE_CLAIMS,
      txCode: false,
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it("a relying party cannot read a citizen's usage log with its own request's view token", async () => {
    const created = await app.call('POST', '/rp/requests', {
      token: rpKey,
      body: {
        dcql_query: drivingLicenceQuery(app.config.http.publicUrl, ['expiry_date']),
      },
    });
    expect(created.status).toBe(201);
    expect((await holder.answer(created.body.link, held)).status).toBe(200);
    // The party's own verdict is readable with its view token (desk page) ...
    const own = await app.call('GET', `/rp/requests/${created.body.id}/verdict?view=${created.body.viewToken}`);
    expect(own.status).toBe(200);
    // ... but that token is no capability on the citizen's usage log: only the records page's own requests are.
    const leaked = await app.call('GET', `/citizens/records/requests/${created.body.id}?readToken=${created.body.viewToken}`);
    expect(leaked.status).toBe(404);
    expect(leaked.body.code).toBe('not_found');
    expect(JSON.stringify(leaked.body)).not.toContain('Review Bank');

    // The citizen's own records request still shows that verification.
    const started = await app.call('POST', '/citizens/records/requests', { body: { type: 'driving-licence' } });
    expect(started.status).toBe(201);
    expect((await holder.answer(started.body.link, held)).status).toBe(200);
    const mine = await app.call('GET', `/citizens/records/requests/${started.body.id}?readToken=${started.body.readToken}`);
    expect(mine.status).toBe(200);
    expect(mine.body.status).toBe('verified');
    expect(mine.body.records.map((record: { relyingParty: { name: string } }) => record.relyingParty.name)).toContain(
      'Review Bank',
    );
  });

  it('the usage-log page serves a credential type created after its first request (its relying party follows the catalogue)', async () => {
    // The first test made a records request: this replica's records party knows the shipped types only.
    const created = await app.operator('POST', '/operator/catalogue', {
      id: 'review-permit',
      vcType: 'ReviewPermitCredential',
      holderType: 'natural',
      display: { en: { name: 'Review permit' }, 'zh-CN': { name: '审查许可证' } },
      validityDays: 365,
      formats: ['dc+sd-jwt'],
      selectivelyDisclosable: ['permit_number'],
      claims: {
        type: 'object',
        additionalProperties: false,
        required: ['permit_number'],
        properties: { permit_number: { type: 'string', minLength: 1 } },
      },
    });
    expect(created.status).toBe(201);
    const started = await app.call('POST', '/citizens/records/requests', { body: { type: 'review-permit' } });
    expect(started.status).toBe(201);
    const pending = await app.call('GET', `/citizens/records/requests/${started.body.id}?readToken=${started.body.readToken}`);
    expect(pending.body).toEqual({ status: 'pending' });
    // The earlier types still work, through whichever party serves them now.
    expect((await app.call('POST', '/citizens/records/requests', { body: { type: 'driving-licence' } })).status).toBe(201);
  });

  it('an audit sequence number out of range is an unknown entry on every database, never rounded into another one', async () => {
    for (const seq of ['0', '-1', '9007199254740993', '99999999999999999999']) {
      const reply = await app.operator('GET', `/audit/entries/${seq}`);
      expect(reply.status).toBe(404);
      expect(reply.body.code).toBe('not_found');
      expect(reply.body.detail).not.toMatch(/9007199254740992|e\+/);
    }
    expect((await app.operator('GET', '/audit/entries/1')).status).toBe(200);
    expect((await app.operator('GET', '/audit/entries/1e3')).status).toBe(400);
  });

  it('joining a contract that is no consortium governance is refused in our words, not the chain library’s', async () => {
    const chain = (await app.operator('GET', '/operator/chain')).body;
    for (const address of [chain.registry, chain.contracts.StatusListAnchor]) {
      const refused = await app.operator('POST', '/operator/consortium/join', { governance: address });
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('conflict');
      // No ethers message (action=, code=CALL_EXCEPTION, version=, the call data) reaches the client.
      expect(refused.body.detail).not.toMatch(/code=|version=|action=|transaction=|0x[0-9a-f]{64}|CALL_EXCEPTION|BAD_DATA/i);
      expect(refused.body.detail).toContain(address);
    }
    // And this department still follows its consortium.
    expect((await app.operator('GET', '/operator/consortium')).body.governance).toBe(chain.consortium.governance);
  });

  it('the wallet-login return URL is rate limited like the login page: each call can start fresh wallet requests', async () => {
    const registered = await app.operator('POST', '/operator/oidc-clients', {
      name: 'Review portal',
      redirectUris: ['https://portal.example/callback'],
      scopes: ['resident_identity'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    expect(registered.status).toBe(201);
    const jar = cookieJar();
    const browse = async (path: string) => {
      const response = await fetch(new URL(path, app.url), { headers: { cookie: jar.header() }, redirect: 'manual' });
      jar.take(response);
      await response.text();
      return response;
    };
    const query = new URLSearchParams({
      client_id: registered.body.client.clientId,
      response_type: 'code',
      scope: 'openid resident_identity',
      redirect_uri: 'https://portal.example/callback',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSstw-cM',
      code_challenge_method: 'S256',
      state: 'review-state',
      nonce: 'review-nonce',
    });
    const authorized = await browse(`/oidc/auth?${query}`);
    expect(authorized.status).toBe(303);
    const pagePath = new URL(authorized.headers.get('location')!, app.url).pathname;
    expect((await browse(pagePath)).status).toBe(200);
    expect((await browse(`${pagePath}/same-device`)).status).toBe(303);

    const requests = async () =>
      Number((await app.app.get(Database).dataSource.query('SELECT COUNT(*) AS n FROM presentation_requests'))[0].n);
    const before = await requests();
    const statuses: number[] = [];
    for (let i = 0; i < PER_RESOURCE + 3; i++)
      statuses.push((await browse(`${pagePath}/wallet-return?response_code=guess-${i}`)).status);
    // Refused once over the per-sign-in limit, as the page and the same-device link are ...
    expect(statuses.slice(0, PER_RESOURCE).every((status) => status === 200)).toBe(true);
    expect(statuses.slice(PER_RESOURCE)).toEqual([429, 429, 429]);
    // ... so guessed response codes no longer make wallet requests without bound.
    expect((await requests()) - before).toBeLessThanOrEqual(PER_RESOURCE);
  });
});

describe('review hardening: two replicas', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    // A small per-IP limit: the consortium case calls operator routes only, which are not limited.
    // The outbox's poll at 100 ms, as in replicas.e2e-spec.ts: both replicas write, and only the poll moves the other's.
    a = await startTestApp({ RECONCILE_INTERVAL_MS: '200', OUTBOX_POLL_MS: '100', RATE_LIMIT_PER_MINUTE: String(PER_IP) });
    // Replicas share one environment: like the primary, not pinned to a consortium (consortium:init allowed).
    const unpinned = { CHAIN_CONSORTIUM_ADDRESS: undefined as unknown as string };
    b = await startTestApp({ RECONCILE_INTERVAL_MS: '200', OUTBOX_POLL_MS: '100', ...unpinned }, { replicaOf: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a consortium founded through one replica is the one the other replica reads, votes in and verifies against', async () => {
    const before = (await b.operator('GET', '/operator/consortium')).body;
    const founded = await a.operator('POST', '/operator/consortium/init', { founders: [], threshold: 1 });
    expect(founded.status).toBe(200);
    expect(founded.body.governance).not.toBe(before.governance);

    // The operator routes of the other replica look at once ...
    const seen = await b.operator('GET', '/operator/consortium');
    expect(seen.status).toBe(200);
    expect(seen.body.governance).toBe(founded.body.governance);
    expect(seen.body.proposalCount).toBe(founded.body.proposalCount);
    // ... and a proposal made there goes to the new governance (the first proposal of that consortium).
    const proposed = await b.operator('POST', '/operator/consortium/proposals', { kind: 'ChangeThreshold', threshold: 1 });
    expect(proposed.status).toBe(200);
    expect(proposed.body.proposalId).toBe(String(founded.body.proposalCount + 1));
    expect((await a.operator('GET', `/operator/consortium/proposals/${proposed.body.proposalId}`)).status).toBe(200);

    // Everything else on that replica (issuer trust, data-sharing permissions) follows within a reconcile period.
    await eventually(async () => {
      const chain = (await b.operator('GET', '/operator/chain')).body;
      return chain.consortium.governance === founded.body.governance ? true : undefined;
    });
    expect((await b.operator('GET', '/operator/chain')).body.consortium.issuerRegistry).toBe(founded.body.issuerRegistry);
  });

  it('an authorisation changed through a replica right after the other founded a new consortium is proposed to the new one', async () => {
    const { agency } = await createActiveAgency(b, 'consortium-switch');
    // B follows a recorded consortium every reconcile period (200 ms here): stopped, so B's copy stays the old one.
    const bootstrap = b.app.get(ChainBootstrap);
    clearInterval((bootstrap as unknown as { consortiumTimer: NodeJS.Timeout }).consortiumTimer);
    const founded = await a.operator('POST', '/operator/consortium/init', { founders: [], threshold: 1 });
    expect(founded.status).toBe(200);
    expect(bootstrap.consortium.governance).not.toBe(founded.body.governance);

    const granted = await b.operator('PUT', `/operator/agencies/${agency.id}/authorisations/driving-licence`);
    expect(granted.status).toBe(200);
    const db = b.app.get(Database);
    const row = await db.use(undefined, (m) =>
      m.getRepository(AgencyAuthorisationEntity).findOneByOrFail({ agencyId: agency.id, typeId: 'driving-licence' }),
    );
    const write = await db.use(undefined, (m) => m.getRepository(OutboxEntity).findOneByOrFail({ id: row.outboxId }));
    // Without the look at the recorded consortium the proposal went to the old governance, and B's reconciler
    // then found no such authorisation in the new registry and set it to withdrawn.
    expect(write.toAddress?.toLowerCase()).toBe(founded.body.governance.toLowerCase());
    await eventually(async () => {
      const list = (await b.operator('GET', `/operator/agencies/${agency.id}/authorisations`)).body as { status: string }[];
      return list[0]?.status === 'active' ? true : undefined;
    });
  });

  it("the OpenID Provider's per-IP limits count the spellings its router accepts (case, trailing slash) as one endpoint", async () => {
    // The authorization endpoint: the browser-side budget (PAR, token and userinfo, the portal's back-end, have twenty
    // times it).
    const authorize = (path: string) => a.call('GET', `${path}?response_type=code&client_id=x&scope=openid`);
    const statuses: number[] = [];
    for (const path of ['/oidc/auth', '/oidc/AUTH', '/oidc/Auth/', '/oidc/auth/', '/oidc/aUTH'])
      statuses.push((await authorize(path)).status);
    // The provider answers every spelling (here: an unknown client) until the limit, then 429.
    expect(new Set(statuses.slice(0, PER_IP)).size).toBe(1);
    expect(statuses.slice(0, PER_IP)).not.toContain(429);
    expect(statuses.slice(PER_IP)).toEqual([429, 429]);
  });
});

describe('review hardening: chain node outage', () => {
  let app: TestApp;
  /** Lets the held restart of the killed node go on (also when the test failed before it did). */
  let endOutage: (() => void) | undefined;

  beforeAll(async () => {
    // This case kills the embedded node; the service starts it again after CHAIN_EMBEDDED_RESTART_MS.
    app = await startTestApp({ CHAIN_EMBEDDED_RESTART_MS: '4000' });
  });
  afterAll(async () => {
    endOutage?.();
    await app?.close();
  });

  it('the consortium routes answer 503 (not 500) while the chain node cannot be reached', async () => {
    const node = app.embeddedChain!;
    // The service starts the node again after CHAIN_EMBEDDED_RESTART_MS: held here until the outage was observed.
    const restarting = holdNextCall(node, 'restart');
    endOutage = restarting.release;
    await node.kill();
    const replies = [
      await app.operator('GET', '/operator/consortium'),
      await app.operator('GET', '/operator/consortium/proposals'),
      await app.operator('GET', '/operator/consortium/proposals/1'),
      await app.operator('POST', '/operator/consortium/join', { governance: '0x' + '1'.repeat(40) }),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('chain_unavailable');
    }
    // (Proposals and votes are outbox writes: accepted while the node is down, sent when it is back.)
    // The node is back (the service restarts it): the same routes answer again.
    endOutage?.();
    await eventually(async () => ((await app.operator('GET', '/operator/consortium')).status === 200 ? true : undefined), 60_000);
    expect(restarting.spy).toHaveBeenCalled();
    restarting.spy.mockRestore();
  });
});
