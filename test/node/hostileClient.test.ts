// Hostile clients against a running provider node (issue 12): a real node (createProviderNode,
// content and relay) on the embedded chain with the real TicketBroker, attacked over HTTP on
// 127.0.0.1. Each attack asserts the node's exact answer (status, error name from
// paymentErrorStatus.ts, details) and that nothing was credited or stored that should not be; an
// honest consumer keeps being served. bench/attack.ts measures that consumer's throughput under
// the same attacks at scale. Deliberately not repeated here: the harness-level cases of
// ticketIntake.test.ts, sessionAuth.test.ts, wireForms.test.ts and relay.test.ts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { toHex, type Abi, type Address, type Hex } from "viem";
import { fundBroker } from "../../src/client/brokerFunds.ts";
import type { DevAccount } from "../../src/chain/devAccounts.ts";
import { loadNodeConfig } from "../../src/node/config.ts";
import { MAX_SESSIONS_PER_SENDER } from "../../src/node/payments/sessionBook.ts";
import { ticketWorth } from "../../src/node/payments/ticketIntake.ts";
import { createProviderNode } from "../../src/node/providerNode.ts";
import { registerProvider } from "../../src/node/registerProvider.ts";
import { signSessionRequest } from "../../src/protocol/sessionRequest.ts";
import { signTicket } from "../../src/protocol/signTicket.ts";
import { MAX_WIN_PROB, ticketDomain, type Ticket, type TicketDomain } from "../../src/protocol/ticket.ts";
import { priceOfBytes } from "../../src/protocol/ticketParams.ts";
import { recipientRandHash } from "../../src/protocol/winningTicket.ts";
import { REFUSAL_BURST } from "../../src/node/payments/refusalBudget.ts";
import {
  MAX_REQUEST_BODY_BYTES,
  MAX_TICKETS_PER_BATCH,
  MAX_REQUEST_HEAD_BYTES,
  REQUEST_BODY_TIMEOUT_SECONDS,
  parseOffer,
  parseOpenedSession,
  parseSession,
  serializeSessionRequest,
  serializeTicketPayment,
  type Offer,
  type OpenedSession,
  type Service,
  type Session,
  type TicketPayment,
} from "../../src/protocol/wire.ts";
import { blobSha256, startBlobServer, type BlobServer } from "../fixtures/blobServer.ts";
import { holdSockets, rawRequest } from "../fixtures/hostileClients.ts";
import { connectThrough, requestOver } from "../fixtures/proxyClients.ts";
import { MiB, startWorld, TOKEN, type NodeWorld } from "./chainSetup.ts";
import { fetchRange, getSession, makeTicket, postSessionRequest, postTickets, sessionRequestBody } from "./harness.ts";

/** The node's answer as the suite compares it: status, stable error name, details. */
type Answer = { status: number; error: string; details?: Record<string, unknown> };

async function answerOf(res: Response): Promise<Answer> {
  const body = (await res.json()) as { error: string; details?: Record<string, unknown> };
  return { status: res.status, error: body.error, ...(body.details !== undefined ? { details: body.details } : {}) };
}

