// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {vm} from "./utils/Vm.sol";
import {TicketBrokerBase} from "./TicketBrokerBase.t.sol";
import {TicketBroker} from "../TicketBroker.sol";
import {ITicketBroker, Ticket} from "../interfaces/ITicketBroker.sol";

/// @notice Unit tests: one behaviour per test, every external function and every revert path.
contract TicketBrokerTest is TicketBrokerBase {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    // ------------------------------------------------------------ constructor and views

    function test_constructor_setsParameters() public view {
        assertEq(address(broker.token()), address(token));
        assertEq(address(broker.registry()), address(registry));
        assertEq(broker.treasury(), treasury);
        assertEq(broker.burnBps(), BURN_BPS);
        assertEq(broker.treasuryBps(), TREASURY_BPS);
        assertEq(broker.unlockPeriod(), UNLOCK_PERIOD);
        assertEq(broker.epochLength(), EPOCH_LENGTH);
        assertEq(broker.genesisTime(), START, "genesis 0 means deploy time");
        assertEq(broker.currentEpoch(), 0);
        assertEq(broker.domainSeparator(), _domainSeparator());
    }

    function test_constructor_revertsIfFeeSharesAbove100Percent() public {
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.InvalidFeeShares.selector, uint16(6_000), uint16(4_001)));
        new TicketBroker(token, address(registry), treasury, 6_000, 4_001, 1, 1, 0);
    }

    function test_constructor_acceptsFeeSharesOfExactly100Percent() public {
        TicketBroker b = new TicketBroker(token, address(registry), treasury, 6_000, 4_000, 1, 1, 0);
        assertEq(b.burnBps() + b.treasuryBps(), 10_000);
    }

    function test_constructor_revertsIfEpochLengthZero() public {
        vm.expectRevert(ITicketBroker.ZeroEpochLength.selector);
        new TicketBroker(token, address(registry), treasury, 0, 0, 1, 0, 0);
    }

    function test_constructor_revertsIfZeroAddress() public {
        vm.expectRevert(ITicketBroker.ZeroAddress.selector);
        new TicketBroker(token, address(registry), address(0), 0, 0, 1, 1, 0);
    }

    function test_currentEpoch_advancesWithTimeAndIsZeroBeforeGenesis() public {
        vm.warp(START + 3 * EPOCH_LENGTH + 5);
        assertEq(broker.currentEpoch(), 3);
        TicketBroker future = new TicketBroker(token, address(registry), treasury, 0, 0, 1, 100, uint64(START + 1e6));
        assertEq(future.currentEpoch(), 0);
        assertEq(future.genesisTime(), START + 1e6);
    }

    function test_hashTicket_matchesEip712() public view {
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        assertEq(broker.hashTicket(t), _structHash(t));
        assertEq(broker.ticketDigest(t), _digest(t));
    }

    // ------------------------------------------------------------ funding

    function test_fundDeposit_creditsAndPulls() public {
        vm.expectEmit(true, false, false, true, address(broker));
        emit ITicketBroker.DepositFunded(sender, 5 ether, 5 ether);
        vm.prank(sender);
        broker.fundDeposit(5 ether);
        (uint256 deposit, uint256 reserve, uint64 withdrawTime) = broker.getSender(sender);
        assertEq(deposit, 5 ether);
        assertEq(reserve, 0);
        assertEq(withdrawTime, 0);
        assertEq(token.balanceOf(address(broker)), 5 ether);
        assertEq(token.balanceOf(sender), SENDER_FUNDS - 5 ether);
    }

    function test_fundReserve_creditsAndPulls() public {
        vm.prank(sender);
        broker.fundReserve(3 ether);
        (uint256 deposit, uint256 reserve,) = broker.getSender(sender);
        assertEq(deposit, 0);
        assertEq(reserve, 3 ether);
        assertEq(token.balanceOf(address(broker)), 3 ether);
    }

    function test_fundDepositAndReserve_creditsBoth() public {
        _fund(sender, 2 ether, 7 ether);
        _fund(sender, 1 ether, 1 ether);
        (uint256 deposit, uint256 reserve,) = broker.getSender(sender);
        assertEq(deposit, 3 ether);
        assertEq(reserve, 8 ether);
        assertEq(token.balanceOf(address(broker)), 11 ether);
    }

    function test_fund_revertsIfZeroAmount() public {
        vm.prank(sender);
        vm.expectRevert(ITicketBroker.ZeroAmount.selector);
        broker.fundDepositAndReserve(0, 0);
    }

    function test_fund_revertsWithoutAllowance() public {
        address poor = address(0x9001);
        vm.prank(sender);
        token.transfer(poor, 1 ether);
        vm.prank(poor);
        vm.expectRevert();
        broker.fundDeposit(1 ether);
    }

    function _permitSig(uint256 key, uint256 value, uint256 deadline) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        address owner = vm.addr(key);
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, address(broker), value, token.nonces(owner), deadline));
        (v, r, s) = vm.sign(key, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
    }

    function _freshHolder(uint256 key, uint256 amount) internal returns (address who) {
        who = vm.addr(key);
        vm.prank(sender);
        token.transfer(who, amount);
    }

    function test_fundWithPermit_fundsWithoutPriorApprove() public {
        address who = _freshHolder(STRANGER_KEY, 10 ether);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(STRANGER_KEY, 6 ether, deadline);
        vm.prank(who);
        broker.fundDepositAndReserveWithPermit(4 ether, 2 ether, deadline, v, r, s);
        (uint256 deposit, uint256 reserve,) = broker.getSender(who);
        assertEq(deposit, 4 ether);
        assertEq(reserve, 2 ether);
        assertEq(token.balanceOf(who), 4 ether);
    }

    function test_fundWithPermit_toleratesFrontRunPermit() public {
        address who = _freshHolder(STRANGER_KEY, 10 ether);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(STRANGER_KEY, 6 ether, deadline);
        // Someone replays the permit from the mempool first: ours then fails, the allowance stays.
        token.permit(who, address(broker), 6 ether, deadline, v, r, s);
        vm.prank(who);
        broker.fundDepositAndReserveWithPermit(4 ether, 2 ether, deadline, v, r, s);
        (uint256 deposit,,) = broker.getSender(who);
        assertEq(deposit, 4 ether);
    }

    function test_fundWithPermit_revertsIfPermitInvalidAndNoAllowance() public {
        address who = _freshHolder(STRANGER_KEY, 10 ether);
        uint256 deadline = block.timestamp + 1 hours;
        // Signed for a smaller value than the call pulls.
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(STRANGER_KEY, 1 ether, deadline);
        vm.prank(who);
        vm.expectRevert();
        broker.fundDepositAndReserveWithPermit(4 ether, 2 ether, deadline, v, r, s);
    }

    // ------------------------------------------------------------ unlock and withdraw

    function test_unlock_setsWithdrawTime() public {
        _fund(sender, 1 ether, 1 ether);
        vm.expectEmit(true, false, false, true, address(broker));
        emit ITicketBroker.UnlockStarted(sender, uint64(START + UNLOCK_PERIOD));
        vm.prank(sender);
        broker.unlock();
        (,, uint64 withdrawTime) = broker.getSender(sender);
        assertEq(withdrawTime, START + UNLOCK_PERIOD);
    }

    function test_unlock_revertsIfAlreadyUnlocking() public {
        vm.startPrank(sender);
        broker.unlock();
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.AlreadyUnlocking.selector, sender, uint64(START + UNLOCK_PERIOD))
        );
        broker.unlock();
        vm.stopPrank();
    }

    function test_cancelUnlock_clearsWithdrawTime() public {
        vm.startPrank(sender);
        broker.unlock();
        broker.cancelUnlock();
        vm.stopPrank();
        (,, uint64 withdrawTime) = broker.getSender(sender);
        assertEq(withdrawTime, 0);
        vm.warp(START + UNLOCK_PERIOD);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.NotUnlocking.selector, sender));
        broker.withdraw();
    }

    function test_cancelUnlock_revertsIfNotUnlocking() public {
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.NotUnlocking.selector, sender));
        broker.cancelUnlock();
    }

    function test_withdraw_revertsIfNotUnlocking() public {
        _fund(sender, 1 ether, 0);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.NotUnlocking.selector, sender));
        broker.withdraw();
    }

    function test_withdraw_revertsBeforeUnlockPeriod() public {
        _fund(sender, 1 ether, 0);
        vm.prank(sender);
        broker.unlock();
        uint64 withdrawTime = uint64(START + UNLOCK_PERIOD);
        vm.warp(withdrawTime - 1);
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.UnlockPending.selector, sender, withdrawTime, uint256(withdrawTime - 1))
        );
        broker.withdraw();
    }

    function test_withdraw_paysEverythingAndClears() public {
        _fund(sender, 3 ether, 2 ether);
        // Freeze the reserve first, so the clear is observable on the freeze too.
        registry.set(recipient, uint64(START - 1), 1);
        Ticket memory t = _ticket(SENDER_KEY, recipient, 4 ether, 1);
        _redeem(SENDER_KEY, t);
        (uint64 freezeTime,,,) = broker.getReserveFreeze(sender);
        assertEq(freezeTime, START);

        vm.prank(sender);
        broker.unlock();
        vm.warp(START + UNLOCK_PERIOD); // exactly the withdraw time
        uint256 before = token.balanceOf(sender);
        vm.expectEmit(true, false, false, true, address(broker));
        emit ITicketBroker.Withdrawn(sender, 0, 1 ether);
        vm.prank(sender);
        broker.withdraw();
        assertEq(token.balanceOf(sender), before + 1 ether);
        (uint256 deposit, uint256 reserve, uint64 withdrawTime) = broker.getSender(sender);
        assertEq(deposit + reserve + withdrawTime, 0);
        uint256 allowance;
        (freezeTime,,, allowance) = broker.getReserveFreeze(sender);
        assertEq(uint256(freezeTime) + allowance, 0);
        assertEq(broker.reserveClaimed(sender, recipient), 0);
    }

    function test_fund_whileUnlockingKeepsTheUnlock() public {
        _fund(sender, 1 ether, 0);
        vm.prank(sender);
        broker.unlock();
        _fund(sender, 1 ether, 1 ether);
        (uint256 deposit, uint256 reserve, uint64 withdrawTime) = broker.getSender(sender);
        assertEq(withdrawTime, START + UNLOCK_PERIOD);
        assertEq(deposit, 2 ether);
        assertEq(reserve, 1 ether);
    }

    function test_redeem_worksWhileSenderUnlocking() public {
        _fund(sender, 2 ether, 0);
        vm.prank(sender);
        broker.unlock();
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, FACE, 1));
        (uint256 deposit,,) = broker.getSender(sender);
        assertEq(deposit, 1 ether);
    }

    // ------------------------------------------------------------ redeem: success

    function test_redeem_paysSplitsAndRecords() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        uint256 supply = token.totalSupply();

        vm.expectEmit(true, true, false, true, address(broker));
        emit ITicketBroker.TicketRedeemed(_structHash(t), sender, 1, FACE);
        vm.expectEmit(true, true, false, true, address(broker));
        emit ITicketBroker.TicketsRedeemed(recipient, 0, FACE, 0.1 ether, 0.05 ether);
        vm.prank(recipient);
        broker.redeemTicket(t, sig, _rand(1));

        assertEq(token.balanceOf(recipient), 0.85 ether, "recipient share");
        assertEq(token.totalSupply(), supply - 0.1 ether, "burned");
        assertEq(broker.treasuryAccrued(), 0.05 ether, "treasury");
        (uint256 deposit,,) = broker.getSender(sender);
        assertEq(deposit, 9 ether);
        assertEq(broker.lastNonce(sender, recipient), 1);
        assertEq(broker.paidInEpoch(0, recipient), FACE);
        (uint256 paid, uint256 burned) = broker.epochTotals(0);
        assertEq(paid, FACE);
        assertEq(burned, 0.1 ether);
        (paid, burned) = broker.epochAccount(0, recipient);
        assertEq(paid, FACE);
        assertEq(burned, 0.1 ether);
        assertEq(token.balanceOf(address(broker)), 9 ether + 0.05 ether);
    }

    function test_redeem_acceptsAtExactExpiry() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        vm.warp(t.expiry);
        _redeem(SENDER_KEY, t);
        assertEq(broker.lastNonce(sender, recipient), 1);
    }

    function test_redeem_recordsInTheCurrentEpoch() public {
        _fund(sender, 10 ether, 0);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, FACE, 1));
        vm.warp(START + 2 * EPOCH_LENGTH);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, 2 ether, 2));
        assertEq(broker.paidInEpoch(0, recipient), FACE);
        assertEq(broker.paidInEpoch(2, recipient), 2 ether);
        (uint256 paid,) = broker.epochTotals(2);
        assertEq(paid, 2 ether);
        (uint256 p, uint256 b) = broker.epochAccount(2, recipient);
        assertEq(p, 2 ether);
        assertEq(b, 0.2 ether);
        (p, b) = broker.epochAccount(1, recipient);
        assertEq(p, 0);
        assertEq(b, 0);
    }

    /// @dev What Rewards shares by: each recipient's burned value is the sum of its tickets'
    /// floored burns (dust below 10000 / burnBps wei burns 0, a partly paid ticket burns the floor
    /// of what it paid), kept apart per recipient in one epoch, and the epoch's totals are the sums.
    function test_redeem_recordsPaidAndBurnedPerRecipient() public {
        _fund(sender, 1 ether + 9 + 25 + 33, 0);
        Ticket[] memory ts = new Ticket[](4);
        bytes[] memory sigs = new bytes[](4);
        uint256[] memory rands = new uint256[](4);
        uint256[4] memory faces = [uint256(1 ether), 9, 25, 50]; // the last is paid 33 of 50
        for (uint256 i; i < 4; ++i) {
            ts[i] = _ticket(SENDER_KEY, recipient, faces[i], i + 1);
            sigs[i] = _sign(SENDER_KEY, ts[i]);
            rands[i] = _rand(i + 1);
        }
        vm.prank(recipient);
        broker.redeemTickets(ts, sigs, rands);
        // burnBps 1000: 0.1 ether + floor(0.9) + floor(2.5) + floor(3.3) = 0.1 ether + 0 + 2 + 3.
        (uint256 p, uint256 b) = broker.epochAccount(0, recipient);
        assertEq(p, 1 ether + 9 + 25 + 33);
        assertEq(b, 0.1 ether + 5);
        assertEq(broker.paidInEpoch(0, recipient), p);

        _fund(sender, 9, 0);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient2, 9, 1)); // dust: burns nothing
        (p, b) = broker.epochAccount(0, recipient2);
        assertEq(p, 9);
        assertEq(b, 0);
        (p, b) = broker.epochTotals(0);
        assertEq(p, 1 ether + 9 + 25 + 33 + 9);
        assertEq(b, 0.1 ether + 5);
    }

    function test_redeem_acceptsNonceGaps() public {
        _fund(sender, 10 ether, 0);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, FACE, 5));
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, FACE, 900));
        assertEq(broker.lastNonce(sender, recipient), 900);
    }

    function test_redeem_watermarkIsPerPair() public {
        _fund(sender, 10 ether, 0);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, FACE, 7));
        // Same sender, other recipient, lower nonce: a different pair.
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient2, FACE, 3));
        assertEq(broker.lastNonce(sender, recipient), 7);
        assertEq(broker.lastNonce(sender, recipient2), 3);
    }

    // ------------------------------------------------------------ redeem: reverts

    function test_redeem_revertsIfNotRecipient() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient2);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.NotTicketRecipient.selector, _structHash(t), recipient, recipient2)
        );
        broker.redeemTicket(t, sig, _rand(1));
    }

    function test_redeem_revertsIfWrongRecipientRand() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITicketBroker.InvalidRecipientRand.selector, _structHash(t), _rand(2), t.recipientRandHash
            )
        );
        broker.redeemTicket(t, sig, _rand(2));
    }

    function test_redeem_revertsIfExpired() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.warp(uint256(t.expiry) + 1);
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.TicketExpired.selector, _structHash(t), t.expiry, uint256(t.expiry) + 1)
        );
        broker.redeemTicket(t, sig, _rand(1));
    }

    function test_redeem_revertsIfSignedByOtherKey() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(STRANGER_KEY, t);
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.InvalidSigner.selector, _structHash(t), vm.addr(STRANGER_KEY), sender)
        );
        broker.redeemTicket(t, sig, _rand(1));
    }

    function test_redeem_revertsIfTicketAlteredAfterSigning() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        t.faceValue = 5 ether; // the recipient inflates the face value
        vm.prank(recipient);
        vm.expectRevert(); // recovers some other address: InvalidSigner
        broker.redeemTicket(t, sig, _rand(1));
        assertEq(broker.lastNonce(sender, recipient), 0);
    }

    function test_redeem_revertsIfSignature64Bytes() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SENDER_KEY, _digest(t));
        // EIP-2098 compact form: yParity folded into the top bit of s.
        bytes32 vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        bytes memory compact = abi.encodePacked(r, vs);
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.InvalidSignatureLength.selector, _structHash(t), uint256(64))
        );
        broker.redeemTicket(t, compact, _rand(1));
    }

    function test_redeem_revertsIfHighS() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SENDER_KEY, _digest(t));
        // The malleated twin (n - s, flipped v) recovers the same signer through ecrecover.
        bytes memory twin = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        assertEq(ecrecover(_digest(t), v == 27 ? 28 : 27, r, bytes32(SECP256K1_N - uint256(s))), sender);
        vm.prank(recipient);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.InvalidSignature.selector, _structHash(t)));
        broker.redeemTicket(t, twin, _rand(1));
    }

    function test_redeem_revertsIfVIsZeroOrOne() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SENDER_KEY, _digest(t));
        bytes memory raw = abi.encodePacked(r, s, v - 27);
        vm.prank(recipient);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.InvalidSignature.selector, _structHash(t)));
        broker.redeemTicket(t, raw, _rand(1));
    }

    function test_redeem_revertsIfLosing() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        t.winProb = 0; // never wins
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.TicketNotWinning.selector, _structHash(t), uint256(0)));
        broker.redeemTicket(t, sig, _rand(1));
    }

    function test_redeem_winsIffDrawBelowWinProb() public {
        _fund(sender, 100 ether, 0);
        uint256 wins;
        uint256 losses;
        // winProb = 2^255: about half win; each outcome must match the draw exactly.
        for (uint256 nonce = 1; nonce <= 12; ++nonce) {
            Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, nonce);
            t.winProb = 1 << 255;
            bytes memory sig = _sign(SENDER_KEY, t);
            uint256 draw = uint256(keccak256(abi.encodePacked(sig, _rand(nonce))));
            vm.prank(recipient);
            if (draw < t.winProb) {
                broker.redeemTicket(t, sig, _rand(nonce));
                assertEq(broker.lastNonce(sender, recipient), nonce);
                ++wins;
            } else {
                vm.expectRevert(
                    abi.encodeWithSelector(ITicketBroker.TicketNotWinning.selector, _structHash(t), t.winProb)
                );
                broker.redeemTicket(t, sig, _rand(nonce));
                ++losses;
            }
        }
        assertGt(wins, 0);
        assertGt(losses, 0);
        assertEq(broker.paidInEpoch(0, recipient), wins * FACE);
    }

    function test_redeem_revertsIfTicketUsed() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient);
        broker.redeemTicket(t, sig, _rand(1));
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.TicketNonceUsed.selector, sender, recipient, uint256(1), uint256(1))
        );
        broker.redeemTicket(t, sig, _rand(1));
    }

    function test_redeem_revertsIfLowerNonceAfterHigher() public {
        _fund(sender, 10 ether, 0);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, FACE, 5));
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 4);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.TicketNonceUsed.selector, sender, recipient, uint256(4), uint256(5))
        );
        broker.redeemTicket(t, sig, _rand(4));
    }

    function test_redeem_revertsIfNonceZero() public {
        _fund(sender, 10 ether, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 0);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.TicketNonceUsed.selector, sender, recipient, uint256(0), uint256(0))
        );
        broker.redeemTicket(t, sig, _rand(0));
    }

    function test_redeem_revertsIfSenderHasNothing() public {
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.SenderFundsExhausted.selector, sender, _structHash(t)));
        broker.redeemTicket(t, sig, _rand(1));
        // Still redeemable after a refill.
        _fund(sender, 1 ether, 0);
        vm.prank(recipient);
        broker.redeemTicket(t, sig, _rand(1));
        assertEq(broker.paidInEpoch(0, recipient), FACE);
    }

    // ------------------------------------------------------------ reserve

    function test_redeem_paysPartlyFromDepositWhenShort() public {
        _fund(sender, 0.4 ether, 0);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, FACE, 1));
        assertEq(broker.paidInEpoch(0, recipient), 0.4 ether);
        (uint256 deposit,,) = broker.getSender(sender);
        assertEq(deposit, 0);
    }

    function test_redeem_drawsReserveBoundedByRoverN() public {
        // R = 8, N = 4: each eligible recipient may take at most 2 from the reserve.
        _fund(sender, 0.5 ether, 8 ether);
        registry.set(recipient2, uint64(START - 10), 4);
        registry.set(recipient, uint64(START - 10), 4);
        Ticket memory t = _ticket(SENDER_KEY, recipient, 5 ether, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.expectEmit(true, false, false, true, address(broker));
        emit ITicketBroker.ReserveFrozen(sender, 8 ether, 4, 2 ether);
        vm.prank(recipient);
        broker.redeemTicket(t, sig, _rand(1));
        assertEq(broker.paidInEpoch(0, recipient), 2.5 ether, "deposit + R/N");
        assertEq(broker.reserveClaimed(sender, recipient), 2 ether);
        assertEq(broker.claimableReserve(sender, recipient), 0);
        (uint64 freezeTime, uint256 r, uint256 n, uint256 allowance) = broker.getReserveFreeze(sender);
        assertEq(freezeTime, START);
        assertEq(r, 8 ether);
        assertEq(n, 4);
        assertEq(allowance, 2 ether);

        // The allowance is spent: a further ticket from this pair pays nothing and reverts.
        Ticket memory t2 = _ticket(SENDER_KEY, recipient, FACE, 2);
        bytes memory sig2 = _sign(SENDER_KEY, t2);
        vm.prank(recipient);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.SenderFundsExhausted.selector, sender, _structHash(t2)));
        broker.redeemTicket(t2, sig2, _rand(2));

        // Another eligible recipient still gets its own R/N, even with more providers active now.
        registry.setCount(100);
        assertEq(broker.claimableReserve(sender, recipient2), 2 ether);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient2, 5 ether, 1));
        assertEq(broker.paidInEpoch(0, recipient2), 2 ether);
        (, uint256 reserve,) = broker.getSender(sender);
        assertEq(reserve, 4 ether);
    }

    function test_redeem_ineligibleRecipientGetsNothingFromReserve() public {
        _fund(sender, 0.5 ether, 8 ether);
        registry.setCount(1); // recipient not active
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, 5 ether, 1));
        assertEq(broker.paidInEpoch(0, recipient), 0.5 ether, "deposit only");
        (, uint256 reserve,) = broker.getSender(sender);
        assertEq(reserve, 8 ether);
        // The attempt froze the reserve at R = 8, N = 1.
        (uint64 freezeTime,,, uint256 allowance) = broker.getReserveFreeze(sender);
        assertEq(freezeTime, START);
        assertEq(allowance, 8 ether);
    }

    function test_redeem_recipientActiveSinceFreezeIsIneligible() public {
        _fund(sender, 0, 8 ether);
        registry.set(recipient, uint64(START), 1); // registered in the freeze block itself
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.SenderFundsExhausted.selector, sender, _structHash(t)));
        broker.redeemTicket(t, sig, _rand(1));
    }

    function test_redeem_recipientRegisteredAfterFreezeIsIneligible() public {
        _fund(sender, 0, 8 ether);
        registry.set(recipient, uint64(START - 1), 2);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, FACE, 1)); // freezes at START
        vm.warp(START + 100);
        registry.set(recipient2, uint64(START + 50), 3);
        assertEq(broker.claimableReserve(sender, recipient2), 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient2, FACE, 1);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient2);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.SenderFundsExhausted.selector, sender, _structHash(t)));
        broker.redeemTicket(t, sig, _rand(1));
    }

    function test_redeem_revertsIfDepositAndReserveExhausted() public {
        _fund(sender, 1 ether, 1 ether);
        registry.set(recipient, uint64(START - 1), 1);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, 5 ether, 1));
        assertEq(broker.paidInEpoch(0, recipient), 2 ether);
        (uint256 deposit, uint256 reserve,) = broker.getSender(sender);
        assertEq(deposit + reserve, 0);
        Ticket memory t = _ticket(SENDER_KEY, recipient, FACE, 2);
        bytes memory sig = _sign(SENDER_KEY, t);
        vm.prank(recipient);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.SenderFundsExhausted.selector, sender, _structHash(t)));
        broker.redeemTicket(t, sig, _rand(2));
    }

    function test_redeem_zeroProvidersCountsAsOne() public {
        _fund(sender, 0, 3 ether);
        registry.set(recipient, uint64(START - 1), 0);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, 5 ether, 1));
        assertEq(broker.paidInEpoch(0, recipient), 3 ether);
    }

    function test_claimableReserve_beforeFreezeIsReserveOverN() public {
        _fund(sender, 0, 9 ether);
        registry.set(recipient, uint64(START - 1), 3);
        assertEq(broker.claimableReserve(sender, recipient), 3 ether);
        assertEq(broker.claimableReserve(sender, recipient2), 0, "inactive");
        assertEq(broker.claimableReserve(sender2, recipient), 0, "no reserve");
    }

    // ------------------------------------------------------------ batches

    function _batch(uint256 n, uint256 senders)
        internal
        view
        returns (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands)
    {
        ts = new Ticket[](n);
        sigs = new bytes[](n);
        rands = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 key = (i % senders == 0) ? SENDER_KEY : SENDER2_KEY;
            ts[i] = _ticket(key, recipient, FACE, i + 1);
            sigs[i] = _sign(key, ts[i]);
            rands[i] = _rand(i + 1);
        }
    }

    function test_redeemTickets_paysManyTicketsFromSeveralSenders() public {
        _fund(sender, 100 ether, 0);
        _fund(sender2, 100 ether, 0);
        (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands) = _batch(8, 2);
        uint256 supply = token.totalSupply();
        vm.prank(recipient);
        broker.redeemTickets(ts, sigs, rands);
        assertEq(token.balanceOf(recipient), 8 * 0.85 ether);
        assertEq(token.totalSupply(), supply - 8 * 0.1 ether);
        assertEq(broker.treasuryAccrued(), 8 * 0.05 ether);
        (uint256 d1,,) = broker.getSender(sender);
        (uint256 d2,,) = broker.getSender(sender2);
        assertEq(d1, 96 ether);
        assertEq(d2, 96 ether);
        assertEq(broker.lastNonce(sender, recipient), 7);
        assertEq(broker.lastNonce(sender2, recipient), 8);
        assertEq(broker.paidInEpoch(0, recipient), 8 ether);
    }

    function test_redeemTickets_revertsWholeBatchOnOneBadTicket() public {
        _fund(sender, 100 ether, 0);
        _fund(sender2, 100 ether, 0);
        (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands) = _batch(4, 2);
        rands[3] = 42;
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITicketBroker.InvalidRecipientRand.selector, _structHash(ts[3]), uint256(42), ts[3].recipientRandHash
            )
        );
        broker.redeemTickets(ts, sigs, rands);
        assertEq(broker.lastNonce(sender, recipient), 0);
    }

    function test_redeemTickets_revertsIfOutOfNonceOrder() public {
        _fund(sender, 100 ether, 0);
        (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands) = _batch(3, 1);
        (ts[1], ts[2]) = (ts[2], ts[1]);
        (sigs[1], sigs[2]) = (sigs[2], sigs[1]);
        (rands[1], rands[2]) = (rands[2], rands[1]);
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.TicketNonceUsed.selector, sender, recipient, uint256(2), uint256(3))
        );
        broker.redeemTickets(ts, sigs, rands);
    }

    function test_redeemTickets_revertsIfDuplicateInBatch() public {
        _fund(sender, 100 ether, 0);
        (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands) = _batch(2, 1);
        ts[1] = ts[0];
        sigs[1] = sigs[0];
        rands[1] = rands[0];
        vm.prank(recipient);
        vm.expectRevert(
            abi.encodeWithSelector(ITicketBroker.TicketNonceUsed.selector, sender, recipient, uint256(1), uint256(1))
        );
        broker.redeemTickets(ts, sigs, rands);
    }

    function test_redeemTickets_interleavedSendersKeepEachWatermark() public {
        _fund(sender, 100 ether, 0);
        _fund(sender2, 100 ether, 0);
        // A, B, A, B with per-sender increasing nonces: the cursor switches four times.
        (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands) = _batch(4, 2);
        vm.prank(recipient);
        broker.redeemTickets(ts, sigs, rands);
        (uint256 d1,,) = broker.getSender(sender);
        assertEq(d1, 98 ether);
        assertEq(broker.lastNonce(sender, recipient), 3);
        assertEq(broker.lastNonce(sender2, recipient), 4);
    }

    function test_redeemTickets_revertsIfLengthsDiffer() public {
        (Ticket[] memory ts, bytes[] memory sigs,) = _batch(2, 1);
        uint256[] memory rands = new uint256[](1);
        vm.prank(recipient);
        vm.expectRevert(abi.encodeWithSelector(ITicketBroker.LengthMismatch.selector, 2, 2, 1));
        broker.redeemTickets(ts, sigs, rands);
    }

    function test_redeemTickets_revertsIfEmpty() public {
        vm.prank(recipient);
        vm.expectRevert(ITicketBroker.EmptyBatch.selector);
        broker.redeemTickets(new Ticket[](0), new bytes[](0), new uint256[](0));
    }

    function test_redeemTickets_partialPaymentInsideBatch() public {
        _fund(sender, 2.5 ether, 0);
        (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands) = _batch(3, 1);
        vm.prank(recipient);
        broker.redeemTickets(ts, sigs, rands);
        assertEq(broker.paidInEpoch(0, recipient), 2.5 ether);
    }

    // ------------------------------------------------------------ treasury

    function test_flushTreasury_sendsAccruedShare() public {
        _fund(sender, 10 ether, 0);
        _redeem(SENDER_KEY, _ticket(SENDER_KEY, recipient, 2 ether, 1));
        vm.expectEmit(true, false, false, true, address(broker));
        emit ITicketBroker.TreasuryFlushed(treasury, 0.1 ether);
        broker.flushTreasury();
        assertEq(token.balanceOf(treasury), 0.1 ether);
        assertEq(broker.treasuryAccrued(), 0);
        broker.flushTreasury(); // nothing left: a no-op
        assertEq(token.balanceOf(treasury), 0.1 ether);
    }
}
