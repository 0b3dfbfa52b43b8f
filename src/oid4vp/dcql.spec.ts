import { join } from 'node:path';
import { projectRoot } from '../common/index.js';
import { Catalogue } from '../credentials/index.js';
import { analyseDcqlQuery, claimsBeyondRegistration, DcqlProblem } from './dcql.js';

const catalogue = Catalogue.load(join(projectRoot(), 'catalogue'), 'https://chancery.example');
const VCT = 'https://chancery.example/vct/driving-licence';

/** The violations analyseDcqlQuery throws for `input` (fails the test when it does not throw). */
function violationsOf(input: unknown) {
  try {
    analyseDcqlQuery(input, catalogue);
  } catch (error) {
    expect(error).toBeInstanceOf(DcqlProblem);
    return (error as DcqlProblem).violations;
  }
  throw new Error('the query was accepted');
}

describe('analyseDcqlQuery', () => {
  it('maps SD-JWT VC and JWT VC credential queries to catalogue types and their claim names', () => {
    const { query, requested } = analyseDcqlQuery(
      {
        credentials: [
          {
            id: 'dl',
            format: 'dc+sd-jwt',
            meta: { vct_values: [VCT] },
            claims: [{ path: ['categories'] }, { path: ['expiry_date'] }],
          },
          {
            id: 'id',
            format: 'jwt_vc_json',
            meta: { type_values: [['VerifiableCredential', catalogue.get('resident-identity')!.vcType]] },
            claims: [{ path: ['credentialSubject', 'family_name'] }],
          },
        ],
      },
      catalogue,
    );
    expect(query.credentials.map((credential) => credential.id)).toEqual(['dl', 'id']);
    // A JWT VC claim named alone goes to the wallet as the path into the credential (OpenID4VP 1.0 §7); SD-JWT paths as given.
    const short = analyseDcqlQuery(
      {
        credentials: [
          {
            id: 'id',
            format: 'jwt_vc_json',
            meta: { type_values: [['VerifiableCredential', catalogue.get('resident-identity')!.vcType]] },
            claims: [{ path: ['family_name'] }, { path: ['credentialSubject', 'given_name'] }],
          },
          { id: 'dl', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path: ['categories'] }] },
        ],
      },
      catalogue,
    );
    expect(
      short.query.credentials.map((credential) => credential.claims!.map((claim) => (claim as { path: unknown[] }).path)),
    ).toEqual([
      [
        ['credentialSubject', 'family_name'],
        ['credentialSubject', 'given_name'],
      ],
      [['categories']],
    ]);
    expect(short.requested[0]!.claims).toEqual(['family_name', 'given_name']);
    // type_values as the expanded IRIs the spec names (B.1.1) find the same catalogue type.
    const expanded = analyseDcqlQuery(
      {
        credentials: [
          {
            id: 'id',
            format: 'jwt_vc_json',
            meta: {
              type_values: [
                [
                  'https://www.w3.org/2018/credentials#VerifiableCredential',
                  `https://www.w3.org/ns/credentials/issuer-dependent#${catalogue.get('resident-identity')!.vcType}`,
                ],
              ],
            },
            claims: [{ path: ['credentialSubject', 'family_name'] }],
          },
        ],
      },
      catalogue,
    );
    expect(expanded.requested).toEqual([
      { queryId: 'id', typeId: 'resident-identity', format: 'jwt_vc_json', claims: ['family_name'], paths: [['family_name']] },
    ]);
    // Whatever form the party used, the wallet is asked with the expanded IRIs (B.1.1) of each form such a credential
    // may take (VCDM 2.0, VCDM 1.1), and the short names wallets comparing `type` as written match.
    const residentType = catalogue.get('resident-identity')!.vcType;
    const asked = [
      [
        'https://www.w3.org/2018/credentials#VerifiableCredential',
        `https://www.w3.org/ns/credentials/issuer-dependent#${residentType}`,
      ],
      ['https://www.w3.org/2018/credentials#VerifiableCredential', residentType],
      ['VerifiableCredential', residentType],
    ];
    for (const { query: sent } of [expanded, short])
      expect(sent.credentials.find((credential) => credential.id === 'id')!.meta).toEqual({ type_values: asked });
    // The request as sent is analysed again when the wallet answers: the same types, the same query.
    const again = analyseDcqlQuery(short.query, catalogue);
    expect(again.requested).toEqual(short.requested);
    expect(again.query).toEqual(short.query);
    expect(short.query.credentials.find((credential) => credential.id === 'dl')!.meta).toEqual({ vct_values: [VCT] });
    // Only the expansions a credential's types have: a licence type is no term of the VCDM's own namespace.
    expect(() =>
      analyseDcqlQuery(
        {
          credentials: [
            {
              id: 'id',
              format: 'jwt_vc_json',
              meta: { type_values: [[`https://www.w3.org/2018/credentials#${catalogue.get('resident-identity')!.vcType}`]] },
              claims: [{ path: ['credentialSubject', 'family_name'] }],
            },
          ],
        },
        catalogue,
      ),
    ).toThrow(DcqlProblem);
    // The paths as the verdict keeps them: a jwt_vc_json path without its credentialSubject.
    expect(requested).toEqual([
      {
        queryId: 'dl',
        typeId: 'driving-licence',
        format: 'dc+sd-jwt',
        claims: ['categories', 'expiry_date'],
        paths: [['categories'], ['expiry_date']],
      },
      { queryId: 'id', typeId: 'resident-identity', format: 'jwt_vc_json', claims: ['family_name'], paths: [['family_name']] },
    ]);
  });

  it('refuses what the DCQL schema refuses, naming where without echoing the input', () => {
    expect(violationsOf({ credentials: [{ id: 'dl', format: 42, claims: [{ path: ['x'] }] }] })).toEqual([
      { path: 'dcql_query.credentials.0.format', message: 'does not match the DCQL schema' },
    ]);
    expect(violationsOf({ credentials: [] })).toEqual([
      { path: 'dcql_query.credentials', message: 'does not match the DCQL schema' },
    ]);
    expect(violationsOf('not a query')[0]!.path).toBe('dcql_query');
    const hostile = violationsOf({ credentials: [{ id: 'dl', format: 'dc+sd-jwt', '<script>': 1, claims: 'x' }] });
    expect(hostile).toEqual([{ path: 'dcql_query.credentials.0.claims', message: 'does not match the DCQL schema' }]);
  });

  it('refuses unknown vcts and types, other formats, whole-credential requests and claim paths without a name', () => {
    const violations = violationsOf({
      credentials: [
        { id: 'a', format: 'dc+sd-jwt', meta: { vct_values: ['https://elsewhere.example/vct/x'] }, claims: [{ path: ['x'] }] },
        { id: 'b', format: 'dc+sd-jwt', meta: { vct_values: [VCT, VCT.replace('driving', 'x')] }, claims: [{ path: ['x'] }] },
        {
          id: 'c',
          format: 'jwt_vc_json',
          meta: { type_values: [['VerifiableCredential', 'Unknown']] },
          claims: [{ path: ['x'] }],
        },
        { id: 'd', format: 'mso_mdoc', meta: { doctype_value: 'org.iso.18013.5.1.mDL' }, claims: [{ path: ['a', 'b'] }] },
        { id: 'e', format: 'dc+sd-jwt', meta: { vct_values: [VCT] } },
        { id: 'f', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path: [0] }] },
      ],
    });
    expect(violations).toEqual([
      { path: 'dcql_query.credentials.0.meta.vct_values', message: 'must name exactly one catalogue vct' },
      { path: 'dcql_query.credentials.1.meta.vct_values', message: 'must name exactly one catalogue vct' },
      { path: 'dcql_query.credentials.2.meta.type_values', message: 'must name exactly one catalogue credential type' },
      { path: 'dcql_query.credentials.3.format', message: 'only dc+sd-jwt and jwt_vc_json are supported' },
      { path: 'dcql_query.credentials.4.claims', message: 'name the claims you need; whole credentials are not released' },
      { path: 'dcql_query.credentials.5.claims.0.path', message: 'must name a claim' },
      { path: 'dcql_query.credentials.5.claims', message: 'name the claims you need; whole credentials are not released' },
    ]);
  });
});

