import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ChainEvents, OutboxService, TrustedIssuerRegistry } from '../src/chain/index.js';
import { ethrDidAddress } from '../src/did/index.js';
import { AgencyRepository } from '../src/issuer/agencies/agency.repository.js';
import { AuthorisationService } from '../src/issuer/credentials/authorisation.service.js';
import type { CredentialRepository } from '../src/issuer/credentials/credential.repository.js';
import { Database } from '../src/persistence/index.js';
import { VerifierService } from '../src/verifier/index.js';
import { createActiveAgency, eventually, outboxSettled, startTestApp, type TestApp } from './support/test-app.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';
import { holdNextCall } from './support/hold.js';

/**
 * The caches of the fast paths (issue #14) against a real chain node: what they hold is dropped by the
 * chain events that change it, and the status-list memo follows a new list version.
 */
describe('performance caches', () => {
  let app: TestApp;
  let apiKey: string;
  let agency: { id: string; did: string };

  const issue = () =>
    app.call('POST', '/credentials/issue', {
      token: apiKey,
      body: { credential: { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE_CLAIMS } },
    });

  beforeAll(async () => {
    app = await startTestApp();
    ({ agency, apiKey } = await createActiveAgency(app, 'cache-office', 'Cache Office', ['driving-licence']));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('authenticates an agency key by one prepared statement that reads as TypeORM does, and refuses it once revoked', async () => {
    const repository = app.app.get(AgencyRepository);
    const created = await app.operator('POST', `/operator/agencies/${agency.id}/api-keys`, { label: 'raw path' });
    expect(created.status).toBe(201);
    const key = created.body.apiKey as string;
    const prefix = key.slice('chy_'.length, 'chy_'.length + 12);
    const found = await repository.byActiveApiKey(prefix);
    // The same agency object the ORM hydrates (dates and nulls included).
    expect(found?.agency).toEqual({ ...(await repository.byId(agency.id)) });
    expect(found?.secretHash).toBe(
      createHash('sha256')
        .update(key.slice('chy_'.length + 13))
        .digest('hex'),
    );
    const issueWith = (token: string) =>
      app.call('POST', '/credentials/issue', {
        token,
        body: { credential: { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE_CLAIMS } },
      });
    expect((await issueWith(key)).status).toBe(201);
    expect((await app.operator('DELETE', `/operator/agencies/${agency.id}/api-keys/${prefix}`)).status).toBe(204);
    expect(await repository.byActiveApiKey(prefix)).toBeNull();
    expect((await issueWith(key)).status).toBe(401);
    expect((await issue()).status).toBe(201);
  });

  it('shares one read of an agency key among requests that miss it at once, but not across a revocation', async () => {
    const repository = app.app.get(AgencyRepository);
    const created = await app.operator('POST', `/operator/agencies/${agency.id}/api-keys`, { label: 'shared read' });
    expect(created.status).toBe(201);
    const prefix = (created.body.apiKey as string).slice('chy_'.length, 'chy_'.length + 12);
    // A private member, on purpose: the statement a shared read runs.
    const reads = repository as unknown as { readActiveApiKey: () => Promise<unknown> };
    let held = holdNextCall(reads, 'readActiveApiKey');
    try {
      const looking = Promise.all(Array.from({ length: 8 }, () => repository.byActiveApiKey(prefix)));
      await held.reached;
      held.release();
      const found = await looking;
      expect(found.map((key) => key?.agency.id)).toEqual(Array(8).fill(agency.id));
      expect(held.spy).toHaveBeenCalledTimes(1);
    } finally {
      held.release();
      held.spy.mockRestore();
    }
    // A lookup that arrives after the revocation reads on its own, whatever read was in flight before it.
    const other = await app.operator('POST', `/operator/agencies/${agency.id}/api-keys`, { label: 'revoked meanwhile' });
    const otherPrefix = (other.body.apiKey as string).slice('chy_'.length, 'chy_'.length + 12);
    held = holdNextCall(reads, 'readActiveApiKey');
    try {
      const before = repository.byActiveApiKey(otherPrefix);
      await held.reached;
      expect((await app.operator('DELETE', `/operator/agencies/${agency.id}/api-keys/${otherPrefix}`)).status).toBe(204);
      const after = repository.byActiveApiKey(otherPrefix);
      // Its own read started at once (a joined one would wait for the held read).
      expect(held.spy).toHaveBeenCalledTimes(2);
      held.release();
      expect(await after).toBeNull();
      await before;
    } finally {
      held.release();
      held.spy.mockRestore();
    }
  });

  it('remembers a status list version by its digest and replaces it when a new version is published', async () => {
    const issued = await issue();
    expect(issued.status).toBe(201);
    const credential = issued.body.credential as string;
    const uri = (decodeJwt(credential.split('~')[0]!) as { status: { status_list: { uri: string } } }).status.status_list.uri;
    const memo = app.app.get(VerifierService).statusMemo;
    const verify = async () =>
      (await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } })).body.checks.find(
        (check: { check: string }) => check.check === 'status',
      );
    expect(await verify()).toEqual(expect.objectContaining({ passed: true }));
    const served = async () => (await app.call('GET', new URL(uri).pathname)).body as string;
    const first = await served();
    const digestOf = (jwt: string) => createHash('sha256').update(jwt).digest('hex');
    expect(memo.digestOf(uri)).toBe(digestOf(first));
    // Warm: the same version answers from the memo, and still valid.
    expect(await verify()).toEqual(expect.objectContaining({ passed: true }));

    const revoked = await app.call('POST', `/credentials/${issued.body.credentialId}/status`, {
      token: apiKey,
      body: { action: 'revoke', reason: 'memo test' },
    });
    expect(revoked.status).toBe(200);
    const second = await eventually(async () => {
      const body = await served();
      return body !== first ? body : undefined;
    });
    expect(await verify()).toEqual(expect.objectContaining({ passed: false, reason: 'the credential is revoked' }));
    // The new version replaced the old one under its URL.
    expect(memo.digestOf(uri)).toBe(digestOf(second));
    await outboxSettled(app);
  });

  it('does not remember an issuer key resolved across a registry event of that identity', async () => {
    const issued = await issue();
    expect(issued.status).toBe(201);
    const { kid } = decodeProtectedHeader((issued.body.credential as string).split('~')[0]!);
    // Private members, on purpose: the issuer-key look-up and what it remembers, its resolution, and the
    // listeners a registry event reaches.
    const verifier = app.app.get(VerifierService) as unknown as {
      resolvedKeys: Map<string, unknown>;
      issuerKey(kid: string, issuer: string): Promise<{ jwk?: unknown }>;
      resolveIssuerKey(): Promise<unknown>;
    };
    const identityListeners = (
      app.app.get(ChainEvents) as unknown as { listeners: ((identity: string, block: number) => void)[] }
    ).listeners;
    verifier.resolvedKeys.clear();
    const held = holdNextCall(verifier, 'resolveIssuerKey');
    try {
      const asking = verifier.issuerKey(kid!, agency.did);
      await held.reached;
      // The agency's DID changes on chain while its document is being read: what is read may predate it.
      for (const listener of identityListeners) listener(ethrDidAddress(agency.did)!, 0);
      held.release();
      expect((await asking).jwk).toBeDefined();
      expect(verifier.resolvedKeys.size).toBe(0);
    } finally {
      held.release();
      held.spy.mockRestore();
    }
    // A resolution that overlapped no event is remembered.
    expect((await verifier.issuerKey(kid!, agency.did)).jwk).toBeDefined();
    expect(verifier.resolvedKeys.size).toBe(1);
  });

  it('does not remember an active authorisation read across a change that emptied the cache', async () => {
    const authorisations = app.app.get(AuthorisationService);
    expect((await issue()).status).toBe(201);
    expect(authorisations.cachedActive).toBe(1);
    // Any authorisation change empties the cache (here: another type for the same agency).
    await authorisations.set(agency.id, 'business-licence', true);
    expect(authorisations.cachedActive).toBe(0);

    // A private member, on purpose: the repository the service reads authorisation rows through.
    const repository = (authorisations as unknown as { repository: CredentialRepository }).repository;
    const held = holdNextCall(repository, 'authorisation');
    try {
      const asking = authorisations.assertMayIssue(agency.id, 'driving-licence');
      await held.reached;
      // While the row is being read, a change empties the cache again: what was read may be older than it.
      await authorisations.set(agency.id, 'business-licence', false);
      held.release();
      await asking;
      expect(authorisations.cachedActive).toBe(0);
    } finally {
      held.release();
      held.spy.mockRestore();
    }
    // A read that overlapped nothing is remembered (once this test's own chain writes have settled: their
    // mined-listeners empty the cache too).
    await outboxSettled(app);
    await eventually(async () => {
      await authorisations.assertMayIssue(agency.id, 'driving-licence');
      return authorisations.cachedActive === 1 ? true : undefined;
    });
  });

  it('empties the authorisation cache on the trusted-issuer registry event, so a withdrawal on chain is seen', async () => {
    const authorisations = app.app.get(AuthorisationService);
    // The previous test's chain writes may still be settling (their events empty the cache when they arrive):
    // issue until an issuance's authorisation is remembered.
    await eventually(async () => {
      expect((await issue()).status).toBe(201);
      return authorisations.cachedActive > 0 ? true : undefined;
    });

    // A withdrawal written to the registry without going through this service's authorisation rows
    // (as another replica or the governance would): only the chain event can tell this process.
    const registry = app.app.get(TrustedIssuerRegistry);
    const write = await registry.authorisationWrite(ethrDidAddress(agency.did)!, 'driving-licence', false, 'test:withdraw');
    await app.app.get(Database).transaction((tx) => app.app.get(OutboxService).enqueue(tx, [write]));
    await outboxSettled(app);
    await app.app.get(ChainEvents).poll();
    expect(authorisations.cachedActive).toBe(0);

    // The mirror follows the chain (reconciler), and issuing is refused at once.
    await authorisations.reconcile();
    const refused = await issue();
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('urn:chancery:problem:not_authorised_for_type');
  });
});
