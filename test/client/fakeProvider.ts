// A small provider node for client tests, speaking docs/protocol/payments.md and the edge's content
// routes byte-exactly, with switches for the misbehaviours the client must survive: a corrupted
// chunk, a connection that dies mid-body, a slow response, a price that disagrees with the chain,
// and the hostile ones of `hostile` (wrong lengths, truncated or endless bodies, stalls, garbage
// answers to ticket POSTs, a rand that rotates on every request, inflated counters).
// It checks every ticket it receives (signature, nonce order, cumulative bytes, rand) so tests can
// assert what the client paid for, keeps every validly signed ticket even when it refuses it (as a
// hostile node would: each signature is a lottery draw it may redeem), and, like the node, opens
// sessions only for a signed, fresh, unused SessionRequest and answers session and content requests
// only for the session's secret token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { keccak256, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { manifestToJson, type Manifest } from "../../src/protocol/manifest.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import { recoverTicketSigner } from "../../src/protocol/recoverTicketSigner.ts";
import { verifySessionRequest } from "../../src/protocol/sessionRequest.ts";
import {
  decodeTicketHeader,
  parseSessionRequest,
  parseSessionToken,
  parseTicketBatch,
  serializeOffer,
  serializeOpenedSession,
  serializeSession,
  SESSION_HEADER,
  WIRE_VERSION,
  type Session,
  type TicketPayment,
} from "../../src/protocol/wire.ts";

export type FakeProviderOptions = {
  privateKey: Hex;
  chainId: number;
  broker: Address;
  pricePerGiB: bigint;
  /** Price the /offer claims (default: pricePerGiB) — to test the on-chain comparison. */
  offeredPricePerGiB?: bigint;
  bytesPerTicket: bigint;
  creditWindowBytes: bigint;
  /** contentId -> manifest and the files' bytes by path. */
  content: Map<string, { manifest: Manifest; files: Map<string, Buffer> }>;
};

/** Misbehaviours of a hostile provider; all off by default, switchable at any time. */
export type HostileSwitches = {
  /** Content responses carry this many bytes more than the range asked (Content-Length says so). */
  extraBytes: number;
  /** Content responses announce the range's length, send half of it and close the connection (the server stays up). */
  truncate: boolean;
  /** Content responses: "headers" sends the status line and headers, then nothing; "silent" never answers. */
  stall: "headers" | "silent" | undefined;
  /** Content responses announce a Content-Length of 2^40 bytes and stream zeros until the client hangs up. */
  endless: boolean;
  /** Control requests (/offer, POST /sessions, GET /sessions/<id>, ticket POSTs, manifests) never answer. */
  stallControl: boolean;
  /** Ticket POSTs are answered 200 with a body that is not JSON ("accept": after taking the tickets; "drop": without). */
  garbageTicketAnswers: "accept" | "drop" | undefined;
  /** A fresh recipientRandHash on every request: tickets signed with the previous one are refused as stale (and kept). */
  rotateRand: boolean;
  /** Bytes added to servedBytes in every session state it reports (GET /sessions, POST answers, 402 details). */
  inflateServedBytes: bigint;
  /** Bytes added to paidBytes in every session state it reports, the POST /sessions answer included. */
  inflatePaidBytes: bigint;
  /** The inflations start once this many content requests were served (0: from the POST /sessions answer on). */
  inflateAfterRequests: number;
};

export type FakeProvider = {
  url: string;
  address: Address;
  /** Every ticket accepted, in order, with the signer recovered from its signature. */
  tickets: (TicketPayment & { signer: Address })[];
  /**
   * Every ticket that reached the fake signed by its session's sender, accepted or refused, in
   * arrival order: what the client handed over (each one a draw the provider could redeem).
   */
  received: (TicketPayment & { accepted: boolean })[];
  /**
   * Bytes per session (by sessionId) whose content responses went out whole and unaltered: all the
   * client could have verified. A ticket acknowledging more acknowledges bytes that failed or never came.
   */
  intactBytes: Map<string, bigint>;
  /** Content requests received: path and range start. */
  requests: { path: string; start: number; end: number }[];
  /** Byte offsets (of a given path) to corrupt in responses. */
  corrupt: Set<string>;
  /** Destroy the connection after this many content responses (counting from now). */
  dieAfter: number | undefined;
  /** Delay every content response by this many ms. */
  delayMs: number;
  /** Answer one content request with 503 after this many content responses (the node stays up). */
  failAfter: number | undefined;
  session(): Session | undefined;
  /** Session requests refused, by error name (what the client sent wrong). */
  refusedSessionRequests: string[];
  hostile: HostileSwitches;
  /** Bytes written into endless bodies (`hostile.endless`) before the client hung up. */
  endlessBytesSent: number;
  stop(): Promise<void>;
};

