import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { projectRoot } from '../common/index.js';
import { Catalogue, canonicalJson, parseLicenceTypeDefinition, readSeedDefinitions } from './catalogue.js';

describe('licence catalogue', () => {
  const catalogue = Catalogue.load(join(projectRoot(), 'catalogue'), 'https://issuer.example');

  it('ships the four licence types and the generic VCDM 2.0 type with zh-CN and en display names', () => {
    expect(catalogue.list().map((type) => type.id)).toEqual([
      'business-licence',
      'driving-licence',
      'generic-vcdm2',
      'professional-qualification',
      'resident-identity',
    ]);
    expect(catalogue.get('driving-licence')!.display['zh-CN'].name).toBe('机动车驾驶证');
    expect(catalogue.get('business-licence')!.display['zh-CN'].name).toBe('营业执照');
    expect(catalogue.get('resident-identity')!.vct).toBe('https://issuer.example/vct/resident-identity');
  });

  it('lists every violation with its path', () => {
    const violations = catalogue.validateClaims('driving-licence', {
      family_name: '',
      birth_date: '1990-13-45',
      categories: ['Z'],
      licence_number: 'abc',
      shoe_size: 42,
    });
    expect(violations.map((violation) => violation.path).sort()).toEqual([
      'birth_date',
      'categories.0',
      'expiry_date',
      'family_name',
      'given_name',
      'licence_number',
      'shoe_size',
    ]);
  });

  it('accepts valid claims, and a disclosed subset in partial mode', () => {
    const claims = {
      family_name: '张',
      given_name: '三',
      birth_date: '1990-01-31',
      licence_number: '110101199001311234',
      categories: ['C1'],
      expiry_date: '2032-01-31',
    };
    expect(catalogue.validateClaims('driving-licence', claims)).toEqual([]);
    expect(catalogue.validateClaims('driving-licence', { categories: ['C1'] }, 'partial')).toEqual([]);
    expect(catalogue.validateClaims('driving-licence', { categories: ['C1'] })).not.toEqual([]);
  });

  it('finds a type by its W3C type, the generic type only for types nobody else claims', () => {
    expect(catalogue.byVcTypes(['VerifiableCredential', 'DrivingLicenceCredential'])!.id).toBe('driving-licence');
    expect(catalogue.byVcTypes(['VerifiableCredential', 'ExampleDegreeCredential'])!.id).toBe('generic-vcdm2');
    expect(catalogue.byVcTypes(['VerifiableCredential', 'ExampleDegreeCredential'], false)).toBeUndefined();
    expect(catalogue.byVcTypes(['ExampleDegreeCredential'])).toBeUndefined();
    expect(catalogue.validateClaims('generic-vcdm2', { anything: { nested: [1, 2] } })).toEqual([]);
  });

  it('sees a replaced content at once; retired types are kept for verification but not listed', () => {
    const copy = new Catalogue(readSeedDefinitions(join(projectRoot(), 'catalogue')), 'https://issuer.example');
    const [first, ...rest] = readSeedDefinitions(join(projectRoot(), 'catalogue'));
    copy.replace([{ definition: first!, status: 'retired', version: 3 }, ...rest]);
    expect(copy.list().map((type) => type.id)).not.toContain(first!.id);
    expect(copy.get(first!.id)).toMatchObject({ status: 'retired', version: 3 });
    expect(copy.byVcTypes([first!.vcType])!.id).toBe(first!.id);
  });

  it('parses a definition with every problem listed, and digests it canonically', () => {
    const ok = parseLicenceTypeDefinition({
      id: 'fishing-permit',
      vcType: 'FishingPermitCredential',
      catalogueCode: '11330000002482209J001',
      holderType: 'natural',
      display: { en: { name: 'Fishing permit' }, 'zh-CN': { name: '捕捞许可证' } },
      validityDays: 365,
      formats: ['dc+sd-jwt', 'jwt_vc_json', 'ldp_vc'],
      selectivelyDisclosable: ['name'],
      claims: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } }, required: ['name'] },
    });
    expect(ok.problems).toEqual([]);
    expect(ok.definition!.multipleSubjects).toBe(false);
    const bad = parseLicenceTypeDefinition({
      ...ok.definition,
      id: 'Bad Id',
      holderType: 'robot',
      selectivelyDisclosable: ['nope'],
    });
    expect(bad.problems.map((problem) => problem.path).sort()).toEqual(['holderType', 'id']);
    const unknownClaim = parseLicenceTypeDefinition({ ...ok.definition, selectivelyDisclosable: ['nope'] });
    expect(unknownClaim.problems).toEqual([{ path: 'selectivelyDisclosable', message: 'unknown claim nope' }]);
    const badSchema = parseLicenceTypeDefinition({
      ...ok.definition,
      claims: { ...ok.definition!.claims, properties: { name: { type: 'strang' } } },
    });
    expect(badSchema.problems[0]!.path).toBe('claims');
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });

  it('reports a bad claims schema with the message a fresh Ajv gives (meta-schema, strict mode, formats)', () => {
    const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
    const fresh = () => addFormats(new Ajv2020({ allErrors: true, strict: true }));
    const expected = (claims: object) => {
      try {
        fresh().compile(claims);
        return [];
      } catch (error) {
        return [{ path: 'claims', message: `not a valid JSON Schema: ${(error as Error).message}` }];
      }
    };
    const base = {
      id: 'fishing-permit',
      vcType: 'FishingPermitCredential',
      catalogueCode: '11330000002482209J001',
      holderType: 'natural',
      display: { en: { name: 'Fishing permit' }, 'zh-CN': { name: '捕捞许可证' } },
      validityDays: 365,
      formats: ['dc+sd-jwt'],
      selectivelyDisclosable: [],
    };
    const schemas = [
      // meta-schema: a wrong type name, a negative minLength, a pattern that is not a regular expression
      { type: 'object', additionalProperties: false, properties: { name: { type: 'strang' } }, required: [] },
      { type: 'object', additionalProperties: false, properties: { name: { type: 'string', minLength: -1 } }, required: [] },
      { type: 'object', additionalProperties: false, properties: { name: { type: 'string', pattern: '(' } }, required: [] },
      // strict mode: an unknown keyword; an unknown format
      { type: 'object', additionalProperties: false, properties: { name: { type: 'string', colour: 'red' } }, required: [] },
      { type: 'object', additionalProperties: false, properties: { name: { type: 'string', format: 'postcode' } }, required: [] },
      // valid, with a known format
      {
        type: 'object',
        additionalProperties: false,
        properties: { day: { type: 'string', format: 'date' } },
        required: [],
      },
    ];
    for (const claims of schemas) {
      const wanted = expected(claims);
      // twice: the second time the meta-schema check has been compiled already
      for (let i = 0; i < 2; i++) expect(parseLicenceTypeDefinition({ ...base, claims }).problems).toEqual(wanted);
    }
    expect(schemas.map((claims) => expected(claims).length)).toEqual([1, 1, 1, 1, 1, 0]);
  });
});
