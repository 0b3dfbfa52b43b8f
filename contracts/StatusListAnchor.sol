// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

/// Anchors the digest of each published status list version. A list (keccak256 of its URL) belongs to
/// the first account that anchors it, normally the issuing agency's did:ethr identity; versions only
/// go up, and every version stays readable, so anyone can check a served list and its history.
contract StatusListAnchor {
    struct Anchor {
        bytes32 digest;
        uint64 anchoredAt;
    }

    mapping(bytes32 => address) public publisherOf;
    mapping(bytes32 => uint64) public latestVersion;
    mapping(bytes32 => mapping(uint64 => Anchor)) private anchors;

    event ListAnchored(bytes32 indexed listId, address indexed publisher, uint64 indexed version, bytes32 digest);

    error NotPublisher(address publisher);
    error VersionNotIncreasing(uint64 latest);

    function anchor(bytes32 listId, uint64 version, bytes32 digest) external {
        address publisher = publisherOf[listId];
        if (publisher == address(0)) {
            publisherOf[listId] = msg.sender;
        } else if (publisher != msg.sender) {
            revert NotPublisher(publisher);
        }
        uint64 latest = latestVersion[listId];
        if (version <= latest) revert VersionNotIncreasing(latest);
        latestVersion[listId] = version;
        anchors[listId][version] = Anchor(digest, uint64(block.timestamp));
        emit ListAnchored(listId, msg.sender, version, digest);
    }

    function anchorOf(bytes32 listId, uint64 version) external view returns (bytes32 digest, uint64 anchoredAt) {
        Anchor memory found = anchors[listId][version];
        return (found.digest, found.anchoredAt);
    }
}
