// Properties of every payment-wire decoder the network reaches (docs/protocol/payments.md): an
// offer, a session request, a session and the POST /sessions answer, a ticket batch and its
// result, the X-Bandmint-Ticket header, tokens, ids and error bodies. For any input: a value or a
// typed error naming the field, within a bounded time; valid values round-trip.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Hex } from "viem";
import { BaseError, InvalidTicketError } from "./errors.ts";
import { UnsignedSessionRequestError } from "./sessionRequest.ts";
import { address, hexBytes, ticket as ticketArb, uint256, uint64 } from "./testing/arbitraries.ts";
import { propertyRuns, valueOrTypedError, withinTime } from "./testing/properties.ts";
import {
  decodeTicketHeader,
  encodeTicketHeader,
  MAX_TICKET_HEADER_ENTRY_CHARS,
  MAX_TICKETS_PER_BATCH,
  parseOffer,
  parseOpenedSession,
  parsePaymentRequiredDetails,
  parseSession,
  parseSessionId,
  parseSessionRequest,
  parseSessionToken,
  parseTicketBatch,
  parseTicketBatchResult,
  parseTicketPayment,
  parseWireError,
  serializeOffer,
  serializeOpenedSession,
  serializeSession,
  serializeSessionRequest,
  serializeTicketPayment,
  WireFormatError,
  type Offer,
  type Session,
  type SessionRequest,
  type TicketPayment,
} from "./wire.ts";

const TYPED = [WireFormatError, InvalidTicketError, UnsignedSessionRequestError] as const;

/** Every refusal is one of our typed errors, with a message and (where it has one) a field name. */
function decodes<T>(f: () => T): T | undefined {
  return valueOrTypedError(() => withinTime(f), TYPED, (e) => {
    assert.ok(e instanceof BaseError && e.shortMessage.length > 0);
    // An unknown key is named as sent, which may be "" ({"": 1}).
    if ("field" in e) assert.equal(typeof e.field, "string", e.message);
  });
}

const safeInt = fc.oneof(fc.nat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER));
const service = fc.constantFrom("cdn" as const, "relay" as const);
const offerArb: fc.Arbitrary<Offer> = fc.record({
  version: safeInt, recipient: address, chainId: safeInt, broker: address, pricePerGiB: uint256, bytesPerTicket: uint256,
  faceValue: uint256, winProb: uint256, expectedValue: uint256, creditWindowBytes: uint256, ticketExpirySeconds: safeInt,
  minDeposit: uint256, services: fc.array(service, { maxLength: 3 }),
}, { noNullPrototype: true });
const sessionArb: fc.Arbitrary<Session> = fc.record({
  sessionId: hexBytes(32), sender: address, recipient: address, chainId: safeInt, broker: address, recipientRandHash: hexBytes(32),
  nextNonce: uint256, faceValue: uint256, winProb: uint256, pricePerGiB: uint256, bytesPerTicket: uint256, creditWindowBytes: uint256,
  minExpiry: uint256, maxExpiry: uint256, servedBytes: uint256, paidBytes: uint256, service,
}, { noNullPrototype: true });
const signatureArb = fc.oneof(hexBytes(65), fc.nat({ max: 80 }).chain((n) => hexBytes(n)));
const requestArb: fc.Arbitrary<SessionRequest> = fc
  .record({ sender: address, timestamp: uint64, clientNonce: hexBytes(32), signature: signatureArb, service: fc.option(service) }, { noNullPrototype: true })
  .map(({ service: s, ...r }) => (s === null ? r : { ...r, service: s }));
const paymentArb: fc.Arbitrary<TicketPayment> = fc.record({ ticket: ticketArb.map((t) => ({ ...t })), signature: signatureArb }, { noNullPrototype: true });

/** JSON as a parser sees it after JSON.parse (no undefined, no -0), with bigints as text. */
const wire = (body: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(body));
/** The decoders lower-case hex (bytes32, signatures) and checksum addresses; arbitraries give both forms already. */
const lowerHex = <T extends Record<string, unknown>>(o: T, fields: string[]): T =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fields.includes(k) && typeof v === "string" ? v.toLowerCase() : v])) as T;
const sessionLower = (s: Session) => lowerHex(s, ["sessionId", "recipientRandHash"]);
const paymentLower = (p: TicketPayment): TicketPayment => ({
  ticket: lowerHex(p.ticket, ["recipientRandHash", "sessionId"]),
  signature: p.signature.toLowerCase() as Hex,
});

