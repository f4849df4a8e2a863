// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IProviderRegistryView} from "./IProviderRegistryView.sol";

/// @title IProviderRegistry
/// @notice The marketplace's on-chain listings: providers stake tokens and publish an offer
/// (endpoint, price, capacity, region, services). Consumers page through the active offers; the
/// TicketBroker asks `activeProviderCount` and `activeSince` (IProviderRegistryView) to bound
/// reserve payouts; `activeSince` is the block time of the current registration.
///
/// Lifecycle of an address: none --register--> active --requestUnstake--> unstaking
/// --withdrawStake (after unstakeDelay)--> none (may register again).
interface IProviderRegistry is IProviderRegistryView {
    /// @notice A provider's listing. `services` is a bitmask: 1 = cdn, 2 = relay (3 = both).
    struct Offer {
        string endpoint;
        uint256 pricePerGiB;
        uint64 capacityMbps;
        string region;
        uint8 services;
    }

    /// @notice Everything the registry knows about one address.
    /// @dev `activeSince` is 0 unless active; `unstakeTime` is 0 unless unstaking, else the time
    /// from which the stake can be withdrawn.
    struct Provider {
        Offer offer;
        uint256 stake;
        uint64 activeSince;
        uint64 unstakeTime;
    }

    /// @notice The stake offered is below the registry's minimum.
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    /// @notice The address is already registered (active or still unstaking).
    error AlreadyRegistered(address provider);
    /// @notice The address is not an active provider.
    error NotActive(address provider);
    /// @notice The address has not requested to unstake (or already withdrew).
    error NotUnstaking(address provider);
    /// @notice The stake is still locked until `unlockTime`.
    error StakeLocked(address provider, uint64 unlockTime, uint256 currentTime);
    /// @notice The endpoint is empty or longer than `maxLength` bytes.
    error InvalidEndpoint(uint256 length, uint256 maxLength);
    /// @notice The region is longer than `maxLength` bytes.
    error InvalidRegion(uint256 length, uint256 maxLength);
    /// @notice The price per GiB is zero.
    error InvalidPrice(uint256 pricePerGiB);
    /// @notice The services bitmask is 0 or has bits other than cdn (1) and relay (2).
    error InvalidServices(uint8 services);
    /// @notice A zero amount where a positive one is required.
    error ZeroAmount();
    /// @notice The constructor's unstake delay exceeds `maxDelay` (a typo here would lock stakes).
    error UnstakeDelayTooLong(uint64 delay, uint64 maxDelay);

    /// @notice `provider` joined the active set with `stake`, at `activeSince` (block time). An
    /// OfferUpdated event with the offer follows in the same transaction.
    event ProviderRegistered(address indexed provider, uint256 stake, uint64 activeSince);
    /// @notice `provider`'s offer is now the given one (emitted on register and on update), so an
    /// indexer can rebuild every listing from logs alone.
    event OfferUpdated(
        address indexed provider,
        string endpoint,
        uint256 pricePerGiB,
        uint64 capacityMbps,
        string region,
        uint8 services
    );
    /// @notice `provider` added `amount`; its stake is now `newStake`.
    event StakeAdded(address indexed provider, uint256 amount, uint256 newStake);
    /// @notice `provider` left the active set; its `stake` is withdrawable from `unlockTime`.
    event UnstakeRequested(address indexed provider, uint256 stake, uint64 unlockTime);
    /// @notice `provider` withdrew `amount` and is no longer registered.
    event StakeWithdrawn(address indexed provider, uint256 amount);

    /// @notice Registers the caller with `offer`, pulling `stake` tokens (needs an allowance).
    /// @dev Reverts with AlreadyRegistered, StakeBelowMinimum or an offer validation error.
    function register(Offer calldata offer, uint256 stake) external;

    /// @notice Replaces the caller's offer. Active providers only (NotActive otherwise).
    function updateOffer(Offer calldata offer) external;

    /// @notice Adds `amount` to the caller's stake, pulling the tokens. Active providers only.
    function addStake(uint256 amount) external;

    /// @notice Leaves the active set at once; the stake becomes withdrawable after unstakeDelay.
    function requestUnstake() external;

    /// @notice Returns the caller's whole stake once the unstake delay has passed, and forgets
    /// the registration. Reverts with StakeLocked (carrying the unlock time) before that.
    function withdrawStake() external;

    /// @notice The full record of `provider` (all zero if never registered or withdrawn).
    function getProvider(address provider) external view returns (Provider memory);

    /// @notice Up to `limit` active providers and their offers, starting at position `offset` of
    /// the active set. Empty when `offset >= activeProviderCount()` or `limit == 0`.
    /// @dev The order of the set changes when a provider leaves (swap-and-pop), so a reader
    /// paging while the set changes may see a provider twice or miss one; read at one block.
    function getOffers(uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory providers, Offer[] memory offers);

    /// @notice Minimum stake to register.
    function minStake() external view returns (uint256);

    /// @notice Seconds between requestUnstake and the earliest withdrawStake.
    function unstakeDelay() external view returns (uint64);

    /// @notice The staking token.
    function token() external view returns (address);
}
