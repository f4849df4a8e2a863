// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {vm} from "../utils/Vm.sol";
import {BandToken} from "../../BandToken.sol";
import {Rewards} from "../../Rewards.sol";
import {IVesting} from "../../interfaces/IVesting.sol";
import {EpochLedgerMock} from "../../mocks/EpochLedgerMock.sol";

/// @notice Bounded actions on Rewards + Vesting for the invariant runner: paid traffic with a burn
/// share, epoch advances, claims, withdrawals and burns (which free headroom under the cap). Ghost
/// variables record what was minted and withdrawn so the invariants can compare.
contract RewardsHandler {
    uint256 internal constant ACTORS = 4;
    uint256 internal constant MAX_EPOCH = 40;

    EpochLedgerMock public ledger;
    BandToken public token;
    Rewards public rewards;
    IVesting public vesting;

    mapping(uint256 epoch => uint256) public burnedGhost;
    mapping(uint256 epoch => uint256) public mintedGhost;
    mapping(uint256 epoch => mapping(address provider => uint256)) public burnedOfGhost;
    mapping(uint256 epoch => mapping(address provider => uint256)) public mintedOfGhost;
    mapping(address provider => uint256) public withdrawnGhost;
    uint256 public claims;
    uint256 public cappedClaims;

    constructor(EpochLedgerMock ledger_, BandToken token_, Rewards rewards_) {
        ledger = ledger_;
        token = token_;
        rewards = rewards_;
        vesting = rewards_.vesting();
    }

    /// @notice The i-th provider address.
    function actorAt(uint256 i) public pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    /// @notice Number of providers.
    function actorCount() external pure returns (uint256) {
        return ACTORS;
    }

    /// @notice Records `amount` paid to a provider this epoch, `burnBps` of it burned (floored, as
    /// the broker does per ticket). One call in four pays dust (1-10 wei), which often burns 0.
    function pay(uint256 actorSeed, uint256 amount, uint256 burnBps) external {
        amount = amount % 4 == 0 ? 1 + (amount >> 2) % 10 : _bound(amount, 1, 1e24);
        burnBps = _bound(burnBps, 0, 10_000);
        uint256 epoch = ledger.currentEpoch();
        address provider = actorAt(actorSeed % ACTORS);
        uint256 burned = amount * burnBps / 10_000;
        ledger.addRedeemed(epoch, provider, amount, burned);
        burnedGhost[epoch] += burned;
        burnedOfGhost[epoch][provider] += burned;
    }

    /// @notice Moves the clock 1-3 epochs forward.
    function advance(uint256 epochs) external {
        uint256 current = ledger.currentEpoch();
        if (current >= MAX_EPOCH) return;
        ledger.setCurrentEpoch(current + _bound(epochs, 1, 3));
    }

    /// @notice A provider claims a finished epoch: the first one from a random start that it can
    /// claim (so that most calls claim something).
    function claim(uint256 actorSeed, uint256 epochSeed) external {
        uint256 current = ledger.currentEpoch();
        address provider = actorAt(actorSeed % ACTORS);
        for (uint256 i = 0; i < current; ++i) {
            uint256 epoch = (epochSeed + i) % current;
            uint256 reward = rewards.rewardOf(epoch, provider);
            if (rewards.claimed(epoch, provider) || reward == 0) continue;
            vm.prank(provider);
            uint256 minted = rewards.claim(epoch);
            mintedGhost[epoch] += minted;
            mintedOfGhost[epoch][provider] += minted;
            ++claims;
            if (minted < reward) ++cappedClaims;
            return;
        }
    }

    /// @notice A provider withdraws what has vested.
    function withdraw(uint256 actorSeed) external {
        address provider = actorAt(actorSeed % ACTORS);
        if (vesting.withdrawableOf(provider) == 0) return;
        vm.prank(provider);
        withdrawnGhost[provider] += vesting.withdraw();
    }

    /// @notice A provider burns part of its balance (frees headroom under the cap).
    function burn(uint256 actorSeed, uint256 amount) external {
        address provider = actorAt(actorSeed % ACTORS);
        uint256 balance = token.balanceOf(provider);
        if (balance == 0) return;
        vm.prank(provider);
        token.burn(_bound(amount, 1, balance));
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + (x % (max - min + 1));
    }
}
