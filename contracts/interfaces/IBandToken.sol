// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IBandToken
/// @notice The bandmint token as the other contracts see it: an ERC-20 (with EIP-2612 permit, see
/// IERC20Permit) that anyone can burn from their own balance, with a hard supply cap, minted only
/// by holders of MINTER_ROLE (the Rewards contract).
interface IBandToken is IERC20 {
    /// @notice The genesis recipient and amount arrays passed to the constructor differ in length.
    error GenesisLengthMismatch(uint256 recipients, uint256 amounts);

    /// @notice Role allowed to call `mint`.
    function MINTER_ROLE() external view returns (bytes32);

    /// @notice Hard cap on the total supply: no mint can take the supply above it.
    function cap() external view returns (uint256);

    /// @notice Mints `amount` to `to`. Only MINTER_ROLE; reverts with ERC20ExceededCap above the cap.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` from the caller's balance, reducing the total supply.
    function burn(uint256 amount) external;

    /// @notice Burns `amount` from `account`, spending the caller's allowance.
    function burnFrom(address account, uint256 amount) external;
}
