// eth_signTypedData_v4 compatibility: a ticket signed by the embedded chain's wallet (what any
// browser wallet does over JSON-RPC) verifies with our recovery and equals our own signature.
import { test } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  recipientRandHash,
  recoverTicketSigner,
  signTicket,
  ticketDomain,
  ticketTypedDataJson,
  verifyTicketSignature,
  type Ticket,
} from "../../src/protocol/index.ts";

const ACCOUNT_0_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

test("eth_signTypedData_v4 on the embedded chain matches signTicket and recovers to the sender", async () => {
  const { provider } = await network.connect();
  const accounts = (await provider.request({ method: "eth_accounts" })) as Address[];
  const from = getAddress(accounts[0]!);
  assert.equal(from, privateKeyToAccount(ACCOUNT_0_KEY).address, "Hardhat account 0 is the known key");
  const chainId = BigInt((await provider.request({ method: "eth_chainId" })) as string);
  const domain = ticketDomain(chainId, "0x5FbDB2315678afecb367f032d93F642f64180aa3");

  const tickets: Ticket[] = [
    {
      recipient: getAddress(accounts[1]!),
      sender: from,
      faceValue: 10n ** 18n,
      winProb: 2n ** 255n,
      senderNonce: 3n,
      recipientRandHash: recipientRandHash(42n),
      expiry: 1_900_000_000n,
      sessionId: `0x${"5e".repeat(32)}`,
      cumulativeBytes: 1n << 20n,
    },
    {
      // Extremes: values above 2^53 only survive JSON as decimal strings.
      recipient: getAddress(accounts[1]!),
      sender: from,
      faceValue: 2n ** 256n - 1n,
      winProb: 2n ** 256n - 1n,
      senderNonce: 2n ** 256n - 1n,
      recipientRandHash: recipientRandHash(0n),
      expiry: 2n ** 64n - 1n,
      sessionId: `0x${"ff".repeat(32)}`,
      cumulativeBytes: 2n ** 64n - 1n,
    },
  ];
  for (const ticket of tickets) {
    const fromWallet = (await provider.request({
      method: "eth_signTypedData_v4",
      params: [from, ticketTypedDataJson(ticket, domain)],
    })) as Hex;
    assert.equal(recoverTicketSigner(ticket, domain, fromWallet), from);
    assert.equal(verifyTicketSignature(ticket, domain, fromWallet), from);
    assert.equal(fromWallet.toLowerCase(), await signTicket({ ticket, domain, privateKey: ACCOUNT_0_KEY }));
  }
});
