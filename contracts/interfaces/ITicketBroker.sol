// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IProviderRegistryView} from "./IProviderRegistryView.sol";

/// @notice A probabilistic micropayment ticket, exactly as docs/PROTOCOL.md section 1 (field order
/// and types are the EIP-712 type `Ticket(...)`; do not reorder).
struct Ticket {
    address recipient;
    address sender;
    uint256 faceValue;
    uint256 winProb;
    uint256 senderNonce;
    bytes32 recipientRandHash;
    uint64 expiry;
    bytes32 sessionId;
    uint64 cumulativeBytes;
}

/// @title ITicketBroker
/// @notice Holds consumers' (senders') deposits and reserves and pays providers (recipients) for
/// winning tickets, redeemed one at a time or in batches. Every paid amount is split into a burned
/// share, a treasury share and the recipient's share, and recorded per epoch (IEpochLedger).
///
/// Funds: a sender has a `deposit` (pays tickets) and a `reserve` (a penalty escrow that pays
/// recipients only when the deposit is short). Both are withdrawn together after `unlock()` and
/// `unlockPeriod` seconds. Tickets stay redeemable while a sender is unlocking (so the unlock
/// period must exceed the longest ticket validity), and funding while unlocking is allowed and
/// does not cancel the unlock: a sender who wants to keep paying calls `cancelUnlock()`.
///
/// Reserve bound (Livepeer style): on the first draw from a sender's reserve the reserve freezes,
/// recording R = the reserve then, N = max(1, registry.activeProviderCount()) and the freeze time.
/// Only a recipient active since strictly before the freeze may draw, and at most R/N in total per
/// freeze. The at most N such recipients can therefore never take more than R together, so each of
/// them is guaranteed min(W, R/N): a sender who overspends across many providers costs a single
/// provider at most max(0, W - R/N), where W is that provider's unredeemed winning face value.
/// The freeze lasts until the sender withdraws; reserve added while frozen pays out but does not
/// raise the per-recipient allowance.
interface ITicketBroker {
    // ---------------------------------------------------------------- errors

    /// @notice burnBps + treasuryBps exceeds 10,000 (100%).
    error InvalidFeeShares(uint16 burnBps, uint16 treasuryBps);
    /// @notice A constructor address (token, registry or treasury) is zero.
    error ZeroAddress();
    /// @notice The epoch length is zero.
    error ZeroEpochLength();
    /// @notice A funding call moves no tokens.
    error ZeroAmount();
    /// @notice The batch arrays differ in length.
    error LengthMismatch(uint256 tickets, uint256 signatures, uint256 recipientRands);
    /// @notice A batch holds no ticket.
    error EmptyBatch();
    /// @notice A compact batch (`redeemTicketsCompact`) does not parse at byte `offset` of its
    /// `length` bytes: a group header or one of its tickets would run past the end, or a group
    /// declares zero tickets. Nothing is read beyond the end.
    error MalformedBatch(uint256 offset, uint256 length);
    /// @notice The caller is not the ticket's recipient; only the recipient can redeem it.
    error NotTicketRecipient(bytes32 ticketHash, address recipient, address caller);
    /// @notice keccak256(recipientRand) does not match the ticket's commitment.
    error InvalidRecipientRand(bytes32 ticketHash, uint256 recipientRand, bytes32 recipientRandHash);
    /// @notice The ticket expired: it is valid while block.timestamp <= expiry.
    error TicketExpired(bytes32 ticketHash, uint64 expiry, uint256 now);
    /// @notice The signature is not 65 bytes (EIP-2098 compact signatures are rejected on purpose:
    /// the win draw hashes the signature bytes, so one signature must have one encoding).
    error InvalidSignatureLength(bytes32 ticketHash, uint256 length);
    /// @notice The signature is malformed: high s, v not in {27, 28}, or not recoverable.
    error InvalidSignature(bytes32 ticketHash);
    /// @notice The signature is valid but was not made by the ticket's sender.
    error InvalidSigner(bytes32 ticketHash, address signer, address sender);
    /// @notice The ticket lost the draw: keccak256(sig ‖ recipientRand) >= winProb.
    error TicketNotWinning(bytes32 ticketHash, uint256 winProb);
    /// @notice The ticket's nonce is not above the pair's watermark: it was redeemed already, or a
    /// ticket with a higher nonce was (a batch must be in increasing nonce order per sender).
    error TicketNonceUsed(address sender, address recipient, uint256 nonce, uint256 lastNonce);
    /// @notice Neither the deposit nor the reserve (within this recipient's allowance) can pay
    /// anything; the ticket stays redeemable if the sender refills.
    error SenderFundsExhausted(address sender, bytes32 ticketHash);
    /// @notice `withdraw` before the unlock period has passed.
    error UnlockPending(address sender, uint64 withdrawTime, uint256 now);
    /// @notice `withdraw` or `cancelUnlock` without a pending unlock.
    error NotUnlocking(address sender);
    /// @notice `withdraw` in the block in which the caller's reserve froze. Reserve claims are keyed
    /// by the freeze time, so a withdraw, refund and new freeze within that block would count the
    /// old freeze's claims against the new one; waiting one block keeps every freeze distinct.
    error ReserveFrozenThisBlock(address sender, uint64 freezeTime);
    /// @notice `unlock` while already unlocking.
    error AlreadyUnlocking(address sender, uint64 withdrawTime);

