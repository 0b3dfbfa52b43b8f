// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

/// What a governed contract may ask its governance: whether an account is a member department now.
interface IConsortiumMembership {
    function isMember(address account) external view returns (bool);
}

/// A contract that accepts changes only from its consortium governance. The governance address is fixed at
/// deployment: it cannot be transferred or renounced, so there is no owner key that could be lost or stolen.
/// Replacing the governance means deploying a new set of registries (docs/adr/0011-consortium-contracts.md).
abstract contract Governed {
    address public immutable governance;

    error NotGovernance(address caller);
    error GovernanceNotAContract(address governance);

    constructor(address governance_) {
        if (governance_.code.length == 0) revert GovernanceNotAContract(governance_);
        governance = governance_;
    }

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        _;
    }
}
