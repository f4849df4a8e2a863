// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ITicketBroker, Ticket} from "./interfaces/ITicketBroker.sol";
import {IEpochLedger} from "./interfaces/IEpochLedger.sol";
import {IProviderRegistryView} from "./interfaces/IProviderRegistryView.sol";
import {TICKET_BUFFER_WORDS, TicketLib} from "./libraries/TicketLib.sol";
import {CompactBatchLib} from "./libraries/CompactBatchLib.sol";

/// @title TicketBroker
/// @notice Settlement core of bandmint: holds senders' deposits and reserves, redeems winning
/// probabilistic tickets (docs/PROTOCOL.md), splits every payment into burn, treasury and
/// recipient shares, and keeps the per-epoch ledger (paid and burned, per recipient and per epoch)
/// the Rewards contract reads.
///
/// Replay protection is a per-(sender, recipient) nonce watermark (PROTOCOL.md "Replay
/// protection"). Cost per redeemed ticket, with W winning tickets of one pair in a batch:
///   - watermark (this): one slot per pair, written once per pair per call (warm re-writes inside
///     the batch cost 100): ~5,000 / W steady state, 22,100 / W the first time a pair redeems.
///   - nullifier mapping (usedTickets[hash] = true): a fresh zero-to-nonzero slot per ticket,
///     22,100 each, always; it is also unbounded state growth.
///   - Permit2-style nonce bitmap: 256 nonces per slot, so winners whose nonces share a word
///     share the 20,000; but winners are sparse (winProb is typically 1/100 to 1/10,000, so two
///     winners of a pair are hundreds of nonces apart) and almost every winner lands in its own
///     fresh word: ~22,100 per ticket in practice.
/// The watermark's price is that a pair's winners must be redeemed in nonce order; a node redeems
/// a pair's winners together, sorted, so nothing is lost in practice.
contract TicketBroker is ITicketBroker, IEpochLedger, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    uint256 private constant _BPS = 10_000;

    /// @dev The one slot a redemption from the deposit touches; written whole (one SSTORE, no
    /// read-modify-write) when a batch moves on from a sender.
    struct Balances {
        uint128 deposit;
        uint128 reserve;
    }

    /// @dev Only unlock and the reserve path touch these.
    struct SenderState {
        uint64 withdrawTime; // 0 = not unlocking
        uint64 freezeTime; // 0 = reserve not frozen
        uint128 allowancePerRecipient; // R / N
        uint128 reserveAtFreeze; // R
        uint128 providersAtFreeze; // N
    }

    /// @dev What a recipient drew from a sender's reserve; stale (and read as 0) when freezeTime is
    /// not the sender's current freeze.
    struct ReserveClaim {
        uint64 freezeTime;
        uint128 claimed;
    }

    /// @dev One slot: both totals are written by every redeem call. uint128 is wide enough: see
    /// `_settle`.
    struct EpochTotals {
        uint128 paid;
        uint128 burned;
    }

    /// @dev Running totals of a batch call.
    struct Totals {
        uint256 paid;
        uint256 burned;
        uint256 treasury;
    }

    /// @dev The sender being paid from, cached in memory while consecutive tickets share it, so
    /// its slots are read and written once per run of tickets instead of once per ticket.
    struct Cursor {
        address sender;
        uint256 lastNonce;
        uint256 deposit;
        uint256 reserve;
    }

    IERC20 private immutable _token;
    IProviderRegistryView private immutable _registry;
    address private immutable _treasury;
    uint16 private immutable _burnBps;
    uint16 private immutable _treasuryBps;
    uint64 private immutable _unlockPeriod;
    uint64 private immutable _epochLength;
    uint64 private immutable _genesisTime;

    mapping(address sender => Balances) private _balances;
    mapping(address sender => SenderState) private _senders;
    mapping(address sender => mapping(address recipient => uint256)) private _lastNonce;
    mapping(address sender => mapping(address recipient => ReserveClaim)) private _reserveClaims;
    /// @dev A recipient's paid (low 128 bits) and burned (high 128 bits) in an epoch, packed by
    /// hand in one word: recording the burned value per recipient (what Rewards shares by) adds no
    /// store, and one unchecked add of `paid | burned << 128` updates both (~240 gas less per call
    /// than a two-field struct). `_settle` shows why neither half can carry.
    mapping(uint256 epoch => mapping(address recipient => uint256)) private _epochAccounts;
    mapping(uint256 epoch => EpochTotals) private _epochTotals;
    /// @dev Accrued rather than transferred per call: one warm-ish SSTORE (~5,000) is cheaper than
    /// a token transfer to the treasury (~8,000+ incl. its balance slot and Transfer event).
    uint256 private _treasuryAccrued;

    /// @param token_ The deposit token (BandToken: ERC20Burnable + ERC20Permit).
    /// @param registry_ The ProviderRegistry (IProviderRegistryView), read on reserve draws.
    /// @param treasury_ Receives the treasury share on `flushTreasury()`.
    /// @param burnBps_ Share of each paid amount burned, in basis points.
    /// @param treasuryBps_ Share of each paid amount for the treasury, in basis points.
    /// @param unlockPeriod_ Seconds from `unlock()` to the earliest `withdraw()`.
    /// @param epochLength_ Seconds per epoch (> 0).
    /// @param genesisTime_ Start of epoch 0; 0 means the deployment block's timestamp.
    constructor(
        IERC20 token_,
        address registry_,
        address treasury_,
        uint16 burnBps_,
        uint16 treasuryBps_,
        uint64 unlockPeriod_,
        uint64 epochLength_,
        uint64 genesisTime_
    ) EIP712("bandmint", "1") {
        if (address(token_) == address(0) || registry_ == address(0) || treasury_ == address(0)) {
            revert ZeroAddress();
        }
        if (uint256(burnBps_) + treasuryBps_ > _BPS) revert InvalidFeeShares(burnBps_, treasuryBps_);
        if (epochLength_ == 0) revert ZeroEpochLength();
        _token = token_;
        _registry = IProviderRegistryView(registry_);
        _treasury = treasury_;
        _burnBps = burnBps_;
        _treasuryBps = treasuryBps_;
        _unlockPeriod = unlockPeriod_;
        _epochLength = epochLength_;
        _genesisTime = genesisTime_ == 0 ? uint64(block.timestamp) : genesisTime_;
    }

    // ---------------------------------------------------------------- sender funds

    /// @inheritdoc ITicketBroker
    function fundDeposit(uint256 amount) external nonReentrant {
        _fund(amount, 0);
    }

    /// @inheritdoc ITicketBroker
    function fundReserve(uint256 amount) external nonReentrant {
        _fund(0, amount);
    }

    /// @inheritdoc ITicketBroker
    function fundDepositAndReserve(uint256 depositAmount, uint256 reserveAmount) external nonReentrant {
        _fund(depositAmount, reserveAmount);
    }

    /// @inheritdoc ITicketBroker
    function fundDepositAndReserveWithPermit(
        uint256 depositAmount,
        uint256 reserveAmount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant {
        // A permit seen in the mempool can be submitted by anyone first, which would make ours
        // revert; the allowance is there all the same, so ignore the failure and let the transfer
        // decide (OpenZeppelin's SafeERC20 advice on front-run permits).
        try IERC20Permit(address(_token)).permit(
            msg.sender, address(this), depositAmount + reserveAmount, deadline, v, r, s
        ) {} catch {}
        _fund(depositAmount, reserveAmount);
    }

    /// @inheritdoc ITicketBroker
    function unlock() external {
        SenderState storage s = _senders[msg.sender];
        uint64 pending = s.withdrawTime;
        if (pending != 0) revert AlreadyUnlocking(msg.sender, pending);
        uint64 withdrawTime = uint64(block.timestamp) + _unlockPeriod;
        s.withdrawTime = withdrawTime;
        emit UnlockStarted(msg.sender, withdrawTime);
    }

    /// @inheritdoc ITicketBroker
    function cancelUnlock() external {
        SenderState storage s = _senders[msg.sender];
        if (s.withdrawTime == 0) revert NotUnlocking(msg.sender);
        s.withdrawTime = 0;
        emit UnlockCancelled(msg.sender);
    }

    /// @inheritdoc ITicketBroker
    function withdraw() external nonReentrant {
        SenderState storage s = _senders[msg.sender];
        uint64 withdrawTime = s.withdrawTime;
        if (withdrawTime == 0) revert NotUnlocking(msg.sender);
        if (block.timestamp < withdrawTime) revert UnlockPending(msg.sender, withdrawTime, block.timestamp);
        // Claims are keyed by freeze time: a new freeze in this same block must not inherit them.
        uint64 freezeTime = s.freezeTime;
        if (freezeTime == block.timestamp) revert ReserveFrozenThisBlock(msg.sender, freezeTime);
        Balances storage b = _balances[msg.sender];
        uint256 deposit = b.deposit;
        uint256 reserve = b.reserve;
        delete _balances[msg.sender];
        delete _senders[msg.sender];
        emit Withdrawn(msg.sender, deposit, reserve);
        // Both are uint128, so the sum cannot overflow uint256 (checked anyway, it is not hot).
        uint256 amount = deposit + reserve;
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- redemption

    /// @inheritdoc ITicketBroker
    function redeemTicket(Ticket calldata ticket, bytes calldata sig, uint256 recipientRand) external nonReentrant {
        Cursor memory cursor;
        bytes32[TICKET_BUFFER_WORDS] memory b = TicketLib.newBuffer(_domainSeparatorV4());
        uint256 paid = _redeem(ticket, sig, recipientRand, b, cursor);
        _storeCursor(cursor);
        // Per-ticket rounding, same as the batch path: a ticket's split never depends on its batch.
        _settle(paid, paid * _burnBps / _BPS, paid * _treasuryBps / _BPS);
    }

    /// @inheritdoc ITicketBroker
    function redeemTickets(
        Ticket[] calldata tickets,
        bytes[] calldata sigs,
        uint256[] calldata recipientRands
    ) external nonReentrant {
        uint256 n = tickets.length;
        if (n == 0) revert EmptyBatch();
        if (sigs.length != n || recipientRands.length != n) {
            revert LengthMismatch(n, sigs.length, recipientRands.length);
        }
        Cursor memory cursor;
        Totals memory totals;
        bytes32[TICKET_BUFFER_WORDS] memory b = TicketLib.newBuffer(_domainSeparatorV4());
        for (uint256 i; i < n;) {
            _tally(totals, _redeem(tickets[i], sigs[i], recipientRands[i], b, cursor));
            unchecked {
                ++i; // i < n <= calldata length
            }
        }
        _storeCursor(cursor);
        _settle(totals.paid, totals.burned, totals.treasury);
    }

    /// @inheritdoc ITicketBroker
    function redeemTicketsCompact(bytes calldata batch) external nonReentrant {
        uint256 length = batch.length;
        if (length == 0) revert EmptyBatch();
        Cursor memory cursor;
        Totals memory totals;
        bytes32[TICKET_BUFFER_WORDS] memory b = TicketLib.newBuffer(_domainSeparatorV4());
        b[1] = bytes32(uint256(uint160(msg.sender))); // the recipient: only the caller's tickets
        for (uint256 offset; offset < length;) {
            offset = _redeemGroup(batch, offset, b, cursor, totals);
        }
        _storeCursor(cursor);
        _settle(totals.paid, totals.burned, totals.treasury);
    }

    /// @inheritdoc ITicketBroker
    function flushTreasury() external nonReentrant {
        uint256 amount = _treasuryAccrued;
        _treasuryAccrued = 0;
        emit TreasuryFlushed(_treasury, amount);
        if (amount != 0) _token.safeTransfer(_treasury, amount);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ITicketBroker
    function getSender(address sender) external view returns (uint256 deposit, uint256 reserve, uint64 withdrawTime) {
        Balances storage b = _balances[sender];
        return (b.deposit, b.reserve, _senders[sender].withdrawTime);
    }

    /// @inheritdoc ITicketBroker
    function lastNonce(address sender, address recipient) external view returns (uint256) {
        return _lastNonce[sender][recipient];
    }

    /// @inheritdoc ITicketBroker
    function getReserveFreeze(address sender)
        external
        view
        returns (uint64 freezeTime, uint256 reserveAtFreeze, uint256 providers, uint256 allowancePerRecipient)
    {
        SenderState storage s = _senders[sender];
        return (s.freezeTime, s.reserveAtFreeze, s.providersAtFreeze, s.allowancePerRecipient);
    }

    /// @inheritdoc ITicketBroker
    function reserveClaimed(address sender, address recipient) public view returns (uint256) {
        ReserveClaim storage c = _reserveClaims[sender][recipient];
        uint64 freezeTime = _senders[sender].freezeTime;
        return freezeTime != 0 && c.freezeTime == freezeTime ? c.claimed : 0;
    }

    /// @inheritdoc ITicketBroker
    function claimableReserve(address sender, address recipient) external view returns (uint256) {
        SenderState storage s = _senders[sender];
        uint256 reserve = _balances[sender].reserve;
        if (reserve == 0) return 0;
        uint64 freezeTime = s.freezeTime;
        uint256 allowance;
        if (freezeTime == 0) {
            // Not frozen yet: a draw now would freeze with this block's timestamp.
            freezeTime = uint64(block.timestamp);
            allowance = reserve / _providerCount();
        } else {
            allowance = s.allowancePerRecipient;
        }
        if (!_eligible(recipient, freezeTime)) return 0;
        uint256 left = allowance - reserveClaimed(sender, recipient);
        return left < reserve ? left : reserve;
    }

    /// @inheritdoc ITicketBroker
    function treasuryAccrued() external view returns (uint256) {
        return _treasuryAccrued;
    }

    /// @inheritdoc ITicketBroker
    function hashTicket(Ticket calldata ticket) external pure returns (bytes32) {
        return TicketLib.hashStruct(ticket);
    }

    /// @inheritdoc ITicketBroker
    function ticketDigest(Ticket calldata ticket) external view returns (bytes32) {
        return _hashTypedDataV4(TicketLib.hashStruct(ticket));
    }

    /// @inheritdoc ITicketBroker
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc ITicketBroker
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @inheritdoc ITicketBroker
    function registry() external view returns (IProviderRegistryView) {
        return _registry;
    }

    /// @inheritdoc ITicketBroker
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc ITicketBroker
    function burnBps() external view returns (uint16) {
        return _burnBps;
    }

    /// @inheritdoc ITicketBroker
    function treasuryBps() external view returns (uint16) {
        return _treasuryBps;
    }

    /// @inheritdoc ITicketBroker
    function unlockPeriod() external view returns (uint64) {
        return _unlockPeriod;
    }

    /// @inheritdoc IEpochLedger
    function currentEpoch() public view returns (uint256) {
        // Before genesis (a future genesisTime) everything counts towards epoch 0.
        if (block.timestamp < _genesisTime) return 0;
        return (block.timestamp - _genesisTime) / _epochLength;
    }

    /// @inheritdoc IEpochLedger
    function epochLength() external view returns (uint64) {
        return _epochLength;
    }

    /// @inheritdoc IEpochLedger
    function genesisTime() external view returns (uint64) {
        return _genesisTime;
    }

    /// @inheritdoc IEpochLedger
    function paidInEpoch(uint256 epoch, address recipient) external view returns (uint256) {
        return uint128(_epochAccounts[epoch][recipient]); // the low half
    }

    /// @inheritdoc IEpochLedger
    function epochAccount(uint256 epoch, address recipient) external view returns (uint256 paid, uint256 burned) {
        uint256 a = _epochAccounts[epoch][recipient];
        return (uint128(a), a >> 128);
    }

    /// @inheritdoc IEpochLedger
    function epochTotals(uint256 epoch) external view returns (uint256 paid, uint256 burned) {
        EpochTotals storage e = _epochTotals[epoch];
        return (e.paid, e.burned);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Credits the caller's deposit and reserve, then pulls the sum in one transfer.
    function _fund(uint256 depositAmount, uint256 reserveAmount) private {
        uint256 amount = depositAmount + reserveAmount;
        if (amount == 0) revert ZeroAmount();
        Balances storage s = _balances[msg.sender];
        if (depositAmount != 0) {
            uint256 deposit = s.deposit + depositAmount;
            s.deposit = deposit.toUint128();
            emit DepositFunded(msg.sender, depositAmount, deposit);
        }
        if (reserveAmount != 0) {
            uint256 reserve = s.reserve + reserveAmount;
            s.reserve = reserve.toUint128();
            emit ReserveFunded(msg.sender, reserveAmount, reserve);
        }
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Checks one ticket given in full, advances its pair's watermark and takes its payment.
    /// Returns the amount paid.
    function _redeem(
        Ticket calldata t,
        bytes calldata sig,
        uint256 recipientRand,
        bytes32[TICKET_BUFFER_WORDS] memory b,
        Cursor memory cursor
    ) private returns (uint256 paid) {
        bytes32 ticketHash = TicketLib.hashStruct(t);
        // Cheap checks first; _verify then draws and recovers the signer (~3,000 gas).
        if (t.recipient != msg.sender) revert NotTicketRecipient(ticketHash, t.recipient, msg.sender);
        if (TicketLib.recipientRandHash(recipientRand) != t.recipientRandHash) {
            revert InvalidRecipientRand(ticketHash, recipientRand, t.recipientRandHash);
        }
        // Only a 65-byte r ‖ s ‖ v is a signature here, and the length must be checked before the
        // win draw, which hashes the signature bytes: one signature, one encoding, one draw.
        if (sig.length != 65) revert InvalidSignatureLength(ticketHash, sig.length);
        TicketLib.loadTicket(b, t, sig, recipientRand);
        _verify(b, ticketHash);
        _switchTo(cursor, t.sender);
        paid = _take(b, ticketHash, cursor);
        emit TicketRedeemed(ticketHash, t.sender, t.senderNonce, paid);
    }

    /// @dev Redeems the compact group at `offset` (CompactBatchLib): writes the words its tickets
    /// share into buffer `b` once, then rebuilds, checks and pays each ticket as `_redeem` does,
    /// and emits the group's TicketGroupRedeemed. Returns the offset just past the group.
    function _redeemGroup(
        bytes calldata batch,
        uint256 offset,
        bytes32[TICKET_BUFFER_WORDS] memory b,
        Cursor memory cursor,
        Totals memory totals
    ) private returns (uint256 groupEnd) {
        uint256 ticketAt;
        uint256 count;
        (ticketAt, count, groupEnd) = CompactBatchLib.readGroup(batch, offset, b);
        _switchTo(cursor, address(uint160(uint256(b[2]))));
        // TicketGroupRedeemed's data (faceValue, lastPaid, bytes32[] ticketHashes), ABI-encoded
        // in place as the tickets are paid: faceValue, lastPaid (written last), the array's head
        // (0x60) and length, then one hash per ticket. The event then costs the LOG's own gas and
        // no array copy.
        uint256 data;
        bytes32 faceValue = b[3];
        assembly ("memory-safe") {
            data := mload(0x40)
            mstore(0x40, add(data, add(0x80, shl(5, count))))
            mstore(data, faceValue)
            mstore(add(data, 0x40), 0x60)
            mstore(add(data, 0x60), count)
        }
        uint256 paid;
        // Tickets paid their whole faceValue (all but at most the last) are tallied together at
        // the end: the same per-ticket rounding, computed once.
        uint256 full;
        for (uint256 entry = data + 0x80; ticketAt < groupEnd;) {
            bytes32 ticketHash = CompactBatchLib.readTicket(batch, ticketAt, b);
            _verify(b, ticketHash);
            paid = _take(b, ticketHash, cursor);
            if (paid == uint256(faceValue)) {
                // full < count < 2^8.
                unchecked {
                    ++full;
                }
            } else {
                _tally(totals, paid);
            }
            assembly ("memory-safe") {
                mstore(entry, ticketHash)
            }
            // ticketAt < groupEnd <= batch.length; entry stays inside the allocation above.
            unchecked {
                ticketAt += CompactBatchLib.TICKET_SIZE;
                entry += 0x20;
            }
        }
        _tallyFull(totals, uint256(faceValue), full);
        bytes32 topic = TicketGroupRedeemed.selector;
        bytes32 sender = b[2];
        assembly ("memory-safe") {
            mstore(add(data, 0x20), paid) // lastPaid
            log2(data, add(0x80, shl(5, count)), topic, sender)
        }
    }

    /// @dev The checks every ticket passes, whichever way it arrived, on the ticket held in buffer
    /// `b` (struct hash `ticketHash`): not expired, winning (the draw hashes the 65-byte r ‖ s ‖ v
    /// and the recipientRand), and a canonical signature (low s, v in {27, 28}, recoverable:
    /// TicketLib.winAndSigner) by the ticket's sender.
    function _verify(bytes32[TICKET_BUFFER_WORDS] memory b, bytes32 ticketHash) private view {
        (bool wins, address signer) = TicketLib.winAndSigner(b, ticketHash);
        uint64 expiry = uint64(uint256(b[7]));
        if (block.timestamp > expiry) revert TicketExpired(ticketHash, expiry, block.timestamp);
        if (!wins) revert TicketNotWinning(ticketHash, uint256(b[4]));
        if (signer == address(0)) revert InvalidSignature(ticketHash);
        address sender = address(uint160(uint256(b[2])));
        if (signer != sender) revert InvalidSigner(ticketHash, signer, sender);
    }

    /// @dev Makes `sender` the one `cursor` holds, writing the previous one back.
    function _switchTo(Cursor memory cursor, address sender) private {
        if (sender != cursor.sender) {
            _storeCursor(cursor);
            _loadCursor(cursor, sender);
        }
    }

    /// @dev Advances the (sender, caller) watermark past the nonce of the ticket in buffer `b` and
    /// takes up to its face value from its sender, whom `cursor` holds (`_switchTo`). Returns the
    /// amount paid; the caller emits the event.
    function _take(bytes32[TICKET_BUFFER_WORDS] memory b, bytes32 ticketHash, Cursor memory cursor)
        private
        returns (uint256 paid)
    {
        address sender = cursor.sender;
        uint256 nonce = uint256(b[5]);
        if (nonce <= cursor.lastNonce) revert TicketNonceUsed(sender, msg.sender, nonce, cursor.lastNonce);
        cursor.lastNonce = nonce;

        uint256 faceValue = uint256(b[3]);
        uint256 deposit = cursor.deposit;
        if (deposit >= faceValue) {
            // Checked just above.
            unchecked {
                cursor.deposit = deposit - faceValue;
            }
            paid = faceValue;
        } else {
            cursor.deposit = 0;
            // deposit < faceValue, checked just above.
            unchecked {
                paid = deposit + _drawReserve(cursor, faceValue - deposit);
            }
            if (paid == 0) revert SenderFundsExhausted(sender, ticketHash);
        }
    }

    /// @dev Adds one ticket's payment to a batch's totals, its shares rounded down per ticket (a
    /// ticket's split never depends on its batch).
    function _tally(Totals memory totals, uint256 paid) private view {
        // Each paid amount comes out of a uint128 balance, and the sum of all of them is at most
        // the broker's token balance (<= the token's supply), so none of these sums can overflow;
        // paid * bps < 2^128 * 2^14.
        unchecked {
            totals.paid += paid;
            totals.burned += paid * _burnBps / _BPS;
            totals.treasury += paid * _treasuryBps / _BPS;
        }
    }

    /// @dev Adds `n` tickets that each paid their whole `faceValue` to a batch's totals: the same
    /// as n `_tally(totals, faceValue)` calls, rounding included, in one step.
    function _tallyFull(Totals memory totals, uint256 faceValue, uint256 n) private view {
        if (n == 0) return;
        // faceValue was paid whole, so it is at most a uint128 balance, and n * faceValue is what
        // the n tickets paid: the bounds of `_tally` hold.
        unchecked {
            totals.paid += n * faceValue;
            totals.burned += n * (faceValue * _burnBps / _BPS);
            totals.treasury += n * (faceValue * _treasuryBps / _BPS);
        }
    }

    /// @dev Takes up to `needed` from the cursor sender's reserve for the caller, within the
    /// caller's allowance of the current freeze (freezing the reserve on the first draw).
    function _drawReserve(Cursor memory cursor, uint256 needed) private returns (uint256 drawn) {
        uint256 reserve = cursor.reserve;
        if (reserve == 0) return 0;
        SenderState storage s = _senders[cursor.sender];
        uint64 freezeTime = s.freezeTime;
        uint256 allowance;
        if (freezeTime == 0) {
            freezeTime = uint64(block.timestamp);
            uint256 providers = _providerCount();
            allowance = reserve / providers;
            s.freezeTime = freezeTime;
            s.allowancePerRecipient = allowance.toUint128();
            s.reserveAtFreeze = reserve.toUint128();
            s.providersAtFreeze = providers.toUint128();
            emit ReserveFrozen(cursor.sender, reserve, providers, allowance);
        } else {
            allowance = s.allowancePerRecipient;
        }
        if (!_eligible(msg.sender, freezeTime)) return 0;

        ReserveClaim storage c = _reserveClaims[cursor.sender][msg.sender];
        uint256 claimed = c.freezeTime == freezeTime ? c.claimed : 0;
        // claimed only ever grows up to allowance (drawn <= allowance - claimed below).
        drawn = allowance - claimed;
        if (drawn > needed) drawn = needed;
        if (drawn > reserve) drawn = reserve;
        if (drawn == 0) return 0;
        c.freezeTime = freezeTime;
        c.claimed = (claimed + drawn).toUint128();
        // drawn <= reserve, checked above.
        unchecked {
            cursor.reserve = reserve - drawn;
        }
        emit ReserveDrawn(cursor.sender, msg.sender, drawn);
    }

    /// @dev N for a freeze: the active providers now, at least 1.
    function _providerCount() private view returns (uint256) {
        uint256 n = _registry.activeProviderCount();
        return n == 0 ? 1 : n;
    }

    /// @dev Only a provider active since strictly before the freeze may draw: the N counted at the
    /// freeze include every such provider, so at most N recipients share R.
    function _eligible(address recipient, uint64 freezeTime) private view returns (bool) {
        uint64 since = _registry.activeSince(recipient);
        return since != 0 && since < freezeTime;
    }

    /// @dev Reads `sender`'s balances and the (sender, caller) watermark into the cursor.
    function _loadCursor(Cursor memory cursor, address sender) private view {
        Balances storage b = _balances[sender];
        cursor.sender = sender;
        cursor.deposit = b.deposit;
        cursor.reserve = b.reserve;
        cursor.lastNonce = _lastNonce[sender][msg.sender];
    }

    /// @dev Writes the cursor back (no-op for the empty cursor of a call's first ticket).
    function _storeCursor(Cursor memory cursor) private {
        address sender = cursor.sender;
        if (sender == address(0)) return;
        // Both only decreased from uint128 values loaded by _loadCursor.
        _balances[sender] = Balances(uint128(cursor.deposit), uint128(cursor.reserve));
        _lastNonce[sender][msg.sender] = cursor.lastNonce;
    }

    /// @dev Books one call's totals: epoch ledger, treasury accrual, one burn, one transfer.
    function _settle(uint256 paid, uint256 burned, uint256 toTreasury) private {
        uint256 epoch = currentEpoch();
        // The epoch's totals are checked to fit in uint128. They cannot overflow in practice: all
        // that is paid comes out of deposits, so 2^128 paid in one epoch would take BandToken's
        // whole supply (cap 1e27 wei < 2^90) going round through the broker 2^38 times in that
        // epoch. If it ever did, redemptions would revert until the epoch ends, never corrupt the
        // ledger.
        EpochTotals memory e = _epochTotals[epoch];
        _epochTotals[epoch] =
            EpochTotals((uint256(e.paid) + paid).toUint128(), (uint256(e.burned) + burned).toUint128());
        // A recipient's paid and burned are parts of the epoch's totals, grown by the same amounts,
        // so both stay below the checked totals < 2^128: the low half never carries into the high
        // one and the high one never overflows. No second check on the hot path.
        unchecked {
            _epochAccounts[epoch][msg.sender] += paid | (burned << 128);
        }
        if (toTreasury != 0) _treasuryAccrued += toTreasury;
        emit TicketsRedeemed(msg.sender, epoch, paid, burned, toTreasury);
        if (burned != 0) ERC20Burnable(address(_token)).burn(burned);
        // burned + toTreasury <= paid * (burnBps + treasuryBps) / 10,000 <= paid.
        uint256 toRecipient;
        unchecked {
            toRecipient = paid - burned - toTreasury;
        }
        if (toRecipient != 0) _token.safeTransfer(msg.sender, toRecipient);
    }
}
