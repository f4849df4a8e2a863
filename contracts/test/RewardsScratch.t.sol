// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {BandToken} from "../BandToken.sol";
import {Rewards} from "../Rewards.sol";
import {IRewards} from "../interfaces/IRewards.sol";
import {EpochLedgerMock} from "../mocks/EpochLedgerMock.sol";
import {vm} from "./utils/Vm.sol";
import {IVesting} from "../interfaces/IVesting.sol";


contract RewardsHandler2 {
    uint256 internal constant ACTORS = 4;
    uint256 internal constant MAX_EPOCH = 40;

    EpochLedgerMock public ledger;
    BandToken public token;
    Rewards public rewards;
    IVesting public vesting;

    mapping(uint256 epoch => uint256) public burnedGhost;
    mapping(uint256 epoch => uint256) public mintedGhost;
    mapping(address provider => uint256) public withdrawnGhost;
    uint256 public claims;
    uint256 public cappedClaims;

    constructor(EpochLedgerMock ledger_, BandToken token_, Rewards rewards_) {
        ledger = ledger_;
        token = token_;
        rewards = rewards_;
        vesting = rewards_.vesting();
    }

    /// @notice The i-th provider address.
    function actorAt(uint256 i) public pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    /// @notice Number of providers.
    function actorCount() external pure returns (uint256) {
        return ACTORS;
    }

    /// @notice Records `amount` paid to a provider this epoch, `burnBps` of it burned.
    function pay(uint256 actorSeed, uint256 amount, uint256 burnBps) external {
        amount = _bound(amount, 1, 1e24);
        burnBps = _bound(burnBps, 0, 10_000);
        uint256 epoch = ledger.currentEpoch();
        ledger.addPaid(epoch, actorAt(actorSeed % ACTORS), amount);
        burnedGhost[epoch] += amount * burnBps / 10_000;
        ledger.setBurned(epoch, burnedGhost[epoch]);
    }

    /// @notice Moves the clock 1-3 epochs forward.
    function advance(uint256 epochs) external {
        uint256 current = ledger.currentEpoch();
        if (current >= MAX_EPOCH) return;
        ledger.setCurrentEpoch(current + _bound(epochs, 1, 3));
    }

    /// @notice A provider claims a finished epoch, when there is something to claim.
    function claim(uint256 actorSeed, uint256 epochSeed) external {
        uint256 current = ledger.currentEpoch();
        if (current == 0) return;
        uint256 epoch = epochSeed % current;
        address provider = actorAt(actorSeed % ACTORS);
        if (rewards.claimed(epoch, provider) || rewards.rewardOf(epoch, provider) == 0) return;
        uint256 reward = rewards.rewardOf(epoch, provider);
        vm.prank(provider);
        uint256 minted = rewards.claim(epoch);
        mintedGhost[epoch] += minted;
        ++claims;
        if (minted < reward) ++cappedClaims;
    }

    /// @notice A provider withdraws what has vested.
    function withdraw(uint256 actorSeed) external {
        address provider = actorAt(actorSeed % ACTORS);
        if (vesting.withdrawableOf(provider) == 0) return;
        vm.prank(provider);
        withdrawnGhost[provider] += vesting.withdraw();
    }

    /// @notice A provider burns part of its balance (frees headroom under the cap).
    function burn(uint256 actorSeed, uint256 amount) external {
        address provider = actorAt(actorSeed % ACTORS);
        uint256 balance = token.balanceOf(provider);
        if (balance == 0) return;
        vm.prank(provider);
        token.burn(_bound(amount, 1, balance));
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + (x % (max - min + 1));
    }
}

contract Dummy { uint256 public x; function poke(uint256 y) external { x = y; } }

contract RewardsScratchTest is Test {
    EpochLedgerMock internal ledger;
    Dummy internal d;
    function setUp() public {
        ledger = new EpochLedgerMock();
        BandToken token = new BandToken("Bandmint", "BAND", 1e30, address(this), new address[](0), new uint256[](0));
        Rewards rewards = new Rewards(ledger, token, IRewards.Schedule({
                initialEmission: 1_000 ether, decayPeriodEpochs: 5, decayBps: 7_000, kBps: 8000, vestingEpochs: 3
            }));
        d = new Dummy();

        RewardsHandler2 h = new RewardsHandler2(ledger, token, rewards);
        targetContract(address(h));
    }
    function invariant_x() public view { assertTrue(d.x() != 12345678); }
}
