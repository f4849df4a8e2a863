import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { signTicket } from "../protocol/signTicket.ts";
import { ticket as ticketArb, TEST_DOMAIN, TEST_KEY_0, TEST_KEY_1 } from "../protocol/testing/arbitraries.ts";
import { createNativeTicketSigner } from "./createNativeTicketSigner.ts";

test("the native signer gives viem's signature byte for byte (same digest, RFC 6979, low s, v in {27, 28})", async () => {
  const signers = { [TEST_KEY_0]: createNativeTicketSigner(TEST_KEY_0, TEST_DOMAIN), [TEST_KEY_1]: createNativeTicketSigner(TEST_KEY_1, TEST_DOMAIN) };
  await fc.assert(
    fc.asyncProperty(ticketArb, fc.constantFrom(TEST_KEY_0, TEST_KEY_1), async (ticket, key) => {
      assert.equal(await signers[key]!(ticket), await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: key }));
    }),
    { numRuns: 150 },
  );
});

test("the native signer refuses a key that is not a secp256k1 scalar", () => {
  assert.throws(() => createNativeTicketSigner(`0x${"00".repeat(32)}`, TEST_DOMAIN), RangeError);
  assert.throws(() => createNativeTicketSigner(`0x${"ff".repeat(32)}`, TEST_DOMAIN), RangeError);
});
