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

    function deprecate(RootRegistry r, bytes32 modelId) external {
        r.deprecateModel(modelId);
    }

    function publish(
        RootRegistry r,
        bytes32 modelId,
        bytes32 root,
        bytes[] calldata p,
        int256[] calldata i,
        int256[] calldata o
    ) external returns (bool) {
        return r.publish(modelId, root, p, i, o);
    }
}

/// A verifier that answers `false` instead of reverting: the registry must not record on it.
contract FalseVerifier {
    bytes32 public constant modelId = bytes32(uint256(7));
    bytes32 public constant srsDigest = bytes32(uint256(8));

    function verifyBundleWithInputs(bytes32, bytes[] calldata, int256[] calldata, int256[] calldata)
        external
        pure
        returns (bool)
    {
        return false;
    }
}

contract RootRegistryTest {
    Vm internal constant vm = Vm(VM_ADDRESS);

    // The registry's events, redeclared to be expected (solc 0.8.19 cannot emit another
    // contract's events by name).
    event RootPublished(
        bytes32 indexed modelId,
        bytes32 indexed root,
        address indexed sender,
        bool attested,
        bytes32 inputsHash,
        bytes32 outputsHash
    );
    event AttestationVerified(bytes32 indexed modelId, bytes32 indexed root, address attester);

    RootRegistry internal registry;
    BundleVerifier internal bv;
    bytes32 internal id;

    function setUp() public {
        bv = GeneratedModel.deploy();
        // The fixture is made on the development setup: only a test-mode registry takes it.
        registry = new RootRegistry(true);
        id = registry.registerModel(bv);
    }

    function test_devSetupModelsNeedTestMode() public {
        require(bv.srsDigest() == registry.DEV_SRS_DIGEST(), "fixture on the dev setup");
        RootRegistry real = new RootRegistry(false);
        require(!real.testMode(), "test mode");
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.InsecureSetup.selector, id));
        real.registerModel(bv);
        // a model on another SRS is accepted
        FalseVerifier other = new FalseVerifier();
        require(real.registerModel(BundleVerifier(address(other))) == other.modelId(), "registered");
    }

    function test_publishRecordsOnceAndNeverOverwrites() public {
        require(id == BundleFixture.MODEL_ID, "model id");
        bytes32 inputsHash = keccak256(abi.encode(new int256[](0)));
        bytes32 outputsHash = keccak256(abi.encode(BundleFixture.outputs()));
        vm.expectEmit(true, true, true, true, address(registry));
        emit RootPublished(id, BundleFixture.ROOT, address(this), false, inputsHash, outputsHash);
        require(registry.publish(id, BundleFixture.ROOT, BundleFixture.proofs(), _none(), BundleFixture.outputs()));
        RootRegistry.Record memory r = registry.recordOf(id, BundleFixture.ROOT);
        require(r.blockNumber == block.number && r.sender == address(this) && !r.attested, "record");
        require(r.inputsHash == inputsHash && r.outputsHash == outputsHash, "hashes");
        // Second publish: a no-op that leaves the record as it was.
        require(!registry.publish(id, BundleFixture.ROOT, BundleFixture.proofs(), _none(), BundleFixture.outputs()));
        // An attestation cannot overwrite it either.
        registry.setAttester(address(this), true);
        require(!registry.attest(id, BundleFixture.ROOT));
        require(!registry.recordOf(id, BundleFixture.ROOT).attested, "overwritten");
    }

    function test_tamperedBundleRevertsAndRecordsNothing() public {
        bytes[] memory p = BundleFixture.proofs();
        p[1][100] = bytes1(uint8(p[1][100]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(BundleVerifier.ChunkRejected.selector, 1));
        registry.publish(id, BundleFixture.ROOT, p, _none(), BundleFixture.outputs());
        require(registry.recordOf(id, BundleFixture.ROOT).blockNumber == 0, "recorded a rejected root");
    }

    function test_unknownModelReverts() public {
        bytes32 other = bytes32(uint256(id) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.UnknownModel.selector, other));
        registry.publish(other, BundleFixture.ROOT, BundleFixture.proofs(), _none(), BundleFixture.outputs());
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

    function test_publishUpgradesAnAttestedRoot() public {
        Stranger s = new Stranger();
        registry.setAttester(address(s), true);
        s.attest(registry, id, BundleFixture.ROOT);
        require(registry.recordOf(id, BundleFixture.ROOT).attested, "attested");
        // A later valid bundle verifies it: the record is upgraded, never left attested.
        vm.expectEmit(true, true, false, true, address(registry));
        emit AttestationVerified(id, BundleFixture.ROOT, address(s));
        require(
            registry.publish(id, BundleFixture.ROOT, BundleFixture.proofs(), _none(), BundleFixture.outputs()),
            "upgrade"
        );
        RootRegistry.Record memory r = registry.recordOf(id, BundleFixture.ROOT);
        require(!r.attested && r.sender == address(this), "verified record");
        require(r.outputsHash == keccak256(abi.encode(BundleFixture.outputs())), "outputs hash");
        // and it stays verified: a second publish (by anyone) is a no-op
        require(!s.publish(registry, id, BundleFixture.ROOT, BundleFixture.proofs(), _none(), BundleFixture.outputs()));
        require(registry.recordOf(id, BundleFixture.ROOT).sender == address(this), "overwritten");
    }

    function test_anAttestedRootIsNotUpgradedByABadBundle() public {
        registry.setAttester(address(this), true);
        registry.attest(id, BundleFixture.ROOT);
        bytes[] memory p = BundleFixture.proofs();
        p[0][100] = bytes1(uint8(p[0][100]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(BundleVerifier.ChunkRejected.selector, 0));
        registry.publish(id, BundleFixture.ROOT, p, _none(), BundleFixture.outputs());
        require(registry.recordOf(id, BundleFixture.ROOT).attested, "upgraded without proofs");
    }

    function test_aVerifierAnsweringFalseRecordsNothing() public {
        FalseVerifier f = new FalseVerifier();
        bytes32 fid = registry.registerModel(BundleVerifier(address(f)));
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.BundleRejected.selector, fid));
        registry.publish(fid, BundleFixture.ROOT, BundleFixture.proofs(), _none(), BundleFixture.outputs());
        require(registry.recordOf(fid, BundleFixture.ROOT).blockNumber == 0, "recorded on false");
    }

    function test_deprecatedModelsTakeNothingMore() public {
        Stranger s = new Stranger();
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.NotOwner.selector, address(s)));
        s.deprecate(registry, id);
        registry.setAttester(address(this), true);
        registry.attest(id, bytes32(uint256(5)));
        registry.deprecateModel(id);
        require(registry.deprecated(id), "deprecated");
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.ModelIsDeprecated.selector, id));
        registry.publish(id, BundleFixture.ROOT, BundleFixture.proofs(), _none(), BundleFixture.outputs());
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.ModelIsDeprecated.selector, id));
        registry.attest(id, bytes32(uint256(6)));
        // earlier records stay readable
        require(registry.recordOf(id, bytes32(uint256(5))).attested, "record kept");
        bytes32 unknown = bytes32(uint256(id) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.UnknownModel.selector, unknown));
        registry.deprecateModel(unknown);
    }

    /// The fixture's model inputs are private: a publish naming inputs is refused by the
    /// BundleVerifier, and a record hashes the empty array.
    function test_inputsMustMatchTheModel() public {
        int256[] memory one = new int256[](1);
        vm.expectRevert(abi.encodeWithSelector(BundleVerifier.WrongInputCount.selector, 0, 1));
        registry.publish(id, BundleFixture.ROOT, BundleFixture.proofs(), one, BundleFixture.outputs());
        require(registry.recordOf(id, BundleFixture.ROOT).blockNumber == 0, "recorded with inputs");
        require(registry.publish(id, BundleFixture.ROOT, BundleFixture.proofs(), _none(), BundleFixture.outputs()));
        require(registry.recordOf(id, BundleFixture.ROOT).inputsHash == keccak256(abi.encode(_none())), "inputs hash");
    }

    function test_attestedRecordsHashNothing() public {
        registry.setAttester(address(this), true);
        vm.expectEmit(true, true, true, true, address(registry));
        emit RootPublished(id, bytes32(uint256(9)), address(this), true, bytes32(0), bytes32(0));
        registry.attest(id, bytes32(uint256(9)));
        RootRegistry.Record memory r = registry.recordOf(id, bytes32(uint256(9)));
        require(r.attested && r.inputsHash == 0 && r.outputsHash == 0, "attested hashes");
    }

    function _none() internal pure returns (int256[] memory) {
        return new int256[](0);
    }

    function test_registrationIsOwnerOnlyAndPermanent() public {
        Stranger s = new Stranger();
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.NotOwner.selector, address(s)));
        s.register(registry, bv);
        vm.expectRevert(abi.encodeWithSelector(RootRegistry.ModelAlreadyRegistered.selector, id, address(bv)));
        registry.registerModel(bv);
    }
}
