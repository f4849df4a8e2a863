// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {vm} from "./utils/Vm.sol";
import {BandToken} from "../BandToken.sol";
import {TicketBroker} from "../TicketBroker.sol";
import {Ticket} from "../interfaces/ITicketBroker.sol";
import {BrokerMockRegistry} from "./handlers/BrokerMockRegistry.sol";
import {CompactBatchEncoder} from "./utils/CompactBatchEncoder.sol";

/// @notice Shared fixture for the TicketBroker tests: a BandToken, a mock registry, a broker, two
/// funded senders with known keys, and helpers that build and sign tickets. The EIP-712 hashing
/// here is written out independently of TicketLib, so the tests check the contract's hashing too.
abstract contract TicketBrokerBase is Test {
    uint256 internal constant START = 1_700_000_000;
    uint16 internal constant BURN_BPS = 1_000;
    uint16 internal constant TREASURY_BPS = 500;
    uint64 internal constant UNLOCK_PERIOD = 7 days;
    uint64 internal constant EPOCH_LENGTH = 1 days;
    uint256 internal constant CAP = 1_000_000_000 ether;
    uint256 internal constant SENDER_FUNDS = 1_000_000 ether;
    uint256 internal constant FACE = 1 ether;
    uint256 internal constant ALWAYS = type(uint256).max;
    uint256 internal constant SECP256K1_N =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    bytes32 internal constant TICKET_TYPEHASH = keccak256(
        "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,bytes32 recipientRandHash,uint64 expiry,bytes32 sessionId,uint64 cumulativeBytes)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    uint256 internal constant SENDER_KEY = 0xA11CE;
    uint256 internal constant SENDER2_KEY = 0xB0B;
    uint256 internal constant STRANGER_KEY = 0xC0FFEE;

    BandToken internal token;
    BrokerMockRegistry internal registry;
    TicketBroker internal broker;
    address internal treasury = address(0x7EA5);
    address internal sender;
    address internal sender2;
    address internal recipient = address(0xBEEF);
    address internal recipient2 = address(0xCAFE);

    function setUp() public virtual {
        vm.warp(START);
        sender = vm.addr(SENDER_KEY);
        sender2 = vm.addr(SENDER2_KEY);
        address[] memory holders = new address[](2);
        holders[0] = sender;
        holders[1] = sender2;
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = SENDER_FUNDS;
        amounts[1] = SENDER_FUNDS;
        token = new BandToken("Bandmint", "BAND", CAP, address(0), holders, amounts);
        registry = new BrokerMockRegistry();
        broker = new TicketBroker(
            token, address(registry), treasury, BURN_BPS, TREASURY_BPS, UNLOCK_PERIOD, EPOCH_LENGTH, 0
        );
        vm.prank(sender);
        token.approve(address(broker), type(uint256).max);
        vm.prank(sender2);
        token.approve(address(broker), type(uint256).max);
    }

    // ------------------------------------------------------------ helpers

    function _fund(address who, uint256 deposit, uint256 reserve) internal {
        vm.prank(who);
        broker.fundDepositAndReserve(deposit, reserve);
    }

    /// @dev A certain-win ticket from the key's address to `to`, rand = nonce + 1.
    function _ticket(uint256 key, address to, uint256 face, uint256 nonce) internal view returns (Ticket memory t) {
        t = Ticket({
            recipient: to,
            sender: vm.addr(key),
            faceValue: face,
            winProb: ALWAYS,
            senderNonce: nonce,
            recipientRandHash: keccak256(abi.encodePacked(_rand(nonce))),
            expiry: uint64(block.timestamp + 1 days),
            sessionId: keccak256("session"),
            cumulativeBytes: uint64(nonce * 1 << 20)
        });
    }

    function _rand(uint256 nonce) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode("rand", nonce)));
    }

    function _structHash(Ticket memory t) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                TICKET_TYPEHASH,
                t.recipient,
                t.sender,
                t.faceValue,
                t.winProb,
                t.senderNonce,
                t.recipientRandHash,
                t.expiry,
                t.sessionId,
                t.cumulativeBytes
            )
        );
    }

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("bandmint"), keccak256("1"), block.chainid, address(broker))
        );
    }

    function _digest(Ticket memory t) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), _structHash(t)));
    }

    function _sign(uint256 key, Ticket memory t) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(t));
        return abi.encodePacked(r, s, v);
    }

    /// @dev Like `_ticket`, committing to `rand` instead: the tickets of one session share it.
    function _ticketWithRand(uint256 key, address to, uint256 face, uint256 nonce, uint256 rand)
        internal
        view
        returns (Ticket memory t)
    {
        t = _ticket(key, to, face, nonce);
        t.recipientRandHash = keccak256(abi.encodePacked(rand));
    }

    /// @dev The compact batch encoding (CompactBatchEncoder) of tickets, signatures and rands.
    function _compact(Ticket[] memory ts, bytes[] memory sigs, uint256[] memory rands)
        internal
        pure
        returns (bytes memory)
    {
        return CompactBatchEncoder.encode(ts, sigs, rands);
    }

    /// @dev Redeems one ticket signed by `key` as its recipient.
    function _redeem(uint256 key, Ticket memory t) internal {
        bytes memory sig = _sign(key, t);
        vm.prank(t.recipient);
        broker.redeemTicket(t, sig, _rand(t.senderNonce));
    }
}
