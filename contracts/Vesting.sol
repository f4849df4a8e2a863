// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IBandToken} from "./interfaces/IBandToken.sol";
import {IEpochLedger} from "./interfaces/IEpochLedger.sol";
import {IVesting} from "./interfaces/IVesting.sol";
import {EmissionLib} from "./libraries/EmissionLib.sol";

/// @title Vesting
/// @notice Holds the rewards the Rewards contract mints and releases them linearly per epoch.
/// @dev Trade-off: grants are kept as a list of tranches (one per provider per epoch) rather than an
/// O(1) aggregate (one amount and a weighted start). The aggregate is cheaper to withdraw from but
/// either re-times earlier grants (a new grant delays what was already vesting) or needs rounding
/// that no longer matches the per-grant schedule. With tranches the schedule is exact, `grant` is
/// O(1) (append or merge into this epoch's tranche), and `withdraw` walks only the tranches still
/// vesting (<= vestingEpochs + 1 when claims come once per epoch): each fully vested tranche is
/// folded into `settled` and deleted exactly once, so the walk is amortised O(1) per grant.
contract Vesting is IVesting {
    using SafeERC20 for IBandToken;

    /// @dev One grant: fits one slot (amounts are capped by the token cap, checked by SafeCast).
    struct Tranche {
        uint128 amount;
        uint64 startEpoch;
    }

    /// @dev Per provider. `settled` is the sum of tranches before `head`, all fully vested.
    struct Account {
        uint128 granted;
        uint128 withdrawn;
        uint128 settled;
        uint64 head;
        Tranche[] tranches;
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
        account.granted += amount128;
        uint256 length = account.tranches.length;
        if (length > account.head && account.tranches[length - 1].startEpoch == start64) {
            // Same epoch, same schedule: merging keeps the walk in `withdraw` short.
            account.tranches[length - 1].amount += amount128;
        } else {
            account.tranches.push(Tranche({amount: amount128, startEpoch: start64}));
        }
        emit Granted(provider, startEpoch, amount);
    }

    /// @inheritdoc IVesting
    function withdraw() external returns (uint256 amount) {
        Account storage account = _accounts[msg.sender];
        uint256 current = _ledger.currentEpoch();
        uint256 length = account.tranches.length;
        uint256 head = account.head;
        uint256 settled = account.settled;
        uint256 vestingPart;
        // Tranches are in increasing startEpoch order, so the fully vested ones form a prefix.
        while (head < length) {
            Tranche memory t = account.tranches[head];
            // Fully vested iff EmissionLib.vested would return the whole amount. No overflow:
            // vestingEpochs <= type(uint64).max (Rewards constructor) and startEpoch is a uint64.
            if (vestingEpochs != 0 && current < uint256(t.startEpoch) + vestingEpochs) break;
            settled += t.amount;
            delete account.tranches[head];
            ++head;
        }
        for (uint256 i = head; i < length; ++i) {
            Tranche memory t = account.tranches[i];
            vestingPart += EmissionLib.vested(t.amount, t.startEpoch, current, vestingEpochs);
        }
        account.head = uint64(head); // head <= length, which a uint64 cannot exceed in practice
        account.settled = uint128(settled); // settled <= granted, a uint128
        amount = settled + vestingPart - account.withdrawn;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        account.withdrawn += uint128(amount); // withdrawn + amount = vested <= granted, a uint128
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IVesting
    function grantedOf(address provider) external view returns (uint256) {
        return _accounts[provider].granted;
    }

    /// @inheritdoc IVesting
    function withdrawnOf(address provider) external view returns (uint256) {
        return _accounts[provider].withdrawn;
    }

    /// @inheritdoc IVesting
    function vestedOf(address provider) public view returns (uint256 total) {
        Account storage account = _accounts[provider];
        uint256 current = _ledger.currentEpoch();
        total = account.settled;
        uint256 length = account.tranches.length;
        for (uint256 i = account.head; i < length; ++i) {
            Tranche memory t = account.tranches[i];
            total += EmissionLib.vested(t.amount, t.startEpoch, current, vestingEpochs);
        }
    }

    /// @inheritdoc IVesting
    function withdrawableOf(address provider) external view returns (uint256) {
        return vestedOf(provider) - _accounts[provider].withdrawn;
    }

    /// @inheritdoc IVesting
    function openTranches(address provider) external view returns (uint256) {
        Account storage account = _accounts[provider];
        return account.tranches.length - account.head;
    }
}
