// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BandToken} from "../../BandToken.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {vm} from "../utils/Vm.sol";

/// @notice Bounded handler for the BandToken invariants: random mints (some above the cap, which
/// must revert), burns, burnFroms and transfers among a few actors. It holds MINTER_ROLE, and
/// every token it deals with stays with its actors, so their balances must sum to the supply.
contract TokenHandler {
    BandToken public immutable token;
    address[4] internal actors = [address(0xA1), address(0xA2), address(0xA3), address(0xA4)];

    uint256 public mintedGhost;
    uint256 public burnedGhost;
    uint256 public capRejections;

    constructor(BandToken token_) {
        token = token_;
    }

    function actorCount() external pure returns (uint256) {
        return 4;
    }

    function actorAt(uint256 i) external view returns (address) {
        return actors[i];
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % 4];
    }

    function mint(uint256 actorSeed, uint256 amount) external {
        uint256 cap = token.cap();
        // Up to twice the remaining room: about half the calls must hit the cap.
        amount = amount % (2 * (cap - token.totalSupply()) + 2);
        address to = _actor(actorSeed);
        if (token.totalSupply() + amount > cap) {
            try token.mint(to, amount) {
                revert("minted above cap");
            } catch (bytes memory reason) {
                require(bytes4(reason) == ERC20Capped.ERC20ExceededCap.selector, "wrong revert");
                ++capRejections;
            }
            return;
        }
        token.mint(to, amount);
        mintedGhost += amount;
    }

    function burn(uint256 actorSeed, uint256 amount) external {
        address from = _actor(actorSeed);
        uint256 balance = token.balanceOf(from);
        amount = balance == 0 ? 0 : amount % (balance + 1);
        vm.prank(from);
        token.burn(amount);
        burnedGhost += amount;
    }

    function burnFrom(uint256 actorSeed, uint256 amount) external {
        address from = _actor(actorSeed);
        uint256 balance = token.balanceOf(from);
        amount = balance == 0 ? 0 : amount % (balance + 1);
        vm.prank(from);
        token.approve(address(this), amount);
        token.burnFrom(from, amount);
        burnedGhost += amount;
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = _actor(fromSeed);
        address to = _actor(toSeed);
        uint256 balance = token.balanceOf(from);
        amount = balance == 0 ? 0 : amount % (balance + 1);
        vm.prank(from);
        token.transfer(to, amount);
    }
}
