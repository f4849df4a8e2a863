// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {vm} from "./utils/Vm.sol";
import {TicketBrokerBase} from "./TicketBrokerBase.t.sol";
import {TicketBroker} from "../TicketBroker.sol";
import {Ticket} from "../interfaces/ITicketBroker.sol";

/// @notice Property tests: payouts, splits, the reserve bound and the unlock period over random inputs.
contract TicketBrokerFuzzTest is TicketBrokerBase {
    function testFuzz_redeem_paysAtMostFaceValue(uint256 face, uint256 deposit, uint256 reserve, uint256 providers)
        public
    {
        face = bound(face, 1, 1_000 ether);
        deposit = bound(deposit, 0, 1_000 ether);
        reserve = bound(reserve, 0, 1_000 ether);
        providers = bound(providers, 0, 50);
        vm.assume(deposit + reserve > 0);
        _fund(sender, deposit, reserve);
        registry.set(recipient, uint64(START - 1), providers);
        uint256 allowance = reserve / (providers == 0 ? 1 : providers);
        uint256 expected = face <= deposit ? face : deposit + _min(face - deposit, allowance);
        Ticket memory t = _ticket(SENDER_KEY, recipient, face, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient);
        if (expected == 0) {
            vm.expectRevert();
            broker.redeemTicket(t, sig, _rand(1));
            return;
        }
        broker.redeemTicket(t, sig, _rand(1));
        assertEq(broker.paidInEpoch(0, recipient), expected, "paid");
        // A partly paid ticket burns the floor of what it paid, not of its face value.
        (uint256 p, uint256 b) = broker.epochAccount(0, recipient);
        assertEq(p, expected, "account paid");
        assertEq(b, expected * BURN_BPS / 10_000, "account burned");
        assertLe(expected, face);
        (uint256 d, uint256 r,) = broker.getSender(sender);
        assertEq(deposit + reserve - d - r, expected, "taken from sender");
    }

    function testFuzz_split_sumsToPaid(uint16 burnBps, uint16 treasuryBps, uint256 face) public {
        burnBps = uint16(bound(burnBps, 0, 10_000));
        treasuryBps = uint16(bound(treasuryBps, 0, 10_000 - burnBps));
        face = bound(face, 1, 100_000 ether);
        broker = new TicketBroker(token, address(registry), treasury, burnBps, treasuryBps, 1 days, 1 days, 0);
        vm.prank(sender);
        token.approve(address(broker), type(uint256).max);
        _fund(sender, face * 3, 0);
        uint256 supply = token.totalSupply();
        // Three tickets in one batch: per-ticket rounding, summed.
        Ticket[] memory ts = new Ticket[](3);
        bytes[] memory sigs = new bytes[](3);
        uint256[] memory rands = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            ts[i] = _ticket(SENDER_KEY, recipient, face, i + 1);
            sigs[i] = _sign(SENDER_KEY, ts[i]);
            rands[i] = _rand(i + 1);
        }
        vm.prank(recipient);
        broker.redeemTickets(ts, sigs, rands);
        uint256 burned = supply - token.totalSupply();
        assertEq(burned, 3 * (face * burnBps / 10_000), "burn rounds down per ticket");
        assertEq(broker.treasuryAccrued(), 3 * (face * treasuryBps / 10_000), "treasury rounds down per ticket");
        assertEq(burned + broker.treasuryAccrued() + token.balanceOf(recipient), 3 * face, "sums to paid");
        (, uint256 ledgerBurned) = broker.epochTotals(0);
        assertEq(ledgerBurned, burned);
        (uint256 accountPaid, uint256 accountBurned) = broker.epochAccount(0, recipient);
        assertEq(accountPaid, 3 * face);
        assertEq(accountBurned, burned);
    }

    function testFuzz_reserve_boundHoldsAcrossRecipients(uint256 reserve, uint256 providers, uint256 face) public {
        reserve = bound(reserve, 1 ether, 1_000 ether);
        providers = bound(providers, 1, 6);
        face = bound(face, 1, 2_000 ether);
        _fund(sender, 0, reserve);
        address[6] memory rs = [address(0x1001), address(0x1002), address(0x1003), address(0x1004), address(0x1005), address(0x1006)];
        for (uint256 i; i < providers; ++i) {
            registry.set(rs[i], uint64(START - 1), providers);
        }
        uint256 allowance = reserve / providers;
        uint256 total;
        for (uint256 i; i < providers; ++i) {
            Ticket memory t = _ticket(SENDER_KEY, rs[i], face, 1);
            bytes memory sig = _sign(SENDER_KEY, t);
            vm.prank(rs[i]);
            if (allowance == 0) {
                vm.expectRevert();
                broker.redeemTicket(t, sig, _rand(1));
                continue;
            }
            broker.redeemTicket(t, sig, _rand(1));
            uint256 got = broker.paidInEpoch(0, rs[i]);
            // Every eligible provider gets min(W, R/N): its loss is at most W - R/N.
            assertEq(got, _min(face, allowance), "min(W, R/N)");
            total += got;
        }
        assertLe(total, reserve);
    }

    function testFuzz_withdraw_onlyAfterUnlockPeriod(uint256 wait) public {
        wait = bound(wait, 0, 2 * UNLOCK_PERIOD);
        _fund(sender, 1 ether, 1 ether);
        vm.prank(sender);
        broker.unlock();
        vm.warp(START + wait);
        uint256 before = token.balanceOf(sender);
        vm.prank(sender);
        if (wait < UNLOCK_PERIOD) {
            vm.expectRevert();
            broker.withdraw();
            assertEq(token.balanceOf(sender), before);
        } else {
            broker.withdraw();
            assertEq(token.balanceOf(sender), before + 2 ether);
        }
    }

    function testFuzz_redeem_expiryBoundary(uint256 dt) public {
        dt = bound(dt, 0, 2 days);
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.warp(START + dt);
        vm.prank(recipient);
        if (START + dt > t.expiry) {
            vm.expectRevert();
            broker.redeemTicket(t, sig, _rand(1));
        } else {
            broker.redeemTicket(t, sig, _rand(1));
            assertEq(broker.lastNonce(sender, recipient), 1);
        }
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
