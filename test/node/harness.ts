// Test harness for the payment layer: the real store (SQLite in a temp dir), sessions, intake, gate
// and API behind a real HTTP server on 127.0.0.1, with a minimal content route that goes through
// the gate exactly as the edge does (admit before the body, served() after it).
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { toHex, type Address, type Hex } from "viem";
import { devAccount, type DevAccount } from "../../src/chain/devAccounts.ts";
import { domainSeparatorBytes } from "../../src/protocol/hashTicket.ts";
import { signSessionRequest } from "../../src/protocol/sessionRequest.ts";
import { signTicket } from "../../src/protocol/signTicket.ts";
import { ticketDomain, type Ticket, type TicketDomain } from "../../src/protocol/ticket.ts";
import { encodeTicketHeader, MAX_REQUEST_HEAD_BYTES, parseOffer, parseOpenedSession, serializeSessionRequest, serializeTicketPayment, type OpenedSession, type Offer, type Service, type Session, type TicketPayment } from "../../src/protocol/wire.ts";
import { buildOffer, type OfferTerms } from "../../src/node/payments/buildOffer.ts";
import { createFundsCache, type ReadSenderFunds } from "../../src/node/payments/fundsCache.ts";
import { createPaymentApi } from "../../src/node/payments/paymentApi.ts";
import { createPaymentGate } from "../../src/node/payments/paymentGate.ts";
import { createSessionBook, type SessionBook } from "../../src/node/payments/sessionBook.ts";
import { createTicketIntake } from "../../src/node/payments/ticketIntake.ts";
import { openTicketStore, type TicketStore } from "../../src/node/payments/ticketStore.ts";
import { dropSlowHeaders, listen } from "../../src/http/serverLifecycle.ts";
import { createRelay, type Relay, type RelayOptions } from "../../src/node/relay/createRelay.ts";
import { createEgressPolicy, type EgressPolicyConfig, type Resolver } from "../../src/node/relay/egressPolicy.ts";

export const MiB = 1n << 20n;
export const TOKEN = 10n ** 18n;

export type Harness = {
  url: string;
  offer: Offer;
  domain: TicketDomain;
  store: TicketStore;
  provider: DevAccount;
  consumer: DevAccount;
  funds: { deposit: bigint; reserve: bigint; withdrawTime: bigint };
  clock: { t: number; now(): number };
  /** The relay, when the harness was started with `relay` options. */
  relay: Relay | undefined;
  /** The node's sessions (tests play a misbehaving node by changing them). */
  sessions: SessionBook;
  stop(): Promise<void>;
};

/** Relay settings of a harness: the egress policy (test targets!) and the relay's options. */
export type HarnessRelay = { egress: EgressPolicyConfig; resolve?: Resolver; options?: Partial<RelayOptions> };

