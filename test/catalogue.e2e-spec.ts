import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest } from '@sd-jwt/crypto-nodejs';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import * as vc from '@digitalbazaar/vc';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as ecdsaRdfc2019 } from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import { driver as didKeyDriver } from '@digitalbazaar/did-method-key';
import { checkStatus } from '@digitalbazaar/vc-bitstring-status-list';
import { verifyCredential as didJwtVcVerify } from 'did-jwt-vc';
import { runCli } from '../src/cli.js';
import { Oid4vciProtocol } from '../src/issuer/oid4vci/protocol.js';
import { jest } from '@jest/globals';
import { BUNDLED_CONTEXTS, Catalogue, CatalogueService, jwkToMultibase, signJws } from '../src/credentials/index.js';
import { Database } from '../src/persistence/index.js';
import { StatusService } from '../src/status/index.js';
import { KeyService } from '../src/keys/index.js';
import { AuditLog } from '../src/audit/index.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';
import { createActiveAgency, eventually, independentResolver, startTestApp, type TestApp } from './support/test-app.js';
import { wallet } from './support/wallet.js';
import { openApiConformance } from './support/openapi-conformance.js';

const FISHING_PERMIT = {
  id: 'fishing-permit',
  vcType: 'FishingPermitCredential',
  catalogueCode: '11330000002482209J001',
  holderType: 'natural',
  display: {
    en: { name: 'Fishing permit', description: 'Inland waters fishing permit' },
    'zh-CN': { name: '捕捞许可证', description: '内陆渔业捕捞许可证' },
  },
  validityDays: 365,
  formats: ['dc+sd-jwt', 'jwt_vc_json'],
  selectivelyDisclosable: ['holder_name', 'waters'],
  claims: {
    type: 'object',
    additionalProperties: false,
    required: ['holder_name', 'waters'],
    properties: {
      holder_name: { type: 'string', minLength: 1, title: 'Holder / 持证人' },
      waters: { type: 'array', items: { type: 'string' }, minItems: 1, title: 'Waters / 作业水域' },
    },
  },
};
const PERMIT_CLAIMS = { holder_name: '王芳', waters: ['钱塘江'] };
const V2 = 'https://www.w3.org/ns/credentials/v2';
const EXAMPLES = 'https://www.w3.org/ns/credentials/examples/v2';

