// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {Governed} from "./Governed.sol";

/// The consortium's credential catalogue: for each type (keccak256 of its catalogue type id) the digest of
/// its published definition and a version that only goes up. Every version's digest stays readable, so a
/// credential issued under an older definition can still be checked; a retired type takes no new issuance.
contract CatalogueRegistry is Governed {
    using EnumerableSet for EnumerableSet.Bytes32Set;

    struct CatalogueType {
        bytes32 schemaDigest;
        uint32 version;
        uint64 publishedAt;
        bool retired;
    }

    mapping(bytes32 => CatalogueType) private types;
    mapping(bytes32 => mapping(uint32 => bytes32)) private digestByVersion;
    EnumerableSet.Bytes32Set private typeIds;

    event TypePublished(bytes32 indexed typeId, uint32 indexed version, bytes32 schemaDigest);
    event TypeRetired(bytes32 indexed typeId, uint32 indexed version);

    error ZeroTypeId();
    error ZeroSchemaDigest();
    error VersionNotIncreasing(bytes32 typeId, uint32 latest);
    error TypeNotActive(bytes32 typeId);

    constructor(address governance_) Governed(governance_) {}

    /// Publishes a new version of a type; publishing a retired type again brings it back.
    function publish(bytes32 typeId, bytes32 schemaDigest, uint32 version) external onlyGovernance {
        checkPublish(typeId, schemaDigest, version);
        types[typeId] = CatalogueType(schemaDigest, version, uint64(block.timestamp), false);
        digestByVersion[typeId][version] = schemaDigest;
        typeIds.add(typeId);
        emit TypePublished(typeId, version, schemaDigest);
    }

    function retire(bytes32 typeId) external onlyGovernance {
        checkRetire(typeId);
        types[typeId].retired = true;
        emit TypeRetired(typeId, types[typeId].version);
    }

    function checkPublish(bytes32 typeId, bytes32 schemaDigest, uint32 version) public view {
        if (typeId == bytes32(0)) revert ZeroTypeId();
        if (schemaDigest == bytes32(0)) revert ZeroSchemaDigest();
        uint32 latest = types[typeId].version;
        if (version <= latest) revert VersionNotIncreasing(typeId, latest);
    }

    function checkRetire(bytes32 typeId) public view {
        if (!isActive(typeId)) revert TypeNotActive(typeId);
    }

    function isActive(bytes32 typeId) public view returns (bool) {
        CatalogueType storage found = types[typeId];
        return found.version != 0 && !found.retired;
    }

    /// The newest version (all zero when the type was never published).
    function typeOf(bytes32 typeId) external view returns (CatalogueType memory) {
        return types[typeId];
    }

    function schemaDigestAt(bytes32 typeId, uint32 version) external view returns (bytes32) {
        return digestByVersion[typeId][version];
    }

    /// Every type ever published, retired ones included.
    function publishedTypes() external view returns (bytes32[] memory) {
        return typeIds.values();
    }
}
