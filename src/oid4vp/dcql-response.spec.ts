import { DcqlQuery, type DcqlCredentialPresentation } from 'dcql';
import {
  bareDcqlPresentations,
  claimValueProblems,
  dcqlMatchProblems,
  presenceProblems,
  vpTokenProblems,
} from './dcql-response.js';
import { describeForDcql } from './verdict.js';

const VCT = 'https://chancery.example/vct/driving-licence';
const ID_VCT = 'https://chancery.example/vct/resident-identity';

const query = (input: object) => DcqlQuery.parse(input as DcqlQuery.Input);
const single = query({
  credentials: [{ id: 'dl', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path: ['categories'] }] }],
});
const sdJwt = (claims: Record<string, unknown>, vct = VCT): DcqlCredentialPresentation => ({
  credential_format: 'dc+sd-jwt',
  vct,
  claims: claims as never,
  cryptographic_holder_binding: true,
});

describe('vpTokenProblems', () => {
  it('refuses two presentations for a query without multiple, unknown query ids, empty lists and too many entries', () => {
    expect(vpTokenProblems(single, { dl: ['P'] }, { maxEntries: 10 })).toEqual([]);
    expect(vpTokenProblems(single, { dl: ['P', 'P'] }, { maxEntries: 10 })).toEqual([
      'dl: 2 presentations where the query allows one (multiple is not set)',
    ]);
    expect(vpTokenProblems(single, { dl: ['P'], other: ['Q'] }, { maxEntries: 10 })).toEqual([
      '"other": not a credential query of this request',
    ]);
    expect(vpTokenProblems(single, { dl: [] }, { maxEntries: 10 })).toEqual(['dl: an empty list of presentations']);
    expect(vpTokenProblems(single, {}, { maxEntries: 10 })).toEqual(['vp_token holds no presentation']);
    // Every credential set optional (§6.4.2): a wallet holding nothing that matches answers {} (§8.1).
    const optional = DcqlQuery.parse({
      credentials: [{ id: 'dl', format: 'dc+sd-jwt', meta: { vct_values: ['https://v.example/dl'] }, claims: [{ path: ['a'] }] }],
      credential_sets: [{ options: [['dl']], required: false }],
    } as DcqlQuery.Input);
    expect(vpTokenProblems(optional, {}, { maxEntries: 10 })).toEqual([]);
    expect(dcqlMatchProblems(optional, {})).toEqual([]);
    expect(vpTokenProblems(single, { dl: [42] }, { maxEntries: 10 })).toEqual(['dl: presentations must be non-empty strings']);
    const many = query({
      credentials: [
        { id: 'dl', format: 'dc+sd-jwt', multiple: true, meta: { vct_values: [VCT] }, claims: [{ path: ['categories'] }] },
      ],
    });
    expect(vpTokenProblems(many, { dl: ['P', 'P', 'P'] }, { maxEntries: 10 })).toEqual([]);
    expect(vpTokenProblems(many, { dl: new Array(130).fill('P') }, { maxEntries: 10 })).toEqual([
      'vp_token holds 130 presentations; at most 10',
    ]);
  });
});

describe('bareDcqlPresentations', () => {
  it('names the query ids whose presentations are not an array (OID4VP 1.0 §8.1), in an object or its JSON text', () => {
    expect(bareDcqlPresentations({ dl: ['P'], id: 'Q' })).toEqual(['id']);
    expect(bareDcqlPresentations(JSON.stringify({ dl: 'P' }))).toEqual(['dl']);
    expect(bareDcqlPresentations({ dl: ['P'] })).toEqual([]);
    // Not a DCQL vp_token at all: the library's parse says so.
    expect(bareDcqlPresentations('not json')).toEqual([]);
    expect(bareDcqlPresentations(['P'])).toEqual([]);
  });
});

