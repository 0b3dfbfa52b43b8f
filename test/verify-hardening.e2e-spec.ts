import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { jest } from '@jest/globals';
import { SignJWT, importJWK, type JWK } from 'jose';
import { createActiveAgency, startTestApp, type TestApp } from './support/test-app.js';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';
import { threadpoolSignatureJobs } from './support/threadpool-jobs.js';
import { eventLoopLoad } from '../src/common/index.js';
import { KEY_BACKEND, signingLoad, type LocalKeyBackend } from '../src/keys/index.js';

const LICENCE = DRIVING_LICENCE_CLAIMS;
const BUSINESS = {
  unified_social_credit_code: '91110000600037341L',
  enterprise_name: '示例科技有限公司',
  enterprise_type: '有限责任公司',
  legal_representative: '赵六',
  registered_capital: '1000万元',
  established_on: '2015-03-15',
};

type Check = { check: string; passed: boolean; reason?: string };
const failed = (body: { checks: Check[] }) => body.checks.filter((check) => !check.passed);

/**
 * Holder keys accepted by VC-API issuance are exactly what the metadata advertises (ES256, public members
 * only), and verification fails closed, with a 503 (could not check, never read as verified) and a reason, when the chain cannot be reached.
 */
describe('verification hardening', () => {
  let app: TestApp;
  let issuer: Awaited<ReturnType<typeof createActiveAgency>>;
  const holder = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const holderJwk = holder.publicKey.export({ format: 'jwk' }) as JWK;
  const holderDid = `did:jwk:${Buffer.from(JSON.stringify({ crv: 'P-256', kty: 'EC', x: holderJwk.x, y: holderJwk.y })).toString('base64url')}`;

  const issue = (type: string, credentialSubject: Record<string, unknown>, options: Record<string, unknown>) =>
    app.call('POST', '/credentials/issue', {
      token: issuer.apiKey,
      body: { credential: { type: ['VerifiableCredential', type], credentialSubject }, options },
    });
  const verify = (credential: string) => app.call('POST', '/credentials/verify', { body: { verifiableCredential: credential } });

  beforeAll(async () => {
    // No DID document cache, so an outage reaches the resolver.
    app = await startTestApp({ DID_CACHE_TTL_SECONDS: '0' });
    issuer = await createActiveAgency(app, 'hardening-office', 'Hardening Office', ['driving-licence', 'business-licence']);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('takes only a public ES256 holderJwk and copies only its public members into cnf', async () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const withPrivate = holder.privateKey.export({ format: 'jwk' });
    const symmetric = { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0' };
    for (const holderKey of [ed, withPrivate, symmetric, { ...holderJwk, crv: 'P-384' }]) {
      const refused = await issue('DrivingLicenceCredential', LICENCE, { format: 'dc+sd-jwt', holderJwk: holderKey });
      expect(refused.status).toBe(400);
      expect(refused.body.violations.map((v: { path: string }) => v.path)).toEqual(['options.holderJwk']);
    }
    const edDid = `did:jwk:${Buffer.from(JSON.stringify(ed)).toString('base64url')}`;
    const edSubject = await issue('DrivingLicenceCredential', { ...LICENCE, id: edDid }, { format: 'jwt_vc_json' });
    // A subject id is any URL (VCDM 2.0): an Ed25519 did:jwk names the subject, it binds no holder key.
    expect(edSubject.status).toBe(201);
    const edPayload = JSON.parse(Buffer.from((edSubject.body.credential as string).split('.')[1]!, 'base64url').toString());
    expect(edPayload.credentialSubject.id).toBe(edDid);
    expect(edPayload.cnf).toBeUndefined();

    // Extra members (kid, alg, use, ext) are not copied: cnf.jwk is kty, crv, x, y.
    const extra = { ...holderJwk, kid: 'wallet-1', alg: 'ES256', use: 'sig', ext: true };
    const issued = await issue('DrivingLicenceCredential', LICENCE, { format: 'dc+sd-jwt', holderJwk: extra });
    expect(issued.status).toBe(201);
    const payload = JSON.parse(Buffer.from((issued.body.credential as string).split('.')[1]!, 'base64url').toString());
    expect(payload.cnf).toEqual({ jwk: { kty: 'EC', crv: 'P-256', x: holderJwk.x, y: holderJwk.y } });
    expect((await verify(issued.body.credential)).body.verified).toBe(true);
  });

  it('checks the credential signature on the threadpool while the event loop is saturated, inline otherwise (ADR 28)', async () => {
    const issued = await issue('DrivingLicenceCredential', LICENCE, { format: 'dc+sd-jwt' });
    expect(issued.status).toBe(201);
    const onThreadpool = threadpoolSignatureJobs();
    // The load signal is held, not the work: the route still verifies with real keys on the real chain.
    const saturated = jest.spyOn(eventLoopLoad, 'isSaturated');
    try {
      saturated.mockReturnValue(false);
      const inline = await verify(issued.body.credential);
      expect(inline.status).toBe(200);
      expect(inline.body.verified).toBe(true);
      expect(onThreadpool.count).toBe(0);
      saturated.mockReturnValue(true);
      const handedOver = await verify(issued.body.credential);
      expect(handedOver.status).toBe(200);
      expect(handedOver.body.verified).toBe(true);
      expect(onThreadpool.count).toBeGreaterThanOrEqual(1);
      const tampered = `${issued.body.credential.slice(0, 40)}${issued.body.credential[40] === 'A' ? 'B' : 'A'}${issued.body.credential.slice(41)}`;
      const refused = await verify(tampered);
      expect(refused.body.verified).toBe(false);
    } finally {
      saturated.mockRestore();
      onThreadpool.stop();
    }
  });

  it('signs credentials on the signing thread while the event loop is saturated, inline otherwise (ADR 36)', async () => {
    const backend = app.app.get<LocalKeyBackend>(KEY_BACKEND, { strict: false });
    const saturated = jest.spyOn(signingLoad, 'isSaturated');
    try {
      saturated.mockReturnValue(false);
      const before = { ...backend.signatures };
      const inline = await issue('DrivingLicenceCredential', LICENCE, { format: 'dc+sd-jwt' });
      expect(inline.status).toBe(201);
      expect(backend.signatures.inline).toBeGreaterThan(before.inline);
      expect(backend.signatures.onThread).toBe(before.onThread);

      saturated.mockReturnValue(true);
      const handedOver = await Promise.all([
        issue('DrivingLicenceCredential', LICENCE, { format: 'dc+sd-jwt', holderJwk }),
        issue('DrivingLicenceCredential', LICENCE, { format: 'jwt_vc_json' }),
        issue('DrivingLicenceCredential', LICENCE, { format: 'jwt_vc_json', dataModel: '1.1' }),
      ]);
      expect(handedOver.map((reply) => reply.status)).toEqual([201, 201, 201]);
      expect(backend.signatures.onThread).toBeGreaterThanOrEqual(before.onThread + 3);
      saturated.mockReturnValue(false);
      for (const reply of [inline, ...handedOver]) expect((await verify(reply.body.credential)).body.verified).toBe(true);
    } finally {
      saturated.mockRestore();
    }
  });

  it('refuses JSON values that cannot be turned into text (a member named toString) with a 4xx, never a 500', async () => {
    // Parsed JSON cannot hold a function: a member named toString hides the inherited method, and String() or a
    // template literal on the object throws. Every such value is refused before it is reported.
    const hostile = { toString: 0 };
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signed = (header: Record<string, unknown>, payload: Record<string, unknown>) => {
      const input = `${b64(header)}.${b64(payload)}`;
      const signature = nodeSign('sha256', Buffer.from(input), { key: holder.privateKey, dsaEncoding: 'ieee-p1363' });
      return `${input}.${signature.toString('base64url')}`;
    };
    const verifyPresentation = (verifiablePresentation: unknown, options?: Record<string, unknown>) =>
      app.call('POST', '/presentations/verify', { body: { verifiablePresentation, ...(options ? { options } : {}) } });
    const refusedAs = (reply: { status: number; body: { verified?: boolean; checks?: Check[] } }, check: string) => {
      expect(reply.status).toBe(400);
      expect(reply.body.verified).toBe(false);
      expect(failed(reply.body as { checks: Check[] }).map((failure) => failure.check)).toContain(check);
    };

    // JWT presentations: typ, kid (the holder DID's fallback).
    refusedAs(await verifyPresentation(signed({ alg: 'ES256', typ: hostile }, {})), 'format');
    refusedAs(
      await verifyPresentation(signed({ alg: 'ES256', typ: 'JWT', kid: hostile }, { vp: { verifiableCredential: ['x'] } })),
      'format',
    );
    // An enveloped credential and an enveloped presentation whose token's typ is such an object.
    const envelope = (type: string, media: string) => ({
      '@context': ['https://www.w3.org/ns/credentials/v2'],
      type,
      id: `data:${media},${signed({ alg: 'ES256', typ: hostile }, {})}`,
    });
    const enveloped = await app.call('POST', '/credentials/verify', {
      body: { verifiableCredential: envelope('EnvelopedVerifiableCredential', 'application/vc+jwt') },
    });
    refusedAs(enveloped, 'data_model');
    refusedAs(await verifyPresentation(envelope('EnvelopedVerifiablePresentation', 'application/vp+jwt')), 'data_model');

    // An SD-JWT VC really issued to the holder, presented with a key-binding JWT whose typ is such an object.
    const sdJwt = (await issue('DrivingLicenceCredential', LICENCE, { format: 'dc+sd-jwt', holderJwk })).body
      .credential as string;
    const kb = signed(
      { alg: 'ES256', typ: hostile },
      { iat: Math.floor(Date.now() / 1000), aud: 'https://bank.example', nonce: 'n-1', sd_hash: 'x' },
    );
    refusedAs(await verifyPresentation(`${sdJwt}${kb}`, { challenge: 'n-1', domain: 'https://bank.example' }), 'holder_binding');

    // A request body holding such a member is refused by the parser, as problem details.
    const body = await fetch(`${app.url}/credentials/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ verifiableCredential: 'x', options: hostile }),
    });
    expect(body.status).toBe(400);
    expect(body.headers.get('content-type')).toContain('application/problem+json');
    expect(((await body.json()) as { detail: string }).detail).toContain('toString');
  });

  it('reports a chain that refuses connections as chain_unavailable with verified:false and 503, never a 500', async () => {
    const sdJwt = (await issue('DrivingLicenceCredential', LICENCE, { format: 'dc+sd-jwt', holderJwk })).body
      .credential as string;
    const jwtVc = (await issue('DrivingLicenceCredential', LICENCE, { format: 'jwt_vc_json', holderJwk })).body
      .credential as string;
    const business = (await issue('BusinessLicenceCredential', BUSINESS, { format: 'jwt_vc_json' })).body.credential as string;
    // While the chain is up: verified, and the registry's answer for driving-licence is cached.
    expect((await verify(sdJwt)).body.verified).toBe(true);

    // A requested stop (not a crash) is not recovered by the service, so the node stays down while we verify.
    await app.embeddedChain!.stop();
    expect(app.embeddedChain!.running).toBe(false);

    // The registry answer is cached, the DID document is not: the issuer key check could not be made.
    const keyDown = await verify(sdJwt);
    expect(keyDown.status).toBe(503);
    expect(keyDown.body.verified).toBe(false);
    expect(failed(keyDown.body)).toEqual([{ check: 'issuer_key', passed: false, reason: 'chain_unavailable' }]);

    // Nothing cached for business-licence: the registry read itself could not be made.
    const registryDown = await verify(business);
    expect(registryDown.status).toBe(503);
    expect(failed(registryDown.body)).toEqual([{ check: 'issuer_authorised', passed: false, reason: 'chain_unavailable' }]);

    const key = await importJWK(holder.privateKey.export({ format: 'jwk' }) as JWK, 'ES256');
    const vp = await new SignJWT({ nonce: 'n-1', vp: { type: ['VerifiablePresentation'], verifiableCredential: [jwtVc] } })
      .setProtectedHeader({ alg: 'ES256', typ: 'vp+jwt', kid: `${holderDid}#0` })
      .setIssuer(holderDid)
      .setAudience('https://rp.example')
      .setIssuedAt()
      .sign(key);
    const presented = await app.call('POST', '/presentations/verify', {
      body: { verifiablePresentation: vp, options: { challenge: 'n-1', domain: 'https://rp.example' } },
    });
    expect(presented.status).toBe(503);
    expect(presented.body.verified).toBe(false);
    expect(failed(presented.body.credentials[0])).toEqual([{ check: 'issuer_key', passed: false, reason: 'chain_unavailable' }]);
  });
});
