// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.26;

import {Governed} from "./Governed.sol";

/// Data-sharing permissions (授权用证): which relying party, using which client id, may ask holders for which
/// claims of which credential type, for which declared purpose, until when. Granted and withdrawn by
/// consortium governance; every verifier of the consortium asks isPermitted before it sends a request.
/// Everything here is about organisations and schemas (claim names, never claim values).
contract DataSharingRegistry is Governed {
    struct PermissionTerms {
        /// The relying party's DID, or another organisation identifier when it has none.
        string relyingParty;
        /// The client id it uses in OID4VP or OpenID Connect requests (with its prefix, as sent).
        string clientId;
        bytes32 credentialType;
        /// Top-level claim names of the credential type it may ask for.
        string[] claims;
        /// The declared purpose, in words: verifiers show it to the holder.
        string purpose;
        uint64 expiresAt;
    }

    struct Permission {
        PermissionTerms terms;
        uint64 grantedAt;
        /// Zero while in force; set by a withdrawal or when a newer permission replaces this one.
        uint64 withdrawnAt;
    }

    enum Verdict {
        NoPermission,
        Permitted,
        Withdrawn,
        Expired,
        ClaimNotPermitted
    }

    uint256 public constant MAX_CLAIMS = 64;
    uint256 public constant MAX_CLAIM_NAME_BYTES = 64;
    uint256 public constant MAX_IDENTIFIER_BYTES = 512;
    uint256 public constant MAX_PURPOSE_BYTES = 512;

    uint256 public permissionCount;
    mapping(uint256 => Permission) private permissions;
    mapping(uint256 => mapping(bytes32 => bool)) private claimAllowed;
    /// keccak256(abi.encode(keccak256(clientId), credentialType)) → the newest permission for that pair.
    mapping(bytes32 => uint256) private currentOf;

    event PermissionGranted(
        uint256 indexed permissionId,
        bytes32 indexed clientIdHash,
        bytes32 indexed credentialType,
        PermissionTerms terms,
        uint256 replaced
    );
    event PermissionWithdrawn(uint256 indexed permissionId, bytes32 indexed clientIdHash, bytes32 indexed credentialType);

    error ZeroCredentialType();
    error BadIdentifier();
    error BadPurpose();
    error BadClaims();
    error DuplicateClaim(string claim);
    error ExpiryNotInFuture(uint64 expiresAt);
    error PermissionNotInForce(uint256 permissionId);

    constructor(address governance_) Governed(governance_) {}

    /// Grants a permission; one for the same client id and type that is still in force is replaced.
    function grant(PermissionTerms calldata terms) external onlyGovernance returns (uint256 permissionId) {
        checkTerms(terms);
        permissionId = ++permissionCount;
        Permission storage stored = permissions[permissionId];
        stored.terms = terms;
        stored.grantedAt = uint64(block.timestamp);
        for (uint256 i = 0; i < terms.claims.length; i++) {
            claimAllowed[permissionId][keccak256(bytes(terms.claims[i]))] = true;
        }
        bytes32 clientIdHash = keccak256(bytes(terms.clientId));
        bytes32 pair = pairKey(clientIdHash, terms.credentialType);
        uint256 replaced = currentOf[pair];
        if (replaced != 0 && permissions[replaced].withdrawnAt == 0) {
            permissions[replaced].withdrawnAt = uint64(block.timestamp);
            emit PermissionWithdrawn(replaced, clientIdHash, terms.credentialType);
        }
        currentOf[pair] = permissionId;
        emit PermissionGranted(permissionId, clientIdHash, terms.credentialType, terms, replaced);
    }

    /// Withdraws a permission at once; the pair keeps pointing at it, so checks report Withdrawn.
    function withdraw(uint256 permissionId) external onlyGovernance {
        checkWithdraw(permissionId);
        Permission storage found = permissions[permissionId];
        found.withdrawnAt = uint64(block.timestamp);
        emit PermissionWithdrawn(permissionId, keccak256(bytes(found.terms.clientId)), found.terms.credentialType);
    }

    /// Reverts as grant would; governance calls it when the proposal is made.
    function checkTerms(PermissionTerms calldata terms) public view {
        if (terms.credentialType == bytes32(0)) revert ZeroCredentialType();
        if (!_fits(bytes(terms.relyingParty), MAX_IDENTIFIER_BYTES)) revert BadIdentifier();
        if (!_fits(bytes(terms.clientId), MAX_IDENTIFIER_BYTES)) revert BadIdentifier();
        if (!_fits(bytes(terms.purpose), MAX_PURPOSE_BYTES)) revert BadPurpose();
        if (terms.expiresAt <= block.timestamp) revert ExpiryNotInFuture(terms.expiresAt);
        uint256 count = terms.claims.length;
        if (count == 0 || count > MAX_CLAIMS) revert BadClaims();
        for (uint256 i = 0; i < count; i++) {
            if (!_fits(bytes(terms.claims[i]), MAX_CLAIM_NAME_BYTES)) revert BadClaims();
            bytes32 name = keccak256(bytes(terms.claims[i]));
            for (uint256 j = 0; j < i; j++) {
                if (keccak256(bytes(terms.claims[j])) == name) revert DuplicateClaim(terms.claims[i]);
            }
        }
    }

    function checkWithdraw(uint256 permissionId) public view {
        Permission storage found = permissions[permissionId];
        if (found.grantedAt == 0 || found.withdrawnAt != 0) revert PermissionNotInForce(permissionId);
    }

    function permission(uint256 permissionId) external view returns (Permission memory) {
        return permissions[permissionId];
    }

    /// The newest permission granted for a client id and type (0 when none), whatever its state.
    function currentPermission(string calldata clientId, bytes32 credentialType) public view returns (uint256) {
        return currentOf[pairKey(keccak256(bytes(clientId)), credentialType)];
    }

    /// Whether this client may ask now for all of these claims of this type, and the permission that says so
    /// (or that refused it). An empty claim list is never permitted: requests must name what they need.
    function isPermitted(
        string calldata clientId,
        bytes32 credentialType,
        string[] calldata claims
    ) external view returns (Verdict verdict, uint256 permissionId) {
        permissionId = currentPermission(clientId, credentialType);
        if (permissionId == 0) return (Verdict.NoPermission, 0);
        Permission storage found = permissions[permissionId];
        if (found.withdrawnAt != 0) return (Verdict.Withdrawn, permissionId);
        if (block.timestamp >= found.terms.expiresAt) return (Verdict.Expired, permissionId);
        if (claims.length == 0) return (Verdict.ClaimNotPermitted, permissionId);
        for (uint256 i = 0; i < claims.length; i++) {
            if (!claimAllowed[permissionId][keccak256(bytes(claims[i]))]) return (Verdict.ClaimNotPermitted, permissionId);
        }
        return (Verdict.Permitted, permissionId);
    }

    function pairKey(bytes32 clientIdHash, bytes32 credentialType) public pure returns (bytes32) {
        return keccak256(abi.encode(clientIdHash, credentialType));
    }

    function _fits(bytes memory value, uint256 max) private pure returns (bool) {
        return value.length > 0 && value.length <= max;
    }
}
