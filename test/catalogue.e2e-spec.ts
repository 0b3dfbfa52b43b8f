import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest } from '@sd-jwt/crypto-nodejs';
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { runCli } from '../src/cli.js';
import { createActiveAgency, eventually, independentResolver, startTestApp, type TestApp } from './support/test-app.js';
import { wallet } from './support/wallet.js';

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
    app = await startTestApp({ CATALOGUE_REFRESH_MS: '200' });
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
    const created = await app.operator('POST', '/operator/catalogue', FISHING_PERMIT);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'fishing-permit', version: 1, status: 'active', multipleSubjects: false });
    expect(await configurations(app)).toEqual(expect.arrayContaining(['fishing-permit.sd_jwt', 'fishing-permit.jwt_vc']));
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
    const published = await app.operator('POST', '/operator/catalogue/fishing-permit/versions', v2);
    expect(published.status).toBe(201);
    expect(published.body.version).toBe(2);
    const retyped = await app.operator('POST', '/operator/catalogue/fishing-permit/versions', {
      ...v2,
      vcType: 'OtherCredential',
    });
    expect(retyped.status).toBe(400);
    expect((await app.operator('POST', '/operator/catalogue/no-such-type/versions', v2)).status).toBe(404);

    const old = await issue({ type: ['VerifiableCredential', 'FishingPermitCredential'], credentialSubject: PERMIT_CLAIMS });
    expect(old.status).toBe(400);
    expect(old.body.violations).toEqual([expect.objectContaining({ path: 'vessel' })]);
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
    expect(verified.status).toBe(200);
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
