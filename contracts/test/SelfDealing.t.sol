// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {BandToken} from "../BandToken.sol";
import {TicketBroker} from "../TicketBroker.sol";
import {Rewards} from "../Rewards.sol";
import {IRewards} from "../interfaces/IRewards.sol";
import {IVesting} from "../interfaces/IVesting.sol";
import {BrokerMockRegistry} from "./handlers/BrokerMockRegistry.sol";
import {RewardsSelfDealingHandler} from "./handlers/RewardsSelfDealingHandler.sol";

/// @notice The self-dealing bound (design.md) on the real BandToken + TicketBroker + Rewards:
/// burnBps 2000, treasuryBps 500, kBps 8000. An attacker that pays itself X burns b·X and can get
/// back at most k·b·X in rewards, so it always ends poorer, whatever the amounts, the epochs and
/// the honest traffic around it. Per-ticket flooring of the burn adds one caveat, shown by
/// test_knownIssue_dustTicketsEscapeTheBurn: it holds for tickets of at least MIN_FACE wei.
contract SelfDealingTest is Test {
    uint16 internal constant BURN_BPS = 2_000;
    uint16 internal constant TREASURY_BPS = 500;
    uint256 internal constant K_BPS = 8_000;
    uint256 internal constant VESTING_EPOCHS = 4;
    /// @dev Smallest face value f with floor(f·b) > k·b·f for every f' >= f: b·f·(1-k) >= 1, i.e.
    /// ceil(1e8 / (burnBps · (10000 - kBps))) = 25 wei.
    uint256 internal constant MIN_FACE = 25;
    uint256 internal constant FUNDS = 1_000_000 ether;
    uint256 internal constant CAP = 1_000_000_000 ether;

    uint256 internal constant ATTACKER_KEY = 0xA77AC;
    uint256 internal constant HONEST_KEY = 0x40E57;
    address internal constant ATTACKER_RECIPIENT = address(0xA77A);
    address internal constant HONEST_RECIPIENT = address(0x40E5);
    address internal constant TREASURY = address(0x7EA5);

    BandToken internal token;
    TicketBroker internal broker;
    Rewards internal rewards;
    IVesting internal vesting;
    RewardsSelfDealingHandler internal handler;
    address internal attackerSender;

    function setUp() public {
        vm.warp(1_700_000_000);
        attackerSender = vm.addr(ATTACKER_KEY);
        address[] memory holders = new address[](2);
        (holders[0], holders[1]) = (attackerSender, vm.addr(HONEST_KEY));
        uint256[] memory amounts = new uint256[](2);
        (amounts[0], amounts[1]) = (FUNDS, FUNDS);
        token = new BandToken("Bandmint", "BAND", CAP, address(this), holders, amounts);
        broker = new TicketBroker(
            token, address(new BrokerMockRegistry()), TREASURY, BURN_BPS, TREASURY_BPS, 7 days, 1 days, 0
        );
        rewards = new Rewards(
            broker,
            token,
            IRewards.Schedule({
                initialEmission: 1_000 ether,
                decayPeriodEpochs: 10,
                decayBps: 5_000,
                kBps: K_BPS,
                vestingEpochs: VESTING_EPOCHS
            })
        );
        token.grantRole(token.MINTER_ROLE(), address(rewards));
        vesting = rewards.vesting();
        handler = _handler(MIN_FACE);
        targetContract(address(handler));
    }

    function _handler(uint256 minFace) internal returns (RewardsSelfDealingHandler h) {
        h = new RewardsSelfDealingHandler(
            token, broker, rewards, minFace, ATTACKER_KEY, ATTACKER_RECIPIENT, HONEST_KEY, HONEST_RECIPIENT
        );
        vm.prank(attackerSender);
        token.approve(address(broker), type(uint256).max);
        vm.prank(vm.addr(HONEST_KEY));
        token.approve(address(broker), type(uint256).max);
    }

    // ------------------------------------------------------------ invariants

    /// @dev Counted generously (unvested grants and unclaimed rewards included), at every step.
    function invariant_selfDealingNeverPays() public view {
        uint256 wealth = handler.attackerWealth();
        if (handler.attackerPaid() == 0) {
            assertEq(wealth, FUNDS, "untouched attacker");
        } else {
            assertLt(wealth, FUNDS);
        }
    }

    function invariant_supplyNeverExceedsCap() public view {
        assertLe(token.totalSupply(), CAP);
    }

    function invariant_epochMintsWithinEmissionAndKTimesBurned() public view {
        uint256 current = broker.currentEpoch();
        for (uint256 e = 0; e <= current; ++e) {
            (, uint256 burned) = broker.epochTotals(e);
            uint256 minted = rewards.mintedForEpoch(e);
            assertLe(minted, rewards.emission(e));
            assertLe(minted, burned * K_BPS / 10_000);
        }
    }

    // ------------------------------------------------------------ full cycle

    /// @dev Self-deal over 1-4 epochs next to honest traffic, claim everything, wait out the
    /// vesting, withdraw everything: strictly poorer.
    function testFuzz_selfDealing_fullCycleLoses(
        uint256 face,
        uint256 count,
        uint256 honestFace,
        uint256 honestCount,
        uint8 epochs
    ) public {
        epochs = uint8(bound(epochs, 1, 4));
        for (uint256 i = 0; i < epochs; ++i) {
            handler.attackerSelfDeal(face >> i, count);
            handler.honestTraffic(honestFace >> i, honestCount);
            vm.warp(block.timestamp + 1 days);
        }
        uint256 current = broker.currentEpoch();
        for (uint256 e = 0; e < current; ++e) {
            if (rewards.rewardOf(e, ATTACKER_RECIPIENT) == 0) continue;
            vm.prank(ATTACKER_RECIPIENT);
            rewards.claim(e);
        }
        vm.warp(block.timestamp + (VESTING_EPOCHS + 1) * 1 days);
        if (vesting.withdrawableOf(ATTACKER_RECIPIENT) != 0) {
            vm.prank(ATTACKER_RECIPIENT);
            vesting.withdraw();
        }
        assertEq(vesting.withdrawnOf(ATTACKER_RECIPIENT), vesting.grantedOf(ATTACKER_RECIPIENT));
        uint256 finalBalance = token.balanceOf(attackerSender) + token.balanceOf(ATTACKER_RECIPIENT);
        assertGt(handler.attackerPaid(), 0);
        assertLt(finalBalance, FUNDS);
        // And by at least the part of the burn the rewards cannot return: (1 - k) · burned.
        assertLe(finalBalance, FUNDS - handler.attackerPaid() * BURN_BPS / 10_000 * (10_000 - K_BPS) / 10_000);
    }

    function test_selfDealing_aloneInTheEpochLosesTheBurnTheRewardsCannotReturn() public {
        handler.attackerSelfDeal(1_000 ether - MIN_FACE, 0); // one ticket of exactly 1000 tokens
        vm.warp(block.timestamp + 1 days);
        vm.prank(ATTACKER_RECIPIENT);
        // burned 200, treasury 50, reward min(1000, 0.8 x 200) = 160: net -90.
        assertEq(rewards.claim(0), 160 ether);
        vm.warp(block.timestamp + VESTING_EPOCHS * 1 days);
        vm.prank(ATTACKER_RECIPIENT);
        vesting.withdraw();
        assertEq(token.balanceOf(attackerSender) + token.balanceOf(ATTACKER_RECIPIENT), FUNDS - 90 ether);
    }

    /// @dev KNOWN ISSUE (reported): the broker floors the burn per ticket, so a ticket below
    /// 10000 / burnBps = 5 wei burns nothing, while the reward share follows the paid value. Next to
    /// honest traffic that burns, an attacker paying itself dust tickets gains a few wei per ticket
    /// (far less than the gas of redeeming them, but the token-only bound breaks). Fix belongs in
    /// the broker/ledger: share rewards by burned value per recipient, or a minimum face value.
    function test_knownIssue_dustTicketsEscapeTheBurn() public {
        RewardsSelfDealingHandler dust = _handler(4);
        dust.honestTraffic(1_000 ether, 0);
        for (uint256 i = 0; i < 10; ++i) {
            dust.attackerSelfDeal(0, 3); // 4 tickets of 4 wei
        }
        assertEq(dust.attackerPaid(), 160);
        vm.warp(block.timestamp + 1 days);
        vm.prank(ATTACKER_RECIPIENT);
        uint256 reward = rewards.claim(0);
        assertGt(reward, 0); // 160 ether budget x 160 / (1000 ether + 160) = 25 wei
        vm.warp(block.timestamp + VESTING_EPOCHS * 1 days);
        vm.prank(ATTACKER_RECIPIENT);
        vesting.withdraw();
        assertEq(token.balanceOf(attackerSender) + token.balanceOf(ATTACKER_RECIPIENT), FUNDS + reward);
    }
}
