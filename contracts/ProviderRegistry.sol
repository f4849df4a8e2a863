// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {IProviderRegistryView} from "./interfaces/IProviderRegistryView.sol";

/// @title ProviderRegistry
/// @notice Staked provider listings. The active set is an array with an index mapping
/// (swap-and-pop on removal), so every state change is O(1) and pages are cheap to read.
contract ProviderRegistry is IProviderRegistry {
    using SafeERC20 for IERC20;

    /// @notice Longest endpoint accepted, in bytes (a URL; keeps listings and logs bounded).
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @notice Longest region accepted, in bytes (a short code such as "eu-west").
    uint256 public constant MAX_REGION_LENGTH = 32;
    /// @notice Mask of the defined service bits: cdn (1) and relay (2).
    uint8 public constant SERVICES_MASK = 3;
    /// @notice Longest unstake delay accepted at deployment. It also keeps
    /// block.timestamp + delay far inside uint64, so requestUnstake can never overflow.
    uint64 public constant MAX_UNSTAKE_DELAY = 365 days;

    IERC20 private immutable _token;
    uint256 private immutable _minStake;
    uint64 private immutable _unstakeDelay;

    mapping(address provider => Provider) private _providers;
    address[] private _active;
    /// @dev Position in `_active` plus one; 0 means not in the set.
    mapping(address provider => uint256) private _activeIndexPlusOne;

    /// @notice Creates the registry.
    /// @param token_ The staking token (BandToken).
    /// @param minStake_ Minimum stake to register (0 allowed: listing without stake).
    /// @param unstakeDelay_ Seconds from requestUnstake to the earliest withdrawStake
    /// (at most MAX_UNSTAKE_DELAY).
    constructor(IERC20 token_, uint256 minStake_, uint64 unstakeDelay_) {
        if (unstakeDelay_ > MAX_UNSTAKE_DELAY) revert UnstakeDelayTooLong(unstakeDelay_, MAX_UNSTAKE_DELAY);
        _token = token_;
        _minStake = minStake_;
        _unstakeDelay = unstakeDelay_;
    }

    /// @inheritdoc IProviderRegistry
    function register(Offer calldata offer, uint256 stake) external {
        Provider storage p = _providers[msg.sender];
        // An unstaking provider still has funds here: it must withdraw before registering again.
        if (p.activeSince != 0 || p.unstakeTime != 0) revert AlreadyRegistered(msg.sender);
        if (stake < _minStake) revert StakeBelowMinimum(stake, _minStake);
        _validate(offer);

        uint64 since = uint64(block.timestamp);
        p.offer = offer;
        p.stake = stake;
        p.activeSince = since;
        _active.push(msg.sender);
        _activeIndexPlusOne[msg.sender] = _active.length;

        emit ProviderRegistered(msg.sender, stake, since);
        _emitOffer(offer);
        _token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @inheritdoc IProviderRegistry
    function updateOffer(Offer calldata offer) external {
        Provider storage p = _activeProvider(msg.sender);
        _validate(offer);
        p.offer = offer;
        _emitOffer(offer);
    }

    /// @inheritdoc IProviderRegistry
    function addStake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Provider storage p = _activeProvider(msg.sender);
        uint256 newStake = p.stake + amount;
        p.stake = newStake;
        emit StakeAdded(msg.sender, amount, newStake);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IProviderRegistry
    function requestUnstake() external {
        Provider storage p = _activeProvider(msg.sender);
        uint64 unlockTime = uint64(block.timestamp) + _unstakeDelay;
        p.activeSince = 0;
        p.unstakeTime = unlockTime;
        _removeActive(msg.sender);
        emit UnstakeRequested(msg.sender, p.stake, unlockTime);
    }

    /// @inheritdoc IProviderRegistry
    function withdrawStake() external {
        Provider storage p = _providers[msg.sender];
        uint64 unlockTime = p.unstakeTime;
        if (unlockTime == 0) revert NotUnstaking(msg.sender);
        if (block.timestamp < unlockTime) revert StakeLocked(msg.sender, unlockTime, block.timestamp);
        uint256 amount = p.stake;
        delete _providers[msg.sender];
        emit StakeWithdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IProviderRegistryView
    function activeProviderCount() external view returns (uint256) {
        return _active.length;
    }

    /// @inheritdoc IProviderRegistryView
    function activeSince(address provider) external view returns (uint64) {
        return _providers[provider].activeSince;
    }

    /// @inheritdoc IProviderRegistry
    function getProvider(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    /// @inheritdoc IProviderRegistry
    function getOffers(uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory providers, Offer[] memory offers)
    {
        uint256 count = _active.length;
        uint256 n = 0;
        if (offset < count) {
            // offset < count here, so count - offset cannot underflow.
            uint256 remaining = count - offset;
            n = limit < remaining ? limit : remaining;
        }
        providers = new address[](n);
        offers = new Offer[](n);
        for (uint256 i = 0; i < n; ++i) {
            address provider = _active[offset + i];
            providers[i] = provider;
            offers[i] = _providers[provider].offer;
        }
    }

    /// @inheritdoc IProviderRegistry
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc IProviderRegistry
    function unstakeDelay() external view returns (uint64) {
        return _unstakeDelay;
    }

    /// @inheritdoc IProviderRegistry
    function token() external view returns (address) {
        return address(_token);
    }

    function _activeProvider(address provider) private view returns (Provider storage p) {
        p = _providers[provider];
        if (p.activeSince == 0) revert NotActive(provider);
    }

    /// @dev Swap-and-pop: move the last element into the leaver's slot, so removal is O(1).
    function _removeActive(address provider) private {
        uint256 indexPlusOne = _activeIndexPlusOne[provider];
        uint256 lastIndex = _active.length - 1;
        if (indexPlusOne - 1 != lastIndex) {
            address moved = _active[lastIndex];
            _active[indexPlusOne - 1] = moved;
            _activeIndexPlusOne[moved] = indexPlusOne;
        }
        _active.pop();
        delete _activeIndexPlusOne[provider];
    }

    function _validate(Offer calldata offer) private pure {
        uint256 endpointLength = bytes(offer.endpoint).length;
        if (endpointLength == 0 || endpointLength > MAX_ENDPOINT_LENGTH) {
            revert InvalidEndpoint(endpointLength, MAX_ENDPOINT_LENGTH);
        }
        uint256 regionLength = bytes(offer.region).length;
        if (regionLength > MAX_REGION_LENGTH) revert InvalidRegion(regionLength, MAX_REGION_LENGTH);
        if (offer.pricePerGiB == 0) revert InvalidPrice(offer.pricePerGiB);
        if (offer.services == 0 || offer.services & ~SERVICES_MASK != 0) revert InvalidServices(offer.services);
    }

    function _emitOffer(Offer calldata offer) private {
        emit OfferUpdated(
            msg.sender, offer.endpoint, offer.pricePerGiB, offer.capacityMbps, offer.region, offer.services
        );
    }
}
