import { join } from 'node:path';
import { projectRoot } from '../common/index.js';
import { Catalogue } from './catalogue.js';
import { sharesHiddenClass } from '../../test/support/hidden-class.js';
import { buildCredentialDocument, checkIssueInput, vcJwt11Payload, vcJwtPayload, type IssueRule } from './issue-input.js';

const catalogue = Catalogue.load(join(projectRoot(), 'catalogue'), 'https://issuer.example');
const AGENCY = 'did:ethr:govchain:0x5B38Da6a701c568545dCfcB03FcB875f56beddC4';
const V2 = 'https://www.w3.org/ns/credentials/v2';
const LICENCE = {
  family_name: 'Li',
  given_name: 'Hua',
  birth_date: '1990-01-31',
  licence_number: '110101199001311234',
  categories: ['C1'],
  expiry_date: '2032-05-01',
};
/** A full VCDM 2.0 request as the W3C suites send it (generic type, free-form subject). */
const VALID = {
  '@context': [V2, 'https://www.w3.org/ns/credentials/examples/v2'],
  id: 'urn:uuid:5a2c1f2e-3b8e-4c6a-9d2a-0b7c7a1e9f10',
  type: ['VerifiableCredential', 'ExampleAlumniCredential'],
  issuer: AGENCY,
  name: 'Alumni',
  description: { '@value': '校友证明', '@language': 'zh' },
  validFrom: '2020-01-01T00:00:00Z',
  credentialSubject: { id: 'https://example.edu/students/1', alumniOf: 'Example University' },
};

const check = (credential: unknown, format?: 'dc+sd-jwt' | 'jwt_vc_json' | 'ldp_vc') =>
  checkIssueInput(credential, { agencyDid: AGENCY, catalogue, format });
const codes = (credential: unknown, format?: 'dc+sd-jwt' | 'jwt_vc_json' | 'ldp_vc') =>
  check(credential, format).violations.map((violation) => `${violation.path} ${violation.code}`);

