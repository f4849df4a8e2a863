// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IEpochLedger} from "../interfaces/IEpochLedger.sol";

/// @title EpochLedgerMock
/// @notice TEST AID ONLY, never deployed outside tests: an IEpochLedger whose current epoch and
/// per-epoch paid/burned values the test sets directly, so Rewards can be driven without a
/// TicketBroker (rewardMath.diff.test.ts, bench/gas-rewards.ts, contracts/test/Rewards*.t.sol).
/// It lives outside contracts/test because TypeScript tests can only deploy compiled sources.
/// Anyone can call the setters: that is the point.
contract EpochLedgerMock is IEpochLedger {
    uint256 private _currentEpoch;
    mapping(uint256 epoch => mapping(address recipient => uint256)) private _paidTo;
    mapping(uint256 epoch => uint256) private _paid;
    mapping(uint256 epoch => uint256) private _burned;

    /// @notice Sets the epoch `currentEpoch` returns.
    function setCurrentEpoch(uint256 epoch) external {
        _currentEpoch = epoch;
    }

    /// @notice Adds `amount` paid to `recipient` in `epoch`, and to the epoch's total paid.
    function addPaid(uint256 epoch, address recipient, uint256 amount) external {
        _paidTo[epoch][recipient] += amount;
        _paid[epoch] += amount;
    }

    /// @notice Sets the value burned in `epoch`.
    function setBurned(uint256 epoch, uint256 amount) external {
        _burned[epoch] = amount;
    }

    /// @inheritdoc IEpochLedger
    function currentEpoch() external view returns (uint256) {
        return _currentEpoch;
    }

    /// @inheritdoc IEpochLedger
    function epochLength() external pure returns (uint64) {
        return 1 days;
    }

    /// @inheritdoc IEpochLedger
    function genesisTime() external pure returns (uint64) {
        return 0;
    }

    /// @inheritdoc IEpochLedger
    function paidInEpoch(uint256 epoch, address recipient) external view returns (uint256) {
        return _paidTo[epoch][recipient];
    }

    /// @inheritdoc IEpochLedger
    function epochTotals(uint256 epoch) external view returns (uint256 paid, uint256 burned) {
        return (_paid[epoch], _burned[epoch]);
    }
}