test("valid offers, sessions, session requests and ticket batches round-trip through JSON (property)", () => {
  fc.assert(
    fc.property(offerArb, sessionArb, requestArb, fc.array(paymentArb, { minLength: 1, maxLength: 4 }), hexBytes(32), fc.nat(), (offer, session, request, payments, token, accepted) => {
      assert.deepEqual(parseOffer(wire(serializeOffer(offer))), offer);
      assert.deepEqual(parseSession(wire(serializeSession(session))), sessionLower(session));
      assert.deepEqual(parseOpenedSession(wire(serializeOpenedSession({ ...session, sessionToken: token }))), { ...sessionLower(session), sessionToken: token.toLowerCase() });
      // A cdn request goes on the wire without its service (nodes before relay mode read it so).
      const { service: s, ...rest } = request;
      const expected = s === undefined || s === "cdn" ? rest : request;
      assert.deepEqual(parseSessionRequest(wire(serializeSessionRequest(request))), { ...lowerHex(expected, ["clientNonce", "signature"]) });
      const batch = { tickets: payments.map(serializeTicketPayment) };
      assert.deepEqual(parseTicketBatch(wire(batch)), { tickets: payments.map(paymentLower) });
      assert.deepEqual(parseTicketBatchResult(wire({ accepted, session: serializeSession(session) })), { accepted, session: sessionLower(session) });
    }),
    { numRuns: propertyRuns(300) },
  );
});

test("X-Bandmint-Ticket round-trips any payments, in one header or repeated ones (property)", () => {
  fc.assert(
    fc.property(fc.array(paymentArb, { minLength: 1, maxLength: 6 }), fc.nat(), (payments, cut) => {
      const entries = encodeTicketHeader(payments).split(",");
      assert.ok(entries.every((e) => e.length <= MAX_TICKET_HEADER_ENTRY_CHARS));
      const at = cut % (entries.length + 1);
      // Node hands repeated headers over as an array; spaces after commas are allowed.
      const split = [entries.slice(0, at).join(", "), entries.slice(at).join(",")].filter((v) => v.length > 0);
      assert.deepEqual(decodeTicketHeader(split), payments.map(paymentLower));
      assert.deepEqual(decodeTicketHeader(entries.join(" ,")), payments.map(paymentLower));
    }),
    { numRuns: propertyRuns(300) },
  );
});

// Any JSON a peer could send, biased to objects that look like ours.
const keys = ["version", "recipient", "sender", "tickets", "ticket", "signature", "session", "timestamp", "clientNonce", "service", "sessionId", "accepted", "error", "message", "details", "faceValue", "__proto__", "constructor"];
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
  fc.string({ maxLength: 200 }).map((s) => JSON.parse(JSON.stringify(s))),
);

test("every decoder gives a value or a typed error naming a field, for any JSON (property)", () => {
  fc.assert(
    fc.property(anyJson, (json) => {
      decodes(() => parseOffer(json));
      decodes(() => parseSessionRequest(json));
      decodes(() => parseSession(json));
      decodes(() => parseOpenedSession(json));
      decodes(() => parseTicketBatch(json));
      decodes(() => parseTicketBatchResult(json));
      decodes(() => parseTicketPayment(json));
      decodes(() => parseWireError(json));
      decodes(() => parsePaymentRequiredDetails(json));
      decodes(() => parseSessionToken(json));
      decodes(() => parseSessionId(json));
    }),
    { numRuns: propertyRuns(1000) },
  );
});

/** A JSON value, or a string that is almost right for the field (case, length, sign, size). */
const badValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("", "0x", "-1", "01", "1.5", "1e3", " 1", (2n ** 256n).toString(), "9".repeat(100), `0x${"g".repeat(64)}`, `0x${"a".repeat(63)}`, `0x${"aB".repeat(20)}`, "CDN", null, 1.5, -1, 2 ** 53, true, [], {}),
);

/**
 * Puts `bad` in place of `field` of a valid body (or removes it): the decoder must accept the body
 * or refuse it with a typed error naming that field (the other fields are valid).
 */
function namesTheField(parse: (json: unknown) => unknown, body: Record<string, unknown>, field: string, bad: unknown, prefix = "") {
  const mutated = { ...body };
  if (bad === undefined) delete mutated[field];
  else mutated[field] = bad;
  valueOrTypedError(() => withinTime(() => parse(wire(mutated))), TYPED, (e) => {
    if (e instanceof UnsignedSessionRequestError) return assert.equal(field, "signature");
    const named = (e as WireFormatError | InvalidTicketError).field;
    const want = `${prefix}${field}`;
    assert.ok(named === want || named.startsWith(`${want}.`) || named.startsWith(`${want}[`), `${field} := ${JSON.stringify(bad)}: error names "${named}"`);
  });
}

test("a bad or missing field is refused by name in offers, sessions, requests and results (property)", () => {
  fc.assert(
    fc.property(offerArb, sessionArb, requestArb, hexBytes(32), fc.option(badValue, { nil: undefined }), fc.nat(), (offer, session, request, token, bad, pick) => {
      const cases: [(json: unknown) => unknown, Record<string, unknown>][] = [
        [parseOffer, serializeOffer(offer)],
        [parseSession, serializeSession(session)],
        [parseOpenedSession, serializeOpenedSession({ ...session, sessionToken: token })],
        [parseSessionRequest, serializeSessionRequest({ ...request, service: "relay" })],
      ];
      for (const [parse, body] of cases) {
        const fields = Object.keys(body);
        namesTheField(parse, body, fields[pick % fields.length]!, bad);
      }
    }),
    { numRuns: propertyRuns(1000) },
  );
});

