import { generateKeyPairSync, randomBytes, sign as nodeSign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { eventLoopLoad, projectRoot } from '../common/index.js';
import { Catalogue } from './catalogue.js';
import { didJwk } from './did-jwk.js';
import { b64url, b64urlJson, isHighS, sha256b64url, signJws } from './jws.js';
import { jwtVcPayload } from './jwt-vc.js';
import {
  verifyCredential,
  VerifierDependencyUnavailable,
  type Check,
  type VerificationResult,
  type VerifierContext,
} from './verify.js';
import { verifyPresentation } from './verify-presentation.js';
import { DRIVING_LICENCE_CLAIMS } from '../../test/fixtures/claims.js';
import { threadpoolSignatureJobs } from '../../test/support/threadpool-jobs.js';

const catalogue = Catalogue.load(join(projectRoot(), 'catalogue'), 'https://issuer.example');
const VCT = 'https://issuer.example/vct/driving-licence';
const CLAIMS = DRIVING_LICENCE_CLAIMS;
const NOW = 1_800_000_000;
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const ISSUER = 'did:ethr:govchain:0x00000000000000000000000000000000000000a1';
const KID = `${ISSUER}#delegate-1`;
const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const holderKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const holderJwk = holderKey.publicKey.export({ format: 'jwk' });
const holderDid = didJwk(holderJwk);

/** Stands for `[[[…"bottom"…]]]` nested 10,000 levels deep (JSON.stringify itself overflows on such values). */
const DEEP = '__DEEP__';
const DEEP_TEXT = `${'['.repeat(10_000)}"bottom"${']'.repeat(10_000)}`;
/** base64url JSON with every DEEP marker replaced by the deep array text. */
const encode = (value: unknown) => b64url(JSON.stringify(value).replaceAll(`"${DEEP}"`, DEEP_TEXT));

const toHex = (value: bigint) => value.toString(16).padStart(64, '0');
/** r || s with s forced into the lower (canonical) or upper half of the group order. */
function withS(signature: Buffer, high: boolean): Buffer {
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  const wanted = high === s > P256_N / 2n ? s : P256_N - s;
  return Buffer.concat([signature.subarray(0, 32), Buffer.from(toHex(wanted), 'hex')]);
}
const signer =
  (key: KeyObject, high = false) =>
  async (input: Uint8Array) =>
    withS(nodeSign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }), high);
const issuerSigner = signer(issuerKey.privateKey);

/** A hand-built compact JWS: header and payload as raw JSON text (to repeat members), signed low-S. */
async function rawJws(headerText: string, payload: Record<string, unknown>, key: KeyObject, high = false): Promise<string> {
  const input = `${b64url(headerText)}.${encode(payload)}`;
  return `${input}.${b64url(await signer(key, high)(Buffer.from(input)))}`;
}

interface Calls {
  resolve: number;
  authorised: number;
  status: number;
}

function context(overrides: Partial<VerifierContext> = {}): VerifierContext & { calls: Calls } {
  const calls: Calls = { resolve: 0, authorised: 0, status: 0 };
  return {
    calls,
    catalogue,
    resolveIssuerKey: async (kid, issuer) => {
      calls.resolve += 1;
      return kid === KID && issuer === ISSUER
        ? { jwk: issuerKey.publicKey.export({ format: 'jwk' }) }
        : { reason: `kid ${kid} is not an assertion method of ${issuer}` };
    },
    isAuthorised: async () => {
      calls.authorised += 1;
      return true;
    },
    checkStatus: async () => {
      calls.status += 1;
      return { passed: true, state: 'valid' };
    },
    nowSeconds: () => NOW,
    clockSkewSeconds: 0,
    ...overrides,
  };
}

const failed = (result: { checks: Check[] }) => result.checks.filter((check) => !check.passed);

/** An SD-JWT VC as we issue it (issueSdJwt's layout), built here so that values may be DEEP. */
async function sdJwtVc(
  options: { payload?: Record<string, unknown>; disclosable?: Record<string, unknown>; header?: Record<string, unknown> } = {},
) {
  const disclosures = Object.entries(options.disclosable ?? CLAIMS).map(([name, value]) =>
    encode([b64url(randomBytes(16)), name, value]),
  );
  const payload = {
    iss: ISSUER,
    vct: VCT,
    iat: NOW - 10,
    exp: NOW + 3600,
    cnf: { jwk: holderJwk },
    ...options.payload,
    _sd: [...disclosures.map(sha256b64url), sha256b64url('decoy')].sort(),
    _sd_alg: 'sha-256',
  };
  const jws = await rawJws(
    JSON.stringify({ alg: 'ES256', typ: 'dc+sd-jwt', kid: KID, ...options.header }),
    payload,
    issuerKey.privateKey,
  );
  return `${jws}~${disclosures.map((d) => `${d}~`).join('')}`;
}

