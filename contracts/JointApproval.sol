// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {Governed, IConsortiumMembership} from "./Governed.sol";

/// Joint approval (并联审批): an application for a credential type needs decisions from several departments.
/// Governance sets one policy per type; the issuing department submits applications as salted digests of
/// content it keeps off chain; each required department decides once; the contract says Approved when the
/// policy is satisfied and Rejected on any rejection or a missed deadline.
contract JointApproval is Governed {
    struct PolicyTerms {
        bytes32 credentialType;
        /// The department controller that submits applications under this policy.
        address issuingDepartment;
        /// The agency identity (did:ethr address) that issues the credential once approved.
        address issuingAgency;
        /// Department controllers whose decision counts; each must be a consortium member.
        address[] departments;
        /// Approvals needed: departments.length means all of them, fewer means M of the list.
        uint8 required;
        /// Seconds from submission until decisions close; 0 means no deadline.
        uint64 decisionPeriod;
    }

    struct Policy {
        PolicyTerms terms;
        uint64 createdAt;
        bool active;
    }

    enum Outcome {
        None,
        Pending,
        Approved,
        Rejected,
        Expired
    }

    enum Decision {
        None,
        Approve,
        Reject
    }

    struct Application {
        uint256 policyId;
        uint64 submittedAt;
        /// Last second decisions are accepted (inclusive); 0 when the policy has no deadline.
        uint64 deadline;
        uint8 approvals;
        Outcome outcome;
    }

    struct DecisionRecord {
        Decision decision;
        bytes32 reason;
        uint64 decidedAt;
    }

    uint256 public constant MAX_DEPARTMENTS = 16;
    uint64 public constant MAX_DECISION_PERIOD = 365 days;
    /// The reason Rejected carries when the deadline passed.
    bytes32 public constant DEADLINE_MISSED = "deadline-missed";

    uint256 public policyCount;
    mapping(uint256 => Policy) private policies;
    mapping(uint256 => mapping(address => bool)) private requiredBy;
    mapping(bytes32 => uint256) public activePolicyOf;
    mapping(bytes32 => Application) private applications;
    mapping(bytes32 => mapping(address => DecisionRecord)) private decisionsOf;

    event PolicySet(uint256 indexed policyId, bytes32 indexed credentialType, PolicyTerms terms, uint256 replaced);
    event PolicyRetired(uint256 indexed policyId, bytes32 indexed credentialType);
    event ApplicationSubmitted(bytes32 indexed applicationId, uint256 indexed policyId, uint64 deadline);
    event DecisionRecorded(bytes32 indexed applicationId, address indexed department, Decision decision, bytes32 reason);
    event Approved(bytes32 indexed applicationId, uint256 indexed policyId);
    event Rejected(bytes32 indexed applicationId, uint256 indexed policyId, address indexed department, bytes32 reason);

    error ZeroCredentialType();
    error ZeroAddress();
    error BadDepartments();
    error DuplicateDepartment(address department);
    error NotAMember(address department);
    error BadRequiredCount(uint8 required);
    error DecisionPeriodTooLong(uint64 decisionPeriod);
    error PolicyNotActive(uint256 policyId);
    error NotIssuingDepartment(address caller);
    error ZeroApplicationId();
    error ApplicationExists(bytes32 applicationId);
    error ApplicationNotPending(bytes32 applicationId, Outcome outcome);
    error NotARequiredDepartment(address caller);
    error AlreadyDecided(address department);
    error DecisionAfterDeadline(uint64 deadline);
    error DeadlineNotPassed(uint64 deadline);
    error MissingReason();
    error BadReasonCode(bytes32 reason);

    constructor(address governance_) Governed(governance_) {}

    // ---- policies (governance) ----

    /// Sets the policy for a type; the previous one takes no new applications, its pending ones go on.
    function setPolicy(PolicyTerms calldata terms) external onlyGovernance returns (uint256 policyId) {
        checkPolicy(terms);
        policyId = ++policyCount;
        Policy storage stored = policies[policyId];
        stored.terms = terms;
        stored.createdAt = uint64(block.timestamp);
        stored.active = true;
        for (uint256 i = 0; i < terms.departments.length; i++) requiredBy[policyId][terms.departments[i]] = true;
        uint256 replaced = activePolicyOf[terms.credentialType];
        if (replaced != 0) {
            policies[replaced].active = false;
            emit PolicyRetired(replaced, terms.credentialType);
        }
        activePolicyOf[terms.credentialType] = policyId;
        emit PolicySet(policyId, terms.credentialType, terms, replaced);
    }

    function retirePolicy(uint256 policyId) external onlyGovernance {
        checkRetirePolicy(policyId);
        Policy storage found = policies[policyId];
        found.active = false;
        delete activePolicyOf[found.terms.credentialType];
        emit PolicyRetired(policyId, found.terms.credentialType);
    }

    function checkPolicy(PolicyTerms calldata terms) public view {
        if (terms.credentialType == bytes32(0)) revert ZeroCredentialType();
        if (terms.issuingDepartment == address(0) || terms.issuingAgency == address(0)) revert ZeroAddress();
        _requireMember(terms.issuingDepartment);
        uint256 count = terms.departments.length;
        if (count == 0 || count > MAX_DEPARTMENTS) revert BadDepartments();
        for (uint256 i = 0; i < count; i++) {
            address department = terms.departments[i];
            _requireMember(department);
            for (uint256 j = 0; j < i; j++) if (terms.departments[j] == department) revert DuplicateDepartment(department);
        }
        if (terms.required == 0 || terms.required > count) revert BadRequiredCount(terms.required);
        if (terms.decisionPeriod > MAX_DECISION_PERIOD) revert DecisionPeriodTooLong(terms.decisionPeriod);
    }

    function checkRetirePolicy(uint256 policyId) public view {
        if (!policies[policyId].active) revert PolicyNotActive(policyId);
    }

    // ---- applications (issuing department) ----

    /// Submits an application: its id is the salted digest of content the issuing department keeps.
    function submit(bytes32 applicationId, uint256 policyId) external {
        Policy storage chosen = policies[policyId];
        if (!chosen.active) revert PolicyNotActive(policyId);
        if (msg.sender != chosen.terms.issuingDepartment) revert NotIssuingDepartment(msg.sender);
        _requireMember(msg.sender);
        if (applicationId == bytes32(0)) revert ZeroApplicationId();
        if (applications[applicationId].outcome != Outcome.None) revert ApplicationExists(applicationId);
        uint64 period = chosen.terms.decisionPeriod;
        uint64 deadline = period == 0 ? 0 : uint64(block.timestamp) + period;
        applications[applicationId] = Application(policyId, uint64(block.timestamp), deadline, 0, Outcome.Pending);
        emit ApplicationSubmitted(applicationId, policyId, deadline);
    }

    // ---- decisions (required departments) ----

    /// A reason code's form, as the services write it: 1 to 31 characters of [a-z0-9._-], the first a letter or digit,
    /// no run of four digits, zero-padded; or none. A member key used directly must not put anything else on chain for
    /// good (a name, an ID number): the chain holds no personal data.
    function _requireReasonCode(bytes32 reason) private pure {
        if (reason == bytes32(0)) return;
        uint256 digits;
        bool ended;
        for (uint256 i = 0; i < 32; i++) {
            bytes1 c = reason[i];
            if (c == 0) {
                ended = true;
                continue;
            }
            if (ended || i == 31) revert BadReasonCode(reason);
            bool digit = c >= 0x30 && c <= 0x39;
            bool letter = c >= 0x61 && c <= 0x7a;
            bool mark = i > 0 && (c == 0x2e || c == 0x5f || c == 0x2d);
            if (!digit && !letter && !mark) revert BadReasonCode(reason);
            digits = digit ? digits + 1 : 0;
            if (digits >= 4) revert BadReasonCode(reason);
        }
    }

    /// One decision per required department; a rejection needs a reason code and ends the application.
    function decide(bytes32 applicationId, bool approve, bytes32 reason) external {
        Application storage pending = _pending(applicationId);
        if (pending.deadline != 0 && block.timestamp > pending.deadline) revert DecisionAfterDeadline(pending.deadline);
        uint256 policyId = pending.policyId;
        if (!requiredBy[policyId][msg.sender]) revert NotARequiredDepartment(msg.sender);
        _requireMember(msg.sender);
        DecisionRecord storage record = decisionsOf[applicationId][msg.sender];
        if (record.decision != Decision.None) revert AlreadyDecided(msg.sender);
        if (!approve && reason == bytes32(0)) revert MissingReason();
        _requireReasonCode(reason);

        Decision decision = approve ? Decision.Approve : Decision.Reject;
        decisionsOf[applicationId][msg.sender] = DecisionRecord(decision, reason, uint64(block.timestamp));
        emit DecisionRecorded(applicationId, msg.sender, decision, reason);
        if (!approve) {
            pending.outcome = Outcome.Rejected;
            emit Rejected(applicationId, policyId, msg.sender, reason);
        } else if (++pending.approvals >= policies[policyId].terms.required) {
            pending.outcome = Outcome.Approved;
            emit Approved(applicationId, policyId);
        }
    }

    /// Anyone may close an application whose deadline passed without enough approvals.
    function expire(bytes32 applicationId) external {
        Application storage pending = _pending(applicationId);
        if (pending.deadline == 0 || block.timestamp <= pending.deadline) revert DeadlineNotPassed(pending.deadline);
        pending.outcome = Outcome.Expired;
        emit Rejected(applicationId, pending.policyId, address(0), DEADLINE_MISSED);
    }

    // ---- reads ----

    function policy(uint256 policyId) external view returns (Policy memory) {
        return policies[policyId];
    }

    function application(bytes32 applicationId) external view returns (Application memory) {
        return applications[applicationId];
    }

    function decisionOf(bytes32 applicationId, address department) external view returns (DecisionRecord memory) {
        return decisionsOf[applicationId][department];
    }

    /// The policy's departments with their decisions, in policy order.
    function decisions(
        bytes32 applicationId
    ) external view returns (address[] memory departments, DecisionRecord[] memory records) {
        departments = policies[applications[applicationId].policyId].terms.departments;
        records = new DecisionRecord[](departments.length);
        for (uint256 i = 0; i < departments.length; i++) records[i] = decisionsOf[applicationId][departments[i]];
    }

    /// A department that left the consortium no longer speaks for it: it neither submits nor decides.
    function _requireMember(address department) private view {
        if (!IConsortiumMembership(governance).isMember(department)) revert NotAMember(department);
    }

    function _pending(bytes32 applicationId) private view returns (Application storage found) {
        found = applications[applicationId];
        if (found.outcome != Outcome.Pending) revert ApplicationNotPending(applicationId, found.outcome);
    }
}
