import { join } from 'node:path';
import { DcqlQuery } from 'dcql';
import { projectRoot } from '../../common/index.js';
import { Catalogue } from '../../credentials/index.js';
import { analyseDcqlQuery } from '../../oid4vp/index.js';
import {
  acrFor,
  allowedClaimsUnion,
  LOGIN_SCOPES,
  loginDcqlQuery,
  oidcClaimsByScope,
  parseScope,
  releasedClaims,
  requestedClaims,
  scopeTableProblems,
  selectLoginScope,
  subjectValue,
  type ScopeTable,
} from './scopes.js';

const catalogue = Catalogue.load(join(projectRoot(), 'catalogue'), 'https://gov.example');
const selected = (scopes: string) => {
  const result = selectLoginScope(parseScope(scopes));
  if ('error' in result) throw new Error(result.description);
  return result;
};

describe('login scopes', () => {
  it('fit the catalogue: SD-JWT types, disclosable claims, no reserved names', () => {
    expect(scopeTableProblems(LOGIN_SCOPES, (id) => catalogue.get(id))).toEqual([]);
    const broken: ScopeTable = {
      openid: { typeId: 'resident-identity', claims: {}, subjectClaim: 'id_number', subjectNamespace: 'x' },
      passport: { typeId: 'passport', claims: {}, subjectClaim: 'number', subjectNamespace: 'x' },
      company: {
        typeId: 'business-licence',
        claims: { enterprise_name: 'name', address: 'sub' },
        subjectClaim: 'unified_social_credit_code',
        subjectNamespace: 'uscc',
      },
    };
    expect(scopeTableProblems(broken, (id) => catalogue.get(id))).toEqual([
      { path: 'openid', message: expect.stringContaining('not openid') },
      { path: 'passport.typeId', message: 'unknown credential type passport' },
      { path: 'company.enterprise_name', message: 'not selectively disclosable' },
      { path: 'company.unified_social_credit_code', message: 'not selectively disclosable' },
      { path: 'company.sub', message: 'a reserved claim name' },
    ]);
  });

  it('selects one credential per login, the resident identity without claims for openid alone', () => {
    expect(selectLoginScope(parseScope('openid resident_identity'))).toEqual(
      expect.objectContaining({ scope: 'resident_identity', releasesClaims: true }),
    );
    expect(selectLoginScope(parseScope('openid'))).toEqual(
      expect.objectContaining({ scope: 'resident_identity', releasesClaims: false }),
    );
    expect(selectLoginScope(parseScope('resident_identity'))).toEqual(expect.objectContaining({ error: 'invalid_scope' }));
    expect(selectLoginScope(parseScope('openid resident_identity driving_licence'))).toEqual(
      expect.objectContaining({ error: 'invalid_scope' }),
    );
    expect(selectLoginScope(parseScope('openid email resident_identity resident_identity'))).toEqual(
      expect.objectContaining({ scope: 'resident_identity' }),
    );
    expect(parseScope(undefined)).toEqual([]);
    expect(parseScope('openid  openid profile')).toEqual(['openid', 'profile']);
  });

  it('asks the wallet for the scope claims and the subject claim only, as a DCQL query the verifier accepts', () => {
    expect(requestedClaims(selected('openid resident_identity'))).toEqual([
      'family_name',
      'given_name',
      'birth_date',
      'id_number',
    ]);
    expect(requestedClaims(selected('openid'))).toEqual(['id_number']);
    const query = loginDcqlQuery(selected('openid driving_licence'), catalogue.get('driving-licence')!.vct);
    DcqlQuery.validate(DcqlQuery.parse(query as DcqlQuery.Input));
    const { requested } = analyseDcqlQuery(query, catalogue);
    expect(requested).toEqual([
      {
        queryId: 'login',
        typeId: 'driving-licence',
        format: 'dc+sd-jwt',
        claims: ['family_name', 'given_name', 'categories', 'expiry_date', 'licence_number'],
        paths: [['family_name'], ['given_name'], ['categories'], ['expiry_date'], ['licence_number']],
      },
    ]);
    // The internal relying party is registered for exactly what any scope may ask.
    expect(allowedClaimsUnion()).toEqual({
      'driving-licence': ['categories', 'expiry_date', 'family_name', 'given_name', 'licence_number'],
      'resident-identity': ['birth_date', 'family_name', 'given_name', 'id_number'],
    });
  });

  it('releases only the scope claims under their OIDC names, never the subject claim', () => {
    const disclosed = {
      family_name: '王',
      given_name: '芳',
      birth_date: '1988-03-14',
      id_number: '11010519880314002X',
      sex: 'female',
    };
    expect(releasedClaims(selected('openid resident_identity'), disclosed)).toEqual({
      family_name: '王',
      given_name: '芳',
      birthdate: '1988-03-14',
    });
    expect(releasedClaims(selected('openid'), disclosed)).toEqual({});
    expect(releasedClaims(selected('openid resident_identity'), { family_name: '王' })).toEqual({ family_name: '王' });
    expect(oidcClaimsByScope()).toEqual({
      resident_identity: ['family_name', 'given_name', 'birthdate'],
      driving_licence: ['family_name', 'given_name', 'licence_categories', 'licence_expiry_date'],
    });
  });

  it('reads the subject normalised, and names the credential type in acr', () => {
    const entry = LOGIN_SCOPES['resident_identity']!;
    expect(subjectValue(entry, { id_number: ' 11010519880314002x ' })).toBe('11010519880314002X');
    expect(subjectValue(entry, { id_number: '' })).toBeUndefined();
    expect(subjectValue(entry, { id_number: 110105 })).toBeUndefined();
    expect(subjectValue(entry, {})).toBeUndefined();
    expect(acrFor('resident-identity')).toBe('urn:chancery:acr:credential:resident-identity');
  });
});
