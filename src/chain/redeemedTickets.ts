import { decodeEventLog, decodeFunctionData, type Address, type Hex, type Log } from "viem";
import { decodeCompactBatch } from "../protocol/compactBatch.ts";
import { ticketStructHash } from "../protocol/hashTicket.ts";
import { ticketBrokerAbi } from "./abis.ts";

/**
 * One winning ticket the broker paid, as its events tell it. `redeemTicket(s)` log a
 * TicketRedeemed per ticket (with its nonce); `redeemTicketsCompact` logs one TicketGroupRedeemed
 * per group, whose tickets each paid `faceValue` but the last, which paid `lastPaid`
 * (docs/protocol/broker.md). `nonce` is undefined for those: the event does not carry it
 * (`compactNonces` reads it from the transaction's input).
 */
export type RedeemedTicket = {
  ticketHash: Hex;
  sender: Address;
  nonce: bigint | undefined;
  paid: bigint;
  txHash: Hex;
  logIndex: number;
};

/** Every ticket redeemed in `logs` at `broker`, from both event forms, in log order. Other logs are skipped. */
export function redeemedTicketsInLogs(logs: readonly Log[], broker: Address): RedeemedTicket[] {
  const out: RedeemedTicket[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() !== broker.toLowerCase()) continue;
    let ev;
    try {
      ev = decodeEventLog({ abi: ticketBrokerAbi, data: log.data, topics: log.topics });
    } catch {
      continue; // not a broker event (e.g. a token Transfer emitted at the broker's address)
    }
    const at = { txHash: log.transactionHash as Hex, logIndex: log.logIndex ?? 0 };
    if (ev.eventName === "TicketRedeemed") {
      const { ticketHash, sender, nonce, paid } = ev.args;
      out.push({ ticketHash: ticketHash.toLowerCase() as Hex, sender, nonce, paid, ...at });
    } else if (ev.eventName === "TicketGroupRedeemed") {
      const { sender, faceValue, lastPaid, ticketHashes } = ev.args;
      ticketHashes.forEach((h, i) => out.push({
        ticketHash: h.toLowerCase() as Hex, sender, nonce: undefined,
        paid: i === ticketHashes.length - 1 ? lastPaid : faceValue, ...at,
      }));
    }
  }
  return out;
}

/**
 * The nonces of the tickets a `redeemTicketsCompact` call carried, by lowercase struct hash, read
 * from the call's input (`recipient` is the caller). Empty for any other call.
 */
export function compactNonces(input: Hex, recipient: Address): Map<Hex, bigint> {
  const nonces = new Map<Hex, bigint>();
  let call;
  try {
    call = decodeFunctionData({ abi: ticketBrokerAbi, data: input });
  } catch {
    return nonces; // not a broker call (a contract wallet, a multicall): the nonces stay unknown
  }
  if (call.functionName !== "redeemTicketsCompact") return nonces;
  for (const item of decodeCompactBatch(call.args[0], recipient)) {
    nonces.set(ticketStructHash(item.ticket).toLowerCase() as Hex, item.ticket.senderNonce);
  }
  return nonces;
}
