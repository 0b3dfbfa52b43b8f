import { DcqlQuery } from 'dcql';
import type { Check, CheckName, PresentationResult, VerifiedCredential } from '../credentials/index.js';
import type { RequestedCredential } from './dcql.js';
import {
  claimedIssuers,
  describeForDcql,
  judgePresentations,
  minimiseClaims,
  presentationForAnotherRequest,
  verdictToStore,
  verdictView,
  vpTokenEntries,
  vpTokenRejection,
  type RequestProgress,
  type Verdict,
} from './verdict.js';

const VCT = 'https://chancery.example/vct/driving-licence';
const ISSUER = 'did:ethr:govchain:0x1111111111111111111111111111111111111111';
const OTHER_ISSUER = 'did:ethr:govchain:0x2222222222222222222222222222222222222222';
const LIMITS = { maxEntries: 3, maxIssuers: 1 };

/** The credentials a verdict rests on: those not discarded (§8.6). */
const reliedOn = (verdict: Verdict) => verdict.credentials.filter((entry) => !entry.discarded);

const query = (input: object) => DcqlQuery.parse(input as DcqlQuery.Input);
const licenceQuery = (claims: object[], extra: object = {}) =>
  query({ credentials: [{ id: 'dl', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims, ...extra }] });
const wanted = (claims: string[], typeId = 'driving-licence'): RequestedCredential[] => [
  { queryId: 'dl', typeId, format: 'dc+sd-jwt', claims },
];

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** Only the parts claimedIssuers reads (no signature is checked before verification). */
const sdJwt = (iss: string) => `${b64({ alg: 'ES256', typ: 'dc+sd-jwt' })}.${b64({ iss })}.sig~disclosure~kb`;
const jwtVp = (...issuers: string[]) =>
  `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ vp: { verifiableCredential: issuers.map((iss) => `${b64({})}.${b64({ iss })}.s`) } })}.s`;

const CHECKS: CheckName[] = ['format', 'issuer_key', 'signature', 'disclosures', 'type', 'validity', 'holder_binding', 'status'];

/** A verified SD-JWT presentation as verifyPresentation reports it (one check list for both levels). */
function sdJwtResult(
  claims: Record<string, unknown>,
  { type = 'driving-licence', failed }: { type?: string; failed?: Check } = {},
): PresentationResult {
  const checks: Check[] = CHECKS.map((check) => (failed?.check === check ? failed : { check, passed: true }));
  const credential: VerifiedCredential = { format: 'dc+sd-jwt', issuer: ISSUER, type, vct: VCT, claims };
  const verified = !failed;
  return { verified, checks, credentials: [{ verified, checks, credential }] };
}

describe('before verification', () => {
  it('reads the claimed issuers of SD-JWT and JWT presentations without verifying anything', () => {
    expect(claimedIssuers(sdJwt(ISSUER))).toEqual([ISSUER]);
    expect(claimedIssuers(jwtVp(ISSUER, OTHER_ISSUER))).toEqual([ISSUER, OTHER_ISSUER]);
    expect(claimedIssuers('garbage')).toEqual(['(none)']);
  });

  it('lists vp_token entries in order, a bare string as a one-element list', () => {
    expect(vpTokenEntries({ a: ['P1', 'P2'], b: 'P3' })).toEqual([
      { queryId: 'a', presentation: 'P1' },
      { queryId: 'a', presentation: 'P2' },
      { queryId: 'b', presentation: 'P3' },
    ]);
  });

  it('refuses structural problems and too many issuers before any chain lookup', () => {
    const single = licenceQuery([{ path: ['categories'] }]);
    expect(vpTokenRejection(single, { dl: [sdJwt(ISSUER)] }, LIMITS)).toBeUndefined();
    expect(vpTokenRejection(single, { dl: [sdJwt(ISSUER)], x: [sdJwt(ISSUER)] }, LIMITS)).toEqual({
      verified: false,
      reason: '"x": not a credential query of this request',
      credentials: [],
    });
    const multiple = licenceQuery([{ path: ['categories'] }], { multiple: true });
    expect(vpTokenRejection(multiple, { dl: [sdJwt(ISSUER), sdJwt(OTHER_ISSUER)] }, LIMITS)?.reason).toBe(
      'the response names 2 issuers; at most 1',
    );
    expect(vpTokenRejection(multiple, { dl: [jwtVp(ISSUER, OTHER_ISSUER)] }, LIMITS)?.reason).toBe(
      'the response names 2 issuers; at most 1',
    );
  });
});

