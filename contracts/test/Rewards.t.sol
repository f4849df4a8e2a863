// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {BandToken} from "../BandToken.sol";
import {Rewards} from "../Rewards.sol";
import {IRewards} from "../interfaces/IRewards.sol";
import {IVesting} from "../interfaces/IVesting.sol";
import {IEpochLedger} from "../interfaces/IEpochLedger.sol";
import {IBandToken} from "../interfaces/IBandToken.sol";
import {EpochLedgerMock} from "../mocks/EpochLedgerMock.sol";

/// @notice Rewards against a ledger whose per-provider paid/burned values the test sets.
contract RewardsTest is Test {
    uint256 internal constant CAP = 1_000_000 ether;
    uint256 internal constant EMISSION = 1_000 ether;

    EpochLedgerMock internal ledger;
    BandToken internal token;
    Rewards internal rewards;
    IVesting internal vesting;

    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function setUp() public {
        ledger = new EpochLedgerMock();
        token = new BandToken("Bandmint", "BAND", CAP, address(this), new address[](0), new uint256[](0));
        rewards = new Rewards(ledger, token, _schedule(8_000, 4));
        token.grantRole(token.MINTER_ROLE(), address(rewards));
        vesting = rewards.vesting();
    }

    function _schedule(uint256 kBps, uint256 vestingEpochs) internal pure returns (IRewards.Schedule memory) {
        return IRewards.Schedule({
            initialEmission: EMISSION,
            decayPeriodEpochs: 10,
            decayBps: 5_000,
            kBps: kBps,
            vestingEpochs: vestingEpochs
        });
    }

    function _deploy(IRewards.Schedule memory s) internal returns (Rewards) {
        return new Rewards(ledger, token, s);
    }

    // ------------------------------------------------------------ constructor

    function test_constructor_revertsIfKIsOneOrMore() public {
        vm.expectRevert(abi.encodeWithSelector(IRewards.KBpsTooHigh.selector, 10_000));
        this.deployExternal(_schedule(10_000, 4));
        vm.expectRevert(abi.encodeWithSelector(IRewards.KBpsTooHigh.selector, 15_000));
        this.deployExternal(_schedule(15_000, 4));
    }

    function test_constructor_revertsOnBadSchedule() public {
        IRewards.Schedule memory s = _schedule(8_000, 4);
        s.decayPeriodEpochs = 0;
        vm.expectRevert(IRewards.ZeroDecayPeriod.selector);
        this.deployExternal(s);
        s = _schedule(8_000, 4);
        s.decayBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(IRewards.DecayBpsTooHigh.selector, 10_001));
        this.deployExternal(s);
        s = _schedule(8_000, uint256(type(uint64).max) + 1);
        vm.expectRevert(abi.encodeWithSelector(IRewards.VestingTooLong.selector, uint256(type(uint64).max) + 1));
        this.deployExternal(s);
        BandToken huge = new BandToken("H", "H", uint256(type(uint128).max) + 1, address(0), new address[](0), new uint256[](0));
        vm.expectRevert(abi.encodeWithSelector(IRewards.CapTooLarge.selector, uint256(type(uint128).max) + 1));
        new Rewards(ledger, huge, _schedule(8_000, 4));
        vm.expectRevert(IRewards.ZeroAddress.selector);
        new Rewards(IEpochLedger(address(0)), token, _schedule(8_000, 4));
    }

    /// @dev External so that expectRevert sees the constructor's revert at the next call depth.
    function deployExternal(IRewards.Schedule memory s) external returns (Rewards) {
        return _deploy(s);
    }

    function test_constructor_readsCapAndDeploysVesting() public view {
        assertEq(rewards.cap(), CAP);
        assertEq(vesting.rewards(), address(rewards));
        assertEq(vesting.vestingEpochs(), 4);
        assertEq(address(vesting.token()), address(token));
    }

    // ------------------------------------------------------------ emission and budget

    function test_emission_halvesEveryPeriod() public view {
        assertEq(rewards.emission(0), EMISSION);
        assertEq(rewards.emission(9), EMISSION);
        assertEq(rewards.emission(10), EMISSION / 2);
        assertEq(rewards.emission(45), EMISSION / 16);
        assertEq(rewards.emission(type(uint256).max), 0);
    }

    function test_budget_isMinOfEmissionAndKTimesBurned() public {
        ledger.addRedeemed(0, ALICE, 500 ether, 100 ether);
        assertEq(rewards.budget(0), 80 ether);
        ledger.addRedeemed(0, BOB, 49_500 ether, 9_900 ether); // 10,000 burned in all
        assertEq(rewards.budget(0), EMISSION);
    }

    // ------------------------------------------------------------ claim

    function test_claim_paysProRataShareIntoVesting() public {
        ledger.addRedeemed(0, ALICE, 300 ether, 60 ether);
        ledger.addRedeemed(0, BOB, 100 ether, 20 ether); // budget = 0.8 x 80 = 64 ether
        ledger.setCurrentEpoch(1);
        vm.expectEmit(address(rewards));
        emit IRewards.RewardClaimed(0, ALICE, 48 ether, 48 ether, 1);
        vm.prank(ALICE);
        assertEq(rewards.claim(0), 48 ether);
        vm.prank(BOB);
        rewards.claim(0);
        assertEq(vesting.grantedOf(ALICE), 48 ether);
        assertEq(vesting.grantedOf(BOB), 16 ether);
        assertEq(token.balanceOf(address(vesting)), 64 ether);
        assertEq(rewards.mintedForEpoch(0), 64 ether);
        assertTrue(rewards.claimed(0, ALICE));
    }

    function test_claim_revertsIfEpochNotFinished() public {
        ledger.addRedeemed(3, ALICE, 5 ether, 1 ether);
        ledger.setCurrentEpoch(3);
        vm.expectRevert(abi.encodeWithSelector(IRewards.EpochNotFinished.selector, 3, 3));
        vm.prank(ALICE);
        rewards.claim(3);
    }

    function test_claim_revertsIfAlreadyClaimed() public {
        ledger.addRedeemed(0, ALICE, 5 ether, 1 ether);
        ledger.setCurrentEpoch(1);
        vm.prank(ALICE);
        rewards.claim(0);
        vm.expectRevert(abi.encodeWithSelector(IRewards.AlreadyClaimed.selector, 0, ALICE));
        vm.prank(ALICE);
        rewards.claim(0);
    }

    function test_claim_revertsIfNothingToClaim() public {
        ledger.addRedeemed(0, ALICE, 1 ether, 0); // nothing burned: zero budget
        ledger.setCurrentEpoch(1);
        vm.expectRevert(abi.encodeWithSelector(IRewards.NothingToClaim.selector, 0, ALICE));
        vm.prank(ALICE);
        rewards.claim(0);
        vm.expectRevert(abi.encodeWithSelector(IRewards.NothingToClaim.selector, 0, BOB));
        vm.prank(BOB);
        rewards.claim(0);
    }

    function test_claim_clampsToCapAndNeverMintsTheRest() public {
        BandToken small = new BandToken("B", "B", 100 ether, address(this), _one(address(this)), _one(90 ether));
        Rewards r = new Rewards(ledger, small, _schedule(8_000, 0));
        small.grantRole(small.MINTER_ROLE(), address(r));
        ledger.addRedeemed(0, ALICE, 5_000 ether, 1_000 ether);
        ledger.addRedeemed(0, BOB, 5_000 ether, 1_000 ether); // budget = emission = 1000 ether, 500 each
        ledger.setCurrentEpoch(1);
        vm.expectEmit(address(r));
        emit IRewards.RewardClaimed(0, ALICE, 500 ether, 10 ether, 1);
        vm.prank(ALICE);
        assertEq(r.claim(0), 10 ether);
        assertEq(small.totalSupply(), 100 ether);
        // Headroom freed later by a burn is not used to top up ALICE: no carry-over.
        small.burn(50 ether);
        vm.prank(BOB);
        assertEq(r.claim(0), 50 ether);
        assertEq(r.mintedForEpoch(0), 60 ether);
        assertEq(small.totalSupply(), 100 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewards.AlreadyClaimed.selector, 0, ALICE));
        vm.prank(ALICE);
        r.claim(0);
    }

    function test_claimMany_claimsEveryEpochAndIsAtomic() public {
        for (uint256 e = 0; e < 3; ++e) {
            ledger.addRedeemed(e, ALICE, 50 ether, 10 ether); // reward 8 ether each
        }
        ledger.setCurrentEpoch(3);
        uint256[] memory epochs = new uint256[](3);
        (epochs[0], epochs[1], epochs[2]) = (0, 1, 3);
        vm.expectRevert(abi.encodeWithSelector(IRewards.EpochNotFinished.selector, 3, 3));
        vm.prank(ALICE);
        rewards.claimMany(epochs);
        assertFalse(rewards.claimed(0, ALICE));
        epochs[2] = 2;
        vm.prank(ALICE);
        assertEq(rewards.claimMany(epochs), 24 ether);
        assertEq(vesting.grantedOf(ALICE), 24 ether);
        assertEq(vesting.openTranches(ALICE), 1); // same claim epoch: one merged tranche
    }

    function test_claimMany_clampsAtTheCapWithinTheBatch() public {
        BandToken small = new BandToken("B", "B", 100 ether, address(this), new address[](0), new uint256[](0));
        Rewards r = new Rewards(ledger, small, _schedule(8_000, 0));
        small.grantRole(small.MINTER_ROLE(), address(r));
        for (uint256 e = 0; e < 3; ++e) {
            ledger.addRedeemed(e, ALICE, 500 ether, 100 ether); // reward 80 ether each
        }
        ledger.setCurrentEpoch(3);
        uint256[] memory epochs = new uint256[](3);
        (epochs[0], epochs[1], epochs[2]) = (0, 1, 2);
        vm.prank(ALICE);
        assertEq(r.claimMany(epochs), 100 ether);
        assertEq(r.mintedForEpoch(0), 80 ether);
        assertEq(r.mintedForEpoch(1), 20 ether);
        assertEq(r.mintedForEpoch(2), 0);
        assertTrue(r.claimed(2, ALICE));
        assertEq(small.totalSupply(), 100 ether);
        assertEq(r.vesting().grantedOf(ALICE), 100 ether);
    }

    function test_claimed_bitmapKeepsEpochsAndProvidersApart() public {
        IRewards.Schedule memory flat = _schedule(8_000, 4);
        flat.decayBps = 10_000; // still emitting at epoch 2^40
        rewards = _deploy(flat);
        token.grantRole(token.MINTER_ROLE(), address(rewards));
        uint256[4] memory es = [uint256(255), 256, 511, 1 << 40];
        for (uint256 i = 0; i < es.length; ++i) {
            ledger.addRedeemed(es[i], ALICE, 1 ether, 0.2 ether);
            ledger.addRedeemed(es[i], BOB, 1 ether, 0.2 ether);
        }
        ledger.setCurrentEpoch((1 << 40) + 1); // Vesting stores epochs as uint64
        for (uint256 i = 0; i < es.length; ++i) {
            vm.prank(ALICE);
            rewards.claim(es[i]);
            assertTrue(rewards.claimed(es[i], ALICE));
            assertFalse(rewards.claimed(es[i], BOB));
        }
        assertFalse(rewards.claimed(254, ALICE));
        assertFalse(rewards.claimed(257, ALICE));
        assertFalse(rewards.claimed(512, ALICE));
        vm.expectRevert(abi.encodeWithSelector(IRewards.AlreadyClaimed.selector, 256, ALICE));
        vm.prank(ALICE);
        rewards.claim(256);
        vm.prank(BOB);
        rewards.claim(256);
    }

    /// @dev Shares follow the burned value, not the paid one: a provider paid as much as another
    /// but burning nothing (dust tickets) gets nothing.
    function test_rewardOf_sharesByBurnedNotPaid() public {
        ledger.addRedeemed(0, ALICE, 100 ether, 0);
        ledger.addRedeemed(0, BOB, 100 ether, 20 ether); // budget 16 ether
        ledger.addRedeemed(0, address(0xCAFE), 1 ether, 5 ether);
        ledger.setCurrentEpoch(1);
        assertEq(rewards.budget(0), 20 ether);
        assertEq(rewards.rewardOf(0, ALICE), 0);
        assertEq(rewards.rewardOf(0, BOB), 16 ether);
        assertEq(rewards.rewardOf(0, address(0xCAFE)), 4 ether);
        vm.expectRevert(abi.encodeWithSelector(IRewards.NothingToClaim.selector, 0, ALICE));
        vm.prank(ALICE);
        rewards.claim(0);
    }

    function testFuzz_claim_sharesSumToAtMostTheBudget(
        uint96 a,
        uint96 b,
        uint96 c,
        uint128 paidSeed,
        uint16 epoch
    ) public {
        address[3] memory ps = [ALICE, BOB, address(0xCAFE)];
        uint256[3] memory burned = [uint256(a), uint256(b), uint256(c)];
        for (uint256 i = 0; i < 3; ++i) {
            // The paid value is anything: only the burned value may count.
            ledger.addRedeemed(epoch, ps[i], uint256(keccak256(abi.encode(paidSeed, i))) % 2 ** 100, burned[i]);
        }
        ledger.setCurrentEpoch(uint256(epoch) + 1);
        uint256 total = uint256(a) + b + c;
        uint256 budget = rewards.budget(epoch);
        assertLe(budget, rewards.emission(epoch));
        assertLe(budget, total * 8_000 / 10_000);
        uint256 sum = 0;
        for (uint256 i = 0; i < 3; ++i) {
            uint256 expected = total == 0 ? 0 : budget * burned[i] / total;
            assertEq(rewards.rewardOf(epoch, ps[i]), expected, "rewardOf");
            // The bound per provider, exact: reward x 10000 <= kBps x own burn.
            assertLe(expected * 10_000, burned[i] * 8_000, "k x own burn");
            if (expected == 0) continue;
            vm.prank(ps[i]);
            sum += rewards.claim(epoch);
        }
        assertLe(sum, budget);
        assertEq(rewards.mintedForEpoch(epoch), sum);
        // Floors lose less than one wei per provider.
        if (total != 0) assertLt(budget - sum, 3);
    }

    function _one(address a) internal pure returns (address[] memory arr) {
        arr = new address[](1);
        arr[0] = a;
    }

    function _one(uint256 v) internal pure returns (uint256[] memory arr) {
        arr = new uint256[](1);
        arr[0] = v;
    }
}
