import { Contract, keccak256, toUtf8Bytes, type Wallet } from 'ethers';
import {
  anchorOfCall,
  anchorRangeCall,
  decodeAnchorOf,
  decodeAuditAnchorLog,
  decodeNextSequence,
  nextSequenceCall,
} from '../../src/chain/audit-anchor.js';
import { auditLeaf, auditRangeTree } from '../../src/chain/merkle.js';
import { reportGas, revertOf, send, TestChain } from './support.js';

/** A stand-in hash chain: each entry's hash commits to the previous one, as the audit log's will. */
function entries(fromSeq: number, count: number, salt: string) {
  return Array.from({ length: count }, (_, index) => ({
    seq: fromSeq + index,
    entryHash: keccak256(toUtf8Bytes(`${salt}:${fromSeq + index}`)),
  }));
}

describe('AuditAnchor', () => {
  let chain: TestChain;
  let anchor: Contract;
  let department: Wallet, other: Wallet;
  const call = (name: string, ...args: unknown[]) => anchor.getFunction(name)(...args);
  const anchorRange = (from: Wallet, fromSeq: bigint, toSeq: bigint, root: string, label?: string) =>
    send(from, { to: anchor.target as string, data: anchorRangeCall(fromSeq, toSeq, root) }, label);

  beforeAll(async () => {
    chain = await TestChain.start();
    let deployer: Wallet;
    [deployer, department, other] = await chain.accounts(3);
    anchor = await chain.deploy('AuditAnchor', [], deployer);
  });
  afterAll(async () => {
    reportGas('audit-anchor');
    await chain.stop();
  });

  it('computes the same leaf as our Merkle helper', async () => {
    const entryHash = keccak256(toUtf8Bytes('entry'));
    for (const seq of [1, 2, 1_000_000, 2 ** 53 - 1])
      expect(await call('leafHash', seq, entryHash)).toBe(auditLeaf(seq, entryHash));
  });

  it('anchors contiguous ranges per department and verifies every entry with proofs built off chain', async () => {
    let next = 1;
    const ranges: ReturnType<typeof auditRangeTree>[] = [];
    const rangeEntries: ReturnType<typeof entries>[] = [];
    for (const size of [1, 2, 3, 5, 8, 13, 64]) {
      const batch = entries(next, size, 'department');
      const tree = auditRangeTree(batch);
      const receipt = await anchorRange(department, tree.fromSeq, tree.toSeq, tree.root, `anchor a range (${size} entries)`);
      expect(receipt.logs.map(decodeAuditAnchorLog)).toEqual([
        { department: department.address, index: ranges.length, fromSeq: tree.fromSeq, toSeq: tree.toSeq, root: tree.root },
      ]);
      ranges.push(tree);
      rangeEntries.push(batch);
      next += size;
    }
    const read = async (data: string) => chain.provider.call({ to: anchor.target as string, data });
    expect(decodeNextSequence(await read(nextSequenceCall(department.address)))).toBe(BigInt(next));
    expect(await call('anchorCount', department.address)).toBe(BigInt(ranges.length));

    for (const [index, tree] of ranges.entries()) {
      // Every entry of the small ranges (every tree shape up to 13 leaves); the ends and middle of the large one.
      const batch = rangeEntries[index]!;
      const checked = batch.length > 13 ? [batch[0]!, batch[31]!, batch[32]!, batch.at(-1)!] : batch;
      for (const entry of checked) {
        const proof = tree.proof(entry.seq);
        expect(await call('verifyEntry', department.address, entry.seq, entry.entryHash, proof)).toBe(true);
        const found = decodeAnchorOf(department.address, await read(anchorOfCall(department.address, BigInt(entry.seq))));
        expect(found).toMatchObject({ index, fromSeq: tree.fromSeq, toSeq: tree.toSeq, root: tree.root });
      }
    }

    // An edited entry, a proof moved to another sequence number, a proof from another range: all fail.
    const sample = rangeEntries[5]![4]!;
    const proof = ranges[5]!.proof(sample.seq);
    expect(await call('verifyEntry', department.address, sample.seq, keccak256('0x00'), proof)).toBe(false);
    expect(await call('verifyEntry', department.address, sample.seq + 1, sample.entryHash, proof)).toBe(false);
    const elsewhere = rangeEntries[6]![0]!;
    expect(await call('verifyEntry', department.address, elsewhere.seq, sample.entryHash, proof)).toBe(false);
    expect(await revertOf(call('anchorOf', department.address, next))).toEqual({
      name: 'NotAnchored',
      args: [department.address, BigInt(next)],
    });
  });

  it('refuses gaps, overlaps, empty ranges and zero roots; each department has its own series', async () => {
    const root = keccak256('0x01');
    const next = BigInt(await call('nextSequence', department.address));
    expect(await revertOf(anchorRange(department, next + 1n, next + 5n, root))).toEqual({
      name: 'RangeNotContiguous',
      args: [next, next + 1n],
    });
    expect((await revertOf(anchorRange(department, next - 1n, next + 5n, root))).name).toBe('RangeNotContiguous');
    expect((await revertOf(anchorRange(department, next, next - 1n, root))).name).toBe('EmptyRange');
    expect((await revertOf(anchorRange(department, next, next, '0x' + '00'.repeat(32)))).name).toBe('ZeroRoot');

    expect(await call('nextSequence', other.address)).toBe(1n);
    const tree = auditRangeTree(entries(1, 3, 'other'));
    await anchorRange(other, 1n, 3n, tree.root);
    const first = await call('anchorAt', other.address, 0);
    expect([first.fromSeq, first.toSeq, first.root]).toEqual([1n, 3n, tree.root]);
    expect(first.anchoredAt).toBeGreaterThan(0n);
    expect((await revertOf(call('anchorAt', other.address, 1))).name).toBe('NoSuchAnchor');
    // The other department's root does not vouch for this department's entries.
    const entry = entries(1, 3, 'other')[1]!;
    expect(await call('verifyEntry', other.address, entry.seq, entry.entryHash, tree.proof(entry.seq))).toBe(true);
    expect(await call('verifyEntry', department.address, entry.seq, entry.entryHash, tree.proof(entry.seq))).toBe(false);
  });
});