describe('presentations made for another request (§14.1.2), read before verification', () => {
  const expected = { nonce: 'n-1', audience: 'x509_san_dns:rp.example' };
  const kb = (payload: object) => `${b64({ alg: 'ES256', typ: 'kb+jwt' })}.${b64(payload)}.sig`;
  const presented = (payload: object | undefined) => `${sdJwt(ISSUER).slice(0, -'kb'.length)}${payload ? kb(payload) : ''}`;
  const vp = (payload: object) => `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64(payload)}.s`;
  const good = presented({ nonce: 'n-1', aud: 'x509_san_dns:rp.example', iat: 1 });

  it('passes presentations naming this request, as a string or a one-element array', () => {
    expect(
      presentationForAnotherRequest({ dl: [good, presented({ nonce: 'n-1', aud: [expected.audience] })] }, expected),
    ).toBeUndefined();
    expect(presentationForAnotherRequest({ id: [vp({ nonce: 'n-1', aud: expected.audience })] }, expected)).toBeUndefined();
  });

  it('refuses the whole response for one presentation beside good ones without the nonce or audience of this request', () => {
    const refused = (presentation: string) => presentationForAnotherRequest({ dl: [good, presentation] }, expected);
    expect(refused(presented({ nonce: 'n-2', aud: expected.audience }))).toBe(
      'dl: holder_binding: the key-binding JWT nonce does not match',
    );
    expect(refused(presented({ aud: expected.audience }))).toBe('dl: holder_binding: the key-binding JWT nonce does not match');
    expect(refused(presented({ nonce: 'n-1', aud: 'x509_san_dns:other.example' }))).toBe(
      'dl: holder_binding: the key-binding JWT is for audience "x509_san_dns:other.example", expected x509_san_dns:rp.example',
    );
    // Addressed to us and another verifier at once: not ours alone (B.3.6: aud is the client identifier).
    expect(refused(presented({ nonce: 'n-1', aud: [expected.audience, 'https://other.example'] }))).toMatch(/is for audience/);
    // Without our prefix: another client identifier.
    expect(refused(presented({ nonce: 'n-1', aud: 'rp.example' }))).toMatch(/is for audience/);
    expect(refused(presented(undefined))).toBe('dl: holder_binding: the presentation has no key-binding JWT');
    expect(refused(`${sdJwt(ISSUER).slice(0, -'kb'.length)}not-a-jwt`)).toBe(
      'dl: holder_binding: the key-binding JWT is malformed',
    );
    expect(presentationForAnotherRequest({ id: [vp({ nonce: 'n-2', aud: expected.audience })] }, expected)).toBe(
      'id: holder_binding: the presentation nonce does not match',
    );
  });
});

