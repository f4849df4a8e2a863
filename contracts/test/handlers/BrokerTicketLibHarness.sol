// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Ticket} from "../../interfaces/ITicketBroker.sol";
import {TicketLib} from "../../libraries/TicketLib.sol";

/// @notice Exposes TicketLib (whose functions take calldata) and the broker's signature rule to
/// tests that hold their data in memory.
contract BrokerTicketLibHarness {
    /// @notice TicketLib.hashStruct.
    function hashStruct(Ticket calldata t) external pure returns (bytes32) {
        return TicketLib.hashStruct(t);
    }

    /// @notice TicketLib.isWinning.
    function isWinning(bytes calldata sig, uint256 recipientRand, uint256 winProb) external pure returns (bool) {
        return TicketLib.isWinning(sig, recipientRand, winProb);
    }

    /// @notice TicketLib.recipientRandHash.
    function recipientRandHash(uint256 recipientRand) external pure returns (bytes32) {
        return TicketLib.recipientRandHash(recipientRand);
    }

    /// @notice The broker's rule: exactly 65 bytes and an OpenZeppelin-valid (low-s, v 27/28)
    /// signature; returns the signer, or address(0) when the broker would reject the signature.
    function recoverLikeBroker(bytes32 digest, bytes calldata sig) external pure returns (address) {
        if (sig.length != 65) return address(0);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, sig);
        return err == ECDSA.RecoverError.NoError ? signer : address(0);
    }
}
