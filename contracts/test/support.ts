import {
  Contract,
  Interface,
  JsonRpcProvider,
  Wallet,
  type ContractRunner,
  type ErrorFragment,
  type TransactionReceipt,
} from 'ethers';
import { EmbeddedChainNode } from '../../src/chain/embedded-node.js';
import {
  CONSORTIUM_CONTRACT_NAMES,
  contractInterface,
  deploymentData,
  type CompiledContractName,
} from '../../src/chain/contracts.js';
import {
  bindTargetsCall,
  decodeGovernanceLog,
  governanceDeployment,
  governedDeployment,
  PROPOSAL_KINDS,
  proposeCall,
  voteCall,
  type GovernanceEvent,
  type ProposalAction,
} from '../../src/chain/consortium-governance.js';

/** Gas used per labelled transaction kind (first sighting wins), printed with GAS_REPORT=1. */
const gasUsed = new Map<string, bigint>();

/** A hardhat node for one test file, with funded throw-away accounts and time control. */
export class TestChain {
  private constructor(
    private readonly node: EmbeddedChainNode,
    readonly provider: JsonRpcProvider,
  ) {}

  static async start(): Promise<TestChain> {
    const node = await EmbeddedChainNode.start({ chainId: 7777, port: 0 });
    // No response caching: back-to-back transactions of one account must see fresh nonces.
    const provider = new JsonRpcProvider(node.rpcUrl, 7777, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 20 });
    return new TestChain(node, provider);
  }

  async stop(): Promise<void> {
    this.provider.destroy();
    await this.node.stop();
  }

  /** Fresh accounts; funded so that ethers' default fee settings work (the chain's base fee is 0). */
  async accounts(count: number): Promise<Wallet[]> {
    const wallets = Array.from({ length: count }, () => new Wallet(Wallet.createRandom().privateKey, this.provider));
    await this.fund(wallets);
    return wallets;
  }

  async fund(wallets: readonly Wallet[]): Promise<void> {
    for (const wallet of wallets) await this.provider.send('hardhat_setBalance', [wallet.address, '0x56BC75E2D63100000']);
  }

  async now(): Promise<number> {
    return (await this.provider.getBlock('latest'))!.timestamp;
  }

  /** Moves chain time forward; the next block is mined at least that much later. */
  async increaseTime(seconds: number): Promise<void> {
    await this.provider.send('evm_increaseTime', [seconds]);
    await this.provider.send('evm_mine', []);
  }

  /** Saves the chain state; revert() returns to it (much faster than deploying again). */
  async snapshot(): Promise<string> {
    return (await this.provider.send('evm_snapshot', [])) as string;
  }

  /** Returns to a snapshot, which is used up by it: take a new one to return again. */
  async revert(snapshotId: string): Promise<void> {
    if (!(await this.provider.send('evm_revert', [snapshotId]))) throw new Error(`No snapshot ${snapshotId}`);
  }

  /** A fresh, empty chain on the same node (what a restarted embedded node is). */
  async reset(): Promise<void> {
    await this.provider.send('hardhat_reset', []);
  }

  /** The next transaction's block gets exactly this timestamp. */
  async setNextTimestamp(timestamp: number): Promise<void> {
    await this.provider.send('evm_setNextBlockTimestamp', [timestamp]);
  }

  async deploy(name: CompiledContractName, args: readonly unknown[], from: Wallet): Promise<Contract> {
    return this.deployData(name, deploymentData(name, args), from);
  }

  async deployData(name: CompiledContractName, data: string, from: Wallet): Promise<Contract> {
    const receipt = await send(from, { data }, `deploy ${name}`);
    return new Contract(receipt.contractAddress!, contractInterface(name), this.provider);
  }

  /** The consortium contracts, deployed and bound the way consortium:init will do it. */
  async deployConsortium(
    deployer: Wallet,
    founders: readonly { wallet: Wallet; name: string }[],
    threshold: number,
  ): Promise<Consortium> {
    const data = governanceDeployment(
      founders.map(({ wallet, name }) => ({ member: wallet.address, name })),
      threshold,
    );
    const governance = await this.deployData('ConsortiumGovernance', data, deployer);
    const address = await governance.getAddress();
    const issuerRegistry = await this.deployData(
      'GovernedIssuerRegistry',
      governedDeployment('GovernedIssuerRegistry', address),
      deployer,
    );
    const catalogue = await this.deployData('CatalogueRegistry', governedDeployment('CatalogueRegistry', address), deployer);
    const dataSharing = await this.deployData(
      'DataSharingRegistry',
      governedDeployment('DataSharingRegistry', address),
      deployer,
    );
    const jointApproval = await this.deployData('JointApproval', governedDeployment('JointApproval', address), deployer);
    await send(
      deployer,
      {
        to: address,
        data: bindTargetsCall({
          issuerRegistry: await issuerRegistry.getAddress(),
          catalogue: await catalogue.getAddress(),
          dataSharing: await dataSharing.getAddress(),
          jointApproval: await jointApproval.getAddress(),
        }),
      },
      'bindTargets',
    );
    return new Consortium(this, governance, issuerRegistry, catalogue, dataSharing, jointApproval);
  }
}

/** The deployed consortium contracts, and proposal helpers that send the calldata our bindings build. */
export class Consortium {
  constructor(
    readonly chain: TestChain,
    readonly governance: Contract,
    readonly issuerRegistry: Contract,
    readonly catalogue: Contract,
    readonly dataSharing: Contract,
    readonly jointApproval: Contract,
  ) {}

  get address(): string {
    return this.governance.target as string;
  }

