// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {BandToken} from "../BandToken.sol";
import {TokenHandler} from "./handlers/TokenHandler.sol";

/// @notice Total supply never exceeds the cap, and equals genesis + minted - burned, under random
/// mints (half of them above the cap), burns and transfers.
contract BandTokenInvariantTest is Test {
    uint256 internal constant CAP = 1_000_000 ether;
    uint256 internal constant GENESIS = 250_000 ether;

    BandToken internal token;
    TokenHandler internal handler;

    function setUp() public {
        address[] memory recipients = new address[](0);
        uint256[] memory amounts = new uint256[](0);
        token = new BandToken("Bandmint", "BAND", CAP, address(this), recipients, amounts);
        handler = new TokenHandler(token);
        token.grantRole(token.MINTER_ROLE(), address(handler));
        // Genesis through the handler's first actor, so actors hold the whole supply.
        token.grantRole(token.MINTER_ROLE(), address(this));
        token.mint(handler.actorAt(0), GENESIS);
        token.revokeRole(token.MINTER_ROLE(), address(this));
        targetContract(address(handler));
    }

    function invariant_supplyNeverExceedsCap() public view {
        assertLe(token.totalSupply(), token.cap());
    }

    function invariant_supplyEqualsMintedMinusBurned() public view {
        assertEq(token.totalSupply(), GENESIS + handler.mintedGhost() - handler.burnedGhost());
    }

    function invariant_actorsHoldTheWholeSupply() public view {
        uint256 sum = 0;
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            sum += token.balanceOf(handler.actorAt(i));
        }
        assertEq(sum, token.totalSupply());
    }
}
