import 'reflect-metadata';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import * as vc from '@digitalbazaar/vc';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as ecdsaRdfc2019 } from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import { SignJWT, importJWK, type JWK } from 'jose';
import { KeyService } from '../src/keys/index.js';
import {
  BUNDLED_CONTEXTS,
  createDocumentLoader,
  jwkToMultibase,
  offlineDidDocument,
  secureWithEcdsaRdfc2019,
  signJws,
} from '../src/credentials/index.js';
import { encodeBitstring, encodeTokenList, LIST_SIZE } from '../src/status/index.js';
import { TOKEN_STATUS } from '../src/status/lists.js';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest } from '@sd-jwt/crypto-nodejs';
import * as X509 from '@peculiar/x509';
import { createActiveAgency, independentResolver, startTestApp, type TestApp } from './support/test-app.js';
import { testPort } from './support/ports.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';

const V2 = 'https://www.w3.org/ns/credentials/v2';

/** A Bitstring Status List credential (revocation) at `url` by `issuer`, its `revoked` indices set. */
const bitstringListCredential = (url: string, issuer: string, revoked: Iterable<number>) => ({
  '@context': [V2],
  id: url,
  type: ['VerifiableCredential', 'BitstringStatusListCredential'],
  issuer,
  validFrom: '2024-01-01T00:00:00Z',
  credentialSubject: {
    id: `${url}#list`,
    type: 'BitstringStatusList',
    statusPurpose: 'revocation',
    encodedList: encodeBitstring(LIST_SIZE, revoked),
  },
});

