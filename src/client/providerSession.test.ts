import { test } from "node:test";
import assert from "node:assert/strict";
import { privateKeyToAccount } from "viem/accounts";
import { devAccount } from "../chain/devAccounts.ts";
import { buildOffer } from "../node/payments/buildOffer.ts";
import { signSessionRequest, verifySessionRequest } from "../protocol/sessionRequest.ts";
import { signTicket } from "../protocol/signTicket.ts";
import { ticketDomain } from "../protocol/ticket.ts";
import { parseSessionRequest, parseTicketBatch, serializeOffer, serializeOpenedSession, serializeSession, type Session } from "../protocol/wire.ts";
import { openProviderSession } from "./providerSession.ts";

// The client's half of signed session requests (payments.md §1.2): what it POSTs verifies at the
// node it is addressed to, for the consumer's address, and at no other provider.

const broker = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const provider = devAccount(2);
const consumer = devAccount(10);
const domain = ticketDomain(31337, broker);
const offer = buildOffer({
  recipient: provider.address, chainId: 31337, broker, pricePerGiB: 10n ** 18n, bytesPerTicket: 1n << 20n, faceValue: 10n ** 17n,
  creditWindowBytes: 4n << 20n, ticketExpirySeconds: 86_400, services: ["cdn"],
});
const listing = { provider: provider.address, endpoint: "http://node.test", pricePerGiB: offer.pricePerGiB, capacityMbps: 100n, region: "", services: 1 };
const sessionId = `0x${"aa".repeat(32)}` as const;
const sessionToken = `0x${"cc".repeat(32)}` as const;
const sessionOf = (paidBytes = 0n): Session => ({
  sessionId, sender: consumer.address, recipient: provider.address, chainId: 31337, broker,
  recipientRandHash: `0x${"bb".repeat(32)}`, nextNonce: 1n, faceValue: offer.faceValue, winProb: offer.winProb,
  pricePerGiB: offer.pricePerGiB, bytesPerTicket: offer.bytesPerTicket, creditWindowBytes: offer.creditWindowBytes,
  minExpiry: 0n, maxExpiry: 0n, servedBytes: 0n, paidBytes, service: "cdn",
});
const openWith = (fetchStub: typeof fetch, nowMs = Date.now()) =>
  openProviderSession({
    listing, chainId: 31337, broker, sender: consumer.address,
    sign: (ticket) => signTicket({ ticket, domain, privateKey: consumer.privateKey }),
    signSession: (message) => signSessionRequest({ message, domain, privateKey: consumer.privateKey }),
    fetch: fetchStub,
    now: () => nowMs,
  });

test("openProviderSession POSTs a request signed by the sender for this provider, fresh and unique", async () => {
  const bodies: unknown[] = [];
  const nowMs = 1_764_254_400_000;
  const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if (url.endsWith("/offer")) return Response.json(serializeOffer(offer));
    assert.ok(url.endsWith("/sessions") && init?.method === "POST", url);
    bodies.push(JSON.parse(String(init.body)));
    return Response.json(serializeOpenedSession({ ...sessionOf(), sessionToken }), { status: 201 });
  }) as typeof fetch;
  const open = () => openWith(fetchStub, nowMs);
  await open();
  await open();
  const [a, b] = bodies.map(parseSessionRequest);
  assert.ok(a !== undefined && b !== undefined);
  assert.equal(a.sender, consumer.address);
  assert.equal(a.timestamp, BigInt(nowMs / 1000));
  assert.notEqual(a.clientNonce, b.clientNonce, "each request carries a fresh clientNonce (so it is not a replay)");
  // Verifies at the provider it was made for...
  verifySessionRequest(a, { domain, recipient: provider.address, nowSeconds: a.timestamp });
  // ...and nowhere else.
  const other = privateKeyToAccount(devAccount(3).privateKey).address;
  assert.throws(() => verifySessionRequest(a, { domain, recipient: other, nowSeconds: a.timestamp }), (e: Error) => e.name === "SessionRequestSignerError");
});

test("the session token from POST /sessions authenticates every later request; the public id never does", async () => {
  const seen: { method: string; path: string; session: string | null }[] = [];
  const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    seen.push({ method, path: url.pathname, session: new Headers(init?.headers).get("x-bandmint-session") });
    if (url.pathname === "/offer") return Response.json(serializeOffer(offer));
    if (url.pathname === "/sessions") return Response.json(serializeOpenedSession({ ...sessionOf(), sessionToken }), { status: 201 });
    if (url.pathname === `/sessions/${sessionId}/tickets`) return Response.json({ accepted: 1, session: serializeSession(sessionOf(1000n)) });
    if (url.pathname.endsWith("/manifest.json")) return Response.json({});
    if (url.pathname.startsWith("/c/")) return new Response(new Uint8Array(1000), { status: 206, headers: { "content-length": "1000" } });
    return Response.json({ error: "RouteNotFoundError", message: url.pathname }, { status: 404 });
  }) as typeof fetch;
  const s = await openWith(fetchStub);
  assert.equal(s.sessionId, sessionId);
  assert.equal(JSON.stringify(s, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)).includes(sessionToken.slice(2)), false, "the token is not exposed on the session object");
  await s.fetchManifest("ab".repeat(32));
  await s.fetchRange({ contentId: "ab".repeat(32), path: "f", start: 0n, end: 1000n, timeoutMs: 5000, verify: () => {} });
  await s.settle();
  assert.equal(s.payments().acknowledgedBytes, 1000n);
  const after = seen.filter((r) => r.path !== "/offer" && r.path !== "/sessions");
  assert.deepEqual(after.map((r) => `${r.method} ${r.path.replace(/(ab)+/, "<cid>")}`), ["GET /c/<cid>/manifest.json", "GET /c/<cid>/f", `POST /sessions/${sessionId}/tickets`]);
  for (const r of after) assert.equal(r.session, sessionToken, `${r.method} ${r.path}`);
});

