// The soak's exact accounting, after every node stopped: each node's SQLite store (opened
// read-only), its last /status, what the clients saw, and the TicketBroker's events must agree.
import { DatabaseSync } from "node:sqlite";
import type { Abi, Address, Hex, PublicClient } from "viem";
import { ticketBrokerAbi } from "../../src/chain/abis.ts";
import { redeemedTicketsInLogs } from "../../src/chain/redeemedTickets.ts";
import { ticketWorth } from "../../src/node/payments/ticketIntake.ts";
import { ticketStructHash } from "../../src/protocol/hashTicket.ts";
import { parseTicket } from "../../src/protocol/ticket.ts";
import { priceOfBytes } from "../../src/protocol/ticketParams.ts";
import type { AcceptedTicket, ClientSession } from "./types.ts";

/** One check of the accounting: its name, whether it held, and what was compared. */
export type Check = { name: string; ok: boolean; detail: string };

/** A node as the accounting sees it. */
export type AccountedNode = { index: number; provider: Address; dbPath: string; status: NodeStatus };

/** The parts of GET /status the accounting compares. */
export type NodeStatus = {
  servedBytes: string;
  paidBytes: string;
  tickets: number;
  winners: number;
  ticketsByState: Record<string, number>;
  redeemed: { tickets: number; transactions: number };
  earnings: { gross: string; burn: string; treasury: string };
};

/** The offer terms every node runs with. */
export type Terms = { pricePerGiB: bigint; faceValue: bigint; winProb: bigint; creditWindowBytes: bigint };

/** Per-node totals for the report. */
export type NodeTotals = {
  node: number;
  integrity: string;
  sessions: number;
  servedBytes: bigint;
  paidBytes: bigint;
  tickets: number;
  winners: number;
  byState: Record<string, number>;
  redemptions: number;
  paid: bigint;
  chain: { transactions: number; tickets: number; paid: bigint; burned: bigint; treasury: bigint };
};

type Row = Record<string, unknown>;

/** Reads a store without writing to it (no WAL replay needs a writer: the nodes stopped cleanly). */
function readStore(path: string) {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const integrity = (db.prepare("PRAGMA integrity_check").all() as Row[]).map((r) => String(Object.values(r)[0])).join("; ");
    const sessions = db.prepare("SELECT id, served, paid, service FROM sessions").all() as Row[];
    const tickets = db.prepare("SELECT hash, session_id, signature, ticket, winning, state, paid_value, tx_hash, error FROM tickets").all() as Row[];
    const redemptions = db.prepare("SELECT tx_hash, state, paid, burned, treasury FROM redemptions").all() as Row[];
    return { integrity, sessions, tickets, redemptions };
  } finally {
    db.close();
  }
}

