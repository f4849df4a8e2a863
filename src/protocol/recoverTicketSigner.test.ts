import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { recoverTypedDataAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { InvalidSignatureError, SignerMismatchError } from "./errors.ts";
import { domainSeparatorBytes } from "./hashTicket.ts";
import { recoverTicketSigner, verifyTicketSignature } from "./recoverTicketSigner.ts";
import { SECP256K1_N } from "./signature.ts";
import { signTicket } from "./signTicket.ts";
import { ticketTypedData } from "./ticketTypedData.ts";
import { sampleTicket, ticket as ticketArb, TEST_DOMAIN, TEST_KEY_0, TEST_KEY_1 } from "./testing/arbitraries.ts";

const account0 = privateKeyToAccount(TEST_KEY_0);
const account1 = privateKeyToAccount(TEST_KEY_1);

/** The malleable twin (r, n - s, v ^ 1): a valid ECDSA signature of the same message, high s. */
function highSTwin(sig: Hex): Hex {
  const s = BigInt(`0x${sig.slice(66, 130)}`);
  const v = sig.endsWith("1b") ? "1c" : "1b";
  return `${sig.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, "0")}${v}` as Hex;
}

test("recoverTicketSigner agrees with viem's recoverTypedDataAddress (property)", async () => {
  await fc.assert(fc.asyncProperty(ticketArb, async (ticket) => {
    const signature = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_1 });
    const recovered = recoverTicketSigner(ticket, TEST_DOMAIN, signature);
    assert.equal(recovered, account1.address);
    assert.equal(recovered, await recoverTypedDataAddress({ ...ticketTypedData(ticket, TEST_DOMAIN), signature }));
    assert.equal(recoverTicketSigner(ticket, domainSeparatorBytes(TEST_DOMAIN), signature), recovered);
  }), { numRuns: 40 });
});

test("verifyTicketSignature passes for the sender and names both addresses otherwise", async () => {
  const ticket = sampleTicket({ sender: account0.address });
  const good = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
  assert.equal(verifyTicketSignature(ticket, TEST_DOMAIN, good), account0.address);
  // Lowercase sender in the ticket is the same address.
  assert.equal(verifyTicketSignature({ ...ticket, sender: account0.address.toLowerCase() as Hex }, TEST_DOMAIN, good), account0.address);
  const bad = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_1 });
  assert.throws(() => verifyTicketSignature(ticket, TEST_DOMAIN, bad), (e: unknown) =>
    e instanceof SignerMismatchError && e.expected === account0.address && e.recovered === account1.address);
});

test("a signature under another domain or for another ticket does not verify", async () => {
  const ticket = sampleTicket({ sender: account0.address });
  const signature = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
  assert.throws(() => verifyTicketSignature(ticket, { ...TEST_DOMAIN, chainId: 1n }, signature), SignerMismatchError);
  assert.throws(() => verifyTicketSignature({ ...ticket, cumulativeBytes: ticket.cumulativeBytes + 1n }, TEST_DOMAIN, signature), SignerMismatchError);
});

test("the high-s twin and the v 0/1 form are rejected although they are valid ECDSA", async () => {
  const ticket = sampleTicket({ sender: account0.address });
  const signature = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
  const twin = highSTwin(signature);
  // The twin recovers the same signer with a permissive library: that is why we must reject it.
  assert.equal(await recoverTypedDataAddress({ ...ticketTypedData(ticket, TEST_DOMAIN), signature: twin }), account0.address);
  assert.throws(() => recoverTicketSigner(ticket, TEST_DOMAIN, twin), InvalidSignatureError);
  const v01 = `${signature.slice(0, 130)}${signature.endsWith("1b") ? "00" : "01"}` as Hex;
  assert.throws(() => recoverTicketSigner(ticket, TEST_DOMAIN, v01), InvalidSignatureError);
  assert.throws(() => recoverTicketSigner(ticket, TEST_DOMAIN, signature.slice(0, 130) as Hex), InvalidSignatureError);
});
