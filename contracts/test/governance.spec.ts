import { AbiCoder, Contract, concat, keccak256, toUtf8Bytes, Transaction, type Wallet } from 'ethers';
import { compileContracts } from '../../scripts/solc.mjs';
import { contractInterface } from '../../src/chain/contracts.js';
import { encodeProposal, proposeCall, PROPOSAL_KINDS, type ProposalAction } from '../../src/chain/consortium-governance.js';
import { signedBy, Consortium, governanceEvents, journal, reportGas, revertOf, send, TestChain } from './support.js';

const DRIVING = keccak256(toUtf8Bytes('driving-licence'));
const BUSINESS = keccak256(toUtf8Bytes('business-licence'));
const STATE = { Open: 1n, Executed: 2n, Cancelled: 3n, Expired: 4n };

describe('ConsortiumGovernance', () => {
  let chain: TestChain;
  let deployer: Wallet, a: Wallet, b: Wallet, c: Wallet, d: Wallet, outsider: Wallet, agency: Wallet;
  let founded: Consortium;
  let foundedState: string;

  beforeAll(async () => {
    chain = await TestChain.start();
    [deployer, a, b, c, d, outsider, agency] = await chain.accounts(7);
    founded = await chain.deployConsortium(
      deployer,
      [
        { wallet: a, name: 'Public Security' },
        { wallet: b, name: 'Market Regulation' },
        { wallet: c, name: 'Transport' },
      ],
      2,
    );
    foundedState = await chain.snapshot();
  });
  afterAll(async () => {
    reportGas('governance');
    await chain.stop();
  });

  /** Three departments, two of three, just founded: the chain goes back to the state after founding. */
  async function threeDepartments(): Promise<Consortium> {
    await chain.revert(foundedState);
    foundedState = await chain.snapshot();
    return founded;
  }
  const authorise = (issuer: string, credentialType = DRIVING): ProposalAction => ({
    kind: 'AuthoriseIssuer',
    issuer,
    credentialType,
  });
  const call = (contract: Contract, name: string, ...args: unknown[]) => contract.getFunction(name)(...args);

  it('is founded with its members, their names and the threshold, readable with ethers', async () => {
    const consortium = await threeDepartments();
    const governance = consortium.governance;
    expect(await call(governance, 'members')).toEqual([a.address, b.address, c.address]);
    expect(await call(governance, 'memberName', b.address)).toBe('Market Regulation');
    expect(await call(governance, 'threshold')).toBe(2n);
    expect(await call(governance, 'isMember', outsider.address)).toBe(false);
    expect(await call(governance, 'deployer')).toBe(deployer.address);
    expect(await call(governance, 'issuerRegistry')).toBe(consortium.issuerRegistry.target);
  });

  it('refuses a founding that breaks its rules', async () => {
    const found = (members: string[], names: string[], threshold: number) =>
      revertOf(chain.deploy('ConsortiumGovernance', [members, names, threshold], deployer));
    expect((await found([a.address], ['A'], 0)).name).toBe('BadThreshold');
    expect((await found([a.address, b.address], ['A', 'B'], 3)).name).toBe('BadThreshold');
    expect((await found([a.address, a.address], ['A', 'A again'], 1)).name).toBe('AlreadyMember');
    expect((await found([a.address], ['A', 'B'], 1)).name).toBe('FoundersMismatch');
    expect((await found([], [], 1)).name).toBe('FoundersMismatch');
    expect((await found(['0x' + '00'.repeat(20)], ['Zero'], 1)).name).toBe('ZeroAddress');
    expect((await found([a.address], [''], 1)).name).toBe('BadName');
    expect((await found([a.address], ['x'.repeat(65)], 1)).name).toBe('BadName');
  });

  it('executes at once in a consortium of one with threshold 1 (the embedded default)', async () => {
    const consortium = await chain.deployConsortium(deployer, [{ wallet: a, name: 'Embedded' }], 1);
    const { proposalId, events } = await consortium.propose(a, authorise(agency.address));
    expect(events.map((event) => event.event)).toEqual(['ProposalCreated', 'ProposalVoted', 'ProposalExecuted']);
    expect(await call(consortium.issuerRegistry, 'isAuthorised', agency.address, DRIVING)).toBe(true);
    const proposal = await call(consortium.governance, 'proposal', proposalId);
    expect(proposal.state).toBe(STATE.Executed);
    expect(proposal.executedAt).toBeGreaterThan(0n);
  });

  describe('two of three', () => {
    let consortium: Consortium;
    beforeAll(async () => {
      consortium = await threeDepartments();
    });

    it('needs two votes, counts one vote per member, refuses non-members and executes exactly once', async () => {
      const governance = consortium.governance;
      expect((await revertOf(consortium.propose(outsider, authorise(agency.address)))).name).toBe('NotMember');

      const { proposalId, events } = await consortium.propose(a, authorise(agency.address));
      expect(events.map((event) => event.event)).toEqual(['ProposalCreated', 'ProposalVoted']);
      expect(await call(consortium.issuerRegistry, 'isAuthorised', agency.address, DRIVING)).toBe(false);
      expect(await call(governance, 'stateOf', proposalId)).toBe(STATE.Open);

      expect(await revertOf(consortium.vote(a, proposalId))).toEqual({ name: 'AlreadyVoted', args: [a.address] });
      expect(await revertOf(consortium.vote(outsider, proposalId))).toEqual({ name: 'NotMember', args: [outsider.address] });
      expect(await call(governance, 'approvalsOf', proposalId)).toBe(1n);

      const second = await consortium.vote(b, proposalId);
      expect(second.events.map((event) => event.event)).toEqual(['ProposalVoted', 'ProposalExecuted']);
      expect(await call(consortium.issuerRegistry, 'isAuthorised', agency.address, DRIVING)).toBe(true);

      const late = await revertOf(consortium.vote(c, proposalId));
      expect(late).toEqual({ name: 'ProposalNotOpen', args: [proposalId, STATE.Executed] });
      expect((await revertOf(signedBy(governance, a).getFunction('execute')(proposalId))).name).toBe('ProposalNotOpen');
      expect(await call(governance, 'voters', proposalId)).toEqual([a.address, b.address]);
      expect(await call(governance, 'hasVoted', proposalId, c.address)).toBe(false);
    });

    it('refuses the same content while a proposal carrying it is open, in any encoding', async () => {
      const action = authorise(agency.address, BUSINESS);
      const { proposalId } = await consortium.propose(a, action);
      expect(await revertOf(consortium.propose(b, action))).toEqual({ name: 'DuplicateProposal', args: [proposalId] });

      // Trailing bytes do not make new content: the contract stores and hashes the canonical encoding.
      const { kind, args } = encodeProposal(action);
      const padded = concat([args, '0x' + 'ab'.repeat(32)]);
      const expiresAt = (await chain.now()) + 7_200;
      const data = contractInterface('ConsortiumGovernance').encodeFunctionData('propose', [kind, padded, expiresAt]);
      expect((await revertOf(send(b, { to: consortium.address, data }))).name).toBe('DuplicateProposal');

      // Once it is cancelled (only by its proposer) the content may be proposed again.
      expect((await revertOf(signedBy(consortium.governance, b).getFunction('cancel')(proposalId))).name).toBe('NotProposer');
      // An account that is no member (a removed department, say) cancels nothing.
      expect((await revertOf(signedBy(consortium.governance, outsider).getFunction('cancel')(proposalId))).name).toBe(
        'NotMember',
      );
      await (await signedBy(consortium.governance, a).getFunction('cancel')(proposalId)).wait();
      expect(await call(consortium.governance, 'stateOf', proposalId)).toBe(STATE.Cancelled);
      expect((await revertOf(consortium.vote(b, proposalId))).args).toEqual([proposalId, STATE.Cancelled]);
      const again = await consortium.propose(b, action);
      expect(again.proposalId).toBe(proposalId + 1n);
      expect((await call(consortium.governance, 'proposal', again.proposalId)).args).toBe(args);
    });

    it('refuses malformed args and kinds outside the enum', async () => {
      const expiresAt = (await chain.now()) + 7_200;
      const iface = contractInterface('ConsortiumGovernance');
      const short = iface.encodeFunctionData('propose', [PROPOSAL_KINDS.indexOf('AuthoriseIssuer'), '0x1234', expiresAt]);
      expect((await revertOf(send(a, { to: consortium.address, data: short }))).name).toBe('(no data)');
      const outOfRange = iface
        .encodeFunctionData('propose', [0, encodeProposal({ kind: 'RemoveMember', member: c.address }).args, expiresAt])
        .replace(/^(0x.{8})0{64}/, `$1${'0'.repeat(62)}ff`);
      expect((await revertOf(send(a, { to: consortium.address, data: outOfRange }))).name).toBe('(no data)');
    });

    it('lets proposals expire, and bounds their lifetime', async () => {
      const { proposalId } = await consortium.propose(a, { kind: 'ChangeThreshold', threshold: 3 }, 3_700);
      await chain.increaseTime(3_701);
      expect(await call(consortium.governance, 'stateOf', proposalId)).toBe(STATE.Expired);
      expect((await revertOf(consortium.vote(b, proposalId))).args).toEqual([proposalId, STATE.Expired]);
      expect((await call(consortium.governance, 'proposal', proposalId)).state).toBe(STATE.Expired);
      // An expired proposal does not block the same content.
      const { proposalId: renewed } = await consortium.propose(b, { kind: 'ChangeThreshold', threshold: 3 }, 3_700);
      expect(renewed).toBe(proposalId + 1n);
      await chain.increaseTime(3_701);

      const now = await chain.now();
      const propose = (expiresAt: number) =>
        revertOf(send(a, { to: consortium.address, data: proposeCall({ kind: 'ChangeThreshold', threshold: 1 }, expiresAt) }));
      expect((await propose(now)).name).toBe('BadExpiry');
      // Too short to be voted on (it could only block the same content from another member's proposal), or too long.
      expect((await propose(now + 600)).name).toBe('BadExpiry');
      expect((await propose(now + 91 * 86_400)).name).toBe('BadExpiry');
    });

    it('checks a proposal against the current state when it is made', async () => {
      const refusal = async (action: ProposalAction) => (await revertOf(consortium.propose(a, action))).name;
      expect(await refusal({ kind: 'AddMember', member: b.address, name: 'Again' })).toBe('AlreadyMember');
      expect(await refusal({ kind: 'AddMember', member: d.address, name: '' })).toBe('BadName');
      expect(await refusal({ kind: 'RemoveMember', member: outsider.address })).toBe('NotMember');
      expect(await refusal({ kind: 'ChangeThreshold', threshold: 4 })).toBe('BadThreshold');
      expect(await refusal({ kind: 'ChangeThreshold', threshold: 0 })).toBe('BadThreshold');
      expect(await refusal(authorise(agency.address))).toBe('AuthorisationUnchanged');
    });
  });

  it('counts only the votes of current members, and keeps the threshold within the member count', async () => {
    const consortium = await threeDepartments();
    const governance = consortium.governance;
    // c proposes, then leaves: its vote stops counting.
    const { proposalId: pending } = await consortium.propose(c, authorise(agency.address));
    await consortium.pass([a, b], { kind: 'RemoveMember', member: c.address });
    expect(await call(governance, 'members')).toEqual([a.address, b.address]);
    expect(await call(governance, 'approvalsOf', pending)).toBe(0n);
    expect((await revertOf(consortium.vote(c, pending))).name).toBe('NotMember');
    await consortium.vote(a, pending);
    expect(await call(governance, 'stateOf', pending)).toBe(STATE.Open);
    await consortium.vote(b, pending);
    expect(await call(governance, 'stateOf', pending)).toBe(STATE.Executed);

    // Two members, threshold two: removing either would leave the threshold above the member count.
    expect(await revertOf(consortium.propose(a, { kind: 'RemoveMember', member: b.address }))).toEqual({
      name: 'BadThreshold',
      args: [2n, 1n],
    });
    await consortium.pass([a, b], { kind: 'AddMember', member: d.address, name: 'Tax' });
    expect(await call(governance, 'memberName', d.address)).toBe('Tax');
    expect(await call(governance, 'memberCount')).toBe(3n);
  });

  it('leaves a proposal untouched when its execution fails: the vote is reverted with it', async () => {
    const consortium = await threeDepartments();
    const governance = consortium.governance;
    const { proposalId: removal } = await consortium.propose(a, { kind: 'RemoveMember', member: c.address });
    await consortium.pass([b, c], { kind: 'ChangeThreshold', threshold: 3 });
    await consortium.vote(b, removal);
    expect(await call(governance, 'approvalsOf', removal)).toBe(2n);

    // The third vote would execute the removal, which now breaks threshold ≤ members.
    expect(await revertOf(consortium.vote(c, removal))).toEqual({ name: 'BadThreshold', args: [3n, 2n] });
    expect(await call(governance, 'stateOf', removal)).toBe(STATE.Open);
    expect(await call(governance, 'hasVoted', removal, c.address)).toBe(false);
    expect(await call(governance, 'approvalsOf', removal)).toBe(2n);
    expect(await call(governance, 'isMember', c.address)).toBe(true);
  });

  it('executes on request a proposal that meets a lowered threshold, and not before', async () => {
    const consortium = await threeDepartments();
    await consortium.pass([a, b, c], { kind: 'ChangeThreshold', threshold: 3 });
    const { proposalId } = await consortium.propose(a, authorise(agency.address));
    const execute = () => signedBy(consortium.governance, b).getFunction('execute')(proposalId);
    expect(await revertOf(execute())).toEqual({ name: 'ThresholdNotMet', args: [1n, 3n] });
    expect((await revertOf(signedBy(consortium.governance, outsider).getFunction('execute')(proposalId))).name).toBe('NotMember');
    await consortium.pass([a, b, c], { kind: 'ChangeThreshold', threshold: 1 });
    const receipt = await (await execute()).wait();
    expect(governanceEvents(receipt).map((event) => event.event)).toEqual(['ProposalExecuted']);
    expect(await call(consortium.issuerRegistry, 'isAuthorised', agency.address, DRIVING)).toBe(true);
  });

  it('binds its registries once, only by the deployer, only registries it governs', async () => {
    const consortium = await threeDepartments();
    const targets = [consortium.issuerRegistry, consortium.catalogue, consortium.dataSharing, consortium.jointApproval].map(
      (contract) => contract.target,
    );
    expect((await revertOf(signedBy(consortium.governance, deployer).getFunction('bindTargets')(...targets))).name).toBe(
      'TargetsAlreadyBound',
    );

    const fresh = await chain.deploy('ConsortiumGovernance', [[a.address], ['A'], 1], deployer);
    expect(await revertOf(signedBy(fresh, a).getFunction('bindTargets')(...targets))).toEqual({
      name: 'NotDeployer',
      args: [a.address],
    });
    expect(await revertOf(signedBy(fresh, deployer).getFunction('bindTargets')(...targets))).toEqual({
      name: 'TargetNotGovernedHere',
      args: [targets[0]],
    });
    // Until bound, registry proposals are refused; membership proposals work.
    const unbound = new Consortium(
      chain,
      fresh,
      consortium.issuerRegistry,
      consortium.catalogue,
      consortium.dataSharing,
      consortium.jointApproval,
    );
    expect((await revertOf(unbound.propose(a, authorise(agency.address)))).name).toBe('TargetsNotBound');
    await unbound.propose(a, { kind: 'AddMember', member: b.address, name: 'B' });
    expect(await call(fresh, 'isMember', b.address)).toBe(true);
    expect((await revertOf(chain.deploy('GovernedIssuerRegistry', [outsider.address], deployer))).name).toBe(
      'GovernanceNotAContract',
    );
  });

  it('refuses re-entry from a governed target during execution', async () => {
    // A hostile registry that, when governance calls it, calls back into governance as a member.
    const source = `// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;
interface IGovernance { function propose(uint8 kind, bytes calldata args, uint64 expiresAt) external returns (uint256); }
contract ReentrantRegistry {
    address public governance;
    function setGovernance(address value) external { governance = value; }
    function checkChange(address, bytes32, bool) external pure {}
    function setAuthorised(address, bytes32, bool) external {
        IGovernance(governance).propose(2, abi.encode(uint256(1)), uint64(block.timestamp + 7200));
    }
}`;
    const { artifacts } = compileContracts({ 'ReentrantRegistry.sol': source });
    const hostile = artifacts['ReentrantRegistry']!;
    const deployed = await send(deployer, { data: hostile.bytecode });
    const registry = new Contract(deployed.contractAddress!, hostile.abi as never, deployer);
    const governance = await chain.deploy('ConsortiumGovernance', [[a.address, registry.target], ['A', 'Hostile'], 1], deployer);
    await (await registry.getFunction('setGovernance')(governance.target)).wait();
    const [catalogue, dataSharing, jointApproval] = [
      await chain.deploy('CatalogueRegistry', [governance.target], deployer),
      await chain.deploy('DataSharingRegistry', [governance.target], deployer),
      await chain.deploy('JointApproval', [governance.target], deployer),
    ];
    const bind = signedBy(governance, deployer).getFunction('bindTargets');
    await (await bind(registry.target, catalogue.target, dataSharing.target, jointApproval.target)).wait();
    const victim = new Consortium(chain, governance, registry, catalogue, dataSharing, jointApproval);
    expect((await revertOf(victim.propose(a, authorise(agency.address)))).name).toBe('ReentrancyGuardReentrantCall');
    expect(await call(governance, 'proposalCount')).toBe(0n);
  });

  it('stays within the EIP-170 contract size limit that consortium chains enforce', async () => {
    const consortium = await threeDepartments();
    const anchor = await chain.deploy('AuditAnchor', [], deployer);
    for (const contract of [
      consortium.governance,
      consortium.issuerRegistry,
      consortium.catalogue,
      consortium.dataSharing,
      consortium.jointApproval,
      anchor,
    ]) {
      const code = await chain.provider.getCode(contract.target as string);
      expect((code.length - 2) / 2).toBeLessThanOrEqual(24_576);
    }
  });

  it('encodes each proposal kind as the contract decodes it (canonical args round-trip through the chain)', async () => {
    const consortium = await threeDepartments();
    const abi = AbiCoder.defaultAbiCoder();
    const actions: ProposalAction[] = [
      { kind: 'AddMember', member: d.address, name: 'Tax' },
      { kind: 'RemoveMember', member: c.address },
      { kind: 'ChangeThreshold', threshold: 3 },
      authorise(agency.address),
      { kind: 'PublishType', typeId: DRIVING, schemaDigest: keccak256('0x01'), version: 1 },
    ];
    for (const action of actions) {
      const { proposalId, events } = await consortium.propose(a, action);
      const created = events.find((event) => event.event === 'ProposalCreated')!;
      expect(created).toMatchObject({ proposalId, proposer: a.address, action });
      const stored = await call(consortium.governance, 'proposal', proposalId);
      expect(stored.args).toBe(encodeProposal(action).args);
      expect(stored.contentHash).toBe(keccak256(abi.encode(['uint8', 'bytes'], [stored.kind, stored.args])));
    }
  });

  it('replays from a journal only at the original block times: what the embedded node’s replay must do', async () => {
    await chain.reset();
    await chain.fund([deployer, a]);
    await chain.increaseTime(86_400); // the journal is recorded "a day later" than a fresh node's genesis
    journal.length = 0;
    const consortium = await chain.deployConsortium(deployer, [{ wallet: a, name: 'Embedded' }], 1);
    await consortium.propose(a, authorise(agency.address), 7_200);
    const recorded = [...journal];
    const replay = async (atOriginalTimes: boolean) => {
      await chain.reset();
      await chain.fund([deployer, a]);
      if (!atOriginalTimes) await chain.increaseTime(2 * 86_400);
      const outcomes: string[] = [];
      for (const entry of recorded) {
        if (atOriginalTimes) await chain.setNextTimestamp(entry.blockTimestamp);
        // hardhat refuses a reverting raw transaction outright: so would the journal replay.
        const landed = chain.provider.broadcastTransaction(entry.rawTx).then((response) => response.wait());
        outcomes.push(
          await landed.then(
            () => 'mined',
            async (error) => (await revertOf(Promise.reject(error))).name,
          ),
        );
      }
      return outcomes;
    };
    const isAuthorised = () => call(consortium.issuerRegistry, 'isAuthorised', agency.address, DRIVING);

    // Replayed later, the proposal has expired before it is made: the same bytes revert (BadExpiry).
    const mined = Array<string>(6).fill('mined');
    expect(await replay(false)).toEqual([...mined, 'BadExpiry']);
    expect(await isAuthorised()).toBe(false);
    // ...although hardhat did mine it (failed): the nonce is used, only the effect is lost.
    const failed = await chain.provider.getTransactionReceipt(Transaction.from(recorded.at(-1)!.rawTx).hash!);
    expect(failed?.status).toBe(0);
    // Replayed at the times they were first mined, every transaction lands and the state is the same.
    expect(await replay(true)).toEqual([...mined, 'mined']);
    expect(await isAuthorised()).toBe(true);
  });
});