describe('judgePresentations', () => {
  const vcTypeOf = (typeId: string) => (typeId === 'driving-licence' ? 'DrivingLicenceCredential' : undefined);

  it('verifies, keeping only the requested claims of what the wallet disclosed', () => {
    const result = sdJwtResult({ categories: ['C1'], expiry_date: '2030-01-01', licence_number: 'L-1' });
    const verdict = judgePresentations(
      licenceQuery([{ path: ['categories'] }]),
      wanted(['categories']),
      [{ queryId: 'dl', result }],
      vcTypeOf,
    );
    expect(verdict.verified).toBe(true);
    expect(verdict.reason).toBeUndefined();
    expect(verdict.credentials).toEqual([
      { queryId: 'dl', type: 'driving-licence', issuer: ISSUER, claims: { categories: ['C1'] }, checks: result.checks },
    ]);
  });

  it('names every failed check, a wrong type and a requested claim that was not disclosed, and passes on no claim of theirs', () => {
    const revoked = sdJwtResult(
      { categories: ['C1'] },
      { failed: { check: 'status', passed: false, reason: 'the credential is revoked' } },
    );
    const q = licenceQuery([{ path: ['categories'] }]);
    const refused = judgePresentations(q, wanted(['categories']), [{ queryId: 'dl', result: revoked }], vcTypeOf);
    expect(refused.reason).toBe('dl: status: the credential is revoked');
    // §8.6: discarded, also when it was the only one (the verdict rejected): its place and checks, not its claims.
    expect(refused.credentials).toEqual([{ queryId: 'dl', checks: revoked.checks, discarded: true }]);
    const identity = sdJwtResult({ categories: ['C1'] }, { type: 'resident-identity' });
    expect(judgePresentations(q, wanted(['categories']), [{ queryId: 'dl', result: identity }], vcTypeOf).reason).toBe(
      'dl: a resident-identity was presented, driving-licence was asked for',
    );
    const partial = sdJwtResult({ categories: ['C1'] });
    const two = licenceQuery([{ path: ['categories'] }, { path: ['expiry_date'] }]);
    const verdict = judgePresentations(
      two,
      wanted(['categories', 'expiry_date']),
      [{ queryId: 'dl', result: partial }],
      vcTypeOf,
    );
    expect(verdict).toEqual(expect.objectContaining({ verified: false, reason: 'dl: claims not disclosed: expiry_date' }));
    expect(verdict.credentials[0]).toEqual({ queryId: 'dl', checks: partial.checks, discarded: true });
  });

  it('discards a presentation that fails its own checks and verifies when the others meet the query (§8.6)', () => {
    const revokedReason = { check: 'status' as const, passed: false, reason: 'the credential is revoked' };
    const good = sdJwtResult({ categories: ['C1'] });
    const revoked = sdJwtResult({ categories: ['C2'] }, { failed: revokedReason });
    // multiple: two credentials presented for one query, one of them revoked.
    const multiple = licenceQuery([{ path: ['categories'] }], { multiple: true });
    const verdict = judgePresentations(
      multiple,
      wanted(['categories']),
      [
        { queryId: 'dl', result: revoked },
        { queryId: 'dl', result: good },
      ],
      vcTypeOf,
    );
    expect(verdict).toEqual({
      verified: true,
      // Every presentation in order (the usage log pairs them with what was presented), the failed one marked.
      credentials: [
        // Nothing it claims is passed on: it could be self-issued, someone else's, or revoked.
        { queryId: 'dl', checks: revoked.checks, discarded: true },
        { queryId: 'dl', type: 'driving-licence', issuer: ISSUER, claims: { categories: ['C1'] }, checks: good.checks },
      ],
      discarded: ['dl: status: the credential is revoked'],
    });
    expect(reliedOn(verdict).map((credential) => credential.claims)).toEqual([{ categories: ['C1'] }]);
    // An optional credential set whose presentation fails: discarded, the required one still met.
    const sets = query({
      credentials: [
        { id: 'dl', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path: ['categories'] }] },
        { id: 'extra', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path: ['categories'] }] },
      ],
      credential_sets: [{ options: [['dl']] }, { options: [['extra']], required: false }],
    });
    const both: RequestedCredential[] = [...wanted(['categories']), { ...wanted(['categories'])[0]!, queryId: 'extra' }];
    const optional = judgePresentations(
      sets,
      both,
      [
        { queryId: 'dl', result: good },
        { queryId: 'extra', result: revoked },
      ],
      vcTypeOf,
    );
    expect(optional).toMatchObject({ verified: true, discarded: ['extra: status: the credential is revoked'] });
    expect(reliedOn(optional).map((credential) => credential.queryId)).toEqual(['dl']);
    // The required one failing: rejected, for why it failed (not a bare "not satisfied").
    const required = judgePresentations(
      sets,
      both,
      [
        { queryId: 'dl', result: revoked },
        { queryId: 'extra', result: good },
      ],
      vcTypeOf,
    );
    expect(required).toMatchObject({ verified: false, reason: 'dl: status: the credential is revoked' });
  });

  it('refuses the whole response when any presentation was made for another request (nonce or audience, §14.1.2)', () => {
    const good = sdJwtResult({ categories: ['C1'] });
    const multiple = licenceQuery([{ path: ['categories'] }], { multiple: true });
    // A good presentation and another one for the same query (multiple).
    const besideGood = (other: PresentationResult) =>
      judgePresentations(
        multiple,
        wanted(['categories']),
        [
          { queryId: 'dl', result: good },
          { queryId: 'dl', result: other },
        ],
        vcTypeOf,
      );
    for (const reason of ['the key-binding JWT nonce does not match', 'the presentation is for audience "x", expected y']) {
      // A replay beside a good presentation: unlike any other failure (§8.6), it is not merely discarded.
      const replayed = sdJwtResult(
        { categories: ['C2'] },
        { failed: { check: 'holder_binding', passed: false, reason, forAnotherRequest: true } },
      );
      expect(besideGood(replayed)).toEqual({
        verified: false,
        reason: `dl: holder_binding: ${reason}`,
        // Every presentation by its checks only: nothing claimed reaches the relying party.
        credentials: [
          { queryId: 'dl', checks: good.checks },
          { queryId: 'dl', checks: replayed.checks },
        ],
      });
    }
    // Another holder_binding failure (an expired proof) is discarded as before.
    const stale = sdJwtResult(
      { categories: ['C2'] },
      { failed: { check: 'holder_binding', passed: false, reason: 'the key-binding JWT is too old' } },
    );
    expect(besideGood(stale)).toMatchObject({
      verified: true,
      discarded: ['dl: holder_binding: the key-binding JWT is too old'],
    });
  });

  it('refuses one presentation holding several credentials', () => {
    const one = sdJwtResult({ categories: ['C1'] });
    const doubled: PresentationResult = { ...one, credentials: [one.credentials[0]!, one.credentials[0]!] };
    expect(
      judgePresentations(
        licenceQuery([{ path: ['categories'] }]),
        wanted(['categories']),
        [{ queryId: 'dl', result: doubled }],
        vcTypeOf,
      ).reason,
    ).toBe('dl: one credential per presentation');
  });

  it('applies the DCQL rules to the verified contents: values, claim_sets', () => {
    const valued = licenceQuery([{ path: ['expiry_date'], values: ['2030-01-01'] }]);
    const wrong = sdJwtResult({ expiry_date: '2099-01-01' });
    expect(judgePresentations(valued, wanted(['expiry_date']), [{ queryId: 'dl', result: wrong }], vcTypeOf).reason).toContain(
      'dl: expiry_date does not have one of the requested values',
    );
    const right = sdJwtResult({ expiry_date: '2030-01-01' });
    expect(judgePresentations(valued, wanted(['expiry_date']), [{ queryId: 'dl', result: right }], vcTypeOf).verified).toBe(true);

    const sets = licenceQuery(
      [
        { id: 'a', path: ['categories'] },
        { id: 'b', path: ['family_name'] },
      ],
      { claim_sets: [['a'], ['b']] },
    );
    // One complete claim set suffices: the other claim need not be disclosed.
    const familyOnly = sdJwtResult({ family_name: 'Chen' });
    const verdict = judgePresentations(
      sets,
      wanted(['categories', 'family_name']),
      [{ queryId: 'dl', result: familyOnly }],
      vcTypeOf,
    );
    expect(verdict.verified).toBe(true);
    expect(verdict.credentials[0]!.claims).toEqual({ family_name: 'Chen' });
  });

  it('discards, not the whole response, a presentation that misses its query criteria beside one that meets them (§8.6)', () => {
    // multiple: one presentation has the nested claim asked for, the other only a sibling of it.
    const nested = licenceQuery([{ path: ['address', 'postal_code'] }], { multiple: true });
    const withCode = sdJwtResult({ address: { postal_code: '100080', country: 'CN' } });
    const countryOnly = sdJwtResult({ address: { country: 'CN' } });
    const verdict = judgePresentations(
      nested,
      wanted(['address']),
      [
        { queryId: 'dl', result: countryOnly },
        { queryId: 'dl', result: withCode },
      ],
      vcTypeOf,
    );
    expect(verdict).toMatchObject({ verified: true, discarded: ['dl: the presentation does not match the credential query'] });
    expect(verdict.credentials[0]).toEqual({ queryId: 'dl', checks: countryOnly.checks, discarded: true });
    expect(reliedOn(verdict)).toHaveLength(1);
    // A value outside the query's values, beside one inside them.
    const valued = licenceQuery([{ path: ['expiry_date'], values: ['2030-01-01'] }], { multiple: true });
    const mixed = judgePresentations(
      valued,
      wanted(['expiry_date']),
      [
        { queryId: 'dl', result: sdJwtResult({ expiry_date: '2099-01-01' }) },
        { queryId: 'dl', result: sdJwtResult({ expiry_date: '2030-01-01' }) },
      ],
      vcTypeOf,
    );
    expect(mixed.verified).toBe(true);
    expect(mixed.discarded).toContain('dl: expiry_date does not have one of the requested values');
    expect(reliedOn(mixed).map((credential) => credential.claims)).toEqual([{ expiry_date: '2030-01-01' }]);
    // Alone, the one that misses is discarded and nothing is left: rejected, saying why.
    expect(judgePresentations(nested, wanted(['address']), [{ queryId: 'dl', result: countryOnly }], vcTypeOf)).toMatchObject({
      verified: false,
      reason: 'dl: the presentation does not match the credential query',
    });
  });

  it('holds values only to the claims of a claim set the wallet met (claim_sets)', () => {
    const sets = licenceQuery(
      [
        { id: 'a', path: ['categories', null], values: ['C1'] },
        { id: 'b', path: ['family_name'] },
      ],
      { claim_sets: [['a'], ['b']] },
    );
    // A credential that shows every claim (no selective disclosure) met the second option: the first one's values
    // do not bind it.
    const shown = sdJwtResult({ categories: ['B1'], family_name: 'Chen' });
    const verdict = judgePresentations(sets, wanted(['categories', 'family_name']), [{ queryId: 'dl', result: shown }], vcTypeOf);
    expect(verdict.verified).toBe(true);
    // Only the option met reaches the relying party: categories holds a value the query excluded.
    expect(verdict.credentials[0]!.claims).toEqual({ family_name: 'Chen' });
    const both = sdJwtResult({ categories: ['C1'], family_name: 'Chen' });
    const bothVerdict = judgePresentations(
      sets,
      wanted(['categories', 'family_name']),
      [{ queryId: 'dl', result: both }],
      vcTypeOf,
    );
    expect(bothVerdict.credentials[0]!.claims).toEqual({ categories: ['C1'], family_name: 'Chen' });
    const neither = sdJwtResult({ categories: ['B1'] });
    expect(
      judgePresentations(sets, wanted(['categories', 'family_name']), [{ queryId: 'dl', result: neither }], vcTypeOf),
    ).toMatchObject({ verified: false });
  });

  it('throws for a query id the structural check would have refused', () => {
    expect(() =>
      judgePresentations(
        licenceQuery([{ path: ['categories'] }]),
        wanted(['categories']),
        [{ queryId: 'smuggled', result: sdJwtResult({}) }],
        vcTypeOf,
      ),
    ).toThrow();
  });
});

