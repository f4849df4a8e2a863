// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {Ticket} from "../interfaces/ITicketBroker.sol";
import {TicketLib} from "../libraries/TicketLib.sol";
import {BrokerTicketLibHarness} from "./handlers/BrokerTicketLibHarness.sol";

/// @notice The shared vectors (test/vectors/tickets.json, written by the TypeScript side) checked
/// against the Solidity implementation: struct hash, digest, signature rule, win draw, expiry.
contract TicketVectorsTest is Test {
    string internal constant PATH = "test/vectors/tickets.json";
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    BrokerTicketLibHarness internal lib;
    string internal json;

    function setUp() public {
        lib = new BrokerTicketLibHarness();
        json = vm.readFile(string.concat(vm.projectRoot(), "/", PATH));
    }

    function test_vectors_domainSeparatorMatchesDomain() public view {
        bytes32 expected = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256(bytes(vm.parseJsonString(json, ".domain.name"))),
                keccak256(bytes(vm.parseJsonString(json, ".domain.version"))),
                vm.parseJsonUint(json, ".domain.chainId"),
                vm.parseJsonAddress(json, ".domain.verifyingContract")
            )
        );
        assertEq(vm.parseJsonString(json, ".domain.name"), "bandmint");
        assertEq(vm.parseJsonString(json, ".domain.version"), "1");
        assertEq(vm.parseJsonBytes32(json, ".domainSeparator"), expected, "domainSeparator");
    }

    function test_vectors_typehashMatchesSpec() public pure {
        assertEq(
            TicketLib.TICKET_TYPEHASH,
            keccak256(
                "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,bytes32 recipientRandHash,uint64 expiry,bytes32 sessionId,uint64 cumulativeBytes)"
            )
        );
    }

    function test_vectors_allMatchSolidity() public view {
        bytes32 separator = vm.parseJsonBytes32(json, ".domainSeparator");
        uint256 count;
        uint256 valid;
        uint256 wins;
        while (vm.keyExistsJson(json, string.concat(".vectors[", vm.toString(count), "]"))) {
            (bool isValid, bool isWin) = _check(string.concat(".vectors[", vm.toString(count), "]"), separator);
            if (isValid) ++valid;
            if (isWin) ++wins;
            ++count;
        }
        // The file must exercise both sides of every check, or this test proves little.
        assertGt(count, 10);
        assertGt(valid, 0);
        assertLt(valid, count);
        assertGt(wins, 0);
        assertLt(wins, count);
    }

    function _ticket(string memory p) internal view returns (Ticket memory t) {
        t.recipient = vm.parseJsonAddress(json, string.concat(p, ".ticket.recipient"));
        t.sender = vm.parseJsonAddress(json, string.concat(p, ".ticket.sender"));
        t.faceValue = vm.parseJsonUint(json, string.concat(p, ".ticket.faceValue"));
        t.winProb = vm.parseJsonUint(json, string.concat(p, ".ticket.winProb"));
        t.senderNonce = vm.parseJsonUint(json, string.concat(p, ".ticket.senderNonce"));
        t.recipientRandHash = vm.parseJsonBytes32(json, string.concat(p, ".ticket.recipientRandHash"));
        t.expiry = uint64(vm.parseJsonUint(json, string.concat(p, ".ticket.expiry")));
        t.sessionId = vm.parseJsonBytes32(json, string.concat(p, ".ticket.sessionId"));
        t.cumulativeBytes = uint64(vm.parseJsonUint(json, string.concat(p, ".ticket.cumulativeBytes")));
    }

    function _check(string memory p, bytes32 separator) internal view returns (bool isValid, bool isWin) {
        string memory name = vm.parseJsonString(json, string.concat(p, ".name"));
        Ticket memory t = _ticket(p);
        bytes32 structHash = lib.hashStruct(t);
        assertEq(structHash, vm.parseJsonBytes32(json, string.concat(p, ".structHash")), string.concat(name, ": structHash"));
        bytes32 digest = MessageHashUtils.toTypedDataHash(separator, structHash);
        assertEq(digest, vm.parseJsonBytes32(json, string.concat(p, ".digest")), string.concat(name, ": digest"));
        (isValid, isWin) = _checkSignatureAndDraw(p, name, t, separator, digest);
        uint256 clock = vm.parseJsonUint(json, string.concat(p, ".now"));
        assertTrue((clock > t.expiry) == vm.parseJsonBool(json, string.concat(p, ".expired")), string.concat(name, ": expired"));
    }

    /// @dev The broker's own recovery and draw (TicketLib.winAndSigner, as redemption loads the
    /// ticket), OpenZeppelin's rule as the reference for the signer, and TicketLib.isWinning (the
    /// draw over the signature bytes as given) for the winning flag.
    function _checkSignatureAndDraw(string memory p, string memory name, Ticket memory t, bytes32 separator, bytes32 digest)
        internal
        view
        returns (bool isValid, bool isWin)
    {
        bytes memory sig = vm.parseJsonBytes(json, string.concat(p, ".signature"));
        isValid = vm.parseJsonBool(json, string.concat(p, ".signatureValid"));
        uint256 rand = vm.parseJsonUint(json, string.concat(p, ".recipientRand"));
        (bool brokerWins, address signer) = lib.winLikeBroker(separator, t, sig, rand);
        assertEq(signer, vm.parseJsonAddress(json, string.concat(p, ".signer")), string.concat(name, ": signer"));
        assertEq(signer, lib.recoverWithOpenZeppelin(digest, sig), string.concat(name, ": signer as OpenZeppelin"));
        assertTrue((signer != address(0)) == isValid, string.concat(name, ": signatureValid"));

        assertEq(lib.recipientRandHash(rand), t.recipientRandHash, string.concat(name, ": recipientRandHash"));
        isWin = lib.isWinning(sig, rand, t.winProb);
        assertTrue(isWin == vm.parseJsonBool(json, string.concat(p, ".winning")), string.concat(name, ": winning"));
        if (sig.length == 65) assertTrue(brokerWins == isWin, string.concat(name, ": broker's draw"));
    }
}
