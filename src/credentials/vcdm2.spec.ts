import {
  dataModelOf,
  isDateTimeStamp,
  parseDataUrl,
  validateCredential,
  validateEnvelope,
  validatePresentation,
  type VcdmRule,
} from './vcdm2.js';

const V2 = 'https://www.w3.org/ns/credentials/v2';

/** VCDM 2.0 example 1, made minimal. */
const credential = (): Record<string, unknown> => ({
  '@context': [V2, 'https://www.w3.org/ns/credentials/examples/v2'],
  id: 'http://university.example/credentials/1872',
  type: ['VerifiableCredential', 'ExampleAlumniCredential'],
  issuer: 'https://university.example/issuers/565049',
  validFrom: '2010-01-01T19:23:24Z',
  credentialSubject: { id: 'did:example:ebfeb1f712ebc6f1c276e12ec21', alumniOf: 'Example University' },
});

const rules = (doc: unknown) => validateCredential(doc).map((v) => `${v.path} ${v.rule}`);

type Edit = (doc: Record<string, unknown>) => void;

/** One valid and one invalid edit per rule: the valid one must leave no violation, the other exactly the rule. */
const CASES: { rule: VcdmRule; path: string; ok: Edit; bad: Edit }[] = [
  { rule: 'context.required', path: '@context', ok: () => {}, bad: (d) => delete d['@context'] },
  {
    rule: 'context.not_ordered_set',
    path: '@context',
    ok: (d) => (d['@context'] = [V2]),
    bad: (d) => (d['@context'] = V2),
  },
  {
    rule: 'context.first_not_v2',
    path: '@context[0]',
    ok: (d) => (d['@context'] = [V2, { '@vocab': 'https://example.org/#' }]),
    bad: (d) => (d['@context'] = ['https://www.w3.org/ns/credentials/examples/v2', V2]),
  },
  {
    rule: 'context.item_invalid',
    path: '@context[1]',
    ok: (d) => (d['@context'] = [V2, 'https://w3id.org/security/data-integrity/v2']),
    bad: (d) => (d['@context'] = [V2, 42]),
  },
  {
    rule: 'id.not_url',
    path: 'id',
    ok: (d) => (d['id'] = 'urn:uuid:2d8c2e1a-6f61-4c4b-9d35-0f6c2a4f6f1e'),
    bad: (d) => (d['id'] = 'not a url'),
  },
  { rule: 'type.required', path: 'type', ok: () => {}, bad: (d) => delete d['type'] },
  { rule: 'type.invalid', path: 'type', ok: (d) => (d['type'] = 'VerifiableCredential'), bad: (d) => (d['type'] = [4]) },
  { rule: 'type.missing_base', path: 'type', ok: () => {}, bad: (d) => (d['type'] = ['ExampleAlumniCredential']) },
  {
    rule: 'type.not_term_or_url',
    path: 'type[1]',
    ok: (d) => (d['type'] = ['VerifiableCredential', 'https://example.org/types#Alumni']),
    bad: (d) => {
      d['@context'] = [V2, { Alumni: 'not-a-url' }];
      d['type'] = ['VerifiableCredential', 'Alumni'];
    },
  },
  {
    rule: 'name.invalid',
    path: 'name',
    ok: (d) =>
      (d['name'] = [
        { '@value': '学位证书', '@language': 'zh-CN' },
        { '@value': 'Degree', '@language': 'en' },
      ]),
    bad: (d) => (d['name'] = { '@value': 'x', '@language': 'not a tag!' }),
  },
  {
    rule: 'description.invalid',
    path: 'description',
    ok: (d) => (d['description'] = { '@value': 'أ', '@language': 'ar', '@direction': 'rtl' }),
    bad: (d) => (d['description'] = 12),
  },
  { rule: 'issuer.required', path: 'issuer', ok: () => {}, bad: (d) => delete d['issuer'] },
  {
    rule: 'issuer.invalid',
    path: 'issuer',
    ok: (d) => (d['issuer'] = { id: 'did:example:76e12ec712ebc6f1c221ebfeb1f' }),
    bad: (d) => (d['issuer'] = null),
  },
  {
    rule: 'issuer.not_url',
    path: 'issuer.id',
    ok: (d) => (d['issuer'] = { id: 'https://example.edu', name: 'Example University' }),
    bad: (d) => (d['issuer'] = { name: 'no id' }),
  },
  { rule: 'credentialSubject.required', path: 'credentialSubject', ok: () => {}, bad: (d) => delete d['credentialSubject'] },
  {
    rule: 'credentialSubject.invalid',
    path: 'credentialSubject',
    ok: (d) => (d['credentialSubject'] = [{ name: 'Alice' }, { id: 'did:example:bob', name: 'Bob' }]),
    bad: (d) => (d['credentialSubject'] = []),
  },
  {
    rule: 'credentialSubject.no_claims',
    path: 'credentialSubject',
    ok: (d) => (d['credentialSubject'] = { id: 'did:example:only-an-id' }),
    bad: (d) => (d['credentialSubject'] = {}),
  },
  {
    rule: 'validFrom.invalid',
    path: 'validFrom',
    ok: (d) => (d['validFrom'] = '2010-01-01T19:23:24.123+08:00'),
    bad: (d) => (d['validFrom'] = '2010-01-01T19:23:24'),
  },
  {
    rule: 'validUntil.invalid',
    path: 'validUntil',
    ok: (d) => (d['validUntil'] = '2030-01-01T00:00:00Z'),
    bad: (d) => (d['validUntil'] = '2030-01-01'),
  },
  {
    rule: 'validity.order',
    path: 'validUntil',
    ok: (d) => (d['validUntil'] = '2010-01-01T19:23:24Z'),
    bad: (d) => (d['validUntil'] = '2009-01-01T00:00:00Z'),
  },
  {
    rule: 'extension.invalid',
    path: 'termsOfUse',
    ok: (d) => (d['termsOfUse'] = [{ type: 'TrustFrameworkPolicy', id: 'https://policy.example/1' }]),
    bad: (d) => (d['termsOfUse'] = 'no object'),
  },
  {
    rule: 'extension.type_required',
    path: 'evidence[0].type',
    ok: (d) => (d['evidence'] = [{ type: ['Evidence'], id: 'https://university.example/evidence/1' }]),
    bad: (d) => (d['evidence'] = [{ id: 'https://university.example/evidence/1' }]),
  },
  {
    rule: 'extension.id_required',
    path: 'credentialSchema.id',
    ok: (d) => (d['credentialSchema'] = { id: 'https://example.org/schema.json', type: 'JsonSchema' }),
    bad: (d) => (d['credentialSchema'] = { type: 'JsonSchema' }),
  },
  {
    rule: 'relatedResource.digest_required',
    path: 'relatedResource',
    ok: (d) => (d['relatedResource'] = { id: 'https://example.org/a.png', digestSRI: 'sha384-abc' }),
    bad: (d) => (d['relatedResource'] = { id: 'https://example.org/a.png' }),
  },
  {
    rule: 'relatedResource.duplicate_id',
    path: 'relatedResource[1].id',
    ok: (d) =>
      (d['relatedResource'] = [
        { id: 'https://example.org/a.png', digestSRI: 'sha384-abc' },
        { id: 'https://example.org/b.png', digestSRI: 'sha384-def' },
      ]),
    bad: (d) =>
      (d['relatedResource'] = [
        { id: 'https://example.org/a.png', digestSRI: 'sha384-abc' },
        { id: 'https://example.org/a.png', digestSRI: 'sha384-def' },
      ]),
  },
  {
    rule: 'proof.invalid',
    path: 'proof',
    ok: (d) => (d['proof'] = { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019' }),
    bad: (d) => (d['proof'] = null),
  },
];

describe('VCDM 2.0 credential rules', () => {
  it('reports related resources without an id as such, not as duplicates of each other', () => {
    const doc = { ...credential(), relatedResource: [{ digestSRI: 'sha384-abc' }, { digestSRI: 'sha384-def' }] };
    expect(validateCredential(doc).map((v) => `${v.path} ${v.rule}`)).toEqual([
      'relatedResource[0].id id.not_url',
      'relatedResource[1].id id.not_url',
    ]);
  });

  it('accepts the specification example', () => {
    expect(validateCredential(credential())).toEqual([]);
  });

  it.each(CASES)('$rule: accepts a valid value and reports an invalid one', ({ rule, path, ok, bad }) => {
    const good = credential();
    ok(good);
    expect(rules(good)).toEqual([]);
    const wrong = credential();
    bad(wrong);
    expect(rules(wrong)).toEqual([`${path} ${rule}`]);
  });

  it('credentialStatus needs a type and an id that is a URL when given', () => {
    const good = { ...credential(), credentialStatus: { id: 'https://example.org/status#3', type: 'ExampleStatusEntry' } };
    expect(rules(good)).toEqual([]);
    const bad = { ...credential(), credentialStatus: [{ id: 'nope nope' }] };
    expect(rules(bad)).toEqual(['credentialStatus[0].type extension.type_required', 'credentialStatus[0].id id.not_url']);
  });

  it('reports a malformed BitstringStatusListEntry wherever it is (Bitstring Status List §2.1, §3: MALFORMED_VALUE_ERROR)', () => {
    const entry = {
      id: 'https://example.org/status/3#94567',
      type: 'BitstringStatusListEntry',
      statusPurpose: 'revocation',
      statusListIndex: '94567',
      statusListCredential: 'https://example.org/status/3',
    };
    expect(rules({ ...credential(), credentialStatus: entry })).toEqual([]);
    expect(rules({ ...credential(), credentialStatus: [entry, { ...entry, statusSize: 2, statusMessage: [] }] })).toEqual([]);
    const bad = {
      ...credential(),
      credentialStatus: [
        { ...entry, statusListIndex: true, statusPurpose: undefined },
        { ...entry, statusListIndex: '07' },
      ],
      // As the W3C Bitstring Status List suite sends it: an entry under a member of no specification's, still an entry.
      statusEntry: { type: 'BitstringStatusListEntry', statusListIndex: true, statusListCredential: 'https://example.com' },
    };
    expect(rules(bad).sort()).toEqual(
      [
        'credentialStatus[0].statusPurpose status_entry.purpose',
        'credentialStatus[0].statusListIndex status_entry.index',
        'credentialStatus[1].statusListIndex status_entry.index',
        'statusEntry.statusPurpose status_entry.purpose',
        'statusEntry.statusListIndex status_entry.index',
      ].sort(),
    );
    expect(rules({ ...credential(), credentialStatus: { ...entry, statusListCredential: 'list 3', statusSize: 0 } })).toEqual([
      'credentialStatus.statusListCredential status_entry.list_url',
      'credentialStatus.statusSize status_entry.size',
    ]);
    expect(rules({ ...credential(), credentialStatus: { ...entry, statusSize: 2 } })).toEqual([
      'credentialStatus.statusMessage status_entry.message',
    ]);
  });

  it('keeps at most 100 violations, each path at most 200 characters (both go back in the answer)', () => {
    const name = 'm'.repeat(40_000);
    const violations = validateCredential({
      ...credential(),
      credentialSubject: { [name]: Array.from({ length: 650 }, () => ({ type: 'BitstringStatusListEntry' })) },
    });
    expect(violations).toHaveLength(100);
    expect(Math.max(...violations.map((v) => v.path.length))).toBe(200);
    expect(violations[0]!.path).toMatch(/^credentialSubject\.m+…$/);
  });

  it('refreshService needs a type', () => {
    expect(
      rules({ ...credential(), refreshService: { type: 'VerifiableCredentialRefreshService2021', url: 'https://x.example' } }),
    ).toEqual([]);
    expect(rules({ ...credential(), refreshService: { url: 'https://x.example' } })).toEqual([
      'refreshService.type extension.type_required',
    ]);
  });

  it('lists every violation of a bad document at once', () => {
    const doc = { '@context': 'x', id: 7, issuer: 'issuer', credentialSubject: 'me', validFrom: 'yesterday' };
    expect(rules(doc)).toEqual([
      '@context context.not_ordered_set',
      'id id.not_url',
      'type type.required',
      'issuer issuer.not_url',
      'credentialSubject credentialSubject.invalid',
      'validFrom validFrom.invalid',
    ]);
    expect(rules('a string')).toEqual([' document.not_object']);
  });

  it('subject ids and multiple ids are checked', () => {
    const multi = { ...credential(), credentialSubject: { id: ['did:example:1', 'did:example:2'], name: 'x' } };
    expect(rules(multi)).toEqual(['credentialSubject.id id.not_url']);
  });

  it('knows a dateTimeStamp', () => {
    expect(['2024-02-29T00:00:00Z', '2024-01-01T24:00:00-05:30', '0001-01-01T00:00:00+14:00'].map(isDateTimeStamp)).toEqual([
      true,
      true,
      true,
    ]);
    expect(['2024-13-01T00:00:00Z', '2024-01-01 00:00:00Z', '2024-01-01T00:00:00+15:00', 2024].map(isDateTimeStamp)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('VCDM 1.1 credential rules, where both models are read', () => {
  const V1 = 'https://www.w3.org/2018/credentials/v1';
  /** VCDM 1.1 example 1, made minimal, as the W3C Data Integrity suites send it. */
  const credential11 = (): Record<string, unknown> => ({
    '@context': [V1, 'https://www.w3.org/2018/credentials/examples/v1'],
    id: 'http://example.edu/credentials/1872',
    type: ['VerifiableCredential', 'AlumniCredential'],
    issuer: 'https://example.edu/issuers/565049',
    issuanceDate: '2010-01-01T19:23:24Z',
    credentialSubject: { id: 'did:example:ebfeb1f712ebc6f1c276e12ec21', alumniOf: 'Example University' },
  });
  const both = (doc: unknown) => validateCredential(doc, { models: ['2.0', '1.1'] }).map((v) => `${v.path} ${v.rule}`);

  it('accepts a 1.1 document only where 1.1 is allowed, and 2.0 documents as before', () => {
    expect(both(credential11())).toEqual([]);
    expect(rules(credential11())).toEqual(['@context[0] context.first_not_v2']);
    expect(both(credential())).toEqual([]);
    expect(dataModelOf(credential11())).toBe('1.1');
    expect(dataModelOf(credential())).toBe('2.0');
  });

  it('requires issuanceDate, and both dates as date-times in order', () => {
    const { issuanceDate: _issued, ...undated } = credential11();
    expect(both(undated)).toEqual(['issuanceDate issuanceDate.required']);
    expect(both({ ...credential11(), issuanceDate: '2010-01-01' })).toEqual(['issuanceDate issuanceDate.invalid']);
    expect(both({ ...credential11(), expirationDate: 'never' })).toEqual(['expirationDate expirationDate.invalid']);
    expect(both({ ...credential11(), expirationDate: '2009-01-01T00:00:00Z' })).toEqual(['expirationDate validity.order']);
    expect(both({ ...credential11(), expirationDate: '2030-01-01T00:00:00Z' })).toEqual([]);
  });

  it('requires an id of each credentialStatus (1.1 §4.9), which 2.0 made optional', () => {
    const status = { type: 'ExampleStatusEntry', statusPurpose: 'revocation' };
    expect(both({ ...credential11(), credentialStatus: status })).toEqual(['credentialStatus.id extension.id_required']);
    expect(both({ ...credential(), credentialStatus: status })).toEqual([]);
  });

  it('refuses the two base contexts together, in either order and where only 2.0 is read; one repeated is fine', () => {
    expect(both({ ...credential11(), '@context': [V1, V2] })).toEqual(['@context[1] context.item_invalid']);
    expect(both({ ...credential(), '@context': [V2, V1] })).toEqual(['@context[1] context.item_invalid']);
    expect(rules({ ...credential(), '@context': [V2, V1] })).toEqual(['@context[1] context.item_invalid']);
    expect(rules({ ...credential(), '@context': [V2, V2] })).toEqual([]);
    expect(both({ ...credential11(), '@context': [V1, V1] })).toEqual([]);
  });

  it('requires an id of a refreshService in 1.1 (§5.6)', () => {
    const refresh = { type: 'ManualRefreshService2018' };
    expect(both({ ...credential11(), refreshService: refresh })).toEqual(['refreshService.id extension.id_required']);
    expect(both({ ...credential11(), refreshService: { ...refresh, id: 'https://example.edu/refresh/3732' } })).toEqual([]);
  });

  it('reads a 1.1 presentation and the credentials inside it, each by its own first context', () => {
    const presentation = {
      '@context': [V1],
      type: ['VerifiablePresentation'],
      verifiableCredential: [credential11(), { ...credential11(), issuanceDate: 'yesterday' }],
    };
    expect(validatePresentation(presentation, { models: ['2.0', '1.1'] }).map((v) => `${v.path} ${v.rule}`)).toEqual([
      'verifiableCredential[1].issuanceDate issuanceDate.invalid',
    ]);
    expect(validatePresentation(presentation).map((v) => v.rule)).toContain('context.first_not_v2');
    // 1.1's verifiableCredential does not reset the context: a 2.0 credential or envelope cannot sit inside.
    const mixed = {
      ...presentation,
      verifiableCredential: [
        credential(),
        { '@context': V2, type: 'EnvelopedVerifiableCredential', id: 'data:application/vc+jwt,eyJ.eyJ.sig' },
      ],
    };
    expect(validatePresentation(mixed, { models: ['2.0', '1.1'] }).map((v) => `${v.path} ${v.rule}`)).toEqual([
      'verifiableCredential[0].@context context.first_not_v2',
      'verifiableCredential[1].@context context.first_not_v2',
    ]);
  });
});

describe('VCDM 2.0 presentation rules', () => {
  const presentation = (): Record<string, unknown> => ({
    '@context': [V2],
    type: ['VerifiablePresentation'],
    holder: 'did:example:holder',
    verifiableCredential: [{ ...credential(), proof: { type: 'DataIntegrityProof' } }],
  });

  it('accepts a presentation, also one with only an enveloped credential', () => {
    expect(validatePresentation(presentation())).toEqual([]);
    const enveloped = {
      ...presentation(),
      verifiableCredential: [
        { '@context': V2, type: 'EnvelopedVerifiableCredential', id: 'data:application/vc+jwt,eyJ.eyJ.sig' },
      ],
    };
    expect(validatePresentation(enveloped)).toEqual([]);
  });

  it('reports the presentation rules and those of the credentials inside', () => {
    const doc = presentation();
    doc['type'] = ['VerifiableCredential'];
    doc['holder'] = { name: 'no id' };
    (doc['verifiableCredential'] as Record<string, unknown>[])[0]!['issuer'] = 'not a url';
    (doc['verifiableCredential'] as unknown[]).push({ type: 'EnvelopedVerifiableCredential', id: 'https://x.example/vc' });
    expect(validatePresentation(doc).map((v) => `${v.path} ${v.rule}`)).toEqual([
      'type type.missing_base',
      'holder.id holder.not_url',
      'verifiableCredential[0].issuer issuer.not_url',
      'verifiableCredential[1].@context context.required',
      'verifiableCredential[1].id envelope.id_not_data_url',
    ]);
    expect(validatePresentation({ ...presentation(), verifiableCredential: ['eyJ.eyJ.sig'] }).map((v) => v.rule)).toEqual([
      'verifiableCredential.invalid',
    ]);
    expect(validatePresentation({ ...presentation(), holder: 'holder' }).map((v) => v.rule)).toEqual(['holder.not_url']);
    expect(validatePresentation({ ...presentation(), holder: 5 }).map((v) => v.rule)).toEqual(['holder.invalid']);
  });
});

describe('envelopes', () => {
  const envelope = () => ({ '@context': [V2], type: 'EnvelopedVerifiableCredential', id: 'data:application/vc+jwt,eyJ.eyJ.sig' });
  const envelopeRules = (doc: unknown, kind: 'credential' | 'presentation' = 'credential') =>
    validateEnvelope(doc, kind).map((v) => `${v.path} ${v.rule}`);

  it('accepts the context as one URL, and a percent-encoded token', () => {
    expect(envelopeRules(envelope())).toEqual([]);
    expect(envelopeRules({ ...envelope(), '@context': V2 })).toEqual([]);
    expect(parseDataUrl('data:application/vc+sd-jwt;charset=utf-8,a.b.c~d%7E')).toEqual({
      mediaType: 'application/vc+sd-jwt',
      token: 'a.b.c~d~',
    });
  });

  it('refuses an empty or wrong context, a missing or wrong type, a non-data id and a wrong media type', () => {
    expect(envelopeRules({ ...envelope(), '@context': [] })).toEqual(['@context context.not_ordered_set']);
    expect(envelopeRules({ ...envelope(), '@context': 'https://www.w3.org/ns/credentials/examples/v2' })).toEqual([
      '@context[0] context.first_not_v2',
    ]);
    const { type: _type, ...untyped } = envelope();
    expect(envelopeRules(untyped)).toEqual(['type envelope.type']);
    expect(envelopeRules({ ...envelope(), type: 'VerifiableCredential' })).toEqual(['type envelope.type']);
    expect(envelopeRules({ ...envelope(), id: 'eyJ.eyJ.sig' })).toEqual(['id envelope.id_not_data_url']);
    expect(envelopeRules({ ...envelope(), id: 'data:text/plain,eyJ.eyJ.sig' })).toEqual(['id envelope.media_type']);
    expect(envelopeRules({ ...envelope(), id: 'data:application/vc+jwt,x' }, 'presentation')).toEqual([
      'type envelope.type',
      'id envelope.media_type',
    ]);
  });
});
