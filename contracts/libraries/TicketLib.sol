// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ticket} from "../interfaces/ITicketBroker.sol";

/// @title TicketLib
/// @notice The Solidity half of the ticket definition in docs/PROTOCOL.md section 1 (the
/// TypeScript half is src/protocol/); test/vectors/tickets.json keeps the two in step.
library TicketLib {
    /// @notice keccak256 of the EIP-712 type string of a ticket.
    bytes32 internal constant TICKET_TYPEHASH = keccak256(
        "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,bytes32 recipientRandHash,uint64 expiry,bytes32 sessionId,uint64 cumulativeBytes)"
    );

    /// @notice The EIP-712 struct hash of `t`.
    /// @dev All nine members are static words laid out in calldata in type order, so the EIP-712
    /// encoding is the typehash followed by the raw words; hashing them in place saves the
    /// member-by-member abi.encode copy (~300 gas per ticket). EIP-712 requires the address and
    /// uint64 members to be zero-extended, so dirty high bits revert here (as Solidity's own
    /// calldata validation would): one ticket, one hash.
    function hashStruct(Ticket calldata t) internal pure returns (bytes32 h) {
        bytes32 typehash = TICKET_TYPEHASH;
        assembly ("memory-safe") {
            let dirty := or(
                or(shr(160, calldataload(t)), shr(160, calldataload(add(t, 0x20)))),
                or(shr(64, calldataload(add(t, 0xc0))), shr(64, calldataload(add(t, 0x100))))
            )
            if dirty { revert(0, 0) }
            // Free memory is scratch here: nothing reads it after the hash, and the free memory
            // pointer is left unchanged.
            let m := mload(0x40)
            mstore(m, typehash)
            calldatacopy(add(m, 0x20), t, 0x120)
            h := keccak256(m, 0x140)
        }
    }

    /// @notice True iff uint256(keccak256(sig ‖ recipientRand)) < winProb (PROTOCOL.md "Win check").
    /// @dev The recipient committed to recipientRand before the sender signed, and the signature
    /// is deterministic, so neither side can bias the draw. The caller must reject any signature
    /// that is not the canonical 65-byte low-s encoding, or the recipient could choose among
    /// encodings of one signature the one that wins.
    function isWinning(bytes calldata sig, uint256 recipientRand, uint256 winProb) internal pure returns (bool) {
        uint256 draw;
        assembly ("memory-safe") {
            // Hash sig ‖ recipientRand in free memory without moving the free memory pointer:
            // the region is scratch, nothing reads it afterwards.
            let m := mload(0x40)
            calldatacopy(m, sig.offset, sig.length)
            mstore(add(m, sig.length), recipientRand)
            draw := keccak256(m, add(sig.length, 0x20))
        }
        return draw < winProb;
    }

    /// @notice keccak256(abi.encodePacked(recipientRand)), the commitment a ticket carries.
    function recipientRandHash(uint256 recipientRand) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            // Scratch space (0x00-0x3f) is free for hashing.
            mstore(0x00, recipientRand)
            h := keccak256(0x00, 0x20)
        }
    }
}
