// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {vm} from "./Vm.sol";

/// @title Test
/// @notice A small forge-std-like base for Hardhat Solidity tests: assertions that revert with a
/// message naming both values, `bound` for fuzz inputs, and the target lists the invariant runner
/// reads. Shared: extend here rather than copying helpers into test files.
abstract contract Test {
    address[] private _targetContracts;
    address[] private _excludeContracts;

    /// @notice Contracts the invariant fuzzer calls (read by the runner).
    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    /// @notice Contracts the invariant fuzzer must not call (read by the runner).
    function excludeContracts() public view returns (address[] memory) {
        return _excludeContracts;
    }

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function excludeContract(address target) internal {
        _excludeContracts.push(target);
    }

    function fail(string memory message) internal pure {
        revert(message);
    }

    function assertTrue(bool condition) internal pure {
        if (!condition) revert("assertTrue: false");
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) revert(message);
    }

    function assertFalse(bool condition) internal pure {
        if (condition) revert("assertFalse: true");
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) revert(message);
    }

    function assertEq(uint256 a, uint256 b) internal pure {
        if (a != b) revert(string.concat("assertEq(uint256): ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(uint256 a, uint256 b, string memory message) internal pure {
        if (a != b) {
            revert(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
        }
    }

    function assertEq(address a, address b) internal pure {
        if (a != b) revert(string.concat("assertEq(address): ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(address a, address b, string memory message) internal pure {
        if (a != b) revert(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(bytes32 a, bytes32 b) internal pure {
        if (a != b) revert("assertEq(bytes32): not equal");
    }

    function assertEq(bytes32 a, bytes32 b, string memory message) internal pure {
        if (a != b) revert(message);
    }

    function assertEq(bool a, bool b) internal pure {
        if (a != b) revert("assertEq(bool): not equal");
    }

    function assertEq(string memory a, string memory b) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) revert(string.concat("assertEq(string): ", a, " != ", b));
    }

    function assertEq(bytes memory a, bytes memory b) internal pure {
        if (keccak256(a) != keccak256(b)) revert("assertEq(bytes): not equal");
    }

    function assertLe(uint256 a, uint256 b) internal pure {
        if (a > b) revert(string.concat("assertLe: ", vm.toString(a), " > ", vm.toString(b)));
    }

    function assertLe(uint256 a, uint256 b, string memory message) internal pure {
        if (a > b) revert(string.concat(message, ": ", vm.toString(a), " > ", vm.toString(b)));
    }

    function assertLt(uint256 a, uint256 b) internal pure {
        if (a >= b) revert(string.concat("assertLt: ", vm.toString(a), " >= ", vm.toString(b)));
    }

    function assertGe(uint256 a, uint256 b) internal pure {
        if (a < b) revert(string.concat("assertGe: ", vm.toString(a), " < ", vm.toString(b)));
    }

    function assertGt(uint256 a, uint256 b) internal pure {
        if (a <= b) revert(string.concat("assertGt: ", vm.toString(a), " <= ", vm.toString(b)));
    }

    /// @notice Maps `x` into [min, max] (inclusive) without discarding runs, as forge-std does.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }
}
