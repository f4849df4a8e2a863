// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IBandToken} from "./interfaces/IBandToken.sol";

/// @title BandToken
/// @notice The bandmint ERC-20: burnable (the TicketBroker burns a share of every paid ticket),
/// EIP-2612 permit (one-transaction deposits), a hard supply cap, and minting restricted to
/// MINTER_ROLE (granted by the admin to the Rewards contract). All token logic is OpenZeppelin's;
/// this contract only wires it together and mints the genesis allocation.
contract BandToken is ERC20, ERC20Burnable, ERC20Capped, ERC20Permit, AccessControl, IBandToken {
    /// @inheritdoc IBandToken
    bytes32 public constant override MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Deploys the token and mints the genesis allocation.
    /// @param name_ ERC-20 name, also the EIP-712 domain name used by permit.
    /// @param symbol_ ERC-20 symbol.
    /// @param cap_ Hard cap on the total supply (must be > 0; the genesis must fit under it).
    /// @param admin Receives DEFAULT_ADMIN_ROLE (may grant MINTER_ROLE); address(0) leaves the
    /// token without an admin, so with no minter it is fixed-supply.
    /// @param genesisRecipients Addresses receiving the genesis allocation.
    /// @param genesisAmounts Amount for each recipient, same length as `genesisRecipients`.
    constructor(
        string memory name_,
        string memory symbol_,
        uint256 cap_,
        address admin,
        address[] memory genesisRecipients,
        uint256[] memory genesisAmounts
    ) ERC20(name_, symbol_) ERC20Capped(cap_) ERC20Permit(name_) {
        if (genesisRecipients.length != genesisAmounts.length) {
            revert GenesisLengthMismatch(genesisRecipients.length, genesisAmounts.length);
        }
        if (admin != address(0)) _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i = 0; i < genesisRecipients.length; ++i) {
            _mint(genesisRecipients[i], genesisAmounts[i]);
        }
    }

    /// @inheritdoc IBandToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @inheritdoc IBandToken
    function cap() public view override(ERC20Capped, IBandToken) returns (uint256) {
        return super.cap();
    }

    /// @inheritdoc IBandToken
    function burn(uint256 value) public override(ERC20Burnable, IBandToken) {
        super.burn(value);
    }

    /// @inheritdoc IBandToken
    function burnFrom(address account, uint256 value) public override(ERC20Burnable, IBandToken) {
        super.burnFrom(account, value);
    }

    /// @dev ERC20Capped enforces the cap on every mint through _update.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