/** Starts the payment layer on a free port with an in-test funds source and a settable clock. */
export async function startHarness(dir: string, terms: Partial<OfferTerms> = {}, options: { readFunds?: ReadSenderFunds; relay?: HarnessRelay; provider?: DevAccount } = {}): Promise<Harness> {
  const provider = options.provider ?? devAccount(2);
  const consumer = devAccount(10);
  const broker: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  const offer = buildOffer({
    recipient: provider.address, chainId: 31337, broker, pricePerGiB: TOKEN, bytesPerTicket: MiB, faceValue: TOKEN / 10n,
    creditWindowBytes: 4n * MiB, ticketExpirySeconds: 86_400, services: options.relay ? ["cdn", "relay"] : ["cdn"], ...terms,
  });
  const domain = ticketDomain(offer.chainId, broker);
  const clock = { t: Date.now(), now() { return this.t; } };
  const funds = { deposit: 100n * TOKEN, reserve: 0n, withdrawTime: 0n };
  const read: ReadSenderFunds = options.readFunds ?? (async () => ({ ...funds }));
  const store = openTicketStore({ path: join(dir, "node.db") });
  const sessions = createSessionBook({ store, clock, creditWindowBytes: offer.creditWindowBytes });
  const fundsCache = createFundsCache({ read, clock, ttlMs: 0 });
  const outstanding = store.outstandingWinners();
  const intake = createTicketIntake({
    store, funds: fundsCache, offer, domainSeparator: domainSeparatorBytes(domain), clock, outstanding,
    onPaid: (session) => sessions.creditFreed(session.sender),
  });
  const gate = createPaymentGate({ sessions, intake, store, offer, clock });
  const api = createPaymentApi({ offer, sessions, intake, store, funds: fundsCache, chainLastNonce: async () => 0n, clock, status: () => ({}) });
  // The relay meters with real time (its grace timer); the session clock only stamps activity.
  const relay = options.relay
    ? createRelay({ sessions, offer, clock: { now: () => Date.now() }, egress: createEgressPolicy({ config: options.relay.egress, ...(options.relay.resolve ? { resolve: options.relay.resolve } : {}) }), ...(options.relay.options ? { options: options.relay.options } : {}) })
    : undefined;
  // Built and started as the node builds and starts its server (providerNode.ts).
  const server: Server = createServer({ maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, (req, res) => {
    void (async () => {
      if (relay?.handleRequest(req, res)) return;
      if (await api.handle(req, res)) return;
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
      const start = BigInt(m?.[1] ?? "0");
      const end = BigInt(m?.[2] ?? "0") + 1n;
      let grant;
      try {
        grant = await gate.admit(req, { contentId: "c", path: "f", start, end });
      } catch (error) {
        const e = error as { status: number; name: string; shortMessage: string; details?: unknown };
        res.writeHead(e.status, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: e.name, message: e.shortMessage, details: e.details }));
        return;
      }
      const body = Buffer.alloc(Number(end - start), 7);
      res.writeHead(206, { ...grant.headers, "Content-Length": body.length });
      res.end(body, () => grant.served(BigInt(body.length)));
    })();
  });
  dropSlowHeaders(server, 2_000);
  if (relay) server.on("connect", relay.handleConnect);
  const url = await listen(server, "127.0.0.1", 0);
  return {
    url, offer, domain, store, provider, consumer, funds, clock, relay, sessions,
    async stop() {
      relay?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await intake.close();
      sessions.flush();
      store.close();
    },
  };
}

/** A signer of session requests: an address and its key. */
export type SessionSigner = { address: Address; privateKey: Hex };

/**
 * A signed `POST /sessions` body for `who` at the node at `url` (terms from its GET /offer);
 * `over` changes fields after signing (tests of forged and stale requests); `over.offer` skips the
 * GET /offer (a load generator signing many).
 */
export async function sessionRequestBody(url: string, who: SessionSigner, over: { sender?: Address; timestamp?: bigint; signWith?: Hex; service?: Service; offer?: Offer } = {}): Promise<Record<string, unknown>> {
  const offer = over.offer ?? parseOffer(await (await fetch(`${url}/offer`)).json());
  const message = {
    sender: over.sender ?? who.address,
    recipient: offer.recipient,
    timestamp: over.timestamp ?? BigInt(Math.floor(Date.now() / 1000)),
    clientNonce: toHex(randomBytes(32)),
  };
  const signature = await signSessionRequest({ message, domain: ticketDomain(offer.chainId, offer.broker), privateKey: over.signWith ?? who.privateKey });
  return serializeSessionRequest({ sender: message.sender, timestamp: message.timestamp, clientNonce: message.clientNonce, signature, ...(over.service ? { service: over.service } : {}) });
}

