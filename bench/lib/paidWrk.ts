// Paid delivery driven by wrk: the node does all of its paid work (session token per request,
// credit window, every ticket decoded, checked, signature recovered, group-committed with fsync
// before its bytes count), while the load generator is as cheap as the one nginx gets. The
// consumer's own costs (sha256 of every chunk, signing) are measured apart in bench/paid.ts: on
// this 2-core box a Node client receiving and hashing beside the server measures the client, not
// the node. See bench/lib/paidWrk.lua for the request side.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createNativeTicketSigner } from "../../src/client/createNativeTicketSigner.ts";
import { signSessionRequest } from "../../src/protocol/sessionRequest.ts";
import { ticketDomain, type Ticket } from "../../src/protocol/ticket.ts";
import {
  encodeTicketHeader,
  parseOffer,
  parseOpenedSession,
  parseSession,
  parseTicketBatchResult,
  serializeSessionRequest,
  serializeTicketPayment,
  SESSION_HEADER,
  type OpenedSession,
  type Session,
} from "../../src/protocol/wire.ts";
import { wrk } from "./nginx.ts";

const SCRIPT = process.env.PAID_WRK_SCRIPT ?? new URL("./paidWrk.lua", import.meta.url).pathname;

export type PaidWrkParameters = {
  /** The node, e.g. http://127.0.0.1:8080. */
  endpoint: string;
  /** The content URL path, `/c/<contentId>/<file>`. */
  path: string;
  /** Body bytes of one full GET of `path`. */
  objectSize: number;
  /** One sender per wrk thread and connection (credit windows are per sender). */
  keys: readonly Hex[];
  chainId: number;
  broker: Address;
  durationSeconds: number;
  /** Where the per-session ticket files go. */
  dir: string;
  /** Pre-signed tickets cover this many bytes per second over all sessions (default 4 GB/s), twice over per session for uneven connections. */
  maxBytesPerSecond?: number;
};

export type PaidWrkResult = {
  rps: number;
  /** Bytes per request: the object, or a Range of it when one credit window cannot pay for the whole. */
  rangeSize: number;
  /** Body MB/s (10^6): the bytes the node served during the run over its duration. */
  mbs: number;
  errors: string;
  /** Bytes the node counted as served, over all sessions, after wrk stopped. */
  servedBytes: bigint;
  /** Bytes paid for by the tickets sent during the run (wrk) and after it (the tail, by POST). */
  paidDuringRun: bigint;
  paidBytes: bigint;
  /** Tickets the node accepted during the run and for the tail. */
  tickets: bigint;
  /** Bytes of X-Bandmint-Ticket header values per GiB served (the only payment bytes on this wire path, plus the session token header). */
  ticketHeaderBytesPerGiB: number;
  /** Time spent signing before the run (not on the clock). */
  signMs: number;
};

/**
 * Opens one session per key, signs enough tickets for the run ahead of time, runs
 * `wrk -tN -cN -s paidWrk.lua` against the node, then pays what each session was served after the
 * last ticket (the response wrk cut off) and checks that every served byte is paid.
 */
