// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ticket} from "../../interfaces/ITicketBroker.sol";
import {TICKET_BUFFER_WORDS, TicketLib} from "../../libraries/TicketLib.sol";
import {CompactBatchLib} from "../../libraries/CompactBatchLib.sol";

/// @notice Runs the broker's compact batch reader (CompactBatchLib, into a TicketLib buffer) over a
/// whole batch and returns what it rebuilt as ordinary tickets, signatures and recipientRands, for
/// the tests that hold the TypeScript encoder and the Solidity encoder against it.
contract CompactBatchHarness {
    /// @notice The tickets `recipient` redeems by sending `batch`, with their 65-byte signatures,
    /// recipientRands and struct hashes; reverts as the broker does on a malformed batch.
    function decode(bytes calldata batch, address recipient)
        external
        pure
        returns (Ticket[] memory tickets, bytes[] memory sigs, uint256[] memory rands, bytes32[] memory hashes)
    {
        uint256 n;
        for (uint256 offset; offset < batch.length;) {
            (, uint256 count, uint256 groupEnd) = CompactBatchLib.readGroup(batch, offset, TicketLib.newBuffer(0));
            n += count;
            offset = groupEnd;
        }
        tickets = new Ticket[](n);
        sigs = new bytes[](n);
        rands = new uint256[](n);
        hashes = new bytes32[](n);
        bytes32[TICKET_BUFFER_WORDS] memory b = TicketLib.newBuffer(0);
        b[1] = bytes32(uint256(uint160(recipient)));
        uint256 i;
        for (uint256 offset; offset < batch.length;) {
            (uint256 ticketAt,, uint256 groupEnd) = CompactBatchLib.readGroup(batch, offset, b);
            for (; ticketAt < groupEnd; ticketAt += CompactBatchLib.TICKET_SIZE) {
                hashes[i] = CompactBatchLib.readTicket(batch, ticketAt, b);
                (tickets[i], sigs[i], rands[i]) = _unload(b);
                ++i;
            }
            offset = groupEnd;
        }
    }

    function _unload(bytes32[TICKET_BUFFER_WORDS] memory b)
        private
        pure
        returns (Ticket memory t, bytes memory sig, uint256 rand)
    {
        t = Ticket({
            recipient: address(uint160(uint256(b[1]))),
            sender: address(uint160(uint256(b[2]))),
            faceValue: uint256(b[3]),
            winProb: uint256(b[4]),
            senderNonce: uint256(b[5]),
            recipientRandHash: b[6],
            expiry: uint64(uint256(b[7])),
            sessionId: b[8],
            cumulativeBytes: uint64(uint256(b[9]))
        });
        sig = new bytes(65);
        assembly ("memory-safe") {
            mcopy(add(sig, 0x20), add(b, 0x1a0), 65)
            rand := mload(add(b, 0x1e1))
        }
    }
}
