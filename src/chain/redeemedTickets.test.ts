import { test } from "node:test";
import assert from "node:assert/strict";
import { concat, encodeAbiParameters, encodeEventTopics, encodeFunctionData, numberToHex, type Address, type Hex, type Log } from "viem";
import { encodeCompactBatch, type RedeemItem } from "../protocol/compactBatch.ts";
import { ticketStructHash } from "../protocol/hashTicket.ts";
import { sampleTicket } from "../protocol/testing/arbitraries.ts";
import { recipientRandHash } from "../protocol/winningTicket.ts";
import { ticketBrokerAbi } from "./abis.ts";
import { compactNonces, redeemedTicketsInLogs } from "./redeemedTickets.ts";

const BROKER = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
const RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
const SENDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as Address;
const TX = `0x${"ab".repeat(32)}` as Hex;
const word = (n: bigint) => numberToHex(n, { size: 32 });

function item(nonce: bigint): RedeemItem {
  return {
    ticket: sampleTicket({ recipient: RECIPIENT, sender: SENDER, senderNonce: nonce, recipientRandHash: recipientRandHash(9n) }),
    signature: concat([word(0x1111n), word(0x2222n), "0x1b"]),
    recipientRand: 9n,
  };
}

function log(address: Address, eventName: "TicketRedeemed" | "TicketGroupRedeemed", args: Record<string, unknown>, logIndex: number): Log {
  const event = ticketBrokerAbi.find((x) => x.type === "event" && x.name === eventName)!;
  const topics = encodeEventTopics({ abi: ticketBrokerAbi, eventName, args } as never) as [Hex, ...Hex[]];
  const data = encodeAbiParameters((event as { inputs: readonly { indexed?: boolean; type: string; name: string }[] }).inputs.filter((i) => !i.indexed), (event as { inputs: readonly { indexed?: boolean; name: string }[] }).inputs.filter((i) => !i.indexed).map((i) => args[i.name]) as never);
  return { address, topics, data, logIndex, transactionHash: TX, blockHash: null, blockNumber: null, transactionIndex: null, removed: false } as unknown as Log;
}

test("both event forms yield one record per ticket; a group's last ticket paid lastPaid; other contracts' logs are skipped", () => {
  const h = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
  const logs = [
    log(BROKER, "TicketRedeemed", { ticketHash: h(1), sender: SENDER, nonce: 5n, paid: 100n }, 0),
    log(BROKER, "TicketGroupRedeemed", { sender: SENDER, faceValue: 100n, lastPaid: 40n, ticketHashes: [h(2), h(3), h(4)] }, 1),
    log(RECIPIENT, "TicketRedeemed", { ticketHash: h(9), sender: SENDER, nonce: 1n, paid: 7n }, 2),
  ];
  const out = redeemedTicketsInLogs(logs, BROKER);
  assert.deepEqual(out.map((t) => [t.ticketHash, t.nonce, t.paid, t.logIndex]), [
    [h(1), 5n, 100n, 0], [h(2), undefined, 100n, 1], [h(3), undefined, 100n, 1], [h(4), undefined, 40n, 1],
  ]);
  assert.ok(out.every((t) => t.txHash === TX && t.sender === SENDER));
});

test("compactNonces reads each ticket's nonce from a redeemTicketsCompact call, and nothing from other calls", () => {
  const items = [item(3n), item(4n), item(10n)];
  const input = encodeFunctionData({ abi: ticketBrokerAbi, functionName: "redeemTicketsCompact", args: [encodeCompactBatch(items)] });
  const nonces = compactNonces(input, RECIPIENT);
  assert.deepEqual(items.map((i) => nonces.get(ticketStructHash(i.ticket).toLowerCase() as Hex)), [3n, 4n, 10n]);
  assert.equal(compactNonces(encodeFunctionData({ abi: ticketBrokerAbi, functionName: "lastNonce", args: [SENDER, RECIPIENT] } as never), RECIPIENT).size, 0);
  assert.equal(compactNonces("0xdeadbeef", RECIPIENT).size, 0);
});
