// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Ticket} from "../../interfaces/ITicketBroker.sol";
import {TICKET_BUFFER_WORDS, TicketLib} from "../../libraries/TicketLib.sol";

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

    /// @notice What redemption computes for ticket `t` with signature `sig` under the domain
    /// `separator` (TicketLib.winAndSigner on a buffer loaded as redeemTicket loads it): whether
    /// it wins, and the signer, address(0) where the broker rejects the signature (also for any
    /// length but 65 bytes, which redemption refuses before drawing; it then does not win).
    function winLikeBroker(bytes32 separator, Ticket calldata t, bytes calldata sig, uint256 recipientRand)
        external
        view
        returns (bool wins, address signer)
    {
        if (sig.length != 65) return (false, address(0));
        bytes32[TICKET_BUFFER_WORDS] memory b = TicketLib.newBuffer(separator);
        TicketLib.loadTicket(b, t, sig, recipientRand);
        return TicketLib.winAndSigner(b, TicketLib.hashStruct(t));
    }

    /// @notice The reference rule the broker's hand-rolled recovery must match: exactly 65 bytes
    /// and an OpenZeppelin-valid (low-s, v 27/28) signature; returns the signer, or address(0).
    function recoverWithOpenZeppelin(bytes32 digest, bytes calldata sig) external pure returns (address) {
        if (sig.length != 65) return address(0);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, sig);
        return err == ECDSA.RecoverError.NoError ? signer : address(0);
    }
}