describe('presenceProblems', () => {
  const sets = query({
    credentials: [
      { id: 'dl', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path: ['categories'] }] },
      { id: 'id', format: 'dc+sd-jwt', meta: { vct_values: [ID_VCT] }, claims: [{ path: ['family_name'] }] },
      { id: 'extra', format: 'dc+sd-jwt', meta: { vct_values: [ID_VCT] }, claims: [{ path: ['given_name'] }] },
    ],
    credential_sets: [{ options: [['dl'], ['id']] }, { options: [['extra']], required: false }],
  });

  it('requires every query without credential_sets, and one option of each required set with them', () => {
    expect(presenceProblems(single, [])).toEqual(['dl: no presentation']);
    expect(presenceProblems(sets, ['id'])).toEqual([]);
    expect(presenceProblems(sets, ['dl', 'extra'])).toEqual([]);
    expect(presenceProblems(sets, ['extra'])).toEqual(['credential_sets.0: none of its options is fully presented']);
  });

  it('the library agrees: an optional set alone does not satisfy the query', () => {
    expect(dcqlMatchProblems(sets, { extra: [sdJwt({ given_name: 'Jing' }, ID_VCT)] })).toContain(
      'credential_sets.0: none of its options is fully presented',
    );
    expect(dcqlMatchProblems(sets, { id: [sdJwt({ family_name: 'Chen' }, ID_VCT)] })).toEqual([]);
  });
});

