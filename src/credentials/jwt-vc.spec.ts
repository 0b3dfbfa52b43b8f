import { sharesHiddenClass } from '../../test/support/hidden-class.js';
import { jwtVcPayload, type DataModel } from './jwt-vc.js';

const content = (i: number, subjectId: string | undefined) => ({
  id: `urn:uuid:${i}`,
  issuer: 'did:ethr:govchain:0x5B38Da6a701c568545dCfcB03FcB875f56beddC4',
  vcType: 'DrivingLicenceCredential',
  validFrom: new Date(1_764_900_000_000 + i),
  validUntil: new Date(1_864_900_000_000 + i),
  subjectId,
  claims: { family_name: `Li ${i}`, given_name: 'Hua' },
  status: { id: `https://chancery.example/status/1/revocation#${i}`, type: 'BitstringStatusListEntry' },
});

describe('jwtVcPayload', () => {
  it('puts a holder-bound subject first with its id, claims after it', () => {
    const { payload } = jwtVcPayload('2.0', content(1, 'did:jwk:abc'));
    expect(payload['credentialSubject']).toEqual({ id: 'did:jwk:abc', family_name: 'Li 1', given_name: 'Hua' });
    expect(Object.keys(payload['credentialSubject'] as object)).toEqual(['id', 'family_name', 'given_name']);
    expect(payload['sub']).toBe('did:jwk:abc');
  });

  it.each<DataModel>(['2.0', '1.1'])(
    'gives every %s payload of one shape the same hidden classes, bound or not (ADR 33)',
    (model) => {
      for (const subjectId of ['did:jwk:abc', undefined]) {
        expect(sharesHiddenClass((i) => jwtVcPayload(model, content(i, subjectId)).payload)).toBe(true);
        const subjectOf = (i: number) => {
          const { payload } = jwtVcPayload(model, content(i, subjectId));
          return (
            model === '2.0' ? payload['credentialSubject'] : (payload['vc'] as Record<string, unknown>)['credentialSubject']
          ) as object;
        };
        expect(sharesHiddenClass(subjectOf)).toBe(true);
      }
    },
  );
});
