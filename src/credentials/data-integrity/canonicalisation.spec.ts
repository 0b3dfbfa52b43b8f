import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import { offlineDidDocument } from '../dids.js';
import { jwkToMultibase } from '../multikey.js';
import { CANONICALISATION_LIMITS, CanonicalisationRefused, expansionProblem } from './canonicalisation.js';
import { createDocumentLoader } from './document-loader.js';
import { secureWithEcdsaRdfc2019, verifyCredentialProof, verifyPresentationProof } from './proofs.js';

const now = new Date('2025-06-01T00:00:00Z');
const loaded: string[] = [];
const loader = createDocumentLoader(async (did) => {
  loaded.push(did);
  return offlineDidDocument(did);
});

function p256Issuer() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const multibase = jwkToMultibase(publicKey.export({ format: 'jwk' }));
  const did = `did:key:${multibase}`;
  return {
    did,
    secure: (document: Record<string, unknown>) =>
      secureWithEcdsaRdfc2019(document, {
        verificationMethod: `${did}#${multibase}`,
        sign: async (data) => nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
        documentLoader: loader,
      }),
  };
}

const credential = (issuer: string, subject: Record<string, unknown>, context: unknown[] = []) => ({
  '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2', ...context],
  type: ['VerifiableCredential'],
  issuer,
  validFrom: '2024-01-01T00:00:00Z',
  credentialSubject: { id: 'did:example:subject', ...subject },
});

/** n blank nodes in one cycle, every one alike at first degree (what made RDFC-1.0 take seconds). */
const cycle = (n: number) => Array.from({ length: n }, (_, k) => ({ i: `_:b${k}`, e: `_:b${(k + 1) % n}` }));
const CYCLE_CONTEXT = { i: '@id', g: 'urn:g', e: { '@id': 'urn:e', '@type': '@id' } };

describe('RDF canonicalisation budget (ADR 35)', () => {
  it('still signs and verifies a credential with a few blank nodes that look alike', async () => {
    const issuer = p256Issuer();
    const alike = { name: 'The School of Examples' };
    const signed = await issuer.secure(credential(issuer.did, { alumniOf: [alike, { ...alike }, { ...alike }, { ...alike }] }));
    expect((await verifyCredentialProof(signed, loader, { now })).verified).toBe(true);
  });

  it('refuses, before its signature is looked at, a document whose blank nodes are too alike', async () => {
    const issuer = p256Issuer();
    const signed = await issuer.secure(credential(issuer.did, { alumniOf: 'x' }));
    // The proof of another document: the outcome must be the budget, not the signature.
    const hostile = { ...credential(issuer.did, { g: cycle(300) }, [CYCLE_CONTEXT]), proof: signed['proof'] };
    expect(await verifyCredentialProof(hostile, loader, { now })).toEqual({
      verified: false,
      problem: `the document's blank nodes are too alike to canonicalise within ${CANONICALISATION_LIMITS.maxDeepIterations} deep comparisons`,
      kind: 'malformed',
    });
    await expect(issuer.secure(credential(issuer.did, { g: cycle(300) }, [CYCLE_CONTEXT]))).rejects.toBeInstanceOf(
      CanonicalisationRefused,
    );
  });

  it('refuses a document over the member budget before JSON-LD expansion, in verifying and in signing', async () => {
    const issuer = p256Issuer();
    const signed = await issuer.secure(credential(issuer.did, { alumniOf: 'x' }));
    const names = Array.from({ length: CANONICALISATION_LIMITS.maxMembers }, (_, k) => `name ${k}`);
    const large = { ...credential(issuer.did, { alumniOf: names }), proof: signed['proof'] };
    const outcome = await verifyCredentialProof(large, loader, { now });
    expect(outcome).toEqual({
      verified: false,
      problem: expect.stringContaining('too large to canonicalise'),
      kind: 'malformed',
    });
    await expect(issuer.secure(credential(issuer.did, { alumniOf: names }))).rejects.toThrow(/too large to canonicalise/);
  });

  it('refuses what makes JSON-LD expansion costly: many typed objects, large or scoped inline contexts', async () => {
    const { maxTypedObjects, maxInlineContextMembers } = CANONICALISATION_LIMITS;
    const typed = (n: number, key = 'type') =>
      Array.from({ length: n }, (_, k) => ({ [key]: 'VerifiableCredential', name: `n${k}` }));
    expect(expansionProblem(credential('did:example:i', { g: typed(maxTypedObjects - 1) }))).toBeUndefined();
    expect(expansionProblem(credential('did:example:i', { g: typed(maxTypedObjects) }))).toBe(
      `more than ${maxTypedObjects} objects with a type`,
    );
    // An alias of @type counts as a type.
    const aliased = credential('did:example:i', { g: typed(maxTypedObjects, 'kind') }, [{ kind: '@type' }]);
    expect(expansionProblem(aliased)).toBe(`more than ${maxTypedObjects} objects with a type`);
    const scoped = credential('did:example:i', {}, [{ T: { '@id': 'urn:T', '@context': { x: 'urn:x' } } }]);
    expect(expansionProblem(scoped)).toBe('an inline @context may not define scoped contexts');
    // Expansion applies a scoped type's context once per value, duplicates included.
    expect(
      expansionProblem({
        '@context': ['https://www.w3.org/ns/credentials/v2'],
        type: ['VerifiableCredential', 'VerifiableCredential'],
      }),
    ).toBe('a type names the same value twice');
    const manyValues = { type: Array.from({ length: 300 }, (_, i) => `T${i}`) };
    expect(expansionProblem(manyValues)).toBe('more than 256 type values');
    const terms = Object.fromEntries(Array.from({ length: maxInlineContextMembers + 1 }, (_, k) => [`t${k}`, `urn:t${k}`]));
    expect(expansionProblem(credential('did:example:i', {}, [terms]))).toBe(
      `inline @context objects define more than ${maxInlineContextMembers} terms`,
    );
    // And verification says so, before the signature.
    const issuer = p256Issuer();
    const signed = await issuer.secure(credential(issuer.did, { alumniOf: 'x' }));
    expect(await verifyCredentialProof({ ...scoped, issuer: issuer.did, proof: signed['proof'] }, loader, { now })).toEqual({
      verified: false,
      problem: 'the document is too costly to canonicalise: an inline @context may not define scoped contexts',
      kind: 'malformed',
    });
  });

  it('checks only the presentation proof: embedded credentials are left to the verifier pipeline', async () => {
    const issuer = p256Issuer();
    const embedded = await issuer.secure(credential(issuer.did, { alumniOf: 'x' }));
    const holder = await Ed25519Multikey.generate();
    const holderDid = `did:key:${holder.publicKeyMultibase}`;
    holder.id = `${holderDid}#${holder.publicKeyMultibase}`;
    holder.controller = holderDid;
    const signed = await vc.signPresentation({
      presentation: {
        '@context': ['https://www.w3.org/ns/credentials/v2'],
        type: ['VerifiablePresentation'],
        holder: holderDid,
        verifiableCredential: [embedded],
      },
      suite: new DataIntegrityProof({ signer: holder.signer(), cryptosuite: eddsaRdfc2022 }),
      documentLoader: loader,
      challenge: 'c-1',
    });
    loaded.length = 0;
    expect((await verifyPresentationProof(signed, loader, { now, challenge: 'c-1' })).verified).toBe(true);
    // The holder's key was resolved; the embedded credential's issuer was not (its proof was not checked here).
    expect(loaded).toContain(holderDid);
    expect(loaded).not.toContain(issuer.did);
  });
});
