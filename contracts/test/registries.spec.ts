import { Contract, keccak256, toUtf8Bytes, type Wallet } from 'ethers';
import { contractInterface } from '../../src/chain/contracts.js';
import { decodeDataSharingLog, decodeIsPermitted, isPermittedCall, type PermissionTerms } from '../../src/chain/data-sharing.js';
import { decodeCatalogueLog } from '../../src/chain/consortium-registries.js';
import { signedBy, Consortium, reportGas, revertOf, TestChain } from './support.js';

const DRIVING = keccak256(toUtf8Bytes('driving-licence'));
const RESIDENCE = keccak256(toUtf8Bytes('residence-permit'));
const SCHEMA_V1 = keccak256(toUtf8Bytes('driving-licence schema v1'));
const SCHEMA_V2 = keccak256(toUtf8Bytes('driving-licence schema v2'));

describe('governed registries', () => {
  let chain: TestChain;
  let consortium: Consortium;
  let deployer: Wallet, a: Wallet, b: Wallet, agency: Wallet, other: Wallet;
  const call = (contract: Contract, name: string, ...args: unknown[]) => contract.getFunction(name)(...args);

  beforeAll(async () => {
    chain = await TestChain.start();
    [deployer, a, b, agency, other] = await chain.accounts(5);
    consortium = await chain.deployConsortium(
      deployer,
      [
        { wallet: a, name: 'Transport' },
        { wallet: b, name: 'Public Security' },
      ],
      2,
    );
  });
  afterAll(async () => {
    reportGas('registries');
    await chain.stop();
  });

  it('accept writes from governance only, from members as much as from anyone', async () => {
    const refusals = [
      signedBy(consortium.issuerRegistry, a).getFunction('setAuthorised')(agency.address, DRIVING, true),
      signedBy(consortium.catalogue, a).getFunction('publish')(DRIVING, SCHEMA_V1, 1),
      signedBy(consortium.catalogue, a).getFunction('retire')(DRIVING),
      signedBy(consortium.dataSharing, a).getFunction('withdraw')(1),
      signedBy(consortium.jointApproval, b).getFunction('retirePolicy')(1),
    ];
    for (const refusal of refusals)
      expect(await revertOf(refusal)).toEqual({ name: 'NotGovernance', args: [expect.any(String)] });
    const grant = signedBy(consortium.dataSharing, deployer).getFunction('grant');
    const expiresAt = (await chain.now()) + 600;
    const granted = { relyingParty: 'did:web:x', clientId: 'x', credentialType: DRIVING, claims: ['a'], purpose: 'p', expiresAt };
    expect((await revertOf(grant(granted))).name).toBe('NotGovernance');
    for (const contract of [consortium.issuerRegistry, consortium.catalogue, consortium.dataSharing, consortium.jointApproval]) {
      expect(await call(contract, 'governance')).toBe(consortium.address);
    }
  });

  describe('issuer registry', () => {
    it('authorises and withdraws by vote, answering and announcing as TrustedIssuerRegistry does', async () => {
      await consortium.pass([a, b], { kind: 'AuthoriseIssuer', issuer: agency.address, credentialType: DRIVING });
      await consortium.pass([a, b], { kind: 'AuthoriseIssuer', issuer: other.address, credentialType: DRIVING });
      expect(await call(consortium.issuerRegistry, 'isAuthorised', agency.address, DRIVING)).toBe(true);
      expect(await call(consortium.issuerRegistry, 'isAuthorised', agency.address, RESIDENCE)).toBe(false);
      expect(await call(consortium.issuerRegistry, 'issuersOf', DRIVING)).toEqual([agency.address, other.address]);

      const receipt = await consortium.pass([b, a], { kind: 'WithdrawIssuer', issuer: agency.address, credentialType: DRIVING });
      expect(await call(consortium.issuerRegistry, 'isAuthorised', agency.address, DRIVING)).toBe(false);
      expect(await call(consortium.issuerRegistry, 'issuersOf', DRIVING)).toEqual([other.address]);
      // The legacy registry's reader and event watcher work unchanged on the governed one.
      const legacy = contractInterface('TrustedIssuerRegistry');
      const log = receipt.logs.find((entry) => entry.address === consortium.issuerRegistry.target)!;
      expect(legacy.parseLog(log)?.args.toArray()).toEqual([agency.address, DRIVING, false]);
      expect(
        (await revertOf(consortium.propose(a, { kind: 'WithdrawIssuer', issuer: agency.address, credentialType: DRIVING }))).name,
      ).toBe('AuthorisationUnchanged');
    });
  });

  describe('catalogue registry', () => {
    it('publishes versions that only go up, keeps every version, retires and republishes', async () => {
      const publish = (schemaDigest: string, version: number) =>
        consortium.pass([a, b], { kind: 'PublishType', typeId: DRIVING, schemaDigest, version });
      const receipt = await publish(SCHEMA_V1, 1);
      expect(receipt.logs.map(decodeCatalogueLog).filter(Boolean)).toEqual([
        { event: 'TypePublished', typeId: DRIVING, version: 1, schemaDigest: SCHEMA_V1 },
      ]);
      expect(
        (await revertOf(consortium.propose(a, { kind: 'PublishType', typeId: DRIVING, schemaDigest: SCHEMA_V2, version: 1 })))
          .name,
      ).toBe('VersionNotIncreasing');
      await publish(SCHEMA_V2, 2);
      const current = await call(consortium.catalogue, 'typeOf', DRIVING);
      expect([current.schemaDigest, current.version, current.retired]).toEqual([SCHEMA_V2, 2n, false]);
      expect(await call(consortium.catalogue, 'schemaDigestAt', DRIVING, 1)).toBe(SCHEMA_V1);

      await consortium.pass([a, b], { kind: 'RetireType', typeId: DRIVING });
      expect(await call(consortium.catalogue, 'isActive', DRIVING)).toBe(false);
      expect((await revertOf(consortium.propose(a, { kind: 'RetireType', typeId: DRIVING }))).name).toBe('TypeNotActive');
      expect((await revertOf(consortium.propose(a, { kind: 'RetireType', typeId: RESIDENCE }))).name).toBe('TypeNotActive');
      await publish(SCHEMA_V2, 3);
      expect(await call(consortium.catalogue, 'isActive', DRIVING)).toBe(true);
      expect(await call(consortium.catalogue, 'publishedTypes')).toEqual([DRIVING]);
      const zero = '0x' + '00'.repeat(32);
      expect(
        (await revertOf(consortium.propose(a, { kind: 'PublishType', typeId: RESIDENCE, schemaDigest: zero, version: 1 }))).name,
      ).toBe('ZeroSchemaDigest');
    });
  });

  describe('data-sharing registry', () => {
    const CLIENT = 'decentralized_identifier:did:ethr:0x1e61:0x1111111111111111111111111111111111111111';
    let expiresAt: number;

    function terms(overrides: Partial<PermissionTerms> = {}): PermissionTerms {
      return {
        relyingParty: 'did:ethr:0x1e61:0x1111111111111111111111111111111111111111',
        clientId: CLIENT,
        credentialType: DRIVING,
        claims: ['given_name', 'categories'],
        purpose: 'Check the driving entitlement of a car rental customer',
        expiresAt: expiresAt,
        ...overrides,
      };
    }
    /** The verdict through our binding, as a verifier will ask it (eth_call with our calldata). */
    async function verdict(clientId: string, credentialType: string, claims: string[]) {
      const data = isPermittedCall(clientId, credentialType, claims);
      return decodeIsPermitted(await chain.provider.call({ to: consortium.dataSharing.target as string, data }));
    }

    beforeAll(async () => {
      expiresAt = (await chain.now()) + 30 * 86_400;
    });

    it('permits the granted claims to the granted client and type, and nothing beyond', async () => {
      const receipt = await consortium.pass([a, b], { kind: 'GrantPermission', terms: terms() });
      const granted = receipt.logs.map(decodeDataSharingLog).find((event) => event?.event === 'PermissionGranted');
      expect(granted).toEqual({ event: 'PermissionGranted', permissionId: 1n, terms: terms(), replaced: 0n });

      expect(await verdict(CLIENT, DRIVING, ['given_name', 'categories'])).toEqual({ verdict: 'Permitted', permissionId: 1n });
      expect(await verdict(CLIENT, DRIVING, ['categories'])).toEqual({ verdict: 'Permitted', permissionId: 1n });
      expect(await verdict(CLIENT, DRIVING, ['given_name', 'birth_date'])).toEqual({
        verdict: 'ClaimNotPermitted',
        permissionId: 1n,
      });
      expect(await verdict(CLIENT, DRIVING, [])).toEqual({ verdict: 'ClaimNotPermitted', permissionId: 1n });
      expect(await verdict(CLIENT, RESIDENCE, ['given_name'])).toEqual({ verdict: 'NoPermission', permissionId: 0n });
      expect(await verdict(CLIENT + 'x', DRIVING, ['given_name'])).toEqual({ verdict: 'NoPermission', permissionId: 0n });

      // ethers reading the registry directly sees the terms, purpose included.
      const stored = await call(consortium.dataSharing, 'permission', 1n);
      expect(stored.terms.purpose).toBe(terms().purpose);
      expect(stored.terms.claims.toArray()).toEqual(['given_name', 'categories']);
      expect(stored.withdrawnAt).toBe(0n);
    });

    it('stops permitting at the expiry second', async () => {
      const client = 'x509_san_dns:rental.example';
      const soon = (await chain.now()) + 100;
      await consortium.pass([a, b], { kind: 'GrantPermission', terms: terms({ clientId: client, expiresAt: soon }) });
      const id = await call(consortium.dataSharing, 'currentPermission', client, DRIVING);
      expect((await verdict(client, DRIVING, ['given_name'])).verdict).toBe('Permitted');
      await chain.setNextTimestamp(soon);
      await chain.provider.send('evm_mine', []);
      expect(await verdict(client, DRIVING, ['given_name'])).toEqual({ verdict: 'Expired', permissionId: id });
    });

    it('stops permitting at once when governance withdraws it, and a new grant replaces the old one', async () => {
      const client = 'redirect_uri:https://portal.example/cb';
      await consortium.pass([a, b], { kind: 'GrantPermission', terms: terms({ clientId: client }) });
      const first = await call(consortium.dataSharing, 'currentPermission', client, DRIVING);
      await consortium.pass([b, a], { kind: 'WithdrawPermission', permissionId: first });
      expect(await verdict(client, DRIVING, ['given_name'])).toEqual({ verdict: 'Withdrawn', permissionId: first });
      expect((await revertOf(consortium.propose(a, { kind: 'WithdrawPermission', permissionId: first }))).name).toBe(
        'PermissionNotInForce',
      );

      await consortium.pass([a, b], { kind: 'GrantPermission', terms: terms({ clientId: client, claims: ['given_name'] }) });
      const second = await call(consortium.dataSharing, 'currentPermission', client, DRIVING);
      expect(await verdict(client, DRIVING, ['given_name'])).toEqual({ verdict: 'Permitted', permissionId: second });
      const receipt = await consortium.pass([a, b], {
        kind: 'GrantPermission',
        terms: terms({ clientId: client, claims: ['given_name', 'family_name'] }),
      });
      const events = receipt.logs.map(decodeDataSharingLog).filter(Boolean);
      expect(events.map((event) => [event!.event, event!.permissionId])).toEqual([
        ['PermissionWithdrawn', second],
        ['PermissionGranted', second + 1n],
      ]);
      expect((await call(consortium.dataSharing, 'permission', second)).withdrawnAt).toBeGreaterThan(0n);
      expect((await verdict(client, DRIVING, ['family_name'])).verdict).toBe('Permitted');
    });

    it('refuses terms that break its rules when the proposal is made', async () => {
      const refusal = async (overrides: Partial<PermissionTerms>) =>
        (await revertOf(consortium.propose(a, { kind: 'GrantPermission', terms: terms({ clientId: 'other', ...overrides }) })))
          .name;
      expect(await refusal({ claims: [] })).toBe('BadClaims');
      expect(await refusal({ claims: ['given_name', 'given_name'] })).toBe('DuplicateClaim');
      expect(await refusal({ claims: ['x'.repeat(65)] })).toBe('BadClaims');
      expect(await refusal({ claims: Array.from({ length: 65 }, (_, i) => `c${i}`) })).toBe('BadClaims');
      expect(await refusal({ purpose: '' })).toBe('BadPurpose');
      expect(await refusal({ purpose: 'p'.repeat(513) })).toBe('BadPurpose');
      expect(await refusal({ clientId: '' })).toBe('BadIdentifier');
      expect(await refusal({ relyingParty: 'r'.repeat(513) })).toBe('BadIdentifier');
      expect(await refusal({ credentialType: '0x' + '00'.repeat(32) })).toBe('ZeroCredentialType');
      expect(await refusal({ expiresAt: await chain.now() })).toBe('ExpiryNotInFuture');
    });
  });
});
