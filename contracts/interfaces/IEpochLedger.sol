// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IEpochLedger
/// @notice The per-epoch record of paid bandwidth that the TicketBroker keeps and the Rewards
/// contract reads. An epoch is `epochLength` seconds starting at `genesisTime`; epoch 0 is the
/// first. Values are in token units (wei).
interface IEpochLedger {
    /// @notice The epoch that `block.timestamp` falls in.
    function currentEpoch() external view returns (uint256);

    /// @notice Seconds per epoch.
    function epochLength() external view returns (uint64);

    /// @notice Start of epoch 0 (unix seconds).
    function genesisTime() external view returns (uint64);

    /// @notice Face value paid to `recipient` by tickets redeemed in `epoch` (gross, before the
    /// burn and treasury shares).
    function paidInEpoch(uint256 epoch, address recipient) external view returns (uint256);

    /// @notice Totals of `epoch`: face value paid to all recipients, and the part of it burned.
    function epochTotals(uint256 epoch) external view returns (uint256 paid, uint256 burned);
}
