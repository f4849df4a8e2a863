// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IProviderRegistryView} from "../../interfaces/IProviderRegistryView.sol";

/// @notice The two registry reads the TicketBroker makes, settable by tests.
contract BrokerMockRegistry is IProviderRegistryView {
    uint256 private _count;
    mapping(address provider => uint64) private _since;

    /// @notice Marks `provider` active since `since` (0 = inactive) and sets the active count.
    function set(address provider, uint64 since, uint256 count) external {
        _since[provider] = since;
        _count = count;
    }

    /// @notice Sets the active provider count alone.
    function setCount(uint256 count) external {
        _count = count;
    }

    /// @inheritdoc IProviderRegistryView
    function activeProviderCount() external view returns (uint256) {
        return _count;
    }

    /// @inheritdoc IProviderRegistryView
    function activeSince(address provider) external view returns (uint64) {
        return _since[provider];
    }
}
