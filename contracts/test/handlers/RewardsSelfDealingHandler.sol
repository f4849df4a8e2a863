// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {vm} from "../utils/Vm.sol";
import {BandToken} from "../../BandToken.sol";
import {TicketBroker} from "../../TicketBroker.sol";
import {Rewards} from "../../Rewards.sol";
import {IVesting} from "../../interfaces/IVesting.sol";
import {Ticket} from "../../interfaces/ITicketBroker.sol";

/// @notice Drives the real BandToken + TicketBroker + Rewards for the self-dealing invariant. The
/// attacker owns a sender key and a recipient address: it deposits, signs certain-win tickets to
/// itself, redeems them, claims and withdraws. Honest traffic (another sender paying another
/// recipient) runs in the same epochs, and time moves forward. Ticket face values are at least
/// `minFace`, the smallest face value whose per-ticket floored burn still exceeds k x its burn
/// share (see SelfDealing.t.sol for what happens below it).
contract RewardsSelfDealingHandler {
    uint256 internal constant ALWAYS = type(uint256).max;
    uint256 internal constant MAX_CALLS_EPOCHS = 60;

    BandToken public token;
    TicketBroker public broker;
    Rewards public rewards;
    IVesting public vesting;
    uint256 public minFace;

    uint256 public immutable attackerKey;
    address public immutable attackerSender;
    address public immutable attackerRecipient;
    uint256 public immutable honestKey;
    address public immutable honestSender;
    address public immutable honestRecipient;

    uint256 public attackerPaid;
    uint256 public honestPaid;
    uint256 public attackerClaims;
    uint256 public attackerWithdrawals;
    mapping(address sender => uint256) public nonceOf;

    constructor(
        BandToken token_,
        TicketBroker broker_,
        Rewards rewards_,
        uint256 minFace_,
        uint256 attackerKey_,
        address attackerRecipient_,
        uint256 honestKey_,
        address honestRecipient_
    ) {
        token = token_;
        broker = broker_;
        rewards = rewards_;
        vesting = rewards_.vesting();
        minFace = minFace_;
        attackerKey = attackerKey_;
        attackerSender = vm.addr(attackerKey_);
        attackerRecipient = attackerRecipient_;
        honestKey = honestKey_;
        honestSender = vm.addr(honestKey_);
        honestRecipient = honestRecipient_;
    }

    /// @notice The attacker pays itself `count` tickets of `face`.
    function attackerSelfDeal(uint256 face, uint256 count) external {
        attackerPaid += _pay(attackerKey, attackerSender, attackerRecipient, face, count);
    }

    /// @notice Honest traffic in the same epoch.
    function honestTraffic(uint256 face, uint256 count) external {
        honestPaid += _pay(honestKey, honestSender, honestRecipient, face, count);
    }

    /// @notice Time passes: 1 hour to 3 epochs.
    function advance(uint256 secondsSeed) external {
        if (broker.currentEpoch() >= MAX_CALLS_EPOCHS) return;
        vm.warp(block.timestamp + 1 hours + secondsSeed % (3 days));
    }

    /// @notice The attacker's recipient claims the first claimable epoch from a random start.
    function attackerClaim(uint256 epochSeed) external {
        if (_claimFirst(attackerRecipient, epochSeed)) ++attackerClaims;
    }

    /// @notice The honest recipient claims too (it competes for the cap headroom).
    function honestClaim(uint256 epochSeed) external {
        _claimFirst(honestRecipient, epochSeed);
    }

    /// @notice The attacker withdraws whatever has vested.
    function attackerWithdraw() external {
        if (vesting.withdrawableOf(attackerRecipient) == 0) return;
        vm.prank(attackerRecipient);
        vesting.withdraw();
        ++attackerWithdrawals;
    }

    /// @notice Everything the attacker owns or could still get: both balances, the deposit and
    /// reserve at the broker, all its grants in Vesting (vested or not, withdrawn excluded since it
    /// is in the balance) and the unclamped reward of every epoch it has not claimed yet,
    /// including the running one. Generous on purpose: the bound must hold even so.
    function attackerWealth() external view returns (uint256 wealth) {
        wealth = token.balanceOf(attackerSender) + token.balanceOf(attackerRecipient);
        (uint256 deposit, uint256 reserve,) = broker.getSender(attackerSender);
        wealth += deposit + reserve;
        wealth += vesting.grantedOf(attackerRecipient) - vesting.withdrawnOf(attackerRecipient);
        uint256 current = broker.currentEpoch();
        for (uint256 e = 0; e <= current; ++e) {
            if (!rewards.claimed(e, attackerRecipient)) wealth += rewards.rewardOf(e, attackerRecipient);
        }
    }

    function _claimFirst(address provider, uint256 epochSeed) internal returns (bool) {
        uint256 current = broker.currentEpoch();
        for (uint256 i = 0; i < current; ++i) {
            uint256 epoch = (epochSeed + i) % current;
            if (rewards.claimed(epoch, provider) || rewards.rewardOf(epoch, provider) == 0) continue;
            vm.prank(provider);
            rewards.claim(epoch);
            return true;
        }
        return false;
    }

    function _pay(uint256 key, address sender, address recipient, uint256 face, uint256 count)
        internal
        returns (uint256 paid)
    {
        count = 1 + count % 4;
        uint256 balance = token.balanceOf(sender);
        if (balance < minFace * count) return 0;
        face = minFace + face % (balance / count - minFace + 1);
        if (face > 1e22) face = minFace + face % 1e22;
        vm.prank(sender);
        broker.fundDeposit(face * count);
        Ticket[] memory tickets = new Ticket[](count);
        bytes[] memory sigs = new bytes[](count);
        uint256[] memory rands = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            (tickets[i], rands[i]) = _ticket(sender, recipient, face, ++nonceOf[sender]);
            sigs[i] = _sign(key, tickets[i]);
        }
        vm.prank(recipient);
        broker.redeemTickets(tickets, sigs, rands);
        paid = face * count;
    }

    function _ticket(address sender, address recipient, uint256 face, uint256 nonce)
        internal
        view
        returns (Ticket memory t, uint256 rand)
    {
        rand = uint256(keccak256(abi.encode(sender, nonce)));
        t = Ticket({
            recipient: recipient,
            sender: sender,
            faceValue: face,
            winProb: ALWAYS,
            senderNonce: nonce,
            recipientRandHash: keccak256(abi.encodePacked(rand)),
            expiry: uint64(block.timestamp + 1 days),
            sessionId: keccak256("self-dealing"),
            cumulativeBytes: uint64(nonce)
        });
    }

    function _sign(uint256 key, Ticket memory t) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, broker.ticketDigest(t));
        return abi.encodePacked(r, s, v);
    }
}
