import { test } from "node:test";
import assert from "node:assert/strict";
import type { Ticket } from "./ticket.ts";
import {
  decodeTicketHeader,
  encodeTicketHeader,
  parseOffer,
  parseOpenedSession,
  parseSession,
  parseSessionToken,
  parseSessionRequest,
  serializeSessionRequest,
  parseTicketBatch,
  parseWireError,
  serializeOffer,
  serializeOpenedSession,
  serializeSession,
  serializeTicketPayment,
  WireFormatError,
  MAX_TICKET_HEADER_ENTRY_CHARS,
  type Offer,
  type Session,
} from "./wire.ts";

const ticket: Ticket = {
  recipient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  sender: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  faceValue: 10n ** 17n,
  winProb: 2n ** 250n,
  senderNonce: 7n,
  recipientRandHash: `0x${"ab".repeat(32)}`,
  expiry: 1_800_000_000n,
  sessionId: `0x${"cd".repeat(32)}`,
  cumulativeBytes: 1_048_576n,
};
const signature = `0x${"11".repeat(64)}1b` as const;

test("ticket header round-trips one and several tickets, and repeated headers", () => {
  const one = encodeTicketHeader([{ ticket, signature }]);
  assert.match(one, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeTicketHeader(one), [{ ticket, signature }]);
  const t2 = { ...ticket, senderNonce: 8n, cumulativeBytes: 2_097_152n };
  const two = encodeTicketHeader([{ ticket, signature }, { ticket: t2, signature }]);
  assert.deepEqual(decodeTicketHeader(two).map((p) => p.ticket.senderNonce), [7n, 8n]);
  assert.deepEqual(decodeTicketHeader([one, encodeTicketHeader([{ ticket: t2, signature }])]).length, 2);
});

test("ticket header rejects garbage, extra fields and non-hex signatures naming the entry", () => {
  assert.throws(() => decodeTicketHeader("not base64!"), (e: WireFormatError) => e.name === "WireFormatError" && e.field === "x-bandmint-ticket[0]");
  const extra = Buffer.from(JSON.stringify({ ...serializeTicketPayment({ ticket, signature }), x: 1 })).toString("base64url");
  assert.throws(() => decodeTicketHeader(extra), /x-bandmint-ticket\[0\]\.x/);
  const notHex = Buffer.from(JSON.stringify({ ticket: serializeTicketPayment({ ticket, signature }).ticket, signature: "0x123" })).toString("base64url");
  assert.throws(() => decodeTicketHeader(notHex), (e: WireFormatError) => e.name === "WireFormatError" && e.field === "x-bandmint-ticket[0].signature");
  // Whole bytes of the wrong length are the signature check's (InvalidSignatureError), not the wire's.
  const compact = Buffer.from(JSON.stringify({ ticket: serializeTicketPayment({ ticket, signature }).ticket, signature: signature.slice(0, 130) })).toString("base64url");
  assert.equal(decodeTicketHeader(compact)[0]!.signature, signature.slice(0, 130));
  const tooLong = "A".repeat(MAX_TICKET_HEADER_ENTRY_CHARS + 1);
  assert.throws(() => decodeTicketHeader(tooLong), /at most 4096 characters/);
  const badTicket = Buffer.from(JSON.stringify({ ticket: { ...serializeTicketPayment({ ticket, signature }).ticket, faceValue: 5 }, signature })).toString("base64url");
  assert.throws(() => decodeTicketHeader(badTicket), (e: Error) => e.name === "InvalidTicketError");
});

