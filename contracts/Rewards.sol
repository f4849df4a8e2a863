// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IBandToken} from "./interfaces/IBandToken.sol";
import {IEpochLedger} from "./interfaces/IEpochLedger.sol";
import {IRewards} from "./interfaces/IRewards.sol";
import {IVesting} from "./interfaces/IVesting.sol";
import {EmissionLib} from "./libraries/EmissionLib.sol";
import {Vesting} from "./Vesting.sol";

/// @title Rewards
/// @notice Mints each finished epoch's usage rewards, pro rata to the value each provider's
/// redemptions burned, under min(emission, k x burned) and the token's cap, into a Vesting contract.
/// @dev Needs the token's MINTER_ROLE. A claim reads the provider's and the epoch's burned values
/// from the ledger, so it is O(1) whatever the number of providers; the sum of the floored shares
/// of an epoch never exceeds its budget, and each share is at most k x the provider's own burn.
contract Rewards is IRewards {
    IEpochLedger private immutable _ledger;
    IBandToken private immutable _token;
    IVesting private immutable _vesting;
    /// @inheritdoc IRewards
    uint256 public immutable cap;

    uint256 private immutable _initialEmission;
    uint256 private immutable _decayPeriodEpochs;
    uint256 private immutable _decayBps;
    uint256 private immutable _kBps;
    uint256 private immutable _vestingEpochs;

    /// @dev Bit (epoch % 256) of word (epoch / 256): a provider that claims every epoch pays for a
    /// fresh slot once per 256 epochs instead of once per claim (~17,000 gas a claim), and
    /// claimMany over consecutive epochs writes one warm word.
    mapping(address provider => mapping(uint256 word => uint256 bits)) private _claimedBits;
    mapping(uint256 epoch => uint256) private _mintedForEpoch;

    /// @notice Validates the schedule, reads the token's cap and deploys the Vesting contract.
    constructor(IEpochLedger ledger_, IBandToken token_, Schedule memory schedule_) {
        if (address(ledger_) == address(0) || address(token_) == address(0)) revert ZeroAddress();
        if (schedule_.decayPeriodEpochs == 0) revert ZeroDecayPeriod();
        if (schedule_.decayBps > EmissionLib.BPS) revert DecayBpsTooHigh(schedule_.decayBps);
        if (schedule_.kBps >= EmissionLib.BPS) revert KBpsTooHigh(schedule_.kBps);
        if (schedule_.vestingEpochs > type(uint64).max) revert VestingTooLong(schedule_.vestingEpochs);
        _ledger = ledger_;
        _token = token_;
        cap = token_.cap();
        if (cap > type(uint128).max) revert CapTooLarge(cap);
        _initialEmission = schedule_.initialEmission;
        _decayPeriodEpochs = schedule_.decayPeriodEpochs;
        _decayBps = schedule_.decayBps;
        _kBps = schedule_.kBps;
        _vestingEpochs = schedule_.vestingEpochs;
        _vesting = new Vesting(token_, ledger_, schedule_.vestingEpochs);
    }

    /// @inheritdoc IRewards
    function claim(uint256 epoch) external returns (uint256 minted) {
        uint256 current = _ledger.currentEpoch();
        minted = _claim(epoch, msg.sender, current, _token.totalSupply());
        _mintAndGrant(msg.sender, minted, current);
    }

    /// @inheritdoc IRewards
    function claimMany(uint256[] calldata epochs) external returns (uint256 minted) {
        uint256 current = _ledger.currentEpoch();
        uint256 supply = _token.totalSupply();
        for (uint256 i = 0; i < epochs.length; ++i) {
            // supply + minted <= cap: each step mints at most the headroom left.
            minted += _claim(epochs[i], msg.sender, current, supply + minted);
        }
        // One mint and one grant for the batch: every claim of the call vests from `current`.
        _mintAndGrant(msg.sender, minted, current);
    }

    /// @inheritdoc IRewards
    function emission(uint256 epoch) public view returns (uint256) {
        return EmissionLib.emission(_initialEmission, _decayPeriodEpochs, _decayBps, epoch);
    }

    /// @inheritdoc IRewards
    function budget(uint256 epoch) external view returns (uint256) {
        (, uint256 burned) = _ledger.epochTotals(epoch);
        return EmissionLib.budget(emission(epoch), burned, _kBps);
    }

    /// @inheritdoc IRewards
    function rewardOf(uint256 epoch, address provider) public view returns (uint256) {
        (, uint256 burnedByProvider) = _ledger.epochAccount(epoch, provider);
        if (burnedByProvider == 0) return 0;
        (, uint256 burned) = _ledger.epochTotals(epoch);
        return EmissionLib.providerReward(EmissionLib.budget(emission(epoch), burned, _kBps), burnedByProvider, burned);
    }

    /// @inheritdoc IRewards
    function claimed(uint256 epoch, address provider) public view returns (bool) {
        return (_claimedBits[provider][epoch >> 8] >> (epoch & 0xff)) & 1 == 1;
    }

    /// @inheritdoc IRewards
    function mintedForEpoch(uint256 epoch) external view returns (uint256) {
        return _mintedForEpoch[epoch];
    }

    /// @inheritdoc IRewards
    function schedule() external view returns (Schedule memory) {
        return Schedule({
            initialEmission: _initialEmission,
            decayPeriodEpochs: _decayPeriodEpochs,
            decayBps: _decayBps,
            kBps: _kBps,
            vestingEpochs: _vestingEpochs
        });
    }

    /// @inheritdoc IRewards
    function ledger() external view returns (IEpochLedger) {
        return _ledger;
    }

    /// @inheritdoc IRewards
    function token() external view returns (IBandToken) {
        return _token;
    }

    /// @inheritdoc IRewards
    function vesting() external view returns (IVesting) {
        return _vesting;
    }

    /// @dev Books one claim and returns what the cap lets it mint, given the supply before it.
    /// Vesting starts in the claiming epoch (`current`), not the rewarded one: a late claim still
    /// vests over the full period, so claiming late never shortens the lock.
    function _claim(uint256 epoch, address provider, uint256 current, uint256 supply)
        private
        returns (uint256 minted)
    {
        if (epoch >= current) revert EpochNotFinished(epoch, current);
        uint256 bits = _claimedBits[provider][epoch >> 8];
        uint256 mask = 1 << (epoch & 0xff);
        if (bits & mask != 0) revert AlreadyClaimed(epoch, provider);
        uint256 reward = rewardOf(epoch, provider);
        if (reward == 0) revert NothingToClaim(epoch, provider);
        _claimedBits[provider][epoch >> 8] = bits | mask;
        // What the cap leaves unminted is dropped, never carried over.
        minted = Math.min(reward, cap > supply ? cap - supply : 0);
        _mintedForEpoch[epoch] += minted;
        emit RewardClaimed(epoch, provider, reward, minted, current);
    }

    /// @dev Mints `amount` into Vesting and grants it to `provider` from epoch `current`.
    function _mintAndGrant(address provider, uint256 amount, uint256 current) private {
        if (amount == 0) return;
        _token.mint(address(_vesting), amount);
        _vesting.grant(provider, amount, current);
    }
}