test("a bad ticket field inside a batch or a header names the entry and the field (property)", () => {
  fc.assert(
    fc.property(fc.array(paymentArb, { minLength: 1, maxLength: 3 }), fc.nat(), fc.nat(), badValue, (payments, which, pick, bad) => {
      const i = which % payments.length;
      const ticket = serializeTicketPayment(payments[i]!).ticket as Record<string, unknown>;
      const fields = Object.keys(ticket);
      const field = fields[pick % fields.length]!;
      const entries = payments.map((p) => serializeTicketPayment(p) as { ticket: unknown; signature: unknown });
      const corrupt = (v: unknown) => entries.map((e, j) => (j === i ? { ...e, ticket: { ...ticket, [field]: v } } : e));
      const check = (f: () => unknown, want: string) =>
        valueOrTypedError(f, TYPED, (e) => {
          const named = (e as InvalidTicketError).field;
          assert.equal(named, want, `${field} := ${JSON.stringify(bad)}`);
        });
      check(() => parseTicketBatch(wire({ tickets: corrupt(bad) })), `tickets[${i}].ticket.${field}`);
      const header = corrupt(bad).map((e) => Buffer.from(JSON.stringify(e)).toString("base64url"));
      if (header.every((h) => h.length <= MAX_TICKET_HEADER_ENTRY_CHARS)) check(() => decodeTicketHeader(header.join(",")), `x-bandmint-ticket[${i}].ticket.${field}`);
    }),
    { numRuns: propertyRuns(500) },
  );
});

test("strict requests refuse unknown fields by name, and batches outside 1..256 tickets (property)", () => {
  const unknown = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !["sender", "timestamp", "clientNonce", "signature", "service", "tickets", "ticket", "__proto__"].includes(k));
  fc.assert(
    fc.property(requestArb, paymentArb, unknown, fc.jsonValue({ maxDepth: 1 }), (request, payment, key, value) => {
      const isKey = (e: Error) => assert.equal((e as WireFormatError).field, key);
      assert.throws(() => parseSessionRequest(wire({ ...serializeSessionRequest(request), [key]: value })), (e: Error) => (isKey(e), true));
      assert.throws(() => parseTicketBatch(wire({ tickets: [serializeTicketPayment(payment)], [key]: value })), (e: Error) => (isKey(e), true));
      assert.throws(() => parseTicketPayment(wire({ ...serializeTicketPayment(payment), [key]: value }), "p"), (e: Error) => assert.equal((e as WireFormatError).field, `p.${key}`) ?? true);
      assert.throws(() => parseTicketPayment(wire({ ...serializeTicketPayment(payment), ticket: { ...serializeTicketPayment(payment).ticket, [key]: value } }), "p"), (e: Error) => assert.equal((e as InvalidTicketError).field, `p.ticket.${key}`) ?? true);
    }),
    { numRuns: propertyRuns(300) },
  );
  const one = serializeTicketPayment({ ticket: fc.sample(ticketArb, 1)[0]!, signature: `0x${"11".repeat(65)}` });
  for (const n of [0, MAX_TICKETS_PER_BATCH + 1]) {
    assert.throws(() => parseTicketBatch({ tickets: Array.from({ length: n }, () => one) }), (e: Error) => e instanceof WireFormatError && e.field === "tickets");
  }
  assert.equal(parseTicketBatch({ tickets: Array.from({ length: MAX_TICKETS_PER_BATCH }, () => one) }).tickets.length, MAX_TICKETS_PER_BATCH);
});

test("X-Bandmint-Ticket: any header value decodes or is refused naming its entry, quickly (property)", () => {
  const entry = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.stringMatching(/^[A-Za-z0-9_-]{0,200}$/),
    anyJson.map((j) => Buffer.from(JSON.stringify(j) ?? "").toString("base64url")),
    paymentArb.map((p) => encodeTicketHeader([p])).chain((e) => fc.nat({ max: e.length }).map((n) => e.slice(0, n))),
  );
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 4 }), (entries) => {
      valueOrTypedError(() => withinTime(() => decodeTicketHeader(entries.join(","))), TYPED, (e) => {
        assert.match((e as WireFormatError).field, /^x-bandmint-ticket\[\d+\]/);
      });
    }),
    { numRuns: propertyRuns(1000) },
  );
  // Hostile sizes stay bounded: a 16 KiB header of one entry, of many tiny ones, of deep JSON.
  const deep = Buffer.from(`${"[".repeat(3000)}${"]".repeat(3000)}`).toString("base64url").slice(0, MAX_TICKET_HEADER_ENTRY_CHARS);
  for (const value of ["A".repeat(16_000), "A,".repeat(8000), `${deep},`.repeat(3)]) {
    valueOrTypedError(() => withinTime(() => decodeTicketHeader(value)), TYPED);
  }
});