describe('describeForDcql and minimiseClaims', () => {
  it('describes SD-JWT VCs by vct and JWT VCs by W3C type, with the holder binding outcome', () => {
    const bound = [{ check: 'holder_binding' as const, passed: true }];
    expect(
      describeForDcql({ format: 'dc+sd-jwt', vct: VCT, type: 'driving-licence', claims: { a: 1 } }, bound, undefined),
    ).toEqual({
      credential_format: 'dc+sd-jwt',
      vct: VCT,
      claims: { a: 1 },
      cryptographic_holder_binding: true,
    });
    expect(
      describeForDcql({ format: 'jwt_vc_json', type: 'driving-licence', claims: { a: 1 } }, [], 'DrivingLicenceCredential'),
    ).toEqual({
      credential_format: 'jwt_vc_json',
      type: [
        'VerifiableCredential',
        'DrivingLicenceCredential',
        'https://www.w3.org/2018/credentials#VerifiableCredential',
        'https://www.w3.org/ns/credentials/issuer-dependent#DrivingLicenceCredential',
      ],
      claims: { a: 1, credentialSubject: { a: 1 } },
      cryptographic_holder_binding: false,
    });
  });

  it('keeps requested claims that were disclosed, nothing else', () => {
    expect(minimiseClaims(['a', 'b'], { a: 1, c: 3 })).toEqual({ a: 1 });
  });

  it('keeps only the asked member of a nested claim, whatever else the object disclosed', () => {
    const disclosed = {
      address: { street_address: '1 Chang An Jie', postal_code: '100000', locality: 'Beijing' },
      nationalities: ['CN'],
      family_name: 'Li',
    };
    expect(minimiseClaims(['address'], disclosed, [['address', 'postal_code']])).toEqual({ address: { postal_code: '100000' } });
    expect(
      minimiseClaims(['address', 'family_name'], disclosed, [
        ['address', 'locality'],
        ['family_name'],
        ['address', 'postal_code'],
      ]),
    ).toEqual({ address: { locality: 'Beijing', postal_code: '100000' }, family_name: 'Li' });
    // The whole claim asked as well: the whole claim, in either order.
    for (const paths of [
      [['address'], ['address', 'postal_code']],
      [['address', 'postal_code'], ['address']],
    ])
      expect(minimiseClaims(['address'], disclosed, paths)).toEqual({ address: disclosed.address });
    // A path through an array keeps the claim it starts at; a path into a value with no members selects nothing.
    expect(minimiseClaims(['nationalities'], disclosed, [['nationalities', null]])).toEqual({ nationalities: ['CN'] });
    expect(minimiseClaims(['family_name'], disclosed, [['family_name', 'x']])).toEqual({});
    expect(minimiseClaims(['address'], disclosed, [['address', 'country']])).toEqual({});
  });
});

