// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {Governed} from "./Governed.sol";

/// Which issuer (an agency's did:ethr identity address) may issue which credential type (keccak256 of the
/// catalogue type id), decided by consortium governance. Reads and events are those of TrustedIssuerRegistry,
/// so verifiers read either the same way; only the writer differs.
contract GovernedIssuerRegistry is Governed {
    using EnumerableSet for EnumerableSet.AddressSet;

    mapping(bytes32 => EnumerableSet.AddressSet) private issuersByType;

    event IssuerAuthorisation(address indexed issuer, bytes32 indexed credentialType, bool authorised);

    error ZeroIssuer();
    error ZeroCredentialType();
    error AuthorisationUnchanged(address issuer, bytes32 credentialType, bool authorised);

    constructor(address governance_) Governed(governance_) {}

    function setAuthorised(address issuer, bytes32 credentialType, bool value) external onlyGovernance {
        checkChange(issuer, credentialType, value);
        if (value) issuersByType[credentialType].add(issuer);
        else issuersByType[credentialType].remove(issuer);
        emit IssuerAuthorisation(issuer, credentialType, value);
    }

    /// Reverts as setAuthorised would; governance calls it when a proposal is made, to refuse a no-op early.
    function checkChange(address issuer, bytes32 credentialType, bool value) public view {
        if (issuer == address(0)) revert ZeroIssuer();
        if (credentialType == bytes32(0)) revert ZeroCredentialType();
        if (issuersByType[credentialType].contains(issuer) == value) {
            revert AuthorisationUnchanged(issuer, credentialType, value);
        }
    }

    function isAuthorised(address issuer, bytes32 credentialType) external view returns (bool) {
        return issuersByType[credentialType].contains(issuer);
    }

    /// Every issuer authorised for a type (a consortium has few agencies per type).
    function issuersOf(bytes32 credentialType) external view returns (address[] memory) {
        return issuersByType[credentialType].values();
    }
}
