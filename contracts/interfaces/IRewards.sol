// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IBandToken} from "./IBandToken.sol";
import {IEpochLedger} from "./IEpochLedger.sol";
import {IVesting} from "./IVesting.sol";

/// @title IRewards
/// @notice Usage rewards per epoch. The epoch's budget is min(emission(e), k x burned(e)) with
/// k = kBps / 10000 < 1, so that paying yourself never earns back what it burns (the self-dealing
/// bound). A provider's share is proportional to the value its redemptions burned in the epoch
/// (IEpochLedger.epochAccount), so its reward is at most k x its own burn, exactly: tickets too
/// small to burn anything (the burn is floored per ticket) earn nothing. Rewards are minted into
/// the Vesting contract and vest linearly. Emission the budget or the supply cap
/// leaves unminted is never minted later (no carry-over).
///
/// emission(e) = floor(initialEmission * f(n) / 1e27) with n = floor(e / decayPeriodEpochs) and
/// f(n) = (decayBps/10000)^n in 1e27 fixed point, by exponentiation by squaring with a floor after
/// every multiplication (EmissionLib; mirrored in src/tokenomics/rewardMath.ts).
interface IRewards {
    /// @notice Deploy-time schedule (all immutable).
    struct Schedule {
        uint256 initialEmission;
        uint256 decayPeriodEpochs;
        uint256 decayBps;
        uint256 kBps;
        uint256 vestingEpochs;
    }

    /// @notice kBps must be < 10000: with k >= 1 self-dealing pays.
    error KBpsTooHigh(uint256 kBps);
    /// @notice decayBps is the share retained per period, at most 10000.
    error DecayBpsTooHigh(uint256 decayBps);
    /// @notice decayPeriodEpochs must be > 0.
    error ZeroDecayPeriod();
    /// @notice vestingEpochs must fit in a uint64.
    error VestingTooLong(uint256 vestingEpochs);
    /// @notice The token's cap exceeds 2^128 - 1, the width Vesting stores amounts in.
    error CapTooLarge(uint256 cap);
    /// @notice The ledger or token address is zero.
    error ZeroAddress();
    /// @notice `epoch` is not over yet: claims are for epochs < `currentEpoch`.
    error EpochNotFinished(uint256 epoch, uint256 currentEpoch);
    /// @notice `provider` already claimed `epoch`.
    error AlreadyClaimed(uint256 epoch, address provider);
    /// @notice `provider`'s reward for `epoch` is zero (nothing burned by its redemptions, or a
    /// zero budget).
    error NothingToClaim(uint256 epoch, address provider);

    /// @notice `provider` claimed `epoch`: `reward` was its share of the budget, `minted` what the
    /// supply cap allowed (the rest is never minted), granted in Vesting from `vestingStartEpoch`.
    event RewardClaimed(
        uint256 indexed epoch, address indexed provider, uint256 reward, uint256 minted, uint256 vestingStartEpoch
    );

    /// @notice Claims the caller's reward for the finished `epoch` and grants it in Vesting; returns
    /// the amount minted. O(1) whatever the number of providers.
    function claim(uint256 epoch) external returns (uint256 minted);

    /// @notice `claim` for each of `epochs` in order; reverts as a whole if any claim would revert.
    function claimMany(uint256[] calldata epochs) external returns (uint256 minted);

    /// @notice Tokens the schedule emits for `epoch` (before the k x burned cap).
    function emission(uint256 epoch) external view returns (uint256);

    /// @notice min(emission(epoch), floor(burned(epoch) * kBps / 10000)), with burned read from the ledger.
    function budget(uint256 epoch) external view returns (uint256);

    /// @notice floor(budget(epoch) * burned(epoch, provider) / burned(epoch)) with the burned values
    /// read from the ledger (epochAccount, epochTotals), claimed or not, before the supply-cap clamp.
    /// At most k x burned(epoch, provider).
    function rewardOf(uint256 epoch, address provider) external view returns (uint256);

    /// @notice Whether `provider` has claimed `epoch`.
    function claimed(uint256 epoch, address provider) external view returns (bool);

    /// @notice Total minted for `epoch`'s claims so far (<= budget(epoch)).
    function mintedForEpoch(uint256 epoch) external view returns (uint256);

    /// @notice The deploy-time schedule.
    function schedule() external view returns (Schedule memory);

    /// @notice The token's supply cap, read once at deployment.
    function cap() external view returns (uint256);

    /// @notice The ledger (TicketBroker) read for burned values and the epoch clock.
    function ledger() external view returns (IEpochLedger);

    /// @notice The token minted (this contract needs its MINTER_ROLE).
    function token() external view returns (IBandToken);

    /// @notice The Vesting contract this one deployed and mints into.
    function vesting() external view returns (IVesting);
}
