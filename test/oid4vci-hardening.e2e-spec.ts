import { createHash, generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';
import type { Jwk } from '@openid4vc/oauth2';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { jest } from '@jest/globals';
import { OfferRepository, Oid4vciPurge, TokenService } from '../src/issuer/index.js';
import { Oid4vciProtocol } from '../src/issuer/oid4vci/protocol.js';
import { createActiveAgency, startTestApp, type Reply, type TestApp } from './support/test-app.js';
import { PRE_AUTHORIZED_GRANT, wallet } from './support/wallet.js';
import { CHINESE_DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';

const LICENCE = CHINESE_DRIVING_LICENCE_CLAIMS;
const REDIRECT = 'https://wallet.example/cb';
const PRE_AUTH = PRE_AUTHORIZED_GRANT;
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const codeOf = (link: string, grant = PRE_AUTH): string => {
  const grants = JSON.parse(new URL(link).searchParams.get('credential_offer')!).grants;
  return grant === PRE_AUTH ? grants[PRE_AUTH]['pre-authorized_code'] : grants['authorization_code']['issuer_state'];
};

/** RFC 9110 §11.6.1 challenges as we send them: scheme, then auth-params with quoted RFC 6749 text. */
const PARAM = '[a-z_]+="[\\x20-\\x21\\x23-\\x5B\\x5D-\\x7E]*"';
const CHALLENGE = new RegExp(`^(DPoP|Bearer)( ${PARAM}(, ${PARAM})*)?$`);
function challenges(reply: Reply): string[] {
  const header = reply.headers.get('www-authenticate');
  expect(header).toBeTruthy();
  const parts = header!.split(/, (?=(?:DPoP|Bearer)\b)/);
  for (const part of parts) expect(part).toMatch(CHALLENGE);
  return parts;
}

describe('OID4VCI hardening (issue 10 items 1, 2, 3, 7, 8, 10, 14; issue 11)', () => {
  let app: TestApp;
  let apiKey: string;
  const w = wallet();

  beforeAll(async () => {
    app = await startTestApp({ OID4VCI_WALLET_REDIRECT_URIS: `${REDIRECT},https://other-wallet.example/cb` });
    apiKey = (await createActiveAgency(app, 'dmv-h', 'Vehicle Administration', ['driving-licence'])).apiKey;
  });
  afterAll(async () => {
    await app?.close();
  });

  const offer = (body: Record<string, unknown> = {}) =>
    app.call('POST', '/agency/offers', {
      token: apiKey,
      body: { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: LICENCE, txCode: false, ...body },
    });
  const now = () => Math.floor(Date.now() / 1000);

  /** A DPoP proof signed by `key`; header and payload members can be overridden (undefined drops one). */
  async function dpop(key: Jwk, htm: string, path: string, accessToken?: string, header: object = {}, payload: object = {}) {
    return (
      await w.signJwt(
        { method: 'jwk', alg: 'ES256', publicJwk: key },
        {
          header: { typ: 'dpop+jwt', alg: 'ES256', jwk: key, ...header },
          payload: {
            htm,
            htu: `${app.url}${path}`,
            iat: now(),
            jti: randomBytes(12).toString('base64url'),
            ...(accessToken ? { ath: createHash('sha256').update(accessToken).digest('base64url') } : {}),
            ...payload,
          },
        },
      )
    ).jwt;
  }

  /** A redeemed pre-authorized offer's access token, DPoP-bound to a fresh key unless `bearer`. */
  async function token(bearer = false, body: Record<string, unknown> = {}) {
    const created = await offer(body);
    const dpopKey = w.newKey();
    const reply = await app.call('POST', '/oid4vci/token', {
      headers: { ...FORM, ...(bearer ? {} : { dpop: await dpop(dpopKey, 'POST', '/oid4vci/token') }) },
      body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': codeOf(created.body.credentialOffer) }),
    });
    expect(reply.status).toBe(200);
    return { accessToken: reply.body.access_token as string, dpopKey, offerId: created.body.offerId as string };
  }

  const nonce = async () => (await app.call('POST', '/oid4vci/nonce')).body.c_nonce as string;

  /** A key proof signed by `key`, with its header and payload members overridable. */
  async function proof(key: Jwk, header: object = {}, payload: object = {}) {
    return (
      await w.signJwt(
        { method: 'jwk', alg: 'ES256', publicJwk: key },
        {
          header: { typ: 'openid4vci-proof+jwt', alg: 'ES256', jwk: key, ...header },
          payload: { aud: app.url, iat: now(), nonce: await nonce(), ...payload },
        },
      )
    ).jwt;
  }

  /** POST to a protected endpoint with a DPoP-bound token (or Bearer). */
  async function protectedCall(
    path: string,
    t: { accessToken: string; dpopKey: Jwk },
    body: unknown,
    proofHeader?: string | null,
  ): Promise<Reply> {
    const headers: Record<string, string> = { authorization: `DPoP ${t.accessToken}` };
    const header = proofHeader === undefined ? await dpop(t.dpopKey, 'POST', path, t.accessToken) : proofHeader;
    if (header !== null) headers['dpop'] = header;
    return app.call('POST', path, { headers, body });
  }

  it('answers a nonce request whose Content-Type is JSON but whose body is empty (§7.1), and refuses such credential requests', async () => {
    const bare = (path: string, headers: Record<string, string>) =>
      fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '' });
    const nonce = await bare('/oid4vci/nonce', {});
    expect(nonce.status).toBe(200);
    expect(nonce.headers.get('cache-control')).toBe('no-store');
    expect(((await nonce.json()) as { c_nonce?: unknown }).c_nonce).toEqual(expect.any(String));
    // With no body, each endpoint answers as it does to a request without one: a client error, never a 500.
    const t = await token(true);
    const credential = await bare('/oid4vci/credential', { authorization: `Bearer ${t.accessToken}` });
    expect(credential.status).toBe(400);
    expect(((await credential.json()) as { error: string }).error).toBe('invalid_credential_request');
    const verify = await bare('/credentials/verify', {});
    expect(verify.status).toBe(400);
    expect(verify.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('takes credential, deferred and notification requests as JSON only (OID4VCI 1.0 §8.2, §9.1, §11.1)', async () => {
    const t = await token(true);
    const holder = w.newKey();
    const asForm = (path: string, fields: Record<string, string>) =>
      app.call('POST', path, { headers: { ...FORM, authorization: `Bearer ${t.accessToken}` }, body: form(fields) });
    const fields = {
      credential_configuration_id: 'driving-licence.sd_jwt',
      proofs: JSON.stringify({ jwt: [await proof(holder)] }),
    };
    for (const [path, error] of [
      ['/oid4vci/credential', 'invalid_credential_request'],
      ['/oid4vci/deferred', 'invalid_credential_request'],
      ['/oid4vci/notification', 'invalid_notification_request'],
    ] as const) {
      const refused = await asForm(path, fields);
      expect({ path, status: refused.status, error: refused.body.error }).toEqual({ path, status: 400, error });
      // JSON that does not parse, or is not an object, is malformed too: the endpoint's own error code (§8.3.1.2,
      // §9.3, §11.3), never a generic one.
      for (const text of ['{"notification_id":', '[1]', '"x"']) {
        const malformed = await fetch(`${app.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${t.accessToken}` },
          body: text,
        });
        const body = (await malformed.json()) as { error: string };
        expect({ path, text, status: malformed.status, error: body.error }).toEqual({ path, text, status: 400, error });
      }
    }
    const bearer = { authorization: `Bearer ${t.accessToken}` };
    const issued = await app.call('POST', '/oid4vci/credential', {
      headers: bearer,
      body: { credential_configuration_id: 'driving-licence.sd_jwt', proofs: { jwt: [await proof(holder)] } },
    });
    expect(issued.status).toBe(200);
  });

  it('item 1: refuses holder keys with private members (key proof jwk, did:jwk kid, DPoP jwk); cnf has public members only', async () => {
    const t = await token();
    const holder = w.newKey();
    const privateJwk = w.privateJwk(holder) as Jwk;
    const withD = await protectedCall('/oid4vci/credential', t, {
      credential_configuration_id: 'driving-licence.sd_jwt',
      proofs: { jwt: [await proof(holder, { jwk: privateJwk })] },
    });
    expect(withD.status).toBe(400);
    expect(withD.body.error).toBe('invalid_proof');
    const didJwk = await protectedCall('/oid4vci/credential', t, {
      credential_configuration_id: 'driving-licence.sd_jwt',
      proofs: { jwt: [await proof(holder, { jwk: undefined, kid: `did:jwk:${b64(privateJwk)}#0` })] },
    });
    expect(didJwk.body.error).toBe('invalid_proof');

    // DPoP: at the token endpoint (400) and at the credential endpoint (401).
    const created = await offer();
    const dpopKey = w.newKey();
    const tokenWithD = await app.call('POST', '/oid4vci/token', {
      headers: { ...FORM, dpop: await dpop(dpopKey, 'POST', '/oid4vci/token', undefined, { jwk: w.privateJwk(dpopKey) }) },
      body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': codeOf(created.body.credentialOffer) }),
    });
    expect(tokenWithD.status).toBe(400);
    expect(tokenWithD.body.error).toBe('invalid_dpop_proof');
    const credentialWithD = await protectedCall(
      '/oid4vci/credential',
      t,
      { credential_configuration_id: 'driving-licence.sd_jwt' },
      await dpop(t.dpopKey, 'POST', '/oid4vci/credential', t.accessToken, { jwk: w.privateJwk(t.dpopKey) }),
    );
    expect(credentialWithD.status).toBe(401);
    expect(credentialWithD.body.error).toBe('invalid_dpop_proof');
    challenges(credentialWithD);

    // Extra members of a good key never reach the credential.
    const issued = await protectedCall('/oid4vci/credential', t, {
      credential_configuration_id: 'driving-licence.sd_jwt',
      proofs: { jwt: [await proof(holder, { jwk: { ...holder, kid: 'mine', ext: true, key_ops: ['verify'] } })] },
    });
    expect(issued.status).toBe(200);
    const payload = JSON.parse(Buffer.from(issued.body.credentials[0].credential.split('.')[1], 'base64url').toString());
    expect(payload.cnf).toEqual({ jwk: { kty: 'EC', crv: 'P-256', x: holder.x, y: holder.y } });
  });

  it('reads the Authorization scheme case-insensitively (RFC 9110 §11.1): a lowercase dpop scheme is accepted', async () => {
    const t = await token();
    const path = '/oid4vci/credential';
    const reply = await app.call('POST', path, {
      headers: { authorization: `dpop ${t.accessToken}`, dpop: await dpop(t.dpopKey, 'POST', path, t.accessToken) },
      body: { credential_configuration_id: 'driving-licence.sd_jwt', proofs: { jwt: [await proof(w.newKey())] } },
    });
    expect(reply.status).toBe(200);
  });

  it('accepts DPoP proofs carrying a kid beside their jwk (RFC 9449 §4.2), at the token and credential endpoints', async () => {
    const created = await offer();
    const dpopKey = w.newKey();
    const tokenReply = await app.call('POST', '/oid4vci/token', {
      headers: { ...FORM, dpop: await dpop(dpopKey, 'POST', '/oid4vci/token', undefined, { kid: 'wallet-key-1' }) },
      body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': codeOf(created.body.credentialOffer) }),
    });
    expect(tokenReply.status).toBe(200);
    expect(tokenReply.body.token_type).toBe('DPoP');
    const path = '/oid4vci/credential';
    const accessToken = tokenReply.body.access_token as string;
    const reply = await app.call('POST', path, {
      headers: { authorization: `DPoP ${accessToken}`, dpop: await dpop(dpopKey, 'POST', path, accessToken, { kid: 'k' }) },
      body: { credential_configuration_id: 'driving-licence.sd_jwt', proofs: { jwt: [await proof(w.newKey())] } },
    });
    expect(reply.status).toBe(200);
  });

  it('item 2: accepts exactly the advertised holder-key algorithms, in key proofs and in DPoP proofs', async () => {
    const metadata = (await app.call('GET', '/.well-known/openid-credential-issuer')).body;
    const configuration = metadata.credential_configurations_supported['driving-licence.sd_jwt'];
    expect(configuration.proof_types_supported.jwt.proof_signing_alg_values_supported).toEqual(['ES256']);
    expect(configuration.cryptographic_binding_methods_supported).toEqual(['jwk']);
    expect((await app.call('GET', '/.well-known/oauth-authorization-server')).body.dpop_signing_alg_values_supported).toEqual([
      'ES256',
    ]);

    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const edJwk = publicKey.export({ format: 'jwk' });
    const signEd = (header: object, payload: object) => {
      const input = `${b64(header)}.${b64(payload)}`;
      return `${input}.${nodeSign(null, Buffer.from(input), privateKey).toString('base64url')}`;
    };
    const t = await token();
    const edProof = signEd(
      { typ: 'openid4vci-proof+jwt', alg: 'EdDSA', jwk: edJwk },
      { aud: app.url, iat: now(), nonce: await nonce() },
    );
    const refused = await protectedCall('/oid4vci/credential', t, {
      credential_configuration_id: 'driving-licence.sd_jwt',
      proofs: { jwt: [edProof] },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_proof');

    const created = await offer();
    const edDpop = signEd(
      { typ: 'dpop+jwt', alg: 'EdDSA', jwk: edJwk },
      { htm: 'POST', htu: `${app.url}/oid4vci/token`, iat: now(), jti: randomBytes(12).toString('base64url') },
    );
    const tokenReply = await app.call('POST', '/oid4vci/token', {
      headers: { ...FORM, dpop: edDpop },
      body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': codeOf(created.body.credentialOffer) }),
    });
    expect(tokenReply.status).toBe(400);
    expect(tokenReply.body.error).toBe('invalid_dpop_proof');
  });

  it('item 3: every bad DPoP proof or token at credential, deferred and notification is 401 with a well-formed challenge', async () => {
    const t = await token();
    const other = w.newKey();
    for (const path of ['/oid4vci/credential', '/oid4vci/deferred', '/oid4vci/notification']) {
      const cases: [string, string | null | undefined, string][] = [
        ['garbage', 'not.a.jwt', 'invalid_dpop_proof'],
        ['wrong htu', await dpop(t.dpopKey, 'POST', '/oid4vci/token', t.accessToken), 'invalid_dpop_proof'],
        ['wrong htm', await dpop(t.dpopKey, 'GET', path, t.accessToken), 'invalid_dpop_proof'],
        // The library's message for these is multi-line and echoes values: it must not reach the header.
        ['wrong ath', await dpop(t.dpopKey, 'POST', path, 'another-token'), 'invalid_dpop_proof'],
        ['another key', await dpop(other, 'POST', path, t.accessToken), 'invalid_dpop_proof'],
        ['no proof', null, 'invalid_dpop_proof'],
      ];
      for (const [name, header, code] of cases) {
        const reply = await protectedCall(path, t, {}, header);
        expect({ path, name, status: reply.status, error: reply.body.error }).toEqual({ path, name, status: 401, error: code });
        expect(reply.body.error_description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,200}$/);
        expect(challenges(reply).find((c) => c.startsWith('DPoP'))).toContain(`error="${code}"`);
      }
      const none = await app.call('POST', path, { body: {} });
      expect(none.status).toBe(401);
      expect(challenges(none)).toEqual(['DPoP algs="ES256"', 'Bearer']);
      const bearer = await app.call('POST', path, { body: {}, headers: { authorization: `Bearer ${t.accessToken}` } });
      expect(bearer.status).toBe(401);
      expect(bearer.body.error).toBe('invalid_token');
      challenges(bearer);
      const junk = await app.call('POST', path, { body: {}, headers: { authorization: 'Bearer a.b.c' } });
      expect(junk.status).toBe(401);
      challenges(junk);
    }
  });

  it('item 7: the token endpoint error table (missing tx_code is invalid_request and costs no attempt)', async () => {
    const created = await offer({ txCode: true });
    const code = codeOf(created.body.credentialOffer);
    for (let i = 0; i < 6; i++) {
      const missing = await app.call('POST', '/oid4vci/token', {
        headers: FORM,
        body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': code }),
      });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toBe('invalid_request');
    }
    const ok = await app.call('POST', '/oid4vci/token', {
      headers: FORM,
      body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': code, tx_code: created.body.txCode }),
    });
    expect(ok.status).toBe(200);

    const noPin = await offer();
    const unexpected = await app.call('POST', '/oid4vci/token', {
      headers: FORM,
      body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': codeOf(noPin.body.credentialOffer), tx_code: '123456' }),
    });
    expect(unexpected.body.error).toBe('invalid_request');
    const grant = await app.call('POST', '/oid4vci/token', { headers: FORM, body: form({ grant_type: 'client_credentials' }) });
    expect(grant.body.error).toBe('unsupported_grant_type');
    // RFC 6749 §4.1.3 / RFC 9126 §2.1: form-encoded only; JSON (however well formed) is refused before anything is read.
    for (const endpoint of ['/oid4vci/token', '/oid4vci/par']) {
      const json = await app.call('POST', endpoint, {
        body: { grant_type: PRE_AUTH, 'pre-authorized_code': codeOf(noPin.body.credentialOffer), client_id: 'citizen-wallet' },
      });
      expect(json.status).toBe(400);
      expect(json.body.error).toBe('invalid_request');
      expect(json.body.error_description).toMatch(/application\/x-www-form-urlencoded/);
    }
    const noGrant = await app.call('POST', '/oid4vci/token', { headers: FORM, body: form({ foo: 'bar' }) });
    expect(noGrant.status).toBe(400);
    expect(noGrant.body.error).toBe('invalid_request');
    expect(noGrant.body.error_description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
    const garbageDpop = await app.call('POST', '/oid4vci/token', {
      headers: { ...FORM, dpop: 'x\ty' },
      body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': 'nope' }),
    });
    expect(garbageDpop.body.error).toBe('invalid_dpop_proof');
  });

  it('item 7 and 8: the credential endpoint error table and strict key proofs', async () => {
    const t = await token();
    const holder = w.newKey();
    const ask = (body: unknown) => protectedCall('/oid4vci/credential', t, body);
    const sd = 'driving-licence.sd_jwt';
    const cases: [string, () => Promise<unknown>, string][] = [
      ['not a JWT', async () => ({ credential_configuration_id: sd, proofs: { jwt: ['hello'] } }), 'invalid_proof'],
      ['a number', async () => ({ credential_configuration_id: sd, proofs: { jwt: [42] } }), 'invalid_proof'],
      [
        'unknown configuration',
        async () => ({ credential_configuration_id: 'nope.sd_jwt', proofs: { jwt: [await proof(holder)] } }),
        'unknown_credential_configuration',
      ],
      [
        'both identifiers',
        async () => ({ credential_configuration_id: sd, credential_identifier: sd, proofs: { jwt: [await proof(holder)] } }),
        'invalid_credential_request',
      ],
      ['neither', async () => ({ proofs: { jwt: [await proof(holder)] } }), 'invalid_credential_request'],
      [
        'an identifier the token does not grant',
        async () => ({ credential_identifier: sd, proofs: { jwt: [await proof(holder)] } }),
        'unknown_credential_identifier',
      ],
      [
        // A proof without a nonce is a bad proof (OID4VCI 1.0 §8.3.1.2), not a stale nonce to fetch again.
        'no nonce',
        async () => ({ credential_configuration_id: sd, proofs: { jwt: [await proof(holder, {}, { nonce: undefined })] } }),
        'invalid_proof',
      ],
      [
        'unknown nonce',
        async () => ({ credential_configuration_id: sd, proofs: { jwt: [await proof(holder, {}, { nonce: 'made-up' })] } }),
        'invalid_nonce',
      ],
      [
        'wrong typ',
        async () => ({ credential_configuration_id: sd, proofs: { jwt: [await proof(holder, { typ: 'JWT' })] } }),
        'invalid_proof',
      ],
      [
        'crit',
        async () => ({ credential_configuration_id: sd, proofs: { jwt: [await proof(holder, { crit: ['b64'], b64: true })] } }),
        'invalid_proof',
      ],
      [
        'iat 70 s old',
        async () => ({ credential_configuration_id: sd, proofs: { jwt: [await proof(holder, {}, { iat: now() - 70 })] } }),
        'invalid_proof',
      ],
      ['not an object', async () => ['x'], 'invalid_credential_request'],
      [
        // This issuer offers no response encryption (§8.2: asked for, it MUST encrypt; so the parameters are invalid).
        'response encryption',
        async () => ({
          credential_configuration_id: sd,
          proofs: { jwt: [await proof(holder)] },
          credential_response_encryption: { jwk: holder, enc: 'A128GCM' },
        }),
        'invalid_encryption_parameters',
      ],
    ];
    for (const [name, body, code] of cases) {
      const reply = await ask(await body());
      expect({ name, status: reply.status, error: reply.body.error }).toEqual({ name, status: 400, error: code });
      expect(reply.body.error_description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,200}$/);
    }
    // A configuration the offer did not make is outside the token's grant: an RFC 6750 authorization error
    // (OID4VCI 1.0 §8.3.1.1), 403 insufficient_scope with the challenge of the scheme the token came in.
    const outside = await ask({ credential_configuration_id: 'driving-licence.jwt_vc', proofs: { jwt: [await proof(holder)] } });
    expect({ status: outside.status, error: outside.body.error }).toEqual({ status: 403, error: 'insufficient_scope' });
    expect(outside.headers.get('www-authenticate')).toMatch(
      /^DPoP algs="[^"]+", error="insufficient_scope", error_description="/,
    );
    // A repeated protected-header member (RFC 8725): "alg" twice.
    const good = await proof(holder);
    const [h, p, s] = good.split('.');
    const doubled = `${b64(`{"alg":"none",${Buffer.from(h!, 'base64url').toString().slice(1)}`)}.${p}.${s}`;
    const duplicate = await ask({ credential_configuration_id: sd, proofs: { jwt: [doubled] } });
    expect(duplicate.body.error).toBe('invalid_proof');
    // And the same request with a good proof still works (nothing above consumed the offer), a member the issuer
    // does not know (a pre-1.0 `format`) ignored as §8.2 requires.
    const issued = await ask({ credential_configuration_id: sd, format: 'dc+sd-jwt', proofs: { jwt: [await proof(holder)] } });
    expect(issued.status).toBe(200);
    expect(issued.body.credentials).toHaveLength(1);
  });

  /** PAR (raw), the citizen login, and the code; returns what the token request needs. */
  async function authorize(options: {
    redirectUri?: string;
    details?: unknown;
    dpopKey?: Jwk;
    dpopJkt?: string;
    extra?: Record<string, string>;
  }) {
    const created = await offer({ flow: 'authorization_code' });
    const verifier = randomBytes(32).toString('base64url');
    const fields: Record<string, string> = {
      response_type: 'code',
      client_id: 'citizen-wallet',
      redirect_uri: options.redirectUri ?? REDIRECT,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      issuer_state: codeOf(created.body.credentialOffer, 'authorization_code'),
      ...(options.details ? { authorization_details: JSON.stringify(options.details) } : { scope: 'driving-licence' }),
      ...(options.dpopJkt ? { dpop_jkt: options.dpopJkt } : {}),
      ...options.extra,
    };
    const par = await app.call('POST', '/oid4vci/par', {
      headers: { ...FORM, ...(options.dpopKey ? { dpop: await dpop(options.dpopKey, 'POST', '/oid4vci/par') } : {}) },
      body: form(fields),
    });
    if (par.status !== 201) return { par };
    const login = await fetch(`${app.url}/oid4vci/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: FORM,
      body: form({ client_id: 'citizen-wallet', request_uri: par.body.request_uri, login_code: created.body.loginCode }),
    });
    const code = new URL(login.headers.get('location')!).searchParams.get('code')!;
    const exchange = async (key?: Jwk) =>
      app.call('POST', '/oid4vci/token', {
        headers: { ...FORM, ...(key ? { dpop: await dpop(key, 'POST', '/oid4vci/token') } : {}) },
        body: form({
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: fields.redirect_uri!,
          client_id: 'citizen-wallet',
        }),
      });
    return { par, exchange };
  }

  it('item 14: PAR accepts only registered wallet redirect URIs, exactly', async () => {
    for (const redirectUri of ['https://evil.example/cb', `${REDIRECT}/`, `${REDIRECT}?x=1`, 'HTTPS://wallet.example/cb']) {
      const { par } = await authorize({ redirectUri });
      expect({ redirectUri, status: par.status, error: par.body.error }).toEqual({
        redirectUri,
        status: 400,
        error: 'invalid_request',
      });
    }
    expect((await authorize({ redirectUri: 'https://other-wallet.example/cb' })).par.status).toBe(201);
    // RFC 9126 §2.1: request_uri MUST NOT be pushed; a malformed request is invalid_request.
    const pushedUri = (await authorize({ extra: { request_uri: 'urn:ietf:params:oauth:request_uri:x' } })).par;
    expect({ status: pushedUri.status, error: pushedUri.body.error }).toEqual({ status: 400, error: 'invalid_request' });
  });

  it('item 14: the code of a PAR with DPoP is bound to its key (RFC 9449 §10)', async () => {
    const key = w.newKey();
    const bound = await authorize({ dpopKey: key });
    expect((await bound.exchange!(w.newKey())).body.error).toBe('invalid_dpop_proof');
    expect((await bound.exchange!()).body.error).toBe('invalid_dpop_proof');
    const ok = await bound.exchange!(key);
    expect(ok.status).toBe(200);
    expect(ok.body.token_type).toBe('DPoP');
  });

  it('item 7: after PAR with authorization_details the token response has credential_identifiers, used at the credential endpoint', async () => {
    const details = [{ type: 'openid_credential', credential_configuration_id: 'driving-licence.sd_jwt' }];
    const key = w.newKey();
    const flow = await authorize({ details, dpopKey: key });
    const tokenReply = await flow.exchange!(key);
    expect(tokenReply.status).toBe(200);
    expect(tokenReply.body.authorization_details).toEqual([
      {
        type: 'openid_credential',
        credential_configuration_id: 'driving-licence.sd_jwt',
        credential_identifiers: ['driving-licence.sd_jwt'],
      },
    ]);
    const t = { accessToken: tokenReply.body.access_token as string, dpopKey: key };
    const holder = w.newKey();
    const byConfiguration = await protectedCall('/oid4vci/credential', t, {
      credential_configuration_id: 'driving-licence.sd_jwt',
      proofs: { jwt: [await proof(holder)] },
    });
    expect(byConfiguration.body.error).toBe('invalid_credential_request');
    const unknown = await protectedCall('/oid4vci/credential', t, {
      credential_identifier: 'nope',
      proofs: { jwt: [await proof(holder)] },
    });
    expect(unknown.body.error).toBe('unknown_credential_identifier');
    const issued = await protectedCall('/oid4vci/credential', t, {
      credential_identifier: 'driving-licence.sd_jwt',
      proofs: { jwt: [await proof(holder)] },
    });
    expect(issued.status).toBe(200);
    expect(issued.body.credentials).toHaveLength(1);

    const unknownDetails = await authorize({ details: [{ type: 'openid_credential', credential_configuration_id: 'x.sd_jwt' }] });
    expect(unknownDetails.par.body.error).toBe('invalid_authorization_details');
  });

  it('item 7: authorization_details in a pre-authorized token request (§6.1) gets credential_identifiers back (§6.2)', async () => {
    const created = await offer({ formats: ['dc+sd-jwt', 'jwt_vc_json'] });
    // The @openid4vc client as the wallet, naming one of the two offered configurations.
    const credentialOffer = await w.client.resolveCredentialOffer(created.body.credentialOffer);
    const issuerMetadata = await w.client.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const details = [{ type: 'openid_credential', credential_configuration_id: 'driving-licence.sd_jwt' }];
    const { accessTokenResponse } = await w.client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      additionalRequestPayload: { authorization_details: details },
    });
    expect(accessTokenResponse.authorization_details).toEqual([
      { ...details[0], credential_identifiers: ['driving-licence.sd_jwt'] },
    ]);
    const bearer = (body: object) =>
      app.call('POST', '/oid4vci/credential', { headers: { authorization: `Bearer ${accessTokenResponse.access_token}` }, body });
    const holder = w.newKey();
    // The token grants the identifier: the request names it, not the configuration, and only it.
    expect(
      (await bearer({ credential_configuration_id: 'driving-licence.sd_jwt', proofs: { jwt: [await proof(holder)] } })).body
        .error,
    ).toBe('invalid_credential_request');
    expect(
      (await bearer({ credential_identifier: 'driving-licence.jwt_vc', proofs: { jwt: [await proof(holder)] } })).body.error,
    ).toBe('unknown_credential_identifier');
    const issued = await bearer({ credential_identifier: 'driving-licence.sd_jwt', proofs: { jwt: [await proof(holder)] } });
    expect(issued.status).toBe(200);
    expect(issued.body.credentials).toHaveLength(1);
    // The narrowed grant's last configuration finishes the offer: the JWT VC can no longer be issued (the code is
    // spent), so the citizen's sealed claims go now rather than at the offer's expiry.
    expect(await app.app.get(OfferRepository).byId(created.body.offerId)).toMatchObject({
      status: 'issued',
      claimsSealed: null,
      issuedConfigurations: ['driving-licence.sd_jwt'],
    });

    // A configuration the offer does not hold, or a malformed detail: invalid_authorization_details, code unspent.
    const other = await offer();
    for (const authorizationDetails of [
      JSON.stringify([{ type: 'openid_credential', credential_configuration_id: 'driving-licence.jwt_vc' }]),
      JSON.stringify([{ type: 'openid_credential' }]),
      'not json',
    ]) {
      const refused = await app.call('POST', '/oid4vci/token', {
        headers: FORM,
        body: form({
          grant_type: PRE_AUTH,
          'pre-authorized_code': codeOf(other.body.credentialOffer),
          authorization_details: authorizationDetails,
        }),
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_authorization_details');
    }
    const redeemed = await app.call('POST', '/oid4vci/token', {
      headers: FORM,
      body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': codeOf(other.body.credentialOffer) }),
    });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.authorization_details).toBeUndefined();
  });

  it('issue 11: a token signed before a key rotation is still accepted; the JWKS lists every active key', async () => {
    const before = await token();
    const oldKid = decodeProtectedHeader(before.accessToken).kid;
    expect(oldKid).toBeDefined();
    const rotated = await app.app.get(TokenService).rotateAccessTokenKey();
    expect(rotated.kid).not.toBe(oldKid);
    const jwks = (await app.call('GET', '/.well-known/jwks.json')).body.keys.map((key: { kid: string }) => key.kid);
    expect(jwks).toEqual([rotated.kid, oldKid]);
    const after = await token();
    expect(decodeProtectedHeader(after.accessToken).kid).toBe(rotated.kid);
    for (const t of [before, after]) {
      const reply = await protectedCall('/oid4vci/credential', t, {
        credential_configuration_id: 'driving-licence.sd_jwt',
        proofs: { jwt: [await proof(w.newKey())] },
      });
      expect(reply.status).toBe(200);
    }
  });

  it('binds a pre-authorized grant to the client_id its token request names: a key proof naming another client is invalid_proof (F.1)', async () => {
    const created = await offer();
    const code = codeOf(created.body.credentialOffer);
    const dpopKey = w.newKey();
    const exchange = async (clientId: string) =>
      app.call('POST', '/oid4vci/token', {
        headers: { ...FORM, dpop: await dpop(dpopKey, 'POST', '/oid4vci/token') },
        body: form({ grant_type: PRE_AUTH, 'pre-authorized_code': code, client_id: clientId }),
      });
    // A client_id no column could keep is a client error, and spends nothing.
    const tooLong = await exchange('w'.repeat(1001));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toBe('invalid_request');
    const reply = await exchange('kiosk-wallet');
    expect(reply.status).toBe(200);
    expect(decodeJwt(reply.body.access_token as string).client_id).toBe('kiosk-wallet');
    const t = { accessToken: reply.body.access_token as string, dpopKey };
    const holderKey = w.newKey();
    const request = async (payload: object) =>
      protectedCall('/oid4vci/credential', t, {
        credential_configuration_id: 'driving-licence.sd_jwt',
        proofs: { jwt: [await proof(holderKey, {}, payload)] },
      });
    // §8.3: each key binds at most one credential; a batch naming one key twice is refused, nothing issued.
    const twice = await protectedCall('/oid4vci/credential', t, {
      credential_configuration_id: 'driving-licence.sd_jwt',
      proofs: { jwt: [await proof(holderKey), await proof(holderKey)] },
    });
    expect(twice.status).toBe(400);
    expect(twice.body).toEqual({
      error: 'invalid_proof',
      error_description: 'The key proofs are invalid: two proofs name the same key; each key binds one credential',
    });
    const forAnother = await request({ iss: 'another-wallet' });
    expect(forAnother.status).toBe(400);
    expect(forAnother.body).toEqual({
      error: 'invalid_proof',
      error_description: 'The key proof is invalid: the proof iss is not the client the access token was issued to',
    });
    expect((await request({ iss: 'kiosk-wallet' })).status).toBe(200);
  });

  it('verifies no key-proof signature while a nonce is made up or spent: a batch of them costs a read per nonce', async () => {
    const verify = jest.spyOn(app.app.get(Oid4vciProtocol).issuer, 'verifyCredentialRequestJwtProof');
    try {
      const madeUp = await Promise.all(Array.from({ length: 10 }, () => proof(w.newKey(), {}, { nonce: 'made-up' })));
      const refused = await protectedCall('/oid4vci/credential', await token(), {
        credential_configuration_id: 'driving-licence.sd_jwt',
        proofs: { jwt: madeUp },
      });
      expect(refused.body.error).toBe('invalid_nonce');
      expect(verify).not.toHaveBeenCalled();
      // One good proof and one with a made-up nonce: refused before either signature, and the good nonce stays usable.
      const fresh = await nonce();
      const mixed = await protectedCall('/oid4vci/credential', await token(), {
        credential_configuration_id: 'driving-licence.sd_jwt',
        proofs: { jwt: [await proof(w.newKey(), {}, { nonce: fresh }), await proof(w.newKey(), {}, { nonce: 'made-up' })] },
      });
      expect(mixed.body.error).toBe('invalid_nonce');
      expect(verify).not.toHaveBeenCalled();
      const used = await protectedCall('/oid4vci/credential', await token(), {
        credential_configuration_id: 'driving-licence.sd_jwt',
        proofs: { jwt: [await proof(w.newKey(), {}, { nonce: fresh })] },
      });
      expect(used.status).toBe(200);
      expect(verify).toHaveBeenCalledTimes(1);
      // Spent now: a replay of its nonce is refused without a signature check.
      const replay = await protectedCall('/oid4vci/credential', await token(), {
        credential_configuration_id: 'driving-licence.sd_jwt',
        proofs: { jwt: [await proof(w.newKey(), {}, { nonce: fresh })] },
      });
      expect(replay.body.error).toBe('invalid_nonce');
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
  });

  it("item 10: the purge drops expired nonces, PAR sessions and expired offers' sealed state", async () => {
    const stale = await nonce();
    const { par } = await authorize({});
    const expiring = await offer({ byReference: true, expiresInSeconds: 1 });
    const later = new Date(Date.now() + 3_600_000);
    await app.app.get(Oid4vciPurge).purgeExpired(later);
    const t = await token();
    const reply = await protectedCall('/oid4vci/credential', t, {
      credential_configuration_id: 'driving-licence.sd_jwt',
      proofs: { jwt: [await proof(w.newKey(), {}, { nonce: stale })] },
    });
    expect(reply.body.error).toBe('invalid_nonce');
    const page = await fetch(
      `${app.url}/oid4vci/authorize?client_id=citizen-wallet&request_uri=${encodeURIComponent(par.body.request_uri)}`,
    );
    expect(page.status).toBe(400);
    const byReference = await app.call('GET', new URL(expiring.body.credentialOfferUri).pathname);
    expect(byReference.status).toBe(404);
  });
});
