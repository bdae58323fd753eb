// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {BundleVerifier} from "./BundleVerifier.sol";

/// @title RootRegistry
/// @notice Records chunkproof Merkle roots per model: (model id, root) -> block, sender.
/// A root enters through `publish` only after the model's BundleVerifier accepted the bundle
/// in the same transaction. `attest` records a root WITHOUT proofs: it is trust-based (only
/// attesters the owner named may call it) and marked as such in the record and the event.
/// Records are never overwritten.
contract RootRegistry {
    /// One recorded root.
    struct Record {
        /// Block in which it was recorded (0: not recorded).
        uint64 blockNumber;
        /// Who recorded it.
        address sender;
        /// True if recorded by an attester without proofs (trust-based).
        bool attested;
    }

    /// Registers models and names attesters.
    address public owner;
    /// The BundleVerifier of each registered model id.
    mapping(bytes32 => BundleVerifier) public verifierOf;
    /// Accounts allowed to record roots without proofs.
    mapping(address => bool) public isAttester;
    mapping(bytes32 => mapping(bytes32 => Record)) internal _records;

    /// A model and its verifier were registered.
    event ModelRegistered(bytes32 indexed modelId, address bundleVerifier);
    /// A root was recorded (`attested`: without proofs, on an attester's word).
    event RootPublished(bytes32 indexed modelId, bytes32 indexed root, address indexed sender, bool attested);
    /// An attester was added or removed.
    event AttesterSet(address indexed attester, bool allowed);

    /// Only the owner may do this.
    error NotOwner(address caller);
    /// Only a named attester may do this.
    error NotAttester(address caller);
    /// No BundleVerifier is registered for this model id.
    error UnknownModel(bytes32 modelId);
    /// This model id already has a verifier (registrations are permanent).
    error ModelAlreadyRegistered(bytes32 modelId, address bundleVerifier);
    /// The verifier has no code.
    error NotAContract(address bundleVerifier);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    /// @notice Registers the BundleVerifier of a model; its `modelId()` is the key. Owner only:
    /// the model id is the verifier's own claim, so registration is where trust is placed.
    function registerModel(BundleVerifier bv) external onlyOwner returns (bytes32 modelId) {
        if (address(bv).code.length == 0) revert NotAContract(address(bv));
        modelId = bv.modelId();
        if (address(verifierOf[modelId]) != address(0)) {
            revert ModelAlreadyRegistered(modelId, address(verifierOf[modelId]));
        }
        verifierOf[modelId] = bv;
        emit ModelRegistered(modelId, address(bv));
    }

    /// @notice Adds or removes an attester. Owner only.
    function setAttester(address attester, bool allowed) external onlyOwner {
        isAttester[attester] = allowed;
        emit AttesterSet(attester, allowed);
    }

    /// @notice Verifies the bundle with the model's BundleVerifier (reverting with its error if
    /// it is rejected) and records the root. A root already recorded is left as it is and
    /// `recorded` is false: publishing is idempotent, so a retried transaction is harmless.
    function publish(bytes32 modelId, bytes32 root, bytes[] calldata proofs, int256[] calldata outputs)
        external
        returns (bool recorded)
    {
        BundleVerifier bv = verifierOf[modelId];
        if (address(bv) == address(0)) revert UnknownModel(modelId);
        if (_records[modelId][root].blockNumber != 0) return false;
        bv.verifyBundle(root, proofs, outputs);
        _record(modelId, root, false);
        return true;
    }

    /// @notice TRUST-BASED: records a root without any proof, on the word of an attester.
    function attest(bytes32 modelId, bytes32 root) external returns (bool recorded) {
        if (!isAttester[msg.sender]) revert NotAttester(msg.sender);
        if (address(verifierOf[modelId]) == address(0)) revert UnknownModel(modelId);
        if (_records[modelId][root].blockNumber != 0) return false;
        _record(modelId, root, true);
        return true;
    }

    /// @notice The record of (model, root); `blockNumber == 0` if none.
    function recordOf(bytes32 modelId, bytes32 root) external view returns (Record memory) {
        return _records[modelId][root];
    }

    function _record(bytes32 modelId, bytes32 root, bool attested) internal {
        _records[modelId][root] = Record(uint64(block.number), msg.sender, attested);
        emit RootPublished(modelId, root, msg.sender, attested);
    }
}
