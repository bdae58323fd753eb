// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {BundleVerifier} from "../src/BundleVerifier.sol";
import {GeneratedModel} from "../src/generated/GeneratedModel.sol";
import {BundleFixture} from "./fixtures/BundleFixture.sol";
import {Vm, VM_ADDRESS} from "./Vm.sol";

/// The golden bundle (fixtures/digits_v1) against its generated verifiers.
contract BundleVerifierTest {
    Vm internal constant vm = Vm(VM_ADDRESS);
    uint256 internal constant R_MOD = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;
    uint256 internal constant EIP170 = 24576;

    BundleVerifier internal bv;

    function setUp() public {
        bv = GeneratedModel.deploy();
    }

    function _expect(bytes memory err) internal {
        vm.expectRevert(err);
    }

    function test_honestBundlePasses() public view {
        require(bv.modelId() == BundleFixture.MODEL_ID, "model id");
        require(bv.srsDigest() == GeneratedModel.SRS_DIGEST, "srs digest");
        require(bv.numChunks() == GeneratedModel.NUM_CHUNKS, "chunks");
        require(bv.verifyBundle(BundleFixture.ROOT, BundleFixture.proofs(), BundleFixture.outputs()), "rejected");
    }

    function test_everyContractFitsEip170() public view {
        for (uint256 i = 0; i < bv.numChunks(); i++) {
            (address v,) = bv.chunk(i);
            require(v.code.length > 0 && v.code.length <= EIP170, "chunk verifier over EIP-170");
        }
        require(address(bv).code.length <= EIP170, "BundleVerifier over EIP-170");
    }

    function test_flippedByteInAnyChunkIsRejected() public {
        for (uint256 i = 0; i < GeneratedModel.NUM_CHUNKS; i++) {
            // A byte in a commitment (start), in an evaluation (middle) and in the opening (end).
            uint256[3] memory at = [uint256(5), uint256(1500), uint256(2490)];
            for (uint256 j = 0; j < 3; j++) {
                bytes[] memory p = BundleFixture.proofs();
                p[i][at[j]] = bytes1(uint8(p[i][at[j]]) ^ 0x01);
                _expect(abi.encodeWithSelector(BundleVerifier.ChunkRejected.selector, i));
                bv.verifyBundle(BundleFixture.ROOT, p, BundleFixture.outputs());
            }
        }
    }

    function test_anotherRootIsRejected() public {
        bytes32 other = bytes32(uint256(BundleFixture.ROOT) ^ 1);
        _expect(abi.encodeWithSelector(BundleVerifier.ChunkRejected.selector, 0));
        bv.verifyBundle(other, BundleFixture.proofs(), BundleFixture.outputs());
    }

    function test_rootOutsideTheFieldIsRejected() public {
        // ROOT + r is the same field element; the contract must not accept a second encoding.
        bytes32 alias_ = bytes32(uint256(BundleFixture.ROOT) + R_MOD);
        _expect(abi.encodeWithSelector(BundleVerifier.RootNotInField.selector, alias_));
        bv.verifyBundle(alias_, BundleFixture.proofs(), BundleFixture.outputs());
    }

    /// An evaluation word `s` and `s + r` are the same field element: the generated verifier
    /// reduces both and accepts either, so the bundle verifier must refuse the second encoding
    /// (as the Rust verifier does).
    function test_scalarPlusRIsRejected() public {
        for (uint256 i = 0; i < GeneratedModel.NUM_CHUNKS; i++) {
            (uint256 offset, uint256 count) = bv.scalars(i);
            uint256[2] memory at = [offset, offset + 32 * (count - 1)];
            for (uint256 j = 0; j < 2; j++) {
                bytes[] memory p = BundleFixture.proofs();
                bytes memory proof = p[i];
                uint256 o = at[j];
                uint256 w;
                assembly ("memory-safe") {
                    w := mload(add(add(proof, 32), o))
                }
                require(w < R_MOD, "honest scalars are canonical");
                if (w + R_MOD < w) continue; // no second encoding below 2^256
                uint256 aliased = w + R_MOD;
                assembly ("memory-safe") {
                    mstore(add(add(proof, 32), o), aliased)
                }
                if (j == 0) {
                    // the generated verifier alone takes it: this is what the check is for
                    (address v,) = bv.chunk(i);
                    bytes memory data = i + 1 == GeneratedModel.NUM_CHUNKS
                        ? abi.encodePacked(BundleFixture.ROOT, _outputsAsFields(), proof)
                        : abi.encodePacked(BundleFixture.ROOT, proof);
                    (bool ok,) = v.staticcall(data);
                    require(ok, "the chunk verifier itself rejects s + r (then the check is redundant)");
                }
                _expect(abi.encodeWithSelector(BundleVerifier.ScalarNotInField.selector, i, o));
                bv.verifyBundle(BundleFixture.ROOT, p, BundleFixture.outputs());
            }
        }
    }

    function _outputsAsFields() internal pure returns (uint256[] memory f) {
        int256[] memory o = BundleFixture.outputs();
        f = new uint256[](o.length);
        for (uint256 j = 0; j < o.length; j++) {
            // casting is safe: fixture outputs are small fixed-point values
            // forge-lint: disable-next-line(unsafe-typecast)
            f[j] = o[j] >= 0 ? uint256(o[j]) : R_MOD - uint256(-o[j]);
        }
    }

    function test_swappedChunkProofsAreRejected() public {
        bytes[] memory p = BundleFixture.proofs();
        // two chunks whose proofs have one length (otherwise the length check refuses first)
        (uint256 a, uint256 b) = (0, 0);
        for (uint256 i = 0; i < p.length && b == 0; i++) {
            for (uint256 j = i + 1; j < p.length; j++) {
                if (p[i].length == p[j].length) {
                    (a, b) = (i, j);
                    break;
                }
            }
        }
        require(b > a, "the fixture has no two proofs of one length");
        (p[a], p[b]) = (p[b], p[a]);
        _expect(abi.encodeWithSelector(BundleVerifier.ChunkRejected.selector, a));
        bv.verifyBundle(BundleFixture.ROOT, p, BundleFixture.outputs());
    }

    function test_swappedProofsOfAnotherLengthAreRejected() public {
        bytes[] memory p = BundleFixture.proofs();
        uint256 j = 1;
        while (j < p.length && p[j].length == p[0].length) j++;
        require(j < p.length, "every proof of the fixture has one length");
        (p[0], p[j]) = (p[j], p[0]);
        _expect(abi.encodeWithSelector(BundleVerifier.WrongProofLength.selector, 0, p[j].length, p[0].length));
        bv.verifyBundle(BundleFixture.ROOT, p, BundleFixture.outputs());
    }

    function test_wrongOutputsAreRejected() public {
        int256[] memory o = BundleFixture.outputs();
        o[3] += 1;
        _expect(abi.encodeWithSelector(BundleVerifier.ChunkRejected.selector, GeneratedModel.NUM_CHUNKS - 1));
        bv.verifyBundle(BundleFixture.ROOT, BundleFixture.proofs(), o);
    }

    function test_wrongOutputCountIsRejected() public {
        int256[] memory o = new int256[](BundleFixture.outputs().length - 1);
        _expect(abi.encodeWithSelector(BundleVerifier.WrongOutputCount.selector, o.length + 1, o.length));
        bv.verifyBundle(BundleFixture.ROOT, BundleFixture.proofs(), o);
    }

    function test_outputOutOfRangeIsRejected() public {
        int256[] memory o = BundleFixture.outputs();
        // casting to int256 is safe: R_MOD < 2^255
        // forge-lint: disable-next-line(unsafe-typecast)
        o[0] = int256(R_MOD) - 2388; // the field encoding of -2388, not a fixed-point value
        _expect(abi.encodeWithSelector(BundleVerifier.ValueOutOfRange.selector, 0, o[0]));
        bv.verifyBundle(BundleFixture.ROOT, BundleFixture.proofs(), o);
    }

    function test_missingChunkIsRejected() public {
        bytes[] memory all = BundleFixture.proofs();
        bytes[] memory p = new bytes[](all.length - 1);
        for (uint256 i = 0; i < p.length; i++) {
            p[i] = all[i];
        }
        _expect(abi.encodeWithSelector(BundleVerifier.WrongChunkCount.selector, all.length, p.length));
        bv.verifyBundle(BundleFixture.ROOT, p, BundleFixture.outputs());
    }

    function test_trailingBytesAreRejected() public {
        bytes[] memory p = BundleFixture.proofs();
        uint256 len = p[2].length;
        p[2] = bytes.concat(p[2], hex"00");
        _expect(abi.encodeWithSelector(BundleVerifier.WrongProofLength.selector, 2, len, len + 1));
        bv.verifyBundle(BundleFixture.ROOT, p, BundleFixture.outputs());
    }

    function test_tooLittleGasIsNotReportedAsARejection() public {
        _expect(abi.encodeWithSelector(BundleVerifier.InsufficientGas.selector, 0));
        bv.verifyBundle{gas: 600_000}(BundleFixture.ROOT, BundleFixture.proofs(), BundleFixture.outputs());
    }

    /// Random proof bytes in a random chunk never pass, and the error names that chunk.
    function testFuzz_randomProofNeverPasses(uint256 seed, uint8 which) public view {
        uint256 i = which % GeneratedModel.NUM_CHUNKS;
        bytes[] memory p = BundleFixture.proofs();
        bytes memory junk = new bytes(p[i].length);
        for (uint256 w = 0; w < junk.length; w += 32) {
            bytes32 word = keccak256(abi.encode(seed, w));
            for (uint256 b = 0; b < 32 && w + b < junk.length; b++) {
                junk[w + b] = word[b];
            }
        }
        p[i] = junk;
        try bv.verifyBundle(BundleFixture.ROOT, p, BundleFixture.outputs()) returns (bool) {
            revert("random proof bytes were accepted");
        } catch (bytes memory err) {
            // refused for chunk i: a scalar word at or above r, or a proof that does not verify
            bytes4 selector = bytes4(err);
            uint256 chunk;
            assembly ("memory-safe") {
                chunk := mload(add(err, 36))
            }
            require(
                selector == BundleVerifier.ChunkRejected.selector || selector == BundleVerifier.ScalarNotInField.selector,
                "another error"
            );
            require(chunk == i, "another chunk named");
        }
    }
}