/** POSTs a session request body. */
export async function postSessionRequest(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

/** Opens a session for `who` through the HTTP API, signing the request with its key; the result carries the secret token. */
export async function openSession(url: string, who: SessionSigner, service?: Service): Promise<OpenedSession> {
  const res = await postSessionRequest(url, await sessionRequestBody(url, who, service ? { service } : {}));
  if (res.status !== 201) throw new Error(`POST /sessions: ${res.status} ${await res.text()}`);
  return parseOpenedSession(await res.json());
}

/** What authenticates a request: the session's secret token (wire version 2), or any header value an attacker tries. */
export type Credential = { sessionToken: Hex } | { header: string };

function sessionHeader(c: Credential): string {
  return "sessionToken" in c ? c.sessionToken : c.header;
}

/** GET /sessions/<id> with `X-Bandmint-Session` from `as` (omitted: no header). */
export async function getSession(url: string, sessionId: Hex, as?: Credential): Promise<Response> {
  return fetch(`${url}/sessions/${sessionId}`, { headers: as === undefined ? {} : { "x-bandmint-session": sessionHeader(as) } });
}

/** Signs a ticket for `session` by `key`, defaults from the session; `over` overrides fields. */
export async function makeTicket(session: Session, key: Hex, domain: TicketDomain, fields: { nonce: bigint; cumulativeBytes: bigint }, over: Partial<Ticket> = {}): Promise<TicketPayment> {
  const ticket: Ticket = {
    recipient: session.recipient, sender: session.sender, faceValue: session.faceValue, winProb: session.winProb,
    senderNonce: fields.nonce, recipientRandHash: session.recipientRandHash,
    expiry: BigInt(Math.floor(Date.now() / 1000)) + 86_400n, sessionId: session.sessionId,
    cumulativeBytes: fields.cumulativeBytes, ...over,
  };
  return { ticket, signature: await signTicket({ ticket, domain, privateKey: key }) };
}

/** Fetches bytes [start, end) of the content route as `as` (normally the session's token), with optional tickets. */
export async function fetchRange(url: string, as: Credential, start: bigint, end: bigint, tickets: TicketPayment[] = [], path = "/c/c/f"): Promise<Response> {
  const headers: Record<string, string> = { range: `bytes=${start}-${end - 1n}`, "x-bandmint-session": sessionHeader(as) };
  if (tickets.length > 0) headers["x-bandmint-ticket"] = encodeTicketHeader(tickets);
  return fetch(`${url}${path}`, { headers });
}

/**
 * A paying consumer: fetches `mibs` MiB of `path` one MiB at a time, paying for each MiB with a
 * ticket on the next request (and the last one with a POST). Returns the bytes and the tickets.
 */
export async function payingDownload(p: {
  url: string; session: OpenedSession; path: string; mibs: number; key: Hex; domain: TicketDomain; payLast?: boolean;
  onChunk?: (i: number) => void | Promise<void>;
}): Promise<{ bytes: Buffer; tickets: TicketPayment[] }> {
  const parts: Buffer[] = [];
  const tickets: TicketPayment[] = [];
  let nonce = p.session.nextNonce;
  for (let i = 0; i < p.mibs; i++) {
    const pay = i === 0 ? [] : [await makeTicket(p.session, p.key, p.domain, { nonce: nonce++, cumulativeBytes: BigInt(i) * MiB })];
    const res = await fetchRange(p.url, p.session, BigInt(i) * MiB, BigInt(i + 1) * MiB, pay, p.path);
    if (res.status !== 206) throw new Error(`chunk ${i}: ${res.status} ${await res.text()}`);
    parts.push(Buffer.from(await res.arrayBuffer()));
    tickets.push(...pay);
    await p.onChunk?.(i);
  }
  if (p.payLast ?? true) {
    const last = await makeTicket(p.session, p.key, p.domain, { nonce: nonce++, cumulativeBytes: BigInt(p.mibs) * MiB });
    const res = await postTickets(p.url, p.session, [last]);
    if (res.status !== 200) throw new Error(`last ticket: ${res.status} ${await res.text()}`);
    tickets.push(last);
  }
  return { bytes: Buffer.concat(parts), tickets };
}

/** POSTs tickets to the session's ticket endpoint, authenticated as `as` (default: the session's own token). */
export async function postTickets(url: string, session: OpenedSession, tickets: TicketPayment[], as: Credential = session): Promise<Response> {
  return fetch(`${url}/sessions/${session.sessionId}/tickets`, {
    method: "POST", headers: { "content-type": "application/json", "x-bandmint-session": sessionHeader(as) },
    body: JSON.stringify({ tickets: tickets.map(serializeTicketPayment) }),
  });
}
