// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// @title AggregatedVerifier
/// @notice Verifies a chunkproof aggregated proof of one model in one call: a single halo2 (KZG,
/// SHPLONK) proof of a circuit that verified every chunk proof of a bundle, tied them to one
/// Merkle root and left one KZG accumulator for a final pairing check. Its cost does not depend
/// on the number of chunks.
/// @dev One instance per model and aggregation key, immutable. The generated aggregation
/// verifier (`chunkproof export-verifier --aggregated B.agg`) takes the public instances — the
/// accumulator's twelve 88-bit limbs, the model id's high and low 16 bytes, the root, the public
/// model inputs and outputs — each a 32-byte big-endian word, then the proof, and does the
/// final pairing check itself. It reduces words modulo r, so this contract checks every range
/// first (limbs below 2^88, the root and every evaluation word below r, values in the
/// fixed-point range), and supplies the model id itself: the EVM accepts exactly the
/// aggregated proofs the Rust verifier accepts. See docs/protocol.md.
contract AggregatedVerifier {
    /// BN254 scalar field modulus.
    uint256 internal constant R_MOD = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;
    /// Each accumulator limb holds 88 bits.
    uint256 internal constant LIMB_BOUND = 2 ** 88;
    /// Public model values are fixed-point integers in [-2^31, 2^31).
    int256 internal constant VALUE_MIN = -(2 ** 31);
    int256 internal constant VALUE_MAX = 2 ** 31 - 1;
    /// Gas given to the generated verifier (an honest proof costs about 0.45M; a tampered one
    /// can make a precompile fail, which burns all gas it was given).
    uint256 public constant VERIFY_GAS = 1_500_000;

    /// The chunkproof model id.
    bytes32 public immutable modelId;
    /// The digest of the SRS the keys were made with.
    bytes32 public immutable srsDigest;
    /// The digest of the aggregation circuit's verifying key.
    bytes32 public immutable aggregationKey;
    /// The generated aggregation verifier.
    address public immutable verifier;
    /// Number of chunk proofs an aggregated proof stands for.
    uint256 public immutable numChunks;
    /// Number of public model inputs (0 when private).
    uint256 public immutable numInputs;
    /// Number of public model outputs (0 when private).
    uint256 public immutable numOutputs;
    /// The exact length of an aggregated proof.
    uint256 public immutable proofLength;
    /// Byte offset of the first evaluation (scalar) word of a proof.
    uint256 public immutable scalarOffset;
    /// Number of consecutive 32-byte scalar words from there.
    uint256 public immutable scalarCount;

    /// A constructor argument is unusable.
    error BadConfiguration(string reason);
    /// Another number of public inputs than the model declares.
    error WrongInputCount(uint256 expected, uint256 got);
    /// Another number of public outputs than the model declares.
    error WrongOutputCount(uint256 expected, uint256 got);
    /// The proof has another length than the aggregation circuit's proofs.
    error WrongProofLength(uint256 expected, uint256 got);
    /// The root is not a canonical field element.
    error RootNotInField(bytes32 root);
    /// Accumulator limb `index` is not below 2^88.
    error LimbOutOfRange(uint256 index);
    /// A scalar word of the proof, at byte `offset`, is not a canonical field element.
    error ScalarNotInField(uint256 offset);
    /// A public value lies outside the fixed-point range.
    error ValueOutOfRange(uint256 index, int256 value);
    /// The aggregated proof did not verify (with the root, accumulator and values given).
    error AggregatedRejected();
    /// Too little gas left to give the verifier its VERIFY_GAS (not a rejection: retry with more).
    error InsufficientGas();

    struct Config {
        bytes32 modelId;
        bytes32 srsDigest;
        bytes32 aggregationKey;
        address verifier;
        uint256 numChunks;
        uint256 numInputs;
        uint256 numOutputs;
        uint256 proofLength;
        uint256 scalarOffset;
        uint256 scalarCount;
    }

    constructor(Config memory c) {
        if (c.verifier.code.length == 0) revert BadConfiguration("the verifier has no code");
        if (c.numChunks == 0) revert BadConfiguration("no chunks");
        if (c.proofLength == 0) revert BadConfiguration("the proof length is zero");
        if (c.scalarCount == 0 || c.scalarOffset + 32 * c.scalarCount > c.proofLength) {
            revert BadConfiguration("the scalar words do not lie inside the proof");
        }
        modelId = c.modelId;
        srsDigest = c.srsDigest;
        aggregationKey = c.aggregationKey;
        verifier = c.verifier;
        numChunks = c.numChunks;
        numInputs = c.numInputs;
        numOutputs = c.numOutputs;
        proofLength = c.proofLength;
        scalarOffset = c.scalarOffset;
        scalarCount = c.scalarCount;
    }

    /// @notice Verifies an aggregated proof; `inputs` are the public model inputs (empty if
    /// private). Reverts with a custom error naming the problem unless it verifies.
    function verifyAggregated(
        bytes32 root,
        uint256[12] calldata accumulator,
        int256[] calldata inputs,
        int256[] calldata outputs,
        bytes calldata proof
    ) external view returns (bool) {
        if (inputs.length != numInputs) revert WrongInputCount(numInputs, inputs.length);
        if (outputs.length != numOutputs) revert WrongOutputCount(numOutputs, outputs.length);
        if (proof.length != proofLength) revert WrongProofLength(proofLength, proof.length);
        if (uint256(root) >= R_MOD) revert RootNotInField(root);
        for (uint256 j = 0; j < 12; j++) {
            if (accumulator[j] >= LIMB_BOUND) revert LimbOutOfRange(j);
        }
        _checkScalars(proof);
        bytes memory data = _calldata(root, accumulator, inputs, outputs, proof);
        // EIP-150 passes on at most 63/64 of what is left: make sure the cap is what it gets.
        if (gasleft() < VERIFY_GAS + VERIFY_GAS / 63 + 10_000) revert InsufficientGas();
        (bool ok,) = verifier.staticcall{gas: VERIFY_GAS}(data);
        if (!ok) revert AggregatedRejected();
        return true;
    }

    /// Every scalar word of the proof must be below r: the generated verifier would reduce
    /// `s + r` to `s`.
    function _checkScalars(bytes calldata proof) internal view {
        uint256 at = scalarOffset;
        uint256 end = at + 32 * scalarCount;
        uint256 base;
        assembly ("memory-safe") {
            base := proof.offset
        }
        while (at < end) {
            uint256 word;
            // the proof's length was checked against the layout: the word lies inside it
            assembly ("memory-safe") {
                word := calldataload(add(base, at))
            }
            if (word >= R_MOD) revert ScalarNotInField(at);
            unchecked {
                at += 32;
            }
        }
    }

    /// The generated verifier's calldata, built in one buffer: the accumulator, the model id's
    /// two halves, the root, the public values as field elements (range-checked), the proof.
    function _calldata(
        bytes32 root,
        uint256[12] calldata accumulator,
        int256[] calldata inputs,
        int256[] calldata outputs,
        bytes calldata proof
    ) internal view returns (bytes memory data) {
        uint256 values = inputs.length + outputs.length;
        data = new bytes(32 * (15 + values) + proof.length);
        uint256 id = uint256(modelId);
        uint256 hi = id >> 128;
        uint256 lo = id & type(uint128).max;
        assembly ("memory-safe") {
            let p := add(data, 32)
            calldatacopy(p, accumulator, 384)
            mstore(add(p, 384), hi)
            mstore(add(p, 416), lo)
            mstore(add(p, 448), root)
        }
        for (uint256 j = 0; j < values; j++) {
            int256 v = j < inputs.length ? inputs[j] : outputs[j - inputs.length];
            if (v < VALUE_MIN || v > VALUE_MAX) revert ValueOutOfRange(j, v);
            // casting to uint256 is safe: v was range-checked to [-2^31, 2^31) just above
            // forge-lint: disable-next-line(unsafe-typecast)
            uint256 f = v >= 0 ? uint256(v) : R_MOD - uint256(-v);
            assembly ("memory-safe") {
                mstore(add(add(data, 512), mul(j, 32)), f)
            }
        }
        assembly ("memory-safe") {
            calldatacopy(add(add(data, 512), mul(values, 32)), proof.offset, proof.length)
        }
    }
}
