// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {vm} from "../utils/Vm.sol";
import {BandToken} from "../../BandToken.sol";
import {TicketBroker} from "../../TicketBroker.sol";
import {Ticket} from "../../interfaces/ITicketBroker.sol";
import {BrokerMockRegistry} from "./BrokerMockRegistry.sol";
import {CompactBatchEncoder} from "../utils/CompactBatchEncoder.sol";

/// @notice Bounded actions on a TicketBroker for the invariant runner (Morpho Blue style): a few
/// senders with known keys fund, unlock, cancel, withdraw; a few recipients redeem fresh batches
/// (through redeemTickets and redeemTicketsCompact) and try to replay old tickets through either;
/// time moves forward. Ghost variables record what each call
/// observably moved, and counters record any violation the invariants then assert are zero.
contract BrokerHandler {
    uint256 internal constant SENDERS = 3;
    uint256 internal constant RECIPIENTS = 3;

    TicketBroker public immutable broker;
    BandToken public immutable token;
    BrokerMockRegistry public immutable registry;

    uint256[SENDERS] internal _keys;
    address[RECIPIENTS] internal _recipients;
    mapping(address sender => mapping(address recipient => uint256)) internal _nextNonce;

    // Last redeemed ticket, kept for replay attempts.
    Ticket internal _lastTicket;
    bytes internal _lastSig;
    uint256 internal _lastRand;
    bool internal _haveLast;

    uint256 public ghostPaid;
    uint256 public ghostBurned;
    uint256 public ghostTreasury;
    uint256 public ghostToRecipients;
    uint256 public ghostSplitMismatch;
    uint256 public ghostOverpay;
    uint256 public ghostDoublePay;
    uint256 public ghostEarlyWithdraw;
    uint256 public ghostWithdrawWrongAmount;
    uint256 public redeemCalls;
    uint256 public compactCalls;

    constructor(TicketBroker broker_, BandToken token_, BrokerMockRegistry registry_, uint256[SENDERS] memory keys) {
        broker = broker_;
        token = token_;
        registry = registry_;
        _keys = keys;
        _recipients = [address(0xBEEF), address(0xCAFE), address(0xD00D)];
    }

    /// @notice Sender at index i (mod SENDERS).
    function senderAt(uint256 i) public view returns (address) {
        return vm.addr(_keys[i % SENDERS]);
    }

    /// @notice Recipient at index i (mod RECIPIENTS).
    function recipientAt(uint256 i) public view returns (address) {
        return _recipients[i % RECIPIENTS];
    }

    /// @notice Number of senders / recipients.
    function counts() external pure returns (uint256, uint256) {
        return (SENDERS, RECIPIENTS);
    }

    /// @notice A sender funds its deposit and reserve.
    function fund(uint256 seed, uint256 deposit, uint256 reserve) external {
        deposit = deposit % 20 ether;
        reserve = reserve % 20 ether;
        if (deposit + reserve == 0) deposit = 1 ether;
        vm.prank(senderAt(seed));
        broker.fundDepositAndReserve(deposit, reserve);
    }

    struct Snapshot {
        uint256 senderFunds;
        uint256 supply;
        uint256 recipientBalance;
        uint256 treasury;
    }

    /// @notice A recipient redeems a fresh batch of 1-4 winning tickets from one sender.
    function redeem(uint256 senderSeed, uint256 recipientSeed, uint256 face, uint256 count) external {
        _redeem(senderSeed, recipientSeed, face, count, false);
    }

    /// @notice The same through redeemTicketsCompact.
    function redeemCompact(uint256 senderSeed, uint256 recipientSeed, uint256 face, uint256 count) external {
        _redeem(senderSeed, recipientSeed, face, count, true);
    }

    function _redeem(uint256 senderSeed, uint256 recipientSeed, uint256 face, uint256 count, bool compact) internal {
        uint256 key = _keys[senderSeed % SENDERS];
        address recipient = recipientAt(recipientSeed);
        count = 1 + count % 4;
        face = 1 + face % 10 ether;
        (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands) = _build(key, recipient, face, count);
        Snapshot memory before = _snapshot(vm.addr(key), recipient);
        if (_send(recipient, ts, sigs, rands, compact)) {
            uint256 last = count - 1;
            _nextNonce[vm.addr(key)][recipient] = ts[last].senderNonce;
            if (compact) ++compactCalls;
            else ++redeemCalls;
            _account(before, _snapshot(vm.addr(key), recipient), face * count);
            _lastTicket = ts[last];
            _lastSig = sigs[last];
            _lastRand = rands[last];
            _haveLast = true;
        }
    }

    /// @dev Redeems through either path; true if the call went through.
    function _send(address recipient, Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands, bool compact)
        internal
        returns (bool)
    {
        vm.prank(recipient);
        if (compact) {
            try broker.redeemTicketsCompact(CompactBatchEncoder.encode(ts, sigs, rands)) {
                return true;
            } catch {
                return false;
            }
        }
        try broker.redeemTickets(ts, sigs, rands) {
            return true;
        } catch {
            return false;
        }
    }

    function _build(uint256 key, address recipient, uint256 face, uint256 count)
        internal
        view
        returns (Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands)
    {
        address sender = vm.addr(key);
        ts = new Ticket[](count);
        sigs = new bytes[](count);
        rands = new uint256[](count);
        uint256 nonce = _nextNonce[sender][recipient];
        for (uint256 i; i < count; ++i) {
            nonce += 1 + (face >> 3) % 5; // gaps, as sparse winners have
            // Winners of one session share its rand: a batch here spans one or two sessions.
            rands[i] = uint256(keccak256(abi.encode(sender, recipient, _nextNonce[sender][recipient], i / 3)));
            ts[i] = Ticket({
                recipient: recipient,
                sender: sender,
                faceValue: face,
                winProb: type(uint256).max,
                senderNonce: nonce,
                recipientRandHash: keccak256(abi.encodePacked(rands[i])),
                expiry: uint64(block.timestamp + 1 days),
                sessionId: bytes32(key),
                cumulativeBytes: uint64(nonce)
            });
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, broker.ticketDigest(ts[i]));
            sigs[i] = abi.encodePacked(r, s, v);
        }
    }

    function _snapshot(address sender, address recipient) internal view returns (Snapshot memory snap) {
        (uint256 d, uint256 r,) = broker.getSender(sender);
        snap = Snapshot(d + r, token.totalSupply(), token.balanceOf(recipient), broker.treasuryAccrued());
    }

    function _account(Snapshot memory a, Snapshot memory b, uint256 maxPaid) internal {
        uint256 paid = a.senderFunds - b.senderFunds;
        uint256 burned = a.supply - b.supply;
        uint256 toRecipient = b.recipientBalance - a.recipientBalance;
        uint256 toTreasury = b.treasury - a.treasury;
        if (paid != burned + toRecipient + toTreasury) ++ghostSplitMismatch;
        if (paid > maxPaid) ++ghostOverpay;
        ghostPaid += paid;
        ghostBurned += burned;
        ghostToRecipients += toRecipient;
        ghostTreasury += toTreasury;
    }

    /// @notice The recipient of the last redeemed ticket tries to redeem it again (after a refill),
    /// through either path.
    function replay(uint256 refill) external {
        if (!_haveLast) return;
        address sender = _lastTicket.sender;
        vm.prank(sender);
        broker.fundDeposit(1 + refill % 10 ether);
        Ticket[] memory ts = new Ticket[](1);
        bytes[] memory sigs = new bytes[](1);
        uint256[] memory rands = new uint256[](1);
        (ts[0], sigs[0], rands[0]) = (_lastTicket, _lastSig, _lastRand);
        vm.prank(_lastTicket.recipient);
        try broker.redeemTicket(_lastTicket, _lastSig, _lastRand) {
            ++ghostDoublePay;
        } catch {}
        if (_send(_lastTicket.recipient, ts, sigs, rands, true)) ++ghostDoublePay;
    }

    /// @notice A sender starts unlocking.
    function unlock(uint256 seed) external {
        vm.prank(senderAt(seed));
        try broker.unlock() {} catch {}
    }

    /// @notice A sender cancels its unlock.
    function cancelUnlock(uint256 seed) external {
        vm.prank(senderAt(seed));
        try broker.cancelUnlock() {} catch {}
    }

    /// @notice A sender tries to withdraw, whatever its state.
    function withdraw(uint256 seed) external {
        address sender = senderAt(seed);
        (uint256 d, uint256 r, uint64 withdrawTime) = broker.getSender(sender);
        uint256 bal = token.balanceOf(sender);
        vm.prank(sender);
        try broker.withdraw() {
            if (withdrawTime == 0 || block.timestamp < withdrawTime) ++ghostEarlyWithdraw;
            if (token.balanceOf(sender) - bal != d + r) ++ghostWithdrawWrongAmount;
        } catch {}
    }

    /// @notice Time passes (up to 3 days).
    function warp(uint256 dt) external {
        vm.warp(block.timestamp + dt % 3 days);
    }

    /// @notice Providers come and go: the active count and one recipient's activeSince change.
    function churn(uint256 seed, uint256 count) external {
        address recipient = recipientAt(seed);
        uint64 since = seed % 3 == 0 ? 0 : uint64(block.timestamp - (seed % 1000));
        registry.set(recipient, since, count % 6);
    }

    /// @notice Anyone flushes the treasury.
    function flushTreasury() external {
        broker.flushTreasury();
    }
}
