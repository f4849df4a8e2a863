// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {BandToken} from "../BandToken.sol";
import {ProviderRegistry} from "../ProviderRegistry.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Bounded handler: a few actors register, update, add stake, unstake, wait and withdraw
/// in random order. Calls that would revert are skipped, so every step changes state.
contract RegistryHandler {
    uint256 internal constant ACTORS = 5;
    uint64 internal constant DELAY = 1 days;

    BandToken public immutable token;
    ProviderRegistry public immutable registry;
    uint256 public stakeGhost; // sum of stakes the handler believes the registry holds

    constructor(BandToken token_, ProviderRegistry registry_) {
        token = token_;
        registry = registry_;
    }

    function actorAt(uint256 i) public pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    function actorCount() external pure returns (uint256) {
        return ACTORS;
    }

    function register(uint256 seed, uint256 stake, uint256 price) external {
        address a = actorAt(seed % ACTORS);
        IProviderRegistry.Provider memory p = registry.getProvider(a);
        if (p.activeSince != 0 || p.unstakeTime != 0) return;
        stake = bound(stake, registry.minStake(), token.balanceOf(a));
        IProviderRegistry.Offer memory offer = IProviderRegistry.Offer({
            endpoint: "https://x", pricePerGiB: bound(price, 1, 1e18), capacityMbps: 100, region: "eu", services: 3
        });
        vm.prank(a);
        registry.register(offer, stake);
        stakeGhost += stake;
    }

    function updateOffer(uint256 seed, uint256 price) external {
        address a = actorAt(seed % ACTORS);
        if (registry.activeSince(a) == 0) return;
        IProviderRegistry.Offer memory offer = IProviderRegistry.Offer({
            endpoint: "https://y", pricePerGiB: bound(price, 1, 1e18), capacityMbps: 5, region: "", services: 1
        });
        vm.prank(a);
        registry.updateOffer(offer);
    }

    function addStake(uint256 seed, uint256 amount) external {
        address a = actorAt(seed % ACTORS);
        uint256 balance = token.balanceOf(a);
        if (registry.activeSince(a) == 0 || balance == 0) return;
        amount = bound(amount, 1, balance);
        vm.prank(a);
        registry.addStake(amount);
        stakeGhost += amount;
    }

    function requestUnstake(uint256 seed) external {
        address a = actorAt(seed % ACTORS);
        if (registry.activeSince(a) == 0) return;
        vm.prank(a);
        registry.requestUnstake();
    }

    function withdrawStake(uint256 seed) external {
        address a = actorAt(seed % ACTORS);
        IProviderRegistry.Provider memory p = registry.getProvider(a);
        if (p.unstakeTime == 0) return;
        if (block.timestamp < p.unstakeTime) vm.warp(p.unstakeTime);
        vm.prank(a);
        registry.withdrawStake();
        stakeGhost -= p.stake;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 0, 2 days));
    }

    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (max <= min) return min;
        return min + (x % (max - min + 1));
    }
}

/// @notice Registry invariants: the active set is exactly the active providers, every active
/// entry is listed once, and the registry's token balance equals the sum of stakes.
contract ProviderRegistryInvariantTest is Test {
    BandToken internal token;
    ProviderRegistry internal registry;
    RegistryHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        address[] memory recipients = new address[](0);
        uint256[] memory amounts = new uint256[](0);
        token = new BandToken("Bandmint", "BAND", 1_000_000 ether, address(this), recipients, amounts);
        registry = new ProviderRegistry(IERC20(address(token)), 10 ether, 1 days);
        handler = new RegistryHandler(token, registry);
        token.grantRole(token.MINTER_ROLE(), address(this));
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            address a = handler.actorAt(i);
            token.mint(a, 1_000 ether);
            vm.prank(a);
            token.approve(address(registry), type(uint256).max);
        }
        targetContract(address(handler));
    }

    function invariant_activeSetMatchesActiveProviders() public view {
        uint256 active = 0;
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            if (registry.activeSince(handler.actorAt(i)) != 0) ++active;
        }
        assertEq(registry.activeProviderCount(), active);
        (address[] memory listed,) = registry.getOffers(0, type(uint256).max);
        assertEq(listed.length, active);
        for (uint256 i = 0; i < listed.length; ++i) {
            assertTrue(registry.activeSince(listed[i]) != 0, "listed provider not active");
            for (uint256 j = 0; j < i; ++j) {
                assertTrue(listed[i] != listed[j], "provider listed twice");
            }
        }
    }

    function invariant_balanceEqualsSumOfStakes() public view {
        uint256 sum = 0;
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            sum += registry.getProvider(handler.actorAt(i)).stake;
        }
        assertEq(token.balanceOf(address(registry)), sum);
        assertEq(handler.stakeGhost(), sum);
    }

    function invariant_stateIsNeverBothActiveAndUnstaking() public view {
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            IProviderRegistry.Provider memory p = registry.getProvider(handler.actorAt(i));
            assertTrue(p.activeSince == 0 || p.unstakeTime == 0, "active and unstaking");
        }
    }
}