test("offer and session round-trip through JSON", () => {
  const offer: Offer = {
    version: 1, recipient: ticket.recipient, chainId: 31337, broker: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    pricePerGiB: 10n ** 18n, bytesPerTicket: 1_048_576n, faceValue: 10n ** 17n, winProb: 2n ** 250n,
    expectedValue: 976_562_500_000_000n, creditWindowBytes: 4_194_304n, ticketExpirySeconds: 86_400,
    minDeposit: 2n * 10n ** 17n, services: ["cdn"],
  };
  assert.deepEqual(parseOffer(JSON.parse(JSON.stringify(serializeOffer(offer)))), offer);
  const session: Session = {
    sessionId: ticket.sessionId, sender: ticket.sender, recipient: ticket.recipient, chainId: 31337, broker: offer.broker,
    recipientRandHash: ticket.recipientRandHash, nextNonce: 1n, faceValue: offer.faceValue, winProb: offer.winProb,
    pricePerGiB: offer.pricePerGiB, bytesPerTicket: offer.bytesPerTicket, creditWindowBytes: offer.creditWindowBytes,
    minExpiry: 1n, maxExpiry: 2n, servedBytes: 3n, paidBytes: 0n, service: "relay",
  };
  assert.deepEqual(parseSession(JSON.parse(JSON.stringify({ ...serializeSession(session), future: true }))), session);
  assert.throws(() => parseOffer({ ...serializeOffer(offer), pricePerGiB: 1e18 }), /pricePerGiB/);

  // Wire version 2: only the POST /sessions response carries the secret token, and it must.
  const token = `0x${"EF".repeat(32)}` as const;
  const opened = parseOpenedSession(JSON.parse(JSON.stringify(serializeOpenedSession({ ...session, sessionToken: token }))));
  assert.deepEqual(opened, { ...session, sessionToken: token.toLowerCase() });
  assert.throws(() => parseOpenedSession(serializeSession(session)), (e: WireFormatError) => e.name === "WireFormatError" && e.field === "sessionToken");
  assert.equal("sessionToken" in parseSession(serializeOpenedSession(opened)), false, "a plain Session never carries the token");
});

test("session tokens are 32 bytes of hex, lower-cased; anything else names the header", () => {
  assert.equal(parseSessionToken(`0x${"Ab".repeat(32)}`), `0x${"ab".repeat(32)}`);
  for (const bad of ["", "0x12", `${"ab".repeat(32)}`, `0x${"ab".repeat(33)}`, `0x${"zz".repeat(32)}`, undefined, ["a"]]) {
    assert.throws(() => parseSessionToken(bad), (e: WireFormatError) => e.name === "WireFormatError" && e.field === "x-bandmint-session", String(bad));
  }
});

test("requests are parsed strictly", () => {
  const request = { sender: ticket.sender, timestamp: 1_764_254_400n, clientNonce: `0x${"ab".repeat(32)}` as const, signature };
  assert.deepEqual(parseSessionRequest({ ...serializeSessionRequest(request), sender: ticket.sender.toLowerCase() }), request);
  assert.throws(() => parseSessionRequest({ sender: ticket.sender }), (e: Error) => e.name === "UnsignedSessionRequestError");
  assert.throws(() => parseSessionRequest({ ...serializeSessionRequest(request), x: 1 }), /"x"/);
  assert.throws(() => parseSessionRequest({ ...serializeSessionRequest(request), timestamp: 1 }), /timestamp/);
  assert.throws(() => parseSessionRequest({ ...serializeSessionRequest(request), timestamp: (2n ** 64n).toString() }), /timestamp/);
  assert.throws(() => parseSessionRequest({ ...serializeSessionRequest(request), clientNonce: "0x12" }), /clientNonce/);
  for (const bad of ["0x1", "12", "0xzz", 65]) {
    assert.throws(() => parseSessionRequest({ ...serializeSessionRequest(request), signature: bad }), (e: WireFormatError) => e.name === "WireFormatError" && e.field === "signature", String(bad));
  }
  // A 64-byte signature is well-formed bytes: verifySessionRequest refuses it as InvalidSignatureError.
  assert.equal(parseSessionRequest({ ...serializeSessionRequest(request), signature: signature.slice(0, 130) }).signature, signature.slice(0, 130));
  assert.throws(() => parseSessionRequest({}), /sender/);
  assert.throws(() => parseTicketBatch({ tickets: [] }), /tickets/);
  assert.equal(parseTicketBatch({ tickets: [serializeTicketPayment({ ticket, signature })] }).tickets.length, 1);
  assert.deepEqual(parseWireError({ error: "E", message: "m" }), { error: "E", message: "m" });
  assert.throws(() => parseWireError({ error: 1 }), WireFormatError);
});
