// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title EmissionLib
/// @notice The reward arithmetic shared by Rewards and Vesting. Each function is mirrored bit for
/// bit by src/tokenomics/rewardMath.ts (same operations, floor at the same places); the
/// differential test src/tokenomics/rewardMath.diff.test.ts keeps the two from drifting.
library EmissionLib {
    /// @notice Basis-point denominator.
    uint256 internal constant BPS = 10_000;
    /// @notice Fixed-point unit of the decay factor (1e27): about 90 halvings before it floors to 0.
    uint256 internal constant RAY = 1e27;

    /// @notice (decayBps / 10000) ^ floor(epoch / decayPeriodEpochs) in RAY, by exponentiation by
    /// squaring with a floor after every multiplication. O(log n) whatever the epoch.
    /// @dev x <= RAY and z <= RAY throughout (decayBps <= BPS is a constructor check), so the
    /// products are <= 1e54 and cannot overflow.
    function decayFactor(uint256 decayPeriodEpochs, uint256 decayBps, uint256 epoch) internal pure returns (uint256 z) {
        uint256 n = epoch / decayPeriodEpochs;
        uint256 x = decayBps * (RAY / BPS);
        z = RAY;
        while (n > 0) {
            // A remaining set bit of n would multiply z by 0.
            if (x == 0) return 0;
            if (n & 1 == 1) z = (z * x) / RAY;
            n >>= 1;
            if (n > 0) x = (x * x) / RAY;
        }
    }

    /// @notice Tokens emitted for `epoch`: floor(initialEmission * decayFactor / RAY).
    function emission(uint256 initialEmission, uint256 decayPeriodEpochs, uint256 decayBps, uint256 epoch)
        internal
        pure
        returns (uint256)
    {
        return Math.mulDiv(initialEmission, decayFactor(decayPeriodEpochs, decayBps, epoch), RAY);
    }

    /// @notice min(emission, floor(burned * kBps / 10000)): the self-dealing bound (k < 1).
    function budget(uint256 emission_, uint256 burned, uint256 kBps) internal pure returns (uint256) {
        return Math.min(emission_, Math.mulDiv(burned, kBps, BPS));
    }

    /// @notice floor(budget * burnedByProvider / burnedTotal); 0 when nothing was burned.
    /// @dev With budget <= floor(k * burnedTotal), the result is <= k * burnedByProvider: no
    /// provider gets back more than k times its own burn, whatever the rounding (the self-dealing
    /// bound, exact per provider).
    function providerReward(uint256 budget_, uint256 burnedByProvider, uint256 burnedTotal)
        internal
        pure
        returns (uint256)
    {
        if (burnedTotal == 0) return 0;
        return Math.mulDiv(budget_, burnedByProvider, burnedTotal);
    }

    /// @notice Linear vesting in whole epochs: floor(amount * elapsed / vestingEpochs), all of it once
    /// elapsed >= vestingEpochs, nothing in the start epoch itself (unless vestingEpochs is 0).
    function vested(uint256 amount, uint256 startEpoch, uint256 currentEpoch, uint256 vestingEpochs)
        internal
        pure
        returns (uint256)
    {
        if (currentEpoch <= startEpoch) return vestingEpochs == 0 ? amount : 0;
        uint256 elapsed = currentEpoch - startEpoch;
        if (elapsed >= vestingEpochs) return amount;
        return Math.mulDiv(amount, elapsed, vestingEpochs);
    }
}
