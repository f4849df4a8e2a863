// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ticket} from "../interfaces/ITicketBroker.sol";

// Words of a TicketLib ticket buffer (`bytes32[TICKET_BUFFER_WORDS] memory`, layout below); at
// file level so that other files can use it as an array length.
uint256 constant TICKET_BUFFER_WORDS = 17;

/// @title TicketLib
/// @notice The Solidity half of the ticket definition in docs/PROTOCOL.md section 1 (the
/// TypeScript half is src/protocol/); test/vectors/tickets.json keeps the two in step.
library TicketLib {
    // A ticket buffer (`bytes32[TICKET_BUFFER_WORDS] memory`) holds a ticket under check, laid
    // out so that each hash the broker needs is one keccak256 over contiguous bytes, and so that
    // a compact group's shared words are written once for all of its tickets:
    //   words 0-9         the EIP-712 encoding: typehash, then the nine members in type order
    //                     (1 recipient, 2 sender, 3 faceValue, 4 winProb, 5 senderNonce,
    //                     6 recipientRandHash, 7 expiry, 8 sessionId, 9 cumulativeBytes)
    //   bytes 0x15e-0x19f 0x1901 ‖ domainSeparator ‖ structHash (the EIP-712 digest's input)
    //   bytes 0x1a0-0x200 r ‖ s ‖ v ‖ recipientRand (the win draw's input: the 65-byte
    //                     signature and the recipient's secret)
    // `newBuffer` writes the constant parts; the caller fills in the ticket and signature.
    uint256 private constant _WIN_PROB_AT = 0x80; // word 4
    uint256 private constant _PREFIX_AT = 0x140; // word 10: 0x1901 in its last two bytes
    uint256 private constant _SEPARATOR_AT = 0x160;
    uint256 private constant _STRUCT_HASH_AT = 0x180;
    uint256 private constant _DIGEST_INPUT_AT = 0x15e; // 0x1901 ‖ separator ‖ structHash: 66 bytes
    uint256 private constant _R_AT = 0x1a0;
    uint256 private constant _S_AT = 0x1c0;
    uint256 private constant _V_AT = 0x1e0;
    uint256 private constant _RAND_AT = 0x1e1;
    // secp256k1n / 2: the largest s of a canonical (low-s) signature.
    uint256 private constant _HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

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

    /// @notice A ticket buffer (layout above) with the typehash and the digest prefix for the
    /// domain `separator` written.
    function newBuffer(bytes32 separator) internal pure returns (bytes32[TICKET_BUFFER_WORDS] memory b) {
        b[0] = TICKET_TYPEHASH;
        assembly ("memory-safe") {
            mstore(add(b, _PREFIX_AT), 0x1901)
            mstore(add(b, _SEPARATOR_AT), separator)
        }
    }

    /// @notice Copies a calldata ticket, its signature and recipientRand into buffer `b`. The
    /// caller has checked that `sig` is 65 bytes and that `t` hashes (hashStruct: no dirty bits).
    function loadTicket(bytes32[TICKET_BUFFER_WORDS] memory b, Ticket calldata t, bytes calldata sig, uint256 recipientRand)
        internal
        pure
    {
        assembly ("memory-safe") {
            calldatacopy(add(b, 0x20), t, 0x120)
            calldatacopy(add(b, _R_AT), sig.offset, 65)
            mstore(add(b, _RAND_AT), recipientRand)
        }
    }

    /// @notice For the ticket held in buffer `b`, whose struct hash is `structHash`: whether it
    /// wins (uint256(keccak256(r ‖ s ‖ v ‖ recipientRand)) < winProb, as `isWinning`), and the
    /// signer of its EIP-712 digest, or address(0) unless the signature is canonical and valid:
    /// s in [1, n/2] (low s: no malleable twin), v in {27, 28}, r in [1, n) and a point that
    /// recovers.
    /// @dev One assembly block for the three hashes' worth of work each ticket costs. The signer
    /// check is OpenZeppelin ECDSA.tryRecover's (same s bound; the precompile rejects the rest:
    /// TicketVectors.t.sol and TicketBrokerCompact.t.sol check the two agree on every vector and
    /// on fuzzed signatures), hand-rolled because tryRecover's ABI glue costs ~300 gas per call,
    /// a tenth of what a compact batch spends per ticket besides the precompile. The precompile
    /// returns no data for every invalid input and the output word is zeroed before the call, so
    /// a failure reads as address(0), never as stale memory.
    function winAndSigner(bytes32[TICKET_BUFFER_WORDS] memory b, bytes32 structHash)
        internal
        view
        returns (bool wins, address signer)
    {
        assembly ("memory-safe") {
            mstore(add(b, _STRUCT_HASH_AT), structHash)
            let digest := keccak256(add(b, _DIGEST_INPUT_AT), 0x42)
            wins := lt(keccak256(add(b, _R_AT), 0x61), mload(add(b, _WIN_PROB_AT)))
            let s := mload(add(b, _S_AT))
            if iszero(gt(s, _HALF_N)) {
                // The free memory above the pointer (not moved) holds the precompile's input and
                // scratch word 0x00 its output; nothing reads either afterwards. The precompile
                // writes its output only on success, so 0x00 is zeroed first.
                let m := mload(0x40)
                mstore(m, digest)
                mstore(add(m, 0x20), byte(0, mload(add(b, _V_AT))))
                mstore(add(m, 0x40), mload(add(b, _R_AT)))
                mstore(add(m, 0x60), s)
                mstore(0x00, 0)
                // The call fails only if out of gas, leaving 0x00 zero: the signature is refused.
                pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
                signer := mload(0x00)
            }
        }
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
