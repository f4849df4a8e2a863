// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ticket} from "../../interfaces/ITicketBroker.sol";

/// @notice The compact batch encoding of `ITicketBroker.redeemTicketsCompact`, written for the tests
/// independently of the TypeScript encoder (src/protocol/compactBatch.ts) and of the broker's
/// reader (CompactBatchLib): consecutive tickets with equal sender, faceValue, winProb,
/// recipientRand and sessionId share a group of at most 255. The caller passes canonical 65-byte
/// signatures and nonces below 2^64 (the encoding's limits).
library CompactBatchEncoder {
    /// @notice The compact encoding of the tickets, their signatures and recipientRands.
    function encode(Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands)
        internal
        pure
        returns (bytes memory out)
    {
        uint256 i;
        while (i < ts.length) {
            uint256 j = i + 1;
            while (j < ts.length && j - i < 255 && sameGroup(ts[i], rands[i], ts[j], rands[j])) ++j;
            out = bytes.concat(out, header(ts[i], uint8(j - i), rands[i]));
            for (uint256 k = i; k < j; ++k) {
                out = bytes.concat(out, ticket(ts[k], sigs[k]));
            }
            i = j;
        }
    }

    /// @notice A group header: sender, count, faceValue, winProb, recipientRand, sessionId.
    function header(Ticket memory t, uint8 count, uint256 rand) internal pure returns (bytes memory) {
        return abi.encodePacked(t.sender, count, t.faceValue, t.winProb, rand, t.sessionId);
    }

    /// @notice One ticket: r, yParityAndS, senderNonce (8 bytes), expiry, cumulativeBytes.
    function ticket(Ticket memory t, bytes memory sig) internal pure returns (bytes memory) {
        (bytes32 r, bytes32 s, uint8 v) = split(sig);
        bytes32 vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        return abi.encodePacked(r, vs, uint64(t.senderNonce), t.expiry, t.cumulativeBytes);
    }

    /// @notice r, s and v of a 65-byte signature.
    function split(bytes memory sig) internal pure returns (bytes32 r, bytes32 s, uint8 v) {
        require(sig.length == 65, "CompactBatchEncoder: 65-byte signatures only");
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
    }

    /// @notice True iff two tickets can share a group.
    function sameGroup(Ticket memory a, uint256 randA, Ticket memory b, uint256 randB) internal pure returns (bool) {
        return a.sender == b.sender && a.faceValue == b.faceValue && a.winProb == b.winProb && randA == randB
            && a.sessionId == b.sessionId;
    }
}