describe('run-time credential catalogue: create, version, retire; metadata without restart; CLI', () => {
  let app: TestApp;
  let replica: TestApp;
  let apiKey: string;
  let agencyId: string;
  let independent: Awaited<ReturnType<typeof independentResolver>>;

  const configurations = async (service: TestApp) =>
    Object.keys(
      (await service.call('GET', '/.well-known/openid-credential-issuer')).body.credential_configurations_supported as object,
    );
  const issue = (credential: Record<string, unknown>, options: Record<string, unknown> = {}) =>
    app.call('POST', '/credentials/issue', { token: apiKey, body: { credential, options } });
  const sdJwtFrom = (reply: { body: { verifiableCredential: { id: string } } }) =>
    reply.body.verifiableCredential.id.slice('data:application/dc+sd-jwt,'.length);
  const verifySdJwt = async (credential: string) => {
    const issuerJwk = await independent.issuerJwk(decodeProtectedHeader(credential.split('~')[0]!).kid!);
    return new SDJwtVcInstance({ hasher: digest, verifier: await ES256.getVerifier(issuerJwk) }).verify(credential);
  };

  beforeAll(async () => {
    app = await startTestApp({ CATALOGUE_REFRESH_MS: '200', ISSUE_KEY_IN_PATH: 'true' });
    replica = await startTestApp({ CATALOGUE_REFRESH_MS: '200' }, { replicaOf: app });
    independent = await independentResolver(app);
    const created = await createActiveAgency(app, 'fisheries', 'Fisheries Bureau 渔业局');
    apiKey = created.apiKey;
    agencyId = created.agency.id;
  });
  afterAll(async () => {
    independent?.close();
    await replica?.close();
    await app?.close();
  });

  it('seeds the shipped types once, with versions and schema digests, on both replicas', async () => {
    const listed = await app.operator('GET', '/operator/catalogue');
    expect(listed.status).toBe(200);
    expect(listed.body.map((type: { id: string }) => type.id)).toEqual([
      'business-licence',
      'driving-licence',
      'generic-vcdm2',
      'professional-qualification',
      'resident-identity',
    ]);
    expect((await replica.operator('GET', '/operator/catalogue')).body).toEqual(listed.body);
    const shown = await app.operator('GET', '/operator/catalogue/business-licence');
    expect(shown.body).toMatchObject({ holderType: 'legal', status: 'active', version: 1, catalogueCode: expect.any(String) });
    expect(shown.body.versions).toEqual([
      { version: 1, schemaDigest: shown.body.schemaDigest, publishedBy: 'seed', createdAt: expect.any(String) },
    ]);
    expect(shown.body.schemaDigest).toMatch(/^[0-9a-f]{64}$/);
    expect((await app.call('GET', '/operator/catalogue')).status).toBe(401);
  });

  it('builds the catalogue once at start: a poll that finds the table unchanged compiles nothing again', async () => {
    const replace = jest.spyOn(Catalogue.prototype, 'replace');
    const fresh = await startTestApp({ CATALOGUE_REFRESH_MS: '600000' }, { replicaOf: app });
    try {
      expect(replace).toHaveBeenCalledTimes(1); // built from the table at start-up
      await fresh.app.get(CatalogueService).refresh();
      expect(replace).toHaveBeenCalledTimes(1);
    } finally {
      replace.mockRestore();
      await fresh.close();
    }
  });

  it('creates a type (every problem listed for a bad one), lists it in OID4VCI metadata at once and on the replica', async () => {
    const bad = await app.operator('POST', '/operator/catalogue', {
      ...FISHING_PERMIT,
      id: 'Fishing Permit',
      holderType: 'robot',
      selectivelyDisclosable: ['nope'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.violations.map((violation: { path: string }) => violation.path).sort()).toEqual(['holderType', 'id']);
    const unknownClaim = await app.operator('POST', '/operator/catalogue', {
      ...FISHING_PERMIT,
      selectivelyDisclosable: ['nope'],
    });
    expect(unknownClaim.body.violations).toEqual([{ path: 'selectivelyDisclosable', message: 'unknown claim nope' }]);

    expect(await configurations(app)).not.toContain('fishing-permit.sd_jwt');
    // The metadata is made once per catalogue revision, not per request.
    const made = jest.spyOn(app.app.get(Oid4vciProtocol).issuer, 'createCredentialIssuerMetadata');
    const catalogue = app.app.get(Catalogue);
    const revision = catalogue.revision;
    try {
      await configurations(app);
      expect(made).not.toHaveBeenCalled();
      const created = await app.operator('POST', '/operator/catalogue', FISHING_PERMIT);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: 'fishing-permit', version: 1, status: 'active', multipleSubjects: false });
      expect(await configurations(app)).toEqual(expect.arrayContaining(['fishing-permit.sd_jwt', 'fishing-permit.jwt_vc']));
      await configurations(app);
      await configurations(app);
      // Once per revision (the create's own reload, and perhaps a poll that raced it), not once per request.
      expect(made.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(made.mock.calls.length).toBeLessThanOrEqual(catalogue.revision - revision);
    } finally {
      made.mockRestore();
    }
    await eventually(async () => ((await configurations(replica)).includes('fishing-permit.sd_jwt') ? true : undefined));

    const again = await app.operator('POST', '/operator/catalogue', FISHING_PERMIT);
    expect(again.status).toBe(409);
    const sameW3cType = await app.operator('POST', '/operator/catalogue', { ...FISHING_PERMIT, id: 'fishing-permit-two' });
    expect(sameW3cType.status).toBe(409);
  });

  it('issues the new type over VC-API and over OID4VCI once the agency is authorised', async () => {
    const refused = await issue({ type: ['VerifiableCredential', 'FishingPermitCredential'], credentialSubject: PERMIT_CLAIMS });
    expect(refused.status).toBe(403);
    const granted = await app.operator('PUT', `/operator/agencies/${agencyId}/authorisations/fishing-permit`);
    expect(granted.status).toBe(200);
    await eventually(async () => {
      const list = (await app.operator('GET', `/operator/agencies/${agencyId}/authorisations`)).body as { status: string }[];
      return list.every((entry) => entry.status === 'active') ? true : undefined;
    });

    const sdJwt = await issue(
      { type: ['VerifiableCredential', 'FishingPermitCredential'], credentialSubject: PERMIT_CLAIMS },
      { format: 'dc+sd-jwt' },
    );
    expect(sdJwt.status).toBe(201);
    const { payload } = await verifySdJwt(sdJwtFrom(sdJwt));
    expect(payload).toMatchObject({ ...PERMIT_CLAIMS, vct: expect.stringMatching(/\/vct\/fishing-permit$/) });

    const jwt = await issue(
      { type: ['VerifiableCredential', 'FishingPermitCredential'], credentialSubject: PERMIT_CLAIMS },
      { format: 'jwt_vc_json' },
    );
    expect(jwt.status).toBe(201);
    const token = jwt.body.verifiableCredential.id.slice('data:application/vc+jwt,'.length);
    const key = await importJWK((await independent.issuerJwk(decodeProtectedHeader(token).kid!)) as JWK, 'ES256');
    const verified = await jwtVerify(token, key, { typ: 'vc+jwt' });
    expect(verified.payload).toMatchObject({ type: ['VerifiableCredential', 'FishingPermitCredential'] });
    expect((await app.call('POST', '/credentials/verify', { body: { verifiableCredential: token } })).status).toBe(200);

    // OID4VCI: the @openid4vc client as a wallet, the metadata read from the replica's sibling.
    const held = await wallet().receive(app, apiKey, { type: 'fishing-permit', formats: ['dc+sd-jwt'], claims: PERMIT_CLAIMS });
    const fromWallet = await verifySdJwt(held.credential);
    expect(fromWallet.payload).toMatchObject({
      ...PERMIT_CLAIMS,
      cnf: { jwk: expect.objectContaining({ x: held.holderKey.x }) },
    });
  });

  let beforeRetirement: string;

  it('publishes a new version: the new schema applies at once, older versions stay listed with their digests', async () => {
    const { id: _id, ...definition } = FISHING_PERMIT;
    const v2 = {
      ...definition,
      selectivelyDisclosable: [...definition.selectivelyDisclosable, 'vessel'],
      claims: {
        ...definition.claims,
        required: [...definition.claims.required, 'vessel'],
        properties: { ...definition.claims.properties, vessel: { type: 'string', title: 'Vessel / 船名' } },
      },
    };
    // The table is read again after the commit; that read failing must not fail the published version (a retry
    // would publish a third): the answer comes from what was written, and a later read loads it.
    const catalogueService = app.app.get(CatalogueService);
    const reload = jest.spyOn(catalogueService, 'refresh').mockRejectedValueOnce(new Error('Connection terminated'));
    const published = await app
      .operator('POST', '/operator/catalogue/fishing-permit/versions', v2)
      .finally(() => reload.mockRestore());
    expect(published.status).toBe(201);
    expect(published.body.version).toBe(2);
    expect(published.body.claims.properties.vessel).toEqual({ type: 'string', title: 'Vessel / 船名' });
    await catalogueService.refresh();
    const retyped = await app.operator('POST', '/operator/catalogue/fishing-permit/versions', {
      ...v2,
      vcType: 'OtherCredential',
    });
    expect(retyped.status).toBe(400);
    expect((await app.operator('POST', '/operator/catalogue/no-such-type/versions', v2)).status).toBe(404);

    const old = await issue({ type: ['VerifiableCredential', 'FishingPermitCredential'], credentialSubject: PERMIT_CLAIMS });
    expect(old.status).toBe(400);
    expect(old.body.violations).toEqual([expect.objectContaining({ path: 'credential.credentialSubject.vessel' })]);
    const current = await issue(
      { type: ['VerifiableCredential', 'FishingPermitCredential'], credentialSubject: { ...PERMIT_CLAIMS, vessel: '浙渔 001' } },
      { format: 'jwt_vc_json' },
    );
    expect(current.status).toBe(201);
    beforeRetirement = current.body.verifiableCredential.id.slice('data:application/vc+jwt,'.length);

    const shown = await app.operator('GET', '/operator/catalogue/fishing-permit');
    expect(shown.body.versions.map((version: { version: number }) => version.version)).toEqual([1, 2]);
    expect(shown.body.versions[0].schemaDigest).not.toBe(shown.body.versions[1].schemaDigest);
    await eventually(async () =>
      (await replica.operator('GET', '/operator/catalogue/fishing-permit')).body.version === 2 ? true : undefined,
    );
  });

  it('retires a type: gone from metadata (also on the replica), issuance refused, issued credentials still verify', async () => {
    const retired = await app.operator('POST', '/operator/catalogue/fishing-permit/retire');
    expect(retired.status).toBe(200);
    expect(retired.body.status).toBe('retired');
    expect(await configurations(app)).not.toContain('fishing-permit.sd_jwt');
    await eventually(async () => (!(await configurations(replica)).includes('fishing-permit.sd_jwt') ? true : undefined));

    const refused = await issue({
      type: ['VerifiableCredential', 'FishingPermitCredential'],
      credentialSubject: { ...PERMIT_CLAIMS, vessel: '浙渔 001' },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('credential_type_retired');
    const offer = await app.call('POST', '/agency/offers', {
      token: apiKey,
      body: { type: 'fishing-permit', formats: ['dc+sd-jwt'], claims: { ...PERMIT_CLAIMS, vessel: 'x' } },
    });
    expect(offer.status).toBe(409);
    const verified = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: beforeRetirement } });
    expect(verified.body.checks.filter((check: { passed: boolean }) => !check.passed)).toEqual([]);
    expect(verified.status).toBe(200);

    // Every change of the type is in the audit trail: ids, versions and digests, in order.
    const placeholder = app.dbKind === 'postgres' ? '$1' : '?';
    const changes = (await app.app
      .get(Database)
      .dataSource.query(
        `SELECT data FROM audit_entries WHERE kind = 'catalogue.changed' AND subject = ${placeholder} ORDER BY seq`,
        ['credential-type:fishing-permit'],
      )) as { data: string }[];
    expect(changes.map((row) => JSON.parse(row.data) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ change: 'created', version: 1, status: 'active' }),
      expect.objectContaining({ change: 'versioned', version: 2, status: 'active' }),
      expect.objectContaining({ change: 'retired', version: 2, status: 'retired' }),
    ]);
  });

  /** @digitalbazaar/vc used directly; keys read from the chain by ethr-did-resolver, contexts from the bundle. */
  const verifiedByDigitalBazaar = async (credential: unknown) => {
    const loader = async (url: string) => {
      const context = BUNDLED_CONTEXTS.get(url);
      if (context) return { contextUrl: null, documentUrl: url, document: context };
      const { didDocument } = await independent.resolver.resolve(url.split('#')[0]!);
      if (!url.includes('#'))
        return { contextUrl: null, documentUrl: url, document: { ...didDocument, '@context': ['https://www.w3.org/ns/did/v1'] } };
      const multikey = {
        '@context': 'https://w3id.org/security/multikey/v1',
        id: url,
        type: 'Multikey',
        controller: url.split('#')[0],
        publicKeyMultibase: jwkToMultibase(await independent.issuerJwk(url)),
      };
      return { contextUrl: null, documentUrl: url, document: multikey };
    };
    const result = await vc.verifyCredential({
      credential,
      suite: new DataIntegrityProof({ cryptosuite: ecdsaRdfc2019 }),
      documentLoader: loader,
      // The proof is what is checked here; status is checked by our verifier.
      checkStatus: async () => ({ verified: true }),
    });
    return result.verified as boolean;
  };

  /** Revokes a credential by its record id, publishes, and waits until our verifier refuses it (the answer). */
  const revokedAndRefused = async (credentialId: string, credential: unknown) => {
    const revoked = await app.call('POST', `/credentials/${credentialId}/status`, {
      token: apiKey,
      body: { action: 'revoke', reason: 'issued in error' },
    });
    expect(revoked.status).toBe(200);
    await app.app.get(StatusService).publishPending();
    return eventually(async () => {
      const reply = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } });
      return reply.status === 400 ? reply : undefined;
    });
  };

  /**
   * @digitalbazaar/vc as the W3C Data Integrity suites run it: did:key only, the issuer must be the key's controller,
   * and the Bitstring Status List library fetches each list, checks its proof and that its issuer is the credential's.
   */
  const w3cSuiteVerifier = () => {
    const didKeys = didKeyDriver();
    didKeys.use({ multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from });
    const fetched: string[] = [];
    const documentLoader = async (url: string) => {
      if (url.startsWith('did:key:')) return { contextUrl: null, documentUrl: url, document: await didKeys.get({ url }) };
      const context = BUNDLED_CONTEXTS.get(url);
      if (context) return { contextUrl: null, documentUrl: url, document: context };
      if (!url.startsWith(app.url)) throw new Error(`not loaded: ${url}`);
      fetched.push(url);
      const list = await app.call('GET', new URL(url).pathname, { headers: { accept: 'application/vc+ld+json' } });
      return { contextUrl: null, documentUrl: url, document: list.body };
    };
    const suite = new DataIntegrityProof({ cryptosuite: ecdsaRdfc2019 });
    return { documentLoader, suite, fetched };
  };
  const verifiedAsW3cSuites = async (credential: unknown) => {
    const { documentLoader, suite, fetched } = w3cSuiteVerifier();
    const result = await vc.verifyCredential({
      credential,
      suite,
      documentLoader,
      checkStatus: (options: Record<string, unknown>) => checkStatus({ ...options, suite, verifyMatchingIssuers: true }),
    });
    return { result, fetched };
  };
  /** The status bits the Bitstring Status List library reads for a credential, by purpose. */
  const statusBitsAsW3cSuites = async (credential: unknown) => {
    const { documentLoader, suite } = w3cSuiteVerifier();
    const checked = await checkStatus({ credential, documentLoader, suite, verifyMatchingIssuers: true });
    expect(checked.error).toBeUndefined();
    return Object.fromEntries((checked.results ?? []).map((result) => [result.credentialStatus['statusPurpose'], result.status]));
  };

  it('issues Data Integrity (ecdsa-rdfc-2019) over VC-API, verified by @digitalbazaar/vc and by us', async () => {
    for (const typeId of ['driving-licence', 'generic-vcdm2']) {
      expect((await app.operator('PUT', `/operator/agencies/${agencyId}/authorisations/${typeId}`)).status).toBe(200);
    }
    await eventually(async () => {
      const list = (await app.operator('GET', `/operator/agencies/${agencyId}/authorisations`)).body as { status: string }[];
      return list.every((entry) => entry.status === 'active') ? true : undefined;
    });
    const issued = await issue(
      { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE_CLAIMS },
      { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019' },
    );
    expect(issued.status).toBe(201);
    const credential = issued.body.verifiableCredential;
    expect(credential).toMatchObject({
      '@context': [V2, 'https://www.w3.org/ns/credentials/undefined-terms/v2'],
      type: ['VerifiableCredential', 'DrivingLicenceCredential'],
      credentialStatus: [
        expect.objectContaining({ type: 'BitstringStatusListEntry', statusPurpose: 'revocation' }),
        expect.objectContaining({ type: 'BitstringStatusListEntry', statusPurpose: 'suspension' }),
      ],
      proof: { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019', proofPurpose: 'assertionMethod' },
    });
    expect(credential.proof.verificationMethod).toMatch(/^did:ethr:govchain:0x[0-9a-fA-F]{40}#/);
    expect(await verifiedByDigitalBazaar(credential)).toBe(true);
    const ours = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } });
    expect(ours.status).toBe(200);
    const tampered = { ...credential, credentialSubject: { ...credential.credentialSubject, family_name: 'X' } };
    expect(await verifiedByDigitalBazaar(tampered)).toBe(false);

    // Its status list, by content negotiation: the Data Integrity form beside the vc+jwt one.
    const listPath = new URL(credential.credentialStatus[0].statusListCredential).pathname;
    const asJwt = await app.call('GET', listPath);
    expect(asJwt.headers.get('content-type')).toContain('application/vc+jwt');
    const asJsonLd = await app.call('GET', listPath, { headers: { accept: 'application/vc+ld+json' } });
    expect(asJsonLd.status).toBe(200);
    expect(asJsonLd.headers.get('content-type')).toContain('application/vc+ld+json');
    expect(asJsonLd.headers.get('vary')).toContain('accept');
    expect(asJsonLd.body).toMatchObject({
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      // ttl in milliseconds, as Cache-Control's max-age (STATUS_LIST_MAX_AGE_SECONDS, 30 by default).
      credentialSubject: {
        type: 'BitstringStatusList',
        statusPurpose: 'revocation',
        encodedList: expect.any(String),
        ttl: 30_000,
      },
      proof: { cryptosuite: 'ecdsa-rdfc-2019' },
    });
    expect(asJwt.headers.get('cache-control')).toBe('public, max-age=30');
    expect(asJsonLd.headers.get('etag')).not.toBe(asJwt.headers.get('etag'));
    // VCDM 2.0's registered type, the same bytes.
    const asVc = await app.call('GET', listPath, { headers: { accept: 'application/vc' } });
    expect(asVc.headers.get('content-type')).toMatch(/^application\/vc(;|$)/);
    expect(asVc.headers.get('etag')).toBe(asJsonLd.headers.get('etag'));
    // A JSON-LD document loader's Accept: a type that says json (some loaders parse nothing else).
    const asLoader = await app.call('GET', listPath, { headers: { accept: 'application/ld+json, application/json' } });
    expect(asLoader.headers.get('content-type')).toContain('application/vc+ld+json');
    expect(asLoader.body).toMatchObject({ proof: { cryptosuite: 'ecdsa-rdfc-2019' } });
    const again = await app.call('GET', listPath, { headers: { accept: 'application/vc' } });
    expect(again.body).toEqual(asJsonLd.body);
    // A JSON-LD document loader's Accept (the W3C status list suite's) gets it too.
    const byLoader = await app.call('GET', listPath, { headers: { accept: 'application/ld+json, application/json' } });
    expect(byLoader.body).toEqual(asJsonLd.body);
    expect(await verifiedByDigitalBazaar(asJsonLd.body)).toBe(true);
    const listVerified = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: asJsonLd.body } });
    expect(listVerified.status).toBe(200);
  });

  it('issues with the agency key in the path while ISSUE_KEY_IN_PATH is on, for suites that send no header (W3C Bitstring Status List)', async () => {
    const agency = (await app.call('GET', '/agency', { token: apiKey })).body;
    // As that suite's client posts: bare JSON, its validVc.json with the manifest's issuer id, and the manifest's options.
    const body = {
      credential: {
        '@context': [V2],
        type: ['VerifiableCredential'],
        credentialSubject: { id: 'did:key:z6MkhTNL7i2etLerDK8Acz5t528giE5KA4p75T6ka1E1D74r' },
        id: `urn:uuid:${randomUUID()}`,
        issuer: agency.did,
      },
      options: { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019' },
    };
    const issued = await app.call('POST', `/conformance/${apiKey}/credentials/issue`, { body });
    expect(issued.status).toBe(201);
    expect(issued.body.verifiableCredential).toMatchObject({
      issuer: agency.did,
      credentialStatus: [
        expect.objectContaining({ type: 'BitstringStatusListEntry', statusPurpose: 'revocation' }),
        expect.objectContaining({ type: 'BitstringStatusListEntry', statusPurpose: 'suspension' }),
      ],
      proof: { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019' },
    });
    expect(await verifiedByDigitalBazaar(issued.body.verifiableCredential)).toBe(true);
    const wrong = apiKey.slice(0, -2) + (apiKey.endsWith('AA') ? 'BB' : 'AA');
    expect((await app.call('POST', `/conformance/${wrong}/credentials/issue`, { body })).status).toBe(401);
    // Off unless configured: the replica (started without ISSUE_KEY_IN_PATH) has no such way in.
    const off = await replica.call('POST', `/conformance/${apiKey}/credentials/issue`, { body });
    expect(off.status).toBe(404);
    expect(off.headers.get('content-type')).toContain('application/problem+json');
  });

  it('issues a generic VCDM 2.0 credential as submitted: valid members kept, past validFrom, URL subjects, several subjects', async () => {
    const agency = (await app.call('GET', '/agency', { token: apiKey })).body;
    const submitted = {
      '@context': [V2, EXAMPLES],
      id: 'urn:uuid:6b0e2c1a-5d1f-4f7b-8a55-2b1c3d4e5f60',
      type: ['VerifiableCredential', 'ExampleAlumniCredential'],
      issuer: { id: agency.did, name: 'Fisheries Bureau' },
      name: 'Alumni credential',
      description: [{ '@value': '校友证明', '@language': 'zh' }],
      validFrom: '2020-01-01T00:00:00Z',
      credentialSubject: [
        { id: 'https://example.edu/students/1', alumniOf: 'Example University' },
        { id: 'https://example.edu/students/2', alumniOf: 'Example University' },
      ],
      credentialSchema: { id: 'https://example.org/schemas/alumni.json', type: 'JsonSchema' },
      termsOfUse: { type: 'ExampleTermsOfUse' },
      evidence: [{ type: ['ExampleEvidence'], id: 'https://example.edu/evidence/1' }],
      refreshService: { id: 'https://example.edu/refresh/1', type: 'ExampleRefreshService' },
    };
    const asJwt = await issue(submitted, { format: 'jwt_vc_json' });
    expect(asJwt.status).toBe(201);
    const token = asJwt.body.verifiableCredential.id.slice('data:application/vc+jwt,'.length);
    const key = await importJWK((await independent.issuerJwk(decodeProtectedHeader(token).kid!)) as JWK, 'ES256');
    const { payload } = await jwtVerify(token, key, { typ: 'vc+jwt' });
    const { credentialStatus: _status, ...kept } = payload as Record<string, unknown>;
    expect(kept).toMatchObject({ ...submitted, iss: agency.did, jti: submitted.id });
    expect((await app.call('POST', '/credentials/verify', { body: { verifiableCredential: token } })).status).toBe(200);

    const asDataIntegrity = await issue(submitted, { format: 'ldp_vc' });
    expect(asDataIntegrity.status).toBe(201);
    expect(asDataIntegrity.body.verifiableCredential).toMatchObject(submitted);
    expect(asDataIntegrity.body.verifiableCredential).not.toHaveProperty('validUntil');
    expect(await verifiedByDigitalBazaar(asDataIntegrity.body.verifiableCredential)).toBe(true);

    // The key store failing while it signs is no fault of the caller's: not a 400 quoting the store's message.
    const failing = jest
      .spyOn(app.app.get(KeyService), 'signJws')
      .mockRejectedValueOnce(new Error('This key was encrypted under a different KMS master key'));
    try {
      const refused = await issue({ ...submitted, id: 'urn:uuid:6f1a5c1e-5b7a-4d55-9f38-2b1f3f0f0a11' }, { format: 'ldp_vc' });
      expect(refused.status).toBe(500);
      expect(JSON.stringify(refused.body)).not.toContain('KMS');
    } finally {
      failing.mockRestore();
    }
  });

  it("issues Data Integrity under the agency's did:key for verifiers that resolve only did:key (W3C DI suites), with lists of its own", async () => {
    const agency = (await app.call('GET', '/agency', { token: apiKey })).body as {
      did: string;
      signingKid: string;
      didKey: string;
    };
    // The did:key of the agency's signing key, derived from its DID document as anyone can; the agency is told it.
    const multibase = jwkToMultibase(await independent.issuerJwk(agency.signingKid));
    const didKey = `did:key:${multibase}`;
    expect(agency.didKey).toBe(didKey);
    const submitted = {
      '@context': [V2, EXAMPLES],
      type: ['VerifiableCredential', 'ExampleAlumniCredential'],
      issuer: didKey,
      credentialSubject: { id: 'https://example.edu/students/3', alumniOf: 'Example University' },
    };
    // The did:key means ldp_vc: with no options, and with the W3C suites' options.
    for (const options of [{}, { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019' }]) {
      const issued = await issue(submitted, options);
      expect(issued.status).toBe(201);
      expect(issued.body.verifiableCredential.proof.verificationMethod).toBe(`${didKey}#${multibase}`);
    }
    const credential = (await issue(submitted)).body.verifiableCredential;
    expect(credential.issuer).toBe(didKey);

    // @digitalbazaar/vc as the W3C suite runs it: did:key only, the issuer must be the key's controller, and the
    // Bitstring Status List library fetches the list, checks its proof and that its issuer is the credential's.
    const { result: theirs, fetched } = await verifiedAsW3cSuites(credential);
    expect(theirs.error).toBeUndefined();
    expect(theirs.verified).toBe(true);
    expect(fetched.length).toBeGreaterThan(0);
    const listIssuer = (
      await app.call('GET', new URL(credential.credentialStatus[0].statusListCredential).pathname, {
        headers: { accept: 'application/vc+ld+json' },
      })
    ).body.issuer;
    expect(listIssuer).toBe(didKey);

    // Ours: trusted as the agency's did:ethr is (the registry, for the type), and revocable.
    const ours = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } });
    expect(ours.status).toBe(200);
    expect(ours.body.checks).toContainEqual(expect.objectContaining({ check: 'issuer_authorised', passed: true }));
    const after = await revokedAndRefused(String(credential.id).slice('urn:uuid:'.length), credential);
    expect(after.body.checks).toContainEqual(
      expect.objectContaining({ check: 'status', passed: false, reason: 'the credential is revoked' }),
    );

    // A JOSE credential under the did:key (signed with the same key, which the service never does) is not trusted.
    const jwk = await independent.issuerJwk(agency.signingKid);
    const signingKey = (await app.app.get(KeyService).findByPublicJwk(jwk, 'credential-signing'))!;
    const { proof: _proof, ...document } = credential;
    const jose = await signJws(
      { alg: 'ES256', kid: `${didKey}#${multibase}`, typ: 'vc+jwt' },
      { ...document, iss: didKey },
      (input) => app.app.get(KeyService).signJws(signingKey.id, input),
    );
    const joseVerified = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: jose } });
    expect(joseVerified.status).toBe(400);
    expect(joseVerified.body.checks).toContainEqual(
      expect.objectContaining({ check: 'issuer_authorised', passed: false, reason: expect.stringContaining('(ldp_vc) only') }),
    );

    // Only for ldp_vc, and only the did:key of the calling agency's own key.
    const asJwt = await issue(submitted, { format: 'jwt_vc_json' });
    expect(asJwt.status).toBe(400);
    expect(asJwt.body.violations).toContainEqual(
      expect.objectContaining({ path: 'credential.issuer', code: 'issuer.did_key_not_data_integrity' }),
    );
    const otherKey = jwkToMultibase(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }));
    const notOurs = await issue({ ...submitted, issuer: `did:key:${otherKey}` });
    expect(notOurs.status).toBe(400);
    expect(notOurs.body.violations).toContainEqual(
      expect.objectContaining({ path: 'credential.issuer', code: 'issuer.not_agency' }),
    );
  });

  it('issues VCDM 1.1 documents as the W3C suites send them: Data Integrity under the did:key, a JWT under the did:ethr', async () => {
    const agency = (await app.call('GET', '/agency', { token: apiKey })).body as { did: string; didKey: string };
    const V1 = 'https://www.w3.org/2018/credentials/v1';
    const submitted = {
      '@context': [V1, { name: 'https://schema.org/name', description: 'https://schema.org/description' }],
      id: `urn:uuid:${randomUUID()}`,
      type: ['VerifiableCredential'],
      issuer: agency.didKey,
      issuanceDate: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      credentialSubject: {
        id: 'urn:uuid:1a0e4ef5-091f-4060-842e-18e519ab9440',
        name: 'Alice',
        description: 'A credential about Alice.',
      },
    };
    const issued = await issue(submitted, { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019' });
    expect(issued.status).toBe(201);
    expect(issued.body.dataModel).toBe('1.1');
    const credential = issued.body.verifiableCredential;
    // As submitted, with the status list context that defines its entries and the Data Integrity context of its proof.
    expect(credential).toMatchObject({
      ...submitted,
      '@context': [
        ...submitted['@context'],
        'https://www.w3.org/ns/credentials/status/v1',
        'https://w3id.org/security/data-integrity/v2',
      ],
      credentialStatus: [
        expect.objectContaining({ type: 'BitstringStatusListEntry', statusPurpose: 'revocation' }),
        expect.objectContaining({ type: 'BitstringStatusListEntry', statusPurpose: 'suspension' }),
      ],
      proof: { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019', proofPurpose: 'assertionMethod' },
    });
    expect(credential).not.toHaveProperty('validFrom');
    const { result: theirs } = await verifiedAsW3cSuites(credential);
    expect(theirs.error).toBeUndefined();
    expect(theirs.verified).toBe(true);
    expect(await statusBitsAsW3cSuites(credential)).toEqual({ revocation: false, suspension: false });
    const ours = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } });
    expect(ours.status).toBe(200);
    expect(ours.body.checks).toContainEqual(expect.objectContaining({ check: 'data_model', passed: true, reason: 'VCDM 1.1' }));
    expect(ours.body.credential).toMatchObject({ format: 'ldp_vc', dataModel: '1.1' });

    // Revoked: both read the bit from the list we publish.
    // The submitted id is the credential's; the service's record has an id of its own.
    const after = await revokedAndRefused(issued.body.credentialId, credential);
    expect(after.body.checks).toContainEqual(expect.objectContaining({ check: 'status', passed: false }));
    expect(await statusBitsAsW3cSuites(credential)).toEqual({ revocation: true, suspension: false });

    // Without issuanceDate (1.1 requires one): the issuer dates it, as it does a 2.0 credential's validFrom.
    const { issuanceDate: _date, ...undated } = submitted;
    const dated = await issue({ ...undated, id: `urn:uuid:${randomUUID()}` }, { type: 'DataIntegrityProof' });
    expect(dated.status).toBe(201);
    expect(dated.body.verifiableCredential.issuanceDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await verifiedAsW3cSuites(dated.body.verifiableCredential)).result.verified).toBe(true);

    // The same document under the did:ethr as a VCDM 1.1 JWT: the document is its vc claim; did-jwt-vc verifies it.
    const asJwt = await issue({ ...submitted, id: `urn:uuid:${randomUUID()}`, issuer: agency.did }, { format: 'jwt_vc_json' });
    expect(asJwt.status).toBe(201);
    expect(asJwt.body.dataModel).toBe('1.1');
    const jwt = asJwt.body.credential as string;
    expect(asJwt.body.verifiableCredential).toMatchObject({ issuer: agency.did, proof: { type: 'JwtProof2020', jwt } });
    expect(decodeProtectedHeader(jwt).typ).toBe('JWT');
    const claims = decodeJwt(jwt);
    expect(claims).toMatchObject({
      iss: agency.did,
      sub: submitted.credentialSubject.id,
      jti: expect.stringMatching(/^urn:uuid:/),
      nbf: Math.floor(Date.parse(submitted.issuanceDate) / 1000),
      vc: { '@context': [...submitted['@context'], 'https://www.w3.org/ns/credentials/status/v1'] },
    });
    expect(claims.jti).toBe((claims.vc as Record<string, unknown>)['id']);
    expect(claims.vc).not.toHaveProperty('validFrom');
    const byDidJwtVc = await didJwtVcVerify(jwt, independent.resolver as never);
    expect(byDidJwtVc.issuer).toBe(agency.did);
    expect(byDidJwtVc.verifiableCredential.credentialSubject).toMatchObject({ name: 'Alice' });
    const jwtVerified = await app.call('POST', '/credentials/verify', { body: { verifiableCredential: jwt } });
    expect(jwtVerified.status).toBe(200);
    expect(jwtVerified.body.credential).toMatchObject({ format: 'jwt_vc_json', dataModel: '1.1' });

    // The VC-API suites' 1.1 credentials name the 1.1 examples context: bundled, with ODRL's that it imports.
    const withExamples = await issue(
      {
        '@context': [V1, 'https://www.w3.org/2018/credentials/examples/v1'],
        type: ['VerifiableCredential', 'UniversityDegreeCredential'],
        issuer: agency.did,
        credentialSubject: {
          id: 'did:example:ebfeb1f712ebc6f1c276e12ec21',
          degree: { type: 'BachelorDegree', name: 'Bachelor of Science and Arts' },
        },
      },
      { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019' },
    );
    expect(withExamples.status).toBe(201);
    expect(await verifiedByDigitalBazaar(withExamples.body.verifiableCredential)).toBe(true);
    const examplesVerified = await app.call('POST', '/credentials/verify', {
      body: { verifiableCredential: withExamples.body.verifiableCredential },
    });
    expect(examplesVerified.status).toBe(200);

    // The back offices' shorthand, asked for in 1.1: a v1 document under the did:ethr, as Data Integrity.
    const shorthand = await issue(
      { type: 'DrivingLicenceCredential', credentialSubject: DRIVING_LICENCE_CLAIMS },
      { format: 'ldp_vc', dataModel: '1.1' },
    );
    expect(shorthand.status).toBe(201);
    expect(shorthand.body.verifiableCredential).toMatchObject({
      '@context': [
        V1,
        'https://www.w3.org/ns/credentials/undefined-terms/v2',
        'https://www.w3.org/ns/credentials/status/v1',
        'https://w3id.org/security/data-integrity/v2',
      ],
      issuer: agency.did,
      issuanceDate: expect.any(String),
      expirationDate: expect.any(String),
    });
    expect(shorthand.body.dataModel).toBe('1.1');
    expect(await verifiedByDigitalBazaar(shorthand.body.verifiableCredential)).toBe(true);
    const shorthandVerified = await app.call('POST', '/credentials/verify', {
      body: { verifiableCredential: shorthand.body.verifiableCredential },
    });
    expect(shorthandVerified.status).toBe(200);
    expect(shorthandVerified.body.checks).toContainEqual(
      expect.objectContaining({ check: 'data_model', passed: true, reason: 'VCDM 1.1' }),
    );

    // A document asked for in the other model, and 1.1 rules broken: a 400 that says which.
    const mismatch = await issue({ ...submitted, issuer: agency.did }, { format: 'jwt_vc_json', dataModel: '2.0' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.violations).toContainEqual(
      expect.objectContaining({ path: 'options.dataModel', code: 'dataModel.mismatch' }),
    );
    const badDates = await issue({ ...submitted, issuanceDate: 'today', expirationDate: '2020-01-01' });
    expect(badDates.status).toBe(400);
    expect(badDates.body.violations.map((v: { code: string }) => v.code)).toEqual([
      'issuanceDate.invalid',
      'expirationDate.invalid',
    ]);
    // Malformed 1.1 members are the caller's mistake: a 400 naming them, never a 500.
    for (const odd of [
      { issuanceDate: 20240101 },
      { expirationDate: {} },
      { '@context': [V1, 42] },
      { credentialStatus: [1] },
      { issuer: { id: agency.didKey, name: 5 } },
      { credentialSubject: [] },
      { type: 'VerifiableCredential', refreshService: { type: 'ManualRefreshService2018' } },
    ]) {
      const refused = await issue({ ...submitted, ...odd }, { type: 'DataIntegrityProof' });
      expect([refused.status, Object.keys(odd)]).toEqual([400, Object.keys(odd)]);
      expect(refused.body.violations.length).toBeGreaterThan(0);
    }
    const mixed = await issue({ ...submitted, '@context': [V1, V2] });
    expect(mixed.status).toBe(400);
    expect(mixed.body.violations).toContainEqual(
      expect.objectContaining({ path: 'credential.@context[1]', code: 'context.item_invalid' }),
    );
  });

  it('refuses invalid VCDM 2.0 input with a 400 listing every violation, path and code', async () => {
    const agency = (await app.call('GET', '/agency', { token: apiKey })).body;
    const refused = await issue({
      '@context': [EXAMPLES],
      id: 'not a url',
      type: ['VerifiableCredential', 'ExampleAlumniCredential'],
      issuer: 'did:example:someone-else',
      validFrom: 'yesterday',
      credentialSubject: { id: 'x y', alumniOf: 'Example University' },
      credentialStatus: { id: 'https://example.org/status#1' },
      proof: { type: 'DataIntegrityProof' },
    });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.violations.map((v: { path: string; code: string }) => `${v.path} ${v.code}`).sort()).toEqual([
      'credential.@context[0] context.first_not_v2',
      'credential.credentialStatus.type extension.type_required',
      'credential.credentialSubject.id id.not_url',
      'credential.id id.not_url',
      'credential.issuer issuer.not_agency',
      'credential.proof proof.present',
      'credential.validFrom validFrom.invalid',
    ]);
    const nullIssuer = await issue({
      '@context': [V2],
      type: ['VerifiableCredential'],
      issuer: null,
      credentialSubject: { a: 1 },
    });
    expect(nullIssuer.body.violations).toEqual([expect.objectContaining({ path: 'credential.issuer', code: 'issuer.invalid' })]);
    const twoLicences = await issue({
      '@context': [V2],
      type: ['VerifiableCredential', 'DrivingLicenceCredential'],
      issuer: agency.did,
      credentialSubject: [DRIVING_LICENCE_CLAIMS, DRIVING_LICENCE_CLAIMS],
    });
    expect(twoLicences.body.violations).toEqual([
      expect.objectContaining({ path: 'credential.credentialSubject', code: 'credentialSubject.multiple_not_allowed' }),
    ]);
    // The W3C VCDM 2.0 suite's JSON-LD cases, secured as a JWT (no canonicalisation to catch them there).
    const jsonLd = (context: unknown[], type: string[]) =>
      issue(
        { '@context': context, type, issuer: agency.did, credentialSubject: { id: 'did:example:subject', name: 'x' } },
        { format: 'jwt_vc_json' },
      );
    const unmapped = await jsonLd([V2, { '@vocab': null }], ['VerifiableCredential', 'ExampleTestCredential']);
    expect(unmapped.status).toBe(400);
    expect(unmapped.body.violations).toEqual([
      { path: 'credential', code: 'jsonld.invalid', message: expect.stringContaining('ExampleTestCredential is not a term') },
    ]);
    const redefined = await jsonLd([V2, { VerifiableCredential: 'https://example.org/#Bad' }], ['VerifiableCredential']);
    expect(redefined.status).toBe(400);
    expect(redefined.body.violations[0].message).toMatch(/protected term/);
    expect((await jsonLd([V2, EXAMPLES], ['VerifiableCredential', 'ExampleTestCredential'])).status).toBe(201);
    const related = await issue(
      {
        '@context': [V2, EXAMPLES],
        type: ['VerifiableCredential'],
        issuer: agency.did,
        credentialSubject: { id: 'did:example:subject', name: 'x' },
        relatedResource: [
          { id: 'https://example.org/a.png', digestSRI: 'sha384-abc' },
          { id: 'https://example.org/a.png', digestSRI: 'sha384-def' },
        ],
      },
      { format: 'jwt_vc_json' },
    );
    expect(related.body.violations).toEqual([
      expect.objectContaining({ path: 'credential.relatedResource[1].id', code: 'relatedResource.duplicate_id' }),
    ]);
  });

  it('answers what the OpenAPI document declares for the operator catalogue routes', async () => {
    const conforms = openApiConformance((await app.call('GET', '/docs/openapi.json')).body);
    const check = async (method: string, template: string, path: string, status: number, body?: unknown) => {
      const reply = await app.operator(method, path, body);
      expect({ status: reply.status, nonConformities: conforms(method, template, reply) }).toEqual({
        status,
        nonConformities: [],
      });
    };
    const next = { ...FISHING_PERMIT, id: 'river-permit', vcType: 'RiverPermitCredential' };
    const { id: _id, ...version } = next;
    await check('GET', '/operator/catalogue', '/operator/catalogue', 200);
    await check('POST', '/operator/catalogue', '/operator/catalogue', 201, next);
    await check('POST', '/operator/catalogue', '/operator/catalogue', 409, next);
    await check('POST', '/operator/catalogue', '/operator/catalogue', 400, { id: 'x' });
    await check('GET', '/operator/catalogue/{id}', '/operator/catalogue/river-permit', 200);
    await check('GET', '/operator/catalogue/{id}', '/operator/catalogue/none', 404);
    await check('POST', '/operator/catalogue/{id}/versions', '/operator/catalogue/river-permit/versions', 201, version);
    await check('POST', '/operator/catalogue/{id}/retire', '/operator/catalogue/river-permit/retire', 200);
  });

  it('commits each catalogue change with its audit entry: a failed append changes nothing, a retry works', async () => {
    const p = app.dbKind === 'postgres' ? '$1' : '?';
    const sql = app.app.get(Database).dataSource;
    const stored = async () =>
      (
        (await sql.query(`SELECT status, current_version AS version FROM credential_types WHERE id = ${p}`, ['lake-permit'])) as {
          status: string;
          version: number | string;
        }[]
      ).map((row) => ({ ...row, version: Number(row.version) }));
    const changes = async () =>
      (
        (await sql.query(`SELECT data FROM audit_entries WHERE kind = 'catalogue.changed' AND subject = ${p} ORDER BY seq`, [
          'credential-type:lake-permit',
        ])) as { data: string }[]
      ).map((row) => (JSON.parse(row.data) as { change: string }).change);
    const next = { ...FISHING_PERMIT, id: 'lake-permit', vcType: 'LakePermitCredential' };
    const { id: _id, ...version } = next;
    const append = jest.spyOn(app.app.get(AuditLog), 'append');
    const failOnce = () => append.mockRejectedValueOnce(new Error('audit log unavailable'));
    try {
      failOnce();
      expect((await app.operator('POST', '/operator/catalogue', next)).status).toBe(500);
      expect(await stored()).toEqual([]);
      expect((await app.operator('POST', '/operator/catalogue', next)).status).toBe(201);
      expect(await stored()).toEqual([{ status: 'active', version: 1 }]);

      failOnce();
      expect((await app.operator('POST', '/operator/catalogue/lake-permit/versions', version)).status).toBe(500);
      expect(await stored()).toEqual([{ status: 'active', version: 1 }]);
      expect((await app.operator('POST', '/operator/catalogue/lake-permit/versions', version)).status).toBe(201);
      expect(await stored()).toEqual([{ status: 'active', version: 2 }]);

      failOnce();
      expect((await app.operator('POST', '/operator/catalogue/lake-permit/retire')).status).toBe(500);
      expect(await stored()).toEqual([{ status: 'active', version: 2 }]);
      const retired = await app.operator('POST', '/operator/catalogue/lake-permit/retire');
      expect(retired.status).toBe(200);
      expect(retired.body.status).toBe('retired');
      expect(await stored()).toEqual([{ status: 'retired', version: 2 }]);
      // Retiring it again changes nothing and records nothing.
      expect((await app.operator('POST', '/operator/catalogue/lake-permit/retire')).status).toBe(200);
      expect(await changes()).toEqual(['created', 'versioned', 'retired']);
    } finally {
      append.mockRestore();
    }
  });

  it('is managed from the CLI', async () => {
    const env = { CHANCERY_URL: app.url, OPERATOR_API_KEY: app.operatorApiKey };
    const file = join(mkdtempSync(join(tmpdir(), 'catalogue-cli-')), 'type.json');
    writeFileSync(file, JSON.stringify({ ...FISHING_PERMIT, id: 'sea-fishing-permit', vcType: 'SeaFishingPermitCredential' }));
    const created = await runCli(['catalogue:create', '--file', file], env);
    expect(created).toMatchObject({ ok: true, output: { id: 'sea-fishing-permit', version: 1 } });
    const versioned = await runCli(['catalogue:version', 'sea-fishing-permit', '--file', file], env);
    expect(versioned).toMatchObject({ ok: true, output: { version: 2 } });
    const listed = (await runCli(['catalogue:list'], env)).output as { id: string }[];
    expect(listed.map((type) => type.id)).toContain('sea-fishing-permit');
    expect(await runCli(['catalogue:retire', 'sea-fishing-permit'], env)).toMatchObject({
      ok: true,
      output: { status: 'retired' },
    });
    expect((await runCli(['catalogue:show', 'no-such-type'], env)).ok).toBe(false);
  });
});
