// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Vm, vm} from "./utils/Vm.sol";
import {TicketBrokerBase} from "./TicketBrokerBase.t.sol";
import {ITicketBroker, Ticket} from "../interfaces/ITicketBroker.sol";
import {CompactBatchEncoder} from "./utils/CompactBatchEncoder.sol";
import {CompactBatchHarness} from "./handlers/CompactBatchHarness.sol";
import {BrokerTicketLibHarness} from "./handlers/BrokerTicketLibHarness.sol";

/// @notice redeemTicketsCompact: it redeems exactly what redeemTickets redeems on the same tickets
/// (state, per-ticket payments, split, ledger, errors), refuses every malformed or truncated batch
/// with MalformedBatch, and refuses every batch in which any bit was changed after encoding.
contract TicketBrokerCompactTest is TicketBrokerBase {
    uint256 internal constant RAND_A = uint256(keccak256("session A rand"));
    uint256 internal constant RAND_B = uint256(keccak256("session B rand"));
    uint256 internal constant HEADER = 149;
    uint256 internal constant TICKET = 88;

    CompactBatchHarness internal harness;
    BrokerTicketLibHarness internal lib;

    struct Batch {
        Ticket[] ts;
        bytes[] sigs;
        uint256[] rands;
    }

    /// @dev Everything a redemption changes that the tests compare between the two paths.
    struct State {
        uint256 deposit1;
        uint256 reserve1;
        uint256 deposit2;
        uint256 reserve2;
        uint256 nonce1;
        uint256 nonce2;
        uint256 recipientBalance;
        uint256 supply;
        uint256 treasury;
        uint256 accountPaid;
        uint256 accountBurned;
        uint256 totalPaid;
        uint256 totalBurned;
    }

    function setUp() public override {
        super.setUp();
        harness = new CompactBatchHarness();
        lib = new BrokerTicketLibHarness();
    }

    // ------------------------------------------------------------ helpers

    /// @dev n tickets to `to`: the first ceil(n/2) from sender (rand A), the rest from sender2
    /// (rand B), nonces 1, 2, ... per sender.
    function _batch(uint256 n, address to, uint256 face) internal view returns (Batch memory b) {
        b.ts = new Ticket[](n);
        b.sigs = new bytes[](n);
        b.rands = new uint256[](n);
        uint256 half = (n + 1) / 2;
        for (uint256 i; i < n; ++i) {
            bool first = i < half;
            uint256 key = first ? SENDER_KEY : SENDER2_KEY;
            b.rands[i] = first ? RAND_A : RAND_B;
            b.ts[i] = _ticketWithRand(key, to, face, first ? i + 1 : i - half + 1, b.rands[i]);
            b.sigs[i] = _sign(key, b.ts[i]);
        }
    }

    function _encode(Batch memory b) internal pure returns (bytes memory) {
        return _compact(b.ts, b.sigs, b.rands);
    }

    function _callCompact(address caller, bytes memory data) internal returns (bool ok, bytes memory ret) {
        vm.prank(caller);
        (ok, ret) = address(broker).call(abi.encodeCall(ITicketBroker.redeemTicketsCompact, (data)));
    }

    function _callFull(address caller, Batch memory b) internal returns (bool ok, bytes memory ret) {
        vm.prank(caller);
        (ok, ret) = address(broker).call(abi.encodeCall(ITicketBroker.redeemTickets, (b.ts, b.sigs, b.rands)));
    }

    function _state(address to) internal view returns (State memory s) {
        (s.deposit1, s.reserve1,) = broker.getSender(sender);
        (s.deposit2, s.reserve2,) = broker.getSender(sender2);
        s.nonce1 = broker.lastNonce(sender, to);
        s.nonce2 = broker.lastNonce(sender2, to);
        s.recipientBalance = token.balanceOf(to);
        s.supply = token.totalSupply();
        s.treasury = broker.treasuryAccrued();
        (s.accountPaid, s.accountBurned) = broker.epochAccount(broker.currentEpoch(), to);
        (s.totalPaid, s.totalBurned) = broker.epochTotals(broker.currentEpoch());
    }

    function _assertSameState(State memory a, State memory b) internal pure {
        assertEq(a.deposit1, b.deposit1, "deposit 1");
        assertEq(a.reserve1, b.reserve1, "reserve 1");
        assertEq(a.deposit2, b.deposit2, "deposit 2");
        assertEq(a.reserve2, b.reserve2, "reserve 2");
        assertEq(a.nonce1, b.nonce1, "watermark 1");
        assertEq(a.nonce2, b.nonce2, "watermark 2");
        assertEq(a.recipientBalance, b.recipientBalance, "recipient");
        assertEq(a.supply, b.supply, "supply (burn)");
        assertEq(a.treasury, b.treasury, "treasury");
        assertEq(a.accountPaid, b.accountPaid, "account paid");
        assertEq(a.accountBurned, b.accountBurned, "account burned");
        assertEq(a.totalPaid, b.totalPaid, "epoch paid");
        assertEq(a.totalBurned, b.totalBurned, "epoch burned");
    }

    /// @dev Per-ticket (hash, paid) from the broker's TicketRedeemed and TicketGroupRedeemed logs.
    function _paidFromLogs(Vm.Log[] memory logs) internal view returns (bytes32[] memory hashes, uint256[] memory paid) {
        uint256 n;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(broker)) continue;
            if (logs[i].topics[0] == ITicketBroker.TicketRedeemed.selector) ++n;
            if (logs[i].topics[0] == ITicketBroker.TicketGroupRedeemed.selector) {
                (,, bytes32[] memory hs) = abi.decode(logs[i].data, (uint256, uint256, bytes32[]));
                n += hs.length;
            }
        }
        hashes = new bytes32[](n);
        paid = new uint256[](n);
        uint256 k;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(broker)) continue;
            if (logs[i].topics[0] == ITicketBroker.TicketRedeemed.selector) {
                hashes[k] = logs[i].topics[1];
                (, paid[k]) = abi.decode(logs[i].data, (uint256, uint256));
                ++k;
            } else if (logs[i].topics[0] == ITicketBroker.TicketGroupRedeemed.selector) {
                (uint256 face, uint256 lastPaid, bytes32[] memory hs) =
                    abi.decode(logs[i].data, (uint256, uint256, bytes32[]));
                for (uint256 j; j < hs.length; ++j) {
                    hashes[k] = hs[j];
                    paid[k] = j + 1 == hs.length ? lastPaid : face;
                    ++k;
                }
            }
        }
    }

    /// @dev Runs the batch both ways from the same state and checks that both succeed or revert
    /// with the same error, and on success leave the same state and pay each ticket the same.
    function _assertPathsAgree(Batch memory b) internal returns (bool ok) {
        uint256 snapshot = vm.snapshotState();
        vm.recordLogs();
        (bool okFull, bytes memory retFull) = _callFull(recipient, b);
        (bytes32[] memory hashesFull, uint256[] memory paidFull) = _paidFromLogs(vm.getRecordedLogs());
        State memory full = _state(recipient);
        vm.revertToState(snapshot);

        vm.recordLogs();
        (bool okCompact, bytes memory retCompact) = _callCompact(recipient, _encode(b));
        (bytes32[] memory hashesCompact, uint256[] memory paidCompact) = _paidFromLogs(vm.getRecordedLogs());
        assertTrue(okFull == okCompact, "both succeed or both revert");
        assertEq(keccak256(retFull), keccak256(retCompact), "same revert data");
        _assertSameState(full, _state(recipient));
        if (!okFull) return false; // a reverted call's logs are void (the recorder keeps them)
        assertEq(hashesFull.length, hashesCompact.length, "tickets in the logs");
        for (uint256 i; i < hashesFull.length; ++i) {
            assertEq(hashesFull[i], hashesCompact[i], "ticket hash");
            assertEq(paidFull[i], paidCompact[i], "paid per ticket");
        }
        return okFull;
    }

    function _selector(bytes memory ret) internal pure returns (bytes4 s) {
        if (ret.length < 4) return bytes4(0);
        assembly ("memory-safe") {
            s := mload(add(ret, 0x20))
        }
    }

    function _slice(bytes memory data, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i; i < length; ++i) out[i] = data[i];
    }

    // ------------------------------------------------------------ same result as redeemTickets

    function test_compact_paysAndRecordsLikeRedeemTickets() public {
        _fund(sender, 100 ether, 0);
        _fund(sender2, 100 ether, 0);
        Batch memory b = _batch(8, recipient, FACE);
        assertTrue(_assertPathsAgree(b));
        _callCompact(recipient, _encode(b));
        assertEq(broker.lastNonce(sender, recipient), 4);
        assertEq(broker.lastNonce(sender2, recipient), 4);
        assertEq(token.balanceOf(recipient), 8 * 0.85 ether, "recipient share after burn 10% and treasury 5%");
        assertEq(broker.paidInEpoch(0, recipient), 8 ether);
    }

    function test_compact_emitsOneGroupEventPerGroupAndTheCallTotals() public {
        _fund(sender, 100 ether, 0);
        _fund(sender2, 100 ether, 0);
        Batch memory b = _batch(5, recipient, FACE); // 3 tickets of sender, 2 of sender2
        vm.recordLogs();
        _callCompact(recipient, _encode(b));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 groups;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(broker)) continue;
            assertTrue(logs[i].topics[0] != ITicketBroker.TicketRedeemed.selector, "no per-ticket event");
            if (logs[i].topics[0] == ITicketBroker.TicketsRedeemed.selector) {
                assertEq(logs[i].topics[1], bytes32(uint256(uint160(recipient))));
                (uint256 paid, uint256 burned, uint256 toTreasury) = abi.decode(logs[i].data, (uint256, uint256, uint256));
                assertEq(paid, 5 ether);
                assertEq(burned, 0.5 ether);
                assertEq(toTreasury, 0.25 ether);
            }
            if (logs[i].topics[0] != ITicketBroker.TicketGroupRedeemed.selector) continue;
            (uint256 face, uint256 lastPaid, bytes32[] memory hashes) =
                abi.decode(logs[i].data, (uint256, uint256, bytes32[]));
            uint256 start = groups == 0 ? 0 : 3;
            assertEq(logs[i].topics[1], bytes32(uint256(uint160(groups == 0 ? sender : sender2))), "sender topic");
            assertEq(face, FACE);
            assertEq(lastPaid, FACE);
            assertEq(hashes.length, groups == 0 ? 3 : 2);
            for (uint256 j; j < hashes.length; ++j) {
                assertEq(hashes[j], _structHash(b.ts[start + j]), "hash");
                assertEq(hashes[j], broker.hashTicket(b.ts[start + j]), "hashTicket");
            }
            ++groups;
        }
        assertEq(groups, 2);
    }

    function test_compact_lastTicketOfAGroupMayBePaidPartly() public {
        _fund(sender, 2.5 ether, 0);
        Batch memory b = _batch(3, recipient, FACE);
        for (uint256 i; i < 3; ++i) {
            b.ts[i] = _ticketWithRand(SENDER_KEY, recipient, FACE, i + 1, RAND_A);
            b.sigs[i] = _sign(SENDER_KEY, b.ts[i]);
            b.rands[i] = RAND_A;
        }
        assertTrue(_assertPathsAgree(b));
        vm.recordLogs();
        _callCompact(recipient, _encode(b));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(broker) || logs[i].topics[0] != ITicketBroker.TicketGroupRedeemed.selector) {
                continue;
            }
            (uint256 face, uint256 lastPaid,) = abi.decode(logs[i].data, (uint256, uint256, bytes32[]));
            assertEq(face, FACE);
            assertEq(lastPaid, 0.5 ether);
        }
        (uint256 paid, uint256 burned) = broker.epochAccount(0, recipient);
        assertEq(paid, 2.5 ether);
        assertEq(burned, 0.25 ether);
    }

    /// @dev A ticket's split never depends on its batch or encoding: three 199-wei tickets burn
    /// 3 x 19 and accrue 3 x 9, not floor(597 x 10%) and floor(597 x 5%), however they are tallied.
    function test_compact_splitIsPerTicket() public {
        _fund(sender, 1 ether, 0);
        Batch memory b = _batch(3, recipient, 199);
        for (uint256 i; i < 3; ++i) {
            b.ts[i] = _ticketWithRand(SENDER_KEY, recipient, 199, i + 1, RAND_A);
            b.sigs[i] = _sign(SENDER_KEY, b.ts[i]);
            b.rands[i] = RAND_A;
        }
        uint256 supply = token.totalSupply();
        _callCompact(recipient, _encode(b));
        assertEq(token.totalSupply(), supply - 57, "burn: 3 x 19");
        assertEq(broker.treasuryAccrued(), 27, "treasury: 3 x 9");
        assertEq(token.balanceOf(recipient), 513, "recipient: 597 - 57 - 27");
    }

    function test_compact_revertsWhenFundsRunOutBeforeTheLastTicket() public {
        _fund(sender, 1.5 ether, 0);
        Batch memory b = _batch(3, recipient, FACE);
        for (uint256 i; i < 3; ++i) {
            b.ts[i] = _ticketWithRand(SENDER_KEY, recipient, FACE, i + 1, RAND_A);
            b.sigs[i] = _sign(SENDER_KEY, b.ts[i]);
            b.rands[i] = RAND_A;
        }
        assertFalse(_assertPathsAgree(b));
        (, bytes memory ret) = _callCompact(recipient, _encode(b));
        assertEq(
            keccak256(ret),
            keccak256(abi.encodeWithSelector(ITicketBroker.SenderFundsExhausted.selector, sender, _structHash(b.ts[2])))
        );
    }

    function test_compact_paysFromTheReserveWithinRoverN() public {
        _fund(sender, 0.5 ether, 8 ether);
        registry.set(recipient, uint64(START - 1), 4); // allowance 8 / 4 = 2
        Batch memory b = _batch(3, recipient, FACE);
        for (uint256 i; i < 3; ++i) {
            b.ts[i] = _ticketWithRand(SENDER_KEY, recipient, FACE, i + 1, RAND_A);
            b.sigs[i] = _sign(SENDER_KEY, b.ts[i]);
            b.rands[i] = RAND_A;
        }
        assertTrue(_assertPathsAgree(b));
        _callCompact(recipient, _encode(b));
        assertEq(broker.paidInEpoch(0, recipient), 2.5 ether, "deposit 0.5 + R/N 2");
        assertEq(broker.reserveClaimed(sender, recipient), 2 ether);
    }

    function test_compact_groupsOfOneSenderWithDifferentRands() public {
        _fund(sender, 100 ether, 0);
        Batch memory b = _batch(5, recipient, FACE);
        for (uint256 i; i < 5; ++i) {
            b.rands[i] = i < 3 ? RAND_A : RAND_B;
            b.ts[i] = _ticketWithRand(SENDER_KEY, recipient, FACE, 10 * (i + 1), b.rands[i]);
            b.sigs[i] = _sign(SENDER_KEY, b.ts[i]);
        }
        bytes memory data = _encode(b);
        assertEq(data.length, 2 * HEADER + 5 * TICKET, "two groups");
        assertTrue(_assertPathsAgree(b));
        _callCompact(recipient, data);
        assertEq(broker.lastNonce(sender, recipient), 50);
        (uint256 deposit,,) = broker.getSender(sender);
        assertEq(deposit, 95 ether);
    }

    function test_compact_aGroupHoldsUpTo255Tickets() public {
        _fund(sender, 1_000 ether, 0);
        Batch memory b;
        b.ts = new Ticket[](256);
        b.sigs = new bytes[](256);
        b.rands = new uint256[](256);
        for (uint256 i; i < 256; ++i) {
            b.ts[i] = _ticketWithRand(SENDER_KEY, recipient, FACE, i + 1, RAND_A);
            b.sigs[i] = _sign(SENDER_KEY, b.ts[i]);
            b.rands[i] = RAND_A;
        }
        bytes memory data = _encode(b);
        assertEq(data.length, 2 * HEADER + 256 * TICKET, "255 + 1");
        assertEq(uint8(data[20]), 255, "count of the first group");
        _callCompact(recipient, data);
        assertEq(broker.lastNonce(sender, recipient), 256);
        assertEq(broker.paidInEpoch(0, recipient), 256 ether);
    }

    // ------------------------------------------------------------ the same ticket errors

    function test_compact_revertsIfExpiredAndAcceptsAtTheExpirySecond() public {
        _fund(sender, 10 ether, 0);
        Batch memory b = _batch(1, recipient, FACE);
        uint64 expiry = b.ts[0].expiry;
        vm.warp(uint256(expiry) + 1);
        (bool ok, bytes memory ret) = _callCompact(recipient, _encode(b));
        assertFalse(ok);
        assertEq(
            keccak256(ret),
            keccak256(
                abi.encodeWithSelector(
                    ITicketBroker.TicketExpired.selector, _structHash(b.ts[0]), expiry, uint256(expiry) + 1
                )
            )
        );
        vm.warp(expiry);
        (ok,) = _callCompact(recipient, _encode(b));
        assertTrue(ok);
    }

    function test_compact_revertsIfLosing() public {
        _fund(sender, 10 ether, 0);
        Batch memory b = _batch(1, recipient, FACE);
        b.ts[0].winProb = 0;
        b.sigs[0] = _sign(SENDER_KEY, b.ts[0]);
        (, bytes memory ret) = _callCompact(recipient, _encode(b));
        assertEq(
            keccak256(ret),
            keccak256(abi.encodeWithSelector(ITicketBroker.TicketNotWinning.selector, _structHash(b.ts[0]), uint256(0)))
        );
    }

    function test_compact_winsIffDrawOfTheRebuiltSignatureIsBelowWinProb() public {
        _fund(sender, 100 ether, 0);
        uint256 wins;
        uint256 losses;
        for (uint256 nonce = 1; nonce <= 12; ++nonce) {
            Batch memory b = _batch(1, recipient, FACE);
            b.ts[0] = _ticketWithRand(SENDER_KEY, recipient, FACE, nonce, RAND_A);
            b.ts[0].winProb = 1 << 255;
            b.sigs[0] = _sign(SENDER_KEY, b.ts[0]);
            // The draw hashes the ordinary 65-byte signature, whatever the batch encoding.
            bool win = uint256(keccak256(abi.encodePacked(b.sigs[0], RAND_A))) < b.ts[0].winProb;
            (bool ok, bytes memory ret) = _callCompact(recipient, _encode(b));
            assertTrue(ok == win, "outcome is the draw's");
            if (win) {
                ++wins;
            } else {
                ++losses;
                assertEq(_selector(ret), ITicketBroker.TicketNotWinning.selector);
            }
        }
        assertGt(wins, 0);
        assertGt(losses, 0);
    }

    function test_compact_replayIsRefusedAcrossBothPaths() public {
        _fund(sender, 100 ether, 0);
        Batch memory b = _batch(1, recipient, FACE);
        (bool ok,) = _callCompact(recipient, _encode(b));
        assertTrue(ok);
        bytes memory used = abi.encodeWithSelector(ITicketBroker.TicketNonceUsed.selector, sender, recipient, 1, 1);
        bytes memory ret;
        (ok, ret) = _callCompact(recipient, _encode(b));
        assertEq(keccak256(ret), keccak256(used), "compact replay");
        (ok, ret) = _callFull(recipient, b);
        assertEq(keccak256(ret), keccak256(used), "full replay of a compact redemption");

        Batch memory c = _batch(1, recipient, FACE);
        c.ts[0] = _ticketWithRand(SENDER_KEY, recipient, FACE, 2, RAND_A);
        c.sigs[0] = _sign(SENDER_KEY, c.ts[0]);
        (ok,) = _callFull(recipient, c);
        assertTrue(ok);
        (ok, ret) = _callCompact(recipient, _encode(c));
        assertEq(
            keccak256(ret),
            keccak256(abi.encodeWithSelector(ITicketBroker.TicketNonceUsed.selector, sender, recipient, 2, 2)),
            "compact replay of a full redemption"
        );
    }

    function test_compact_revertsIfOutOfNonceOrderOrDuplicated() public {
        _fund(sender, 100 ether, 0);
        Batch memory b = _batch(2, recipient, FACE);
        for (uint256 i; i < 2; ++i) {
            b.ts[i] = _ticketWithRand(SENDER_KEY, recipient, FACE, 2 - i, RAND_A); // nonces 2, 1
            b.sigs[i] = _sign(SENDER_KEY, b.ts[i]);
            b.rands[i] = RAND_A;
        }
        (, bytes memory ret) = _callCompact(recipient, _encode(b));
        assertEq(
            keccak256(ret),
            keccak256(abi.encodeWithSelector(ITicketBroker.TicketNonceUsed.selector, sender, recipient, 1, 2))
        );
        b.ts[1] = b.ts[0];
        b.sigs[1] = b.sigs[0];
        (, ret) = _callCompact(recipient, _encode(b));
        assertEq(
            keccak256(ret),
            keccak256(abi.encodeWithSelector(ITicketBroker.TicketNonceUsed.selector, sender, recipient, 2, 2))
        );
    }

    // ------------------------------------------------------------ what the encoding cannot change

    /// @dev The recipient is the caller: another provider submitting these tickets rebuilds
    /// tickets with itself as recipient, which nobody signed.
    function test_compact_onlyTheCallersTicketsRedeem() public {
        _fund(sender, 10 ether, 0);
        Batch memory b = _batch(1, recipient, FACE);
        Ticket memory asSeen = b.ts[0];
        asSeen.recipient = recipient2;
        (bytes32 r, bytes32 s, uint8 v) = CompactBatchEncoder.split(b.sigs[0]);
        address recovered = ecrecover(_digest(asSeen), v, r, s);
        (bool ok, bytes memory ret) = _callCompact(recipient2, _encode(b));
        assertFalse(ok);
        assertEq(
            keccak256(ret),
            keccak256(abi.encodeWithSelector(ITicketBroker.InvalidSigner.selector, _structHash(asSeen), recovered, sender))
        );
        assertEq(broker.lastNonce(sender, recipient2), 0);
    }

    /// @dev recipientRandHash is keccak256 of the group's recipientRand: a wrong rand rebuilds a
    /// ticket nobody signed.
    function test_compact_wrongRecipientRandFailsTheSignerCheck() public {
        _fund(sender, 10 ether, 0);
        Batch memory b = _batch(1, recipient, FACE);
        b.rands[0] = RAND_B; // the ticket committed to RAND_A
        Ticket memory asSeen = b.ts[0];
        asSeen.recipientRandHash = keccak256(abi.encodePacked(RAND_B));
        (bytes32 r, bytes32 s, uint8 v) = CompactBatchEncoder.split(b.sigs[0]);
        (bool ok, bytes memory ret) = _callCompact(recipient, _encode(b));
        assertFalse(ok);
        assertEq(
            keccak256(ret),
            keccak256(
                abi.encodeWithSelector(
                    ITicketBroker.InvalidSigner.selector, _structHash(asSeen), ecrecover(_digest(asSeen), v, r, s), sender
                )
            )
        );
    }

    /// @dev Every single-bit change anywhere in a batch (header, signature, packed integers) is
    /// refused with one of the broker's custom errors, and nothing is paid.
    function test_compact_everyBitFlipIsRefused() public {
        _fund(sender, 10 ether, 0);
        _fund(sender2, 10 ether, 0);
        Batch memory b = _batch(3, recipient, FACE); // groups of 2 and 1 tickets
        bytes memory data = _encode(b);
        assertEq(data.length, 2 * HEADER + 3 * TICKET);
        uint256 before = token.balanceOf(recipient);
        for (uint256 i; i < data.length; ++i) {
            for (uint256 bit; bit < 8; bit += 7) {
                data[i] ^= bytes1(uint8(1 << bit));
                (bool ok, bytes memory ret) = _callCompact(recipient, data);
                data[i] ^= bytes1(uint8(1 << bit));
                assertFalse(ok, string.concat("flip accepted at byte ", vm.toString(i)));
                bytes4 sel = _selector(ret);
                assertTrue(
                    sel == ITicketBroker.InvalidSigner.selector || sel == ITicketBroker.InvalidSignature.selector
                        || sel == ITicketBroker.MalformedBatch.selector || sel == ITicketBroker.TicketNotWinning.selector
                        || sel == ITicketBroker.TicketExpired.selector,
                    string.concat("not a custom error at byte ", vm.toString(i))
                );
                // Anything but a count changes a signed field or the signature itself; a count
                // changes the layout (the last group's then runs past the end; the first one's
                // may swallow the next group's bytes as a ticket, which no signature covers).
                if (i == HEADER + 2 * TICKET + 20) assertTrue(sel == ITicketBroker.MalformedBatch.selector, "count flip");
            }
        }
        assertEq(token.balanceOf(recipient), before);
        assertEq(broker.lastNonce(sender, recipient), 0);
        (bool okClean,) = _callCompact(recipient, data);
        assertTrue(okClean, "the unflipped batch redeems");
    }

    /// @dev One signature, one encoding: the malleable twin (n - s, other v), a flipped parity
    /// bit, and zero or out-of-range r and s are all refused.
    function test_compact_signatureHasOneEncoding() public {
        _fund(sender, 10 ether, 0);
        Batch memory b = _batch(1, recipient, FACE);
        bytes memory data = _encode(b);
        (bytes32 r, bytes32 s, uint8 v) = CompactBatchEncoder.split(b.sigs[0]);
        uint256 parity = v - 27;
        uint256 twinS = SECP256K1_N - uint256(s); // > n/2
        // The twin fits the encoding only while n - s < 2^255; above, its top bit reads as parity.
        _expectRefused(data, r, bytes32(twinS | ((parity ^ 1) << 255)), twinS >> 255 == 0);
        _expectRefused(data, r, bytes32(uint256(s) | ((parity ^ 1) << 255)), false); // other parity
        _expectRefused(data, bytes32(0), bytes32(uint256(s) | (parity << 255)), true); // r = 0
        _expectRefused(data, bytes32(SECP256K1_N), bytes32(uint256(s) | (parity << 255)), true); // r = n
        _expectRefused(data, r, bytes32(parity << 255), true); // s = 0
        (bool ok,) = _callCompact(recipient, data);
        assertTrue(ok, "the canonical encoding redeems");
    }

    /// @dev Redeems `data` with its first ticket's r and yParityAndS replaced: it must revert with
    /// InvalidSignature (`invalid`), or else with InvalidSigner or InvalidSignature (some other
    /// key recovers, or none).
    function _expectRefused(bytes memory data, bytes32 r, bytes32 vs, bool invalid) internal {
        bytes memory bad = bytes.concat(data);
        uint256 sigAt = HEADER;
        assembly ("memory-safe") {
            mstore(add(add(bad, 0x20), sigAt), r)
            mstore(add(add(bad, 0x40), sigAt), vs)
        }
        (bool ok, bytes memory ret) = _callCompact(recipient, bad);
        assertFalse(ok, "refused");
        bytes4 sel = _selector(ret);
        if (invalid) {
            assertTrue(sel == ITicketBroker.InvalidSignature.selector, "InvalidSignature");
        } else {
            assertTrue(sel == ITicketBroker.InvalidSigner.selector || sel == ITicketBroker.InvalidSignature.selector);
        }
    }

    // ------------------------------------------------------------ malformed batches

    function test_compact_revertsIfEmpty() public {
        vm.prank(recipient);
        vm.expectRevert(ITicketBroker.EmptyBatch.selector);
        broker.redeemTicketsCompact("");
    }

    /// @dev Every prefix of a two-group batch that is not itself whole groups is MalformedBatch at
    /// the group that does not fit; nothing is read past the end.
    function test_compact_revertsOnEveryTruncation() public {
        _fund(sender, 10 ether, 0);
        _fund(sender2, 10 ether, 0);
        Batch memory b = _batch(3, recipient, FACE);
        bytes memory data = _encode(b);
        uint256 firstEnd = HEADER + 2 * TICKET;
        for (uint256 len = 1; len < data.length; ++len) {
            if (len == firstEnd) continue; // the first group alone is a valid batch
            (bool ok, bytes memory ret) = _callCompact(recipient, _slice(data, len));
            assertFalse(ok);
            uint256 offset = len < firstEnd ? 0 : firstEnd;
            assertEq(
                keccak256(ret),
                keccak256(abi.encodeWithSelector(ITicketBroker.MalformedBatch.selector, offset, len)),
                string.concat("truncated at ", vm.toString(len))
            );
        }
        (bool okFirst,) = _callCompact(recipient, _slice(data, firstEnd));
        assertTrue(okFirst, "whole groups redeem");
        assertEq(broker.lastNonce(sender, recipient), 2);
        assertEq(broker.lastNonce(sender2, recipient), 0);
    }

    function test_compact_revertsOnTrailingBytesAndEmptyGroups() public {
        _fund(sender, 10 ether, 0);
        Batch memory b = _batch(1, recipient, FACE);
        bytes memory data = _encode(b);
        for (uint256 extra = 1; extra <= HEADER; extra += 37) {
            bytes memory longer = bytes.concat(data, new bytes(extra));
            (, bytes memory ret) = _callCompact(recipient, longer);
            assertEq(
                keccak256(ret),
                keccak256(abi.encodeWithSelector(ITicketBroker.MalformedBatch.selector, data.length, longer.length))
            );
        }
        // A whole header that declares no ticket, first or after a valid group.
        bytes memory empty = CompactBatchEncoder.header(b.ts[0], 0, b.rands[0]);
        (, bytes memory ret0) = _callCompact(recipient, empty);
        assertEq(keccak256(ret0), keccak256(abi.encodeWithSelector(ITicketBroker.MalformedBatch.selector, 0, HEADER)));
        bytes memory tail = bytes.concat(data, empty);
        (, bytes memory ret1) = _callCompact(recipient, tail);
        assertEq(
            keccak256(ret1),
            keccak256(abi.encodeWithSelector(ITicketBroker.MalformedBatch.selector, data.length, tail.length))
        );
        // A count above the tickets present.
        bytes memory overcount = bytes.concat(data);
        overcount[20] = bytes1(uint8(2));
        (, bytes memory ret2) = _callCompact(recipient, overcount);
        assertEq(
            keccak256(ret2),
            keccak256(abi.encodeWithSelector(ITicketBroker.MalformedBatch.selector, 0, overcount.length))
        );
        assertEq(broker.lastNonce(sender, recipient), 0);
    }

    // ------------------------------------------------------------ the reader, on its own

    function test_decode_rebuildsTheEncodedTickets() public view {
        Batch memory b = _batch(5, recipient, FACE);
        b.ts[1].cumulativeBytes = type(uint64).max;
        b.ts[2].expiry = type(uint64).max;
        b.ts[2].senderNonce = type(uint64).max;
        (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands, bytes32[] memory hashes) =
            harness.decode(_encode(b), recipient);
        assertEq(ts.length, 5);
        for (uint256 i; i < 5; ++i) {
            assertEq(_structHash(ts[i]), _structHash(b.ts[i]), "ticket");
            assertEq(hashes[i], _structHash(b.ts[i]), "struct hash");
            assertEq(keccak256(sigs[i]), keccak256(b.sigs[i]), "65-byte signature");
            assertEq(rands[i], b.rands[i], "rand");
        }
    }

    function testFuzz_decode_roundTrip(uint256 seed, uint8 n) public view {
        n = uint8(bound(n, 1, 12));
        Batch memory b;
        b.ts = new Ticket[](n);
        b.sigs = new bytes[](n);
        b.rands = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 x = uint256(keccak256(abi.encode(seed, i)));
            // Every other ticket repeats its predecessor's group fields, so groups of 1 and more occur.
            if (i > 0 && x % 2 == 0) {
                b.ts[i] = b.ts[i - 1];
                b.rands[i] = b.rands[i - 1];
            } else {
                b.rands[i] = uint256(keccak256(abi.encode(x, "rand")));
                b.ts[i].recipient = recipient;
                b.ts[i].sender = address(uint160(x));
                b.ts[i].faceValue = uint256(keccak256(abi.encode(x, "face"))) >> (x % 256);
                b.ts[i].winProb = uint256(keccak256(abi.encode(x, "win")));
                b.ts[i].recipientRandHash = keccak256(abi.encodePacked(b.rands[i]));
                b.ts[i].sessionId = keccak256(abi.encode(x, "session"));
            }
            b.ts[i].senderNonce = uint64(x >> 64);
            b.ts[i].expiry = uint64(x >> 128);
            b.ts[i].cumulativeBytes = uint64(x >> 192);
            // Any low-s value and either parity: the reader does not check signatures.
            b.sigs[i] = abi.encodePacked(keccak256(abi.encode(x, "r")), uint256(keccak256(abi.encode(x, "s"))) >> 1, uint8(27 + (x & 1)));
        }
        (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands, bytes32[] memory hashes) =
            harness.decode(_encode(b), recipient);
        assertEq(ts.length, n);
        for (uint256 i; i < n; ++i) {
            assertEq(hashes[i], _structHash(b.ts[i]));
            assertEq(_structHash(ts[i]), _structHash(b.ts[i]));
            assertEq(keccak256(sigs[i]), keccak256(b.sigs[i]));
            assertEq(rands[i], b.rands[i]);
        }
    }

    // ------------------------------------------------------------ signature recovery

    /// @dev The broker's hand-rolled recovery (TicketLib.winAndSigner) accepts exactly what
    /// OpenZeppelin's ECDSA.tryRecover accepts, with the same signer, and never returns a signer
    /// for a malleable twin, a zero r or s, or a v other than 27/28 (address(0) is "refused");
    /// its draw is keccak256 of the 65 signature bytes and the rand.
    function testFuzz_winAndSigner_matchesOpenZeppelin(uint256 key, bytes32 r, bytes32 s, uint8 v, uint8 mode, uint256 rand)
        public
        view
    {
        Ticket memory t = _ticketWithRand(SENDER_KEY, recipient, FACE, 1, rand);
        t.winProb = 1 << 255; // about half win
        key = bound(key, 1, SECP256K1_N - 1);
        (uint8 sv, bytes32 sr, bytes32 ss) = vm.sign(key, _digest(t));
        mode %= 6;
        if (mode == 0) (v, r, s) = (sv, sr, ss); // valid
        if (mode == 1) (v, r, s) = (sv == 27 ? 28 : 27, sr, bytes32(SECP256K1_N - uint256(ss))); // twin
        if (mode == 2) (r, s) = (sr, ss); // valid r and s, any v
        if (mode == 3) (v, r) = (sv, bytes32(0)); // r = 0
        if (mode == 4) (v, r, s) = (sv, sr, bytes32(0)); // s = 0
        address signer = _checkAgainstOpenZeppelin(t, abi.encodePacked(r, s, v), rand);
        if (mode == 0) assertEq(signer, vm.addr(key), "valid");
        bool refused = mode == 1 || mode == 3 || mode == 4 || (mode == 2 && v != 27 && v != 28);
        if (refused || uint256(s) > SECP256K1_N / 2) assertEq(signer, address(0), "refused");
    }

    function _checkAgainstOpenZeppelin(Ticket memory t, bytes memory sig, uint256 rand) internal view returns (address) {
        (bool wins, address signer) = lib.winLikeBroker(_domainSeparator(), t, sig, rand);
        assertEq(signer, lib.recoverWithOpenZeppelin(_digest(t), sig), "as OpenZeppelin");
        assertTrue(wins == (uint256(keccak256(abi.encodePacked(sig, rand))) < t.winProb), "draw");
        return signer;
    }

    // ------------------------------------------------------------ differential, fuzzed

    /// @dev Random batches from two senders with random deposits, reserves, face values, nonce
    /// gaps, group changes, expired, losing and mis-signed tickets: the compact path does exactly
    /// what redeemTickets does (same success or same revert data, same state, same per-ticket pay).
    function testFuzz_compact_matchesRedeemTickets(uint256 seed, uint8 n, uint256 d1, uint256 d2, uint256 r1) public {
        _differential(seed, uint8(bound(n, 1, 10)), bound(d1, 1, 20 ether), bound(d2, 1, 20 ether), bound(r1, 0, 20 ether));
    }

    /// @dev Guards the fuzz test above against testing little: over fixed seeds, the random
    /// batches both redeem and revert, and revert for several reasons.
    function test_compact_differentialCoversSuccessAndEachFailure() public {
        uint256 okCount;
        bytes4[8] memory seen;
        uint256 kinds;
        for (uint256 seed; seed < 48; ++seed) {
            uint256 snapshot = vm.snapshotState();
            (bool ok, bytes4 sel) = _differential(seed, uint8(1 + seed % 10), 1 + seed * 0.7 ether, 3 ether, seed % 3 * 4 ether);
            vm.revertToState(snapshot);
            if (ok) {
                ++okCount;
                continue;
            }
            bool known;
            for (uint256 k; k < kinds; ++k) {
                if (seen[k] == sel) known = true;
            }
            if (!known && kinds < 8) seen[kinds++] = sel;
        }
        assertGt(okCount, 5);
        assertGe(kinds, 4); // expired, losing, mis-signed, funds exhausted
    }

    function _differential(uint256 seed, uint8 n, uint256 deposit1, uint256 deposit2, uint256 reserve1)
        internal
        returns (bool ok, bytes4 sel)
    {
        _fund(sender, deposit1, reserve1);
        _fund(sender2, deposit2, 0);
        registry.set(recipient, uint64(START - 1), 1 + seed % 3);
        vm.warp(START + 1 hours);
        Batch memory b;
        b.ts = new Ticket[](n);
        b.sigs = new bytes[](n);
        b.rands = new uint256[](n);
        uint256[2] memory nonces;
        for (uint256 i; i < n; ++i) {
            uint256 x = uint256(keccak256(abi.encode(seed, i)));
            uint256 who = (x >> 8) % 2;
            nonces[who] += 1 + (x >> 16) % 3;
            uint256 key = who == 0 ? SENDER_KEY : SENDER2_KEY;
            b.rands[i] = (x >> 24) % 4 == 0 ? RAND_B : RAND_A;
            uint256 face = (x >> 32) % 8 == 0 ? 1 + (x >> 40) % 10 ether : FACE;
            b.ts[i] = _ticketWithRand(key, recipient, face, nonces[who], b.rands[i]);
            if ((x >> 48) % 16 == 0) b.ts[i].expiry = uint64(START); // expired
            if ((x >> 52) % 16 == 0) b.ts[i].winProb = 1 << 255; // may lose
            b.sigs[i] = _sign((x >> 56) % 32 == 0 ? STRANGER_KEY : key, b.ts[i]);
        }
        ok = _assertPathsAgree(b);
        if (!ok) {
            (, bytes memory ret) = _callCompact(recipient, _encode(b));
            sel = _selector(ret);
        }
    }
}
