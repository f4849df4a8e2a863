// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {BandToken} from "../BandToken.sol";
import {Rewards} from "../Rewards.sol";
import {IRewards} from "../interfaces/IRewards.sol";
import {IVesting} from "../interfaces/IVesting.sol";
import {EmissionLib} from "../libraries/EmissionLib.sol";
import {EpochLedgerMock} from "../mocks/EpochLedgerMock.sol";

/// @notice Linear per-epoch vesting of claimed rewards, driven through Rewards.claim.
contract VestingTest is Test {
    uint256 internal constant V = 4;
    address internal constant ALICE = address(0xA11CE);

    EpochLedgerMock internal ledger;
    BandToken internal token;
    Rewards internal rewards;
    IVesting internal vesting;

    function setUp() public {
        ledger = new EpochLedgerMock();
        token = new BandToken("Bandmint", "BAND", 1_000_000 ether, address(this), new address[](0), new uint256[](0));
        rewards = new Rewards(
            ledger,
            token,
            IRewards.Schedule({
                initialEmission: 1_000 ether, decayPeriodEpochs: 1_000, decayBps: 5_000, kBps: 8_000, vestingEpochs: V
            })
        );
        token.grantRole(token.MINTER_ROLE(), address(rewards));
        vesting = rewards.vesting();
    }

    /// @dev ALICE is the only payee of `epoch`, with `burned` burned: her reward is 0.8 x burned.
    function _earn(uint256 epoch, uint256 burned) internal {
        ledger.addRedeemed(epoch, ALICE, burned * 5, burned);
    }

    function _claimAt(uint256 current, uint256 epoch) internal returns (uint256) {
        ledger.setCurrentEpoch(current);
        vm.prank(ALICE);
        return rewards.claim(epoch);
    }

    function _withdraw() internal returns (uint256) {
        vm.prank(ALICE);
        return vesting.withdraw();
    }

    function test_grant_revertsIfNotRewards() public {
        vm.expectRevert(abi.encodeWithSelector(IVesting.NotRewards.selector, address(this)));
        vesting.grant(ALICE, 1, 0);
    }

    function test_withdraw_nothingInTheClaimEpochThenLinear() public {
        _earn(0, 100 ether);
        assertEq(_claimAt(1, 0), 80 ether);
        vm.expectRevert(abi.encodeWithSelector(IVesting.NothingToWithdraw.selector, ALICE));
        _withdraw();
        ledger.setCurrentEpoch(2);
        assertEq(vesting.vestedOf(ALICE), 20 ether);
        vm.expectEmit(address(vesting));
        emit IVesting.Withdrawn(ALICE, 20 ether);
        assertEq(_withdraw(), 20 ether);
        assertEq(token.balanceOf(ALICE), 20 ether);
        ledger.setCurrentEpoch(4);
        assertEq(_withdraw(), 40 ether);
        ledger.setCurrentEpoch(50);
        assertEq(_withdraw(), 20 ether);
        assertEq(vesting.withdrawnOf(ALICE), 80 ether);
        assertEq(vesting.openTranches(ALICE), 0);
        assertEq(token.balanceOf(address(vesting)), 0);
        vm.expectRevert(abi.encodeWithSelector(IVesting.NothingToWithdraw.selector, ALICE));
        _withdraw();
    }

    function test_withdraw_lateClaimStillVestsOverTheFullPeriod() public {
        _earn(0, 100 ether);
        _claimAt(20, 0);
        ledger.setCurrentEpoch(21);
        assertEq(vesting.vestedOf(ALICE), 20 ether);
    }

    function test_withdraw_foldsFullyVestedTranchesOnce() public {
        for (uint256 e = 0; e < 6; ++e) {
            _earn(e, 10 ether);
            _claimAt(e + 1, e); // one tranche per epoch, 8 ether each, starting e + 1
        }
        assertEq(vesting.openTranches(ALICE), 6);
        ledger.setCurrentEpoch(7); // tranches starting 1, 2, 3 are fully vested (7 >= s + 4)
        uint256 expected = 3 * 8 ether + (8 ether * 3) / 4 + (8 ether * 2) / 4 + (8 ether * 1) / 4;
        assertEq(vesting.vestedOf(ALICE), expected);
        assertEq(_withdraw(), expected);
        assertEq(vesting.openTranches(ALICE), 3);
        ledger.setCurrentEpoch(10);
        assertEq(_withdraw(), 48 ether - expected);
        assertEq(vesting.openTranches(ALICE), 0);
    }

    function test_withdraw_zeroVestingIsImmediate() public {
        Rewards r = new Rewards(
            ledger,
            token,
            IRewards.Schedule({
                initialEmission: 1_000 ether, decayPeriodEpochs: 1_000, decayBps: 5_000, kBps: 8_000, vestingEpochs: 0
            })
        );
        token.grantRole(token.MINTER_ROLE(), address(r));
        _earn(0, 10 ether);
        ledger.setCurrentEpoch(1);
        vm.prank(ALICE);
        r.claim(0);
        IVesting v = r.vesting();
        vm.prank(ALICE);
        assertEq(v.withdraw(), 8 ether);
    }

    /// @dev Random claims and withdrawals over time: withdrawn <= vested <= granted, vested matches
    /// the per-tranche formula, and everything is withdrawable V epochs after the last claim.
    function testFuzz_vesting_withdrawnLeVestedLeGranted(uint256 seed) public {
        uint256 current = 0;
        uint256 withdrawnSum = 0;
        uint256[] memory starts = new uint256[](8);
        uint256[] memory amounts = new uint256[](8);
        for (uint256 i = 0; i < 8; ++i) {
            seed = uint256(keccak256(abi.encode(seed)));
            current += 1 + seed % 3; // 1-3 epochs later
            _earn(current - 1, 1 + (seed >> 8) % 1e21);
            amounts[i] = _claimAt(current, current - 1);
            starts[i] = current;
            // Withdraw half of the time, a few epochs later.
            ledger.setCurrentEpoch(current += (seed >> 100) % 3);
            if ((seed >> 200) % 2 == 0 && vesting.withdrawableOf(ALICE) > 0) withdrawnSum += _withdraw();
            // Fully vested tranches count whole; the open ones are floored once on their sum.
            uint256 expectedVested = 0;
            uint256 openWeighted = 0;
            uint256 perTrancheFloors = 0;
            for (uint256 j = 0; j <= i; ++j) {
                if (current >= starts[j] + V) expectedVested += amounts[j];
                else openWeighted += amounts[j] * (current - starts[j]);
                perTrancheFloors += EmissionLib.vested(amounts[j], starts[j], current, V);
            }
            expectedVested += openWeighted / V;
            assertEq(vesting.vestedOf(ALICE), expectedVested, "vested");
            // Against per-tranche floors: never less, and < 1 wei more per tranche.
            assertLe(perTrancheFloors, expectedVested);
            assertLe(expectedVested, perTrancheFloors + i);
            assertEq(vesting.withdrawnOf(ALICE), withdrawnSum, "withdrawn");
            assertLe(withdrawnSum, expectedVested);
            assertLe(expectedVested, vesting.grantedOf(ALICE));
        }
        ledger.setCurrentEpoch(current + V);
        uint256 granted = vesting.grantedOf(ALICE);
        if (granted > withdrawnSum) withdrawnSum += _withdraw();
        assertEq(withdrawnSum, granted);
        assertEq(token.balanceOf(ALICE), granted);
        assertEq(vesting.openTranches(ALICE), 0);
    }
}
