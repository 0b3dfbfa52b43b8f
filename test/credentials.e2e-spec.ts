import { jest } from '@jest/globals';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { Resolver } from 'did-resolver';
import { verifyCredential as didJwtVcVerify } from 'did-jwt-vc';
import { SignJWT, importJWK, jwtVerify, decodeProtectedHeader, type JWK } from 'jose';
import { VerifierService } from '../src/verifier/index.js';
import { createActiveAgency, eventually, independentResolver, startTestApp, type TestApp } from './support/test-app.js';

const CLAIMS: Record<string, Record<string, unknown>> = {
  'resident-identity': {
    family_name: '王',
    given_name: '小明',
    birth_date: '1988-08-08',
    sex: 'male',
    id_number: '11010119880808123X',
    address: '北京市东城区示例路1号',
    age_over_18: true,
  },
  'driving-licence': {
    family_name: 'Li',
    given_name: 'Hua',
    birth_date: '1990-01-31',
    licence_number: '110101199001311234',
    categories: ['C1', 'D'],
    issue_date: '2012-05-01',
    expiry_date: '2032-05-01',
  },
  'business-licence': {
    unified_social_credit_code: '91110000600037341L',
    enterprise_name: '示例科技有限公司',
    enterprise_type: '有限责任公司',
    legal_representative: '赵六',
    registered_capital: '1000万元',
    established_on: '2015-03-15',
  },
  'professional-qualification': {
    family_name: 'Chen',
    given_name: 'Jing',
    qualification: 'Registered Architect 注册建筑师',
    level: 'senior',
    certificate_number: 'RA-2020-000123',
  },
};

const VC_TYPES: Record<string, string> = {
  'resident-identity': 'ResidentIdentityCredential',
  'driving-licence': 'DrivingLicenceCredential',
  'business-licence': 'BusinessLicenceCredential',
  'professional-qualification': 'ProfessionalQualificationCredential',
};

