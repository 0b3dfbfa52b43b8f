import type { Filter, Log } from 'ethers';
import type { ChainBootstrap } from './chain-bootstrap.js';
import type { ChainClient } from './chain.client.js';
import { MAX_BLOCKS_PER_QUERY, type ChainEvents } from './chain-events.js';
import { JointApprovalChain } from './joint-approval.service.js';
import type { OutboxService } from './outbox.service.js';

describe('JointApprovalChain.logsOf', () => {
  it("reads an application's events from the block given to the head in ranges a node answers, none skipped", async () => {
    const head = 10 + 2 * MAX_BLOCKS_PER_QUERY + 7;
    const ranges: [number, number][] = [];
    const chain = {
      provider: {
        getBlockNumber: async () => head,
        getLogs: async (filter: Filter): Promise<Log[]> => {
          const [from, to] = [Number(filter.fromBlock), Number(filter.toBlock)];
          // As Besu with its eth_getLogs range cap.
          if (to - from + 1 > MAX_BLOCKS_PER_QUERY) throw Object.assign(new Error('range too wide'), { code: -32005 });
          ranges.push([from, to]);
          return [];
        },
      },
    } as unknown as ChainClient;
    const approvals = new JointApprovalChain(
      chain,
      { consortium: { jointApproval: '0x' + '3'.repeat(40) } } as unknown as ChainBootstrap,
      { onSettled: () => undefined } as unknown as OutboxService,
      { onLog: () => undefined } as unknown as ChainEvents,
    );
    const read = await approvals.logsOf('0x' + 'a'.repeat(64), 10);
    expect(read).toEqual({ logs: [], toBlock: head });
    expect(ranges).toEqual([
      [10, 9 + MAX_BLOCKS_PER_QUERY],
      [10 + MAX_BLOCKS_PER_QUERY, 9 + 2 * MAX_BLOCKS_PER_QUERY],
      [10 + 2 * MAX_BLOCKS_PER_QUERY, head],
    ]);
    // A start past the head (blocks renumbered by a replay of the embedded node): everything is read again.
    ranges.length = 0;
    await approvals.logsOf('0x' + 'a'.repeat(64), head + 500);
    expect(ranges[0]).toEqual([0, MAX_BLOCKS_PER_QUERY - 1]);
    expect(ranges.at(-1)![1]).toBe(head);
  });
});

describe('JointApprovalChain.deploymentBlock', () => {
  it('finds the first block with the code, and starts at the genesis on a node that keeps only recent state', async () => {
    const make = (codeAt: (block: number) => string) =>
      new JointApprovalChain(
        {
          provider: {
            getBlockNumber: async () => 1_000,
            getCode: async (_address: string, block: number) => codeAt(block),
          },
        } as unknown as ChainClient,
        { consortium: { jointApproval: '0x' + '3'.repeat(40) } } as unknown as ChainBootstrap,
        { onSettled: () => undefined } as unknown as OutboxService,
        { onLog: () => undefined } as unknown as ChainEvents,
      );
    expect(await make((block) => (block >= 420 ? '0x60' : '0x')).deploymentBlock()).toBe(420);
    const bonsai = make((block) => {
      if (block < 900) throw Object.assign(new Error('World state unavailable for block'), { code: -32000 });
      return '0x60';
    });
    expect(await bonsai.deploymentBlock()).toBe(0);
  });
});
