// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {BundleVerifier} from "../src/BundleVerifier.sol";
import {GeneratedModel} from "../src/generated/GeneratedModel.sol";
import {Vm, VM_ADDRESS} from "../test/Vm.sol";

/// Deploys the generated chunk verifiers of the exported model and its BundleVerifier:
/// `forge script contracts/script/Deploy.s.sol --rpc-url URL --broadcast --private-key KEY`.
contract Deploy {
    Vm internal constant vm = Vm(VM_ADDRESS);

    function run() external returns (BundleVerifier bv) {
        vm.startBroadcast();
        bv = GeneratedModel.deploy();
        vm.stopBroadcast();
    }
}
