// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ITicketBroker} from "../interfaces/ITicketBroker.sol";
import {TICKET_BUFFER_WORDS, TicketLib} from "./TicketLib.sol";

/// @title CompactBatchLib
/// @notice Reads the compact batch encoding of `ITicketBroker.redeemTicketsCompact`
/// (docs/protocol/broker.md "Compact batches"; the TypeScript writer is
/// src/protocol/compactBatch.ts) back into ordinary tickets, in a TicketLib ticket buffer: the
/// ticket's EIP-712 words and its 65-byte signature r ‖ s ‖ v. It only parses and bounds: every
/// byte it reads ends up in the ticket's EIP-712 encoding, its signature or its recipientRand, so
/// a changed byte fails the broker's checks like any altered ticket.
///
///   batch  = group+
///   group  = sender (20) ‖ count (1) ‖ faceValue (32) ‖ winProb (32) ‖ recipientRand (32) ‖
///            sessionId (32) ‖ ticket × count
///   ticket = r (32) ‖ yParityAndS (32) ‖ senderNonce (8) ‖ expiry (8) ‖ cumulativeBytes (8)
///
/// The recipient (buffer word 1) is the caller's to write: the broker writes msg.sender.
library CompactBatchLib {
    /// @notice Bytes of a group header: sender, count and four 32-byte words.
    uint256 internal constant GROUP_HEADER_SIZE = 149;
    /// @notice Bytes of one ticket: r, yParityAndS and three 8-byte integers.
    uint256 internal constant TICKET_SIZE = 88;

    // Literals, not expressions: inline assembly reads only literal constants. The buffer offsets
    // are TicketLib's layout.
    uint256 private constant _S_MASK = 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff;
    uint256 private constant _U64_MASK = 0xffffffffffffffff;

    /// @notice Reads the group header at `offset` of `batch` into buffer `b` (sender, faceValue,
    /// winProb, recipientRandHash, sessionId and recipientRand), after checking that the header
    /// and all of its tickets lie inside the batch; reverts with MalformedBatch otherwise, or if
    /// the group declares no ticket.
    /// @return ticketsAt Offset of the group's first ticket.
    /// @return count Number of tickets in the group, 1 to 255.
    /// @return groupEnd Offset just past its last ticket, at most batch.length.
    function readGroup(bytes calldata batch, uint256 offset, bytes32[TICKET_BUFFER_WORDS] memory b)
        internal
        pure
        returns (uint256 ticketsAt, uint256 count, uint256 groupEnd)
    {
        uint256 length = batch.length;
        // offset <= length, and length is bounded by the calldata size (< 2^64): no overflow.
        unchecked {
            ticketsAt = offset + GROUP_HEADER_SIZE;
        }
        if (ticketsAt > length) revert ITicketBroker.MalformedBatch(offset, length);
        uint256 recipientRand;
        assembly ("memory-safe") {
            // The header lies inside the batch (checked above) and every load reads header bytes
            // only: of the first word, the low 11 bytes (faceValue's first ones) are shifted out.
            let p := add(batch.offset, offset)
            let w := calldataload(p)
            count := byte(20, w)
            mstore(add(b, 0x40), shr(96, w)) // sender
            mstore(add(b, 0x60), calldataload(add(p, 21))) // faceValue
            mstore(add(b, 0x80), calldataload(add(p, 53))) // winProb
            recipientRand := calldataload(add(p, 85))
            mstore(add(b, 0x100), calldataload(add(p, 117))) // sessionId
            mstore(add(b, 0x1e1), recipientRand) // after r ‖ s ‖ v: the draw's input
        }
        b[6] = TicketLib.recipientRandHash(recipientRand);
        // ticketsAt <= length < 2^64 and count * TICKET_SIZE < 2^15: no overflow.
        unchecked {
            groupEnd = ticketsAt + count * TICKET_SIZE;
        }
        if (count == 0 || groupEnd > length) revert ITicketBroker.MalformedBatch(offset, length);
    }

    /// @notice Reads the ticket at `offset`, which must lie inside a group bounded by readGroup,
    /// into buffer `b`: senderNonce, expiry and cumulativeBytes (words 5, 7, 9) and the signature
    /// r ‖ s ‖ v, with s the low 255 bits of yParityAndS and v = 27 + its top bit. Returns the
    /// rebuilt ticket's EIP-712 struct hash.
    /// @dev v is therefore 27 or 28, and the broker rejects s above n/2, so the rebuilt 65 bytes
    /// are the one canonical encoding of the signature: one signature, one draw. The last load
    /// reads 32 bytes of which the ticket's last 24 are used; the 8 after them (the next ticket or
    /// group, or calldata padding) are shifted out, never interpreted.
    function readTicket(bytes calldata batch, uint256 offset, bytes32[TICKET_BUFFER_WORDS] memory b)
        internal
        pure
        returns (bytes32 structHash)
    {
        assembly ("memory-safe") {
            let p := add(batch.offset, offset)
            mstore(add(b, 0x1a0), calldataload(p)) // r
            let vs := calldataload(add(p, 0x20))
            mstore(add(b, 0x1c0), and(vs, _S_MASK)) // s
            mstore8(add(b, 0x1e0), add(27, shr(255, vs))) // v
            let w := calldataload(add(p, 0x40))
            mstore(add(b, 0xa0), shr(192, w)) // senderNonce
            mstore(add(b, 0xe0), and(shr(128, w), _U64_MASK)) // expiry
            mstore(add(b, 0x120), and(shr(64, w), _U64_MASK)) // cumulativeBytes
            structHash := keccak256(b, 0x140) // words 0-9: the EIP-712 encoding
        }
    }
}
