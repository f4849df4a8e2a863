// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IBandToken} from "./interfaces/IBandToken.sol";
import {IEpochLedger} from "./interfaces/IEpochLedger.sol";
import {IVesting} from "./interfaces/IVesting.sol";

/// @title Vesting
/// @notice Holds the rewards the Rewards contract mints and releases them linearly per epoch.
/// @dev Scheme: every grant is a tranche (amount a, start epoch s; grants of one epoch merge), but
/// the vested amount is computed from running sums, not by walking the tranches. All tranches vest
/// over the same V epochs, so at epoch t the open ones (t < s + V) have vested
/// sum a·(t - s) / V = (A·t - W) / V with A = sum a and W = sum a·s, floored once. A tranche that
/// reaches t >= s + V is folded: A -= a, W -= a·s, settled += a, its slot deleted. Folding happens
/// in increasing s order (tranches are appended in epoch order), each tranche exactly once, so
/// `withdraw` costs O(1) plus O(tranches matured since the last withdraw): amortised O(1) per grant,
/// whatever V (the default deployment has V = 720 hourly epochs; walking every open tranche would
/// cost ~2,500 gas each, ~1.8M for a provider that claims every epoch). Folding leaves the vested
/// amount unchanged (the tranche contributed exactly a·V / V = a), so it is monotone in t.
/// Trade-off: the floor is on the sum, so vestedOf can exceed the sum of per-tranche floors by
/// < 1 wei per open tranche (rewardMath.ts `vestedTotal` mirrors this exactly); granting costs one
/// more slot write (W) than a plain tranche list.
contract Vesting is IVesting {
    using SafeERC20 for IBandToken;

    /// @dev One grant: fits one slot.
    struct Tranche {
        uint128 amount;
        uint64 startEpoch;
    }

    /// @dev Per provider, three slots, laid out so that a grant writes slots 0 and 2 and one
    /// tranche. granted = settled + openAmount is not stored. Bounds: settled + openAmount is the
    /// total granted, < 2^128 (the token cap, Rewards checks it), and W = sum a·s < 2^128 · 2^64.
    struct Account {
        uint128 settled; // folded tranches, fully vested
        uint128 openAmount; // A
        uint128 withdrawn;
        uint64 head; // first open tranche
        uint192 openWeighted; // W
        uint64 count; // tranches ever appended
        mapping(uint256 index => Tranche) tranches;
    }

    /// @inheritdoc IVesting
    address public immutable rewards;
    IBandToken private immutable _token;
    IEpochLedger private immutable _ledger;
    /// @inheritdoc IVesting
    uint256 public immutable vestingEpochs;

    mapping(address provider => Account) private _accounts;

    /// @notice Deployed by the Rewards contract, which becomes the only granter.
    constructor(IBandToken token_, IEpochLedger ledger_, uint256 vestingEpochs_) {
        rewards = msg.sender;
        _token = token_;
        _ledger = ledger_;
        vestingEpochs = vestingEpochs_;
    }

    /// @inheritdoc IVesting
    function token() external view returns (IBandToken) {
        return _token;
    }

    /// @inheritdoc IVesting
    function ledger() external view returns (IEpochLedger) {
        return _ledger;
    }

    /// @inheritdoc IVesting
    function grant(address provider, uint256 amount, uint256 startEpoch) external {
        if (msg.sender != rewards) revert NotRewards(msg.sender);
        Account storage account = _accounts[provider];
        uint128 amount128 = SafeCast.toUint128(amount);
        uint64 start64 = SafeCast.toUint64(startEpoch);
        if (vestingEpochs == 0) {
            account.settled += amount128;
        } else {
            account.openAmount += amount128;
            account.openWeighted += uint192(amount) * start64; // < 2^192, see Account
            uint64 count = account.count;
            if (count > account.head && account.tranches[count - 1].startEpoch == start64) {
                // Same epoch, same schedule: merge, so a claimMany-heavy provider keeps few tranches.
                account.tranches[count - 1].amount += amount128;
            } else {
                account.tranches[count] = Tranche({amount: amount128, startEpoch: start64});
                account.count = count + 1;
            }
        }
        // Checked: the sum is the total granted, which must stay below 2^128.
        SafeCast.toUint128(uint256(account.settled) + account.openAmount);
        emit Granted(provider, startEpoch, amount);
    }

    /// @inheritdoc IVesting
    function withdraw() external returns (uint256 amount) {
        Account storage account = _accounts[msg.sender];
        uint256 current = _ledger.currentEpoch();
        uint256 oldHead = account.head;
        (uint256 settled, uint256 openAmount, uint256 openWeighted, uint256 head) = _fold(account, current);
        // Folded tranches are never read again: clear them (gas refund, no unbounded state).
        for (uint256 i = oldHead; i < head; ++i) {
            delete account.tranches[i];
        }
        account.settled = uint128(settled); // settled + openAmount = granted < 2^128
        account.openAmount = uint128(openAmount); // only decreased
        account.openWeighted = uint192(openWeighted); // only decreased
        account.head = uint64(head); // head <= count, a uint64
        amount = settled + _openVested(openAmount, openWeighted, current) - account.withdrawn;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        account.withdrawn += uint128(amount); // withdrawn + amount = vested <= granted < 2^128
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IVesting
    function grantedOf(address provider) external view returns (uint256) {
        Account storage account = _accounts[provider];
        return uint256(account.settled) + account.openAmount;
    }

    /// @inheritdoc IVesting
    function withdrawnOf(address provider) external view returns (uint256) {
        return _accounts[provider].withdrawn;
    }

    /// @inheritdoc IVesting
    function vestedOf(address provider) public view returns (uint256 total) {
        Account storage account = _accounts[provider];
        uint256 current = _ledger.currentEpoch();
        (uint256 settled, uint256 openAmount, uint256 openWeighted,) = _fold(account, current);
        total = settled + _openVested(openAmount, openWeighted, current);
    }

    /// @inheritdoc IVesting
    function withdrawableOf(address provider) external view returns (uint256) {
        return vestedOf(provider) - _accounts[provider].withdrawn;
    }

    /// @inheritdoc IVesting
    function openTranches(address provider) external view returns (uint256) {
        Account storage account = _accounts[provider];
        return account.count - account.head;
    }

    /// @dev Folds the tranches fully vested at `current` into the running sums; returns the new
    /// sums and head (the caller stores them).
    function _fold(Account storage account, uint256 current)
        private
        view
        returns (uint256 settled, uint256 openAmount, uint256 openWeighted, uint256 head)
    {
        settled = account.settled;
        openAmount = account.openAmount;
        openWeighted = account.openWeighted;
        head = account.head;
        uint256 count = account.count;
        while (head < count) {
            Tranche memory t = account.tranches[head];
            // No overflow: vestingEpochs <= type(uint64).max (Rewards constructor).
            if (current < uint256(t.startEpoch) + vestingEpochs) break;
            settled += t.amount;
            openAmount -= t.amount;
            openWeighted -= uint256(t.amount) * t.startEpoch;
            ++head;
        }
    }

    /// @dev floor((A·t - W) / V) for the open tranches: sum a·(t - s) / V, each t - s in [0, V).
    /// A·t < W only if the clock went backwards (never with the TicketBroker): count nothing then.
    function _openVested(uint256 openAmount, uint256 openWeighted, uint256 current) private view returns (uint256) {
        if (openAmount == 0) return 0;
        uint256 weightedNow = openAmount * current; // < 2^128 · 2^64
        return weightedNow > openWeighted ? (weightedNow - openWeighted) / vestingEpochs : 0;
    }
}
