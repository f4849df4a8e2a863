// Shared fast-check arbitraries and fixtures for the protocol tests (not part of the public API).
import fc from "fast-check";
import { getAddress, type Address, type Hex } from "viem";
import { MAX_UINT256, MAX_UINT64, ticketDomain, type Ticket } from "../ticket.ts";

/** Hardhat default account 0's key (public knowledge; never use outside tests). */
export const TEST_KEY_0: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/** Hardhat default account 1's key. */
export const TEST_KEY_1: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/** The broker address used by the test vectors (first deployment of account 0). */
export const TEST_BROKER: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
/** The ticket domain of the embedded chain and TEST_BROKER. */
export const TEST_DOMAIN = ticketDomain(31337n, TEST_BROKER);

/** An arbitrary 0x hex string of exactly `n` bytes. */
export function hexBytes(n: number): fc.Arbitrary<Hex> {
  return fc.uint8Array({ minLength: n, maxLength: n }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
}

/** An arbitrary checksummed address. */
export const address: fc.Arbitrary<Address> = hexBytes(20).map((h) => getAddress(h));

/** uint256 biased towards the edges (0, 1, max) as well as uniform values. */
export const uint256: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: 0n, max: MAX_UINT256 }),
  fc.constantFrom(0n, 1n, MAX_UINT256, MAX_UINT256 - 1n, 2n ** 255n),
);
/** uint64 biased towards the edges. */
export const uint64: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: 0n, max: MAX_UINT64 }),
  fc.constantFrom(0n, 1n, MAX_UINT64),
);

/** An arbitrary well-formed ticket. */
export const ticket: fc.Arbitrary<Ticket> = fc.record({
  recipient: address,
  sender: address,
  faceValue: uint256,
  winProb: uint256,
  senderNonce: uint256,
  recipientRandHash: hexBytes(32),
  expiry: uint64,
  sessionId: hexBytes(32),
  cumulativeBytes: uint64,
});

/** A fixed, ordinary ticket for example-based tests. */
export function sampleTicket(overrides: Partial<Ticket> = {}): Ticket {
  return {
    recipient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    sender: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    faceValue: 10n ** 18n,
    winProb: 2n ** 250n,
    senderNonce: 7n,
    recipientRandHash: "0x" + "11".repeat(32) as Hex,
    expiry: 1_900_000_000n,
    sessionId: "0x" + "ab".repeat(32) as Hex,
    cumulativeBytes: 1n << 20n,
    ...overrides,
  };
}