describe("hostile clients against a running node", { timeout: 300_000 }, () => {
  let w: NodeWorld;
  let blob: BlobServer;
  let node: ReturnType<typeof createProviderNode>;
  let url: string;
  let offer: Offer;
  let domain: TicketDomain;
  let path: string;
  // The node's clock runs with the chain's: `advance` moves both (unlock and funds-cache tests).
  // `frozen` stops it (the refusal-budget test counts exactly).
  const clock = { offset: 0, frozen: undefined as number | undefined, now: (): number => clock.frozen ?? Date.now() + clock.offset };
  const nowS = (): bigint => BigInt(Math.floor(clock.now() / 1000));
  const advance = async (seconds: number): Promise<void> => {
    await w.net.increaseTime(seconds);
    clock.offset += seconds * 1000;
    if (clock.frozen !== undefined) clock.frozen += seconds * 1000;
  };
  // Accounts: consumer 0 is the honest one; each attack uses its own sender (nonces and the
  // credit window are per sender), so one attack's state never explains another's answer.
  let honest: DevAccount;
  const attacker = (i: number): DevAccount => w.net.accounts.consumers[i]!;
  const otherProvider = (i: number): DevAccount => w.net.accounts.providers[i]!;

  const nodeConfig = (name: string, over: Record<string, unknown> = {}) =>
    w.writeConfig(name, {
      services: ["cdn", "relay"],
      relay: { testTargets: [blob.host], maxTunnelsPerSender: 20, maxTunnels: 50, unpaidGraceSeconds: 2 },
      ...over,
    });
  const startNode = async (file: string) => {
    const config = await loadNodeConfig({ file });
    const clients = await w.net.clientsFor(w.provider);
    const n = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment, clock });
    return { n, url: await n.start() };
  };

  before(async () => {
    w = await startWorld({ size: 8n * MiB, providers: 3, consumers: 11 });
    blob = await startBlobServer();
    honest = w.consumer;
    // Three listed providers: the node and two others (the reserve is shared three ways).
    for (const p of w.net.accounts.providers) {
      const c = await w.net.clientsFor(p);
      await registerProvider({
        publicClient: c.publicClient, walletClient: c.walletClient!, deployment: w.net.deployment,
        listing: { endpoint: "http://127.0.0.1:7070", pricePerGiB: TOKEN, capacityMbps: 100, region: "eu", services: ["cdn", "relay"] },
      });
    }
    // Dev accounts past the first twenty (attacker 10) have no ether for gas: the deployer sends some.
    const deployer = await w.net.clientsFor(w.net.accounts.deployer);
    await deployer.publicClient.waitForTransactionReceipt({ hash: await deployer.walletClient!.sendTransaction({ to: attacker(10).address, value: 10n ** 18n } as never) });
    // Every attacker but 4 (the unfunded one), 6 and 7 (the exhausted ones, funded in their tests) has a deposit.
    for (const i of [1, 2, 3, 5, 8, 9, 10]) await fundBroker(await w.net.clientsFor(attacker(i)), w.net.deployment, { deposit: 100n * TOKEN, reserve: 0n });
    ({ n: node, url } = await startNode(await nodeConfig("attacked")));
    offer = parseOffer(await (await fetch(`${url}/offer`)).json());
    domain = ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker);
    path = `/c/${w.contentId}/data.bin`;
  });
  after(async () => {
    await node?.stop();
    await blob?.stop();
    await w?.close();
  });

  /** Opens a session for `who` with a request signed now (by the node's clock). */
  async function open(who: DevAccount, service?: Service): Promise<OpenedSession> {
    const res = await postSessionRequest(url, await sessionRequestBody(url, who, { timestamp: nowS(), ...(service ? { service } : {}) }));
    if (res.status !== 201) throw new Error(`POST /sessions: ${res.status} ${await res.text()}`);
    return parseOpenedSession(await res.json());
  }
  /** A ticket of `s` signed by `by` (default its sender), expiring a lifetime from now. */
  const sign = (s: Session, by: DevAccount, nonce: bigint, cumulativeBytes: bigint, over: Partial<Ticket> = {}, d: TicketDomain = domain): Promise<TicketPayment> =>
    makeTicket(s, by.privateKey, d, { nonce, cumulativeBytes }, { expiry: nowS() + 86_400n, ...over });
  /** Fetches `bytes` of content on `s` (206 expected). */
  async function serve(s: OpenedSession, bytes: bigint, from = 0n): Promise<void> {
    const res = await fetchRange(url, s, from, from + bytes, [], path);
    assert.equal(res.status, 206, await res.clone().text());
    await res.arrayBuffer();
  }
  /** What the node holds for `s`: counters, next nonce, stored tickets, and its ticket total. */
  async function state(s: OpenedSession) {
    const b = parseSession(await (await getSession(url, s.sessionId, s)).json());
    return { servedBytes: b.servedBytes, paidBytes: b.paidBytes, nextNonce: b.nextNonce, recipientRandHash: b.recipientRandHash, stored: node.store.ticketsOfSession(s.sessionId).length, tickets: node.status().tickets };
  }
  /** Runs `attack` and asserts the node's answer and that `s` (and the node's ticket count) did not move. */
  async function refused(s: OpenedSession, attack: () => Promise<Response>, expected: Answer, what: string): Promise<void> {
    const before = await state(s);
    assert.deepEqual(await answerOf(await attack()), expected, what);
    assert.deepEqual(await state(s), before, `${what}: nothing credited or stored`);
  }
  /** An honest consumer downloads `mibs` MiB and pays for each one; resolves with the verified bytes. */
  async function honestDownload(mibs: number): Promise<number> {
    const s = await open(honest);
    let nonce = s.nextNonce;
    let got = 0;
    for (let i = 0n; i < BigInt(mibs); i++) {
      const res = await fetchRange(url, s, i * MiB, (i + 1n) * MiB, [], path);
      assert.equal(res.status, 206, `honest MiB ${i}: ${res.status}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.ok(bytes.equals(w.data.subarray(Number(i * MiB), Number((i + 1n) * MiB))), `honest MiB ${i} verified`);
      got += bytes.length;
      const paid = await postTickets(url, s, [await sign(s, honest, nonce++, (i + 1n) * MiB)]);
      assert.equal(paid.status, 200, `honest ticket ${i}: ${await paid.clone().text()}`);
    }
    return got;
  }

  test("forged, replayed, backwards and mis-addressed tickets are refused exactly; nothing is stored", async () => {
    const a = attacker(1);
    const b = attacker(2);
    const s = await open(a);
    await serve(s, 3n * MiB);
    const n = s.nextNonce;
    await refused(s, async () => postTickets(url, s, [await sign(s, b, n, MiB)]), { status: 401, error: "SignerMismatchError" }, "signed by another key");
    const good = await sign(s, a, n, MiB);
    assert.equal((await postTickets(url, s, [good])).status, 200);
    await refused(s, () => postTickets(url, s, [good]), { status: 409, error: "TicketNonceError", details: { nonce: `${n}`, lastNonce: `${n}`, nextNonce: `${n + 1n}`, duplicate: true } }, "replayed in its session");

    // Another session of the same sender: the ticket names its own session; re-signed, its nonce is spent.
    const s2 = await open(a);
    await serve(s2, MiB);
    await refused(s2, () => postTickets(url, s2, [good]), { status: 409, error: "SessionMismatchError", details: { expected: s2.sessionId, actual: s.sessionId } }, "replayed in another session of the sender");
    await refused(s2, async () => postTickets(url, s2, [await sign(s2, a, n, MiB)]), { status: 409, error: "TicketNonceError", details: { nonce: `${n}`, lastNonce: `${n}`, nextNonce: `${n + 1n}`, duplicate: false } }, "same nonce in another session");

    // Another sender's session: as is, re-pointed at it (sender no longer matches), or with the victim's id but the attacker's token.
    const sb = await open(b);
    await serve(sb, MiB);
    await refused(sb, () => postTickets(url, sb, [good]), { status: 409, error: "SessionMismatchError", details: { expected: sb.sessionId, actual: s.sessionId } }, "replayed in another sender's session");
    await refused(sb, () => postTickets(url, sb, [{ ...good, ticket: { ...good.ticket, sessionId: sb.sessionId, recipientRandHash: sb.recipientRandHash } }]), { status: 400, error: "TicketTermsMismatchError", details: { field: "sender" } }, "re-pointed at another sender's session");
    await refused(s, () => postTickets(url, s, [good], sb), { status: 401, error: "InvalidSessionTokenError", details: { reason: "wrong" } }, "the victim's session with the attacker's token");

    // Nonces only go up, per sender.
    assert.equal((await postTickets(url, s, [await sign(s, a, n + 5n, 2n * MiB)])).status, 200);
    await refused(s, async () => postTickets(url, s, [await sign(s, a, n + 3n, 3n * MiB)]), { status: 409, error: "TicketNonceError", details: { nonce: `${n + 3n}`, lastNonce: `${n + 5n}`, nextNonce: `${n + 6n}`, duplicate: false } }, "nonce going backwards");

    // Mis-addressed: another recipient, another broker, another chain.
    await refused(s, async () => postTickets(url, s, [await sign(s, a, n + 6n, 3n * MiB, { recipient: otherProvider(1).address })]), { status: 400, error: "RecipientMismatchError" }, "for another provider");
    await refused(s, async () => postTickets(url, s, [await sign(s, a, n + 6n, 3n * MiB, {}, ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.token))]), { status: 401, error: "SignerMismatchError" }, "for another broker");
    await refused(s, async () => postTickets(url, s, [await sign(s, a, n + 6n, 3n * MiB, {}, ticketDomain(w.net.deployment.chainId + 1, w.net.deployment.contracts.broker))]), { status: 401, error: "SignerMismatchError" }, "for another chain");
    // The same ticket in a content request's header is refused the same way, and nothing is served.
    await refused(s, async () => fetchRange(url, s, 0n, MiB, [await sign(s, b, n + 6n, 3n * MiB)], path), { status: 401, error: "SignerMismatchError" }, "forged, in a header");
  });

  test("expired, short, far-future, under-priced, over-acknowledging and stale-rand tickets are refused exactly", async () => {
    const c = attacker(3);
    const s = await open(c);
    await serve(s, 2n * MiB);
    const n = s.nextNonce;
    await refused(s, async () => postTickets(url, s, [await sign(s, c, n, MiB, { expiry: nowS() - 1n })]), { status: 400, error: "TicketExpiredError" }, "expired");
    await refused(s, async () => postTickets(url, s, [await sign(s, c, n, MiB, { expiry: nowS() + 60n })]), { status: 400, error: "TicketExpiresTooSoonError" }, "expiring too soon");
    const far = nowS() + BigInt(offer.ticketExpirySeconds) + 3600n;
    const before = nowS();
    const tooFar = await answerOf(await postTickets(url, s, [await sign(s, c, n, MiB, { expiry: far })]));
    const maxExpiry = BigInt(tooFar.details?.maxExpiry as string);
    assert.deepEqual(tooFar, { status: 400, error: "TicketExpiryTooFarError", details: { expiry: `${far}`, maxExpiry: `${maxExpiry}` } });
    assert.ok(maxExpiry >= before + BigInt(offer.ticketExpirySeconds) + 600n && maxExpiry <= nowS() + BigInt(offer.ticketExpirySeconds) + 600n);

    // Under-priced: one ticket pays bytesPerTicket; other terms are a protocol error.
    const value = ticketWorth(offer.faceValue, offer.winProb);
    await refused(s, async () => postTickets(url, s, [await sign(s, c, n, 2n * MiB)]), {
      status: 402, error: "TicketUnderpricedError",
      details: { bytes: `${2n * MiB}`, price: `${priceOfBytes(offer.pricePerGiB, 2n * MiB)}`, value: `${value}`, maxBytes: `${MiB}` },
    }, "under-priced");
    await refused(s, async () => postTickets(url, s, [await sign(s, c, n, MiB, { faceValue: offer.faceValue - 1n })]), { status: 400, error: "TicketTermsMismatchError", details: { field: "faceValue" } }, "lower face value");
    await refused(s, async () => postTickets(url, s, [await sign(s, c, n, MiB, { winProb: offer.winProb / 2n })]), { status: 400, error: "TicketTermsMismatchError", details: { field: "winProb" } }, "lower win probability");

    // Over-acknowledging a content session: beyond what was served, by one byte.
    assert.equal((await postTickets(url, s, [await sign(s, c, n, MiB)])).status, 200);
    await refused(s, async () => postTickets(url, s, [await sign(s, c, n + 1n, 2n * MiB + 1n)]), { status: 409, error: "TicketOverAcknowledgesError", details: { cumulativeBytes: `${2n * MiB + 1n}`, servedBytes: `${2n * MiB}` } }, "beyond served bytes");
    await refused(s, async () => postTickets(url, s, [await sign(s, c, n + 1n, MiB)]), { status: 409, error: "TicketAcknowledgesNothingError", details: { cumulativeBytes: `${MiB}`, paidBytes: `${MiB}` } }, "acknowledging nothing new");
    // A relay session may run one window ahead of its meter, not a byte more.
    const r = await open(c, "relay");
    await refused(r, async () => postTickets(url, r, [await sign(r, c, n + 1n, offer.creditWindowBytes + 1n)]), { status: 409, error: "TicketOverAcknowledgesError", details: { cumulativeBytes: `${offer.creditWindowBytes + 1n}`, servedBytes: "0" } }, "relay: beyond served + window");

    // A made-up rand hash, then a truly stale one: redeeming this session's winner rotates it.
    const made = toHex(randomBytes(32));
    await refused(s, async () => postTickets(url, s, [await sign(s, c, n + 1n, 2n * MiB, { recipientRandHash: made })]), { status: 409, error: "StaleRecipientRandError", details: { recipientRandHash: s.recipientRandHash, actual: made } }, "made-up recipientRandHash");
    const round = await node.redeemNow();
    assert.ok(round.confirmed >= 1, JSON.stringify(round));
    const fresh = await state(s);
    assert.notEqual(fresh.recipientRandHash, s.recipientRandHash);
    await refused(s, async () => postTickets(url, s, [await sign(s, c, n + 1n, 2n * MiB)]), { status: 409, error: "StaleRecipientRandError", details: { recipientRandHash: fresh.recipientRandHash, actual: s.recipientRandHash } }, "stale recipientRandHash after rotation");
  });

  test("a sender whose tickets keep being refused is answered 429 before its batches are read, then heard again; others are served", async () => {
    const t = attacker(10);
    const s = await open(t);
    await serve(s, MiB);
    clock.frozen = clock.now();
    try {
      const forged = await sign(s, attacker(1), s.nextNonce, MiB);
      const post = () => fetch(`${url}/sessions/${s.sessionId}/tickets`, { method: "POST", headers: { "content-type": "application/json", "x-bandmint-session": s.sessionToken }, body: JSON.stringify({ tickets: Array(MAX_TICKETS_PER_BATCH).fill(serializeTicketPayment(forged)) }) });
      for (let i = 0; i < REFUSAL_BURST; i++) assert.deepEqual(await answerOf(await post()), { status: 401, error: "SignerMismatchError" }, `batch ${i}`);
      const throttled = await post();
      assert.equal(throttled.headers.get("retry-after"), "1");
      assert.equal(throttled.headers.get("connection"), "close");
      assert.deepEqual(await answerOf(throttled), { status: 429, error: "TooManyRefusalsError", details: { sender: t.address, limit: `${REFUSAL_BURST}`, retryAfterSeconds: 1 } });
      // Not read: a head announcing a body that never comes is answered at once (not 408 after 30 s).
      const unread = await rawRequest(url, `POST /sessions/${s.sessionId}/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Bandmint-Session: ${s.sessionToken}\r\nContent-Length: 100000\r\n\r\n`);
      assert.equal(unread.status, 429);
      // Tickets in a content request's header: the same allowance, and nothing is served.
      assert.deepEqual(await answerOf(await fetchRange(url, s, 0n, MiB, [forged], path)), { status: 429, error: "TooManyRefusalsError", details: { sender: t.address, limit: `${REFUSAL_BURST}`, retryAfterSeconds: 1 } });
      assert.equal((await state(s)).servedBytes, MiB);
      // Its content requests without tickets, and everyone else, are served as usual.
      await serve(s, 1n, MiB);
      assert.equal(await honestDownload(1), Number(MiB));
      // A second later one batch is read again; a good ticket is taken.
      await advance(1);
      assert.deepEqual(await answerOf(await post()), { status: 401, error: "SignerMismatchError" });
      assert.equal((await answerOf(await post())).status, 429);
      await advance(1);
      assert.equal((await postTickets(url, s, [await sign(s, t, s.nextNonce, MiB)])).status, 200);
    } finally {
      clock.frozen = undefined;
    }
  });

  test("session requests: unfunded, in another sender's name, for another provider or broker", async () => {
    const sessionsBefore = node.status().sessions;
    const poor = attacker(4);
    assert.deepEqual(await answerOf(await postSessionRequest(url, await sessionRequestBody(url, poor, { timestamp: nowS() }))), {
      status: 402, error: "InsufficientFundsError",
      details: { sender: poor.address, deposit: "0", reserve: "0", required: `${offer.minDeposit}`, withdrawTime: "0" },
    });
    const victim = attacker(1);
    const thief = attacker(2);
    assert.deepEqual(await answerOf(await postSessionRequest(url, await sessionRequestBody(url, thief, { sender: victim.address, timestamp: nowS() }))), { status: 401, error: "SessionRequestSignerError" });
    // Signed by the victim, but for another provider, or under another broker's domain: useless here.
    const signedFor = async (recipient: Address, d: TicketDomain) => {
      const message = { sender: victim.address, recipient, timestamp: nowS(), clientNonce: toHex(randomBytes(32)) };
      return serializeSessionRequest({ ...message, signature: await signSessionRequest({ message, domain: d, privateKey: victim.privateKey }) });
    };
    assert.deepEqual(await answerOf(await postSessionRequest(url, await signedFor(otherProvider(1).address, domain))), { status: 401, error: "SessionRequestSignerError" });
    assert.deepEqual(await answerOf(await postSessionRequest(url, await signedFor(offer.recipient, ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.token)))), { status: 401, error: "SessionRequestSignerError" });
    assert.equal(node.status().sessions, sessionsBefore, "no session was opened");
  });

  test("a thousand sessions from one funded sender: its sessions stay bounded, its window stays one window", async () => {
    const h = attacker(8);
    const opened: OpenedSession[] = [];
    const total = 1_024;
    for (let i = 0; i < total; i += 32) opened.push(...(await Promise.all(Array.from({ length: Math.min(32, total - i) }, () => open(h)))));
    const mine = opened.filter((s) => node.store.getSession(s.sessionId) !== undefined);
    assert.equal(mine.length, MAX_SESSIONS_PER_SENDER, "the sender holds at most the cap; the least recently used settled sessions were let go");
    // The newest survive; an evicted session answers like a forgotten one.
    assert.deepEqual(mine.map((s) => s.sessionId).sort(), opened.slice(-MAX_SESSIONS_PER_SENDER).map((s) => s.sessionId).sort());
    assert.deepEqual(await answerOf(await getSession(url, opened[0]!.sessionId, opened[0]!)), { status: 404, error: "UnknownSessionError", details: { sessionId: opened[0]!.sessionId } });
    // Unpaid bytes in every held session: nothing can be let go, so the next request is refused.
    const live = opened.slice(-MAX_SESSIONS_PER_SENDER);
    for (const s of live) await serve(s, 1n);
    assert.deepEqual(await answerOf(await postSessionRequest(url, await sessionRequestBody(url, h, { timestamp: nowS() }))), {
      status: 429, error: "TooManySessionsError", details: { sender: h.address, limit: `${MAX_SESSIONS_PER_SENDER}` },
    });
    // The window is the sender's, over all of them: what is left of it and not a byte more.
    const left = offer.creditWindowBytes - BigInt(MAX_SESSIONS_PER_SENDER);
    await serve(live[0]!, left, 1n);
    const s1 = live[1]!;
    assert.deepEqual(await answerOf(await fetchRange(url, s1, 1n, 2n, [], path)), {
      status: 402, error: "PaymentRequiredError",
      details: {
        sessionId: s1.sessionId, servedBytes: "1", inFlightBytes: "0", paidBytes: "0", requestedBytes: "1", creditWindowBytes: `${offer.creditWindowBytes}`,
        minCumulativeBytes: "1", nextNonce: `${s1.nextNonce}`, recipientRandHash: s1.recipientRandHash,
      },
    });
  });

  test("transport: slowloris heads, idle sockets, slow bodies, oversized heads and bodies, while an honest consumer is served", async () => {
    const heads = await holdSockets(url, { count: 300, kind: "partial-head" });
    const idle = await holdSockets(url, { count: 300, kind: "idle" });
    const bodies = await holdSockets(url, { count: 100, kind: "partial-body" });
    // One of them, as seen from the client: the node's answer when its body is overdue.
    const overdue = rawRequest(url, "POST /sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
    try {
      // Oversized heads: 431 with the limit, as JSON, each time.
      for (let i = 0; i < 20; i++) {
        const r = await fetch(`${url}/offer`, { headers: { "x-pad": "a".repeat(MAX_REQUEST_HEAD_BYTES) } });
        assert.deepEqual(await answerOf(r), { status: 431, error: "RequestHeadersTooLargeError", details: { limit: `${MAX_REQUEST_HEAD_BYTES}` } });
      }
      // Oversized bodies, declared and streamed (chunked): 413, and the connection is closed.
      const s = await open(attacker(9));
      const declared = await fetch(`${url}/sessions/${s.sessionId}/tickets`, { method: "POST", headers: { "content-type": "application/json", "x-bandmint-session": s.sessionToken }, body: " ".repeat(MAX_REQUEST_BODY_BYTES + 1) });
      assert.deepEqual(await answerOf(declared), { status: 413, error: "RequestBodyTooLargeError", details: { limit: `${MAX_REQUEST_BODY_BYTES}` } });
      const chunk = "0123456789abcdef".repeat(4096); // 64 KiB
      const chunks = Array.from({ length: 20 }, () => `${(chunk.length).toString(16)}\r\n${chunk}\r\n`).join("");
      const streamed = await rawRequest(url, `POST /sessions/${s.sessionId}/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Bandmint-Session: ${s.sessionToken}\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`);
      assert.equal(streamed.status, 413);
      assert.match(streamed.head, /\r\nConnection: close/i);
      assert.deepEqual(JSON.parse(streamed.body), { error: "RequestBodyTooLargeError", message: JSON.parse(streamed.body).message, details: { limit: `${MAX_REQUEST_BODY_BYTES}` } });
      assert.equal((await state(s)).stored, 0);
      // Meanwhile the honest consumer downloads, verifies and pays as usual.
      assert.equal(await honestDownload(4), 4 * Number(MiB));
      // Heads that never end and silent sockets are dropped after the node's 15 s head timeout.
      assert.ok(await heads.allClosed(20_000), `${heads.open()} slowloris heads still open`);
      assert.ok(await idle.allClosed(5_000), `${idle.open()} idle sockets still open`);
      // Bodies that never end are answered 408 after 30 s and closed, not held for Node's 300 s request timeout.
      const late = await overdue;
      assert.equal(late.status, 408);
      assert.match(late.head, /\r\nConnection: close/i);
      assert.deepEqual(JSON.parse(late.body), { error: "RequestTimeoutError", message: JSON.parse(late.body).message, details: { limit: `${REQUEST_BODY_TIMEOUT_SECONDS}` } });
      assert.ok(await bodies.allClosed(5_000), `${bodies.open()} slow bodies still open`);
      assert.equal(heads.closedByServer() + idle.closedByServer() + bodies.closedByServer(), 700);
    } finally {
      heads.release();
      idle.release();
      bodies.release();
    }
  });

  test("relay: idle tunnels stay within the per-sender cap even when requested at once; at the node-wide cap, a consumer holding fewer displaces the heaviest holder's", async () => {
    const proxy = url.slice("http://".length);
    const bearer = (s: OpenedSession) => ({ "Proxy-Authorization": `Bearer ${s.sessionToken}` });
    const burst = async (s: OpenedSession, k: number) => Promise.all(Array.from({ length: k }, () => connectThrough(proxy, blob.host, bearer(s))));
    const statuses = (rs: { status: number }[]) => rs.map((r) => r.status).sort();
    const a = await open(attacker(1), "relay");
    // Twice the per-sender cap, all at once: exactly the cap is admitted.
    const first = await burst(a, 40);
    const ok = first.filter((r) => r.status === 200);
    assert.equal(ok.length, 20, `statuses ${first.map((r) => r.status).join(",")}`);
    for (const r of first.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 429);
      assert.deepEqual(JSON.parse(r.body.toString()).details, { reason: "too-many-tunnels", limit: 20, retryAfterSeconds: 1 });
    }
    // A second sender: 40 of the node's 50. A third gets 10, then displaces the heaviest holders'
    // tunnels one at a time until it holds one fewer than they do (17, 17, 16): 503 for the rest.
    const second = await burst(await open(attacker(2), "relay"), 20);
    assert.deepEqual(statuses(second), Array(20).fill(200));
    const third = await burst(await open(attacker(3), "relay"), 20);
    assert.deepEqual(statuses(third), [...Array(16).fill(200), ...Array(4).fill(503)]);
    assert.deepEqual(JSON.parse(third.find((r) => r.status === 503)!.body.toString()).details, { reason: "node-busy", limit: 50, retryAfterSeconds: 30 });
    assert.equal(node.status().relay?.tunnels.open, 50);
    assert.equal(node.status().relay?.closed.displaced, 6);
    // An honest consumer still gets a tunnel (the node stays at 50) and fetches through it.
    const h = await open(honest, "relay");
    const [mine] = await burst(h, 1);
    assert.equal(mine!.status, 200);
    const got = await requestOver(mine!.socket, blob.host, "/blob/1000000");
    assert.equal(got.sha256, blobSha256(1_000_000));
    assert.equal(node.status().relay?.tunnels.open, 50);
    assert.equal(node.status().relay?.closed.displaced, 7);
    // Idle tunnels carry nothing, so nothing was served or paid on them; content is still served.
    assert.equal(await honestDownload(2), 2 * Number(MiB));
    for (const r of [...first, ...second, ...third, mine!]) r.socket.destroy();
  });

  test("a sender whose deposit was spent by another provider's winners is refused once the node reads its funds", async () => {
    const f = attacker(6);
    const face = offer.faceValue;
    await fundBroker(await w.net.clientsFor(f), w.net.deployment, { deposit: 3n * face, reserve: 0n });
    const s = await open(f);
    await serve(s, MiB);
    // Another provider redeems three winners of this sender: its deposit is gone.
    await redeemElsewhere(f, otherProvider(1), 3);
    assert.deepEqual(await senderFunds(f.address), [0n, 0n, 0n]);
    // The node reads funds at most fundsTtlSeconds (10 s) old.
    await advance(11);
    await refused(s, async () => postTickets(url, s, [await sign(s, f, s.nextNonce, MiB)]), {
      status: 402, error: "InsufficientFundsError",
      details: { sender: f.address, deposit: "0", reserve: "0", required: `${face}`, withdrawTime: "0" },
    }, "exhausted deposit");
  });

  test("a reserve counts only for what this node may still draw from it", async () => {
    const g = attacker(7);
    const face = offer.faceValue;
    // Deposit 2 faces, reserve 30 faces shared by 3 providers: each may draw 10 faces.
    await fundBroker(await w.net.clientsFor(g), w.net.deployment, { deposit: 2n * face, reserve: 30n * face });
    // Another provider's 12 winners take the deposit and its 10-face share of the reserve.
    await redeemElsewhere(g, otherProvider(1), 12);
    assert.deepEqual(await senderFunds(g.address), [0n, 20n * face, 0n]);
    await advance(11);
    const s = await open(g);
    // Every ticket of this node wins (winProb 2^256 - 1): it may take 10, which its share pays.
    let nonce = s.nextNonce;
    for (let i = 1n; i <= 10n; i++) {
      await serve(s, MiB, (i - 1n) * MiB % (8n * MiB));
      const res = await postTickets(url, s, [await sign(s, g, nonce++, i * MiB)]);
      assert.equal(res.status, 200, `ticket ${i}: ${await res.clone().text()}`);
    }
    await serve(s, MiB);
    await refused(s, async () => postTickets(url, s, [await sign(s, g, nonce, 11n * MiB)]), {
      status: 402, error: "InsufficientFundsError",
      details: { sender: g.address, deposit: "0", reserve: `${10n * face}`, required: `${11n * face}`, withdrawTime: "0" },
    }, "an 11th winner its share of the reserve cannot pay");
    // And the ten it took are paid in full.
    const before = node.store.winnersInState("confirmed").filter((t) => t.ticket.sender === g.address).length;
    await node.redeemNow();
    assert.equal(node.store.winnersInState("confirmed").filter((t) => t.ticket.sender === g.address).length - before, 10);
    assert.equal(node.store.winnersInState("pending").filter((t) => t.ticket.sender === g.address).length, 0);
  });

  test("a sender whose deposit is unlocking: paid as usual at first, refused from 23 h into the 48 h unlock", async () => {
    const e = attacker(5);
    const s = await open(e);
    await serve(s, 2n * MiB);
    const c = await w.net.clientsFor(e);
    const unlock = await c.walletClient!.writeContract({ address: w.net.deployment.contracts.broker, abi: w.abis.broker, functionName: "unlock", args: [] } as never);
    await c.publicClient.waitForTransactionReceipt({ hash: unlock });
    const [, , withdrawTime] = await senderFunds(e.address);
    await advance(11);
    let nonce = s.nextNonce;
    assert.equal((await postTickets(url, s, [await sign(s, e, nonce++, MiB)])).status, 200, "the first hours pay as usual");
    // 23 h after the unlock (and a minute: the chain's clock runs a few seconds ahead of the node's).
    await advance(82_860);
    const { deposit } = await brokerFunds(e.address);
    const pending = BigInt(node.store.winnersInState("pending").filter((t) => t.ticket.sender === e.address).length);
    await refused(s, async () => postTickets(url, s, [await sign(s, e, nonce, 2n * MiB)]), {
      status: 402, error: "InsufficientFundsError",
      details: { sender: e.address, deposit: `${deposit}`, reserve: "0", required: `${offer.faceValue * (pending + 1n)}`, withdrawTime: `${withdrawTime}` },
    }, "a ticket that could not be redeemed before the withdrawal");
    const res = await postSessionRequest(url, await sessionRequestBody(url, e, { timestamp: nowS() }));
    assert.deepEqual(await answerOf(res), {
      status: 402, error: "InsufficientFundsError",
      details: { sender: e.address, deposit: `${deposit}`, reserve: "0", required: `${offer.minDeposit}`, withdrawTime: `${withdrawTime}` },
    });
  });

  test("after a restart, replayed session requests and tickets are still refused", async () => {
    const a = attacker(9);
    const body = await sessionRequestBody(url, a, { timestamp: nowS() });
    const res = await postSessionRequest(url, body);
    assert.equal(res.status, 201);
    const s = parseOpenedSession(await res.json());
    await serve(s, MiB);
    const t = await sign(s, a, s.nextNonce, MiB);
    assert.equal((await postTickets(url, s, [t])).status, 200);
    await node.stop();
    ({ n: node, url } = await startNode(await nodeConfig("attacked")));
    assert.deepEqual(await answerOf(await postSessionRequest(url, body)), { status: 409, error: "ReplayedSessionRequestError" });
    await refused(s, () => postTickets(url, s, [t]), { status: 409, error: "TicketNonceError", details: { nonce: `${t.ticket.senderNonce}`, lastNonce: `${t.ticket.senderNonce}`, nextNonce: `${t.ticket.senderNonce + 1n}`, duplicate: true } }, "replayed after a restart");
  });

  /** The broker's (deposit, reserve, withdrawTime) of `who`. */
  async function senderFunds(who: Address): Promise<[bigint, bigint, bigint]> {
    const c = await w.net.clientsFor(honest);
    const [d, r, t] = (await c.publicClient.readContract({ address: w.net.deployment.contracts.broker, abi: w.abis.broker, functionName: "getSender", args: [who] })) as readonly [bigint, bigint, bigint | number];
    return [d, r, BigInt(t)];
  }
  async function brokerFunds(who: Address): Promise<{ deposit: bigint; reserve: bigint }> {
    const [deposit, reserve] = await senderFunds(who);
    return { deposit, reserve };
  }
  /** `provider` redeems `count` winning tickets of `sender` (face value the node's) on the broker. */
  async function redeemElsewhere(sender: DevAccount, provider: DevAccount, count: number): Promise<void> {
    const c = await w.net.clientsFor(provider);
    const broker = w.net.deployment.contracts.broker;
    const abi: Abi = w.abis.broker;
    const rand = BigInt(toHex(randomBytes(32)));
    const last = (await c.publicClient.readContract({ address: broker, abi, functionName: "lastNonce", args: [sender.address, provider.address] })) as bigint;
    const block = await c.publicClient.getBlock();
    const tickets: Ticket[] = [];
    const sigs: Hex[] = [];
    for (let i = 1; i <= count; i++) {
      const ticket: Ticket = {
        recipient: provider.address, sender: sender.address, faceValue: offer.faceValue, winProb: MAX_WIN_PROB, senderNonce: last + BigInt(i),
        recipientRandHash: recipientRandHash(rand), expiry: block.timestamp + 86_400n, sessionId: toHex(randomBytes(32)), cumulativeBytes: BigInt(i) * MiB,
      };
      tickets.push(ticket);
      sigs.push(await signTicket({ ticket, domain, privateKey: sender.privateKey }));
    }
    const hash = await c.walletClient!.writeContract({ address: broker, abi, functionName: "redeemTickets", args: [tickets, sigs, tickets.map(() => rand)] } as never);
    const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, "success");
  }
});
