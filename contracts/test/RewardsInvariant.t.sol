// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {BandToken} from "../BandToken.sol";
import {Rewards} from "../Rewards.sol";
import {IRewards} from "../interfaces/IRewards.sol";
import {IVesting} from "../interfaces/IVesting.sol";
import {EpochLedgerMock} from "../mocks/EpochLedgerMock.sol";
import {RewardsHandler} from "./handlers/RewardsHandler.sol";

/// @notice Under random traffic, epoch advances, claims, withdrawals and burns: supply <= cap; each
/// epoch's minted rewards <= emission(e) and <= k x burned(e), and each provider's <= k x its own
/// burn in e (dust payments included); withdrawn <= vested <= granted per
/// provider; Vesting holds exactly what was granted and not withdrawn. The cap (1,500 tokens vs
/// 1,000 per epoch) is small so that the clamp is exercised.
contract RewardsInvariantTest is Test {
    uint256 internal constant CAP = 1_500 ether;
    uint256 internal constant K_BPS = 8_000;

    EpochLedgerMock internal ledger;
    BandToken internal token;
    Rewards internal rewards;
    IVesting internal vesting;
    RewardsHandler internal handler;

    function setUp() public {
        ledger = new EpochLedgerMock();
        token = new BandToken("Bandmint", "BAND", CAP, address(this), new address[](0), new uint256[](0));
        rewards = new Rewards(
            ledger,
            token,
            IRewards.Schedule({
                initialEmission: 1_000 ether, decayPeriodEpochs: 5, decayBps: 7_000, kBps: K_BPS, vestingEpochs: 3
            })
        );
        token.grantRole(token.MINTER_ROLE(), address(rewards));
        vesting = rewards.vesting();
        handler = new RewardsHandler(ledger, token, rewards);
        targetContract(address(handler));
    }

    function invariant_supplyNeverExceedsCap() public view {
        assertLe(token.totalSupply(), CAP);
    }

    function invariant_epochMintsWithinEmissionAndKTimesBurned() public view {
        uint256 current = ledger.currentEpoch();
        for (uint256 e = 0; e <= current; ++e) {
            uint256 minted = rewards.mintedForEpoch(e);
            assertEq(minted, handler.mintedGhost(e), "minted ghost");
            assertLe(minted, rewards.emission(e));
            assertLe(minted, handler.burnedGhost(e) * K_BPS / 10_000);
            assertLe(minted, rewards.budget(e));
        }
    }

    /// @dev The self-dealing bound per provider, exact (shares follow the burned value): what a
    /// provider was minted for an epoch, and what it could still claim, is at most k x its burn.
    function invariant_providerRewardWithinKTimesOwnBurn() public view {
        uint256 current = ledger.currentEpoch();
        for (uint256 e = 0; e <= current; ++e) {
            for (uint256 i = 0; i < handler.actorCount(); ++i) {
                address p = handler.actorAt(i);
                uint256 ownBurn = handler.burnedOfGhost(e, p);
                assertLe(handler.mintedOfGhost(e, p) * 10_000, ownBurn * K_BPS, "minted");
                assertLe(rewards.rewardOf(e, p) * 10_000, ownBurn * K_BPS, "rewardOf");
            }
        }
    }

    function invariant_withdrawnLeVestedLeGranted() public view {
        uint256 held = 0;
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            address p = handler.actorAt(i);
            uint256 granted = vesting.grantedOf(p);
            assertEq(vesting.withdrawnOf(p), handler.withdrawnGhost(p));
            assertLe(vesting.withdrawnOf(p), vesting.vestedOf(p));
            assertLe(vesting.vestedOf(p), granted);
            held += granted - vesting.withdrawnOf(p);
        }
        assertEq(token.balanceOf(address(vesting)), held);
    }
}