    // ---------------------------------------------------------------- events

    /// @notice `sender` added `amount` to its deposit, which is now `deposit`.
    event DepositFunded(address indexed sender, uint256 amount, uint256 deposit);
    /// @notice `sender` added `amount` to its reserve, which is now `reserve`.
    event ReserveFunded(address indexed sender, uint256 amount, uint256 reserve);
    /// @notice `sender` started unlocking; it can withdraw from `withdrawTime`.
    event UnlockStarted(address indexed sender, uint64 withdrawTime);
    /// @notice `sender` cancelled its pending unlock.
    event UnlockCancelled(address indexed sender);
    /// @notice `sender` withdrew its deposit and remaining reserve; its state is cleared.
    event Withdrawn(address indexed sender, uint256 deposit, uint256 reserve);
    /// @notice `sender`'s reserve froze: `reserve` at freeze time, `providers` = N, and the
    /// allowance R/N each eligible recipient may draw.
    event ReserveFrozen(address indexed sender, uint256 reserve, uint256 providers, uint256 allowancePerRecipient);
    /// @notice `recipient` drew `amount` from `sender`'s frozen reserve.
    event ReserveDrawn(address indexed sender, address indexed recipient, uint256 amount);
    /// @notice A ticket was redeemed and `paid` (<= faceValue) taken from its sender. One per ticket.
    event TicketRedeemed(bytes32 indexed ticketHash, address indexed sender, uint256 nonce, uint256 paid);
    /// @notice The tickets of one group of a compact batch (`redeemTicketsCompact`), all from
    /// `sender` with face value `faceValue`, were redeemed, in the order of `ticketHashes` (their
    /// EIP-712 struct hashes). Each paid `faceValue` except the last, which paid `lastPaid`
    /// (<= faceValue): a ticket is paid only partly when its sender's funds run out, and then no
    /// later ticket of that sender can be paid in the same call (it reverts SenderFundsExhausted),
    /// so only a group's last ticket can be short. One per group, in place of a TicketRedeemed per
    /// ticket: 32 bytes of log per ticket instead of a 2,000-gas LOG3.
    event TicketGroupRedeemed(address indexed sender, uint256 faceValue, uint256 lastPaid, bytes32[] ticketHashes);
    /// @notice Totals of one redeem call: gross `paid`, of which `burned` was burned, `treasury`
    /// accrued to the treasury and the rest transferred to `recipient`; recorded in `epoch`.
    event TicketsRedeemed(address indexed recipient, uint256 indexed epoch, uint256 paid, uint256 burned, uint256 treasury);
    /// @notice The accrued treasury share was sent to the treasury.
    event TreasuryFlushed(address indexed treasury, uint256 amount);

    // ---------------------------------------------------------------- sender funds

    /// @notice Adds `amount` to the caller's deposit (pulled with transferFrom; approve first).
    function fundDeposit(uint256 amount) external;

    /// @notice Adds `amount` to the caller's reserve (pulled with transferFrom; approve first).
    function fundReserve(uint256 amount) external;

    /// @notice Adds to the caller's deposit and reserve in one transfer.
    function fundDepositAndReserve(uint256 depositAmount, uint256 reserveAmount) external;

