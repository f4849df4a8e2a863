import { test } from "node:test";
import assert from "node:assert/strict";
import { concat, getAddress, numberToHex, type Address } from "viem";
import { encodeCompactBatch, type RedeemItem } from "../protocol/compactBatch.ts";
import { recipientRandHash } from "../protocol/winningTicket.ts";
import { sampleTicket } from "../protocol/testing/arbitraries.ts";
import { redeemCall } from "./brokerClient.ts";

const ME = getAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const word = (n: bigint) => numberToHex(n, { size: 32 });

function item(nonce: bigint, recipient: Address = ME, v = 27): RedeemItem {
  return {
    ticket: sampleTicket({ recipient, senderNonce: nonce, recipientRandHash: recipientRandHash(5n) }),
    signature: concat([word(1n), word(2n), numberToHex(v, { size: 1 })]),
    recipientRand: 5n,
  };
}

test("redeemCall sends the compact encoding when it carries the batch exactly", () => {
  const items = [item(1n), item(2n)];
  assert.deepEqual(redeemCall(items, ME), { functionName: "redeemTicketsCompact", args: [encodeCompactBatch(items)] });
  assert.equal(redeemCall(items, getAddress(ME.toLowerCase())).functionName, "redeemTicketsCompact", "address case does not matter");
});

test("redeemCall falls back to redeemTickets, whose errors name the bad ticket", () => {
  const other = getAddress(`0x${"11".repeat(20)}`);
  const cases: RedeemItem[][] = [
    [item(1n), item(2n, other)], // a ticket of another recipient: NotTicketRecipient
    [item(1n, other)], // all of another recipient (the encoding would rebuild them for the caller)
    [item(2n ** 64n)], // a nonce the 8-byte field cannot hold
    [item(1n, ME, 1)], // a non-canonical signature: InvalidSignature
    [{ ...item(1n), recipientRand: 6n }], // a recipientRand that does not match: InvalidRecipientRand
  ];
  for (const items of cases) {
    const call = redeemCall(items, ME);
    assert.equal(call.functionName, "redeemTickets");
    assert.deepEqual(call.args, [items.map((i) => i.ticket), items.map((i) => i.signature), items.map((i) => i.recipientRand)]);
  }
});
