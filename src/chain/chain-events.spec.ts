import type { Filter, Log } from 'ethers';
import { ChainEvents, MAX_BLOCKS_PER_QUERY } from './chain-events.js';
import type { ChainClient } from './chain.client.js';

/** A node that answers eth_getLogs only for ranges of at most MAX_BLOCKS_PER_QUERY blocks, as many nodes do. */
function nodeWithRangeCap(head: { block: number }) {
  const ranges: [number, number][] = [];
  const chain = {
    blockNumber: async () => head.block,
    provider: {
      getLogs: async (filter: Filter): Promise<Log[]> => {
        const from = Number(filter.fromBlock);
        const to = Number(filter.toBlock);
        if (to - from + 1 > MAX_BLOCKS_PER_QUERY)
          throw Object.assign(new Error('query exceeds max block range'), { code: -32005 });
        ranges.push([from, to]);
        return [];
      },
    },
  } as unknown as ChainClient;
  return { chain, ranges };
}

describe('ChainEvents', () => {
  it('reads a long backlog (a replica cut off for hours) in ranges the node answers, none skipped or read twice', async () => {
    const head = { block: 10 };
    const { chain, ranges } = nodeWithRangeCap(head);
    const events = new ChainEvents(chain, 1_000);
    events.watch('0x' + '1'.repeat(40), ['0x' + 'a'.repeat(64)]);
    await events.poll(); // starts at the head
    head.block = 10 + 2 * MAX_BLOCKS_PER_QUERY + 500;
    await events.poll();
    expect(ranges).toEqual([
      [11, 10 + MAX_BLOCKS_PER_QUERY],
      [11 + MAX_BLOCKS_PER_QUERY, 10 + 2 * MAX_BLOCKS_PER_QUERY],
      [11 + 2 * MAX_BLOCKS_PER_QUERY, head.block],
    ]);
    await events.poll();
    expect(ranges).toHaveLength(3);
  });

  it('reads no more logs of a contract it stopped watching', async () => {
    const asked: string[] = [];
    const head = { block: 5 };
    const chain = {
      blockNumber: async () => head.block,
      provider: {
        getLogs: async (filter: Filter): Promise<Log[]> => {
          asked.push(String(filter.address));
          return [];
        },
      },
    } as unknown as ChainClient;
    const events = new ChainEvents(chain, 1_000);
    const [left, kept] = ['0x' + '1'.repeat(40), '0x' + '2'.repeat(40)];
    events.watch(left, ['0x' + 'a'.repeat(64)]);
    events.watch(kept, ['0x' + 'b'.repeat(64)]);
    await events.poll();
    head.block = 6;
    await events.poll();
    expect(asked).toEqual([left, kept]);
    events.unwatch(left);
    head.block = 7;
    await events.poll();
    expect(asked).toEqual([left, kept, kept]);
  });
});
