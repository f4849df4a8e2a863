// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IProviderRegistryView
/// @notice What the TicketBroker reads from the ProviderRegistry to bound reserve draws: how many
/// providers are active, and since when a given provider has been active.
interface IProviderRegistryView {
    /// @notice Number of currently active providers.
    function activeProviderCount() external view returns (uint256);

    /// @notice Unix time since which `provider` has been continuously active; 0 if not active.
    function activeSince(address provider) external view returns (uint64);
}