async function jwtVc(model: '2.0' | '1.1', edit: (payload: Record<string, unknown>) => void = () => {}, subjectId = holderDid) {
  const { header, payload } = jwtVcPayload(model, {
    id: 'urn:uuid:1',
    issuer: ISSUER,
    vcType: 'DrivingLicenceCredential',
    validFrom: new Date((NOW - 10) * 1000),
    validUntil: new Date((NOW + 3600) * 1000),
    subjectId,
    claims: CLAIMS,
  });
  edit(payload);
  return rawJws(JSON.stringify({ alg: 'ES256', kid: KID, ...header }), payload, issuerKey.privateKey);
}

async function keyBinding(
  sdJwt: string,
  options: {
    iat?: number;
    headerText?: string;
    high?: boolean;
    nonce?: string;
    aud?: unknown;
    extra?: Record<string, unknown>;
  } = {},
): Promise<string> {
  const payload = {
    iat: options.iat ?? NOW,
    aud: options.aud ?? 'https://rp.example',
    nonce: options.nonce ?? 'n-1',
    sd_hash: sha256b64url(sdJwt),
    ...options.extra,
  };
  return (
    sdJwt + (await rawJws(options.headerText ?? '{"alg":"ES256","typ":"kb+jwt"}', payload, holderKey.privateKey, options.high))
  );
}
const EXPECT = { audience: 'https://rp.example', nonce: 'n-1' };

async function jwtVp(
  credentials: string[],
  options: { typ?: string | null; key?: KeyObject; did?: string; iat?: number | null; nbf?: number; nonce?: string } = {},
) {
  const did = options.did ?? holderDid;
  const payload = {
    iss: did,
    aud: 'https://rp.example',
    nonce: options.nonce ?? 'n-1',
    ...(options.iat === null ? {} : { iat: options.iat ?? NOW }),
    ...(options.nbf !== undefined ? { nbf: options.nbf } : {}),
    vp: { type: ['VerifiablePresentation'], verifiableCredential: credentials },
  };
  return rawJws(
    JSON.stringify({ alg: 'ES256', ...(options.typ === null ? {} : { typ: options.typ ?? 'vp+jwt' }), kid: `${did}#0` }),
    payload,
    options.key ?? holderKey.privateKey,
  );
}

