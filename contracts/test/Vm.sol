// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// The few Foundry cheatcodes these tests and scripts use (forge-std is not available offline).
interface Vm {
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
    function assume(bool condition) external;
    function startBroadcast() external;
    function stopBroadcast() external;
}

// The cheatcode address.
address constant VM_ADDRESS = address(uint160(uint256(keccak256("hevm cheat code"))));