/** Issuance in both formats, checked by libraries we did not write, and every rejection reason. */
describe('issuing and verifying e-licence credentials', () => {
  let app: TestApp;
  let issuer: { agency: { id: string; did: string; signingKid: string }; apiKey: string };
  let other: { agency: { id: string; did: string; signingKid: string }; apiKey: string };
  let resolver: Resolver;
  let independent: Awaited<ReturnType<typeof independentResolver>>;
  let holder: { publicJwk: JWK; privateJwk: JWK };

  const issue = (apiKey: string, typeId: string, options: Record<string, unknown>, credential: Record<string, unknown> = {}) =>
    app.call('POST', '/credentials/issue', {
      token: apiKey,
      body: {
        credential: { type: ['VerifiableCredential', VC_TYPES[typeId]], credentialSubject: CLAIMS[typeId], ...credential },
        options,
      },
    });
  const verify = (credential: unknown) => app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } });
  const failed = (body: { checks: { check: string; passed: boolean; reason?: string }[] }) =>
    body.checks.filter((check) => !check.passed);

  /** The issuer's ES256 key as an independent verifier finds it: ethr-did-resolver against the chain node. */
  const issuerJwk = async (kid: string) => (await independent.issuerJwk(kid)) as JWK;

  beforeAll(async () => {
    app = await startTestApp({ VERIFIER_CLOCK_SKEW_SECONDS: '0' });
    issuer = await createActiveAgency(app, 'licensing-office', 'Licensing Office 发证机关', Object.keys(CLAIMS));
    other = await createActiveAgency(app, 'traffic-police', 'Traffic Police 交警支队', ['driving-licence']);
    independent = await independentResolver(app);
    resolver = independent.resolver;
    const pair = await ES256.generateKeyPair();
    holder = { publicJwk: pair.publicKey as JWK, privateJwk: pair.privateKey as JWK };
  });
  afterAll(async () => {
    independent?.close();
    await app?.close();
  });

  it.each(Object.keys(CLAIMS))('issues %s as SD-JWT VC that @sd-jwt/sd-jwt-vc verifies', async (typeId) => {
    const response = await issue(issuer.apiKey, typeId, { format: 'dc+sd-jwt', holderJwk: holder.publicJwk });
    expect(response.status).toBe(201);
    const sdJwt = response.body.credential as string;
    expect(response.body.verifiableCredential.id).toBe(`data:application/dc+sd-jwt,${sdJwt}`);

    const header = decodeProtectedHeader(sdJwt.split('~')[0]!);
    expect(header).toEqual(expect.objectContaining({ typ: 'dc+sd-jwt', alg: 'ES256', kid: issuer.agency.signingKid }));
    const sdjwt = new SDJwtVcInstance({ hasher: digest, verifier: await ES256.getVerifier(await issuerJwk(header.kid!)) });
    const { payload } = await sdjwt.verify(sdJwt);
    expect(payload).toEqual(
      // Only the public members of the wallet's key (WebCrypto adds ext and key_ops) reach cnf.
      expect.objectContaining({
        iss: issuer.agency.did,
        vct: `${app.url}/vct/${typeId}`,
        cnf: { jwk: { kty: 'EC', crv: 'P-256', x: holder.publicJwk.x, y: holder.publicJwk.y } },
      }),
    );
    expect(payload).toEqual(expect.objectContaining(CLAIMS[typeId]));
    // Selectively disclosable claims are digests in the signed payload, decoys included.
    const signed = JSON.parse(Buffer.from(sdJwt.split('.')[1]!, 'base64url').toString());
    expect(signed._sd.length).toBeGreaterThan(sdJwt.split('~').length - 2);

    const ours = await verify(sdJwt);
    expect(failed(ours.body)).toEqual([]);
    expect(ours.body.verified).toBe(true);
    expect(ours.body.credential.claims).toEqual(CLAIMS[typeId]);
  });

  it.each(Object.keys(CLAIMS))(
    'issues %s as JWT VC (VCDM 1.1) that did-jwt-vc verifies via ethr-did-resolver',
    async (typeId) => {
      const response = await issue(issuer.apiKey, typeId, {
        format: 'jwt_vc_json',
        dataModel: '1.1',
        holderJwk: holder.publicJwk,
      });
      expect(response.status).toBe(201);
      const jwt = response.body.credential as string;
      // verifiableCredential is the JWT's JSON form (VCDM 1.1 §6.3.1), the JWT as its proof.
      const json = response.body.verifiableCredential;
      expect(json).toMatchObject({
        issuer: issuer.agency.did,
        type: expect.arrayContaining([VC_TYPES[typeId]]),
        credentialSubject: expect.objectContaining(CLAIMS[typeId]),
        issuanceDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/),
        proof: { type: 'JwtProof2020', jwt },
      });
      const verified = await didJwtVcVerify(jwt, resolver as never);
      expect(verified.issuer).toBe(issuer.agency.did);
      expect(verified.signer.id).toBe(issuer.agency.signingKid);
      expect(verified.verifiableCredential.type).toContain(VC_TYPES[typeId]);
      expect(verified.verifiableCredential.credentialSubject).toEqual(expect.objectContaining(CLAIMS[typeId]));
      expect((await verify(jwt)).body.verified).toBe(true);
      // The JSON form goes back to /credentials/verify as it came; a changed claim around the JWT is refused.
      expect((await verify(json)).body.verified).toBe(true);
      // Registered claims win, as the verifier reads the JWT: JSON naming the vc claim's own issuer instead is refused.
      const [h, p] = jwt.split('.');
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
      const otherIssuer = `${h}.${Buffer.from(JSON.stringify({ ...payload, vc: { ...payload.vc, issuer: 'did:example:other' } })).toString('base64url')}.AAAA`;
      const shown = await verify({ ...json, issuer: 'did:example:other', proof: { type: 'JwtProof2020', jwt: otherIssuer } });
      expect(shown.status).toBe(400);
      expect(shown.body.checks[0]).toMatchObject({ check: 'format', passed: false });
      // A date no Date can hold is a bad credential (400), never a 500.
      const farFuture = `${h}.${Buffer.from(JSON.stringify({ ...payload, nbf: 1e300, exp: 1e20 })).toString('base64url')}.AAAA`;
      const dated = await verify({ ...json, proof: { type: 'JwtProof2020', jwt: farFuture } });
      expect(dated.status).toBe(400);
      const altered = await verify({ ...json, credentialSubject: { ...json.credentialSubject, forged: true } });
      expect({ status: altered.status, format: altered.body.checks?.[0] }).toEqual({
        status: 400,
        format: {
          check: 'format',
          passed: false,
          reason: 'the credential is not the JSON form of the JWT in its JwtProof2020 proof',
        },
      });
    },
  );

  it.each(Object.keys(CLAIMS))('issues %s as JWT VC (VCDM 2.0, vc+jwt) that jose verifies', async (typeId) => {
    const response = await issue(issuer.apiKey, typeId, { format: 'jwt_vc_json', dataModel: '2.0' });
    expect(response.status).toBe(201);
    const jwt = response.body.credential as string;
    expect(response.body.verifiableCredential).toEqual({
      '@context': ['https://www.w3.org/ns/credentials/v2'],
      id: `data:application/vc+jwt,${jwt}`,
      type: 'EnvelopedVerifiableCredential',
    });
    const kid = decodeProtectedHeader(jwt).kid!;
    const { payload, protectedHeader } = await jwtVerify(jwt, await importJWK(await issuerJwk(kid), 'ES256'), {
      issuer: issuer.agency.did,
      typ: 'vc+jwt',
      algorithms: ['ES256'],
    });
    expect(protectedHeader.kid).toBe(issuer.agency.signingKid);
    expect(payload['@context']).toEqual(['https://www.w3.org/ns/credentials/v2']);
    expect(payload.type).toEqual(['VerifiableCredential', VC_TYPES[typeId]]);
    expect(Date.parse(payload.validUntil as string)).toBeGreaterThan(Date.parse(payload.validFrom as string));
    expect(payload.credentialSubject).toEqual(CLAIMS[typeId]);
    // The VC-API verify endpoint takes the enveloped form as well.
    const ours = await app.call('POST', '/credentials/verify', {
      body: { verifiableCredential: response.body.verifiableCredential },
    });
    expect(ours.body.verified).toBe(true);
    expect(ours.body.credential.dataModel).toBe('2.0');
  });

  it('takes the API key with the Authorization scheme in any case (RFC 9110 §11.1)', async () => {
    for (const scheme of ['bearer', 'BEARER']) {
      const reply = await app.call('POST', '/credentials/issue', {
        headers: { authorization: `${scheme} ${issuer.apiKey}` },
        body: {
          credential: {
            type: ['VerifiableCredential', VC_TYPES['driving-licence']],
            credentialSubject: CLAIMS['driving-licence'],
          },
          options: { format: 'dc+sd-jwt' },
        },
      });
      expect(reply.status).toBe(201);
    }
  });

  it('rejects a tampered signature', async () => {
    const jwt = (await issue(issuer.apiKey, 'driving-licence', { format: 'jwt_vc_json' })).body.credential as string;
    const [h, p, s] = jwt.split('.');
    const flipped = Buffer.from(s!, 'base64url');
    flipped[10] ^= 0x01;
    const result = (await verify(`${h}.${p}.${flipped.toString('base64url')}`)).body;
    expect(result.verified).toBe(false);
    expect(failed(result)).toEqual([{ check: 'signature', passed: false, reason: 'the signature does not match' }]);

    // A payload edited after signing fails the same way.
    const edited = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), exp: 4102444800 }),
    ).toString('base64url');
    expect(failed((await verify(`${h}.${edited}.${s}`)).body)[0].check).toBe('signature');
  });

  it('rejects a swapped, a tampered and a duplicated disclosure', async () => {
    const first = (await issue(issuer.apiKey, 'driving-licence', { format: 'dc+sd-jwt' })).body.credential as string;
    const second = (
      await issue(
        issuer.apiKey,
        'driving-licence',
        { format: 'dc+sd-jwt' },
        {
          credentialSubject: { ...CLAIMS['driving-licence'], categories: ['A1', 'B1', 'C1'] },
        },
      )
    ).body.credential as string;
    const [jws, ...firstDisclosures] = first.split('~').slice(0, -1);
    const secondDisclosures = second.split('~').slice(1, -1);
    const categoriesOf = (disclosures: string[]) =>
      disclosures.findIndex((d) => JSON.parse(Buffer.from(d, 'base64url').toString())[1] === 'categories');

    // Swap: the categories disclosure of another credential (more vehicle classes) replaces ours.
    const swapped = [...firstDisclosures];
    swapped[categoriesOf(swapped)] = secondDisclosures[categoriesOf(secondDisclosures)]!;
    let result = (await verify(`${jws}~${swapped.join('~')}~`)).body;
    expect(result.verified).toBe(false);
    expect(failed(result)).toEqual([
      expect.objectContaining({ check: 'disclosures', reason: expect.stringContaining('not referenced by the credential') }),
    ]);

    // Tamper: same salt and name, edited value.
    const tampered = [...firstDisclosures];
    const index = categoriesOf(tampered);
    const [salt, name] = JSON.parse(Buffer.from(tampered[index]!, 'base64url').toString());
    tampered[index] = Buffer.from(JSON.stringify([salt, name, ['A1', 'A2', 'A3']])).toString('base64url');
    result = (await verify(`${jws}~${tampered.join('~')}~`)).body;
    expect(failed(result)[0]).toEqual(
      expect.objectContaining({ check: 'disclosures', reason: expect.stringContaining('not referenced') }),
    );

    // Duplicate: one disclosure sent twice (@sd-jwt 0.19 accepts this).
    result = (await verify(`${jws}~${firstDisclosures.join('~')}~${firstDisclosures[0]}~`)).body;
    expect(failed(result)).toEqual([{ check: 'disclosures', passed: false, reason: 'a disclosure is repeated' }]);
  });

  it('rejects an expired credential', async () => {
    const validUntil = new Date(Date.now() + 3_600_000);
    const response = await issue(
      issuer.apiKey,
      'business-licence',
      { format: 'dc+sd-jwt' },
      { validUntil: validUntil.toISOString() },
    );
    expect(response.status).toBe(201);
    expect((await verify(response.body.credential)).body.verified).toBe(true);
    // The verifier's clock a second past the expiry (this app allows no clock skew), not a wait for it.
    const clock = jest
      .spyOn(VerifierService.prototype, 'nowSeconds')
      .mockReturnValue(Math.floor(validUntil.getTime() / 1000) + 1);
    try {
      const result = (await verify(response.body.credential)).body;
      expect(failed(result)).toEqual([{ check: 'validity', passed: false, reason: expect.stringMatching(/^expired at \d{4}-/) }]);
    } finally {
      clock.mockRestore();
    }
  });

  it('rejects a kid that is not the issuer key', async () => {
    const jwt = (await issue(issuer.apiKey, 'driving-licence', { format: 'jwt_vc_json' })).body.credential as string;
    const [, payload, signature] = jwt.split('.');
    const withKid = (kid: string) =>
      `${Buffer.from(JSON.stringify({ alg: 'ES256', kid, typ: 'vc+jwt', cty: 'vc' })).toString('base64url')}.${payload}.${signature}`;

    let result = (await verify(withKid(`${issuer.agency.did}#delegate-99`))).body;
    expect(failed(result)).toEqual([
      {
        check: 'issuer_key',
        passed: false,
        reason: `kid ${issuer.agency.did}#delegate-99 is not an assertion method of ${issuer.agency.did}`,
      },
    ]);
    result = (await verify(withKid(other.agency.signingKid))).body;
    expect(failed(result)).toEqual([
      {
        check: 'issuer_key',
        passed: false,
        reason: `kid ${other.agency.signingKid} does not belong to the issuer ${issuer.agency.did}`,
      },
    ]);
    // The controller key is an assertion method too, but not a P-256 key.
    result = (await verify(withKid(`${issuer.agency.did}#controller`))).body;
    expect(failed(result)[0]).toEqual(
      expect.objectContaining({ check: 'issuer_key', reason: expect.stringContaining('no usable public key') }),
    );
  });

  it('refuses to issue, and verifiers reject, credentials of a type the agency is not authorised for', async () => {
    const refused = await issue(other.apiKey, 'business-licence', { format: 'dc+sd-jwt' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.code).toBe('not_authorised_for_type');

    const licence = (await issue(other.apiKey, 'driving-licence', { format: 'dc+sd-jwt' })).body.credential as string;
    expect((await verify(licence)).body.verified).toBe(true);
    // The governor withdraws the authorisation on chain; verifiers see it at once.
    const withdrawn = await app.operator('DELETE', `/operator/agencies/${other.agency.id}/authorisations/driving-licence`);
    expect(withdrawn.body.status).toBe('withdrawing');
    const result = await eventually(async () => {
      const body = (await verify(licence)).body;
      return body.verified ? undefined : body;
    });
    expect(failed(result)).toEqual([
      { check: 'issuer_authorised', passed: false, reason: `${other.agency.did} is not authorised to issue driving-licence` },
    ]);
    expect((await issue(other.apiKey, 'driving-licence', { format: 'dc+sd-jwt' })).status).toBe(403);
  });

  it('answers bad issuance requests with every violation listed', async () => {
    const response = await app.call('POST', '/credentials/issue', {
      token: issuer.apiKey,
      body: {
        credential: {
          type: ['VerifiableCredential', 'DrivingLicenceCredential'],
          credentialSubject: { family_name: '', birth_date: 'yesterday', categories: [], licence_number: 'x' },
        },
        options: { format: 'dc+sd-jwt' },
      },
    });
    expect(response.status).toBe(400);
    expect(response.body.violations.map((v: { path: string }) => v.path).sort()).toEqual([
      'credential.credentialSubject.birth_date',
      'credential.credentialSubject.categories',
      'credential.credentialSubject.expiry_date',
      'credential.credentialSubject.family_name',
      'credential.credentialSubject.given_name',
      'credential.credentialSubject.licence_number',
    ]);
    const unknownType = await app.call('POST', '/credentials/issue', {
      token: issuer.apiKey,
      body: { credential: { type: 'FishingPermit', credentialSubject: {} } },
    });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.violations).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'credential.type', code: 'type.unknown' })]),
    );
    const badFormat = await app.call('POST', '/credentials/issue', {
      token: issuer.apiKey,
      body: {
        credential: { type: 'DrivingLicenceCredential', credentialSubject: {} },
        options: { format: 'mso_mdoc', holderJwk: { kty: 'EC', d: 'x' } },
      },
    });
    expect(badFormat.status).toBe(400);
    expect(badFormat.body.violations.map((v: { path: string }) => v.path).sort()).toEqual([
      'options.format',
      'options.holderJwk',
    ]);
    expect((await app.call('POST', '/credentials/issue', { body: {} })).status).toBe(401);
    // A did:ethr with a broken EIP-55 checksum is a reason, not a crash.
    const address = issuer.agency.did.split(':').pop()!;
    const letter = address.slice(2).search(/[a-fA-F]/) + 2;
    const flipped =
      address.slice(0, letter) +
      (address[letter] === address[letter]!.toUpperCase() ? address[letter]!.toLowerCase() : address[letter]!.toUpperCase()) +
      address.slice(letter + 1);
    const badChecksum = `did:ethr:govchain:${flipped}`;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forged = [
      encode({ alg: 'ES256', kid: `${badChecksum}#delegate-1`, typ: 'vc+jwt' }),
      encode({
        '@context': ['https://www.w3.org/ns/credentials/v2'],
        type: ['VerifiableCredential', 'DrivingLicenceCredential'],
        issuer: badChecksum,
        credentialSubject: { family_name: 'Li' },
      }),
      Buffer.alloc(64).toString('base64url'),
    ].join('.');
    const checksum = await verify(forged);
    // Well-formed but not verifiable: 400 (VC-API), with the same result body.
    expect(checksum.status).toBe(400);
    expect(failed(checksum.body)).toEqual([
      { check: 'issuer_key', passed: false, reason: `issuer ${badChecksum} is not a did:ethr on this chain` },
    ]);
    expect((await app.call('GET', '/1.0/identifiers/%25')).status).toBeLessThan(500);

    const garbage = await verify('not-a-credential');
    // Not a credential at all: 400, still the result body, with a VCDM 2.0 PARSING_ERROR.
    expect(garbage.status).toBe(400);
    expect(garbage.body).toEqual({
      verified: false,
      checks: [expect.objectContaining({ check: 'format', passed: false })],
      errors: [expect.objectContaining({ type: 'https://www.w3.org/TR/vc-data-model#PARSING_ERROR' })],
      warnings: [],
    });
  });

  it('verifies SD-JWT presentations with key binding, disclosing only what the holder chose', async () => {
    const credential = (await issue(issuer.apiKey, 'driving-licence', { format: 'dc+sd-jwt', holderJwk: holder.publicJwk })).body
      .credential as string;
    const wallet = new SDJwtVcInstance({
      hasher: digest,
      saltGenerator: generateSalt,
      kbSigner: await ES256.getSigner(holder.privateJwk),
      kbSignAlg: 'ES256',
    });
    const present = (nonce: string, aud: string, iat = Math.floor(Date.now() / 1000)) =>
      wallet.present(credential, { categories: true, expiry_date: true }, { kb: { payload: { iat, aud, nonce } } });
    const verifyPresentation = (presentation: string, challenge = 'n-0S6_WzA2Mj', domain = 'https://bank.example') =>
      app.call('POST', '/presentations/verify', {
        body: { verifiablePresentation: presentation, options: { challenge, domain } },
      });

    const good = await verifyPresentation(await present('n-0S6_WzA2Mj', 'https://bank.example'));
    expect(good.body.verified).toBe(true);
    expect(good.body.credentials[0].credential.claims).toEqual({ categories: ['C1', 'D'], expiry_date: '2032-05-01' });

    const wrongNonce = (await verifyPresentation(await present('other-nonce', 'https://bank.example'))).body;
    expect(failed(wrongNonce)).toEqual([
      { check: 'holder_binding', passed: false, reason: 'the key-binding JWT nonce does not match', forAnotherRequest: true },
    ]);
    const wrongAud = (await verifyPresentation(await present('n-0S6_WzA2Mj', 'https://evil.example'))).body;
    expect(failed(wrongAud)[0].reason).toContain('audience');
    const stale = (
      await verifyPresentation(await present('n-0S6_WzA2Mj', 'https://bank.example', Math.floor(Date.now() / 1000) - 3600))
    ).body;
    expect(failed(stale)).toEqual([{ check: 'holder_binding', passed: false, reason: 'the key-binding JWT is too old' }]);
    // The KB-JWT of one presentation moved onto a different disclosure set fails sd_hash.
    const presented = await present('n-0S6_WzA2Mj', 'https://bank.example');
    const kb = presented.split('~').at(-1)!;
    const withAllDisclosures = credential + kb;
    expect(failed((await verifyPresentation(withAllDisclosures)).body)[0].reason).toContain('sd_hash');
    // VC-API: challenge and domain are checked when given; without them the KB-JWT's signature, age and sd_hash are.
    const withoutOptions = async (body: Record<string, unknown>) =>
      (await app.call('POST', '/presentations/verify', { body })).body;
    const unchallenged = await withoutOptions({ verifiablePresentation: presented });
    expect(unchallenged.verified).toBe(true);
    // Without a challenge a copy passes again while the KB-JWT is recent: the answer says so.
    expect(unchallenged.warnings).toEqual([expect.objectContaining({ type: 'urn:chancery:problem:unchallenged_presentation' })]);
    expect((await withoutOptions({ verifiablePresentation: presented, options: { challenge: 'n-0S6_WzA2Mj' } })).verified).toBe(
      true,
    );
    expect(failed(await withoutOptions({ verifiablePresentation: presented, options: { challenge: 'other' } }))[0].reason).toBe(
      'the key-binding JWT nonce does not match',
    );
    expect(failed(await withoutOptions({ verifiablePresentation: withAllDisclosures }))[0].reason).toContain('sd_hash');
    const noKb = (await verifyPresentation(credential)).body;
    expect(failed(noKb)).toEqual([{ check: 'holder_binding', passed: false, reason: 'the presentation has no key-binding JWT' }]);
  });

  it('verifies a JWT VP signed by the holder did:jwk carrying a JWT VC bound to it', async () => {
    const didJwk = `did:jwk:${Buffer.from(JSON.stringify({ crv: 'P-256', kty: 'EC', x: holder.publicJwk.x, y: holder.publicJwk.y })).toString('base64url')}`;
    const vc = (
      await issue(issuer.apiKey, 'resident-identity', { format: 'jwt_vc_json', dataModel: '1.1', holderJwk: holder.publicJwk })
    ).body.credential as string;
    const key = await importJWK(holder.privateJwk, 'ES256');
    const vp = (nonce: string, credentials = [vc]) =>
      new SignJWT({
        nonce,
        vp: {
          '@context': ['https://www.w3.org/2018/credentials/v1'],
          type: ['VerifiablePresentation'],
          verifiableCredential: credentials,
        },
      })
        .setProtectedHeader({ alg: 'ES256', kid: `${didJwk}#0`, typ: 'JWT' })
        .setIssuer(didJwk)
        .setAudience('https://police.example')
        .setIssuedAt()
        .sign(key);
    const check = async (presentation: string) =>
      (
        await app.call('POST', '/presentations/verify', {
          body: { verifiablePresentation: presentation, options: { challenge: 'abc123', domain: 'https://police.example' } },
        })
      ).body;

    const good = await check(await vp('abc123'));
    expect(good.verified).toBe(true);
    expect(good.holder).toBe(didJwk);
    expect(good.warnings).toEqual([]);
    // Without a challenge it is verified too, with a warning that a copy of it would be.
    const unchallenged = (
      await app.call('POST', '/presentations/verify', { body: { verifiablePresentation: await vp('abc123') } })
    ).body;
    expect(unchallenged.verified).toBe(true);
    expect(unchallenged.warnings).toEqual([expect.objectContaining({ type: 'urn:chancery:problem:unchallenged_presentation' })]);
    expect(good.credentials[0].credential.claims).toEqual(CLAIMS['resident-identity']);
    expect((await check(await vp('replayed'))).checks).toEqual([
      { check: 'format', passed: true, reason: 'jwt_vp' },
      { check: 'holder_binding', passed: false, reason: 'the presentation nonce does not match', forAnotherRequest: true },
    ]);
    // A credential bound to someone else's key cannot be presented.
    const otherHolder = (await ES256.generateKeyPair()).publicKey as JWK;
    const boundElsewhere = (
      await issue(issuer.apiKey, 'resident-identity', { format: 'jwt_vc_json', dataModel: '1.1', holderJwk: otherHolder })
    ).body.credential as string;
    const foreign = await check(await vp('abc123', [boundElsewhere]));
    expect(foreign.verified).toBe(false);
    expect(failed(foreign.credentials[0])).toEqual([
      {
        check: 'holder_binding',
        passed: false,
        reason: 'the credential is bound to another holder than the presenter',
      },
    ]);
    // VC-API leaves "the subject is the presenter" to the caller for a credential bound to no key (OID4VP does not).
    const unbound = (await issue(issuer.apiKey, 'resident-identity', { format: 'jwt_vc_json', dataModel: '1.1' })).body
      .credential as string;
    expect((await check(await vp('abc123', [unbound]))).verified).toBe(true);
  });

  it('serves the catalogue and SD-JWT VC type metadata', async () => {
    const types = (await app.call('GET', '/credentials/types')).body;
    expect(types.map((type: { id: string }) => type.id)).toEqual(expect.arrayContaining(Object.keys(CLAIMS)));
    const metadata = (await app.call('GET', '/vct/driving-licence')).body;
    expect(metadata.vct).toBe(`${app.url}/vct/driving-licence`);
    // draft-ietf-oauth-sd-jwt-vc Type Metadata: display by locale, claim metadata, no schema to validate against.
    expect(metadata.display).toEqual(
      expect.arrayContaining([expect.objectContaining({ locale: 'zh-CN', name: '机动车驾驶证' })]),
    );
    expect(metadata).not.toHaveProperty('schema');
    expect(metadata.claims).toEqual(
      expect.arrayContaining([
        {
          path: ['family_name'],
          display: [
            { locale: 'en', label: 'Family name' },
            { locale: 'zh-CN', label: '姓' },
          ],
          sd: 'always',
        },
      ]),
    );
    expect((await app.call('GET', '/vct/nope')).status).toBe(404);
  });
});
