import { sharesHiddenClass } from '../../test/support/hidden-class.js';
import { jwtVcPayload, NotAJwtVc, readJwtVc, type DataModel } from './jwt-vc.js';

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

describe('readJwtVc, a vc+jwt credential’s dates', () => {
  const document = (extra: Record<string, unknown>) => ({
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiableCredential'],
    issuer: 'did:example:issuer',
    credentialSubject: { name: 'x' },
    ...extra,
  });
  const read = (extra: Record<string, unknown>) => readJwtVc({ typ: 'vc+jwt' }, document(extra));

  it('bounds the credential by both its validity and its JWT’s nbf/exp (VC-JOSE-COSE §3, RFC 7519 §4.1.4-5)', () => {
    const dates = {
      validFrom: '2030-01-01T00:00:00Z',
      validUntil: '2040-01-01T00:00:00Z',
    };
    // An exp before validUntil ends the credential then; an nbf after validFrom starts it then.
    expect(read({ ...dates, exp: 1_900_000_000, nbf: 1_950_000_000 })).toMatchObject({
      validFrom: 1_950_000_000,
      validUntil: 1_900_000_000,
    });
    // The later start and the earlier end, whichever names them.
    expect(read({ ...dates, exp: 2_500_000_000, nbf: 1_000_000_000 })).toMatchObject({
      validFrom: Date.parse(dates.validFrom) / 1000,
      validUntil: Date.parse(dates.validUntil) / 1000,
    });
    expect(read({ exp: 1_900_000_000 })).toMatchObject({ validFrom: undefined, validUntil: 1_900_000_000 });
  });

  it('refuses an nbf or exp that is no NumericDate', () => {
    expect(() => read({ exp: '2040-01-01T00:00:00Z' })).toThrow(NotAJwtVc);
    expect(() => read({ nbf: null })).toThrow('nbf is not a NumericDate');
  });
});
