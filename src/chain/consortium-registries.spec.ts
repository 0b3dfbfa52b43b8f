import { keccak256, toUtf8Bytes, Wallet } from 'ethers';
import { contractInterface } from './contracts.js';
import { anchorRangeCall, decodeAnchorAt, decodeAnchorOf, decodeAuditAnchorLog, decodeNextSequence } from './audit-anchor.js';
import { decodeCatalogueLog, decodeCatalogueType, decodeIssuersOf } from './consortium-registries.js';
import {
  decodeCurrentPermission,
  decodeDataSharingLog,
  decodeIsPermitted,
  decodePermissionResult,
  isPermittedCall,
  type PermissionTerms,
} from './data-sharing.js';

const DRIVING = keccak256(toUtf8Bytes('driving-licence'));
const department = Wallet.createRandom().address;
const root = keccak256('0x02');

describe('registry and anchor bindings', () => {
  describe('data sharing', () => {
    const iface = contractInterface('DataSharingRegistry');
    const terms: PermissionTerms = {
      relyingParty: 'did:web:bank.example',
      clientId: 'x509_san_dns:bank.example',
      credentialType: DRIVING,
      claims: ['given_name'],
      purpose: 'Know your customer',
      expiresAt: 1_900_000_000,
    };

    it('asks isPermitted with the claim list and reads the verdict by name', () => {
      const call = iface.parseTransaction({ data: isPermittedCall(terms.clientId, DRIVING, ['given_name', 'birth_date']) })!;
      expect(call.args.toArray(true)).toEqual([terms.clientId, DRIVING, ['given_name', 'birth_date']]);
      expect(decodeIsPermitted(iface.encodeFunctionResult('isPermitted', [4, 7n]))).toEqual({
        verdict: 'ClaimNotPermitted',
        permissionId: 7n,
      });
      expect(decodeCurrentPermission(iface.encodeFunctionResult('currentPermission', [7n]))).toBe(7n);
    });

    it('reads a permission with its terms, or nothing for an id never granted', () => {
      const stored = iface.encodeFunctionResult('permission', [[Object.values(terms), 10n, 0n]]);
      expect(decodePermissionResult(7n, stored)).toEqual({ permissionId: 7n, terms, grantedAt: 10, withdrawnAt: 0 });
      const none = iface.encodeFunctionResult('permission', [[['', '', DRIVING, [], '', 0n], 0n, 0n]]);
      expect(decodePermissionResult(8n, none)).toBeUndefined();
    });

    it('decodes grants and withdrawals', () => {
      const clientIdHash = keccak256(toUtf8Bytes(terms.clientId));
      const granted = iface.encodeEventLog('PermissionGranted', [7n, clientIdHash, DRIVING, Object.values(terms), 3n]);
      expect(decodeDataSharingLog(granted)).toEqual({ event: 'PermissionGranted', permissionId: 7n, terms, replaced: 3n });
      const withdrawn = iface.encodeEventLog('PermissionWithdrawn', [7n, clientIdHash, DRIVING]);
      expect(decodeDataSharingLog(withdrawn)).toEqual({
        event: 'PermissionWithdrawn',
        permissionId: 7n,
        clientIdHash,
        credentialType: DRIVING,
      });
      expect(decodeDataSharingLog({ topics: [keccak256('0x')], data: '0x' })).toBeUndefined();
    });
  });

  describe('issuers and catalogue', () => {
    it('reads the issuers of a type and the catalogue entry of a type', () => {
      const issuers = contractInterface('GovernedIssuerRegistry');
      expect(decodeIssuersOf(issuers.encodeFunctionResult('issuersOf', [[department.toLowerCase()]]))).toEqual([department]);
      const catalogue = contractInterface('CatalogueRegistry');
      expect(decodeCatalogueType(DRIVING, catalogue.encodeFunctionResult('typeOf', [[root, 2, 99n, true]]))).toEqual({
        typeId: DRIVING,
        schemaDigest: root,
        version: 2,
        publishedAt: 99,
        retired: true,
      });
      expect(decodeCatalogueType(DRIVING, catalogue.encodeFunctionResult('typeOf', [[root, 0, 0n, false]]))).toBeUndefined();
      expect(decodeCatalogueLog(catalogue.encodeEventLog('TypeRetired', [DRIVING, 2]))).toEqual({
        event: 'TypeRetired',
        typeId: DRIVING,
        version: 2,
      });
    });
  });

  describe('audit anchor', () => {
    const iface = contractInterface('AuditAnchor');

    it('encodes anchoring and decodes anchors and their events', () => {
      expect(iface.parseTransaction({ data: anchorRangeCall(1n, 40n, root) })!.args.toArray()).toEqual([1n, 40n, root]);
      const anchor = [1n, 40n, 1_800_000_000n, root];
      const expected = { department, index: 0, fromSeq: 1n, toSeq: 40n, root, anchoredAt: 1_800_000_000 };
      expect(decodeAnchorOf(department, iface.encodeFunctionResult('anchorOf', [0n, anchor]))).toEqual(expected);
      expect(decodeAnchorAt(department, 0, iface.encodeFunctionResult('anchorAt', [anchor]))).toEqual(expected);
      expect(decodeNextSequence(iface.encodeFunctionResult('nextSequence', [41n]))).toBe(41n);
      const log = iface.encodeEventLog('RangeAnchored', [department, 0n, 1n, 40n, root]);
      expect(decodeAuditAnchorLog(log)).toEqual({ department, index: 0, fromSeq: 1n, toSeq: 40n, root });
    });
  });
});