describe('verifyCredential and verifyPresentation (in-memory context)', () => {
  it('verifies an SD-JWT VC with key binding and JWT VCs in both data models', async () => {
    const ctx = context();
    const sd = await verifyPresentation(await keyBinding(await sdJwtVc()), EXPECT, ctx);
    expect(failed(sd)).toEqual([]);
    expect(sd.credentials[0]!.credential!.holder).toEqual({ jwk: { kty: 'EC', crv: 'P-256', x: holderJwk.x, y: holderJwk.y } });
    for (const model of ['2.0', '1.1'] as const) {
      const result = await verifyCredential(await jwtVc(model), ctx);
      expect(failed(result)).toEqual([]);
      expect(result.credential!.dataModel).toBe(model);
    }
    const vp = await verifyPresentation(await jwtVp([await jwtVc('2.0'), await jwtVc('1.1')]), EXPECT, ctx);
    expect(vp.verified).toBe(true);
  });

  it('checks a VCDM 1.1 JWT by the 1.1 rules, decoded as §6.3.1 says (the registered claims win over the vc claim)', async () => {
    const ctx = context();
    const good = await verifyCredential(await jwtVc('1.1'), ctx);
    expect(good.checks).toContainEqual({ check: 'data_model', passed: true, reason: 'VCDM 1.1' });
    const vcOf = (payload: Record<string, unknown>) => payload['vc'] as Record<string, unknown>;
    const failures = async (edit: (payload: Record<string, unknown>) => void) =>
      failed(await verifyCredential(await jwtVc('1.1', edit), ctx)).map((check) => `${check.check}: ${check.reason}`);
    // What wallets and libraries send and verified before: placeholders in vc, a bare-UUID jti, the subject id only
    // in sub, no nbf nor iat (did-jwt-vc without nbf).
    expect(
      await failures((p) => {
        vcOf(p)['issuer'] = '';
        vcOf(p)['issuanceDate'] = '';
        p['jti'] = '6f1a5c1e-5b7a-4d55-9f38-2b1f3f0f0a11';
      }),
    ).toEqual([]);
    // (its claims are gone, so the catalogue schema fails; the data model does not)
    expect(await failures((p) => (vcOf(p)['credentialSubject'] = {}))).toEqual([expect.stringMatching(/^schema: /)]);
    expect(
      await failures((p) => {
        delete p['nbf'];
        delete p['iat'];
      }),
    ).toEqual([]);
    // What the 1.1 rules refuse: a bad date no claim stands for, a status entry without its id.
    expect(
      await failures((p) => {
        delete p['nbf'];
        delete p['iat'];
        vcOf(p)['issuanceDate'] = 'today';
      }),
    ).toEqual([expect.stringMatching(/^data_model: .*issuanceDate/)]);
    expect(await failures((p) => (vcOf(p)['credentialStatus'] = { type: 'BitstringStatusListEntry' }))).toEqual([
      expect.stringMatching(/^data_model: .*credentialStatus/),
    ]);
    // A subject id in sub that is no URL (it verified before) is not put in the document.
    expect(await failures((p) => (p['sub'] = 'user-123'))).toEqual([]);
    // Without exp, the vc claim's expirationDate is the expiry (it was validated, so it must be honoured).
    expect(
      await failures((p) => {
        delete p['exp'];
        vcOf(p)['expirationDate'] = new Date((NOW - 5) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      }),
    ).toEqual([expect.stringMatching(/^validity: expired/)]);
    // A date past what Date can hold is not valid yet, not a crash.
    expect(await failures((p) => (p['nbf'] = 1e15))).toEqual([expect.stringMatching(/^validity: /)]);
  });

  it('refuses an SD-JWT VC whose status, expiry or other protected claim is a disclosure (the holder could withhold it)', async () => {
    const ctx = context();
    // (An iss that is not in the clear is refused before, as no key can be found: issuer_key.)
    for (const name of ['status', 'exp', 'cnf', 'vct', 'nbf']) {
      const credential = await sdJwtVc({
        payload: { [name]: undefined }, // not also in the clear (that is refused as a collision)
        disclosable: { ...CLAIMS, [name]: name === 'exp' || name === 'nbf' ? NOW : 'x' },
      });
      const refused = failed(await verifyCredential(credential, ctx));
      expect({ name, checks: refused.map((check) => check.check) }).toEqual({ name, checks: ['disclosures'] });
      expect(refused[0]!.reason).toContain(`${name} may not be selectively disclosed`);
    }
    // Nested deeper, the same names are ordinary claims (this nesting is against the type's schema, not the rule).
    const nested = failed(
      await verifyCredential(await sdJwtVc({ disclosable: { ...CLAIMS, address: { status: 'current' } } }), ctx),
    );
    expect(nested.map((check) => check.check)).toEqual(['schema']);
  });

  it('verifies and refuses alike with signature checks on the threadpool (ADR 28)', async () => {
    const ctx = context({ signatureChecks: 'threadpool' });
    const presented = await keyBinding(await sdJwtVc());
    expect(failed(await verifyPresentation(presented, EXPECT, ctx))).toEqual([]);
    const kbSignature = presented.slice(presented.lastIndexOf('.') + 1);
    const otherKb = `${presented.slice(0, presented.lastIndexOf('.') + 1)}${kbSignature[0] === 'A' ? 'B' : 'A'}${kbSignature.slice(1)}`;
    expect(failed(await verifyPresentation(otherKb, EXPECT, ctx))).toEqual([
      expect.objectContaining({ check: 'holder_binding', reason: 'key-binding signature: the signature does not match' }),
    ]);
    const vc = await jwtVc('2.0');
    expect((await verifyPresentation(await jwtVp([vc, await jwtVc('1.1')]), EXPECT, ctx)).verified).toBe(true);
    const [h, p, s] = vc.split('.') as [string, string, string];
    const tampered = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    expect(failed(await verifyCredential(tampered, ctx))).toEqual([
      { check: 'signature', passed: false, reason: 'the signature does not match' },
    ]);
    expect(failed(await verifyCredential(`${h}.${p}.${b64url(withS(Buffer.from(s, 'base64url'), true))}`, ctx))).toEqual([
      { check: 'signature', passed: false, reason: 'the signature is not in canonical low-S form' },
    ]);
    // A presentation signed by another key than its holder's.
    const forged = await jwtVp([vc], { key: issuerKey.privateKey });
    expect(failed(await verifyPresentation(forged, EXPECT, ctx))).toEqual([
      expect.objectContaining({ check: 'holder_binding', reason: 'the signature does not match' }),
    ]);
  });

  it('checks signatures where the context says: credential, JWT VP and key-binding signatures on the threadpool', async () => {
    const onThreadpool = threadpoolSignatureJobs();
    const counted = async (run: () => Promise<{ verified: boolean }>) => {
      onThreadpool.reset();
      expect((await run()).verified).toBe(true);
      return onThreadpool.count;
    };
    try {
      const sdJwtWithKb = await keyBinding(await sdJwtVc());
      const vp = await jwtVp([await jwtVc('2.0'), await jwtVc('1.1')]);
      // The credential's and the KB-JWT's; the VP's and each credential's.
      expect(await counted(() => verifyPresentation(sdJwtWithKb, EXPECT, context({ signatureChecks: 'threadpool' })))).toBe(2);
      expect(await counted(() => verifyPresentation(vp, EXPECT, context({ signatureChecks: 'threadpool' })))).toBe(3);
      expect(await counted(() => verifyPresentation(sdJwtWithKb, EXPECT, context()))).toBe(0);
      expect(await counted(() => verifyPresentation(vp, EXPECT, context({ signatureChecks: 'inline' })))).toBe(0);
      // While the event loop has time to spare, 'threadpool-when-busy' checks inline. The load signal is held (a
      // loaded test machine can starve this worker enough to read as saturated), not the work.
      const saturated = jest.spyOn(eventLoopLoad, 'isSaturated').mockReturnValue(false);
      try {
        expect(await counted(() => verifyPresentation(vp, EXPECT, context({ signatureChecks: 'threadpool-when-busy' })))).toBe(0);
        expect(saturated).toHaveBeenCalled();
      } finally {
        saturated.mockRestore();
      }
    } finally {
      onThreadpool.stop();
    }
  });

  describe('bounds (issue 10 item 4)', () => {
    const onlyFailure = (result: VerificationResult) => failed(result).map((check) => check.check);

    it('answers a validly signed payload nested 10,000 levels deep with a reason, before resolving any key', async () => {
      const ctx = context();
      const nested = await jwtVc('2.0', (payload) => {
        (payload['credentialSubject'] as Record<string, unknown>)['address'] = DEEP;
      });
      const result = await verifyCredential(nested, ctx);
      expect(onlyFailure(result)).toEqual(['format']);
      expect(ctx.calls.resolve).toBe(0);

      const sdNested = await sdJwtVc({ payload: { extra: DEEP } });
      expect(onlyFailure(await verifyCredential(sdNested, ctx))).toEqual(['format']);
      expect(ctx.calls).toEqual({ resolve: 0, authorised: 0, status: 0 });
    });

    it('bounds a deep disclosure and a chain of nested disclosures before walking them', async () => {
      const ctx = context();
      const deepDisclosure = await sdJwtVc({ disclosable: { ...CLAIMS, address: DEEP } });
      expect(onlyFailure(await verifyCredential(deepDisclosure, ctx))).toEqual(['disclosures']);

      // Each disclosure is shallow (one array), but each one's value references the previous one.
      const disclosures: string[] = [];
      let reference: unknown = 'bottom';
      for (let i = 0; i < 100; i += 1) {
        const disclosure = b64urlJson([b64url(Buffer.alloc(16, i)), [reference]]);
        disclosures.push(disclosure);
        reference = { '...': sha256b64url(disclosure) };
      }
      const jws = await signJws(
        { alg: 'ES256', typ: 'dc+sd-jwt', kid: KID },
        { iss: ISSUER, vct: VCT, iat: NOW, exp: NOW + 60, chain: [reference], _sd_alg: 'sha-256' },
        issuerSigner,
      );
      const result = await verifyCredential(`${jws}~${disclosures.join('~')}~`, ctx);
      expect(failed(result)).toEqual([
        expect.objectContaining({ check: 'disclosures', reason: expect.stringContaining('nested deeper') }),
      ]);
    });

    it('bounds deep KB-JWT and JWT VP payloads, token length and credentials per presentation', async () => {
      const ctx = context();
      const sd = await sdJwtVc();
      const kbPayload = { iat: NOW, aud: 'https://rp.example', nonce: 'n-1', sd_hash: sha256b64url(sd), x: DEEP };
      const deepKb = sd + (await rawJws('{"alg":"ES256","typ":"kb+jwt"}', kbPayload, holderKey.privateKey));
      const kbResult = await verifyPresentation(deepKb, EXPECT, ctx);
      expect(failed(kbResult)).toEqual([expect.objectContaining({ check: 'holder_binding' })]);

      const vpPayload = { iss: holderDid, vp: { verifiableCredential: ['x'] }, deep: DEEP };
      const deepVp = await rawJws(JSON.stringify({ alg: 'ES256', typ: 'vp+jwt' }), vpPayload, holderKey.privateKey);
      expect(failed(await verifyPresentation(deepVp, EXPECT, ctx)).map((c) => c.check)).toEqual(['format']);

      expect(failed(await verifyCredential('a'.repeat(70_000), ctx)).map((c) => c.check)).toEqual(['format']);
      const eleven = await jwtVp(Array.from({ length: 11 }, () => 'a.b.c'));
      const tooMany = await verifyPresentation(eleven, EXPECT, ctx);
      expect(failed(tooMany)).toEqual([
        expect.objectContaining({ check: 'format', reason: expect.stringContaining('more than 10') }),
      ]);
      const capped = await verifyPresentation(eleven, EXPECT, context({ limits: { maxCredentialsPerPresentation: 20 } }));
      expect(capped.checks[0]).toEqual({ check: 'format', passed: true, reason: 'jwt_vp' });
    });

    it('asks the registry before resolving an issuer, and fetches no status for an unauthorised one', async () => {
      const ctx = context({ isAuthorised: async () => false });
      const result = await verifyCredential(await sdJwtVc(), ctx);
      expect(failed(result)).toEqual([
        { check: 'issuer_authorised', passed: false, reason: `${ISSUER} is not authorised to issue driving-licence` },
      ]);
      expect(ctx.calls.resolve).toBe(0);
      expect(ctx.calls.status).toBe(0);
      const local = context({ issuerProblem: () => 'not on this chain' });
      expect(failed(await verifyCredential(await jwtVc('2.0'), local))).toEqual([
        { check: 'issuer_key', passed: false, reason: 'not on this chain' },
      ]);
      expect(local.calls).toEqual({ resolve: 0, authorised: 0, status: 0 });
    });

    it('limits the distinct issuers one context (request) resolves', async () => {
      const ctx = context({ limits: { maxIssuersPerRequest: 1 } });
      expect((await verifyCredential(await jwtVc('2.0'), ctx)).verified).toBe(true);
      expect((await verifyCredential(await jwtVc('1.1'), ctx)).verified).toBe(true);
      const otherIssuer = 'did:ethr:govchain:0x00000000000000000000000000000000000000b2';
      const foreign = await jwtVc('2.0', (payload) => {
        payload['issuer'] = otherIssuer;
        payload['iss'] = otherIssuer;
      });
      const withOtherKid = foreign.replace(
        /^[^.]+/,
        b64urlJson({ alg: 'ES256', kid: `${otherIssuer}#delegate-1`, typ: 'vc+jwt', cty: 'vc' }),
      );
      expect(failed(await verifyCredential(withOtherKid, ctx))).toEqual([
        { check: 'issuer_key', passed: false, reason: 'more than 1 distinct issuers in one request' },
      ]);
      expect(ctx.calls.resolve).toBe(2);
    });
  });

  describe('unavailable dependencies fail closed (issue 11)', () => {
    it('reports a chain that cannot answer as the failed check, never as an exception', async () => {
      const unavailable = async (): Promise<never> => {
        throw new VerifierDependencyUnavailable('chain_unavailable');
      };
      const keyDown = await verifyCredential(await sdJwtVc(), context({ resolveIssuerKey: unavailable }));
      expect(keyDown.verified).toBe(false);
      expect(failed(keyDown)).toEqual([{ check: 'issuer_key', passed: false, reason: 'chain_unavailable' }]);

      const registryDown = context({ isAuthorised: unavailable });
      expect(failed(await verifyCredential(await jwtVc('2.0'), registryDown))).toEqual([
        { check: 'issuer_authorised', passed: false, reason: 'chain_unavailable' },
      ]);
      expect(registryDown.calls.resolve).toBe(0);

      const statusDown = await verifyCredential(
        await jwtVc('1.1'),
        context({
          checkStatus: async () => {
            throw new Error('ECONNREFUSED');
          },
        }),
      );
      expect(failed(statusDown)).toEqual([{ check: 'status', passed: false, reason: 'unavailable' }]);

      const vp = await verifyPresentation(await jwtVp([await jwtVc('2.0')]), EXPECT, context({ resolveIssuerKey: unavailable }));
      expect(vp.verified).toBe(false);
      expect(failed(vp.credentials[0]!)).toEqual([
        { check: 'issuer_key', passed: false, reason: 'chain_unavailable' },
        expect.objectContaining({ check: 'holder_binding', passed: false }),
      ]);
    });
  });

  describe('JOSE strictness (issue 10 item 8)', () => {
    it('refuses a JWT VC whose type names two catalogue types (its schema and authorisation fit one only)', async () => {
      const twoTypes = await jwtVc('2.0', (payload) => {
        payload['type'] = ['VerifiableCredential', 'DrivingLicenceCredential', 'ResidentIdentityCredential'];
      });
      expect(failed(await verifyCredential(twoTypes, context()))).toEqual([
        { check: 'type', passed: false, reason: 'the credential names more than one catalogue type' },
      ]);
    });

    it('requires vct of an SD-JWT VC, and reads the credentialStatus of an SD-JWT with @context as a JWT VC does', async () => {
      const ctx = context();
      expect(failed(await verifyCredential(await sdJwtVc({ payload: { vct: undefined } }), ctx))).toEqual([
        { check: 'format', passed: false, reason: 'the SD-JWT VC carries no vct' },
      ]);
      const formats: string[] = [];
      const recording = context({
        checkStatus: async (_status, format) => {
          formats.push(format);
          return { passed: true, state: 'valid' };
        },
      });
      const credentialStatus = {
        type: 'BitstringStatusListEntry',
        statusPurpose: 'revocation',
        statusListIndex: '7',
        statusListCredential: 'https://issuer.example/status/1/revocation',
      };
      const vcdm = await sdJwtVc({
        header: { typ: 'vc+sd-jwt' },
        disclosable: {},
        payload: {
          '@context': ['https://www.w3.org/ns/credentials/v2'],
          type: ['VerifiableCredential', 'DrivingLicenceCredential'],
          issuer: ISSUER,
          validFrom: new Date((NOW - 10) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          validUntil: new Date((NOW + 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          credentialSubject: CLAIMS,
          credentialStatus,
        },
      });
      const result = await verifyCredential(vcdm, recording);
      expect(failed(result)).toEqual([]);
      expect(formats).toEqual(['jwt_vc_json']);
      // It carries no vct: none is reported for it (a DCQL query's vct_values must not be met by the catalogue's).
      expect(result.credential?.type).toBe('driving-licence');
      expect(result.credential).not.toHaveProperty('vct');
    });

    it('enforces typ per format: dc+sd-jwt / vc+sd-jwt, vc+jwt without vc or vp claims, JWT with a vc claim, vp+jwt / JWT', async () => {
      const ctx = context();
      expect((await verifyCredential(await sdJwtVc({ header: { typ: 'vc+sd-jwt' } }), ctx)).verified).toBe(true);
      expect(failed(await verifyCredential(await sdJwtVc({ header: { typ: 'JWT' } }), ctx))[0]!.check).toBe('format');

      const withVc = await jwtVc('2.0', (payload) => {
        payload['vc'] = { type: ['VerifiableCredential'] };
      });
      expect(failed(await verifyCredential(withVc, ctx))).toEqual([expect.objectContaining({ check: 'format' })]);
      const withVp = await jwtVc('2.0', (payload) => {
        payload['vp'] = {};
      });
      expect(failed(await verifyCredential(withVp, ctx))).toEqual([expect.objectContaining({ check: 'format' })]);

      const { payload: v2 } = jwtVcPayload('2.0', {
        id: 'urn:uuid:2',
        issuer: ISSUER,
        vcType: 'DrivingLicenceCredential',
        validFrom: new Date((NOW - 10) * 1000),
        validUntil: new Date((NOW + 3600) * 1000),
        subjectId: undefined,
        claims: CLAIMS,
      });
      // A VCDM 2.0 payload under typ JWT (no vc claim) or an unknown typ is not read as a credential.
      for (const typ of ['JWT', 'at+jwt']) {
        const jwt = await signJws({ alg: 'ES256', kid: KID, typ }, v2, issuerSigner);
        expect(failed(await verifyCredential(jwt, ctx))).toEqual([expect.objectContaining({ check: 'format' })]);
      }
      // VCDM 1.1 with typ JWT or without typ is fine.
      const v11 = await jwtVc('1.1');
      const untyped = v11.replace(/^[^.]+/, b64urlJson({ alg: 'ES256', kid: KID }));
      expect(failed(await verifyCredential(untyped, ctx)).map((c) => c.check)).toEqual(['signature']);

      const vcs = [await jwtVc('2.0')];
      expect((await verifyPresentation(await jwtVp(vcs, { typ: 'JWT' }), EXPECT, ctx)).verified).toBe(true);
      // VCDM 1.1's JWT encoding: typ is optional on a presentation too (its vp claim says what it is).
      expect((await verifyPresentation(await jwtVp(vcs, { typ: null }), EXPECT, ctx)).verified).toBe(true);
      expect(failed(await verifyPresentation(await jwtVp(vcs, { typ: 'vc+jwt' }), EXPECT, ctx))).toEqual([
        expect.objectContaining({ check: 'format' }),
      ]);
    });

    it('refuses repeated header members (alg twice in a KB-JWT) and crit', async () => {
      const ctx = context();
      const sd = await sdJwtVc();
      const twice = await keyBinding(sd, { headerText: '{"alg":"none","alg":"ES256","typ":"kb+jwt"}' });
      expect(failed(await verifyPresentation(twice, EXPECT, ctx))).toEqual([
        expect.objectContaining({ check: 'holder_binding', reason: expect.stringContaining('repeats the member "alg"') }),
      ]);
      const critKb = await keyBinding(sd, { headerText: '{"alg":"ES256","typ":"kb+jwt","crit":["b64"],"b64":true}' });
      expect(failed(await verifyPresentation(critKb, EXPECT, ctx))[0]!.check).toBe('holder_binding');
      const critVc = await sdJwtVc({ header: { crit: ['exp'], exp: 1 } });
      expect(failed(await verifyCredential(critVc, ctx))).toEqual([expect.objectContaining({ check: 'format' })]);
    });

    it('refuses high-S issuer signatures but accepts high-S holder signatures', async () => {
      const ctx = context();
      const lowS = await jwtVc('2.0');
      const [h, p, s] = lowS.split('.') as [string, string, string];
      const highS = withS(Buffer.from(s, 'base64url'), true);
      expect(isHighS(highS)).toBe(true);
      expect(failed(await verifyCredential(`${h}.${p}.${b64url(highS)}`, ctx))).toEqual([
        { check: 'signature', passed: false, reason: 'the signature is not in canonical low-S form' },
      ]);
      const highKb = await keyBinding(await sdJwtVc(), { high: true });
      expect(isHighS(Buffer.from(highKb.split('.').at(-1)!, 'base64url'))).toBe(true);
      expect((await verifyPresentation(highKb, EXPECT, ctx)).verified).toBe(true);
    });

    it('allows a KB-JWT and a JWT VP 60 seconds by default, HOLDER_PROOF_MAX_AGE_SECONDS when configured', async () => {
      const sd = await sdJwtVc();
      const aged = await keyBinding(sd, { iat: NOW - 120 });
      expect(failed(await verifyPresentation(aged, EXPECT, context()))).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the key-binding JWT is too old' },
      ]);
      expect((await verifyPresentation(await keyBinding(sd, { iat: NOW - 55 }), EXPECT, context())).verified).toBe(true);
      expect((await verifyPresentation(aged, EXPECT, context({ holderProofMaxAgeSeconds: 300 }))).verified).toBe(true);
      const agedVp = await jwtVp([await jwtVc('2.0')], { iat: NOW - 120 });
      expect(failed(await verifyPresentation(agedVp, EXPECT, context()))).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the presentation iat is not fresh' },
      ]);
      // Dated by nbf alone (VCDM 1.1 §6.3.1): as fresh as its nbf; undated, as fresh as its nonce (OID4VP 1.0 B.1.3.1).
      const vc = await jwtVc('2.0');
      expect(failed(await verifyPresentation(await jwtVp([vc], { iat: null, nbf: NOW - 5 }), EXPECT, context()))).toEqual([]);
      // An iat that is there but no number is refused, whatever nbf says.
      const badIat = await rawJws(
        JSON.stringify({ alg: 'ES256', typ: 'vp+jwt', kid: `${holderDid}#0` }),
        {
          iss: holderDid,
          aud: 'https://rp.example',
          nonce: 'n-1',
          iat: 'now',
          nbf: NOW,
          vp: { type: ['VerifiablePresentation'], verifiableCredential: [vc] },
        },
        holderKey.privateKey,
      );
      expect(failed(await verifyPresentation(badIat, EXPECT, context()))).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the presentation iat is not fresh' },
      ]);
      expect(failed(await verifyPresentation(await jwtVp([vc], { iat: null, nbf: NOW - 120 }), EXPECT, context()))).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the presentation iat is not fresh' },
      ]);
      // Undated: refused for a caller's challenge (it may be reused), as fresh as a single-use nonce of ours (OID4VP).
      const undated = await jwtVp([vc], { iat: null });
      expect(failed(await verifyPresentation(undated, EXPECT, context()))).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the presentation has no iat or nbf' },
      ]);
      const singleUse = { ...EXPECT, nonceSingleUse: true };
      expect(failed(await verifyPresentation(undated, singleUse, context()))).toEqual([]);
      // Its nonce still decides: an undated presentation for another nonce is refused.
      expect(failed(await verifyPresentation(await jwtVp([vc], { iat: null, nonce: 'n-2' }), singleUse, context()))).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the presentation nonce does not match', forAnotherRequest: true },
      ]);
    });

    it('refuses a key-binding JWT past its exp or before its nbf, or with either in another form (RFC 9901 §7.3)', async () => {
      const sd = await sdJwtVc();
      const withClaims = async (extra: Record<string, unknown>) =>
        failed(await verifyPresentation(await keyBinding(sd, { extra }), EXPECT, context()));
      expect(await withClaims({ exp: NOW + 60, nbf: NOW - 1 })).toEqual([]);
      expect(await withClaims({ exp: NOW - 60 })).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the key-binding JWT has expired' },
      ]);
      expect(await withClaims({ exp: String(NOW + 60) })).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the key-binding JWT has expired' },
      ]);
      expect(await withClaims({ nbf: NOW + 600 })).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the key-binding JWT is not valid yet (nbf)' },
      ]);
    });

    it('reads a VCDM 1.1 JWT’s nbf, exp and iat only as NumericDates', async () => {
      const stringExp = await jwtVc('1.1', (payload) => (payload['exp'] = new Date((NOW + 3600) * 1000).toISOString()));
      expect(failed(await verifyCredential(stringExp, context()))).toEqual([
        { check: 'format', passed: false, reason: "the JWT's exp is not a NumericDate" },
      ]);
      const boolExp = await jwtVc('1.1', (payload) => (payload['exp'] = true));
      expect(failed(await verifyCredential(boolExp, context()))).toEqual([
        { check: 'format', passed: false, reason: "the JWT's exp is not a NumericDate" },
      ]);
    });

    it('refuses a JWT VP before its nbf though an iat dates it, and a credential past its JWT exp or with a date in another form', async () => {
      const vc = await jwtVc('2.0');
      expect(failed(await verifyPresentation(await jwtVp([vc], { iat: NOW, nbf: NOW + 600 }), EXPECT, context()))).toEqual([
        { check: 'holder_binding', passed: false, reason: 'the presentation is not valid yet (nbf)' },
      ]);
      // vc+jwt: validUntil is an hour away, the securing JWT's exp a minute ago.
      const lapsed = await jwtVc('2.0', (payload) => (payload['exp'] = NOW - 60));
      expect(failed(await verifyCredential(lapsed, context()))).toEqual([
        expect.objectContaining({ check: 'validity', passed: false, reason: expect.stringMatching(/^expired at /) }),
      ]);
      const stringDate = await sdJwtVc({ payload: { exp: new Date((NOW + 3600) * 1000).toISOString() } });
      expect(failed(await verifyCredential(stringDate, context()))).toEqual([
        { check: 'format', passed: false, reason: "the SD-JWT VC's exp is not a NumericDate" },
      ]);
    });

    it('takes a KB-JWT audience as a string or alone in an array (RFC 7519), and refuses any other audience', async () => {
      const sd = await sdJwtVc();
      for (const aud of ['https://rp.example', ['https://rp.example']])
        expect(failed(await verifyPresentation(await keyBinding(sd, { aud }), EXPECT, context()))).toEqual([]);
      // Addressed to another verifier as well: not ours alone (OID4VP 1.0 B.3.6, the aud is the client identifier).
      for (const aud of [
        'https://other.example',
        ['https://other.example'],
        [],
        7,
        ['https://other.example', 'https://rp.example'],
      ])
        expect(failed(await verifyPresentation(await keyBinding(sd, { aud }), EXPECT, context()))).toEqual([
          expect.objectContaining({
            check: 'holder_binding',
            reason: expect.stringMatching(/^the key-binding JWT is for audience /),
          }),
        ]);
    });
  });

  describe('holder keys (issue 10 items 1/2)', () => {
    const privateJwk = holderKey.privateKey.export({ format: 'jwk' }) as JsonWebKey;
    const ed = generateKeyPairSync('ed25519');
    const edJwk = ed.publicKey.export({ format: 'jwk' });

    it('fails holder_binding for a cnf.jwk with private members or a curve we do not advertise', async () => {
      const ctx = context();
      for (const jwk of [privateJwk, edJwk, { ...holderJwk, k: 'AAAA' }]) {
        const sd = await sdJwtVc({ payload: { cnf: { jwk } } });
        const plain = await verifyCredential(sd, ctx);
        expect(failed(plain)).toEqual([expect.objectContaining({ check: 'holder_binding', passed: false })]);
        expect(plain.credential?.holder).toBeUndefined();
        expect(failed(await verifyPresentation(await keyBinding(sd), EXPECT, ctx)).map((c) => c.check)).toEqual([
          'holder_binding',
        ]);
      }
      // Extra public members are not passed on: the holder key is reported as kty, crv, x, y only.
      const extra = await verifyCredential(
        await sdJwtVc({ payload: { cnf: { jwk: { ...holderJwk, kid: 'k1', ext: true } } } }),
        ctx,
      );
      expect(extra.verified).toBe(true);
      expect(extra.credential!.holder!.jwk).toEqual({ kty: 'EC', crv: 'P-256', x: holderJwk.x, y: holderJwk.y });
    });

    it('fails holder_binding for a subject or presenter did:jwk of a private or non-ES256 key', async () => {
      const ctx = context();
      const edDid = `did:jwk:${b64urlJson(edJwk)}`;
      const privateDid = `did:jwk:${b64urlJson(privateJwk)}`;
      for (const subject of [edDid, privateDid]) {
        const result = await verifyCredential(await jwtVc('2.0', () => {}, subject), ctx);
        expect(failed(result)).toEqual([expect.objectContaining({ check: 'holder_binding', passed: false })]);
      }
      const edVp = await rawJws(
        JSON.stringify({ alg: 'EdDSA', typ: 'vp+jwt', kid: `${edDid}#0` }),
        { iss: edDid, aud: 'https://rp.example', nonce: 'n-1', iat: NOW, vp: { verifiableCredential: [await jwtVc('2.0')] } },
        holderKey.privateKey,
      );
      expect(failed(await verifyPresentation(edVp, EXPECT, ctx))).toEqual([
        expect.objectContaining({ check: 'holder_binding', passed: false }),
      ]);
    });
  });
});
