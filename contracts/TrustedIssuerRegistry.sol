// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

/// Which issuer (an agency's did:ethr identity address) may issue which credential type
/// (keccak256 of the catalogue type id). Only the consortium governor, the account that deployed the
/// registry, changes it; verifiers read it with isAuthorised.
contract TrustedIssuerRegistry {
    address public immutable governor;
    mapping(address => mapping(bytes32 => bool)) private authorised;

    event IssuerAuthorisation(address indexed issuer, bytes32 indexed credentialType, bool authorised);

    error NotGovernor();

    constructor() {
        governor = msg.sender;
    }

    function setAuthorised(address issuer, bytes32 credentialType, bool value) external {
        if (msg.sender != governor) revert NotGovernor();
        authorised[issuer][credentialType] = value;
        emit IssuerAuthorisation(issuer, credentialType, value);
    }

    function isAuthorised(address issuer, bytes32 credentialType) external view returns (bool) {
        return authorised[issuer][credentialType];
    }
}