/** One valid and one invalid input per issuance rule: [rule, valid credential, invalid credential, expected violation]. */
const RULES: [string, Record<string, unknown>, Record<string, unknown>, `${string} ${IssueRule}`][] = [
  ['@context present', VALID, { ...VALID, '@context': undefined, issuer: AGENCY }, 'credential.@context context.required'],
  ['@context is an array', VALID, { ...VALID, '@context': V2 }, 'credential.@context context.not_ordered_set'],
  [
    'first @context is v2 (or v1)',
    VALID,
    { ...VALID, '@context': ['https://example.org/contexts/v1', V2] },
    'credential.@context[0] context.first_not_v2',
  ],
  [
    'no second base context',
    VALID,
    { ...VALID, '@context': [V2, 'https://www.w3.org/2018/credentials/v1'] },
    'credential.@context[1] context.item_invalid',
  ],
  [
    '@context items are URLs or objects',
    VALID,
    { ...VALID, '@context': [V2, 42] },
    'credential.@context[1] context.item_invalid',
  ],
  ['id is a URL', VALID, { ...VALID, id: 'not a url' }, 'credential.id id.not_url'],
  ['type present', VALID, { ...VALID, type: undefined }, 'credential.type type.required'],
  [
    'type includes VerifiableCredential',
    VALID,
    { ...VALID, type: ['ExampleAlumniCredential'] },
    'credential.type type.missing_base',
  ],
  [
    'type entries are terms or URLs',
    VALID,
    { ...VALID, type: ['VerifiableCredential', 'has space'] },
    'credential.type[1] type.not_term_or_url',
  ],
  ['name is text', VALID, { ...VALID, name: 42 }, 'credential.name name.invalid'],
  ['description is text', VALID, { ...VALID, description: { value: 'x' } }, 'credential.description description.invalid'],
  ['issuer present', VALID, { ...VALID, issuer: undefined }, 'credential.issuer issuer.required'],
  ['issuer is a URL', VALID, { ...VALID, issuer: 'not a url' }, 'credential.issuer issuer.not_url'],
  [
    'issuer object has a URL id',
    { ...VALID, issuer: { id: AGENCY, name: 'DMV' } },
    { ...VALID, issuer: { name: 'DMV' } },
    'credential.issuer.id issuer.not_url',
  ],
  ['issuer is the agency', VALID, { ...VALID, issuer: 'did:example:someone-else' }, 'credential.issuer issuer.not_agency'],
  ['issuer is not null', VALID, { ...VALID, issuer: null }, 'credential.issuer issuer.invalid'],
  [
    'credentialSubject present',
    VALID,
    { ...VALID, credentialSubject: undefined },
    'credential.credentialSubject credentialSubject.required',
  ],
  [
    'credentialSubject is an object',
    VALID,
    { ...VALID, credentialSubject: 'x' },
    'credential.credentialSubject credentialSubject.invalid',
  ],
  [
    'credentialSubject makes a claim',
    VALID,
    { ...VALID, credentialSubject: {} },
    'credential.credentialSubject credentialSubject.no_claims',
  ],
  [
    'credentialSubject.id is a URL',
    VALID,
    { ...VALID, credentialSubject: { id: 'x y', a: 1 } },
    'credential.credentialSubject.id id.not_url',
  ],
  ['validFrom is a dateTimeStamp', VALID, { ...VALID, validFrom: '2020-01-01' }, 'credential.validFrom validFrom.invalid'],
  [
    'validUntil is a dateTimeStamp',
    { ...VALID, validUntil: '2030-01-01T00:00:00Z' },
    { ...VALID, validUntil: 'tomorrow' },
    'credential.validUntil validUntil.invalid',
  ],
  [
    'validUntil after validFrom',
    { ...VALID, validUntil: '2030-01-01T00:00:00Z' },
    { ...VALID, validUntil: '2019-01-01T00:00:00Z' },
    'credential.validUntil validity.order',
  ],
  [
    'credentialStatus has a type',
    { ...VALID, credentialStatus: { id: 'https://example.gov/status/1#3', type: 'ExampleStatusEntry' } },
    { ...VALID, credentialStatus: { id: 'https://example.gov/status/1#3' } },
    'credential.credentialStatus.type extension.type_required',
  ],
  [
    'a BitstringStatusListEntry given is well formed (Bitstring Status List §3: MALFORMED_VALUE_ERROR)',
    {
      ...VALID,
      credentialStatus: {
        type: 'BitstringStatusListEntry',
        statusPurpose: 'revocation',
        statusListIndex: '3',
        statusListCredential: 'https://example.gov/status/1',
      },
    },
    {
      ...VALID,
      credentialStatus: {
        type: 'BitstringStatusListEntry',
        statusPurpose: 'revocation',
        statusListIndex: true,
        statusListCredential: 'https://example.gov/status/1',
      },
    },
    'credential.credentialStatus.statusListIndex status_entry.index',
  ],
  [
    'credentialSchema has an id',
    { ...VALID, credentialSchema: { id: 'https://example.org/schema.json', type: 'JsonSchema' } },
    { ...VALID, credentialSchema: { type: 'JsonSchema' } },
    'credential.credentialSchema.id extension.id_required',
  ],
  [
    'termsOfUse has a type',
    { ...VALID, termsOfUse: { type: 'TrustFrameworkPolicy' } },
    { ...VALID, termsOfUse: { id: 'https://example.org/tou' } },
    'credential.termsOfUse.type extension.type_required',
  ],
  [
    'evidence is objects',
    { ...VALID, evidence: [{ type: ['Evidence'] }] },
    { ...VALID, evidence: ['x'] },
    'credential.evidence extension.invalid',
  ],
  [
    'refreshService has a type',
    { ...VALID, refreshService: { id: 'https://example.org/refresh', type: 'VerifiableCredentialRefreshService2021' } },
    { ...VALID, refreshService: { id: 'https://example.org/refresh' } },
    'credential.refreshService.type extension.type_required',
  ],
  ['no proof submitted', VALID, { ...VALID, proof: { type: 'DataIntegrityProof' } }, 'credential.proof proof.present'],
  [
    'type is in the catalogue',
    { type: 'DrivingLicenceCredential', credentialSubject: LICENCE },
    { type: 'NoSuchCredential', credentialSubject: LICENCE },
    'credential.type type.unknown',
  ],
  [
    'type names one licence type (the authorisation and the schema are checked for one, a reader may trust another)',
    { type: ['VerifiableCredential', 'DrivingLicenceCredential'], credentialSubject: LICENCE },
    { type: ['VerifiableCredential', 'DrivingLicenceCredential', 'ResidentIdentityCredential'], credentialSubject: LICENCE },
    'credential.type type.ambiguous',
  ],
  [
    'claims match the type schema',
    { type: 'DrivingLicenceCredential', credentialSubject: LICENCE },
    { type: 'DrivingLicenceCredential', credentialSubject: { ...LICENCE, categories: ['Z'] } },
    'credential.credentialSubject.categories.0 credentialSubject.claims',
  ],
  [
    'several subjects only where the type allows',
    { ...VALID, credentialSubject: [{ a: 1 }, { b: 2 }] },
    { type: 'DrivingLicenceCredential', credentialSubject: [LICENCE, LICENCE] },
    'credential.credentialSubject credentialSubject.multiple_not_allowed',
  ],
];

