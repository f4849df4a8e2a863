import { test } from "node:test";
import assert from "node:assert/strict";
import { createWalletClient, http, recoverTypedDataAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { InvalidSignatureError } from "./errors.ts";
import { isCanonicalSignature } from "./signature.ts";
import { signTicket, signTicketWith } from "./signTicket.ts";
import { ticketTypedData } from "./ticketTypedData.ts";
import { sampleTicket, TEST_DOMAIN, TEST_KEY_0 } from "./testing/arbitraries.ts";

test("signTicket returns a canonical signature that recovers to the key's address", async () => {
  const ticket = sampleTicket();
  const signature = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
  assert.equal(signature.length, 132);
  assert.ok(isCanonicalSignature(signature));
  assert.ok(signature.endsWith("1b") || signature.endsWith("1c"));
  const signer = await recoverTypedDataAddress({ ...ticketTypedData(ticket, TEST_DOMAIN), signature });
  assert.equal(signer, privateKeyToAccount(TEST_KEY_0).address);
});

test("signTicket is deterministic (RFC 6979)", async () => {
  const ticket = sampleTicket();
  const a = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
  const b = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
  assert.equal(a, b);
  assert.notEqual(a, await signTicket({ ticket: { ...ticket, senderNonce: 8n }, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 }));
});

test("signTicketWith a LocalAccount or a WalletClient gives signTicket's signature", async () => {
  const ticket = sampleTicket();
  const expected = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
  const account = privateKeyToAccount(TEST_KEY_0);
  assert.equal(await signTicketWith(account, { ticket, domain: TEST_DOMAIN }), expected);
  // A local account on a wallet client signs without any RPC call; the URL is never contacted.
  const wallet = createWalletClient({ account, chain: foundry, transport: http("http://127.0.0.1:1") });
  assert.equal(await signTicketWith(wallet, { ticket, domain: TEST_DOMAIN }), expected);
});

test("signTicketWith canonicalizes v 0/1 wallets and rejects high-s ones", async () => {
  const ticket = sampleTicket();
  const expected = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
  const yParity = expected.endsWith("1b") ? "00" : "01";
  const legacyWallet = { signTypedData: async () => `${expected.slice(0, 130)}${yParity}` as Hex };
  assert.equal(await signTicketWith(legacyWallet, { ticket, domain: TEST_DOMAIN }), expected);
  const highS = `0x${"11".repeat(32)}${"ff".repeat(32)}1b` as Hex;
  await assert.rejects(signTicketWith({ signTypedData: async () => highS }, { ticket, domain: TEST_DOMAIN }), InvalidSignatureError);
});