/** A root CA and a leaf naming `issuer` (SAN URI), ECDSA P-256, made with @peculiar/x509. */
async function x509Chain(issuer: string) {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const subtle = webcrypto.subtle;
  const rootKeys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leafKeys = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  X509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof X509.cryptoProvider.set>[0]);
  const root = await X509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Test PID Root',
    notBefore,
    notAfter,
    keys: rootKeys as unknown as Parameters<typeof X509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: algorithm,
    extensions: [
      new X509.BasicConstraintsExtension(true, 0, true),
      new X509.KeyUsagesExtension(X509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const leaf = await X509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=PID Issuer',
    issuer: root.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey as never,
    signingKey: rootKeys.privateKey as never,
    signingAlgorithm: algorithm,
    extensions: [
      new X509.SubjectAlternativeNameExtension([{ type: 'url', value: issuer }]),
      new X509.KeyUsagesExtension(X509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  const leafKey = createPrivateKey({
    key: Buffer.from(await subtle.exportKey('pkcs8', leafKeys.privateKey)),
    format: 'der',
    type: 'pkcs8',
  });
  return { root, leaf, leafKey };
}
type Check = { check: string; passed: boolean; reason?: string; trustedBy?: string };
const failed = (body: { checks: Check[] }) => body.checks.filter((check) => !check.passed);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/**
 * A vp+jwt naming `holderDid` (and `kid`, when given) around an enveloped credential, with a signature of zeros: the
 * holder's DID document is resolved before any signature is checked.
 */
const unsignedPresentationBy = (holderDid: string, envelope: unknown, kid?: string) =>
  [
    b64({ alg: 'ES256', typ: 'vp+jwt', cty: 'vp', ...(kid ? { kid } : {}) }),
    b64({
      '@context': [V2],
      type: ['VerifiablePresentation'],
      holder: holderDid,
      verifiableCredential: [envelope],
      iss: holderDid,
    }),
    Buffer.alloc(64).toString('base64url'),
  ].join('.');

/** DID documents a hostile did:web host could serve: right id, members of the wrong shapes. */
const MALFORMED_DID_DOCUMENTS: ((did: string) => unknown)[] = [
  (did) => ({ id: did, verificationMethod: [{ id: 1, type: 'Multikey' }] }),
  (did) => ({ id: did, verificationMethod: {} }),
  (did) => ({ id: did, verificationMethod: [null] }),
  (did) => ({ id: did, authentication: 'x' }),
  (did) => ({ id: did, authentication: [7] }),
  (did) => ({ id: did, verificationMethod: [{ id: { toString: 0 }, type: 'Multikey' }] }),
  (did) => ({ id: did, verificationMethod: [{ id: `${did}#k`, type: 'Multikey', controller: 5 }], authentication: [`${did}#k`] }),
];

/** W3C conformance (issue 13): VC-API status codes, envelopes, VCDM 2.0 presentations, Data Integrity, trust anchors. */
describe('W3C VC-API verification', () => {
  let app: TestApp;
  let issuer: Awaited<ReturnType<typeof createActiveAgency>>;
  // A foreign issuer, trusted by configuration (TRUST_ANCHOR_DIDS), signing with @digitalbazaar/vc.
  let anchorKey: EcdsaMultikey.EcdsaKeyPair;
  let anchorDid: string;
  // A foreign issuer whose DID document is served over HTTP (did:web on loopback: http outside production).
  let webKey: EcdsaMultikey.EcdsaKeyPair;
  let webDid: string;
  let webHost: Server;
  let webDocumentRequests = 0;
  /** Requests for did:web:…:elsewhere, a DID that proofs name as their key but nothing may resolve. */
  let elsewhereRequests = 0;
  let listUrl: string;
  const largeDocumentRequests = new Map<string, number>();
  const holder = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // A foreign issuer with JOSE credentials and a Bitstring Status List of its own, served from the did:web host.
  const listIssuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const listIssuerMultibase = jwkToMultibase(listIssuerKey.publicKey.export({ format: 'jwk' }));
  const listIssuerDid = `did:key:${listIssuerMultibase}`;
  const listIssuerRevoked = new Set<number>();
  const anchorRevoked = new Set<number>();
  // An issuer trusted by its X.509 chain (TRUST_ANCHOR_X509_PEM): an SD-JWT VC with x5c and a Token Status List.
  const x509Issuer = 'https://pid.issuer.example';
  let x509: {
    root: X509.X509Certificate;
    leaf: X509.X509Certificate;
    leafKey: ReturnType<typeof generateKeyPairSync>['privateKey'];
  };
  const x509Revoked = new Set<number>();
  const signedByX509Issuer = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
    signJws({ alg: 'ES256', x5c: [Buffer.from(x509.leaf.rawData).toString('base64')], ...header }, payload, async (input) =>
      sign('sha256', input, { key: x509.leafKey, dsaEncoding: 'ieee-p1363' }),
    );
  const signedByListIssuer = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
    signJws({ alg: 'ES256', kid: `${listIssuerDid}#${listIssuerMultibase}`, ...header }, payload, async (input) =>
      sign('sha256', input, { key: listIssuerKey.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
  const holderJwk = holder.publicKey.export({ format: 'jwk' }) as JWK;
  const holderDid = `did:jwk:${b64({ crv: 'P-256', kty: 'EC', x: holderJwk.x, y: holderJwk.y })}`;

  const verify = (verifiableCredential: unknown, options?: Record<string, unknown>) =>
    app.call('POST', '/credentials/verify', { body: { verifiableCredential, ...(options ? { options } : {}) } });
  const verifyVp = (verifiablePresentation: unknown, options?: Record<string, unknown>) =>
    app.call('POST', '/presentations/verify', { body: { verifiablePresentation, ...(options ? { options } : {}) } });
  const issueVcJwt = async (holderKey?: JWK) => {
    const issued = await app.call('POST', '/credentials/issue', {
      token: issuer.apiKey,
      body: {
        credential: { type: ['VerifiableCredential', 'DrivingLicenceCredential'], credentialSubject: DRIVING_LICENCE_CLAIMS },
        options: { format: 'jwt_vc_json', dataModel: '2.0', ...(holderKey ? { holderJwk: holderKey } : {}) },
      },
    });
    expect(issued.status).toBe(201);
    return issued.body as { credential: string; verifiableCredential: { '@context': string[]; id: string; type: string } };
  };
  /** A Data Integrity credential signed by a trust anchor's key (the did:key one unless another is named). */
  const anchorCredential = async (
    subject: Record<string, unknown> = { alumniOf: 'The School of Examples' },
    signedBy: { did: string; key: EcdsaMultikey.EcdsaKeyPair } = { did: anchorDid, key: anchorKey },
    credentialStatus?: Record<string, unknown>,
  ) =>
    vc.issue({
      credential: {
        '@context': [V2, 'https://www.w3.org/ns/credentials/examples/v2'],
        id: `urn:uuid:${randomBytes(16).toString('hex')}`,
        type: ['VerifiableCredential', 'ExampleAlumniCredential'],
        issuer: signedBy.did,
        validFrom: '2024-01-01T00:00:00Z',
        credentialSubject: { id: 'did:example:ebfeb1f712ebc6f1c276e12ec21', ...subject },
        ...(credentialStatus ? { credentialStatus } : {}),
      },
      suite: new DataIntegrityProof({ signer: signedBy.key.signer(), cryptosuite: ecdsaRdfc2019 }),
      documentLoader: createDocumentLoader(async (did) => offlineDidDocument(did)),
    });

  beforeAll(async () => {
    anchorKey = await EcdsaMultikey.generate({ curve: 'P-256' });
    anchorDid = `did:key:${anchorKey.publicKeyMultibase}`;
    anchorKey.id = `${anchorDid}#${anchorKey.publicKeyMultibase}`;
    anchorKey.controller = anchorDid;
    const webPort = await testPort();
    webDid = `did:web:127.0.0.1%3A${webPort}`;
    webKey = await EcdsaMultikey.generate({ curve: 'P-256' });
    webKey.id = `${webDid}#key-1`;
    webKey.controller = webDid;
    const webDocument = JSON.stringify({
      '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
      id: webDid,
      verificationMethod: [
        { id: webKey.id, type: 'Multikey', controller: webDid, publicKeyMultibase: webKey.publicKeyMultibase },
      ],
      assertionMethod: [webKey.id],
    });
    webHost = createServer((request, response) => {
      // did:web:…:u:<n>: a large document of many small objects, as a host that wants to fill our memory serves.
      const user = /^\/u\/(\d+)\/did\.json$/.exec(request.url ?? '')?.[1];
      if (user !== undefined) {
        largeDocumentRequests.set(user, (largeDocumentRequests.get(user) ?? 0) + 1);
        // Just within the JSON bounds (20,000 members), so that it is kept rather than refused.
        const service = '{},'.repeat(19_990).slice(0, -1);
        return void response.writeHead(200).end(`{"id":"${webDid}:u:${user}","service":[${service}]}`);
      }
      // did:web:…:m:<n>: documents whose members do not have DID Core's shapes, as a hostile host serves them.
      const malformed = /^\/m\/(\d+)\/did\.json$/.exec(request.url ?? '')?.[1];
      if (malformed !== undefined) {
        const did = `${webDid}:m:${malformed}`;
        return void response.writeHead(200).end(JSON.stringify(MALFORMED_DID_DOCUMENTS[Number(malformed)]!(did)));
      }
      if (request.url === '/status/di' || request.url === '/status/di-tampered') {
        // A Data Integrity status list, as issuers on @digitalbazaar/vc publish them (JSON whatever the Accept); the
        // tampered one has its bits changed after signing.
        const url = `http://127.0.0.1:${webPort}${request.url}`;
        return void vc
          .issue({
            credential: bitstringListCredential(url, anchorDid, anchorRevoked),
            suite: new DataIntegrityProof({ signer: anchorKey.signer(), cryptosuite: ecdsaRdfc2019 }),
            documentLoader: createDocumentLoader(async (did) => offlineDidDocument(did)),
          })
          .then((list) => {
            if (request.url === '/status/di-tampered')
              (list.credentialSubject as Record<string, unknown>)['encodedList'] = encodeBitstring(LIST_SIZE, [1]);
            response.writeHead(200, { 'content-type': 'application/vc+ld+json' }).end(JSON.stringify(list));
          });
      }
      if (request.url === '/status/x5c') {
        const uri = `http://127.0.0.1:${webPort}/status/x5c`;
        const list = encodeTokenList(
          LIST_SIZE,
          1,
          [...x509Revoked].map((index) => [index, TOKEN_STATUS.invalid]),
        );
        return void signedByX509Issuer(
          { typ: 'statuslist+jwt' },
          { sub: uri, iat: Math.floor(Date.now() / 1000), status_list: list },
        ).then((jwt) => response.writeHead(200, { 'content-type': 'application/statuslist+jwt' }).end(jwt));
      }
      if (request.url === '/status/1') {
        // Another issuer's list: no `version` (that member is ours, for the anchors), no anchor on our chain.
        const url = `http://127.0.0.1:${webPort}/status/1`;
        return void signedByListIssuer({ typ: 'vc+jwt' }, bitstringListCredential(url, listIssuerDid, listIssuerRevoked)).then(
          (jwt) => response.writeHead(200, { 'content-type': 'application/vc+jwt' }).end(jwt),
        );
      }
      if (request.url === '/elsewhere/did.json') elsewhereRequests += 1;
      if (request.url !== '/.well-known/did.json') return void response.writeHead(404).end();
      webDocumentRequests += 1;
      response.writeHead(200, { 'content-type': 'application/did+json' }).end(webDocument);
    });
    await new Promise<void>((resolve) => webHost.listen(webPort, '127.0.0.1', resolve));
    x509 = await x509Chain(x509Issuer);
    app = await startTestApp({
      TRUST_ANCHOR_DIDS: `${anchorDid},${webDid},${listIssuerDid}`,
      TRUST_ANCHOR_X509_PEM: x509.root.toString('pem'),
    });
    listUrl = `http://127.0.0.1:${webPort}/status/1`;
    issuer = await createActiveAgency(app, 'w3c-office', 'W3C Office', ['driving-licence']);
  });
  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => webHost?.close(resolve));
  });

  it('answers 200 only when verified, 400 otherwise (failed check or no credential), the errors telling which', async () => {
    const { credential, verifiableCredential } = await issueVcJwt();
    expect((await verify(verifiableCredential)).status).toBe(200);
    const [h, p, s] = credential.split('.');
    const flipped = Buffer.from(s!, 'base64url');
    flipped[3] ^= 0x01;
    const tampered = await verify(`${h}.${p}.${flipped.toString('base64url')}`);
    expect(tampered.status).toBe(400);
    expect(tampered.body.verified).toBe(false);
    expect(tampered.body.errors).toEqual([
      expect.objectContaining({ type: 'https://www.w3.org/TR/vc-data-model#CRYPTOGRAPHIC_SECURITY_ERROR' }),
    ]);
    expect((await verify({ foo: 'bar' })).status).toBe(400);
    expect((await app.call('POST', '/credentials/verify', { body: { credential: credential } })).status).toBe(400);
  });

  it('checks the envelope: context, type, data: URL and media type against the token typ', async () => {
    const { verifiableCredential: envelope, credential } = await issueVcJwt();
    const cases: [string, Record<string, unknown>][] = [
      ['empty @context', { ...envelope, '@context': [] }],
      ['examples context only', { ...envelope, '@context': 'https://www.w3.org/ns/credentials/examples/v2' }],
      ['type removed', { '@context': envelope['@context'], id: envelope.id }],
      ['type VerifiableCredential', { ...envelope, type: 'VerifiableCredential' }],
      ['id without data: URL', { ...envelope, id: credential }],
      ['presentation media type', { ...envelope, id: `data:application/vp+jwt,${credential}` }],
      ['media type not matching typ', { ...envelope, id: `data:application/vc+sd-jwt,${credential}` }],
    ];
    for (const [name, tamperedEnvelope] of cases) {
      const reply = await verify(tamperedEnvelope);
      expect({ name, status: reply.status, verified: reply.body.verified }).toEqual({ name, status: 400, verified: false });
      expect(failed(reply.body)[0]!.check).toBe('data_model');
    }
    expect((await verify({ ...envelope, '@context': V2 })).status).toBe(200);
  });

  it('verifies a VCDM 2.0 vp+jwt holding enveloped credentials, for its challenge and domain', async () => {
    const { verifiableCredential: envelope } = await issueVcJwt(holderJwk);
    const key = await importJWK(holder.privateKey.export({ format: 'jwk' }) as JWK, 'ES256');
    const presentation = async (nonce: string) =>
      new SignJWT({
        '@context': [V2],
        type: ['VerifiablePresentation'],
        holder: holderDid,
        verifiableCredential: [envelope],
        nonce,
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'vp+jwt', cty: 'vp', kid: `${holderDid}#0` })
        .setIssuer(holderDid)
        .setAudience('https://rp.example')
        .setIssuedAt()
        .sign(key);
    const enveloped = (token: string) => ({
      '@context': [V2],
      type: 'EnvelopedVerifiablePresentation',
      id: `data:application/vp+jwt,${token}`,
    });
    const ok = await verifyVp(enveloped(await presentation('n-1')), { challenge: 'n-1', domain: 'https://rp.example' });
    expect(ok.status).toBe(200);
    expect(ok.body.holder).toBe(holderDid);
    expect(ok.body.credentials[0].checks).toEqual(expect.arrayContaining([{ check: 'holder_binding', passed: true }]));
    // The compact token is accepted as well; the domain is optional.
    expect((await verifyVp(await presentation('n-2'), { challenge: 'n-2' })).status).toBe(200);
    const wrongChallenge = await verifyVp(enveloped(await presentation('n-3')), { challenge: 'other' });
    expect(wrongChallenge.status).toBe(400);
    expect(failed(wrongChallenge.body)).toEqual([
      { check: 'holder_binding', passed: false, reason: 'the presentation nonce does not match', forAnotherRequest: true },
    ]);
    expect((await verifyVp({ ...enveloped(await presentation('n-4')), type: ['VerifiablePresentation'] })).status).toBe(400);
  });

  it('verifies a vp+sd-jwt with a disclosed holder, signed by a did:key (Ed25519) holder', async () => {
    const { verifiableCredential: envelope } = await issueVcJwt();
    const ed = generateKeyPairSync('ed25519');
    const multibase = jwkToMultibase(ed.publicKey.export({ format: 'jwk' }));
    const didKey = `did:key:${multibase}`;
    const disclosure = Buffer.from(JSON.stringify([randomBytes(16).toString('base64url'), 'holder', didKey])).toString(
      'base64url',
    );
    const token = await new SignJWT({
      '@context': [V2],
      type: 'VerifiablePresentation',
      iss: didKey,
      nonce: 'sd-1',
      verifiableCredential: [envelope],
      _sd: [createHash('sha256').update(disclosure).digest('base64url')],
      _sd_alg: 'sha-256',
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'vp+sd-jwt', kid: `${didKey}#${multibase}` })
      .setIssuedAt()
      .sign(ed.privateKey);
    const reply = await verifyVp(
      { '@context': V2, type: 'EnvelopedVerifiablePresentation', id: `data:application/vp+sd-jwt,${token}~${disclosure}~` },
      { challenge: 'sd-1' },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.holder).toBe(didKey);
  });

  it('verifies a Data Integrity credential from a did:key trust anchor, and refuses tampered or untrusted ones', async () => {
    const credential = await anchorCredential();
    const ok = await verify(credential, { checks: ['proof'] });
    expect(ok.status).toBe(200);
    expect(ok.body.checks).toEqual(
      expect.arrayContaining([
        { check: 'signature', passed: true, reason: 'ecdsa-rdfc-2019' },
        { check: 'issuer_authorised', passed: true, trustedBy: anchorDid },
      ]),
    );
    const tampered = structuredClone(credential);
    (tampered['credentialSubject'] as Record<string, unknown>)['alumniOf'] = 'Another School';
    expect((await verify(tampered)).status).toBe(400);
    const { proof: _proof, ...unsigned } = credential;
    expect((await verify(unsigned)).status).toBe(400);
    expect(
      (await verify({ ...credential, proof: { ...(credential['proof'] as object), cryptosuite: 'invalid-cryptosuite' } })).status,
    ).toBe(400);

    const stranger = await EcdsaMultikey.generate({ curve: 'P-256' });
    const strangerDid = `did:key:${stranger.publicKeyMultibase}`;
    stranger.id = `${strangerDid}#${stranger.publicKeyMultibase}`;
    const { proof: _signed, ...strangers } = structuredClone(credential);
    const foreign = await vc.issue({
      credential: { ...strangers, issuer: strangerDid },
      suite: new DataIntegrityProof({ signer: stranger.signer(), cryptosuite: ecdsaRdfc2019 }),
      documentLoader: createDocumentLoader(async (did) => offlineDidDocument(did)),
    });
    const untrusted = await verify(foreign);
    expect(untrusted.status).toBe(400);
    expect(failed(untrusted.body)).toEqual([expect.objectContaining({ check: 'issuer_authorised', passed: false })]);

    // The same credential in an unsigned presentation (no challenge asked): verified, with a warning.
    const unsignedVp = await verifyVp({ '@context': [V2], type: ['VerifiablePresentation'], verifiableCredential: [credential] });
    expect(unsignedVp.status).toBe(200);
    expect(unsignedVp.body.warnings).toEqual([expect.objectContaining({ type: 'urn:chancery:problem:unsigned_presentation' })]);
    // Its contexts are nothing we hold (the VCDM 2.0 suite's "processable as a JSON-LD context" test): refused, as
    // nothing is fetched and nothing secures what its terms would mean.
    const unknownContext = await verifyVp({
      '@context': [V2, 'https://example.com'],
      type: ['VerifiablePresentation'],
      verifiableCredential: [credential],
    });
    expect(unknownContext.status).toBe(400);
    expect(failed(unknownContext.body)).toEqual([
      expect.objectContaining({ check: 'data_model', reason: expect.stringContaining('https://example.com') }),
    ]);
    const examples = await verifyVp({
      '@context': [V2, 'https://www.w3.org/ns/credentials/examples/v2'],
      type: ['VerifiablePresentation'],
      verifiableCredential: [credential],
    });
    expect(examples.status).toBe(200);
  });

  it("refuses a Data Integrity proof naming another DID's key before that DID is resolved; a holder's unreachable did:web is 503", async () => {
    const credential = await anchorCredential();
    const elsewhere = `${webDid}:elsewhere`;
    const moved = { ...credential, proof: { ...(credential['proof'] as object), verificationMethod: `${elsewhere}#k` } };
    const answer = await verify(moved);
    expect(answer.status).toBe(400);
    expect(failed(answer.body)).toEqual([
      { check: 'issuer_key', passed: false, reason: "the proof's verification method is not a key of the issuer" },
    ]);
    // A presentation naming its holder, its proof naming another DID's key: refused before that DID is resolved.
    const proof = {
      type: 'DataIntegrityProof',
      cryptosuite: 'ecdsa-rdfc-2019',
      proofPurpose: 'authentication',
      verificationMethod: `${elsewhere}#k`,
      challenge: 'vm-1',
      proofValue: `z${'1'.repeat(80)}`,
    };
    const presentation = { '@context': [V2], type: ['VerifiablePresentation'], verifiableCredential: [credential], proof };
    const notTheHolders = await verifyVp({ ...presentation, holder: anchorDid }, { challenge: 'vm-1' });
    expect(notTheHolders.status).toBe(400);
    expect(failed(notTheHolders.body)).toEqual([
      { check: 'holder_binding', passed: false, reason: 'the presentation is not signed by its holder' },
    ]);
    expect(elsewhereRequests).toBe(0);
    // A signer whose did:web cannot be reached could not be checked (503, the request can be retried): the verifier
    // cannot tell the holder's outage from its own network's. In production a private address is not connected to.
    const closedPort = await testPort();
    const unreachable = `did:web:127.0.0.1%3A${closedPort}`;
    for (const holder of [undefined, unreachable]) {
      const reply = await verifyVp(
        { ...presentation, ...(holder ? { holder } : {}), proof: { ...proof, verificationMethod: `${unreachable}#k` } },
        { challenge: 'vm-1' },
      );
      expect({ holder, status: reply.status, failed: failed(reply.body) }).toEqual({
        holder,
        status: 503,
        failed: [{ check: 'holder_binding', passed: false, reason: 'did_unavailable' }],
      });
    }
    // The same for a JWT presentation whose holder is that DID.
    const { verifiableCredential: envelope } = await issueVcJwt();
    const jwtVp = await verifyVp(unsignedPresentationBy(unreachable, envelope, `${unreachable}#k`));
    expect(jwtVp.status).toBe(503);
    expect(failed(jwtVp.body)).toEqual([{ check: 'holder_binding', passed: false, reason: 'did_unavailable' }]);
  });

  it('verifies a VCDM 1.1 Data Integrity credential (the W3C suites assume 1.1 unless told otherwise), by the 1.1 rules', async () => {
    const V1 = 'https://www.w3.org/2018/credentials/v1';
    const sign = (credential: Record<string, unknown>) =>
      vc.issue({
        // The library adds its proof (and a missing issuanceDate) to the object it is given.
        credential: structuredClone(credential),
        suite: new DataIntegrityProof({ signer: anchorKey.signer(), cryptosuite: ecdsaRdfc2019 }),
        documentLoader: createDocumentLoader(async (did) => offlineDidDocument(did)),
      });
    const document = {
      '@context': [V1, 'https://w3id.org/security/data-integrity/v2'],
      id: `urn:uuid:${randomBytes(16).toString('hex')}`,
      type: ['VerifiableCredential'],
      issuer: anchorDid,
      issuanceDate: '2024-01-01T00:00:00Z',
      credentialSubject: { id: 'did:example:alice' },
    };
    const credential = await sign(document);
    const ok = await verify(credential);
    expect(ok.status).toBe(200);
    expect(ok.body.checks).toEqual(
      expect.arrayContaining([
        { check: 'data_model', passed: true, reason: 'VCDM 1.1' },
        { check: 'signature', passed: true, reason: 'ecdsa-rdfc-2019' },
      ]),
    );
    expect(ok.body.credential).toMatchObject({ format: 'ldp_vc', dataModel: '1.1' });
    const tampered = { ...credential, issuanceDate: '2024-01-02T00:00:00Z' };
    expect(failed((await verify(tampered)).body).map((check) => check.check)).toEqual(['signature']);

    // expirationDate is 1.1's validUntil, issuanceDate its validFrom.
    const expired = await verify(await sign({ ...document, expirationDate: '2024-06-01T00:00:00Z' }));
    expect(expired.status).toBe(400);
    expect(failed(expired.body)).toEqual([expect.objectContaining({ check: 'validity' })]);
    const future = await verify(await sign({ ...document, issuanceDate: '2999-01-01T00:00:00Z' }));
    expect(failed(future.body)).toEqual([expect.objectContaining({ check: 'validity' })]);
    // A 2.0 member in a 1.1 document (the v1 context defines validFrom) does not move the 1.1 validity.
    const stray = await verify(
      await sign({ ...document, expirationDate: '2999-01-01T00:00:00Z', validFrom: '2999-06-01T00:00:00Z' }),
    );
    expect(failed(stray.body)).toEqual([]);
    // A 1.1 document without issuanceDate breaks the 1.1 data model (the library signs it, adding one, so it is removed).
    const { issuanceDate: _date, ...undated } = credential;
    const noDate = await verify(undated);
    expect(noDate.status).toBe(400);
    expect(noDate.body.checks).toContainEqual(expect.objectContaining({ check: 'data_model', passed: false }));

    // In a 1.1 presentation, unsigned (no challenge asked).
    const presentation = await verifyVp({
      '@context': [V1],
      type: ['VerifiablePresentation'],
      verifiableCredential: [credential],
    });
    expect(presentation.status).toBe(200);
    expect(presentation.body.credentials).toEqual([expect.objectContaining({ verified: true })]);
    // A 2.0 credential in a 1.1 presentation: 1.1's verifiableCredential does not reset the context.
    const mixed = await verifyVp({
      '@context': [V1],
      type: ['VerifiablePresentation'],
      verifiableCredential: [await anchorCredential()],
    });
    expect(mixed.status).toBe(400);
    expect(failed(mixed.body)).toEqual([expect.objectContaining({ check: 'data_model' })]);
  });

  it("checks a trust anchor's own Bitstring Status List, which carries no version and is anchored nowhere we read", async () => {
    const credential = (index: number) =>
      signedByListIssuer(
        { typ: 'vc+jwt', cty: 'vc' },
        {
          '@context': [V2, 'https://www.w3.org/ns/credentials/examples/v2'],
          id: `urn:uuid:${randomBytes(16).toString('hex')}`,
          type: ['VerifiableCredential', 'ExampleAlumniCredential'],
          issuer: listIssuerDid,
          validFrom: '2024-01-01T00:00:00Z',
          credentialSubject: { id: 'did:example:alice', alumniOf: 'The School of Examples' },
          credentialStatus: {
            id: `${listUrl}#${index}`,
            type: 'BitstringStatusListEntry',
            statusPurpose: 'revocation',
            statusListIndex: String(index),
            statusListCredential: listUrl,
          },
          iss: listIssuerDid,
        },
      );
    const valid = await verify(await credential(41));
    expect(failed(valid.body)).toEqual([]);
    expect(valid.body.checks).toContainEqual({ check: 'status', passed: true, reason: 'valid' });
    listIssuerRevoked.add(42);
    const revoked = await verify(await credential(42));
    expect(revoked.status).toBe(400);
    expect(failed(revoked.body)).toEqual([
      expect.objectContaining({ check: 'status', passed: false, reason: 'the credential is revoked' }),
    ]);
  });

  it("checks a trust anchor's Data Integrity status list (JSON with a proof), for its credentials of either securing", async () => {
    const origin = new URL(listUrl).origin;
    const entry = (index: number, path = '/status/di') => ({
      id: `${origin}${path}#${index}`,
      type: 'BitstringStatusListEntry',
      statusPurpose: 'revocation',
      statusListIndex: String(index),
      statusListCredential: `${origin}${path}`,
    });
    const valid = await verify(await anchorCredential(undefined, undefined, entry(5)));
    expect(failed(valid.body)).toEqual([]);
    expect(valid.body.checks).toContainEqual({ check: 'status', passed: true, reason: 'valid' });
    anchorRevoked.add(6);
    const revoked = await verify(await anchorCredential(undefined, undefined, entry(6)));
    expect(revoked.status).toBe(400);
    expect(failed(revoked.body)).toEqual([
      expect.objectContaining({ check: 'status', passed: false, reason: 'the credential is revoked' }),
    ]);
    // A list whose proof does not verify: the status is unknown, never valid.
    const unreadable = await verify(await anchorCredential(undefined, undefined, entry(7, '/status/di-tampered')));
    expect(unreadable.status).toBe(400);
    expect(failed(unreadable.body)).toEqual([
      expect.objectContaining({ check: 'status', passed: false, reason: expect.stringContaining('status list proof') }),
    ]);
  });

  it('verifies an SD-JWT VC of an issuer trusted by its X.509 chain, and its Token Status List signed the same way', async () => {
    const credential = async (idx: number, certificate = x509.leaf) => {
      const sdJwt = new SDJwtVcInstance({
        hasher: digest,
        signer: async (input: string) =>
          sign('sha256', Buffer.from(input), { key: x509.leafKey, dsaEncoding: 'ieee-p1363' }).toString('base64url'),
        signAlg: 'ES256',
        saltGenerator: async () => randomBytes(16).toString('base64url'),
      });
      return sdJwt.issue(
        {
          iss: x509Issuer,
          vct: `${x509Issuer}/pid`,
          iat: Math.floor(Date.now() / 1000),
          given_name: 'Erika',
          status: { status_list: { idx, uri: `${listUrl.replace('/status/1', '/status/x5c')}` } },
        },
        { _sd: ['given_name'] },
        { header: { typ: 'dc+sd-jwt', x5c: [Buffer.from(certificate.rawData).toString('base64')] } },
      );
    };
    const valid = await verify(await credential(3));
    expect(failed(valid.body)).toEqual([]);
    expect(valid.body.checks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ check: 'issuer_authorised', passed: true, trustedBy: expect.stringMatching(/^x509:/) }),
        { check: 'status', passed: true, reason: 'valid' },
      ]),
    );
    x509Revoked.add(4);
    const revoked = await verify(await credential(4));
    expect(failed(revoked.body)).toEqual([
      expect.objectContaining({ check: 'status', passed: false, reason: 'the credential is revoked' }),
    ]);
    // A chain to no configured root is not trusted, whatever it signs.
    const stranger = await x509Chain(x509Issuer);
    const strangers = await verify(await credential(3, stranger.leaf));
    expect(strangers.status).toBe(400);
  });

  it('refuses with 400 a Data Integrity document whose canonicalisation would cost out of bounds (ADR 35)', async () => {
    // 300 blank nodes in one cycle, all alike at first degree: RDFC-1.0 compared them for seconds before.
    const n = 300;
    const cycle = Array.from({ length: n }, (_, k) => ({ i: `_:b${k}`, e: `_:b${(k + 1) % n}` }));
    const signed = await anchorCredential();
    const hostile = {
      ...signed,
      '@context': [...(signed['@context'] as unknown[]), { i: '@id', g: 'urn:g', e: { '@id': 'urn:e', '@type': '@id' } }],
      credentialSubject: { id: 'urn:s', g: cycle },
    };
    const refused = await verify(hostile);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('too alike to canonicalise');
    const inPresentation = await verifyVp({
      '@context': [V2],
      type: ['VerifiablePresentation'],
      verifiableCredential: [hostile],
    });
    expect(inPresentation.status).toBe(400);
    expect(JSON.stringify(inPresentation.body)).toContain('too alike to canonicalise');
    // One budget per presentation, not one per embedded credential.
    const names = Array.from({ length: 300 }, (_, k) => `name ${k}`);
    const large = { ...signed, credentialSubject: { id: 'urn:s', alumniOf: names } };
    const manyLarge = await verifyVp({
      '@context': [V2],
      type: ['VerifiablePresentation'],
      verifiableCredential: [large, large, large, large],
    });
    expect(manyLarge.status).toBe(400);
    expect(JSON.stringify(manyLarge.body)).toContain('the presentation has more than 1000 JSON members');
  });

  it('verifies credentials from a did:web trust anchor with one fetch of its DID document, kept DID_CACHE_TTL_SECONDS', async () => {
    const credential = await anchorCredential(undefined, { did: webDid, key: webKey });
    const before = webDocumentRequests;
    const answers = await Promise.all(Array.from({ length: 8 }, () => verify(credential)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(200));
    expect(answers[0]!.body.checks).toEqual(
      expect.arrayContaining([
        { check: 'signature', passed: true, reason: 'ecdsa-rdfc-2019' },
        { check: 'issuer_authorised', passed: true, trustedBy: webDid },
      ]),
    );
    // Eight concurrent verifications, then one more: the document was fetched once.
    expect((await verify(credential)).status).toBe(200);
    expect(webDocumentRequests - before).toBe(1);
  });

  it("refuses a trust anchor's credential whose type names two catalogue types, as it refuses ours", async () => {
    const now = new Date();
    const twoTypes = await vc.issue({
      credential: {
        '@context': [V2, 'https://www.w3.org/ns/credentials/undefined-terms/v2'],
        id: `urn:uuid:${randomBytes(16).toString('hex')}`,
        type: ['VerifiableCredential', 'DrivingLicenceCredential', 'ResidentIdentityCredential'],
        issuer: anchorDid,
        validFrom: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        validUntil: new Date(now.getTime() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        credentialSubject: DRIVING_LICENCE_CLAIMS,
      },
      suite: new DataIntegrityProof({ signer: anchorKey.signer(), cryptosuite: ecdsaRdfc2019 }),
      documentLoader: createDocumentLoader(async (did) => offlineDidDocument(did)),
    });
    const answer = await verify(twoTypes);
    expect(answer.status).toBe(400);
    expect(failed(answer.body)).toEqual([
      { check: 'type', passed: false, reason: 'the credential names more than one catalogue type' },
    ]);
  });

  it('refuses a Data Integrity presentation of a self-asserted credential secured only by it that names no holder (VCDM 2.0 §5.12)', async () => {
    const documentLoader = createDocumentLoader(async (did) => offlineDidDocument(did));
    const signed = async (credential: object, holder?: string) =>
      vc.signPresentation({
        presentation: vc.createPresentation({ verifiableCredential: [credential], ...(holder ? { holder } : {}) }),
        suite: new DataIntegrityProof({ signer: anchorKey.signer(), cryptosuite: ecdsaRdfc2019 }),
        challenge: 'self-1',
        documentLoader,
      });
    // The signer's own credential with no proof of its own: secured only by the presentation, so it must name its holder.
    const { proof: _proof, ...unsecured } = (await anchorCredential()) as Record<string, unknown>;
    const anonymous = await verifyVp(await signed(unsecured), { challenge: 'self-1' });
    expect(anonymous.status).toBe(400);
    expect(failed(anonymous.body)).toEqual([
      { check: 'data_model', passed: false, reason: 'a presentation of a self-asserted credential must name its holder' },
    ]);
    // One the signer also signed itself is secured on its own, as another issuer's would be: no holder needed.
    for (const holder of [undefined, anchorDid]) {
      const answer = await verifyVp(await signed(await anchorCredential(), holder), { challenge: 'self-1' });
      expect({ holder, status: answer.status, failed: failed(answer.body) }).toEqual({ holder, status: 200, failed: [] });
    }
  });

  it('refuses holders whose did:web documents do not have DID Core shapes, with a 400 rather than a 500', async () => {
    const { verifiableCredential: envelope } = await issueVcJwt();
    for (const [index] of MALFORMED_DID_DOCUMENTS.entries()) {
      const holderDid = `${webDid}:m:${index}`;
      // With a kid naming a method, and without one (the document's first method would stand in).
      for (const kid of [`${holderDid}#k`, undefined]) {
        const answer = await verifyVp(unsignedPresentationBy(holderDid, envelope, kid));
        expect({ index, kid, status: answer.status }).toEqual({ index, kid, status: 400 });
        expect(answer.body.verified).toBe(false);
        expect(failed(answer.body).map((check: Check) => check.check)).toEqual(['holder_binding']);
      }
    }
  });

  it('keeps did:web documents within a budget of bytes, so a host serving large ones cannot fill the memory', async () => {
    // Presentations naming holders whose documents are 60 KB of `{}`: each is resolved before any signature
    // is checked (an anonymous caller chooses them), and each costs ~1.4 MB of heap once parsed.
    const { verifiableCredential: envelope } = await issueVcJwt();
    const presentationOf = (user: number) => unsignedPresentationBy(`${webDid}:u:${user}`, envelope, `${webDid}:u:${user}#key-1`);
    for (let user = 0; user < 60; user++) {
      const answer = await verifyVp(presentationOf(user));
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.body)).toContain('is not an authentication method of the holder');
    }
    // The last holder's document is still kept; the first was dropped long before 60 were kept (DID_CACHE_MAX_ENTRIES is 10,000).
    await verifyVp(presentationOf(59));
    await verifyVp(presentationOf(0));
    expect(largeDocumentRequests.get('59')).toBe(1);
    expect(largeDocumentRequests.get('0')).toBe(2);
  });

  it('secures a credential with ecdsa-rdfc-2019 through src/keys that @digitalbazaar/vc verifies against the chain', async () => {
    const keys = app.app.get(KeyService);
    const key = (await keys.findByOwner(issuer.agency.id, 'credential-signing'))!;
    const now = new Date();
    const document = {
      // VCDM 2.0 defines no catch-all vocabulary: our catalogue claims use the undefined-terms context (bundled).
      '@context': [V2, 'https://www.w3.org/ns/credentials/undefined-terms/v2'],
      id: `urn:uuid:${randomBytes(16).toString('hex')}`,
      type: ['VerifiableCredential', 'DrivingLicenceCredential'],
      issuer: issuer.agency.did,
      validFrom: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      validUntil: new Date(now.getTime() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      credentialSubject: DRIVING_LICENCE_CLAIMS,
    };
    const signed = await secureWithEcdsaRdfc2019(document, {
      verificationMethod: issuer.agency.signingKid,
      sign: (data) => keys.signJws(key.id, data),
      documentLoader: createDocumentLoader(async () => undefined),
    });

    // @digitalbazaar/vc used directly, the key read from the chain by ethr-did-resolver (not by our code).
    const independent = await independentResolver(app);
    try {
      const theirLoader = async (url: string) => {
        const context = BUNDLED_CONTEXTS.get(url);
        if (context) return { contextUrl: null, documentUrl: url, document: context };
        const { didDocument } = await independent.resolver.resolve(url.split('#')[0]!);
        if (!url.includes('#'))
          return {
            contextUrl: null,
            documentUrl: url,
            document: { ...didDocument, '@context': ['https://www.w3.org/ns/did/v1'] },
          };
        const jwk = await independent.issuerJwk(url);
        const multikey = {
          '@context': 'https://w3id.org/security/multikey/v1',
          id: url,
          type: 'Multikey',
          controller: url.split('#')[0],
          publicKeyMultibase: jwkToMultibase(jwk),
        };
        return { contextUrl: null, documentUrl: url, document: multikey };
      };
      const result = await vc.verifyCredential({
        credential: signed,
        suite: new DataIntegrityProof({ cryptosuite: ecdsaRdfc2019 }),
        documentLoader: theirLoader,
      });
      expect(result.verified).toBe(true);
    } finally {
      independent.close();
    }
    const ours = await verify(signed);
    expect(ours.status).toBe(200);
    expect(ours.body.checks).toEqual(
      expect.arrayContaining([{ check: 'issuer_authorised', passed: true, trustedBy: 'chain-registry' }]),
    );
  });
});