describe('dcqlMatchProblems', () => {
  it('accepts a presentation that matches; refuses a wrong vct, a missing claim, a wrong value, two without multiple', () => {
    expect(dcqlMatchProblems(single, { dl: [sdJwt({ categories: ['C1'] })] })).toEqual([]);
    expect(dcqlMatchProblems(single, { dl: [sdJwt({ categories: ['C1'] }, ID_VCT)] })).toEqual([
      'dl: the presentation does not match the credential query',
    ]);
    expect(dcqlMatchProblems(single, { dl: [sdJwt({ expiry_date: '2030-01-01' })] })).toEqual([
      'dl: the presentation does not match the credential query',
    ]);
    expect(dcqlMatchProblems(single, { dl: [sdJwt({ categories: ['C1'] }), sdJwt({ categories: ['C1'] })] })).toEqual([
      'the presentations do not fit the query',
    ]);
    const valued = query({
      credentials: [
        {
          id: 'dl',
          format: 'dc+sd-jwt',
          meta: { vct_values: [VCT] },
          claims: [{ path: ['expiry_date'], values: ['2030-01-01'] }],
        },
      ],
    });
    expect(dcqlMatchProblems(valued, { dl: [sdJwt({ expiry_date: '2030-01-01' })] })).toEqual([]);
    expect(dcqlMatchProblems(valued, { dl: [sdJwt({ expiry_date: '2099-01-01' })] })).toEqual([
      'dl: expiry_date does not have one of the requested values',
      'dl: the presentation does not match the credential query',
    ]);
  });

  it('matches jwt_vc_json type_values given as short names or as their expanded IRIs (OID4VP 1.0 B.1.1)', () => {
    const presented = describeForDcql(
      {
        format: 'jwt_vc_json',
        vct: undefined,
        type: 'resident-identity',
        claims: { family_name: 'Chen' },
      },
      [{ check: 'holder_binding', passed: true }],
      'ResidentIdentityCredential',
    );
    const byTypes = (typeValues: string[][]) =>
      query({
        credentials: [
          {
            id: 'id',
            format: 'jwt_vc_json',
            meta: { type_values: typeValues },
            claims: [{ path: ['credentialSubject', 'family_name'] }],
          },
        ],
      });
    const expanded = [
      'https://www.w3.org/2018/credentials#VerifiableCredential',
      'https://www.w3.org/ns/credentials/issuer-dependent#ResidentIdentityCredential',
    ];
    for (const typeValues of [[['VerifiableCredential', 'ResidentIdentityCredential']], [expanded], [[expanded[1]!]]])
      expect(dcqlMatchProblems(byTypes(typeValues), { id: [presented] })).toEqual([]);
    expect(
      dcqlMatchProblems(byTypes([['https://www.w3.org/ns/credentials/issuer-dependent#DrivingLicenceCredential']]), {
        id: [presented],
      }),
    ).toEqual(['id: the presentation does not match the credential query']);
  });

  it('honours claim_sets: one complete set suffices, a partial one does not', () => {
    const claimSets = query({
      credentials: [
        {
          id: 'dl',
          format: 'dc+sd-jwt',
          meta: { vct_values: [VCT] },
          claims: [
            { id: 'a', path: ['categories'] },
            { id: 'b', path: ['expiry_date'] },
            { id: 'c', path: ['family_name'] },
          ],
          claim_sets: [['a', 'b'], ['c']],
        },
      ],
    });
    expect(dcqlMatchProblems(claimSets, { dl: [sdJwt({ family_name: 'Chen' })] })).toEqual([]);
    // No option complete: what each one misses, and the library's verdict.
    expect(dcqlMatchProblems(claimSets, { dl: [sdJwt({ categories: ['C1'] })] })).toEqual([
      'dl: expiry_date was not disclosed',
      'dl: family_name was not disclosed',
      'dl: the presentation does not match the credential query',
    ]);
  });

  it('claimValueProblems, with claim_sets, holds values only to an option met, and says why none was', () => {
    const sets = query({
      credentials: [
        {
          id: 'dl',
          format: 'dc+sd-jwt',
          meta: { vct_values: [VCT] },
          claims: [
            { id: 'a', path: ['class'], values: ['C'] },
            { id: 'b', path: ['name'] },
          ],
          claim_sets: [['a'], ['b']],
        },
      ],
    });
    expect(claimValueProblems(sets, 'dl', { class: 'B', name: 'Chen' })).toEqual([]);
    expect(claimValueProblems(sets, 'dl', { class: 'C' })).toEqual([]);
    expect(claimValueProblems(sets, 'dl', { class: 'B' })).toEqual([
      'dl: class does not have one of the requested values',
      'dl: name was not disclosed',
    ]);
  });

  it('claimValueProblems ignores claims the query puts no values on', () => {
    expect(claimValueProblems(single, 'dl', { categories: ['anything'] })).toEqual([]);
  });

  it('claimValueProblems compares what the whole path selects: an array element by index, every element by null, a member', () => {
    const withValues = (path: unknown[], values: unknown[]) =>
      query({ credentials: [{ id: 'dl', format: 'dc+sd-jwt', meta: { vct_values: [VCT] }, claims: [{ path, values }] }] });
    const claims = { categories: ['B1', 'C1'], address: { locality: 'Haidian' } };
    expect(claimValueProblems(withValues(['categories', 0], ['B1']), 'dl', claims)).toEqual([]);
    expect(claimValueProblems(withValues(['categories', 1], ['B1']), 'dl', claims)).toEqual([
      'dl: categories does not have one of the requested values',
    ]);
    expect(claimValueProblems(withValues(['categories', null], ['C1']), 'dl', claims)).toEqual([]);
    expect(claimValueProblems(withValues(['categories', null], ['D']), 'dl', claims)).toEqual([
      'dl: categories does not have one of the requested values',
    ]);
    expect(claimValueProblems(withValues(['address', 'locality'], ['Haidian']), 'dl', claims)).toEqual([]);
    expect(claimValueProblems(withValues(['address', 'locality'], ['Chaoyang']), 'dl', claims)).toEqual([
      'dl: address does not have one of the requested values',
    ]);
    // A whole array is not one of the values; an index past the end selects nothing and is refused (the dcql
    // library would take any element); a member that is not there is left to the presence rules.
    expect(claimValueProblems(withValues(['categories'], ['B1']), 'dl', claims)).toEqual([
      'dl: categories does not have one of the requested values',
    ]);
    expect(claimValueProblems(withValues(['categories', 5], ['B1']), 'dl', claims)).toEqual([
      'dl: categories has no element at the requested position',
    ]);
    expect(claimValueProblems(withValues(['address', 'postal_code'], ['100080']), 'dl', claims)).toEqual([]);
  });
});
