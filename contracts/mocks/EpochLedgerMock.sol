// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IEpochLedger} from "../interfaces/IEpochLedger.sol";

/// @title EpochLedgerMock
/// @notice TEST AID ONLY, never deployed outside tests: an IEpochLedger whose current epoch and
/// per-(epoch, recipient) paid/burned values the test sets directly, so Rewards can be driven
/// without a TicketBroker (rewardMath.diff.test.ts, bench/gas-rewards.ts, contracts/test/Rewards*.t.sol).
/// It lives outside contracts/test because TypeScript tests can only deploy compiled sources.
/// Anyone can call the setters: that is the point. Like the broker, it keeps the epoch's totals
/// equal to the sums over recipients, so a test cannot build a ledger the broker never would.
contract EpochLedgerMock is IEpochLedger {
    using SafeCast for uint256;

    /// @dev Packed like the broker's, so that reads cost what the broker's do (bench/gas-rewards.ts).
    struct Account {
        uint128 paid;
        uint128 burned;
    }

    uint256 private _currentEpoch;
    mapping(uint256 epoch => mapping(address recipient => Account)) private _accounts;
    mapping(uint256 epoch => Account) private _totals;

    /// @notice Sets the epoch `currentEpoch` returns.
    function setCurrentEpoch(uint256 epoch) external {
        _currentEpoch = epoch;
    }

    /// @notice Records redemptions by `recipient` in `epoch` that paid `paid` and burned `burned`
    /// (any values: burned is not checked against paid), adding to its account and the totals.
    function addRedeemed(uint256 epoch, address recipient, uint256 paid, uint256 burned) external {
        Account storage a = _accounts[epoch][recipient];
        a.paid = (a.paid + paid).toUint128();
        a.burned = (a.burned + burned).toUint128();
        Account storage t = _totals[epoch];
        t.paid = (t.paid + paid).toUint128();
        t.burned = (t.burned + burned).toUint128();
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
        return _accounts[epoch][recipient].paid;
    }

    /// @inheritdoc IEpochLedger
    function epochAccount(uint256 epoch, address recipient) external view returns (uint256 paid, uint256 burned) {
        Account storage a = _accounts[epoch][recipient];
        return (a.paid, a.burned);
    }

    /// @inheritdoc IEpochLedger
    function epochTotals(uint256 epoch) external view returns (uint256 paid, uint256 burned) {
        Account storage t = _totals[epoch];
        return (t.paid, t.burned);
    }
}