describe('analyseDcqlQuery: options a conforming wallet would answer in a way we would reject', () => {
  it('refuses holder binding turned off and trusted_authorities, and accepts holder binding asked for explicitly', () => {
    const claims = [{ path: ['categories'] }];
    const violations = violationsOf({
      credentials: [
        { id: 'a', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims, require_cryptographic_holder_binding: false },
        {
          id: 'b',
          format: 'dc+sd-jwt',
          meta: { vct_values: [VCT] },
          claims,
          trusted_authorities: [{ type: 'aki', values: ['s9tIpPmhxdiuNkHMEWNpYim8S8Y'] }],
        },
      ],
    });
    expect(violations).toEqual([
      {
        path: 'dcql_query.credentials.0.require_cryptographic_holder_binding',
        message: 'must be true: presentations are always bound to their holder',
      },
      {
        path: 'dcql_query.credentials.1.trusted_authorities',
        message: 'is not supported: issuers are trusted through the consortium registry',
      },
    ]);
    const bound = {
      id: 'a',
      format: 'dc+sd-jwt',
      meta: { vct_values: [VCT] },
      claims,
      require_cryptographic_holder_binding: true,
    };
    expect(analyseDcqlQuery({ credentials: [bound] }, catalogue).requested).toHaveLength(1);
  });

  it('refuses a claim id used twice in one query, and a claim without an id beside claim_sets', () => {
    const query = (claims: object[], extra: object = {}) => ({
      credentials: [{ id: 'dl', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims, ...extra }],
    });
    expect(
      violationsOf(
        query(
          [
            { id: 'a', path: ['categories', null], values: ['B1'] },
            { id: 'a', path: ['family_name'] },
          ],
          { claim_sets: [['a']] },
        ),
      ),
    ).toContainEqual({ path: 'dcql_query.credentials.0.claims.1.id', message: 'repeats the id of another claim' });
    expect(
      violationsOf(query([{ id: 'a', path: ['categories'] }, { path: ['family_name'] }], { claim_sets: [['a']] })),
    ).toContainEqual({ path: 'dcql_query.credentials.0.claims.1.id', message: 'is required when claim_sets is present' });
    // Without claim_sets ids are optional.
    expect(
      analyseDcqlQuery(query([{ path: ['categories'] }, { id: 'b', path: ['family_name'] }]), catalogue).requested,
    ).toHaveLength(1);
  });
});

describe('claimsBeyondRegistration', () => {
  const requested = [
    { queryId: 'dl', typeId: 'driving-licence', format: 'dc+sd-jwt' as const, claims: ['categories', 'licence_number'] },
    { queryId: 'id', typeId: 'resident-identity', format: 'dc+sd-jwt' as const, claims: ['family_name'] },
  ];

  it('lists each requested claim the relying party is not registered for, per query', () => {
    expect(claimsBeyondRegistration(requested, { 'driving-licence': ['categories'] })).toEqual([
      { path: 'dl.licence_number', message: "not in this relying party's registration for driving-licence" },
      { path: 'id.family_name', message: "not in this relying party's registration for resident-identity" },
    ]);
  });

  it('accepts a request within the registration', () => {
    expect(
      claimsBeyondRegistration(requested, {
        'driving-licence': ['categories', 'licence_number', 'expiry_date'],
        'resident-identity': ['family_name'],
      }),
    ).toEqual([]);
  });
});
