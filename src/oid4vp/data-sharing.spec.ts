import {
  dataSharingVerifierInfo,
  dataSharingViolations,
  DATA_SHARING_VERIFIER_INFO_FORMAT,
  permissionIdsOf,
  shownPurpose,
  withoutSharedGrant,
  type PermissionCheck,
} from './data-sharing.js';
import { isSharedClientId } from './request.js';
import type { RequestedCredential } from './dcql.js';

const requested: RequestedCredential[] = [
  { queryId: 'licence', typeId: 'driving-licence', format: 'dc+sd-jwt', claims: ['family_name', 'given_name'] },
  { queryId: 'business', typeId: 'business-licence', format: 'dc+sd-jwt', claims: ['company_name'] },
];
const check = (queryId: string, verdict: PermissionCheck['verdict'], permissionId: string | null = null): PermissionCheck => ({
  queryId,
  typeId: queryId === 'licence' ? 'driving-licence' : 'business-licence',
  verdict,
  permissionId,
  purpose: permissionId ? `purpose ${permissionId}` : null,
});

describe('consortium data sharing rules (ADR 15)', () => {
  it('permits what a permission covers; without one, only when not enforced', () => {
    const checks = [check('licence', 'Permitted', '7'), check('business', 'NoPermission')];
    expect(dataSharingViolations(checks, requested, false)).toEqual([]);
    expect(dataSharingViolations(checks, requested, true)).toEqual([
      { path: 'dcql_query.credentials.1', message: expect.stringContaining('no data-sharing permission') },
    ]);
  });

  it('refuses, enforced or not, what a registered permission does not allow', () => {
    for (const verdict of ['Withdrawn', 'Expired', 'ClaimNotPermitted'] as const) {
      const violations = dataSharingViolations([check('licence', verdict, '7')], requested, false);
      expect(violations).toHaveLength(1);
      expect(violations[0]!.path).toBe('dcql_query.credentials.0');
    }
    expect(dataSharingViolations([check('licence', 'ClaimNotPermitted', '7')], requested, false)[0]!.message).toBe(
      'driving-licence: the request asks for claims beyond the data-sharing permission',
    );
  });

  it('records, shows and announces only the permissions relied on', () => {
    const checks = [check('licence', 'Permitted', '7'), check('business', 'NoPermission')];
    expect(permissionIdsOf(checks)).toEqual(['7']);
    expect(permissionIdsOf([check('licence', 'Withdrawn', '7')])).toEqual([]);
    expect(shownPurpose(checks, 'own purpose')).toBe('purpose 7');
    expect(shownPurpose([check('business', 'NoPermission')], 'own purpose')).toBe('own purpose');
    expect(dataSharingVerifierInfo(checks, { chainId: 7777, address: '0xabc' })).toEqual([
      {
        format: DATA_SHARING_VERIFIER_INFO_FORMAT,
        data: {
          permission_id: '7',
          purpose: 'purpose 7',
          credential_type: 'driving-licence',
          registry: 'eip155:7777:0xabc',
        },
        credential_ids: ['licence'],
      },
    ]);
  });
});

describe('a client_id shared by every party of its prefix', () => {
  it('is redirect_uri and x509_san_dns, not x509_hash or decentralized_identifier', () => {
    expect(isSharedClientId('redirect_uri:https://chancery.example/oid4vp/response')).toBe(true);
    expect(isSharedClientId('x509_san_dns:chancery.example')).toBe(true);
    expect(isSharedClientId('x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk')).toBe(false);
    expect(isSharedClientId('decentralized_identifier:did:jwk:eyJrdHkiOiJFQyJ9')).toBe(false);
  });

  it('gets nothing from a grant (the party is not the grantee alone), but what a permission refuses still binds', () => {
    const granted = withoutSharedGrant(check('licence', 'Permitted', '7'));
    expect(granted).toMatchObject({ verdict: 'NoPermission', permissionId: null, purpose: null, sharedClientId: true });
    expect(permissionIdsOf([granted])).toEqual([]);
    expect(shownPurpose([granted], 'the party’s own')).toBe('the party’s own');
    // Enforced: refused, saying why; not enforced: the party's registration is the limit, as without a permission.
    expect(dataSharingViolations([granted], requested, true)).toEqual([
      { path: 'dcql_query.credentials.0', message: expect.stringContaining('shared by every relying party of its prefix') },
    ]);
    expect(dataSharingViolations([granted], requested, false)).toEqual([]);
    const narrower = withoutSharedGrant(check('licence', 'ClaimNotPermitted', '7'));
    expect(dataSharingViolations([narrower], requested, false)).toEqual([
      { path: 'dcql_query.credentials.0', message: expect.stringContaining('beyond the data-sharing permission') },
    ]);
  });
});