test("openProviderSession refuses a version 1 node and a session response without a token", async () => {
  const v1 = (async (input: string | URL | Request) => {
    assert.ok(String(input).endsWith("/offer"), "nothing is signed or sent to a version 1 node");
    return Response.json(serializeOffer({ ...offer, version: 1 }));
  }) as typeof fetch;
  await assert.rejects(openWith(v1), (e: Error) => e.name === "OfferMismatchError" && /version/.test(e.message));
  const tokenless = (async (input: string | URL | Request) =>
    String(input).endsWith("/offer") ? Response.json(serializeOffer(offer)) : Response.json(serializeSession(sessionOf()), { status: 201 })) as typeof fetch;
  // A typed refusal the pool can act on (cool the provider down), with the wire error as its cause.
  await assert.rejects(openWith(tokenless), (e: Error & { malformed?: boolean; cause?: { field?: string } }) => e.name === "ProviderRequestError" && e.malformed === true && e.cause?.field === "sessionToken");
});

test("data requests carry no tickets, go out while the window admits them, and a 402 waits for the payer", async () => {
  const MiB = 1n << 20n;
  const events: string[] = [];
  let paid = 0n;
  let served = 0n;
  let nonce = 0n;
  let releasePost: (() => void) | undefined;
  let refuseNext = false;
  const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    if (url.pathname === "/offer") return Response.json(serializeOffer(offer));
    if (url.pathname === "/sessions") return Response.json(serializeOpenedSession({ ...sessionOf(), sessionToken }), { status: 201 });
    if (url.pathname === `/sessions/${sessionId}/tickets`) {
      const { tickets } = parseTicketBatch(JSON.parse(String(init?.body)));
      events.push(`POST ${tickets.map((t) => t.ticket.cumulativeBytes / MiB).join(",")}`);
      await new Promise<void>((r) => (releasePost = r));
      for (const t of tickets) [paid, nonce] = [t.ticket.cumulativeBytes, t.ticket.senderNonce];
      return Response.json({ accepted: tickets.length, session: serializeSession({ ...sessionOf(paid), nextNonce: nonce + 1n }) });
    }
    assert.equal(headers.get("x-bandmint-ticket"), null, "a data request never carries tickets");
    const start = BigInt(/bytes=(\d+)-/.exec(headers.get("range") ?? "")![1]!);
    if (refuseNext) {
      refuseNext = false;
      events.push(`402 ${start / MiB}`);
      return Response.json({ error: "PaymentRequiredError", message: "pay", details: {
        sessionId, servedBytes: served.toString(), inFlightBytes: "0", paidBytes: paid.toString(), requestedBytes: MiB.toString(), creditWindowBytes: (4n * MiB).toString(),
        minCumulativeBytes: "0", nextNonce: (nonce + 1n).toString(), recipientRandHash: `0x${"bb".repeat(32)}`,
      } }, { status: 402 });
    }
    served += MiB;
    assert.ok(served - paid <= 4n * MiB, "the client never asks beyond the credit window");
    events.push(`GET ${start / MiB}`);
    return new Response(new Uint8Array(Number(MiB)), { status: 206, headers: { "content-length": String(MiB) } });
  }) as typeof fetch;
  const s = await openWith(fetchStub);
  const get = (i: bigint) => s.fetchRange({ contentId: "ab".repeat(32), path: "f", start: i * MiB, end: (i + 1n) * MiB, timeoutMs: 5000, verify: () => {} });
  const tick = () => new Promise((r) => setTimeout(r, 20));
  // Six at once: four fill the window, the other two wait for the payer.
  const all = [0n, 1n, 2n, 3n, 4n, 5n].map(get);
  await tick();
  assert.deepEqual(events, ["GET 0", "GET 1", "GET 2", "GET 3", "POST 1"], "one POST in flight; the window is full");
  releasePost!();
  await tick();
  assert.deepEqual(events.slice(5).sort(), ["GET 4", "POST 2,3,4"], "one MiB paid lets one MiB more out; what queued meanwhile goes in one POST");
  releasePost!();
  await tick();
  assert.deepEqual(events.slice(7), ["GET 5", "POST 5"]);
  await Promise.all(all);
  releasePost!();
  await tick();
  assert.deepEqual(events.slice(9), ["POST 6"]);
  // The node disagrees once (402) while POST 6 is in flight: the request waits for the payer, then goes again.
  refuseNext = true;
  const seventh = get(6n);
  await tick();
  assert.deepEqual(events.slice(10), ["402 6"]);
  releasePost!();
  await seventh;
  await tick();
  assert.deepEqual(events.slice(10), ["402 6", "GET 6", "POST 7"]);
  const settling = s.settle();
  releasePost!();
  await settling;
  assert.equal(s.payments().acknowledgedBytes, 7n * MiB);
  assert.equal(s.payments().tickets, 7);
});
