import { AbiCoder, concat, keccak256, toUtf8Bytes } from 'ethers';
import {
  auditLeaf,
  auditRangeTree,
  hashPair,
  merkleProof,
  merkleRoot,
  merkleTree,
  processProof,
  verifyMerkleProof,
} from './merkle.js';

const entryHash = (n: number) => keccak256(toUtf8Bytes(`entry ${n}`));
const leaves = (count: number) => Array.from({ length: count }, (_, i) => auditLeaf(i + 1, entryHash(i + 1)));
/** OpenZeppelin's commutative pair hash, written out independently of the helper. */
const ozPair = (a: string, b: string) => keccak256(BigInt(a) < BigInt(b) ? concat([a, b]) : concat([b, a]));

describe('audit Merkle trees', () => {
  it('hashes a leaf twice over abi.encode(uint64 seq, bytes32 entryHash), as AuditAnchor.leafHash does', () => {
    const inner = keccak256(AbiCoder.defaultAbiCoder().encode(['uint64', 'bytes32'], [7n, entryHash(7)]));
    expect(auditLeaf(7, entryHash(7))).toBe(keccak256(inner));
    expect(auditLeaf(7n, entryHash(7).toUpperCase().replace('0X', '0x'))).toBe(auditLeaf(7, entryHash(7)));
  });

  it('keeps the leaf and root format stable (anchored roots are checked years later)', () => {
    // Pinned vectors: a change here would break every anchor already on chain.
    expect(auditLeaf(1, entryHash(1))).toBe('0xc4cc2132206c8a9d4770c25b5e0d6d6c9a61e9447fe4e82e24e8feb724904528');
    expect(merkleRoot(leaves(5))).toBe('0x46135e1c2f215d3564740c6c6d1c553004ce2422fdb93447465799e970115d29');
  });

  it('builds the tree level by level, pairing in order and moving an odd last node up unchanged', () => {
    const [a, b, c] = leaves(3) as [string, string, string];
    expect(merkleRoot([a])).toBe(a);
    expect(merkleRoot([a, b])).toBe(ozPair(a, b));
    expect(merkleRoot([a, b, c])).toBe(ozPair(ozPair(a, b), c));
    expect(hashPair(a, b)).toBe(hashPair(b, a));
    // Not Bitcoin's duplication: [a, b, c] and [a, b, c, c] must differ.
    expect(merkleRoot([a, b, c])).not.toBe(merkleRoot([a, b, c, c]));
  });

  it('gives every leaf of trees of 1 to 17 leaves a proof that verifies only for that leaf', () => {
    const all17 = leaves(17);
    for (let count = 1; count <= 17; count++) {
      const all = all17.slice(0, count);
      const tree = merkleTree(all);
      const root = tree.root;
      expect(merkleRoot(all)).toBe(root);
      for (let index = 0; index < count; index++) {
        const proof = tree.proof(index);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(count)));
        expect(verifyMerkleProof(proof, root, all[index]!)).toBe(true);
        if (count > 1) expect(verifyMerkleProof(proof, root, all[(index + 1) % count]!)).toBe(false);
      }
    }
  });

  it('detects a changed sibling in a proof', () => {
    const all = leaves(9);
    const proof = merkleProof(all, 4);
    const root = merkleRoot(all);
    proof[1] = keccak256('0x00');
    expect(verifyMerkleProof(proof, root, all[4]!)).toBe(false);
    expect(processProof(all[4]!, [])).toBe(all[4]);
  });

  it('builds a range tree from consecutive entries, with proofs by sequence number', () => {
    const entries = [12, 13, 14, 15, 16].map((seq) => ({ seq, entryHash: entryHash(seq) }));
    const tree = auditRangeTree(entries);
    expect([tree.fromSeq, tree.toSeq]).toEqual([12n, 16n]);
    expect(verifyMerkleProof(tree.proof(14), tree.root, auditLeaf(14, entryHash(14)))).toBe(true);
    expect(verifyMerkleProof(tree.proof(14), tree.root, auditLeaf(15, entryHash(14)))).toBe(false);
  });

  it('refuses what it cannot build honestly', () => {
    expect(() => merkleRoot([])).toThrow();
    expect(() => merkleProof(leaves(3), 3)).toThrow();
    expect(() => merkleProof(leaves(3), -1)).toThrow();
    expect(() => auditLeaf(0, entryHash(1))).toThrow();
    expect(() => auditLeaf(2n ** 64n, entryHash(1))).toThrow();
    expect(() => auditLeaf(1, '0x1234')).toThrow();
    expect(() => auditRangeTree([])).toThrow();
    expect(() => auditRangeTree([1, 3].map((seq) => ({ seq, entryHash: entryHash(seq) })))).toThrow();
  });
});
