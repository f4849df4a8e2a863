// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IEpochLedger
/// @notice The per-epoch record of paid bandwidth that the TicketBroker keeps and the Rewards
/// contract reads. An epoch is `epochLength` seconds starting at `genesisTime`; epoch 0 is the
/// first. Values are in token units (wei).
///
/// Usage rewards are shared by BURNED value, not paid value (IRewards): the burn is floored per
/// ticket, so a ticket below 10000 / burnBps wei pays without burning, and a share by paid value
/// would let a self-dealer's dust tickets earn from a budget funded by other providers' burn.
/// Each recipient's `burned` is exactly what its redemptions burned (the sum of the per-ticket
/// floors), and the epoch's `burned` is the sum over recipients.
interface IEpochLedger {
    /// @notice The epoch that `block.timestamp` falls in.
    function currentEpoch() external view returns (uint256);

    /// @notice Seconds per epoch.
    function epochLength() external view returns (uint64);

    /// @notice Start of epoch 0 (unix seconds).
    function genesisTime() external view returns (uint64);

    /// @notice Face value paid to `recipient` by tickets redeemed in `epoch` (gross, before the
    /// burn and treasury shares). Equal to the `paid` of `epochAccount`.
    function paidInEpoch(uint256 epoch, address recipient) external view returns (uint256);

    /// @notice What `recipient`'s redemptions in `epoch` paid (gross face value) and, of that,
    /// burned (the sum of each ticket's floored burn share). Rewards shares the epoch's budget by
    /// `burned`.
    function epochAccount(uint256 epoch, address recipient) external view returns (uint256 paid, uint256 burned);

    /// @notice Totals of `epoch`: face value paid to all recipients, and the part of it burned
    /// (the sums of every recipient's `epochAccount`).
    function epochTotals(uint256 epoch) external view returns (uint256 paid, uint256 burned);
}
