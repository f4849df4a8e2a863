// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IBandToken} from "./IBandToken.sol";
import {IEpochLedger} from "./IEpochLedger.sol";

/// @title IVesting
/// @notice Holds claimed rewards and releases them linearly over `vestingEpochs` whole epochs.
/// A grant of `amount` made in epoch s has vested amount * (t - s) / vestingEpochs by epoch t, all of
/// it from epoch s + vestingEpochs on; nothing vests in the grant's own epoch. A provider's vested
/// total floors once over its still-vesting grants (not per grant): see Vesting for why, and
/// rewardMath.ts `vestedTotal` for the exact rule. Epochs are the ledger's (TicketBroker's).
interface IVesting {
    /// @notice `caller` is not the Rewards contract, the only one allowed to grant.
    error NotRewards(address caller);
    /// @notice `provider` has nothing vested that it has not already withdrawn.
    error NothingToWithdraw(address provider);

    /// @notice `amount` was granted to `provider`, vesting from epoch `startEpoch`.
    event Granted(address indexed provider, uint256 indexed startEpoch, uint256 amount);
    /// @notice `provider` withdrew `amount` vested tokens.
    event Withdrawn(address indexed provider, uint256 amount);

    /// @notice The Rewards contract that deployed this one and alone may grant.
    function rewards() external view returns (address);

    /// @notice The token held and paid out.
    function token() external view returns (IBandToken);

    /// @notice The ledger whose `currentEpoch` is the vesting clock.
    function ledger() external view returns (IEpochLedger);

    /// @notice Epochs over which a grant vests linearly (0 = immediately).
    function vestingEpochs() external view returns (uint256);

    /// @notice Records a grant of `amount` (already minted to this contract) to `provider`, vesting
    /// from `startEpoch`. Only the Rewards contract; O(1).
    function grant(address provider, uint256 amount, uint256 startEpoch) external;

    /// @notice Sends the caller everything vested and not yet withdrawn; returns the amount.
    /// @dev O(1) plus the tranches that became fully vested since the caller's last withdraw (each
    /// is folded into running sums once and deleted): amortised O(1) per grant, whatever vestingEpochs.
    function withdraw() external returns (uint256 amount);

    /// @notice Total ever granted to `provider`.
    function grantedOf(address provider) external view returns (uint256);

    /// @notice Total `provider` has withdrawn.
    function withdrawnOf(address provider) external view returns (uint256);

    /// @notice Total of `provider`'s grants vested by the current epoch (withdrawn or not).
    function vestedOf(address provider) external view returns (uint256);

    /// @notice What `withdraw` would send `provider` now: vestedOf - withdrawnOf.
    function withdrawableOf(address provider) external view returns (uint256);

    /// @notice Number of `provider`'s tranches not yet folded into the fully vested sum (some may be
    /// fully vested already: folding happens on withdraw).
    function openTranches(address provider) external view returns (uint256);
}
