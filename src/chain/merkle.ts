import { AbiCoder, concat, keccak256 } from 'ethers';

/**
 * Merkle trees for audit-log anchors (ADR 11), in the form OpenZeppelin's MerkleProof verifies: inner
 * nodes hash their two children sorted (commutative keccak256), so a proof is only the list of siblings.
 * Leaves are in sequence order; the last node of an odd level moves up unchanged (duplicating it, as
 * Bitcoin does, would give two different leaf lists the same root). Each leaf commits to its sequence
 * number, so a proof also shows where in the range the entry sits.
 */

const HEX_32 = /^0x[0-9a-fA-F]{64}$/;
const MAX_UINT64 = (1n << 64n) - 1n;

function word(value: string): string {
  if (!HEX_32.test(value)) throw new Error(`Not a 32-byte hex value: ${value}`);
  return value.toLowerCase();
}

/**
 * The leaf of audit entry `seq` whose hash-chained entry hash is `entryHash`: hashed twice, so that no
 * 64-byte leaf preimage can pass for an inner node (AuditAnchor.leafHash computes the same).
 */
export function auditLeaf(seq: bigint | number, entryHash: string): string {
  const sequence = BigInt(seq);
  if (sequence < 1n || sequence > MAX_UINT64) throw new Error(`Sequence number out of range: ${seq}`);
  return keccak256(keccak256(AbiCoder.defaultAbiCoder().encode(['uint64', 'bytes32'], [sequence, word(entryHash)])));
}

/** OpenZeppelin Hashes.commutativeKeccak256: keccak256 of the smaller word, then the larger. */
export function hashPair(a: string, b: string): string {
  const [left, right] = [word(a), word(b)].sort();
  return keccak256(concat([left!, right!]));
}

/** Every level of the tree, leaves first, root last. */
function levels(leaves: readonly string[]): string[][] {
  if (leaves.length === 0) throw new Error('A Merkle tree needs at least one leaf');
  const all = [leaves.map(word)];
  for (let level = all[0]!; level.length > 1;) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? hashPair(level[i]!, level[i + 1]!) : level[i]!);
    all.push(next);
    level = next;
  }
  return all;
}

/** A tree built once: its root, and the proof of any leaf (the siblings from the leaf up to the root). */
export function merkleTree(leaves: readonly string[]): { root: string; proof(index: number): string[] } {
  const all = levels(leaves);
  return {
    root: all.at(-1)![0]!,
    proof(index) {
      if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new Error(`No leaf at index ${index}`);
      const proof: string[] = [];
      let position = index;
      // A node that moved up alone has no sibling on that level, so proofs can be shorter than the depth.
      for (const level of all.slice(0, -1)) {
        const sibling = position ^ 1;
        if (sibling < level.length) proof.push(level[sibling]!);
        position >>= 1;
      }
      return proof;
    },
  };
}

export const merkleRoot = (leaves: readonly string[]): string => merkleTree(leaves).root;

export const merkleProof = (leaves: readonly string[], index: number): string[] => merkleTree(leaves).proof(index);

/** The root a proof leads to from a leaf (MerkleProof.processProof). */
export function processProof(leaf: string, proof: readonly string[]): string {
  return proof.reduce((node, sibling) => hashPair(node, sibling), word(leaf));
}

export function verifyMerkleProof(proof: readonly string[], root: string, leaf: string): boolean {
  return processProof(leaf, proof) === word(root);
}

/** Root and proofs of a range of audit entries, given in sequence order without gaps. */
export function auditRangeTree(entries: readonly { seq: bigint | number; entryHash: string }[]): {
  fromSeq: bigint;
  toSeq: bigint;
  root: string;
  proof(seq: bigint | number): string[];
} {
  if (entries.length === 0) throw new Error('An anchored range needs at least one entry');
  const fromSeq = BigInt(entries[0]!.seq);
  entries.forEach((entry, index) => {
    if (BigInt(entry.seq) !== fromSeq + BigInt(index)) throw new Error(`Entries must be consecutive; found ${entry.seq}`);
  });
  const tree = merkleTree(entries.map((entry) => auditLeaf(entry.seq, entry.entryHash)));
  return {
    fromSeq,
    toSeq: fromSeq + BigInt(entries.length - 1),
    root: tree.root,
    proof: (seq) => tree.proof(Number(BigInt(seq) - fromSeq)),
  };
}
