import { didDocumentProblem, findVerificationMethod, type DidDocument } from './dids.js';

const DID = 'did:web:issuer.example';
const method = { id: `${DID}#k`, type: 'Multikey', controller: DID, publicKeyMultibase: 'zDn' };

describe('didDocumentProblem', () => {
  it('accepts a DID Core document with embedded and referenced methods', () => {
    expect(
      didDocumentProblem(
        { id: DID, verificationMethod: [method], assertionMethod: [method.id], authentication: ['#k', { ...method, id: '#e' }] },
        DID,
      ),
    ).toBeUndefined();
    expect(didDocumentProblem({ id: DID }, DID)).toBeUndefined();
  });

  it('refuses another id, non-objects, and members this service reads in the wrong shape', () => {
    expect(didDocumentProblem({ id: 'did:web:other.example' }, DID)).toBe('its id is not the DID');
    for (const value of [null, [], 'x', 1]) expect(didDocumentProblem(value, DID)).toBe('not a JSON object');
    for (const verificationMethod of [{}, [null], [{ id: 1, type: 'Multikey' }], [{ id: '#k' }], [{ ...method, controller: 5 }]])
      expect(didDocumentProblem({ id: DID, verificationMethod }, DID)).toBe(
        'verificationMethod is not a list of verification methods',
      );
    for (const authentication of ['x', [7], [null], [{ id: {} }]])
      expect(didDocumentProblem({ id: DID, authentication }, DID)).toBe(
        'authentication is not a list of verification methods or references',
      );
    expect(didDocumentProblem(JSON.parse(`{"id":"${DID}","service":[{"toString":0}]}`), DID)).toMatch(/toString/);
  });
});

describe('findVerificationMethod', () => {
  it('passes over methods and references without a string id instead of throwing', () => {
    const document = {
      id: DID,
      verificationMethod: [{ id: 1 }, null, method],
      authentication: [7, null, method.id],
    } as unknown as DidDocument;
    expect(findVerificationMethod(document, '#k', 'authentication')).toMatchObject({ id: method.id });
    expect(findVerificationMethod(document, '#other', 'authentication')).toBeUndefined();
  });
});
