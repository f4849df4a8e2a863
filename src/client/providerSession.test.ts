import { test } from "node:test";
import assert from "node:assert/strict";
import { privateKeyToAccount } from "viem/accounts";
import { devAccount } from "../chain/devAccounts.ts";
import { buildOffer } from "../node/payments/buildOffer.ts";
import { signSessionRequest, verifySessionRequest } from "../protocol/sessionRequest.ts";
import { signTicket } from "../protocol/signTicket.ts";
import { ticketDomain } from "../protocol/ticket.ts";
import { parseSessionRequest, serializeOffer, serializeSession } from "../protocol/wire.ts";
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

test("openProviderSession POSTs a request signed by the sender for this provider, fresh and unique", async () => {
  const bodies: unknown[] = [];
  const nowMs = 1_764_254_400_000;
  const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if (url.endsWith("/offer")) return Response.json(serializeOffer(offer));
    assert.ok(url.endsWith("/sessions") && init?.method === "POST", url);
    bodies.push(JSON.parse(String(init.body)));
    return Response.json(
      serializeSession({
        sessionId: `0x${"aa".repeat(32)}`, sender: consumer.address, recipient: provider.address, chainId: 31337, broker,
        recipientRandHash: `0x${"bb".repeat(32)}`, nextNonce: 1n, faceValue: offer.faceValue, winProb: offer.winProb,
        pricePerGiB: offer.pricePerGiB, bytesPerTicket: offer.bytesPerTicket, creditWindowBytes: offer.creditWindowBytes,
        minExpiry: 0n, maxExpiry: 0n, servedBytes: 0n, paidBytes: 0n,
      }),
      { status: 201 },
    );
  }) as typeof fetch;
  const open = () =>
    openProviderSession({
      listing: { provider: provider.address, endpoint: "http://node.test", pricePerGiB: offer.pricePerGiB, capacityMbps: 100n, region: "", services: 1 },
      chainId: 31337,
      broker,
      sender: consumer.address,
      sign: (ticket) => signTicket({ ticket, domain, privateKey: consumer.privateKey }),
      signSession: (message) => signSessionRequest({ message, domain, privateKey: consumer.privateKey }),
      fetch: fetchStub,
      now: () => nowMs,
    });
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
