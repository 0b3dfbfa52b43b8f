import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import * as vc from '@digitalbazaar/vc';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as ecdsaRdfc2019 } from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import { driver as didKeyDriver } from '@digitalbazaar/did-method-key';
import { offlineDidDocument } from '../dids.js';
import { jwkToMultibase } from '../multikey.js';
import { BUNDLED_CONTEXTS } from './contexts.js';
import { createDocumentLoader } from './document-loader.js';
import { secureWithEcdsaRdfc2019, verifyCredentialProof, verifyPresentationProof } from './proofs.js';

const loader = createDocumentLoader(async (did) => offlineDidDocument(did));
const now = new Date('2025-06-01T00:00:00Z');

const unsigned = (issuer: string) => ({
  '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
  id: 'urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33',
  type: ['VerifiableCredential', 'ExampleAlumniCredential'],
  issuer,
  validFrom: '2024-01-01T00:00:00Z',
  credentialSubject: { id: 'did:example:abcdefgh', alumniOf: 'The School of Examples' },
});

/** Signed by @digitalbazaar/vc itself with a did:key generated here. */
async function foreignCredential(curve: 'P-256' | 'Ed25519') {
  const keyPair = curve === 'P-256' ? await EcdsaMultikey.generate({ curve: 'P-256' }) : await Ed25519Multikey.generate();
  const did = `did:key:${keyPair.publicKeyMultibase}`;
  keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
  keyPair.controller = did;
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(),
    cryptosuite: curve === 'P-256' ? ecdsaRdfc2019 : eddsaRdfc2022,
  });
  const credential = await vc.issue({ credential: unsigned(did), suite, documentLoader: loader });
  return { credential, keyPair, did };
}