describe('the verdict release rule', () => {
  const NOW = new Date('2026-11-25T10:00:00Z');
  const answered: RequestProgress = {
    id: 'r1',
    status: 'verified',
    expiresAt: new Date(NOW.getTime() + 60_000),
    completedAt: NOW,
    purgedAt: null,
  };
  const verdict = { verified: true, credentials: [{ queryId: 'dl', claims: { categories: ['C1'] } }] };

  it('cross-device: releases the verdict to whoever may poll', () => {
    const { view, released } = verdictView(answered, verdictToStore(verdict, undefined), undefined, NOW);
    expect(released).toBe(true);
    expect(view).toEqual({ id: 'r1', status: 'verified', result: verdict, completedAt: NOW });
  });

  it('same-device: withholds the verdict until the response_code is shown, and never stores the code itself', () => {
    const stored = verdictToStore(verdict, 'code-1');
    expect(JSON.stringify(stored)).not.toContain('code-1');
    for (const code of [undefined, 'code-2', 42]) {
      const { view, released } = verdictView(answered, stored, code, NOW);
      expect(released).toBe(false);
      expect(view).toEqual({ id: 'r1', status: 'verified', responseCodeRequired: true, completedAt: NOW });
    }
    const { view, released } = verdictView(answered, stored, 'code-1', NOW);
    expect(released).toBe(true);
    expect(view.result).toEqual(verdict);
    expect(view).not.toHaveProperty('result.responseCodeHash');
  });

  it('shows a pending request past its expiry as expired, and a purged verdict as purged', () => {
    const pending = { ...answered, status: 'pending', completedAt: null, expiresAt: NOW };
    expect(verdictView(pending, undefined, undefined, NOW)).toEqual({
      released: false,
      view: { id: 'r1', status: 'expired', completedAt: null },
    });
    expect(verdictView(pending, undefined, undefined, new Date(NOW.getTime() - 1)).view.status).toBe('pending');
    const purged = verdictView({ ...answered, purgedAt: NOW }, undefined, undefined, NOW);
    expect(purged).toEqual({ released: false, view: { id: 'r1', status: 'verified', resultPurged: true, completedAt: NOW } });
  });
});
