// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {BandToken} from "../BandToken.sol";
import {ProviderRegistry} from "../ProviderRegistry.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {IProviderRegistryView} from "../interfaces/IProviderRegistryView.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

contract ProviderRegistryTest is Test {
    uint256 internal constant MIN_STAKE = 100 ether;
    uint64 internal constant DELAY = 7 days;
    uint256 internal constant T0 = 1_700_000_000;

    BandToken internal token;
    ProviderRegistry internal registry;
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    address internal carol = address(0xCA201);
    address internal dave = address(0xDA7E);

    function setUp() public {
        vm.warp(T0);
        address[] memory recipients = new address[](4);
        uint256[] memory amounts = new uint256[](4);
        recipients[0] = alice;
        recipients[1] = bob;
        recipients[2] = carol;
        recipients[3] = dave;
        for (uint256 i = 0; i < 4; ++i) {
            amounts[i] = 10_000 ether;
        }
        token = new BandToken("Bandmint", "BAND", 1_000_000 ether, address(this), recipients, amounts);
        registry = new ProviderRegistry(IERC20(address(token)), MIN_STAKE, DELAY);
        for (uint256 i = 0; i < 4; ++i) {
            vm.prank(recipients[i]);
            token.approve(address(registry), type(uint256).max);
        }
    }

    function _offer(string memory endpoint) internal pure returns (IProviderRegistry.Offer memory) {
        return IProviderRegistry.Offer({
            endpoint: endpoint, pricePerGiB: 1e15, capacityMbps: 1000, region: "eu-west", services: 1
        });
    }

    function _register(address who, string memory endpoint, uint256 stake) internal {
        vm.prank(who);
        registry.register(_offer(endpoint), stake);
    }

    function _repeat(bytes1 c, uint256 n) internal pure returns (string memory) {
        bytes memory b = new bytes(n);
        for (uint256 i = 0; i < n; ++i) {
            b[i] = c;
        }
        return string(b);
    }

    function _assertOffer(IProviderRegistry.Offer memory a, IProviderRegistry.Offer memory b) internal pure {
        assertEq(a.endpoint, b.endpoint);
        assertEq(a.pricePerGiB, b.pricePerGiB);
        assertEq(uint256(a.capacityMbps), uint256(b.capacityMbps));
        assertEq(a.region, b.region);
        assertEq(uint256(a.services), uint256(b.services));
    }

    // --- constructor and views ---

    function test_constructor_setsParameters() public view {
        assertEq(registry.minStake(), MIN_STAKE);
        assertEq(uint256(registry.unstakeDelay()), uint256(DELAY));
        assertEq(registry.token(), address(token));
        assertEq(registry.activeProviderCount(), 0);
        assertEq(uint256(registry.activeSince(alice)), 0);
    }

    function test_constructor_revertsIfDelayTooLong() public {
        uint64 maxDelay = registry.MAX_UNSTAKE_DELAY();
        new ProviderRegistry(IERC20(address(token)), 0, maxDelay); // the limit itself is fine
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.UnstakeDelayTooLong.selector, maxDelay + 1, maxDelay)
        );
        new ProviderRegistry(IERC20(address(token)), 0, maxDelay + 1);
    }

    function test_implementsRegistryView() public {
        _register(alice, "https://a.example", MIN_STAKE);
        IProviderRegistryView view_ = IProviderRegistryView(address(registry));
        assertEq(view_.activeProviderCount(), 1);
        assertEq(uint256(view_.activeSince(alice)), T0);
    }

    // --- register ---

    function test_register_storesOfferPullsStakeAndEmits() public {
        IProviderRegistry.Offer memory offer = IProviderRegistry.Offer({
            endpoint: "https://alice.example:8443", pricePerGiB: 5e16, capacityMbps: 2500, region: "us-east", services: 3
        });
        vm.expectEmit(true, false, false, true, address(registry));
        emit IProviderRegistry.ProviderRegistered(alice, 150 ether, uint64(T0));
        vm.expectEmit(true, false, false, true, address(registry));
        emit IProviderRegistry.OfferUpdated(alice, offer.endpoint, 5e16, 2500, "us-east", 3);
        vm.prank(alice);
        registry.register(offer, 150 ether);

        assertEq(token.balanceOf(address(registry)), 150 ether);
        assertEq(token.balanceOf(alice), 10_000 ether - 150 ether);
        assertEq(registry.activeProviderCount(), 1);
        assertEq(uint256(registry.activeSince(alice)), T0);
        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        _assertOffer(p.offer, offer);
        assertEq(p.stake, 150 ether);
        assertEq(uint256(p.activeSince), T0);
        assertEq(uint256(p.unstakeTime), 0);
    }

    function test_register_acceptsExactlyMinStake() public {
        _register(alice, "https://a", MIN_STAKE);
        assertEq(registry.getProvider(alice).stake, MIN_STAKE);
    }

    function test_register_revertsBelowMinStake() public {
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.StakeBelowMinimum.selector, MIN_STAKE - 1, MIN_STAKE)
        );
        _register(alice, "https://a", MIN_STAKE - 1);
    }

    function test_register_revertsIfAlreadyRegistered() public {
        _register(alice, "https://a", MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.AlreadyRegistered.selector, alice));
        _register(alice, "https://a2", MIN_STAKE);
    }

    function test_register_revertsWhileUnstaking() public {
        _register(alice, "https://a", MIN_STAKE);
        vm.prank(alice);
        registry.requestUnstake();
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.AlreadyRegistered.selector, alice));
        _register(alice, "https://a", MIN_STAKE);
    }

    function test_register_revertsWithoutAllowance() public {
        vm.prank(alice);
        token.approve(address(registry), MIN_STAKE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(registry), MIN_STAKE - 1, MIN_STAKE
            )
        );
        _register(alice, "https://a", MIN_STAKE);
        assertEq(registry.activeProviderCount(), 0);
    }

    function test_register_revertsWithoutBalance() public {
        address poor = address(0x9009);
        vm.prank(poor);
        token.approve(address(registry), type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, poor, 0, MIN_STAKE)
        );
        _register(poor, "https://p", MIN_STAKE);
    }

    function test_register_revertsIfEndpointEmpty() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidEndpoint.selector, 0, 256));
        _register(alice, "", MIN_STAKE);
    }

    function test_register_revertsIfEndpointTooLong() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidEndpoint.selector, 257, 256));
        _register(alice, _repeat("x", 257), MIN_STAKE);
    }

    function test_register_acceptsEndpointAtMaxLength() public {
        _register(alice, _repeat("x", 256), MIN_STAKE);
        assertEq(bytes(registry.getProvider(alice).offer.endpoint).length, 256);
    }

    function test_register_revertsIfRegionTooLong() public {
        IProviderRegistry.Offer memory offer = _offer("https://a");
        offer.region = _repeat("r", 33);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidRegion.selector, 33, 32));
        vm.prank(alice);
        registry.register(offer, MIN_STAKE);
    }

    function test_register_acceptsRegionAtMaxLengthAndEmpty() public {
        IProviderRegistry.Offer memory offer = _offer("https://a");
        offer.region = _repeat("r", 32);
        vm.prank(alice);
        registry.register(offer, MIN_STAKE);
        offer.region = "";
        vm.prank(bob);
        registry.register(offer, MIN_STAKE);
        assertEq(registry.activeProviderCount(), 2);
    }

    function test_register_revertsIfPriceZero() public {
        IProviderRegistry.Offer memory offer = _offer("https://a");
        offer.pricePerGiB = 0;
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidPrice.selector, 0));
        vm.prank(alice);
        registry.register(offer, MIN_STAKE);
    }

    function test_register_revertsIfServicesZero() public {
        IProviderRegistry.Offer memory offer = _offer("https://a");
        offer.services = 0;
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidServices.selector, 0));
        vm.prank(alice);
        registry.register(offer, MIN_STAKE);
    }

    function testFuzz_register_servicesValidIffOneToThree(uint8 services) public {
        IProviderRegistry.Offer memory offer = _offer("https://a");
        offer.services = services;
        if (services == 0 || services > 3) {
            vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidServices.selector, services));
        }
        vm.prank(alice);
        registry.register(offer, MIN_STAKE);
        assertEq(registry.activeProviderCount(), services == 0 || services > 3 ? 0 : 1);
    }

    function testFuzz_register_pullsExactlyTheStake(uint256 stake) public {
        stake = bound(stake, MIN_STAKE, 10_000 ether);
        _register(alice, "https://a", stake);
        assertEq(token.balanceOf(address(registry)), stake);
        assertEq(token.balanceOf(alice), 10_000 ether - stake);
        assertEq(registry.getProvider(alice).stake, stake);
    }

    function testFuzz_register_endpointLength(uint256 length) public {
        length = bound(length, 0, 400);
        if (length == 0 || length > 256) {
            vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidEndpoint.selector, length, 256));
        }
        _register(alice, _repeat("e", length), MIN_STAKE);
    }

    function test_register_zeroMinStakeRegistryAcceptsZeroStake() public {
        ProviderRegistry free = new ProviderRegistry(IERC20(address(token)), 0, 0);
        vm.prank(alice);
        free.register(_offer("https://a"), 0);
        assertEq(uint256(free.activeSince(alice)), T0);
        vm.prank(alice);
        free.requestUnstake();
        vm.prank(alice);
        free.withdrawStake(); // delay 0: immediately
        assertEq(uint256(free.getProvider(alice).unstakeTime), 0);
    }

    // --- updateOffer ---

    function test_updateOffer_replacesOfferAndEmits() public {
        _register(alice, "https://a", MIN_STAKE);
        IProviderRegistry.Offer memory offer = IProviderRegistry.Offer({
            endpoint: "https://new.example", pricePerGiB: 7, capacityMbps: 10, region: "ap", services: 2
        });
        vm.expectEmit(true, false, false, true, address(registry));
        emit IProviderRegistry.OfferUpdated(alice, "https://new.example", 7, 10, "ap", 2);
        vm.prank(alice);
        registry.updateOffer(offer);
        _assertOffer(registry.getProvider(alice).offer, offer);
        (, IProviderRegistry.Offer[] memory offers) = registry.getOffers(0, 10);
        _assertOffer(offers[0], offer);
        assertEq(uint256(registry.activeSince(alice)), T0); // unchanged
    }

    function test_updateOffer_revertsIfNeverRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotActive.selector, alice));
        vm.prank(alice);
        registry.updateOffer(_offer("https://a"));
    }

    function test_updateOffer_revertsWhileUnstaking() public {
        _register(alice, "https://a", MIN_STAKE);
        vm.prank(alice);
        registry.requestUnstake();
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotActive.selector, alice));
        vm.prank(alice);
        registry.updateOffer(_offer("https://b"));
    }

    function test_updateOffer_revertsIfInvalid() public {
        _register(alice, "https://a", MIN_STAKE);
        IProviderRegistry.Offer memory offer = _offer("https://a");
        offer.services = 4;
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.InvalidServices.selector, 4));
        vm.prank(alice);
        registry.updateOffer(offer);
    }

    // --- addStake ---

    function test_addStake_increasesStakeAndEmits() public {
        _register(alice, "https://a", MIN_STAKE);
        vm.expectEmit(true, false, false, true, address(registry));
        emit IProviderRegistry.StakeAdded(alice, 25 ether, MIN_STAKE + 25 ether);
        vm.prank(alice);
        registry.addStake(25 ether);
        assertEq(registry.getProvider(alice).stake, MIN_STAKE + 25 ether);
        assertEq(token.balanceOf(address(registry)), MIN_STAKE + 25 ether);
    }

    function test_addStake_revertsIfZero() public {
        _register(alice, "https://a", MIN_STAKE);
        vm.expectRevert(IProviderRegistry.ZeroAmount.selector);
        vm.prank(alice);
        registry.addStake(0);
    }

    function test_addStake_revertsIfNotActive() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotActive.selector, alice));
        vm.prank(alice);
        registry.addStake(1 ether);
    }

    // --- requestUnstake ---

    function test_requestUnstake_leavesActiveSetAndEmits() public {
        _register(alice, "https://a", MIN_STAKE);
        _register(bob, "https://b", MIN_STAKE);
        vm.warp(T0 + 100);
        vm.expectEmit(true, false, false, true, address(registry));
        emit IProviderRegistry.UnstakeRequested(alice, MIN_STAKE, uint64(T0 + 100 + DELAY));
        vm.prank(alice);
        registry.requestUnstake();
        assertEq(registry.activeProviderCount(), 1);
        assertEq(uint256(registry.activeSince(alice)), 0);
        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(uint256(p.unstakeTime), T0 + 100 + DELAY);
        assertEq(p.stake, MIN_STAKE);
        (address[] memory providers,) = registry.getOffers(0, 10);
        assertEq(providers.length, 1);
        assertEq(providers[0], bob);
    }

    function test_requestUnstake_revertsIfNotActive() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotActive.selector, alice));
        vm.prank(alice);
        registry.requestUnstake();
    }

    function test_requestUnstake_revertsIfAlreadyUnstaking() public {
        _register(alice, "https://a", MIN_STAKE);
        vm.prank(alice);
        registry.requestUnstake();
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotActive.selector, alice));
        vm.prank(alice);
        registry.requestUnstake();
    }

    // --- withdrawStake ---

    function test_withdrawStake_revertsBeforeDelayWithUnlockTime() public {
        _register(alice, "https://a", MIN_STAKE);
        vm.prank(alice);
        registry.requestUnstake();
        vm.warp(T0 + DELAY - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.StakeLocked.selector, alice, uint64(T0 + DELAY), T0 + DELAY - 1)
        );
        vm.prank(alice);
        registry.withdrawStake();
    }

    function test_withdrawStake_paysBackAtUnlockTimeAndForgets() public {
        _register(alice, "https://a", 300 ether);
        vm.prank(alice);
        registry.requestUnstake();
        vm.warp(T0 + DELAY);
        vm.expectEmit(true, false, false, true, address(registry));
        emit IProviderRegistry.StakeWithdrawn(alice, 300 ether);
        vm.prank(alice);
        registry.withdrawStake();
        assertEq(token.balanceOf(alice), 10_000 ether);
        assertEq(token.balanceOf(address(registry)), 0);
        IProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(p.stake, 0);
        assertEq(uint256(p.unstakeTime), 0);
        assertEq(bytes(p.offer.endpoint).length, 0);
    }

    function test_withdrawStake_revertsIfNotUnstaking() public {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotUnstaking.selector, alice));
        vm.prank(alice);
        registry.withdrawStake();
        _register(alice, "https://a", MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotUnstaking.selector, alice));
        vm.prank(alice);
        registry.withdrawStake();
    }

    function test_withdrawStake_revertsIfWithdrawnTwice() public {
        _register(alice, "https://a", MIN_STAKE);
        vm.prank(alice);
        registry.requestUnstake();
        vm.warp(T0 + DELAY);
        vm.prank(alice);
        registry.withdrawStake();
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.NotUnstaking.selector, alice));
        vm.prank(alice);
        registry.withdrawStake();
    }

    function test_register_worksAgainAfterWithdrawal() public {
        _register(alice, "https://a", MIN_STAKE);
        vm.prank(alice);
        registry.requestUnstake();
        vm.warp(T0 + DELAY + 5);
        vm.prank(alice);
        registry.withdrawStake();
        _register(alice, "https://again", 200 ether);
        assertEq(uint256(registry.activeSince(alice)), T0 + DELAY + 5);
        assertEq(registry.activeProviderCount(), 1);
        assertEq(registry.getProvider(alice).stake, 200 ether);
        assertEq(registry.getProvider(alice).offer.endpoint, "https://again");
    }

    function testFuzz_withdrawStake_onlyAfterDelay(uint256 wait) public {
        wait = bound(wait, 0, 2 * uint256(DELAY));
        _register(alice, "https://a", MIN_STAKE);
        vm.prank(alice);
        registry.requestUnstake();
        vm.warp(T0 + wait);
        if (wait < DELAY) {
            vm.expectRevert(
                abi.encodeWithSelector(IProviderRegistry.StakeLocked.selector, alice, uint64(T0 + DELAY), T0 + wait)
            );
        }
        vm.prank(alice);
        registry.withdrawStake();
        assertEq(token.balanceOf(alice), wait < DELAY ? 10_000 ether - MIN_STAKE : 10_000 ether);
    }

    // --- getOffers ---

    function test_getOffers_paginates() public {
        _register(alice, "https://a", MIN_STAKE);
        _register(bob, "https://b", MIN_STAKE);
        _register(carol, "https://c", MIN_STAKE);

        (address[] memory p, IProviderRegistry.Offer[] memory o) = registry.getOffers(0, 2);
        assertEq(p.length, 2);
        assertEq(o.length, 2);
        assertEq(p[0], alice);
        assertEq(p[1], bob);
        assertEq(o[1].endpoint, "https://b");

        (p, o) = registry.getOffers(2, 2); // limit beyond the end is clipped
        assertEq(p.length, 1);
        assertEq(p[0], carol);
        assertEq(o[0].endpoint, "https://c");

        (p, o) = registry.getOffers(0, type(uint256).max);
        assertEq(p.length, 3);
    }

    function test_getOffers_emptyWhenOffsetAtOrBeyondCount() public {
        _register(alice, "https://a", MIN_STAKE);
        (address[] memory p, IProviderRegistry.Offer[] memory o) = registry.getOffers(1, 10);
        assertEq(p.length, 0);
        assertEq(o.length, 0);
        (p, o) = registry.getOffers(type(uint256).max, type(uint256).max);
        assertEq(p.length, 0);
    }

    function test_getOffers_emptyWhenLimitZero() public {
        _register(alice, "https://a", MIN_STAKE);
        (address[] memory p, IProviderRegistry.Offer[] memory o) = registry.getOffers(0, 0);
        assertEq(p.length, 0);
        assertEq(o.length, 0);
    }

    function test_getOffers_emptyRegistry() public view {
        (address[] memory p,) = registry.getOffers(0, 10);
        assertEq(p.length, 0);
    }

    function testFuzz_getOffers_pageMatchesModel(uint256 offset, uint256 limit, uint8 leaver) public {
        address[4] memory who = [alice, bob, carol, dave];
        for (uint256 i = 0; i < 4; ++i) {
            _register(who[i], "https://p", MIN_STAKE);
        }
        // Optionally remove one, so pages are also checked after a swap-and-pop.
        if (leaver < 4) {
            vm.prank(who[leaver]);
            registry.requestUnstake();
        }
        uint256 count = registry.activeProviderCount();
        assertEq(count, leaver < 4 ? 3 : 4);
        offset = bound(offset, 0, 6);
        limit = bound(limit, 0, 6);
        (address[] memory all,) = registry.getOffers(0, type(uint256).max);
        (address[] memory page, IProviderRegistry.Offer[] memory offers) = registry.getOffers(offset, limit);
        uint256 expected = offset >= count ? 0 : (limit < count - offset ? limit : count - offset);
        assertEq(page.length, expected);
        assertEq(offers.length, expected);
        for (uint256 i = 0; i < page.length; ++i) {
            assertEq(page[i], all[offset + i]);
            assertTrue(registry.activeSince(page[i]) != 0);
        }
    }

    function test_getOffers_swapAndPopKeepsSetConsistent() public {
        _register(alice, "https://a", MIN_STAKE);
        _register(bob, "https://b", MIN_STAKE);
        _register(carol, "https://c", MIN_STAKE);
        _register(dave, "https://d", MIN_STAKE);
        vm.prank(alice); // first leaves: last (dave) moves into slot 0
        registry.requestUnstake();
        (address[] memory p,) = registry.getOffers(0, 10);
        assertEq(p.length, 3);
        assertEq(p[0], dave);
        assertEq(p[1], bob);
        assertEq(p[2], carol);
        vm.prank(carol); // last leaves: plain pop
        registry.requestUnstake();
        vm.prank(dave); // moved element leaves: its index was updated
        registry.requestUnstake();
        (p,) = registry.getOffers(0, 10);
        assertEq(p.length, 1);
        assertEq(p[0], bob);
        vm.prank(bob);
        registry.requestUnstake();
        assertEq(registry.activeProviderCount(), 0);
    }
}