    /// @notice Like `fundDepositAndReserve`, approving the broker first with an EIP-2612 permit for
    /// depositAmount + reserveAmount. A permit that fails (e.g. front-run and already used) is
    /// ignored; the transfer then succeeds if the allowance is there anyway.
    function fundDepositAndReserveWithPermit(
        uint256 depositAmount,
        uint256 reserveAmount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Starts the unlock: the caller can withdraw everything from now + unlockPeriod.
    function unlock() external;

    /// @notice Cancels the caller's pending unlock.
    function cancelUnlock() external;

    /// @notice Pays the caller's deposit and remaining reserve back and clears its state (including
    /// a reserve freeze). Only after `unlock()` and once the unlock period has passed, and not in
    /// the block in which the reserve froze.
    function withdraw() external;

    // ---------------------------------------------------------------- redemption

    /// @notice Redeems one winning ticket; the caller must be its recipient. Reverts with the
    /// ticket's error if it is invalid, and with SenderFundsExhausted if nothing can be paid.
    /// @param ticket The signed ticket.
    /// @param sig Its 65-byte r ‖ s ‖ v signature by ticket.sender (v in {27, 28}, low s).
    /// @param recipientRand The preimage of ticket.recipientRandHash.
    function redeemTicket(Ticket calldata ticket, bytes calldata sig, uint256 recipientRand) external;

    /// @notice Redeems a batch of winning tickets, from any senders, all to the caller. Tickets of
    /// one sender must be in increasing nonce order. Any invalid ticket reverts the whole call
    /// (simulate first and drop bad ones); a ticket the sender can only partly pay is paid partly.
    function redeemTickets(
        Ticket[] calldata tickets,
        bytes[] calldata sigs,
        uint256[] calldata recipientRands
    ) external;

    /// @notice Redeems a batch like `redeemTickets`, from a compact encoding that sends the fields
    /// tickets of one sender share once (docs/protocol/broker.md "Compact batches"). The tickets
    /// and their signatures are the ordinary EIP-712 ones: the broker rebuilds each ticket (its
    /// recipient is the caller, its recipientRandHash is keccak256 of the group's recipientRand)
    /// and each 65-byte r ‖ s ‖ v signature, then checks, draws and pays exactly as
    /// `redeemTickets` does on the same tickets in the same order. Layout, big-endian, packed:
    ///   batch  = group+
    ///   group  = sender (20) ‖ count (1, >= 1) ‖ faceValue (32) ‖ winProb (32) ‖
    ///            recipientRand (32) ‖ sessionId (32) ‖ ticket × count
    ///   ticket = r (32) ‖ yParityAndS (32: v - 27 in the top bit, s below) ‖ senderNonce (8) ‖
    ///            expiry (8) ‖ cumulativeBytes (8)
    /// Reverts with EmptyBatch for no bytes, MalformedBatch if the bytes do not parse exactly, and
    /// otherwise with the same errors as `redeemTickets` (a wrong recipientRand or a ticket of
    /// another recipient surfaces as InvalidSigner, since the rebuilt ticket is not the signed one).
    /// Emits one TicketGroupRedeemed per group instead of a TicketRedeemed per ticket, and the
    /// call's TicketsRedeemed.
    /// @param batch The encoded batch (src/protocol/compactBatch.ts writes it).
    function redeemTicketsCompact(bytes calldata batch) external;

    /// @notice Sends the accrued treasury share to the treasury. Anyone may call.
    function flushTreasury() external;

    // ---------------------------------------------------------------- views

    /// @notice A sender's deposit, reserve and withdraw time (0 = not unlocking).
    function getSender(address sender) external view returns (uint256 deposit, uint256 reserve, uint64 withdrawTime);

    /// @notice The highest nonce redeemed for the pair: the next ticket needs a higher one.
    function lastNonce(address sender, address recipient) external view returns (uint256);

    /// @notice The sender's reserve freeze: time (0 = not frozen), R, N and the allowance R/N.
    function getReserveFreeze(address sender)
        external
        view
        returns (uint64 freezeTime, uint256 reserveAtFreeze, uint256 providers, uint256 allowancePerRecipient);

    /// @notice How much `recipient` has drawn from `sender`'s reserve during the current freeze.
    function reserveClaimed(address sender, address recipient) external view returns (uint256);

    /// @notice How much `recipient` could draw from `sender`'s reserve now (deposit excluded).
    function claimableReserve(address sender, address recipient) external view returns (uint256);

    /// @notice Treasury share accrued and not yet flushed.
    function treasuryAccrued() external view returns (uint256);

    /// @notice The EIP-712 struct hash of a ticket (the ticket's id in events and errors).
    function hashTicket(Ticket calldata ticket) external pure returns (bytes32);

    /// @notice The EIP-712 digest a sender signs for a ticket.
    function ticketDigest(Ticket calldata ticket) external view returns (bytes32);

    /// @notice The EIP-712 domain separator (name "bandmint", version "1").
    function domainSeparator() external view returns (bytes32);

    /// @notice The token deposits are held in (burnable).
    function token() external view returns (IERC20);

    /// @notice The provider registry read for reserve eligibility.
    function registry() external view returns (IProviderRegistryView);

    /// @notice The address the treasury share is flushed to.
    function treasury() external view returns (address);

    /// @notice Share of every paid amount that is burned, in basis points.
    function burnBps() external view returns (uint16);

    /// @notice Share of every paid amount that goes to the treasury, in basis points.
    function treasuryBps() external view returns (uint16);

    /// @notice Seconds between `unlock()` and the earliest `withdraw()`.
    function unlockPeriod() external view returns (uint64);
}