  /** Sends propose(); returns the new proposal's id and every governance event of the transaction. */
  async propose(
    member: Wallet,
    action: ProposalAction,
    lifetimeSeconds = 7_200,
  ): Promise<{ proposalId: bigint; events: GovernanceEvent[]; receipt: TransactionReceipt }> {
    const expiresAt = (await this.chain.now()) + lifetimeSeconds;
    const receipt = await send(member, { to: this.address, data: proposeCall(action, expiresAt) });
    const events = governanceEvents(receipt);
    const executed = events.some((event) => event.event === 'ProposalExecuted');
    recordGas(`propose ${action.kind}${executed ? ' (threshold 1: executes at once)' : ''}`, receipt);
    const created = events.find((event) => event.event === 'ProposalCreated');
    return { proposalId: created!.proposalId, events, receipt };
  }

  async vote(member: Wallet, proposalId: bigint): Promise<{ events: GovernanceEvent[]; receipt: TransactionReceipt }> {
    const receipt = await send(member, { to: this.address, data: voteCall(proposalId) });
    const events = governanceEvents(receipt);
    const executed = events.some((event) => event.event === 'ProposalExecuted');
    const kind = executed ? (await this.governance.getFunction('proposal')(proposalId)).kind : undefined;
    recordGas(executed ? `vote that executes ${PROPOSAL_KINDS[Number(kind)]}` : 'vote (threshold not yet met)', receipt);
    return { events, receipt };
  }

  /** Proposes with the first member and votes with the others until the proposal is executed. */
  async pass(members: readonly Wallet[], action: ProposalAction): Promise<TransactionReceipt> {
    const { proposalId, receipt } = await this.propose(members[0]!, action);
    let last = receipt;
    for (const member of members.slice(1)) {
      if ((await this.governance.getFunction('stateOf')(proposalId)) !== 1n) break;
      last = (await this.vote(member, proposalId)).receipt;
    }
    if ((await this.governance.getFunction('stateOf')(proposalId)) !== 2n) throw new Error(`Proposal ${proposalId} did not pass`);
    return last;
  }
}

export function governanceEvents(receipt: TransactionReceipt): GovernanceEvent[] {
  return receipt.logs.map((log) => decodeGovernanceLog(log)).filter((event) => event !== undefined);
}

/** Every transaction sent through send(): its signed bytes and its block's time, as the outbox journal keeps them. */
export const journal: { rawTx: string; blockTimestamp: number }[] = [];

/**
 * Signs, broadcasts and waits for a transaction, as the outbox worker does (so the signed bytes can be
 * replayed); the label records its gas for the report.
 */
export async function send(from: Wallet, request: { to?: string; data: string }, label?: string): Promise<TransactionReceipt> {
  const rawTx = await from.signTransaction(await from.populateTransaction(request));
  const response = await from.provider!.broadcastTransaction(rawTx);
  const receipt = (await response.wait())!;
  journal.push({ rawTx, blockTimestamp: (await receipt.getBlock()).timestamp });
  if (label) recordGas(label, receipt);
  return receipt;
}

/** Keeps the gas of the first transaction seen under a label. */
export function recordGas(label: string, receipt: TransactionReceipt): void {
  if (!gasUsed.has(label)) gasUsed.set(label, receipt.gasUsed);
}

/** A contract handle whose transactions the given account signs. */
export const signedBy = (contract: Contract, runner: ContractRunner): Contract =>
  new Contract(contract.target, contract.interface, runner);

/** Every custom error of every compiled contract (and the ones OpenZeppelin code raises inside them). */
const errors = new Interface([
  ...new Map(
    [...CONSORTIUM_CONTRACT_NAMES, 'TrustedIssuerRegistry', 'StatusListAnchor']
      .flatMap((name) => contractInterface(name as CompiledContractName).fragments)
      .filter((fragment): fragment is ErrorFragment => fragment.type === 'error')
      .map((fragment) => [fragment.format('sighash'), fragment] as const),
  ).values(),
]);

/** The name and arguments of the custom error a call or transaction reverts with; throws if it succeeds. */
export async function revertOf(action: Promise<unknown>): Promise<{ name: string; args: unknown[] }> {
  try {
    const result = await action;
    const wait = (result as { wait?: () => Promise<unknown> } | undefined)?.wait;
    if (wait) await wait.call(result);
  } catch (error) {
    const data = revertData(error);
    if (data === '0x') return { name: '(no data)', args: [] };
    const parsed = data ? errors.parseError(data) : null;
    if (!parsed) throw error;
    return { name: parsed.name, args: [...parsed.args] };
  }
  throw new Error('Expected a revert, but the call succeeded');
}

/** The revert data, wherever ethers or the node put it (error.data, error.info.error, error.error.data.data). */
function revertData(error: unknown): string | undefined {
  let current = error as Record<string, unknown> | undefined;
  for (let depth = 0; current && depth < 6; depth++) {
    const data = current['data'];
    if (typeof data === 'string') return data;
    const info = current['info'] as Record<string, unknown> | undefined;
    current = (typeof data === 'object' && data !== null ? data : (info?.['error'] ?? current['error'])) as
      Record<string, unknown> | undefined;
  }
  return undefined;
}

export function reportGas(file: string): void {
  // eslint-disable-next-line no-restricted-properties -- a test switch, not service configuration
  if (!process.env['GAS_REPORT']) return;
  const rows = [...gasUsed].map(([label, gas]) => `  ${label.padEnd(44)} ${gas.toString().padStart(9)}`);
  console.log(`gas used (${file}):\n${rows.join('\n')}`);
}
