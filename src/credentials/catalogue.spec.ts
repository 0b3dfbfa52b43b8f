import { jest } from '@jest/globals';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { projectRoot } from '../common/index.js';
import {
  Catalogue,
  canonicalJson,
  MAX_PATTERN_CHECKED_LENGTH,
  parseLicenceTypeDefinition,
  readSeedDefinitions,
  runsOnLinearEngine,
  type LicenceTypeDefinition,
} from './catalogue.js';

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
      // meta-schema: a wrong type name, a negative minLength (an invalid pattern gets our message: see below)
      { type: 'object', additionalProperties: false, properties: { name: { type: 'strang' } }, required: [] },
      { type: 'object', additionalProperties: false, properties: { name: { type: 'string', minLength: -1 } }, required: [] },
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
    expect(schemas.map((claims) => expected(claims).length)).toEqual([1, 1, 1, 1, 0]);
  });
});

describe('claim patterns (a pattern runs as a backtracking RegExp on the event loop)', () => {
  const base = {
    id: 'fishing-permit',
    vcType: 'FishingPermitCredential',
    display: { en: { name: 'Fishing permit' }, 'zh-CN': { name: '捕捞许可证' } },
    validityDays: 365,
    formats: ['dc+sd-jwt'],
    selectivelyDisclosable: [],
  };
  const withClaim = (schema: object) => ({
    ...base,
    claims: { type: 'object', additionalProperties: false, properties: { permit_number: schema }, required: [] },
  });
  const problemsOf = (schema: object) => parseLicenceTypeDefinition(withClaim(schema)).problems;
  const unsafe = (path: string) => ({
    path,
    message: expect.stringMatching(/^claim permit_number: pattern may take exponential time to match/),
  });

  it('refuses a nested quantifier, naming the claim', () => {
    expect(problemsOf({ type: 'string', pattern: '(a+)+$' })).toEqual([unsafe('claims.properties.permit_number.pattern')]);
  });

  it('refuses a repeated group with alternatives, which safe-regex2 lets through', () => {
    for (const pattern of ['(a|a)*$', '(a|aa)+$', '^(\\w|\\d)+$', '((a|b)c){2}', '(?:x|y){2,}'])
      expect(problemsOf({ type: 'string', pattern })).toEqual([unsafe('claims.properties.permit_number.pattern')]);
  });

  it('accepts safe patterns, and runs them', () => {
    const safe = [
      '^[A-Z]{2}[0-9]{6}$',
      '^[\\u4e00-\\u9fa5]{2,20}$',
      '^\\p{Script=Han}+$',
      '^(C1|C2|A1)$',
      '^(ab|cd)?[0-9]+$',
      '^[(|)]+$',
      '^\\(a|b\\)+$',
    ];
    for (const pattern of safe) expect(problemsOf({ type: 'string', pattern })).toEqual([]);
    const definition = parseLicenceTypeDefinition(withClaim({ type: 'string', pattern: '^[A-Z]{2}[0-9]{6}$' })).definition!;
    const catalogue = new Catalogue([definition], 'https://issuer.example');
    expect(catalogue.validateClaims('fishing-permit', { permit_number: 'ZJ123456' })).toEqual([]);
    expect(catalogue.validateClaims('fishing-permit', { permit_number: 'zj123456' })).toEqual([
      { path: 'permit_number', message: 'must match pattern "^[A-Z]{2}[0-9]{6}$"' },
    ]);
  });

  it('runs a pattern with several long repetitions on RE2, which cannot backtrack; the short ones stay native', () => {
    for (const pattern of ['\\d*\\d*\\d*\\d*x', '^[A-Z]+-[0-9]+$', '\\d{0,100}\\d{0,100}x', '^[\\u4e00-\\u9fa5]+[0-9]{2,}$'])
      expect({ pattern, linear: runsOnLinearEngine(pattern) }).toEqual({ pattern, linear: true });
    for (const pattern of ['^[A-Z]{2}[0-9]{6}$', '^[a-z]+$', '^[0-9A-Z-]{6,32}$', '^[+*]{2}\\+$', '^[\\u4e00-\\u9fa5]{2,20}$'])
      expect({ pattern, linear: runsOnLinearEngine(pattern) }).toEqual({ pattern, linear: false });
    // \d*\d*\d*\d*x backtracks for minutes on a few hundred digits natively; on RE2 this finishes at once (a
    // regression would hang this test until its timeout).
    const slow = parseLicenceTypeDefinition(withClaim({ type: 'string', pattern: '^\\d*\\d*\\d*\\d*x$' }));
    expect(slow.problems).toEqual([]);
    const catalogue = new Catalogue([slow.definition!], 'https://issuer.example');
    expect(catalogue.validateClaims('fishing-permit', { permit_number: '1'.repeat(MAX_PATTERN_CHECKED_LENGTH) })).toHaveLength(1);
    expect(catalogue.validateClaims('fishing-permit', { permit_number: '123x' })).toEqual([]);
    // \uXXXX escapes are given to RE2 in its own syntax.
    const han = parseLicenceTypeDefinition(withClaim({ type: 'string', pattern: '^[\\u4e00-\\u9fa5]+[0-9]{2,}$' }));
    expect(han.problems).toEqual([]);
    const names = new Catalogue([han.definition!], 'https://issuer.example');
    expect(names.validateClaims('fishing-permit', { permit_number: '王芳123' })).toEqual([]);
    expect(names.validateClaims('fishing-permit', { permit_number: 'Wang123' })).toHaveLength(1);
  });

  it('refuses what RE2 lacks or reads otherwise (lookaround, backreferences, \\S in a class, empty classes)', () => {
    for (const pattern of ['^(?=[A-Z])[A-Z0-9]{2,8}$', '^(a)\\1$', '^[\\S]{2}$', '^[]$', '^[^]$'])
      expect({ pattern, problems: problemsOf({ type: 'string', pattern }) }).toEqual({
        pattern,
        problems: [
          {
            path: 'claims.properties.permit_number.pattern',
            message: expect.stringMatching(/^claim permit_number: pattern uses /),
          },
        ],
      });
  });

  it('sends any pattern with two variable repetitions to RE2, ranges and ? included (no polynomial backtracking)', () => {
    for (const pattern of ['\\d*\\d{0,32}\\d{0,32}x', '\\d{0,32}\\d{0,32}x', 'a?a?a?a?aaaa', '^(?:ab)?[0-9]+$'])
      expect({ pattern, linear: runsOnLinearEngine(pattern) }).toEqual({ pattern, linear: true });
    for (const pattern of ['^(?:ab)[0-9]+$', '^[0-9]{17}[0-9X]$', '^[?*+]{2}$'])
      expect({ pattern, linear: runsOnLinearEngine(pattern) }).toEqual({ pattern, linear: false });
  });

  it('keeps a pattern’s JavaScript meaning on RE2: \\s, \\S and . as JavaScript reads them', () => {
    const catalogueWith = (pattern: string) =>
      new Catalogue([parseLicenceTypeDefinition(withClaim({ type: 'string', pattern })).definition!], 'https://issuer.example');
    const words = catalogueWith('^\\S+ \\S+$'); // two variable repetitions: RE2
    expect(words.validateClaims('fishing-permit', { permit_number: 'ab cd' })).toEqual([]);
    // A no-break space is \\s to JavaScript (RE2's own \\s is ASCII only).
    expect(words.validateClaims('fishing-permit', { permit_number: 'a\u00a0b cd' })).toHaveLength(1);
    const dots = catalogueWith('^.+x.*$');
    expect(dots.validateClaims('fishing-permit', { permit_number: 'abx' })).toEqual([]);
    // JavaScript's . (no s flag) stops at a line terminator (RE2's only at \\n).
    expect(dots.validateClaims('fishing-permit', { permit_number: 'a\u2028x' })).toHaveLength(1);
    expect(dots.validateClaims('fishing-permit', { permit_number: 'a\rx' })).toHaveLength(1);
    const han = catalogueWith('^\\p{Script=Han}+[0-9]*$');
    expect(han.validateClaims('fishing-permit', { permit_number: '王芳12' })).toEqual([]);
  });

  it('refuses claims named like the SD-JWT VC’s own (they would overwrite it, and may never be disclosures)', () => {
    for (const name of ['status', 'exp', 'cnf', 'vct', '_sd', '...'])
      expect(
        parseLicenceTypeDefinition({
          ...base,
          claims: { type: 'object', additionalProperties: false, properties: { [name]: { type: 'string' } }, required: [] },
        }).problems,
      ).toEqual([{ path: `claims.properties.${name}`, message: `${name} is a name the SD-JWT VC itself uses` }]);
  });

  it('gives an invalid regular expression our message, not the engine’s', () => {
    const problems = problemsOf({ type: 'string', pattern: '(' });
    expect(problems).toEqual([
      {
        path: 'claims.properties.permit_number.pattern',
        message: 'claim permit_number: pattern is not a valid regular expression',
      },
    ]);
    expect(JSON.stringify(problems)).not.toMatch(/Invalid regular expression|Unterminated/);
  });

  it('refuses a pattern longer than 256 characters', () => {
    expect(problemsOf({ type: 'string', pattern: `^${'[a-z]'.repeat(60)}$` })).toEqual([
      {
        path: 'claims.properties.permit_number.pattern',
        message: 'claim permit_number: pattern is longer than 256 characters',
      },
    ]);
  });

  it('finds patterns anywhere in a claim’s schema: nested, in items, in patternProperties keys, in applicators', () => {
    const bad = '(a+)+$';
    const schema = {
      type: 'object',
      properties: { inner: { type: 'string', pattern: bad } },
      patternProperties: { [bad]: { type: 'string' } },
      propertyNames: { pattern: bad },
      allOf: [{ $ref: '#/$defs/code' }],
      $defs: { code: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string', pattern: bad } } } },
    };
    expect(problemsOf(schema)).toEqual([
      unsafe('claims.properties.permit_number.patternProperties'),
      unsafe('claims.properties.permit_number.properties.inner.pattern'),
      unsafe('claims.properties.permit_number.propertyNames.pattern'),
      unsafe('claims.properties.permit_number.$defs.code.additionalProperties.items.pattern'),
    ]);
    // an `enum` or `const` value is data, not a schema: its members are not patterns
    expect(problemsOf({ enum: [{ pattern: bad }] })).toEqual([]);
  });

  it('matches a value longer than MAX_PATTERN_CHECKED_LENGTH on RE2, with the same answer (so `not` keeps its meaning)', () => {
    const definition = parseLicenceTypeDefinition(
      withClaim({ type: 'string', pattern: '^[a-z]+$', not: { pattern: '<script' } }),
    ).definition!;
    const catalogue = new Catalogue([definition], 'https://issuer.example');
    const claims = (value: string) => ({ permit_number: value });
    for (const length of [MAX_PATTERN_CHECKED_LENGTH, MAX_PATTERN_CHECKED_LENGTH + 1, 5_000]) {
      expect(catalogue.validateClaims('fishing-permit', claims('a'.repeat(length)))).toEqual([]);
      expect(catalogue.validateClaims('fishing-permit', claims(`${'a'.repeat(length)}!`))).toHaveLength(1);
    }
    expect(catalogue.validateClaims('fishing-permit', claims(`${'a'.repeat(2_000)}<script`))).not.toEqual([]);
  });

  it('leaves out a loaded entry (storage, another department) with an unsafe pattern, with a log line', () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      // As the repository hands it over: a stored definition, not passed through parseLicenceTypeDefinition again.
      const safe = parseLicenceTypeDefinition(withClaim({ type: 'string', pattern: '^[a-z]+$' })).definition!;
      const definition: LicenceTypeDefinition = {
        ...safe,
        claims: { ...safe.claims, properties: { permit_number: { type: 'string', pattern: '(a+)+$' } } },
      };
      const unsafeEntry = { definition, status: 'active' as const, version: 2 };
      const seed = readSeedDefinitions(join(projectRoot(), 'catalogue'));
      const catalogue = new Catalogue([...seed, unsafeEntry], 'https://issuer.example');
      expect(catalogue.get('fishing-permit')).toBeUndefined();
      expect(catalogue.all()).toHaveLength(seed.length);
      expect(catalogue.validateClaims('fishing-permit', { permit_number: `${'a'.repeat(28)}!` })).toEqual([
        { path: '(root)', message: 'unknown credential type fishing-permit' },
      ]);
      expect(errors).toHaveBeenCalledWith(
        expect.objectContaining({
          event: 'catalogue_type_refused',
          typeId: 'fishing-permit',
          version: 2,
          problems: [unsafe('claims.properties.permit_number.pattern')],
        }),
        'catalogue type not loaded: its claims schema has an unsafe or invalid pattern',
      );
    } finally {
      errors.mockRestore();
    }
  });
});
