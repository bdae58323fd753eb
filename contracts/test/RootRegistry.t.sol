// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {BundleVerifier} from "../src/BundleVerifier.sol";
import {RootRegistry} from "../src/RootRegistry.sol";
import {GeneratedModel} from "../src/generated/GeneratedModel.sol";
import {BundleFixture} from "./fixtures/BundleFixture.sol";
import {Vm, VM_ADDRESS} from "./Vm.sol";

/// Calls the registry from another account.
contract Stranger {
    function attest(RootRegistry r, bytes32 modelId, bytes32 root) external {
        r.attest(modelId, root);
    }

    function register(RootRegistry r, BundleVerifier bv) external {
        r.registerModel(bv);
    }
}

contract RootRegistryTest {
    Vm internal constant vm = Vm(VM_ADDRESS);

    RootRegistry internal registry;
    BundleVerifier internal bv;
    bytes32 internal id;

    function setUp() public {
        bv = GeneratedModel.deploy();
        registry = new RootRegistry();
        id = registry.registerModel(bv);
    }

    function test_publishRecordsOnceAndNeverOverwrites() public {
        require(id == BundleFixture.MODEL_ID, "model id");
        require(registry.publish(id, BundleFixture.ROOT, BundleFixture.proofs(), BundleFixture.outputs()));
        RootRegistry.Record memory r = registry.recordOf(id, BundleFixture.ROOT);
        require(r.blockNumber == block.number && r.sender == address(this) && !r.attested, "record");
        // Second publish: a no-op that leaves the record as it was.
        require(!registry.publish(id, BundleFixture.ROOT, BundleFixture.proofs(), BundleFixture.outputs()));
        // An attestation cannot overwrite it either.
        registry.setAttester(address(this), true);
        require(!registry.attest(id, BundleFixture.ROOT));
        require(!registry.recordOf(id, BundleFixture.ROOT).attested, "overwritten");
    }

    function test_tamperedBundleRevertsAndRecordsNothing() public {
        bytes[] memory p = BundleFixture.proofs();
        p[1][100] = bytes1(uint8(p[1][100]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(BundleVerifier.ChunkRejected.selector, 1));
        registry.publish(id, BundleFixture.ROOT, p, BundleFixture.outputs());
        require(registry.recordOf(id, BundleFixture.ROOT).blockNumber == 0, "recorded a rejected root");
    }

    function test_unknownModelReverts() public {
        bytes32 other = bytes32(uint256(id) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.UnknownModel.selector, other));
        registry.publish(other, BundleFixture.ROOT, BundleFixture.proofs(), BundleFixture.outputs());
    }

    function test_attestIsTrustBasedAndAccessControlled() public {
        Stranger s = new Stranger();
        bytes32 root = bytes32(uint256(42));
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.NotAttester.selector, address(s)));
        s.attest(registry, id, root);
        registry.setAttester(address(s), true);
        s.attest(registry, id, root);
        RootRegistry.Record memory r = registry.recordOf(id, root);
        require(r.attested && r.sender == address(s), "attested record");
        registry.setAttester(address(s), false);
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.NotAttester.selector, address(s)));
        s.attest(registry, id, bytes32(uint256(43)));
    }

    function test_registrationIsOwnerOnlyAndPermanent() public {
        Stranger s = new Stranger();
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.NotOwner.selector, address(s)));
        s.register(registry, bv);
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.ModelAlreadyRegistered.selector, id, address(bv)));
        registry.registerModel(bv);
    }
}