/** Runs every check; returns the checks and per-node totals. */
export async function account(p: {
  nodes: AccountedNode[];
  sessions: ClientSession[];
  accepted: AcceptedTicket[];
  terms: Terms;
  publicClient: PublicClient;
  broker: Address;
  fromBlock: bigint;
  /** How many times node `node` stopped (SIGKILL, SIGTERM, or on its own) between epoch ms `from` and `to`. */
  restartsOf: (node: number, from: number, to: number) => number;
}): Promise<{ checks: Check[]; totals: NodeTotals[]; sessionsChecked: number; sessionMismatches: string[]; acrossRestarts: { sessions: number; maxWindows: number; maxRestarts: number } }> {
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const { terms } = p;
  const window = terms.creditWindowBytes;
  const worth = ticketWorth(terms.faceValue, terms.winProb);

  // The chain: every redeemed ticket (TicketRedeemed, or one of a compact batch's
  // TicketGroupRedeemed) and TicketsRedeemed (one per transaction).
  const abi = ticketBrokerAbi as Abi;
  const perTicket = redeemedTicketsInLogs(await p.publicClient.getLogs({ address: p.broker, fromBlock: p.fromBlock }), p.broker);
  const perTx = await p.publicClient.getContractEvents({ address: p.broker, abi, eventName: "TicketsRedeemed", fromBlock: p.fromBlock });
  const redeemedOnChain = new Map<string, { paid: bigint; tx: Hex }[]>();
  for (const t of perTicket) {
    const list = redeemedOnChain.get(t.ticketHash) ?? [];
    list.push({ paid: t.paid, tx: t.txHash });
    redeemedOnChain.set(t.ticketHash, list);
  }
  const twice = [...redeemedOnChain.entries()].filter(([, l]) => l.length > 1);
  check("no ticket redeemed twice on chain", twice.length === 0, `${perTicket.length} tickets in redemption events, ${redeemedOnChain.size} distinct tickets${twice.length ? `; twice: ${twice.slice(0, 3).map(([h]) => h).join(", ")}` : ""}`);

  const totals: NodeTotals[] = [];
  const storeSessions = new Map<string, { node: number; served: bigint; paid: bigint; service: string; tickets: Row[] }>();
  const signaturesByNode = new Map<number, Set<string>>();
  const matchedOnChain = new Set<string>();
  for (const n of p.nodes) {
    const s = readStore(n.dbPath);
    check(`node ${n.index}: PRAGMA integrity_check`, s.integrity === "ok", s.integrity);
    const sigs = new Set<string>();
    const bySession = new Map<string, Row[]>();
    const byState: Record<string, number> = {};
    let winners = 0;
    let confirmedPaid = 0n;
    let missingOnChain = 0;
    let paidMismatch = 0;
    for (const t of s.tickets) {
      sigs.add(String(t.signature).toLowerCase());
      const list = bySession.get(String(t.session_id)) ?? [];
      list.push(t);
      bySession.set(String(t.session_id), list);
      byState[String(t.state)] = (byState[String(t.state)] ?? 0) + 1;
      if (Number(t.winning) !== 1) continue;
      winners++;
      const structHash = ticketStructHash(parseTicket(JSON.parse(String(t.ticket)))).toLowerCase();
      const onChain = redeemedOnChain.get(structHash);
      if (t.state === "confirmed") {
        confirmedPaid += BigInt(String(t.paid_value ?? "0"));
        if (onChain === undefined) missingOnChain++;
        else {
          matchedOnChain.add(structHash);
          if (onChain[0]!.paid !== BigInt(String(t.paid_value ?? "0")) || onChain[0]!.tx.toLowerCase() !== String(t.tx_hash).toLowerCase()) paidMismatch++;
        }
      }
    }
    signaturesByNode.set(n.index, sigs);
    for (const r of s.sessions) {
      storeSessions.set(String(r.id), { node: n.index, served: BigInt(String(r.served)), paid: BigInt(String(r.paid)), service: String(r.service), tickets: bySession.get(String(r.id)) ?? [] });
    }
    const unredeemed = (byState.pending ?? 0) + (byState.submitted ?? 0);
    check(`node ${n.index}: every winner redeemed (none pending, submitted or failed)`, unredeemed === 0 && (byState.failed ?? 0) === 0,
      `${winners} winners: ${JSON.stringify(byState)}${(byState.failed ?? 0) > 0 ? ` failed: ${s.tickets.filter((t) => t.state === "failed").slice(0, 3).map((t) => t.error).join(" | ")}` : ""}`);
    check(`node ${n.index}: every confirmed winner has its redemption event, same tx and amount`, missingOnChain === 0 && paidMismatch === 0, `${byState.confirmed ?? 0} confirmed; missing on chain ${missingOnChain}; amount/tx mismatches ${paidMismatch}`);

    // Per provider on chain: TicketsRedeemed (recipient indexed) against the store's redemptions and /status.
    const mine = perTx.filter((e) => ((e as unknown as { args: { recipient: Address } }).args.recipient.toLowerCase() === n.provider.toLowerCase()));
    const chain = { transactions: mine.length, tickets: 0, paid: 0n, burned: 0n, treasury: 0n };
    const myTxs = new Set(mine.map((e) => e.transactionHash!.toLowerCase()));
    for (const e of mine) {
      const a = (e as unknown as { args: { paid: bigint; burned: bigint; treasury: bigint } }).args;
      chain.paid += a.paid;
      chain.burned += a.burned;
      chain.treasury += a.treasury;
    }
    for (const e of perTicket) if (myTxs.has(e.txHash.toLowerCase())) chain.tickets++;
    const confirmedTx = s.redemptions.filter((r) => r.state === "confirmed");
    const store = { transactions: confirmedTx.length, paid: 0n, burned: 0n, treasury: 0n };
    for (const r of confirmedTx) {
      store.paid += BigInt(String(r.paid ?? "0"));
      store.burned += BigInt(String(r.burned ?? "0"));
      store.treasury += BigInt(String(r.treasury ?? "0"));
    }
    const st = n.status;
    check(`node ${n.index}: on-chain totals = store = /status`,
      chain.transactions === store.transactions && chain.transactions === st.redeemed.transactions &&
      chain.tickets === (byState.confirmed ?? 0) && chain.tickets === st.redeemed.tickets &&
      chain.paid === store.paid && chain.paid === BigInt(st.earnings.gross) && chain.paid === confirmedPaid &&
      chain.burned === store.burned && chain.burned === BigInt(st.earnings.burn) &&
      chain.treasury === store.treasury && chain.treasury === BigInt(st.earnings.treasury),
      `chain ${chain.transactions} tx / ${chain.tickets} tickets / paid ${chain.paid} / burned ${chain.burned} / treasury ${chain.treasury}; ` +
      `store ${store.transactions} tx / ${byState.confirmed ?? 0} tickets / paid ${store.paid} (per ticket ${confirmedPaid}) / burned ${store.burned} / treasury ${store.treasury}; ` +
      `/status ${st.redeemed.transactions} tx / ${st.redeemed.tickets} tickets / gross ${st.earnings.gross} / burn ${st.earnings.burn} / treasury ${st.earnings.treasury}`);
    check(`node ${n.index}: /status tickets and winners = store`, st.tickets === s.tickets.length && st.winners === winners, `/status ${st.tickets} tickets, ${st.winners} winners; store ${s.tickets.length}, ${winners}`);
    let served = 0n;
    let paid = 0n;
    for (const r of s.sessions) {
      served += BigInt(String(r.served));
      paid += BigInt(String(r.paid));
    }
    totals.push({ node: n.index, integrity: s.integrity, sessions: s.sessions.length, servedBytes: served, paidBytes: paid, tickets: s.tickets.length, winners, byState, redemptions: store.transactions, paid: store.paid, chain });
  }
  const strays = [...redeemedOnChain.keys()].filter((h) => !matchedOnChain.has(h));
  check("every ticket redeemed on chain is a confirmed winner of a node's store", strays.length === 0, `${strays.length} events without a confirmed winner in any store`);

  // Every ticket a client saw accepted is in that node's store (nothing acknowledged was lost).
  const lost = p.accepted.filter((a) => !signaturesByNode.get(a.node)?.has(a.signature.toLowerCase()));
  check("every ticket a client saw accepted is in the node's store", lost.length === 0, `${p.accepted.length} acknowledged tickets, ${lost.length} missing${lost.length ? ` (first: node ${lost[0]!.node} session ${lost[0]!.sessionId})` : ""}`);

  // Per session: served (node), acknowledged (client) and the value of the tickets received agree
  // within one credit window, per life of the node. A restarted node forgives a session the bytes
  // it served before the restart and that are still unpaid (sessionBook.ts `creditBaseBytes`), so
  // a session in use across k restarts of its node may be served up to (1 + k) windows beyond its
  // pay. What the client saw acknowledged can lag what the node counts as paid (the answer to a
  // ticket POST lost in a kill): that gap has its own bound (one window), checked below.
  const mismatches: string[] = [];
  const acrossRestarts = { sessions: 0, maxWindows: 0, maxRestarts: 0 };
  const seen = new Set<string>();
  for (const c of p.sessions) {
    seen.add(c.sessionId);
    const s = storeSessions.get(c.sessionId);
    const ack = BigInt(c.acknowledgedBytes);
    const received = BigInt(c.receivedBytes);
    if (s === undefined) {
      mismatches.push(`${c.sessionId} (node ${c.node}): not in the store`);
      continue;
    }
    const value = BigInt(s.tickets.length) * worth;
    const problems: string[] = [];
    if (s.paid < ack) problems.push(`node paid ${s.paid} < client acknowledged ${ack}`);
    if (s.paid - ack > window) problems.push(`node paid ${s.paid} more than a window above client acknowledged ${ack}`);
    const restarts = p.restartsOf(c.node, c.openedAt, c.lastUsedAt);
    const allowed = window * BigInt(1 + restarts);
    const paidOrAck = s.paid > ack ? s.paid : ack;
    if (s.served > paidOrAck + allowed) problems.push(`served ${s.served} vs paid ${s.paid} / acknowledged ${ack}: ${s.served - paidOrAck} apart, over ${1 + restarts} window(s) (${restarts} restarts of node ${c.node} while the session was in use)`);
    else if (s.served > paidOrAck + window) {
      acrossRestarts.sessions++;
      const windows = Number((s.served - paidOrAck + window - 1n) / window);
      if (windows > acrossRestarts.maxWindows) [acrossRestarts.maxWindows, acrossRestarts.maxRestarts] = [windows, restarts];
    }
    if (ack > s.served + window) problems.push(`acknowledged ${ack} > served ${s.served} + one window`);
    const rdiff = received > s.served ? received - s.served : s.served - received;
    if (rdiff > window) problems.push(`received ${received} vs served ${s.served}: ${rdiff} apart`);
    if (value < priceOfBytes(terms.pricePerGiB, s.paid)) problems.push(`tickets worth ${value} < price of ${s.paid} paid bytes`);
    if (value > priceOfBytes(terms.pricePerGiB, s.paid + window)) problems.push(`tickets worth ${value} > price of ${s.paid} + one window`);
    if (problems.length > 0) mismatches.push(`${c.sessionId} (node ${c.node}, ${c.service}): ${problems.join("; ")}`);
  }
  // Sessions a client never heard of (the answer to its POST /sessions was lost in a kill) served nothing.
  for (const [id, s] of storeSessions) {
    if (!seen.has(id) && (s.served > 0n || s.tickets.length > 0)) mismatches.push(`${id} (node ${s.node}): unknown to every client, yet served ${s.served} with ${s.tickets.length} tickets`);
  }
  check("per session: served, acknowledged and ticket value agree within one credit window per life of the node", mismatches.length === 0,
    `${p.sessions.length} client sessions; ${acrossRestarts.sessions} served more than one window beyond their pay, within the windows their node's restarts allow (most: ${acrossRestarts.maxWindows} windows over ${acrossRestarts.maxRestarts} restarts); ${mismatches.length} disagree${mismatches.length ? `: ${mismatches.slice(0, 5).join(" | ")}` : ""}`);
  return { checks, totals, sessionsChecked: p.sessions.length, sessionMismatches: mismatches, acrossRestarts };
}
