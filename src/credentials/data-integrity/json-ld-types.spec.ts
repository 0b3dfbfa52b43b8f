import { offlineDidDocument } from '../dids.js';
import { createDocumentLoader } from './document-loader.js';
import { jsonLdTypeProblem } from './json-ld-types.js';

const V2 = 'https://www.w3.org/ns/credentials/v2';
const EXAMPLES = 'https://www.w3.org/ns/credentials/examples/v2';
const loader = createDocumentLoader(async (did) => offlineDidDocument(did));
const credential = (context: unknown[], type: string[], subject: Record<string, unknown> = { id: 'did:example:subject' }) => ({
  '@context': context,
  type,
  issuer: 'did:example:issuer',
  credentialSubject: subject,
});

describe('JSON-LD rules for credentials secured without canonicalisation', () => {
  it('accepts mapped types, type URLs, and undefined claim names (our JOSE credentials have them)', async () => {
    expect(
      await jsonLdTypeProblem(credential([V2, EXAMPLES], ['VerifiableCredential', 'ExampleAlumniCredential']), loader),
    ).toBeUndefined();
    expect(
      await jsonLdTypeProblem(credential([V2], ['VerifiableCredential', 'https://example.org/#Licence']), loader),
    ).toBeUndefined();
    expect(await jsonLdTypeProblem(credential([V2], ['VerifiableCredential'], { family_name: '张' }), loader)).toBeUndefined();
  });

  it('refuses a type no context maps (VCDM 2.0 §4.5), and a context that redefines a protected term', async () => {
    expect(
      await jsonLdTypeProblem(credential([V2, { '@vocab': null }], ['VerifiableCredential', 'ExampleTestCredential']), loader),
    ).toMatch(/type ExampleTestCredential is not a term/);
    expect(await jsonLdTypeProblem(credential([V2], ['VerifiableCredential', 'DrivingLicenceCredential']), loader)).toMatch(
      /DrivingLicenceCredential/,
    );
    expect(
      await jsonLdTypeProblem(
        credential([V2, { VerifiableCredential: 'https://example.org/#BadVerifiableCredential' }], ['VerifiableCredential']),
        loader,
      ),
    ).toMatch(/not valid JSON-LD: .*protected term/);
    expect(
      await jsonLdTypeProblem(
        credential(
          [V2, { '@protected': true, Example: 'https://example.org/#Example' }, { Example: 'https://example.org/#Bad' }],
          ['VerifiableCredential', 'Example'],
        ),
        loader,
      ),
    ).toMatch(/protected term/);
  });

  it('takes JSON literals (their value objects are typed @json), and leaves over-budget documents unchecked', async () => {
    const schema = credential([V2], ['VerifiableCredential', 'JsonSchemaCredential'], {
      id: 'https://example.org/s',
      type: 'JsonSchema',
      jsonSchema: { type: 'object' },
    });
    expect(await jsonLdTypeProblem({ ...schema, '@context': [V2, EXAMPLES] }, loader)).toBeUndefined();
    // The same scoped type thousands of times would cost a context application each: not expanded at all.
    const repeated = credential([V2, { '@vocab': null }], Array(2_000).fill('VerifiableCredential'));
    expect(await jsonLdTypeProblem(repeated, loader)).toBeUndefined();
  });

  it('does not check a document naming a context that is not bundled (nothing is fetched)', async () => {
    expect(
      await jsonLdTypeProblem(credential([V2, 'https://example.org/contexts/v1'], ['VerifiableCredential', 'X']), loader),
    ).toBeUndefined();
  });
});