/** Starts a fake provider on 127.0.0.1 (random port). */
export async function startFakeProvider(o: FakeProviderOptions): Promise<FakeProvider> {
  const account = privateKeyToAccount(o.privateKey);
  const domain = ticketDomain(o.chainId, o.broker);
  const sessions = new Map<string, Session>();
  /** sha256(token) per session id, as the node keeps it; the token itself is not stored. */
  const tokenHashes = new Map<string, Buffer>();
  const usedRequests = new Set<string>();
  const tokenHash = (token: string) => createHash("sha256").update(Buffer.from(token.slice(2), "hex")).digest();
  /** The session the request's X-Bandmint-Session token opens, or undefined (like the node: by token, constant-time). */
  const byToken = (req: IncomingMessage): Session | undefined => {
    const value = req.headers[SESSION_HEADER];
    if (typeof value !== "string") return undefined;
    let h: Buffer;
    try {
      h = tokenHash(parseSessionToken(value));
    } catch {
      return undefined;
    }
    for (const [id, stored] of tokenHashes) if (timingSafeEqual(stored, h)) return sessions.get(id);
    return undefined;
  };
  let lastNonce = 0n;
  const tickets: FakeProvider["tickets"] = [];
  const received: FakeProvider["received"] = [];
  const intactBytes = new Map<string, bigint>();
  const requests: FakeProvider["requests"] = [];
  const faceValue = 10n ** 15n;
  const ev = (o.pricePerGiB * o.bytesPerTicket + (1n << 30n) - 1n) >> 30n;
  const winProb = (ev * (1n << 256n) + faceValue - 1n) / faceValue;
  let recipientRandHash = keccak256(randomBytes(32));
  /** The session as this provider reports it (honestly, or inflated). */
  const reported = (s: Session): Session => {
    const inflate = requests.length >= fp.hostile.inflateAfterRequests;
    return {
      ...s,
      nextNonce: lastNonce + 1n,
      recipientRandHash,
      servedBytes: s.servedBytes + (inflate ? fp.hostile.inflateServedBytes : 0n),
      paidBytes: s.paidBytes + (inflate ? fp.hostile.inflatePaidBytes : 0n),
    };
  };

  const error = (res: ServerResponse, status: number, name: string, message: string, details?: Record<string, unknown>) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: name, message, ...(details ? { details } : {}) }));
  };
  const readBody = async (req: IncomingMessage) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    return JSON.parse(Buffer.concat(parts).toString("utf8")) as unknown;
  };
  /** Accepts tickets in order; returns an error tuple (status, name, message, details) for the first bad one. */
  const accept = (s: Session, payments: TicketPayment[]): [number, string, string, Record<string, unknown>?] | undefined => {
    for (const pay of payments) {
      const t = pay.ticket;
      const signer = recoverTicketSigner(t, domain, pay.signature);
      if (signer !== s.sender) return [401, "SignerMismatchError", "forged"];
      // Signed by the sender: a draw this provider holds, whatever it answers.
      const entry = { ...pay, accepted: false };
      received.push(entry);
      if (t.sessionId !== s.sessionId) return [409, "SessionMismatchError", "wrong session"];
      if (t.recipientRandHash !== recipientRandHash) return [409, "StaleRecipientRandError", "stale rand", { recipientRandHash }];
      if (t.senderNonce <= lastNonce) return [409, "TicketNonceError", `nonce ${t.senderNonce} <= ${lastNonce}`];
      if (t.cumulativeBytes <= s.paidBytes) return [409, "TicketAcknowledgesNothingError", "nothing new"];
      if (t.cumulativeBytes > s.servedBytes) return [409, "TicketOverAcknowledgesError", `${t.cumulativeBytes} > served ${s.servedBytes}`];
      if (t.cumulativeBytes - s.paidBytes > o.bytesPerTicket) return [402, "TicketUnderpricedError", "too many bytes"];
      if (t.faceValue !== faceValue || t.winProb !== winProb) return [400, "TicketTermsMismatchError", "terms"];
      lastNonce = t.senderNonce;
      s.paidBytes = t.cumulativeBytes;
      entry.accepted = true;
      tickets.push({ ...pay, signer });
    }
    return undefined;
  };

  const fp: FakeProvider = {
    url: "",
    address: account.address,
    tickets,
    received,
    intactBytes,
    requests,
    corrupt: new Set(),
    dieAfter: undefined,
    delayMs: 0,
    failAfter: undefined,
    session: () => [...sessions.values()][0],
    refusedSessionRequests: [],
    hostile: {
      extraBytes: 0, truncate: false, stall: undefined, endless: false, stallControl: false,
      garbageTicketAnswers: undefined, rotateRand: false, inflateServedBytes: 0n, inflatePaidBytes: 0n, inflateAfterRequests: 0,
    },
    endlessBytesSent: 0,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://x");
      if (fp.hostile.rotateRand) recipientRandHash = keccak256(randomBytes(32));
      const content = /^\/c\/[0-9a-f]{64}\/(.+)$/.exec(url.pathname);
      // Never answers (the client must time out): the socket stays open until stop().
      if (fp.hostile.stallControl && (content === null || content[1] === "manifest.json")) return;
      if (req.method === "GET" && url.pathname === "/offer") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify(
            serializeOffer({
              version: WIRE_VERSION,
              recipient: account.address,
              chainId: o.chainId,
              broker: o.broker,
              pricePerGiB: o.offeredPricePerGiB ?? o.pricePerGiB,
              bytesPerTicket: o.bytesPerTicket,
              faceValue,
              winProb,
              expectedValue: (faceValue * winProb) >> 256n,
              creditWindowBytes: o.creditWindowBytes,
              ticketExpirySeconds: 3600,
              minDeposit: 2n * faceValue,
              services: ["cdn"],
            }),
          ),
        );
        return;
      }
      if (req.method === "POST" && url.pathname === "/sessions") {
        const now = BigInt(Math.floor(Date.now() / 1000));
        let body;
        try {
          // The node's checks (payments.md §1.2): strict body, fresh, signed by sender for us, unused.
          body = parseSessionRequest(await readBody(req));
          const digest = verifySessionRequest(body, { domain, recipient: account.address, nowSeconds: now });
          if (usedRequests.has(digest)) return error(res, 409, "ReplayedSessionRequestError", "replayed");
          usedRequests.add(digest);
        } catch (e) {
          const name = (e as Error).name;
          fp.refusedSessionRequests.push(name);
          const status = name === "WireFormatError" || name === "InvalidSignatureError" ? 400 : 401;
          return error(res, status, name, (e as Error).message);
        }
        const sessionToken = `0x${randomBytes(32).toString("hex")}` as Hex;
        const s: Session = {
          sessionId: `0x${randomBytes(32).toString("hex")}`,
          sender: body.sender,
          recipient: account.address,
          chainId: o.chainId,
          broker: o.broker,
          recipientRandHash,
          nextNonce: lastNonce + 1n,
          faceValue,
          winProb,
          pricePerGiB: o.pricePerGiB,
          bytesPerTicket: o.bytesPerTicket,
          creditWindowBytes: o.creditWindowBytes,
          minExpiry: now + 1800n,
          maxExpiry: now + 4200n,
          servedBytes: 0n,
          paidBytes: 0n,
          service: "cdn",
        };
        sessions.set(s.sessionId, s);
        tokenHashes.set(s.sessionId, tokenHash(sessionToken));
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify(serializeOpenedSession({ ...reported(s), sessionToken })));
        return;
      }
      const sm = /^\/sessions\/(0x[0-9a-f]{64})(\/tickets)?$/.exec(url.pathname);
      if (sm) {
        const s = sessions.get(sm[1]!);
        if (!s) return error(res, 404, "UnknownSessionError", "no such session");
        if (byToken(req) !== s) return error(res, 401, "InvalidSessionTokenError", "not this session's token");
        if (req.method === "POST" && sm[2]) {
          const batch = parseTicketBatch(await readBody(req));
          const garbage = fp.hostile.garbageTicketAnswers;
          const bad = garbage === "drop" ? undefined : accept(s, batch.tickets);
          if (garbage === "drop") {
            for (const pay of batch.tickets) if (recoverTicketSigner(pay.ticket, domain, pay.signature) === s.sender) received.push({ ...pay, accepted: false });
          }
          if (garbage !== undefined) {
            res.writeHead(200, { "content-type": "application/json" });
            res.end("<html>upstream error</html>");
            return;
          }
          if (bad) return error(res, bad[0], bad[1], bad[2], bad[3]);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ accepted: batch.tickets.length, session: serializeSession(reported(s)) }));
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(serializeSession(reported(s))));
        return;
      }
      const cm = /^\/c\/([0-9a-f]{64})\/(.+)$/.exec(url.pathname);
      if (req.method === "GET" && cm) {
        const item = o.content.get(cm[1]!);
        if (!item) return error(res, 404, "ContentNotFoundError", "unknown content");
        const path = decodeURIComponent(cm[2]!);
        if (path === "manifest.json") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(manifestToJson(item.manifest)));
          return;
        }
        const data = item.files.get(path);
        if (!data) return error(res, 404, "FileNotFoundError", "unknown file");
        if (req.headers[SESSION_HEADER] === undefined) return error(res, 402, "SessionRequiredError", "session required");
        const s = byToken(req);
        if (!s) return error(res, 401, "InvalidSessionTokenError", "unknown session token");
        const header = req.headers["x-bandmint-ticket"];
        if (header) {
          const bad = accept(s, decodeTicketHeader(header));
          if (bad) return error(res, bad[0], bad[1], bad[2], bad[3]);
        }
        const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
        const start = m ? Number(m[1]) : 0;
        const end = m ? Number(m[2]) + 1 : data.length;
        const n = BigInt(end - start);
        if (s.servedBytes - s.paidBytes + n > s.creditWindowBytes) {
          const r = reported(s);
          return error(res, 402, "PaymentRequiredError", "pay", {
            sessionId: s.sessionId,
            servedBytes: r.servedBytes.toString(),
            inFlightBytes: "0",
            paidBytes: r.paidBytes.toString(),
            requestedBytes: n.toString(),
            creditWindowBytes: s.creditWindowBytes.toString(),
            minCumulativeBytes: (s.servedBytes + n - s.creditWindowBytes).toString(),
            nextNonce: (lastNonce + 1n).toString(),
            recipientRandHash,
          });
        }
        if (fp.failAfter !== undefined && fp.failAfter-- <= 0) {
          fp.failAfter = undefined;
          return error(res, 503, "OriginUnavailableError", "origin down");
        }
        requests.push({ path, start, end });
        s.servedBytes += n;
        let body = Buffer.from(data.subarray(start, end));
        const h = fp.hostile;
        const corrupted = fp.corrupt.has(`${path}@${start}`);
        if (corrupted) {
          body = Buffer.from(body);
          body[0] = body[0]! ^ 0xff;
        }
        if (h.extraBytes > 0) body = Buffer.concat([body, randomBytes(h.extraBytes)]);
        if (fp.delayMs > 0) await new Promise((r) => setTimeout(r, fp.delayMs));
        if (h.stall === "silent") return;
        const headers = {
          "content-type": "application/octet-stream",
          "content-length": h.endless ? String(2 ** 40) : String(body.length),
          "content-range": `bytes ${start}-${end - 1}/${data.length}`,
          "x-bandmint-paid-bytes": s.paidBytes.toString(),
          "x-bandmint-next-nonce": (lastNonce + 1n).toString(),
          "x-bandmint-recipient-rand-hash": recipientRandHash,
        };
        res.writeHead(206, headers);
        if (h.stall === "headers") return void res.flushHeaders();
        if (h.endless) {
          // Zeros for as long as the client reads (it must stop: 2^40 bytes would not fit in memory).
          const zeros = Buffer.alloc(1 << 16);
          const pump = () => {
            while (!res.destroyed) {
              fp.endlessBytesSent += zeros.length;
              if (!res.write(zeros)) break;
            }
          };
          res.on("drain", pump);
          pump();
          return;
        }
        if (h.truncate) {
          // Headers first (the client's fetch resolves), then half the body, then the connection drops.
          res.flushHeaders();
          await new Promise((r) => setTimeout(r, 20));
          res.write(body.subarray(0, body.length >> 1));
          await new Promise((r) => setTimeout(r, 20));
          res.socket?.destroy();
          return;
        }
        if (fp.dieAfter !== undefined && fp.dieAfter-- <= 0) {
          // Half a body, then the connection drops and the server stops listening: a crash.
          res.write(body.subarray(0, body.length >> 1));
          res.socket?.destroy();
          server.close();
          server.closeAllConnections();
          return;
        }
        res.end(body);
        if (!corrupted && h.extraBytes === 0) intactBytes.set(s.sessionId, (intactBytes.get(s.sessionId) ?? 0n) + n);
        return;
      }
      error(res, 404, "NotFoundError", "no route");
    } catch (e) {
      if (!res.headersSent) error(res, 500, "InternalError", (e as Error).message);
      else res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  fp.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fp;
}
