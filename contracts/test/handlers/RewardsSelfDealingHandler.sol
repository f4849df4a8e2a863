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
/// `minFace` (1 wei in the invariant run); one batch in three is dust (1-10 wei a ticket, below
/// and around 10000 / burnBps, where the floored burn is 0 or 1 wei), and `attackerSelfDealMixed`
/// mixes dust and large tickets with a deposit that leaves the last ticket partly paid.
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
    /// @notice What the attacker's tickets burned: the sum of floor(paid x burnBps / 10000) per
    /// ticket, computed here independently of the broker's ledger.
    uint256 public attackerBurned;
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

    /// @notice The attacker pays itself 1-4 tickets of one face value (`face` mapped to
    /// [minFace, balance / count], or to 1-10 wei one time in three).
    function attackerSelfDeal(uint256 face, uint256 count) external {
        count = 1 + count % 4;
        uint256 balance = token.balanceOf(attackerSender);
        if (balance < (minFace + 10) * count) return;
        uint256[] memory faces = new uint256[](count);
        uint256 f = _face(face, balance / count);
        for (uint256 i = 0; i < count; ++i) {
            faces[i] = f;
        }
        _selfDeal(faces, f * count);
    }

    /// @notice The attacker pays itself 1-8 tickets of mixed sizes (each dust, 1-10 wei, or
    /// large, from `seed`), and deposits less than their sum so that the last ticket is paid only
    /// partly (by 1 wei up to its full face value, from `shortfallSeed`).
    function attackerSelfDealMixed(uint256 seed, uint256 count, uint256 shortfallSeed) external {
        count = 1 + count % 8;
        uint256 balance = token.balanceOf(attackerSender);
        if (balance < 10 * count) return;
        uint256[] memory faces = new uint256[](count);
        uint256 total;
        for (uint256 i = 0; i < count; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            faces[i] = r % 2 == 0 ? 1 + (r >> 1) % 10 : _face(r >> 1, balance / count);
            total += faces[i];
        }
        // The last ticket pays between 1 wei and its face: a paid amount of 0 would revert.
        uint256 last = faces[count - 1];
        _selfDeal(faces, total - shortfallSeed % last);
    }

    /// @notice The attacker pays itself one ticket per face value in `faces`, funding `deposit`:
    /// all tickets but the last are paid in full and the last by what is left (at least 1 wei).
    /// Does nothing for arguments that do not fit that (the invariant runner calls it too).
    function attackerSelfDealFaces(uint256[] memory faces, uint256 deposit) public {
        uint256 n = faces.length;
        if (n == 0 || n > 16) return;
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            if (faces[i] == 0 || faces[i] > 1e24) return;
            total += faces[i];
        }
        if (deposit > total || deposit <= total - faces[n - 1] || deposit > token.balanceOf(attackerSender)) return;
        _selfDeal(faces, deposit);
    }

    /// @notice Honest traffic in the same epoch.
    function honestTraffic(uint256 face, uint256 count) external {
        count = 1 + count % 4;
        uint256 balance = token.balanceOf(honestSender);
        if (balance < minFace * count) return;
        uint256[] memory faces = new uint256[](count);
        uint256 f = minFace + face % (balance / count - minFace + 1);
        if (f > 1e22) f = minFace + f % 1e22;
        for (uint256 i = 0; i < count; ++i) {
            faces[i] = f;
        }
        honestPaid += _pay(honestKey, honestSender, honestRecipient, faces, f * count);
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

    /// @dev A face value in [minFace, min(max, 1e22)], or 1-10 wei (dust) one time in three.
    function _face(uint256 seed, uint256 max) internal view returns (uint256 f) {
        if (seed % 3 == 0) return minFace + (seed / 3) % 10;
        f = minFace + seed % (max - minFace + 1);
        if (f > 1e22) f = minFace + f % 1e22;
    }

    /// @dev Pays the attacker's tickets and books what it paid and burned, ticket by ticket as
    /// the broker does: each takes min(face, deposit left), and burns the floor of its share.
    function _selfDeal(uint256[] memory faces, uint256 deposit) internal {
        uint256 left = deposit;
        uint256 burnBps = broker.burnBps();
        uint256 burned;
        for (uint256 i = 0; i < faces.length; ++i) {
            uint256 p = faces[i] < left ? faces[i] : left;
            left -= p;
            burned += p * burnBps / 10_000;
        }
        attackerPaid += _pay(attackerKey, attackerSender, attackerRecipient, faces, deposit);
        attackerBurned += burned;
    }

    /// @dev Deposits `deposit` for `sender` and redeems one certain-win ticket per face value;
    /// returns the amount paid (the whole deposit: it never exceeds the faces' sum).
    function _pay(uint256 key, address sender, address recipient, uint256[] memory faces, uint256 deposit)
        internal
        returns (uint256 paid)
    {
        uint256 count = faces.length;
        vm.prank(sender);
        broker.fundDeposit(deposit);
        Ticket[] memory tickets = new Ticket[](count);
        bytes[] memory sigs = new bytes[](count);
        uint256[] memory rands = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            (tickets[i], rands[i]) = _ticket(sender, recipient, faces[i], ++nonceOf[sender]);
            sigs[i] = _sign(key, tickets[i]);
        }
        vm.prank(recipient);
        broker.redeemTickets(tickets, sigs, rands);
        paid = deposit;
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