describe('checkIssueInput: every VC-API issuance rule, one valid and one invalid input each', () => {
  it.each(RULES)('%s', (_rule, valid, invalid, expected) => {
    expect(codes(valid)).toEqual([]);
    expect(codes(JSON.parse(JSON.stringify(invalid)))).toContain(expected);
  });

  it('lists every violation at once', () => {
    const all = codes({ ...VALID, '@context': [V2, 1], id: 'x', issuer: 'did:example:other', validFrom: 'soon', proof: {} });
    expect(all).toEqual(
      expect.arrayContaining([
        'credential.@context[1] context.item_invalid',
        'credential.id id.not_url',
        'credential.validFrom validFrom.invalid',
        'credential.issuer issuer.not_agency',
        'credential.proof proof.present',
      ]),
    );
  });

  it('completes the shorthand of our back offices (no @context, no issuer), adding undefined-terms for Data Integrity', () => {
    const { input } = check({ type: 'DrivingLicenceCredential', credentialSubject: LICENCE }, 'ldp_vc');
    expect(input!.type.id).toBe('driving-licence');
    expect(input!.document).toEqual({
      '@context': [V2, 'https://www.w3.org/ns/credentials/undefined-terms/v2'],
      type: ['VerifiableCredential', 'DrivingLicenceCredential'],
      issuer: AGENCY,
      credentialSubject: LICENCE,
    });
    expect(check({ type: 'DrivingLicenceCredential', credentialSubject: LICENCE }).input!.document['@context']).toEqual([V2]);
  });

  it('refuses a format the type does not offer, and a subject array in an SD-JWT', () => {
    expect(codes(VALID, 'dc+sd-jwt')).toEqual(['options.format format.not_offered']);
    expect(codes({ ...VALID, credentialSubject: [{ a: 1 }] }, 'dc+sd-jwt')).toContain('options.format format.not_offered');
  });

  it('accepts an issuer object whose id is the agency, a past validFrom and a subject id that is any URL', () => {
    const { input, violations } = check({ ...VALID, issuer: { id: AGENCY, name: '车管所' } });
    expect(violations).toEqual([]);
    expect(input).toMatchObject({ subjectId: 'https://example.edu/students/1', type: { id: 'generic-vcdm2' } });
  });
});

