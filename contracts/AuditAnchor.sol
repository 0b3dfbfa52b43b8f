// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// Anchors a department's audit log: the Merkle root of each range of entries, by sequence number. Ranges
/// of one department follow each other with neither gap nor overlap, starting at 1, so a deleted, inserted
/// or re-anchored range is visible on chain. Each department (the sending account) owns its own series.
/// Trees are OpenZeppelin MerkleProof trees (sorted-pair keccak256) over leafHash(seq, entryHash) in order.
contract AuditAnchor {
    /// Three uint64 share one storage slot: an anchor costs two new slots.
    struct Anchor {
        uint64 fromSeq;
        uint64 toSeq;
        uint64 anchoredAt;
        bytes32 root;
    }

    mapping(address => Anchor[]) private anchors;

    event RangeAnchored(address indexed department, uint256 indexed index, uint64 fromSeq, uint64 toSeq, bytes32 root);

    error EmptyRange(uint64 fromSeq, uint64 toSeq);
    error RangeNotContiguous(uint64 expectedFrom, uint64 fromSeq);
    error ZeroRoot();
    error NotAnchored(address department, uint64 seq);
    error NoSuchAnchor(address department, uint256 index);

    function anchor(uint64 fromSeq, uint64 toSeq, bytes32 root) external {
        if (toSeq < fromSeq) revert EmptyRange(fromSeq, toSeq);
        if (root == bytes32(0)) revert ZeroRoot();
        uint64 expected = nextSequence(msg.sender);
        if (fromSeq != expected) revert RangeNotContiguous(expected, fromSeq);
        Anchor[] storage series = anchors[msg.sender];
        series.push(Anchor(fromSeq, toSeq, uint64(block.timestamp), root));
        emit RangeAnchored(msg.sender, series.length - 1, fromSeq, toSeq, root);
    }

    /// The first sequence number the department's next range must start at.
    function nextSequence(address department) public view returns (uint64) {
        Anchor[] storage series = anchors[department];
        return series.length == 0 ? 1 : series[series.length - 1].toSeq + 1;
    }

    function anchorCount(address department) external view returns (uint256) {
        return anchors[department].length;
    }

    function anchorAt(address department, uint256 index) public view returns (Anchor memory) {
        if (index >= anchors[department].length) revert NoSuchAnchor(department, index);
        return anchors[department][index];
    }

    /// The anchor whose range holds seq (binary search: ranges are sorted and contiguous).
    function anchorOf(address department, uint64 seq) public view returns (uint256 index, Anchor memory found) {
        Anchor[] storage series = anchors[department];
        uint256 low = 0;
        uint256 high = series.length;
        while (low < high) {
            uint256 middle = (low + high) / 2;
            if (series[middle].toSeq < seq) low = middle + 1;
            else high = middle;
        }
        if (low == series.length || series[low].fromSeq > seq) revert NotAnchored(department, seq);
        return (low, series[low]);
    }

    /// Leaf of entry seq whose hash-chained entry hash is entryHash; hashed twice so that no leaf can pass
    /// for an inner node (OpenZeppelin's recommendation for 64-byte leaf preimages).
    function leafHash(uint64 seq, bytes32 entryHash) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(seq, entryHash))));
    }

    /// Whether the entry is included in the anchored range that covers seq.
    function verifyEntry(
        address department,
        uint64 seq,
        bytes32 entryHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        (, Anchor memory found) = anchorOf(department, seq);
        return MerkleProof.verifyCalldata(proof, found.root, leafHash(seq, entryHash));
    }
}
