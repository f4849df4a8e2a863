// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {BandToken} from "../BandToken.sol";
import {TicketBroker} from "../TicketBroker.sol";
import {BrokerMockRegistry} from "./handlers/BrokerMockRegistry.sol";
import {BrokerHandler} from "./handlers/BrokerHandler.sol";

/// @notice Invariants of the broker under random funding, redemption, replays, unlocks,
/// withdrawals, registry churn and time: it holds exactly what it owes, every paid amount is split
/// exactly, no ticket pays twice, nothing leaves before the unlock period, no payout exceeds face
/// value, and the epoch ledger adds up to what was paid.
contract TicketBrokerInvariantTest is Test {
    BandToken internal token;
    BrokerMockRegistry internal registry;
    TicketBroker internal broker;
    BrokerHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        uint256[3] memory keys = [uint256(0xA11CE), 0xB0B, 0xCA401];
        address[] memory holders = new address[](3);
        uint256[] memory amounts = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            holders[i] = vm.addr(keys[i]);
            amounts[i] = 1_000_000 ether;
        }
        token = new BandToken("Bandmint", "BAND", 1_000_000_000 ether, address(0), holders, amounts);
        registry = new BrokerMockRegistry();
        broker = new TicketBroker(token, address(registry), address(0x7EA5), 1_000, 500, 2 days, 1 days, 0);
        handler = new BrokerHandler(broker, token, registry, keys);
        for (uint256 i; i < 3; ++i) {
            vm.prank(holders[i]);
            token.approve(address(broker), type(uint256).max);
        }
        registry.set(handler.recipientAt(0), uint64(block.timestamp - 1), 2);
        registry.set(handler.recipientAt(1), uint64(block.timestamp - 1), 2);
        targetContract(address(handler));
    }

    /// @dev Guards the handler itself: its actions must really redeem, pay and be replayable,
    /// or the invariants below would hold vacuously.
    function test_handler_exercisesRedeemReplayAndWithdraw() public {
        handler.fund(0, 5 ether, 1 ether);
        handler.redeem(0, 0, 1 ether, 3);
        assertEq(handler.redeemCalls(), 1, "redeemed");
        uint256 paid = handler.ghostPaid();
        assertGt(paid, 0);
        handler.replay(1 ether);
        assertEq(handler.ghostDoublePay(), 0);
        handler.fund(0, 5 ether, 0);
        handler.redeemCompact(0, 0, 1 ether, 3);
        assertEq(handler.compactCalls(), 1, "redeemed compact");
        assertGt(handler.ghostPaid(), paid);
        handler.replay(1 ether);
        assertEq(handler.ghostDoublePay(), 0);
        handler.unlock(0);
        handler.withdraw(0); // too early: refused
        handler.warp(2 days + 1);
        handler.withdraw(0);
        assertEq(handler.ghostEarlyWithdraw(), 0);
        (uint256 d, uint256 r,) = broker.getSender(handler.senderAt(0));
        assertEq(d + r, 0, "withdrawn");
        invariant_balanceEqualsFundsHeld();
        invariant_splitSumsToPaid();
    }

    function invariant_balanceEqualsFundsHeld() public view {
        (uint256 senders,) = handler.counts();
        uint256 held = broker.treasuryAccrued();
        for (uint256 i; i < senders; ++i) {
            (uint256 d, uint256 r,) = broker.getSender(handler.senderAt(i));
            held += d + r;
        }
        assertEq(token.balanceOf(address(broker)), held, "broker balance");
    }

    function invariant_splitSumsToPaid() public view {
        assertEq(handler.ghostSplitMismatch(), 0, "per-call split");
        assertEq(
            handler.ghostPaid(),
            handler.ghostBurned() + handler.ghostTreasury() + handler.ghostToRecipients(),
            "total split"
        );
    }

    function invariant_ticketPaysAtMostOnce() public view {
        assertEq(handler.ghostDoublePay(), 0);
    }

    function invariant_nothingWithdrawnBeforeUnlock() public view {
        assertEq(handler.ghostEarlyWithdraw(), 0, "early");
        assertEq(handler.ghostWithdrawWrongAmount(), 0, "amount");
    }

    function invariant_payoutNeverExceedsFaceValue() public view {
        assertEq(handler.ghostOverpay(), 0);
    }

    function invariant_ledgerMatchesPaidAndBurned() public view {
        uint256 paid;
        uint256 burned;
        for (uint256 e; e <= broker.currentEpoch(); ++e) {
            (uint256 p, uint256 b) = broker.epochTotals(e);
            paid += p;
            burned += b;
        }
        assertEq(paid, handler.ghostPaid(), "paid");
        assertEq(burned, handler.ghostBurned(), "burned");
    }

    /// @dev Each epoch's totals are the sums of the recipients' accounts (what Rewards shares by),
    /// and paidInEpoch reads the same paid value as epochAccount.
    function invariant_recipientAccountsSumToEpochTotals() public view {
        (, uint256 recipients) = handler.counts();
        for (uint256 e; e <= broker.currentEpoch(); ++e) {
            uint256 paid;
            uint256 burned;
            for (uint256 i; i < recipients; ++i) {
                address r = handler.recipientAt(i);
                (uint256 p, uint256 b) = broker.epochAccount(e, r);
                assertEq(p, broker.paidInEpoch(e, r), "paidInEpoch");
                assertLe(b, p);
                paid += p;
                burned += b;
            }
            (uint256 totalPaid, uint256 totalBurned) = broker.epochTotals(e);
            assertEq(paid, totalPaid, "paid");
            assertEq(burned, totalBurned, "burned");
        }
    }

    function invariant_reserveDrawsWithinAllowance() public view {
        (uint256 senders, uint256 recipients) = handler.counts();
        for (uint256 i; i < senders; ++i) {
            address s = handler.senderAt(i);
            (,,, uint256 allowance) = broker.getReserveFreeze(s);
            for (uint256 j; j < recipients; ++j) {
                assertLe(broker.reserveClaimed(s, handler.recipientAt(j)), allowance);
            }
        }
    }
}
