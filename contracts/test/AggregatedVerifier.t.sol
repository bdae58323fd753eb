// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {AggregatedVerifier} from "../src/AggregatedVerifier.sol";
import {RootRegistry} from "../src/RootRegistry.sol";
import {GeneratedAggregated} from "../src/generated/aggregated/GeneratedAggregated.sol";
import {AggregatedFixture} from "./fixtures/AggregatedFixture.sol";
import {Vm, VM_ADDRESS} from "./Vm.sol";

/// The golden aggregated proof (fixtures/digits_v1/aggregated_v1.agg) against its generated
/// aggregation verifier, through the AggregatedVerifier wrapper and the RootRegistry.
contract AggregatedVerifierTest {
    Vm internal constant vm = Vm(VM_ADDRESS);
    uint256 internal constant R_MOD = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;
    uint256 internal constant EIP170 = 24576;

    event RootPublished(
        bytes32 indexed modelId,
        bytes32 indexed root,
        address indexed sender,
        bool attested,
        bytes32 inputsHash,
        bytes32 outputsHash
    );

    AggregatedVerifier internal av;

    function setUp() public {
        av = GeneratedAggregated.deploy();
    }

    function _expect(bytes4 selector) internal {
        vm.expectRevert(abi.encodeWithSelector(selector));
    }

    function _verify(bytes32 root, uint256[12] memory acc, int256[] memory outputs, bytes memory proof)
        internal
        view
        returns (bool)
    {
        return av.verifyAggregated(root, acc, new int256[](0), outputs, proof);
    }

    function test_honestProofPasses() public view {
        require(av.modelId() == AggregatedFixture.MODEL_ID, "model id");
        require(av.aggregationKey() == GeneratedAggregated.AGGREGATION_KEY, "aggregation key");
        require(av.numChunks() == GeneratedAggregated.NUM_CHUNKS, "chunks");
        require(
            _verify(
                AggregatedFixture.ROOT,
                AggregatedFixture.accumulator(),
                AggregatedFixture.outputs(),
                AggregatedFixture.proof()
            ),
            "rejected"
        );
    }

    function test_bothContractsFitEip170() public view {
        require(av.verifier().code.length <= EIP170, "aggregation verifier over EIP-170");
        require(address(av).code.length <= EIP170, "AggregatedVerifier over EIP-170");
    }

    function test_flippedProofByteIsRejected() public {
        bytes memory honest = AggregatedFixture.proof();
        uint256[3] memory at = [uint256(5), honest.length / 2, honest.length - 3];
        for (uint256 j = 0; j < 3; j++) {
            bytes memory p = AggregatedFixture.proof();
            p[at[j]] = bytes1(uint8(p[at[j]]) ^ 0x01);
            _expect(AggregatedVerifier.AggregatedRejected.selector);
            _verify(AggregatedFixture.ROOT, AggregatedFixture.accumulator(), AggregatedFixture.outputs(), p);
        }
    }

    function test_anotherRootIsRejected() public {
        bytes32 other = bytes32(uint256(AggregatedFixture.ROOT) ^ 1);
        _expect(AggregatedVerifier.AggregatedRejected.selector);
        _verify(other, AggregatedFixture.accumulator(), AggregatedFixture.outputs(), AggregatedFixture.proof());
    }

    function test_rootPlusRIsRejected() public {
        bytes32 alias_ = bytes32(uint256(AggregatedFixture.ROOT) + R_MOD);
        vm.expectRevert(abi.encodeWithSelector(AggregatedVerifier.RootNotInField.selector, alias_));
        _verify(alias_, AggregatedFixture.accumulator(), AggregatedFixture.outputs(), AggregatedFixture.proof());
    }

    function test_changedOutputsAreRejected() public {
        int256[] memory o = AggregatedFixture.outputs();
        o[0] += 1;
        _expect(AggregatedVerifier.AggregatedRejected.selector);
        _verify(AggregatedFixture.ROOT, AggregatedFixture.accumulator(), o, AggregatedFixture.proof());
        o[0] = 2 ** 31;
        vm.expectRevert(abi.encodeWithSelector(AggregatedVerifier.ValueOutOfRange.selector, 0, o[0]));
        _verify(AggregatedFixture.ROOT, AggregatedFixture.accumulator(), o, AggregatedFixture.proof());
        int256[] memory short = new int256[](o.length - 1);
        vm.expectRevert(abi.encodeWithSelector(AggregatedVerifier.WrongOutputCount.selector, o.length, o.length - 1));
        _verify(AggregatedFixture.ROOT, AggregatedFixture.accumulator(), short, AggregatedFixture.proof());
    }

    function test_changedAccumulatorIsRejected() public {
        for (uint256 j = 0; j < 12; j += 5) {
            uint256[12] memory acc = AggregatedFixture.accumulator();
            acc[j] ^= 1;
            _expect(AggregatedVerifier.AggregatedRejected.selector);
            _verify(AggregatedFixture.ROOT, acc, AggregatedFixture.outputs(), AggregatedFixture.proof());
        }
    }

    /// A limb `l` and `l + r` are the same field element to the generated verifier; the wrapper
    /// must refuse every limb that is not a proper 88-bit limb.
    function test_limbOutOfRangeIsRejected() public {
        uint256[12] memory acc = AggregatedFixture.accumulator();
        acc[3] += R_MOD;
        vm.expectRevert(abi.encodeWithSelector(AggregatedVerifier.LimbOutOfRange.selector, 3));
        _verify(AggregatedFixture.ROOT, acc, AggregatedFixture.outputs(), AggregatedFixture.proof());
    }

    /// An evaluation word `s` and `s + r`: the generated verifier accepts both, the wrapper the
    /// canonical one only (as the Rust verifier does).
    function test_scalarPlusRIsRejected() public {
        uint256[2] memory at = [av.scalarOffset(), av.scalarOffset() + 32 * (av.scalarCount() - 1)];
        for (uint256 j = 0; j < 2; j++) {
            bytes memory p = AggregatedFixture.proof();
            uint256 o = at[j];
            uint256 w;
            assembly ("memory-safe") {
                w := mload(add(add(p, 32), o))
            }
            require(w < R_MOD, "honest scalars are canonical");
            if (w + R_MOD < w) continue;
            uint256 aliased = w + R_MOD;
            assembly ("memory-safe") {
                mstore(add(add(p, 32), o), aliased)
            }
            vm.expectRevert(abi.encodeWithSelector(AggregatedVerifier.ScalarNotInField.selector, o));
            _verify(AggregatedFixture.ROOT, AggregatedFixture.accumulator(), AggregatedFixture.outputs(), p);
        }
    }

    function test_wrongProofLengthIsRejected() public {
        bytes memory p = bytes.concat(AggregatedFixture.proof(), hex"00");
        vm.expectRevert(abi.encodeWithSelector(AggregatedVerifier.WrongProofLength.selector, p.length - 1, p.length));
        _verify(AggregatedFixture.ROOT, AggregatedFixture.accumulator(), AggregatedFixture.outputs(), p);
    }

    /// The same aggregation verifier behind a wrapper that claims another model: the model id is
    /// a public instance, so the proof does not verify for it.
    function test_anotherModelIdIsRejected() public {
        AggregatedVerifier other = new AggregatedVerifier(
            AggregatedVerifier.Config(
                bytes32(uint256(AggregatedFixture.MODEL_ID) ^ 1),
                av.srsDigest(),
                av.aggregationKey(),
                av.verifier(),
                av.numChunks(),
                av.numInputs(),
                av.numOutputs(),
                av.proofLength(),
                av.scalarOffset(),
                av.scalarCount()
            )
        );
        _expect(AggregatedVerifier.AggregatedRejected.selector);
        other.verifyAggregated(
            AggregatedFixture.ROOT,
            AggregatedFixture.accumulator(),
            new int256[](0),
            AggregatedFixture.outputs(),
            AggregatedFixture.proof()
        );
    }

    function test_registryPublishesAnAggregatedProofOnce() public {
        RootRegistry r = new RootRegistry(true);
        bytes32 id = r.registerAggregatedVerifier(av);
        require(id == AggregatedFixture.MODEL_ID, "registered under its model id");
        vm.expectRevert(
            abi.encodeWithSelector(RootRegistry.AggregatedVerifierAlreadyRegistered.selector, id, address(av))
        );
        r.registerAggregatedVerifier(av);

        // a tampered proof reverts with the wrapper's error and records nothing
        bytes memory bad = AggregatedFixture.proof();
        bad[7] ^= 0x01;
        _expect(AggregatedVerifier.AggregatedRejected.selector);
        r.publishAggregated(
            id,
            AggregatedFixture.ROOT,
            AggregatedFixture.accumulator(),
            AggregatedFixture.inputs(),
            AggregatedFixture.outputs(),
            bad
        );
        require(r.recordOf(id, AggregatedFixture.ROOT).blockNumber == 0, "nothing recorded");

        vm.expectEmit(true, true, true, true, address(r));
        emit RootPublished(
            id,
            AggregatedFixture.ROOT,
            address(this),
            false,
            keccak256(abi.encode(AggregatedFixture.inputs())),
            keccak256(abi.encode(AggregatedFixture.outputs()))
        );
        require(_publishGolden(r, id, AggregatedFixture.ROOT), "recorded");
        RootRegistry.Record memory rec = r.recordOf(id, AggregatedFixture.ROOT);
        require(rec.blockNumber == block.number && !rec.attested && rec.sender == address(this), "record");
        require(rec.inputsHash == keccak256(abi.encode(AggregatedFixture.inputs())), "inputs hash");
        // publishing again records nothing new
        require(!_publishGolden(r, id, AggregatedFixture.ROOT), "idempotent");
        // a deprecated model takes nothing more
        r.deprecateModel(id);
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.ModelIsDeprecated.selector, id));
        _publishGolden(r, id, bytes32(uint256(1)));
    }

    /// Publishes the golden proof's accumulator, public values and proof under `root`.
    function _publishGolden(RootRegistry r, bytes32 id, bytes32 root) internal returns (bool) {
        return r.publishAggregated(
            id,
            root,
            AggregatedFixture.accumulator(),
            AggregatedFixture.inputs(),
            AggregatedFixture.outputs(),
            AggregatedFixture.proof()
        );
    }

    function test_registryRefusesDevSetupOutsideTestModeAndUnknownModels() public {
        RootRegistry r = new RootRegistry(false);
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.InsecureSetup.selector, AggregatedFixture.MODEL_ID));
        r.registerAggregatedVerifier(av);
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.UnknownModel.selector, AggregatedFixture.MODEL_ID));
        r.publishAggregated(
            AggregatedFixture.MODEL_ID,
            AggregatedFixture.ROOT,
            AggregatedFixture.accumulator(),
            AggregatedFixture.inputs(),
            AggregatedFixture.outputs(),
            AggregatedFixture.proof()
        );
    }
}