describe('Data Integrity proofs', () => {
  it.each(['P-256', 'Ed25519'] as const)(
    'verifies a %s credential signed by @digitalbazaar/vc, and refuses it tampered',
    async (curve) => {
      const { credential, did } = await foreignCredential(curve);
      expect(await verifyCredentialProof(credential, loader, { now })).toEqual({
        verified: true,
        verificationMethod: `${did}#${did.slice(8)}`,
      });
      const tampered = structuredClone(credential);
      (tampered['credentialSubject'] as Record<string, unknown>)['alumniOf'] = 'Another School';
      expect(await verifyCredentialProof(tampered, loader, { now })).toEqual({
        verified: false,
        problem: 'the Data Integrity proof does not verify',
        kind: 'failed',
      });
      // A proof whose method belongs to someone else than the issuer.
      const reissued = { ...structuredClone(credential), issuer: 'did:example:someone-else' };
      expect((await verifyCredentialProof(reissued, loader, { now })).verified).toBe(false);
    },
  );

  it('judges the proof only: an expired credential still has a valid proof (validity is a check of its own)', async () => {
    const { credential } = await foreignCredential('P-256');
    expect((await verifyCredentialProof(credential, loader, { now: new Date('2020-01-01T00:00:00Z') })).verified).toBe(true);
  });

  it('refuses malformed proofs as such', async () => {
    const { credential } = await foreignCredential('Ed25519');
    const proof = credential['proof'] as Record<string, unknown>;
    const cases: [Record<string, unknown> | null | undefined, string][] = [
      [undefined, 'the document has no proof'],
      [null, 'proof must be an object'],
      [{ ...proof, type: 'Ed25519Signature2020' }, 'proof.type must be DataIntegrityProof'],
      [{ ...proof, cryptosuite: 'invalid-cryptosuite' }, 'proof.cryptosuite must be one of ecdsa-rdfc-2019, eddsa-rdfc-2022'],
      [
        // The multibase prefix replaced by a character that names no encoding (dropping it would leave a value
        // whose next base58 character is 'z' or 'u' in about one run in thirty).
        { ...proof, proofValue: `!${String(proof['proofValue']).slice(1)}` },
        'proof.proofValue must be a multibase (base58btc or base64url) value',
      ],
      [{ ...proof, created: '2024-01-01T00:00:00' }, 'proof.created must be an XML Schema dateTimeStamp'],
    ];
    for (const [value, problem] of cases) {
      const doc = { ...credential, proof: value };
      if (value === undefined) delete doc.proof;
      expect(await verifyCredentialProof(doc, loader, { now })).toEqual({ verified: false, problem, kind: 'malformed' });
    }
    expect(await verifyCredentialProof(credential, loader, { now, expectedProofPurpose: 'authentication' })).toEqual(
      expect.objectContaining({ verified: false, kind: 'failed' }),
    );
  });

  it('never fetches a context: an unknown one fails verification with a clear reason', async () => {
    const { credential } = await foreignCredential('P-256');
    const withUnknown = { ...credential, '@context': [...(credential['@context'] as string[]), 'https://evil.example/context'] };
    expect(await verifyCredentialProof(withUnknown, loader, { now })).toEqual({
      verified: false,
      problem: 'https://evil.example/context is not a bundled context and is never fetched',
      kind: 'failed',
    });
    expect(BUNDLED_CONTEXTS.has('https://www.w3.org/ns/credentials/v2')).toBe(true);
  });

  it('signs ecdsa-rdfc-2019 through a raw signer, and @digitalbazaar/vc with its own did:key driver verifies it', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const multibase = jwkToMultibase(publicKey.export({ format: 'jwk' }));
    const did = `did:key:${multibase}`;
    const signed = await secureWithEcdsaRdfc2019(unsigned(did), {
      verificationMethod: `${did}#${multibase}`,
      sign: async (data) => nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
      documentLoader: loader,
    });
    expect(signed['proof']).toEqual(
      expect.objectContaining({ type: 'DataIntegrityProof', cryptosuite: 'ecdsa-rdfc-2019', proofPurpose: 'assertionMethod' }),
    );
    const didKey = didKeyDriver();
    didKey.use({ multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from });
    const theirLoader = async (url: string) => {
      if (url.startsWith('did:key:')) return { contextUrl: null, documentUrl: url, document: await didKey.get({ url }) };
      const document = BUNDLED_CONTEXTS.get(url);
      if (!document) throw new Error(`no ${url}`);
      return { contextUrl: null, documentUrl: url, document };
    };
    const suite = new DataIntegrityProof({ cryptosuite: ecdsaRdfc2019 });
    const result = await vc.verifyCredential({ credential: signed, suite, documentLoader: theirLoader });
    expect(result.verified).toBe(true);
  });

  it('verifies a presentation proof for its challenge and domain', async () => {
    const { credential, keyPair } = await foreignCredential('Ed25519');
    const presentation = {
      '@context': ['https://www.w3.org/ns/credentials/v2'],
      type: ['VerifiablePresentation'],
      holder: keyPair.controller,
      verifiableCredential: [credential],
    };
    const suite = new DataIntegrityProof({ signer: keyPair.signer(), cryptosuite: eddsaRdfc2022 });
    const signed = await vc.signPresentation({
      presentation,
      suite,
      documentLoader: loader,
      challenge: 'c-123',
      domain: 'https://rp.example',
    });
    expect(
      (await verifyPresentationProof(signed, loader, { now, challenge: 'c-123', domain: 'https://rp.example' })).verified,
    ).toBe(true);
    expect(await verifyPresentationProof(signed, loader, { now, challenge: 'other' })).toEqual({
      verified: false,
      problem: 'proof.challenge does not match',
      kind: 'failed',
    });
    expect((await verifyPresentationProof(signed, loader, { now, domain: 'https://evil.example' })).verified).toBe(false);

    // A challenge that may be used again: the proof's created must be recent (a captured presentation is not an answer
    // for ever), and not in the future.
    const proof = (signed as { proof: Record<string, unknown> }).proof;
    const created = Date.parse(proof['created'] as string);
    const at = (ms: number) => ({ now: new Date(ms), challenge: 'c-123', maxAgeSeconds: 60, clockSkewSeconds: 0 });
    expect((await verifyPresentationProof(signed, loader, at(created + 30_000))).verified).toBe(true);
    expect(await verifyPresentationProof(signed, loader, at(created + 61_000))).toMatchObject({
      verified: false,
      problem: 'the presentation proof is too old (proof.created)',
    });
    expect(await verifyPresentationProof(signed, loader, at(created - 5_000))).toMatchObject({
      problem: 'the presentation proof is created in the future',
    });
    // A proof past its expires is refused, before anything else is looked at.
    const expired = {
      ...(signed as object),
      proof: { ...proof, expires: new Date(created + 1_000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    };
    expect(
      await verifyPresentationProof(expired, loader, {
        now: new Date(created + 10_000),
        challenge: 'c-123',
        clockSkewSeconds: 0,
      }),
    ).toMatchObject({
      verified: false,
      problem: 'the proof has expired (proof.expires)',
    });
  });
});