describe('checkIssueInput and buildCredentialDocument: VCDM 1.1 documents', () => {
  const V1 = 'https://www.w3.org/2018/credentials/v1';
  /** The W3C Data Integrity suites' VCDM 1.1 document (their issuer fills id, issuer and issuanceDate). */
  const VALID_11 = {
    '@context': [V1, { name: 'https://schema.org/name', description: 'https://schema.org/description' }],
    id: 'urn:uuid:36245ee9-9074-4b05-a777-febff2e69757',
    type: ['VerifiableCredential'],
    issuer: AGENCY,
    credentialSubject: {
      id: 'urn:uuid:1a0e4ef5-091f-4060-842e-18e519ab9440',
      name: 'Alice',
      description: 'A credential about Alice.',
    },
  };
  const fill = {
    id: 'urn:uuid:00000000-0000-4000-8000-000000000001',
    validFrom: new Date('2026-01-01T00:00:00.000Z'),
    validUntil: new Date('2027-01-01T00:00:00.000Z'),
    status: [{ id: 'https://chancery.example/status/1/revocation#7', type: 'BitstringStatusListEntry' }],
  };

  it('checks a v1 document by the 1.1 rules, leaving its issuanceDate to the issuer', () => {
    const { input, violations } = check(VALID_11, 'ldp_vc');
    expect(violations).toEqual([]);
    expect(input).toMatchObject({ dataModel: '1.1', type: { id: 'generic-vcdm2' }, shorthand: false });
    expect(codes({ ...VALID_11, issuanceDate: 'today' })).toEqual(['credential.issuanceDate issuanceDate.invalid']);
    expect(codes({ ...VALID_11, credentialStatus: { type: 'X' } })).toEqual([
      'credential.credentialStatus.id extension.id_required',
    ]);
  });

  it('refuses a document asked for in the other model, and completes the shorthand in the model asked for', () => {
    const asked = (credential: unknown, dataModel: '2.0' | '1.1') =>
      checkIssueInput(credential, { agencyDid: AGENCY, catalogue, format: 'jwt_vc_json', dataModel });
    expect(asked(VALID_11, '2.0').violations.map((v) => `${v.path} ${v.code}`)).toEqual(['options.dataModel dataModel.mismatch']);
    expect(asked(VALID, '1.1').violations.map((v) => `${v.path} ${v.code}`)).toEqual(['options.dataModel dataModel.mismatch']);
    const shorthand = asked({ type: 'DrivingLicenceCredential', credentialSubject: LICENCE }, '1.1').input!;
    expect(shorthand).toMatchObject({ dataModel: '1.1', document: { '@context': [V1], issuer: AGENCY } });
    // The shorthand's validity, named as 2.0 names it, becomes 1.1's dates (it was silently dropped otherwise).
    const dated = asked(
      {
        type: 'DrivingLicenceCredential',
        credentialSubject: LICENCE,
        validFrom: '2026-01-01T00:00:00Z',
        validUntil: '2027-01-01T00:00:00Z',
      },
      '1.1',
    ).input!.document;
    expect(dated).toMatchObject({ issuanceDate: '2026-01-01T00:00:00Z', expirationDate: '2027-01-01T00:00:00Z' });
    expect(dated).not.toHaveProperty('validFrom');
    // An SD-JWT VC has no data model to choose: a 1.1 request with a 2.0 document is not refused for it, whether the
    // format is asked for or is the type's default.
    const licence = {
      '@context': [V2],
      type: ['VerifiableCredential', 'DrivingLicenceCredential'],
      issuer: AGENCY,
      credentialSubject: LICENCE,
    };
    for (const format of ['dc+sd-jwt', undefined] as const) {
      const sdJwt = checkIssueInput(licence, { agencyDid: AGENCY, catalogue, format, dataModel: '1.1' });
      expect(sdJwt).toMatchObject({ violations: [], input: { format: 'dc+sd-jwt' } });
    }
    expect(
      checkIssueInput(licence, { agencyDid: AGENCY, catalogue, format: 'jwt_vc_json', dataModel: '1.1' }).violations.map(
        (v) => v.code,
      ),
    ).toEqual(['dataModel.mismatch']);
  });

  it('dates a 1.1 document with issuanceDate and expirationDate, and adds the status list context for its entries', () => {
    const built = buildCredentialDocument(VALID_11, fill);
    expect(built).toEqual({
      ...VALID_11,
      '@context': [...VALID_11['@context'], 'https://www.w3.org/ns/credentials/status/v1'],
      issuanceDate: '2026-01-01T00:00:00Z',
      expirationDate: '2027-01-01T00:00:00Z',
      credentialStatus: fill.status,
    });
    expect(built).not.toHaveProperty('validFrom');
    const kept = buildCredentialDocument({ ...VALID_11, issuanceDate: '2020-01-01T00:00:00Z' }, { ...fill, status: [] });
    expect(kept['issuanceDate']).toBe('2020-01-01T00:00:00Z');
    expect(kept['@context']).toEqual(VALID_11['@context']);
  });

  it('secures a 1.1 document as the vc claim of a JWT whose registered claims stand for its issuer, id, subject and dates', () => {
    const document = buildCredentialDocument(VALID_11, fill);
    expect(vcJwt11Payload(document)).toMatchObject({
      iss: AGENCY,
      sub: VALID_11.credentialSubject.id,
      jti: VALID_11.id,
      nbf: Date.parse('2026-01-01T00:00:00Z') / 1000,
      exp: Date.parse('2027-01-01T00:00:00Z') / 1000,
      vc: document,
    });
  });
});