export async function paidWrk(p: PaidWrkParameters): Promise<PaidWrkResult> {
  const offer = parseOffer(await (await fetch(`${p.endpoint}/offer`)).json());
  const domain = ticketDomain(p.chainId, p.broker);
  const bpt = offer.bytesPerTicket;
  const perSession = Math.ceil((2 * p.durationSeconds * (p.maxBytesPerSecond ?? 4e9)) / p.keys.length / Number(bpt)) + 64;
  await mkdir(p.dir, { recursive: true });

  type Open = { key: Hex; opened: OpenedSession; sign: (t: Ticket) => Promise<Hex> };
  const sessions: Open[] = [];
  const t0 = performance.now();
  let headerBytesPerTicket = 0;
  for (const [i, key] of p.keys.entries()) {
    const sender = privateKeyToAccount(key).address;
    const message = { sender, recipient: offer.recipient, timestamp: BigInt(Math.floor(Date.now() / 1000)), clientNonce: toHex(crypto.getRandomValues(new Uint8Array(32))) };
    const signature = await signSessionRequest({ message, domain, privateKey: key });
    const res = await fetch(`${p.endpoint}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(serializeSessionRequest({ sender, timestamp: message.timestamp, clientNonce: message.clientNonce, signature })),
    });
    if (res.status !== 201) throw new Error(`POST /sessions: ${res.status} ${await res.text()}`);
    const opened = parseOpenedSession(await res.json());
    const sign = createNativeTicketSigner(key, domain);
    const lines: string[] = [opened.sessionToken];
    const expiry = BigInt(Math.floor(Date.now() / 1000) + offer.ticketExpirySeconds);
    for (let j = 1; j <= perSession; j++) {
      const ticket = ticketOf(opened, opened.nextNonce + BigInt(j - 1), BigInt(j) * bpt, expiry);
      lines.push(encodeTicketHeader([{ ticket, signature: await sign(ticket) }]));
    }
    headerBytesPerTicket = lines[1]!.length + 1; // + the comma between tickets
    await writeFile(join(p.dir, `session${i}.txt`), `${lines.join("\n")}\n`);
    sessions.push({ key, opened, sign });
  }
  const signMs = performance.now() - t0;

  const n = p.keys.length;
  const url = `${p.endpoint}${p.path}`;
  // The largest power-of-two share of the object that one credit window can pay for.
  let rangeSize = p.objectSize;
  while (BigInt(rangeSize) > offer.creditWindowBytes && rangeSize % 2 === 0) rangeSize /= 2;
  const r = await wrk(url, {
    threads: n,
    connections: n,
    durationSeconds: p.durationSeconds,
    script: SCRIPT,
    scriptArgs: [p.dir, p.path, String(p.objectSize), String(rangeSize), bpt.toString(), offer.creditWindowBytes.toString()],
  });

  // wrk is gone; give the node a moment to count the cut-off responses, then settle every session
  // the way a client does at the end: acknowledge what was served, in tickets of at most bytesPerTicket.
  await new Promise((resolve) => setTimeout(resolve, 300));
  let served = 0n;
  let servedDuringRun = 0n;
  let paidDuringRun = 0n;
  let paid = 0n;
  let tickets = 0n;
  for (const s of sessions) {
    const { sessionId, sessionToken } = s.opened;
    const auth = { [SESSION_HEADER]: sessionToken };
    const now = parseSession(await (await fetch(`${p.endpoint}/sessions/${sessionId}`, { headers: auth })).json());
    paidDuringRun += now.paidBytes;
    servedDuringRun += now.servedBytes;
    tickets += now.paidBytes / bpt; // every ticket during the run acknowledged exactly bpt bytes
    let last: Session = now;
    if (now.servedBytes > now.paidBytes) {
      const expiry = BigInt(Math.floor(Date.now() / 1000) + offer.ticketExpirySeconds);
      const payments = [];
      let nonce = now.nextNonce;
      for (let c = now.paidBytes; c < now.servedBytes; ) {
        c = c + bpt < now.servedBytes ? c + bpt : now.servedBytes;
        const ticket = ticketOf({ ...s.opened, recipientRandHash: now.recipientRandHash }, nonce++, c, expiry);
        payments.push(serializeTicketPayment({ ticket, signature: await s.sign(ticket) }));
      }
      const res = await fetch(`${p.endpoint}/sessions/${sessionId}/tickets`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ tickets: payments }),
      });
      if (res.status !== 200) throw new Error(`paying the tail of session ${sessionId}: ${res.status} ${await res.text()}`);
      last = parseTicketBatchResult(await res.json()).session;
      tickets += BigInt(payments.length);
    }
    served += last.servedBytes;
    paid += last.paidBytes;
  }
  const gib = Number(served) / 2 ** 30;
  return {
    rps: r.rps,
    // From what the node counted as served, not wrk's request rate: a refused request (a 402 or
    // 409 after a transient failure) is answered fast and would count as a whole object.
    mbs: Number(servedDuringRun) / 1e6 / p.durationSeconds,
    rangeSize,
    errors: r.errors,
    servedBytes: served,
    paidDuringRun,
    paidBytes: paid,
    tickets,
    ticketHeaderBytesPerGiB: gib > 0 ? (Number(paidDuringRun / bpt) * headerBytesPerTicket) / gib : 0,
    signMs,
  };
}

function ticketOf(s: Pick<Session, "recipient" | "sender" | "faceValue" | "winProb" | "recipientRandHash" | "sessionId">, senderNonce: bigint, cumulativeBytes: bigint, expiry: bigint): Ticket {
  return {
    recipient: s.recipient,
    sender: s.sender,
    faceValue: s.faceValue,
    winProb: s.winProb,
    senderNonce,
    recipientRandHash: s.recipientRandHash,
    expiry,
    sessionId: s.sessionId,
    cumulativeBytes,
  };
}
