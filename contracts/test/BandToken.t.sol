// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {BandToken} from "../BandToken.sol";
import {IBandToken} from "../interfaces/IBandToken.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

contract BandTokenTest is Test {
    uint256 internal constant CAP = 1_000_000 ether;
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    BandToken internal token;
    address internal admin = address(0xAD);
    address internal minter = address(0x4D);
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    uint256 internal ownerKey = 0xA11CE5EC;

    function setUp() public {
        address[] memory recipients = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        recipients[0] = alice;
        amounts[0] = 100 ether;
        recipients[1] = bob;
        amounts[1] = 50 ether;
        token = new BandToken("Bandmint", "BAND", CAP, admin, recipients, amounts);
        bytes32 minterRole = token.MINTER_ROLE();
        vm.prank(admin);
        token.grantRole(minterRole, minter);
    }

    function _empty() internal pure returns (address[] memory r, uint256[] memory a) {
        r = new address[](0);
        a = new uint256[](0);
    }

    // --- constructor ---

    function test_constructor_setsMetadataCapAndGenesis() public view {
        assertEq(token.name(), "Bandmint");
        assertEq(token.symbol(), "BAND");
        assertEq(token.decimals(), 18);
        assertEq(token.cap(), CAP);
        assertEq(token.balanceOf(alice), 100 ether);
        assertEq(token.balanceOf(bob), 50 ether);
        assertEq(token.totalSupply(), 150 ether);
        assertTrue(token.hasRole(token.DEFAULT_ADMIN_ROLE(), admin));
        assertFalse(token.hasRole(token.MINTER_ROLE(), admin));
        assertEq(token.MINTER_ROLE(), keccak256("MINTER_ROLE"));
    }

    function test_constructor_revertsIfGenesisLengthsDiffer() public {
        address[] memory recipients = new address[](2);
        uint256[] memory amounts = new uint256[](1);
        recipients[0] = alice;
        recipients[1] = bob;
        amounts[0] = 1;
        vm.expectRevert(abi.encodeWithSelector(IBandToken.GenesisLengthMismatch.selector, 2, 1));
        new BandToken("B", "B", CAP, admin, recipients, amounts);
    }

    function test_constructor_revertsIfGenesisExceedsCap() public {
        address[] memory recipients = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        recipients[0] = alice;
        recipients[1] = bob;
        amounts[0] = CAP;
        amounts[1] = 1;
        vm.expectRevert(abi.encodeWithSelector(ERC20Capped.ERC20ExceededCap.selector, CAP + 1, CAP));
        new BandToken("B", "B", CAP, admin, recipients, amounts);
    }

    function test_constructor_revertsIfCapZero() public {
        (address[] memory r, uint256[] memory a) = _empty();
        vm.expectRevert(abi.encodeWithSelector(ERC20Capped.ERC20InvalidCap.selector, 0));
        new BandToken("B", "B", 0, admin, r, a);
    }

    function test_constructor_revertsIfGenesisToZeroAddress() public {
        address[] memory recipients = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 1;
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        new BandToken("B", "B", CAP, admin, recipients, amounts);
    }

    function test_constructor_genesisMayFillCapExactly() public {
        address[] memory recipients = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        recipients[0] = alice;
        amounts[0] = CAP;
        BandToken full = new BandToken("B", "B", CAP, admin, recipients, amounts);
        assertEq(full.totalSupply(), CAP);
    }

    function test_constructor_zeroAdminLeavesNoAdmin() public {
        (address[] memory r, uint256[] memory a) = _empty();
        BandToken t = new BandToken("B", "B", CAP, address(0), r, a);
        assertFalse(t.hasRole(t.DEFAULT_ADMIN_ROLE(), address(0)));
        assertEq(t.totalSupply(), 0);
    }

    // --- mint ---

    function test_mint_byMinterIncreasesSupply() public {
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(address(0), bob, 7 ether);
        vm.prank(minter);
        token.mint(bob, 7 ether);
        assertEq(token.balanceOf(bob), 57 ether);
        assertEq(token.totalSupply(), 157 ether);
    }

    function test_mint_revertsWithoutRole() public {
        bytes32 role = token.MINTER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        vm.prank(alice);
        token.mint(alice, 1);
    }

    function test_mint_adminWithoutMinterRoleReverts() public {
        bytes32 role = token.MINTER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, role));
        vm.prank(admin);
        token.mint(admin, 1);
    }

    function test_mint_revertsAboveCap() public {
        uint256 room = CAP - token.totalSupply();
        vm.prank(minter);
        token.mint(alice, room);
        assertEq(token.totalSupply(), CAP);
        vm.expectRevert(abi.encodeWithSelector(ERC20Capped.ERC20ExceededCap.selector, CAP + 1, CAP));
        vm.prank(minter);
        token.mint(alice, 1);
    }

    function test_mint_revokedMinterReverts() public {
        bytes32 role = token.MINTER_ROLE();
        vm.prank(admin);
        token.revokeRole(role, minter);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, minter, role));
        vm.prank(minter);
        token.mint(minter, 1);
    }

    function test_grantRole_revertsIfNotAdmin() public {
        bytes32 role = token.MINTER_ROLE();
        bytes32 adminRole = token.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, adminRole)
        );
        vm.prank(alice);
        token.grantRole(role, alice);
    }

    function testFuzz_mint_neverExceedsCap(uint256 first, uint256 second) public {
        uint256 room = CAP - token.totalSupply();
        first = bound(first, 0, room);
        vm.prank(minter);
        token.mint(alice, first);
        uint256 supply = token.totalSupply();
        second = bound(second, 0, CAP); // may or may not fit
        if (supply + second > CAP) {
            vm.expectRevert(abi.encodeWithSelector(ERC20Capped.ERC20ExceededCap.selector, supply + second, CAP));
        }
        vm.prank(minter);
        token.mint(bob, second);
        assertLe(token.totalSupply(), CAP);
    }

    // --- burn ---

    function test_burn_reducesBalanceAndSupply() public {
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(alice, address(0), 30 ether);
        vm.prank(alice);
        token.burn(30 ether);
        assertEq(token.balanceOf(alice), 70 ether);
        assertEq(token.totalSupply(), 120 ether);
    }

    function test_burn_revertsAboveBalance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 100 ether, 100 ether + 1)
        );
        vm.prank(alice);
        token.burn(100 ether + 1);
    }

    function test_burn_freesRoomUnderCap() public {
        uint256 room = CAP - token.totalSupply();
        vm.prank(minter);
        token.mint(alice, room);
        vm.prank(alice);
        token.burn(5);
        vm.prank(minter);
        token.mint(bob, 5);
        assertEq(token.totalSupply(), CAP);
    }

    function test_burnFrom_spendsAllowance() public {
        vm.prank(alice);
        token.approve(bob, 40 ether);
        vm.prank(bob);
        token.burnFrom(alice, 25 ether);
        assertEq(token.balanceOf(alice), 75 ether);
        assertEq(token.allowance(alice, bob), 15 ether);
        assertEq(token.totalSupply(), 125 ether);
    }

    function test_burnFrom_revertsAboveAllowance() public {
        vm.prank(alice);
        token.approve(bob, 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bob, 1 ether, 2 ether)
        );
        vm.prank(bob);
        token.burnFrom(alice, 2 ether);
    }

    function testFuzz_burn_supplyFallsByAmount(uint256 amount) public {
        amount = bound(amount, 0, 100 ether);
        uint256 supply = token.totalSupply();
        vm.prank(alice);
        token.burn(amount);
        assertEq(token.totalSupply(), supply - amount);
        assertEq(token.balanceOf(alice), 100 ether - amount);
    }

    // --- transfer (plain OZ, checked once for the wiring) ---

    function test_transfer_movesTokens() public {
        vm.prank(alice);
        assertTrue(token.transfer(bob, 10 ether));
        assertEq(token.balanceOf(alice), 90 ether);
        assertEq(token.balanceOf(bob), 60 ether);
    }

    // --- permit ---

    function _permitDigest(address owner, address spender, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }

    function test_permit_setsAllowanceAndBumpsNonce() public {
        address owner = vm.addr(ownerKey);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, _permitDigest(owner, bob, 5 ether, 0, deadline));
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Approval(owner, bob, 5 ether);
        token.permit(owner, bob, 5 ether, deadline, v, r, s);
        assertEq(token.allowance(owner, bob), 5 ether);
        assertEq(token.nonces(owner), 1);
    }

    function test_permit_domainUsesTokenName() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Bandmint"),
                keccak256("1"),
                block.chainid,
                address(token)
            )
        );
        assertEq(token.DOMAIN_SEPARATOR(), expected);
    }

    function test_permit_revertsIfExpired() public {
        vm.warp(1_000_000);
        address owner = vm.addr(ownerKey);
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, _permitDigest(owner, bob, 5 ether, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(owner, bob, 5 ether, deadline, v, r, s);
    }

    function test_permit_revertsIfReplayed() public {
        address owner = vm.addr(ownerKey);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, _permitDigest(owner, bob, 5 ether, 0, deadline));
        token.permit(owner, bob, 5 ether, deadline, v, r, s);
        // The second use hashes with nonce 1, so it recovers some other signer.
        vm.expectRevert();
        token.permit(owner, bob, 5 ether, deadline, v, r, s);
        assertEq(token.nonces(owner), 1);
    }

    function test_permit_revertsIfWrongSigner() public {
        address owner = vm.addr(ownerKey);
        uint256 otherKey = 0xBADBAD;
        address signer = vm.addr(otherKey);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(otherKey, _permitDigest(owner, bob, 5 ether, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, signer, owner));
        token.permit(owner, bob, 5 ether, deadline, v, r, s);
    }

    function test_permit_revertsIfValueTampered() public {
        address owner = vm.addr(ownerKey);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, _permitDigest(owner, bob, 5 ether, 0, deadline));
        vm.expectRevert();
        token.permit(owner, bob, 6 ether, deadline, v, r, s);
        assertEq(token.allowance(owner, bob), 0);
    }

    // --- interfaces ---

    function test_supportsInterface_accessControl() public view {
        assertTrue(token.supportsInterface(type(IAccessControl).interfaceId));
        assertFalse(token.supportsInterface(0xffffffff));
    }
}
