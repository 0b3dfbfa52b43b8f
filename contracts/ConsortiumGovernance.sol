// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IConsortiumMembership} from "./Governed.sol";
import {GovernedIssuerRegistry} from "./GovernedIssuerRegistry.sol";
import {CatalogueRegistry} from "./CatalogueRegistry.sol";
import {DataSharingRegistry} from "./DataSharingRegistry.sol";
import {JointApproval} from "./JointApproval.sol";

/// The consortium: member departments (controller address and name) and an M-of-N threshold. Members make
/// typed proposals; the proposer's proposal is its vote; the vote that reaches the threshold executes the
/// proposal in the same transaction, exactly once. A failing execution reverts that vote as a whole, so a
/// proposal is never half done. Only votes of current members count.
contract ConsortiumGovernance is IConsortiumMembership, ReentrancyGuardTransient {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// Each kind's args are the ABI encoding of the parameters named beside it.
    enum ProposalKind {
        AddMember, // (address member, string name)
        RemoveMember, // (address member)
        ChangeThreshold, // (uint256 threshold)
        AuthoriseIssuer, // (address issuer, bytes32 credentialType)
        WithdrawIssuer, // (address issuer, bytes32 credentialType)
        PublishType, // (bytes32 typeId, bytes32 schemaDigest, uint32 version)
        RetireType, // (bytes32 typeId)
        GrantPermission, // (DataSharingRegistry.PermissionTerms terms)
        WithdrawPermission, // (uint256 permissionId)
        SetApprovalPolicy, // (JointApproval.PolicyTerms terms)
        RetireApprovalPolicy // (uint256 policyId)
    }

    /// Expired is never stored: an Open proposal past its expiry reads as Expired.
    enum ProposalState {
        None,
        Open,
        Executed,
        Cancelled,
        Expired
    }

    struct Proposal {
        ProposalKind kind;
        ProposalState state;
        address proposer;
        uint64 createdAt;
        uint64 expiresAt;
        uint64 executedAt;
        bytes32 contentHash;
        bytes args;
    }

    uint256 public constant MAX_MEMBERS = 50;
    uint256 public constant MAX_NAME_BYTES = 64;
    uint64 public constant MAX_PROPOSAL_LIFETIME = 90 days;
    /// Long enough for the members to vote: a proposal that expires at once could only block the same content
    /// (DuplicateProposal) from another member's proposal.
    uint64 public constant MIN_PROPOSAL_LIFETIME = 1 hours;

    /// The account that deployed the consortium; its one power is binding the registries, once.
    address public immutable deployer;

    EnumerableSet.AddressSet private memberSet;
    mapping(address => string) private names;
    uint256 public threshold;

    GovernedIssuerRegistry public issuerRegistry;
    CatalogueRegistry public catalogue;
    DataSharingRegistry public dataSharing;
    JointApproval public jointApproval;

    uint256 public proposalCount;
    mapping(uint256 => Proposal) private proposals;
    mapping(uint256 => address[]) private votersOf;
    mapping(uint256 => mapping(address => bool)) public hasVoted;
    /// Content hash → the proposal that carried it last; while that one is open the same content is refused.
    mapping(bytes32 => uint256) public proposalByContent;

    event MemberAdded(address indexed member, string name);
    event MemberRemoved(address indexed member);
    event ThresholdChanged(uint256 threshold);
    event TargetsBound(address issuerRegistry, address catalogue, address dataSharing, address jointApproval);
    event ProposalCreated(
        uint256 indexed proposalId,
        ProposalKind indexed kind,
        address indexed proposer,
        bytes args,
        uint64 expiresAt
    );
    event ProposalVoted(uint256 indexed proposalId, address indexed member, uint256 approvals);
    event ProposalExecuted(uint256 indexed proposalId, ProposalKind indexed kind);
    event ProposalCancelled(uint256 indexed proposalId);

    error NotMember(address caller);
    error NotDeployer(address caller);
    error NotProposer(address caller);
    error FoundersMismatch();
    error ZeroAddress();
    error BadName();
    error AlreadyMember(address member);
    error TooManyMembers();
    error BadThreshold(uint256 threshold, uint256 members);
    error TargetsAlreadyBound();
    error TargetsNotBound();
    error TargetNotGovernedHere(address target);
    error BadExpiry(uint64 expiresAt);
    error DuplicateProposal(uint256 openProposalId);
    error ProposalNotOpen(uint256 proposalId, ProposalState state);
    error AlreadyVoted(address member);
    error ThresholdNotMet(uint256 approvals, uint256 threshold);

    modifier onlyMember() {
        if (!memberSet.contains(msg.sender)) revert NotMember(msg.sender);
        _;
    }

    constructor(address[] memory founders, string[] memory founderNames, uint256 threshold_) {
        if (founders.length == 0 || founders.length != founderNames.length) revert FoundersMismatch();
        deployer = msg.sender;
        for (uint256 i = 0; i < founders.length; i++) {
            _checkNewMember(founders[i], founderNames[i]);
            _addMember(founders[i], founderNames[i]);
        }
        _checkThreshold(threshold_, founders.length);
        threshold = threshold_;
        emit ThresholdChanged(threshold_);
    }

    /// Binds the governed registries, once; each must name this contract as its governance.
    function bindTargets(
        GovernedIssuerRegistry issuers,
        CatalogueRegistry catalogue_,
        DataSharingRegistry dataSharing_,
        JointApproval jointApproval_
    ) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (address(issuerRegistry) != address(0)) revert TargetsAlreadyBound();
        _requireGovernedHere(address(issuers), issuers.governance());
        _requireGovernedHere(address(catalogue_), catalogue_.governance());
        _requireGovernedHere(address(dataSharing_), dataSharing_.governance());
        _requireGovernedHere(address(jointApproval_), jointApproval_.governance());
        issuerRegistry = issuers;
        catalogue = catalogue_;
        dataSharing = dataSharing_;
        jointApproval = jointApproval_;
        emit TargetsBound(address(issuers), address(catalogue_), address(dataSharing_), address(jointApproval_));
    }

    // ---- proposals ----

    /// Creates a proposal and counts it as the proposer's vote (a consortium of one executes it at once).
    /// The args are checked and stored in canonical form; the same content is refused while it is open.
    function propose(
        ProposalKind kind,
        bytes calldata args,
        uint64 expiresAt
    ) external onlyMember nonReentrant returns (uint256 proposalId) {
        if (expiresAt < block.timestamp + MIN_PROPOSAL_LIFETIME || expiresAt > block.timestamp + MAX_PROPOSAL_LIFETIME) {
            revert BadExpiry(expiresAt);
        }
        bytes memory canonical = _checkedArgs(kind, args);
        bytes32 contentHash = keccak256(abi.encode(kind, canonical));
        uint256 previous = proposalByContent[contentHash];
        if (previous != 0 && stateOf(previous) == ProposalState.Open) revert DuplicateProposal(previous);

        proposalId = ++proposalCount;
        proposals[proposalId] = Proposal(
            kind,
            ProposalState.Open,
            msg.sender,
            uint64(block.timestamp),
            expiresAt,
            0,
            contentHash,
            canonical
        );
        proposalByContent[contentHash] = proposalId;
        emit ProposalCreated(proposalId, kind, msg.sender, canonical, expiresAt);
        _vote(proposalId);
    }

    /// A member's approval; the one that reaches the threshold executes the proposal.
    function vote(uint256 proposalId) external onlyMember nonReentrant {
        _requireOpen(proposalId);
        _vote(proposalId);
    }

    /// Executes an open proposal whose approvals meet the threshold now (after the threshold was lowered).
    function execute(uint256 proposalId) external onlyMember nonReentrant {
        _requireOpen(proposalId);
        uint256 approvals = approvalsOf(proposalId);
        if (approvals < threshold) revert ThresholdNotMet(approvals, threshold);
        _execute(proposalId);
    }

    /// The proposer withdraws its open proposal, while it is a member.
    function cancel(uint256 proposalId) external onlyMember nonReentrant {
        _requireOpen(proposalId);
        if (proposals[proposalId].proposer != msg.sender) revert NotProposer(msg.sender);
        proposals[proposalId].state = ProposalState.Cancelled;
        emit ProposalCancelled(proposalId);
    }

    // ---- reads ----

    function isMember(address account) external view returns (bool) {
        return memberSet.contains(account);
    }

    function members() external view returns (address[] memory) {
        return memberSet.values();
    }

    function memberCount() external view returns (uint256) {
        return memberSet.length();
    }

    function memberName(address member) external view returns (string memory) {
        return names[member];
    }

    function proposal(uint256 proposalId) external view returns (Proposal memory found) {
        found = proposals[proposalId];
        found.state = stateOf(proposalId);
    }

    function stateOf(uint256 proposalId) public view returns (ProposalState) {
        Proposal storage found = proposals[proposalId];
        if (found.state == ProposalState.Open && block.timestamp > found.expiresAt) return ProposalState.Expired;
        return found.state;
    }

    /// Everyone who voted for the proposal, members or not any more.
    function voters(uint256 proposalId) external view returns (address[] memory) {
        return votersOf[proposalId];
    }

    /// Votes that count now: those of current members.
    function approvalsOf(uint256 proposalId) public view returns (uint256 approvals) {
        address[] storage cast = votersOf[proposalId];
        for (uint256 i = 0; i < cast.length; i++) if (memberSet.contains(cast[i])) approvals++;
    }

    // ---- internals ----

    function _vote(uint256 proposalId) private {
        if (hasVoted[proposalId][msg.sender]) revert AlreadyVoted(msg.sender);
        hasVoted[proposalId][msg.sender] = true;
        votersOf[proposalId].push(msg.sender);
        uint256 approvals = approvalsOf(proposalId);
        emit ProposalVoted(proposalId, msg.sender, approvals);
        if (approvals >= threshold) _execute(proposalId);
    }

    /// State first, then the governed call (checks-effects-interactions, and nonReentrant on every entry):
    /// if the call reverts, the whole transaction does, state included.
    function _execute(uint256 proposalId) private {
        Proposal storage found = proposals[proposalId];
        found.state = ProposalState.Executed;
        found.executedAt = uint64(block.timestamp);
        _apply(found.kind, found.args);
        emit ProposalExecuted(proposalId, found.kind);
    }

    function _requireOpen(uint256 proposalId) private view {
        ProposalState state = stateOf(proposalId);
        if (state != ProposalState.Open) revert ProposalNotOpen(proposalId, state);
    }

    /// Decodes args for the kind (reverting on malformed data), checks them against the current state, and
    /// returns them re-encoded, so that one content always has one encoding and one content hash.
    function _checkedArgs(ProposalKind kind, bytes calldata args) private view returns (bytes memory) {
        if (kind == ProposalKind.AddMember) {
            (address member, string memory name) = abi.decode(args, (address, string));
            _checkNewMember(member, name);
            return abi.encode(member, name);
        }
        if (kind == ProposalKind.RemoveMember) {
            address member = abi.decode(args, (address));
            _checkRemoval(member);
            return abi.encode(member);
        }
        if (kind == ProposalKind.ChangeThreshold) {
            uint256 value = abi.decode(args, (uint256));
            _checkThreshold(value, memberSet.length());
            return abi.encode(value);
        }
        if (address(issuerRegistry) == address(0)) revert TargetsNotBound();
        if (kind == ProposalKind.AuthoriseIssuer || kind == ProposalKind.WithdrawIssuer) {
            (address issuer, bytes32 credentialType) = abi.decode(args, (address, bytes32));
            issuerRegistry.checkChange(issuer, credentialType, kind == ProposalKind.AuthoriseIssuer);
            return abi.encode(issuer, credentialType);
        }
        if (kind == ProposalKind.PublishType) {
            (bytes32 typeId, bytes32 schemaDigest, uint32 version) = abi.decode(args, (bytes32, bytes32, uint32));
            catalogue.checkPublish(typeId, schemaDigest, version);
            return abi.encode(typeId, schemaDigest, version);
        }
        if (kind == ProposalKind.RetireType) {
            bytes32 typeId = abi.decode(args, (bytes32));
            catalogue.checkRetire(typeId);
            return abi.encode(typeId);
        }
        if (kind == ProposalKind.GrantPermission) {
            DataSharingRegistry.PermissionTerms memory terms = abi.decode(args, (DataSharingRegistry.PermissionTerms));
            dataSharing.checkTerms(terms);
            return abi.encode(terms);
        }
        if (kind == ProposalKind.WithdrawPermission) {
            uint256 permissionId = abi.decode(args, (uint256));
            dataSharing.checkWithdraw(permissionId);
            return abi.encode(permissionId);
        }
        if (kind == ProposalKind.SetApprovalPolicy) {
            JointApproval.PolicyTerms memory terms = abi.decode(args, (JointApproval.PolicyTerms));
            jointApproval.checkPolicy(terms);
            return abi.encode(terms);
        }
        uint256 policyId = abi.decode(args, (uint256));
        jointApproval.checkRetirePolicy(policyId);
        return abi.encode(policyId);
    }

    /// Carries out a proposal; every branch checks again, since state may have changed since it was made.
    function _apply(ProposalKind kind, bytes memory args) private {
        if (kind == ProposalKind.AddMember) {
            (address member, string memory name) = abi.decode(args, (address, string));
            _checkNewMember(member, name);
            _addMember(member, name);
        } else if (kind == ProposalKind.RemoveMember) {
            address member = abi.decode(args, (address));
            _checkRemoval(member);
            memberSet.remove(member);
            delete names[member];
            emit MemberRemoved(member);
        } else if (kind == ProposalKind.ChangeThreshold) {
            uint256 value = abi.decode(args, (uint256));
            _checkThreshold(value, memberSet.length());
            threshold = value;
            emit ThresholdChanged(value);
        } else if (kind == ProposalKind.AuthoriseIssuer || kind == ProposalKind.WithdrawIssuer) {
            (address issuer, bytes32 credentialType) = abi.decode(args, (address, bytes32));
            issuerRegistry.setAuthorised(issuer, credentialType, kind == ProposalKind.AuthoriseIssuer);
        } else if (kind == ProposalKind.PublishType) {
            (bytes32 typeId, bytes32 schemaDigest, uint32 version) = abi.decode(args, (bytes32, bytes32, uint32));
            catalogue.publish(typeId, schemaDigest, version);
        } else if (kind == ProposalKind.RetireType) {
            catalogue.retire(abi.decode(args, (bytes32)));
        } else if (kind == ProposalKind.GrantPermission) {
            dataSharing.grant(abi.decode(args, (DataSharingRegistry.PermissionTerms)));
        } else if (kind == ProposalKind.WithdrawPermission) {
            dataSharing.withdraw(abi.decode(args, (uint256)));
        } else if (kind == ProposalKind.SetApprovalPolicy) {
            jointApproval.setPolicy(abi.decode(args, (JointApproval.PolicyTerms)));
        } else {
            jointApproval.retirePolicy(abi.decode(args, (uint256)));
        }
    }

    function _checkNewMember(address member, string memory name) private view {
        if (member == address(0)) revert ZeroAddress();
        if (bytes(name).length == 0 || bytes(name).length > MAX_NAME_BYTES) revert BadName();
        if (memberSet.contains(member)) revert AlreadyMember(member);
        if (memberSet.length() >= MAX_MEMBERS) revert TooManyMembers();
    }

    /// Removing a member must leave at least as many members as the threshold.
    function _checkRemoval(address member) private view {
        if (!memberSet.contains(member)) revert NotMember(member);
        _checkThreshold(threshold, memberSet.length() - 1);
    }

    function _checkThreshold(uint256 value, uint256 memberTotal) private pure {
        if (value == 0 || value > memberTotal) revert BadThreshold(value, memberTotal);
    }

    function _addMember(address member, string memory name) private {
        memberSet.add(member);
        names[member] = name;
        emit MemberAdded(member, name);
    }

    function _requireGovernedHere(address target, address itsGovernance) private view {
        if (itsGovernance != address(this)) revert TargetNotGovernedHere(target);
    }
}
