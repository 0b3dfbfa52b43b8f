import { createHash, createHmac, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Jwk } from '@openid4vc/oauth2';
import { CompactEncrypt, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { DRIVING_LICENCE_CLAIMS } from './fixtures/claims.js';
import { createActiveAgency, eventually, startTestApp, type TestApp } from './support/test-app.js';
import { wallet } from './support/wallet.js';
import { drivingLicenceQuery } from './fixtures/dcql.js';
import { AuditEntryEntity } from '../src/audit/index.js';
import { Database } from '../src/persistence/index.js';
import { sampleSum } from './support/metrics.js';
import { runCli } from '../src/cli.js';

const LICENCE = {
  family_name: '李',
  given_name: '娜',
  birth_date: '1992-03-08',
  licence_number: '310101199203081234',
  categories: ['C1', 'C2'],
  issue_date: '2012-04-01',
  expiry_date: '2030-04-01',
};

/**
 * OpenID4VP 1.0 cross-device flow. The wallet is the @openid4vc/openid4vp client holding credentials it
 * received through OpenID4VCI from this service; presentations are built with @sd-jwt/sd-jwt-vc.
 */
describe('OpenID4VP 1.0: relying parties verify QR codes', () => {
  let app: TestApp;
  let agencyApiKey: string;
  let rogueApiKey: string;
  let rogueAgencyId: string;
  let bank: { apiKey: string; clientId: string };
  let police: { apiKey: string; clientId: string };
  let registry: { apiKey: string; clientId: string; certificate: string };
  let archive: { apiKey: string; clientId: string; certificate: string };
  const citizen = wallet();
  let webhook: Server;
  let webhookSecret = '';
  const webhookCalls: { id: string; status: string; result: { credentials: { claims: Record<string, unknown> }[] } }[] = [];

  const receive = (apiKey: string) =>
    citizen.receive(app, apiKey, { type: 'driving-licence', formats: ['dc+sd-jwt'], claims: LICENCE, txCode: false });

  const dcql = (claims: string[]) => drivingLicenceQuery(app.config.http.publicUrl, claims);

  const answer = (link: string, held: { credential: string; holderKey: Jwk }, tamper?: { nonce?: string }) =>
    citizen.answer(link, held, tamper);

  const createRequest = (apiKey: string, claims: string[], mode: 'direct_post' | 'direct_post.jwt' = 'direct_post.jwt') =>
    app.call('POST', '/rp/requests', { token: apiKey, body: { dcql_query: dcql(claims), response_mode: mode } });
  const verdict = (apiKey: string, id: string) =>
    app.call('GET', `/rp/requests/${id}`, { token: apiKey }).then((reply) => reply.body);

  beforeAll(async () => {
    // Lists may not be cached, so that a revocation reaches the verifier at once.
    app = await startTestApp({ STATUS_LIST_MAX_AGE_SECONDS: '0', PUBLIC_HOST: 'localhost', WEBHOOK_ALLOW_PRIVATE: 'true' });
    agencyApiKey = (await createActiveAgency(app, 'dmv-shanghai', 'Shanghai Vehicle Office 上海车管所', ['driving-licence']))
      .apiKey;
    const rogue = await createActiveAgency(app, 'rogue-office', 'Unauthorised office', ['driving-licence']);
    rogueApiKey = rogue.apiKey;
    rogueAgencyId = rogue.agency.id;
    const register = async (
      name: string,
      allowedClaims: Record<string, string[]>,
      clientIdPrefix: string,
      webhookUrl?: string,
    ) => {
      const registered = await app.operator('POST', '/operator/relying-parties', {
        name,
        purpose: 'Check driving entitlement',
        allowedClaims,
        clientIdPrefix,
        ...(webhookUrl ? { webhookUrl } : {}),
      });
      expect(registered.status).toBe(201);
      if (registered.body.webhookSecret) webhookSecret = registered.body.webhookSecret as string;
      return {
        apiKey: registered.body.apiKey as string,
        clientId: registered.body.relyingParty.clientId as string,
        certificate: registered.body.relyingParty.certificate as string,
      };
    };
    // The bank's back-office receives verdicts by webhook.
    webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        // Only a correctly signed delivery is accepted.
        const timestamp = String(request.headers['x-chancery-timestamp']);
        const expected = `v1=${createHmac('sha256', webhookSecret).update(`${timestamp}.${body}`).digest('hex')}`;
        if (request.headers['x-chancery-signature'] === expected) webhookCalls.push(JSON.parse(body));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/verdicts`;
    bank = await register(
      'Bank of Example 示例银行',
      { 'driving-licence': ['categories', 'expiry_date'] },
      'decentralized_identifier',
      webhookUrl,
    );
    police = await register(
      'Traffic Police 交警',
      { 'driving-licence': ['categories', 'expiry_date', 'family_name', 'given_name'] },
      'redirect_uri',
    );
    registry = await register('Vehicle Registry 车辆登记处', { 'driving-licence': ['licence_number'] }, 'x509_san_dns');
    citizen.trust(registry.certificate);
    archive = await register('Records Archive 档案馆', { 'driving-licence': ['licence_number'] }, 'x509_hash');
    citizen.trust(archive.certificate);
  });
  afterAll(async () => {
    webhook?.close();
    await app?.close();
  });

  it('lists the registered relying parties to the operator (API and CLI) with their client_ids, no key or secret', async () => {
    const listed = await app.operator('GET', '/operator/relying-parties');
    expect(listed.status).toBe(200);
    const byClientId = new Map((listed.body as { clientId: string; name: string }[]).map((party) => [party.clientId, party]));
    for (const party of [bank, police, registry, archive]) expect(byClientId.has(party.clientId)).toBe(true);
    expect(byClientId.get(bank.clientId)).toMatchObject({
      name: 'Bank of Example 示例银行',
      clientIdPrefix: 'decentralized_identifier',
    });
    expect(JSON.stringify(listed.body)).not.toContain(bank.apiKey);
    expect(JSON.stringify(listed.body)).not.toMatch(/secret|apiKey/i);
    const viaCli = await runCli(['relying-party:list'], { CHANCERY_URL: app.url, OPERATOR_API_KEY: app.operatorApiKey });
    expect((viaCli.output as { clientId: string }[]).map((party) => party.clientId)).toEqual(
      (listed.body as { clientId: string }[]).map((party) => party.clientId),
    );
    expect((await app.call('GET', '/operator/relying-parties')).status).toBe(401);
  });

  it('verifies a signed-request, encrypted-response presentation disclosing only category and expiry', async () => {
    const held = await receive(agencyApiKey);
    const created = await createRequest(bank.apiKey, ['categories', 'expiry_date']);
    expect(created.status).toBe(201);
    expect(created.body.link).toMatch(/^openid4vp:\/\/\?client_id=decentralized_identifier%3Adid%3Ajwk%3A.+&request_uri=/);
    expect(created.body.qr.png).toMatch(/^data:image\/png;base64,/);
    expect(created.body.qr.svg).toContain('<svg');
    expect((await verdict(bank.apiKey, created.body.id)).status).toBe('pending');

    const answered = await answer(created.body.link, held);
    expect(answered.status).toBe(200);
    expect(answered.request.client_id).toBe(bank.clientId);
    expect(answered.response.jarm?.responseJwt.split('.')).toHaveLength(5); // a JWE, not plain vp_token
    // The wallet disclosed exactly the two claims.
    expect(answered.presentation.split('~').length - 2).toBe(2);

    const result = await verdict(bank.apiKey, created.body.id);
    expect(result.status).toBe('verified');
    expect(result.result.credentials[0].claims).toEqual({ categories: ['C1', 'C2'], expiry_date: '2030-04-01' });
    expect(JSON.stringify(result)).not.toContain('licence_number');
    const pushed = await eventually(async () => webhookCalls.find((call) => call.id === created.body.id));
    expect(pushed.status).toBe('verified');
    expect(pushed.result.credentials[0]!.claims).toEqual({ categories: ['C1', 'C2'], expiry_date: '2030-04-01' });
    await eventually(async () =>
      (sampleSum((await app.call('GET', '/metrics')).body, 'chancery_webhook_deliveries_total', { outcome: 'delivered' }) ?? 0) >
      0
        ? true
        : undefined,
    );

    // The same response again is refused: the request was answered.
    const replay = await fetch(answered.request.response_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ response: answered.response.jarm!.responseJwt }),
    });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error_description: string }).error_description).toBe(
      'This presentation request was already answered',
    );
  });

  it('ends a request the wallet declines, by an encrypted or a plain error response: 200, verdict rejected', async () => {
    for (const mode of ['direct_post.jwt', 'direct_post'] as const) {
      const created = await createRequest(bank.apiKey, ['categories'], mode);
      expect(created.status).toBe(201);
      const request = (await citizen.resolveRequest(created.body.link)).request as Record<string, unknown>;
      const refusal = { error: 'access_denied', error_description: 'The holder declined', state: request.state as string };
      let form: URLSearchParams;
      if (mode === 'direct_post.jwt') {
        // OID4VP 1.0 §8.3: an error response uses the response mode asked for, so it is encrypted too (jose here,
        // with the key and enc the request's client_metadata offers).
        const metadata = request.client_metadata as { jwks: { keys: JWK[] }; encrypted_response_enc_values_supported?: string[] };
        const key = metadata.jwks.keys[0]!;
        const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(refusal)))
          .setProtectedHeader({
            alg: key.alg ?? 'ECDH-ES',
            enc: metadata.encrypted_response_enc_values_supported?.[0] ?? 'A128GCM',
            kid: key.kid!,
          })
          .encrypt(await importJWK(key, key.alg ?? 'ECDH-ES'));
        form = new URLSearchParams({ response: jwe });
      } else form = new URLSearchParams(refusal);
      const posted = await fetch(request.response_uri as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      // §8.2: the response URI answers 200 once it has processed the error response.
      expect(posted.status).toBe(200);
      const result = await verdict(bank.apiKey, created.body.id);
      expect(result.status).toBe('rejected');
      expect(result.result.reason).toBe('wallet answered access_denied');
      // A refusal presents no credential (and anyone can send one to a citizens' page): no audit entry.
      const entries = await app.app
        .get(Database)
        .use(undefined, (m) => m.getRepository(AuditEntryEntity).countBy({ subject: `presentation:${created.body.id}` }));
      expect(entries).toBe(0);
    }
  });

  it('refuses a response without the request state (RFC 6749 §4.1.2) or with presentations not given as an array (§8.1)', async () => {
    const held = await receive(agencyApiKey);
    const created = await createRequest(bank.apiKey, ['categories']);
    expect(created.status).toBe(201);
    const resolved = await citizen.resolveRequest(created.body.link);
    const request = resolved.request as Record<string, unknown>;
    const queryId = resolved.query.credentials[0]!.id;
    const metadata = request.client_metadata as { jwks: { keys: JWK[] }; encrypted_response_enc_values_supported?: string[] };
    const key = metadata.jwks.keys[0]!;
    const enc = metadata.encrypted_response_enc_values_supported?.[0] ?? 'A128GCM';
    const post = async (payload: object) =>
      fetch(request.response_uri as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          response: await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
            .setProtectedHeader({ alg: key.alg ?? 'ECDH-ES', enc, kid: key.kid! })
            .encrypt(await importJWK(key, key.alg ?? 'ECDH-ES')),
        }),
      });
    const presentation = await citizen.present(held, resolved);
    const stateless = await post({ vp_token: { [queryId]: [presentation] } });
    expect(stateless.status).toBe(400);
    expect(((await stateless.json()) as { error: string }).error).toBe('invalid_request');
    expect((await verdict(bank.apiKey, created.body.id)).status).toBe('pending');
    const bare = await post({ vp_token: { [queryId]: presentation }, state: request.state });
    expect(bare.status).toBe(400);
    expect(((await bare.json()) as { error_description: string }).error_description).toBe(
      `vp_token: the presentations of each credential query must be an array (${queryId})`,
    );
    expect((await verdict(bank.apiKey, created.body.id)).status).toBe('pending');
    expect((await post({ vp_token: { [queryId]: [presentation] }, state: request.state })).status).toBe(200);
    expect((await verdict(bank.apiKey, created.body.id)).status).toBe('verified');
  });

  it("sends a same-device verdict's webhook without the result: it is released only with the response_code", async () => {
    const held = await receive(agencyApiKey);
    const created = await app.call('POST', '/rp/requests', {
      token: bank.apiKey,
      body: { dcql_query: dcql(['categories']), redirect_uri: 'https://bank.example/back' },
    });
    expect(created.status).toBe(201);
    const answered = await answer(created.body.link, held);
    expect(answered.status).toBe(200);
    const pushed = await eventually(async () => webhookCalls.find((call) => call.id === created.body.id));
    expect(pushed).toEqual({ id: created.body.id, status: 'verified', responseCodeRequired: true });
    // With the code the wallet sent the browser back with, the party's back-end reads it.
    const code = new URL(answered.body['redirect_uri'] as string).searchParams.get('response_code');
    const released = (await app.call('GET', `/rp/requests/${created.body.id}?response_code=${code}`, { token: bank.apiKey }))
      .body;
    expect(released.result.credentials[0].claims).toEqual({ categories: ['C1', 'C2'] });

    // A return address with a fragment would hide the response_code from the party's server: refused.
    const fragment = await app.call('POST', '/rp/requests', {
      token: bank.apiKey,
      body: { dcql_query: dcql(['categories']), redirect_uri: 'https://bank.example/back#done' },
    });
    expect(fragment.status).toBe(400);
    expect(fragment.body.violations[0]).toMatchObject({ path: 'redirect_uri', message: 'must not carry a fragment' });
  });

  it('supports the redirect_uri client id prefix with a plain direct_post response', async () => {
    const held = await receive(agencyApiKey);
    const created = await createRequest(police.apiKey, ['family_name', 'categories'], 'direct_post');
    expect(created.body.link).toContain('client_id=redirect_uri%3A');
    expect(created.body.link).toContain('dcql_query=');
    const answered = await answer(created.body.link, held);
    expect(answered.status).toBe(200);
    const result = await verdict(police.apiKey, created.body.id);
    expect(result.status).toBe('verified');
    expect(result.result.credentials[0].claims).toEqual({ family_name: '李', categories: ['C1', 'C2'] });

    // Such a link carries the whole request: one too long for a QR code is the party's 400, and nothing is stored.
    const db = app.app.get(Database);
    const stored = () => db.use(undefined, (m) => m.query('SELECT COUNT(*) AS n FROM presentation_requests'));
    const before = await stored();
    const one = dcql(['family_name', 'categories']) as { credentials: { id: string }[] };
    const many = { credentials: Array.from({ length: 10 }, (_, i) => ({ ...one.credentials[0]!, id: `licence_${i}` })) };
    const tooLong = await app.call('POST', '/rp/requests', { token: police.apiKey, body: { dcql_query: many } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.detail).toMatch(/too long for a QR code/);
    expect(await stored()).toEqual(before);
  });

  it('supports the x509_san_dns client id prefix with a certificate naming the host', async () => {
    expect(registry.clientId).toBe('x509_san_dns:localhost');
    const held = await receive(agencyApiKey);
    const created = await createRequest(registry.apiKey, ['licence_number']);
    expect(created.status).toBe(201);
    const answered = await answer(created.body.link, held);
    expect(answered.status).toBe(200);
    const result = await verdict(registry.apiKey, created.body.id);
    expect(result.status).toBe('verified');
    expect(result.result.credentials[0].claims).toEqual({ licence_number: '310101199203081234' });

    // A wallet that does not trust the certificate refuses the request.
    const stranger = wallet();
    const another = await createRequest(registry.apiKey, ['licence_number']);
    const parsed = stranger.vp.parseOpenid4vpAuthorizationRequest({ authorizationRequest: another.body.link });
    await expect(
      stranger.vp.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params as never }),
    ).rejects.toThrow();

    // The request object (OID4VP 1.0 §5, §5.8): a JAR typed oauth-authz-req+jwt whose audience, with no wallet
    // metadata known beforehand (static discovery), is https://self-issued.me/v2.
    const fetched = await fetch(new URL(another.body.link).searchParams.get('request_uri')!);
    expect(fetched.headers.get('content-type')).toContain('application/oauth-authz-req+jwt');
    const requestObject = await fetched.text();
    expect(decodeProtectedHeader(requestObject).typ).toBe('oauth-authz-req+jwt');
    expect(decodeJwt(requestObject)).toMatchObject({
      iss: registry.clientId,
      aud: 'https://self-issued.me/v2',
      client_id: registry.clientId,
    });
  });

  it('supports the x509_hash client id prefix: the SHA-256 of the certificate the request object carries', async () => {
    const der = Buffer.from(archive.certificate, 'base64');
    expect(archive.clientId).toBe(`x509_hash:${createHash('sha256').update(der).digest('base64url')}`);
    expect(new X509Certificate(der).subjectAltName).toBe('DNS:localhost');
    const held = await receive(agencyApiKey);
    const created = await createRequest(archive.apiKey, ['licence_number'], 'direct_post');
    expect(created.status).toBe(201);
    // The @openid4vc wallet recomputes the hash of the x5c leaf and compares it with the client_id.
    const answered = await answer(created.body.link, held);
    expect(answered.status).toBe(200);
    expect(answered.request.client_id).toBe(archive.clientId);
    const result = await verdict(archive.apiKey, created.body.id);
    expect(result.status).toBe('verified');
    expect(result.result.credentials[0].claims).toEqual({ licence_number: '310101199203081234' });

    // The request object carries the very certificate the client_id hashes (a new request: the first one's
    // request_uri was used by the wallet).
    const another = await createRequest(archive.apiKey, ['licence_number'], 'direct_post');
    const requestObject = await (await fetch(new URL(another.body.link).searchParams.get('request_uri')!)).text();
    expect(decodeProtectedHeader(requestObject).x5c).toEqual([archive.certificate]);
    expect(decodeJwt(requestObject)).toMatchObject({ iss: archive.clientId, client_id: archive.clientId });
  });

  it('refuses a request for claims beyond the relying party registration', async () => {
    const refused = await createRequest(bank.apiKey, ['categories', 'licence_number', 'birth_date']);
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.violations.map((violation: { path: string }) => violation.path)).toEqual([
      'licence.licence_number',
      'licence.birth_date',
    ]);
    const noClaims = await app.call('POST', '/rp/requests', {
      token: bank.apiKey,
      body: {
        dcql_query: {
          credentials: [
            { id: 'x', format: 'dc+sd-jwt', meta: { vct_values: [`${app.config.http.publicUrl}/vct/driving-licence`] } },
          ],
        },
      },
    });
    expect(noClaims.status).toBe(400);
    expect(noClaims.body.violations[0].message).toContain('name the claims');
  });

  it('takes an empty vp_token for a query whose credential sets are all optional (§6.4.2, §8.1), and refuses it otherwise', async () => {
    const optional = { ...dcql(['categories']), credential_sets: [{ options: [['licence']], required: false }] };
    const created = await app.call('POST', '/rp/requests', {
      token: bank.apiKey,
      body: { dcql_query: optional, response_mode: 'direct_post' },
    });
    expect(created.status).toBe(201);
    // The citizen's wallet holds nothing that matches: it answers with no entry for the optional query.
    const resolved = await citizen.resolveRequest(created.body.link);
    const submitted = await citizen.submit(resolved, {});
    expect(submitted.status).toBe(200);
    expect(await verdict(bank.apiKey, created.body.id)).toMatchObject({ status: 'verified', result: { credentials: [] } });

    const required = await createRequest(bank.apiKey, ['categories'], 'direct_post');
    await citizen.submit(await citizen.resolveRequest(required.body.link), {});
    expect(await verdict(bank.apiKey, required.body.id)).toMatchObject({
      status: 'rejected',
      result: { reason: 'vp_token holds no presentation' },
    });
  });

  it('accepts a key binding as old as the request it answers (a citizen slow at the consent screen), none older', async () => {
    const { PresentationRequestEntity } = await import('../src/verifier/index.js');
    const held = await receive(agencyApiKey);
    const now = Math.floor(Date.now() / 1000);
    const aged = async (kbIat: number) => {
      const created = await createRequest(bank.apiKey, ['categories']);
      // The QR code was shown 200 s ago (the request stays valid for 300 s).
      await app.app
        .get(Database)
        .use(undefined, (m) =>
          m
            .getRepository(PresentationRequestEntity)
            .update({ id: created.body.id }, { createdAt: new Date(Date.now() - 200_000) }),
        );
      const resolved = await citizen.resolveRequest(created.body.link);
      const presentation = await citizen.present(held, resolved, undefined, kbIat);
      const submitted = await citizen.submit(resolved, { [resolved.query.credentials[0]!.id]: [presentation] });
      expect(submitted.status).toBe(200);
      return verdict(bank.apiKey, created.body.id);
    };
    // Signed 150 s ago, after the request was made: beyond HOLDER_PROOF_MAX_AGE_SECONDS (60), within the request's age.
    expect((await aged(now - 150)).status).toBe('verified');
    // Signed before the request existed (beyond its age and the clock skew): too old.
    const early = await aged(now - 400);
    expect(early.status).toBe('rejected');
    expect(early.result.reason).toBe('licence: holder_binding: the key-binding JWT is too old');
  });

  it('rejects a wrong nonce, a revoked credential and a credential from an unauthorised agency with precise reasons', async () => {
    // Wrong nonce in the key binding.
    const held = await receive(agencyApiKey);
    const wrongNonce = await createRequest(bank.apiKey, ['categories']);
    await answer(wrongNonce.body.link, held, { nonce: 'not-the-nonce' });
    const nonceVerdict = await verdict(bank.apiKey, wrongNonce.body.id);
    expect(nonceVerdict.status).toBe('rejected');
    expect(nonceVerdict.result.reason).toBe('licence: holder_binding: the key-binding JWT nonce does not match');

    // Revoked by the agency; the verifier reads the status list.
    const revokedHeld = await receive(agencyApiKey);
    const payload = JSON.parse(Buffer.from(revokedHeld.credential.split('.')[1]!, 'base64url').toString()) as {
      status: { status_list: { idx: number; uri: string } };
    };
    const listId = new URL(payload.status.status_list.uri).pathname.split('/')[2]!;
    const { StatusService } = await import('../src/status/index.js');
    const status = app.app.get(StatusService);
    const { Database } = await import('../src/persistence/index.js');
    const { StatusEntryEntity } = await import('../src/status/index.js');
    const entry = await app.app
      .get(Database)
      .use(undefined, (m) => m.getRepository(StatusEntryEntity).findOneBy({ listId, idx: payload.status.status_list.idx }));
    const revoked = await app.call('POST', `/credentials/${entry!.credentialId}/status`, {
      token: agencyApiKey,
      body: { action: 'revoke', reason: 'stolen' },
    });
    expect(revoked.body.revoked).toBe(true);
    await status.publishPending();
    await eventually(async () => {
      const served = await app.call('GET', new URL(payload.status.status_list.uri).pathname);
      const { getListFromStatusListJWT } = await import('@sd-jwt/jwt-status-list');
      return getListFromStatusListJWT(served.body as string).getStatus(payload.status.status_list.idx) === 1 ? true : undefined;
    });
    const revokedRequest = await createRequest(bank.apiKey, ['categories']);
    await answer(revokedRequest.body.link, revokedHeld);
    const revokedVerdict = await verdict(bank.apiKey, revokedRequest.body.id);
    expect(revokedVerdict.status).toBe('rejected');
    expect(revokedVerdict.result.reason).toBe('licence: status: the credential is revoked');

    // An agency whose authorisation for driving licences was withdrawn.
    const rogueHeld = await receive(rogueApiKey);
    await app.operator('DELETE', `/operator/agencies/${rogueAgencyId}/authorisations/driving-licence`);
    const rogueVerdict = await eventually(async () => {
      const again = await createRequest(bank.apiKey, ['categories']);
      await answer(again.body.link, rogueHeld);
      const body = await verdict(bank.apiKey, again.body.id);
      return body.status === 'rejected' ? body : undefined;
    });
    expect(rogueVerdict.result.reason).toMatch(
      /^licence: issuer_authorised: did:ethr:govchain:0x[0-9a-fA-F]{40} is not authorised to issue driving-licence$/,
    );

    // OID4VP 1.0 §8.6: where the query allows several credentials, the unauthorised one is discarded and the
    // response verified on the other; nothing the discarded one claims reaches the relying party.
    const goodHeld = await receive(agencyApiKey);
    const several = await app.call('POST', '/rp/requests', {
      token: bank.apiKey,
      body: {
        dcql_query: { credentials: [{ ...dcql(['categories']).credentials[0]!, multiple: true }] },
        response_mode: 'direct_post',
      },
    });
    expect(several.status).toBe(201);
    const resolved = await citizen.resolveRequest(several.body.link);
    const presentations = [await citizen.present(rogueHeld, resolved), await citizen.present(goodHeld, resolved)];
    expect((await citizen.submit(resolved, { licence: presentations })).status).toBe(200);
    const mixed = await verdict(bank.apiKey, several.body.id);
    expect(mixed.status).toBe('verified');
    expect(mixed.result.discarded).toEqual([expect.stringMatching(/^licence: issuer_authorised: /)]);
    expect(mixed.result.credentials).toEqual([
      { queryId: 'licence', checks: expect.any(Array), discarded: true },
      expect.objectContaining({ queryId: 'licence', type: 'driving-licence', claims: { categories: ['C1', 'C2'] } }),
    ]);

    // OID4VP 1.0 §14.1.2: a presentation for another nonce (a replay slipped in beside a good one) is not discarded
    // like the unauthorised one above: the whole response is refused.
    const replayRequest = await app.call('POST', '/rp/requests', {
      token: bank.apiKey,
      body: {
        dcql_query: { credentials: [{ ...dcql(['categories']).credentials[0]!, multiple: true }] },
        response_mode: 'direct_post',
      },
    });
    const replayResolved = await citizen.resolveRequest(replayRequest.body.link);
    const replayed = [
      await citizen.present(goodHeld, replayResolved),
      await citizen.present(goodHeld, replayResolved, 'the-nonce-of-another-request'),
    ];
    expect((await citizen.submit(replayResolved, { licence: replayed })).status).toBe(200);
    const refused = await verdict(bank.apiKey, replayRequest.body.id);
    expect(refused.status).toBe('rejected');
    expect(refused.result).toEqual({
      verified: false,
      reason: 'licence: holder_binding: the key-binding JWT nonce does not match',
      // Refused before anything was verified: no presentation is named.
      credentials: [],
    });
  });

  it('verifies a jwt_vc_json presentation asked for by W3C type: the wallet is asked with the expanded IRIs (B.1.1)', async () => {
    const holder = await generateKeyPair('ES256', { extractable: true });
    const { x, y } = await exportJWK(holder.publicKey);
    const didJwk = `did:jwk:${Buffer.from(JSON.stringify({ crv: 'P-256', kty: 'EC', x, y })).toString('base64url')}`;
    const issued = await app.call('POST', '/credentials/issue', {
      token: agencyApiKey,
      body: {
        credential: { type: ['VerifiableCredential', 'DrivingLicenceCredential'], credentialSubject: DRIVING_LICENCE_CLAIMS },
        options: { format: 'jwt_vc_json', dataModel: '1.1', holderJwk: { kty: 'EC', crv: 'P-256', x, y } },
      },
    });
    expect(issued.status).toBe(201);
    // The party names the type short, as most do.
    const created = await app.call('POST', '/rp/requests', {
      token: bank.apiKey,
      body: {
        dcql_query: {
          credentials: [
            {
              id: 'licence',
              format: 'jwt_vc_json',
              meta: { type_values: [['VerifiableCredential', 'DrivingLicenceCredential']] },
              claims: [{ path: ['categories'] }],
            },
          ],
        },
        response_mode: 'direct_post',
      },
    });
    expect(created.status).toBe(201);
    const resolved = await citizen.resolveRequest(created.body.link);
    expect((resolved.query.credentials[0] as unknown as { meta: { type_values: string[][] } }).meta.type_values).toContainEqual([
      'https://www.w3.org/2018/credentials#VerifiableCredential',
      'https://www.w3.org/ns/credentials/issuer-dependent#DrivingLicenceCredential',
    ]);
    const presentation = await new SignJWT({
      nonce: resolved.request.nonce,
      vp: {
        '@context': ['https://www.w3.org/2018/credentials/v1'],
        type: ['VerifiablePresentation'],
        verifiableCredential: [issued.body.credential as string],
      },
    })
      .setProtectedHeader({ alg: 'ES256', kid: `${didJwk}#0`, typ: 'JWT' })
      .setIssuer(didJwk)
      .setAudience(resolved.request.client_id)
      .setIssuedAt()
      .sign(holder.privateKey);
    expect((await citizen.submit(resolved, { licence: [presentation] })).status).toBe(200);
    const result = await verdict(bank.apiKey, created.body.id);
    expect(result.status).toBe('verified');
    expect(result.result.credentials).toEqual([
      expect.objectContaining({
        queryId: 'licence',
        type: 'driving-licence',
        claims: { categories: DRIVING_LICENCE_CLAIMS.categories },
      }),
    ]);
  });
});
