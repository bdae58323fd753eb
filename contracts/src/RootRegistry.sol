// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {AggregatedVerifier} from "./AggregatedVerifier.sol";
import {BundleVerifier} from "./BundleVerifier.sol";

/// @title RootRegistry
/// @notice Records chunkproof Merkle roots per model: (model id, root) -> block, sender, public
/// inputs and outputs.
/// A root is verified through `publish`, only after the model's BundleVerifier accepted the
/// bundle in the same transaction, or through `publishAggregated`, only after the model's
/// AggregatedVerifier accepted one aggregated proof of a bundle. `attest` records a root WITHOUT proofs: it is trust-based
/// (only attesters the owner named may call it) and marked as such; a later valid `publish`
/// upgrades it to verified. A verified record is never overwritten. The owner registers models
/// and may deprecate one, after which nothing more is recorded for it.
contract RootRegistry {
    /// One recorded root.
    struct Record {
        /// Block in which it was recorded, or upgraded to verified (0: not recorded).
        uint64 blockNumber;
        /// Who recorded it (the publisher, once verified).
        address sender;
        /// True while it rests on an attester's word only (no proofs checked).
        bool attested;
        /// keccak256(abi.encode(inputs)) of the verified bundle's public model inputs (of the
        /// empty array when they are private; 0 while attested).
        bytes32 inputsHash;
        /// keccak256(abi.encode(outputs)) of the verified bundle's public outputs (of the empty
        /// array when they are private; 0 while attested).
        bytes32 outputsHash;
    }

    /// The digest of chunkproof's public, INSECURE development setup (anyone can forge proofs
    /// against verifiers made from it).
    bytes32 public constant DEV_SRS_DIGEST = 0xf912a4e9a393df1ef6a8ecc6932defa585c74efe6628ad1c272119d2054cb578;

    /// Registers models and names attesters.
    address public owner;
    /// True if this registry was deployed for tests: then models on the development setup may
    /// be registered. Never use such a registry for anything real.
    bool public immutable testMode;
    /// The BundleVerifier of each registered model id.
    mapping(bytes32 => BundleVerifier) public verifierOf;
    /// The AggregatedVerifier of each model id registered for aggregated proofs.
    mapping(bytes32 => AggregatedVerifier) public aggregatedVerifierOf;
    /// Models retired by the owner: nothing more is recorded for them.
    mapping(bytes32 => bool) public deprecated;
    /// Accounts allowed to record roots without proofs.
    mapping(address => bool) public isAttester;
    mapping(bytes32 => mapping(bytes32 => Record)) internal _records;

    /// A model and its verifier were registered.
    event ModelRegistered(bytes32 indexed modelId, address bundleVerifier);
    /// A model's verifier of aggregated proofs was registered.
    event AggregatedVerifierRegistered(bytes32 indexed modelId, address aggregatedVerifier);
    /// A model was retired.
    event ModelDeprecated(bytes32 indexed modelId);
    /// A root was recorded: verified by its bundle (`attested` false, `inputsHash` and
    /// `outputsHash` the keccak256 of the ABI-encoded public inputs and outputs), or on an
    /// attester's word (`attested` true, both hashes 0).
    event RootPublished(
        bytes32 indexed modelId,
        bytes32 indexed root,
        address indexed sender,
        bool attested,
        bytes32 inputsHash,
        bytes32 outputsHash
    );
    /// A root recorded by `attester` without proofs was verified by a bundle.
    event AttestationVerified(bytes32 indexed modelId, bytes32 indexed root, address attester);
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
    /// This model id already has a verifier of aggregated proofs (registrations are permanent).
    error AggregatedVerifierAlreadyRegistered(bytes32 modelId, address aggregatedVerifier);
    /// The model's verifiers disagree on the SRS.
    error SrsMismatch(bytes32 modelId);
    /// The verifier has no code.
    error NotAContract(address bundleVerifier);
    /// The model's keys rest on the INSECURE development setup and this registry is not in test mode.
    error InsecureSetup(bytes32 modelId);
    /// The model was deprecated by the owner.
    error ModelIsDeprecated(bytes32 modelId);
    /// The model's verifier did not return true.
    error BundleRejected(bytes32 modelId);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @param testMode_ accept models on the INSECURE development setup (tests only)
    constructor(bool testMode_) {
        owner = msg.sender;
        testMode = testMode_;
    }

    /// @notice Registers the BundleVerifier of a model; its `modelId()` is the key. Owner only:
    /// the model id is the verifier's own claim, so registration is where trust is placed.
    function registerModel(BundleVerifier bv) external onlyOwner returns (bytes32 modelId) {
        if (address(bv).code.length == 0) revert NotAContract(address(bv));
        modelId = bv.modelId();
        if (address(verifierOf[modelId]) != address(0)) {
            revert ModelAlreadyRegistered(modelId, address(verifierOf[modelId]));
        }
        if (!testMode && bv.srsDigest() == DEV_SRS_DIGEST) revert InsecureSetup(modelId);
        verifierOf[modelId] = bv;
        emit ModelRegistered(modelId, address(bv));
    }

    /// @notice Registers the AggregatedVerifier of a model (for `publishAggregated`); its
    /// `modelId()` is the key. Owner only, like `registerModel`. A model may have both verifiers;
    /// they must then name the same SRS.
    function registerAggregatedVerifier(AggregatedVerifier av) external onlyOwner returns (bytes32 modelId) {
        if (address(av).code.length == 0) revert NotAContract(address(av));
        modelId = av.modelId();
        if (address(aggregatedVerifierOf[modelId]) != address(0)) {
            revert AggregatedVerifierAlreadyRegistered(modelId, address(aggregatedVerifierOf[modelId]));
        }
        if (!testMode && av.srsDigest() == DEV_SRS_DIGEST) revert InsecureSetup(modelId);
        BundleVerifier bv = verifierOf[modelId];
        if (address(bv) != address(0) && bv.srsDigest() != av.srsDigest()) revert SrsMismatch(modelId);
        aggregatedVerifierOf[modelId] = av;
        emit AggregatedVerifierRegistered(modelId, address(av));
    }

    /// @notice Retires a model: later `publish`, `publishAggregated` and `attest` calls for it
    /// revert. Owner only; records already made stay readable.
    function deprecateModel(bytes32 modelId) external onlyOwner {
        if (!_known(modelId)) revert UnknownModel(modelId);
        deprecated[modelId] = true;
        emit ModelDeprecated(modelId);
    }

    /// @notice Adds or removes an attester. Owner only.
    function setAttester(address attester, bool allowed) external onlyOwner {
        isAttester[attester] = allowed;
        emit AttesterSet(attester, allowed);
    }

    /// @notice Verifies the bundle with the model's BundleVerifier (reverting with its error if
    /// it is rejected) and records the root as verified. A root already verified is left as it
    /// is and `recorded` is false (publishing is idempotent, so a retried transaction is
    /// harmless); a root recorded by an attester is upgraded to verified. `inputs` are the
    /// public model inputs (empty when the model's inputs are private), `outputs` the public
    /// outputs (empty when private).
    function publish(
        bytes32 modelId,
        bytes32 root,
        bytes[] calldata proofs,
        int256[] calldata inputs,
        int256[] calldata outputs
    ) external returns (bool recorded) {
        BundleVerifier bv = _live(modelId);
        Record storage r = _records[modelId][root];
        if (r.blockNumber != 0 && !r.attested) return false;
        if (!bv.verifyBundleWithInputs(root, proofs, inputs, outputs)) revert BundleRejected(modelId);
        if (r.blockNumber != 0) emit AttestationVerified(modelId, root, r.sender);
        _record(modelId, root, false, keccak256(abi.encode(inputs)), keccak256(abi.encode(outputs)));
        return true;
    }

    /// @notice Verifies one aggregated proof of a bundle with the model's AggregatedVerifier
    /// (reverting with its error if it is rejected) and records the root as verified, exactly
    /// like `publish`; `inputs` and `outputs` as there.
    function publishAggregated(
        bytes32 modelId,
        bytes32 root,
        uint256[12] calldata accumulator,
        int256[] calldata inputs,
        int256[] calldata outputs,
        bytes calldata proof
    ) external returns (bool recorded) {
        AggregatedVerifier av = aggregatedVerifierOf[modelId];
        if (address(av) == address(0)) revert UnknownModel(modelId);
        if (deprecated[modelId]) revert ModelIsDeprecated(modelId);
        Record storage r = _records[modelId][root];
        if (r.blockNumber != 0 && !r.attested) return false;
        if (!av.verifyAggregated(root, accumulator, inputs, outputs, proof)) revert BundleRejected(modelId);
        if (r.blockNumber != 0) emit AttestationVerified(modelId, root, r.sender);
        _record(modelId, root, false, keccak256(abi.encode(inputs)), keccak256(abi.encode(outputs)));
        return true;
    }

    /// @notice TRUST-BASED: records a root without any proof, on the word of an attester.
    function attest(bytes32 modelId, bytes32 root) external returns (bool recorded) {
        if (!isAttester[msg.sender]) revert NotAttester(msg.sender);
        if (!_known(modelId)) revert UnknownModel(modelId);
        if (deprecated[modelId]) revert ModelIsDeprecated(modelId);
        if (_records[modelId][root].blockNumber != 0) return false;
        _record(modelId, root, true, bytes32(0), bytes32(0));
        return true;
    }

    /// @notice The record of (model, root); `blockNumber == 0` if none.
    function recordOf(bytes32 modelId, bytes32 root) external view returns (Record memory) {
        return _records[modelId][root];
    }

    function _known(bytes32 modelId) internal view returns (bool) {
        return address(verifierOf[modelId]) != address(0) || address(aggregatedVerifierOf[modelId]) != address(0);
    }

    function _live(bytes32 modelId) internal view returns (BundleVerifier bv) {
        bv = verifierOf[modelId];
        if (address(bv) == address(0)) revert UnknownModel(modelId);
        if (deprecated[modelId]) revert ModelIsDeprecated(modelId);
    }

    function _record(bytes32 modelId, bytes32 root, bool attested, bytes32 inputsHash, bytes32 outputsHash) internal {
        _records[modelId][root] = Record(uint64(block.number), msg.sender, attested, inputsHash, outputsHash);
        emit RootPublished(modelId, root, msg.sender, attested, inputsHash, outputsHash);
    }
}