describe('buildCredentialDocument and vcJwtPayload', () => {
  const fill = {
    id: 'urn:uuid:00000000-0000-4000-8000-000000000001',
    validFrom: new Date('2026-01-01T00:00:00.000Z'),
    validUntil: new Date('2027-01-01T00:00:00.000Z'),
    status: [{ id: 'https://chancery.example/status/1/revocation#7', type: 'BitstringStatusListEntry' }],
  };

  it('keeps every submitted member and adds only what is absent; status entries follow submitted ones', () => {
    const submitted = {
      ...VALID,
      evidence: [{ type: ['Evidence'] }],
      credentialStatus: { id: 'https://example.org/s#1', type: 'X' },
    };
    const built = buildCredentialDocument(submitted, fill);
    expect(built).toEqual({
      ...submitted,
      validUntil: '2027-01-01T00:00:00Z',
      credentialStatus: [{ id: 'https://example.org/s#1', type: 'X' }, ...fill.status],
    });
    const minimal = buildCredentialDocument(
      { '@context': [V2], type: ['VerifiableCredential'], credentialSubject: { a: 1 } },
      {
        ...fill,
        holderDid: 'did:jwk:abc',
      },
    );
    expect(minimal).toMatchObject({
      id: fill.id,
      validFrom: '2026-01-01T00:00:00Z',
      credentialSubject: { id: 'did:jwk:abc', a: 1 },
    });
    const open = buildCredentialDocument({ ...VALID }, { ...fill, validUntil: undefined });
    expect(open).not.toHaveProperty('validUntil');
  });

  it('gives every built document and payload of one shape the same hidden class (ADR 33: none per credential)', () => {
    const document = (i: number) => ({ '@context': [V2], type: ['VerifiableCredential'], credentialSubject: { a: i } });
    expect(sharesHiddenClass((i) => buildCredentialDocument(document(i), fill))).toBe(true);
    expect(sharesHiddenClass((i) => vcJwtPayload(buildCredentialDocument(document(i), fill)))).toBe(true);
  });

  it('mirrors issuer, id, expiry and subject in registered JWT claims, and no nbf (VC-JOSE-COSE: NOT RECOMMENDED)', () => {
    const payload = vcJwtPayload(buildCredentialDocument({ ...VALID, issuer: { id: AGENCY } }, fill));
    expect(payload).toMatchObject({
      iss: AGENCY,
      jti: VALID.id,
      exp: Date.parse('2027-01-01T00:00:00Z') / 1000,
      sub: 'https://example.edu/students/1',
    });
    expect(payload).not.toHaveProperty('nbf');
  });
});
