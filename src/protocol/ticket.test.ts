import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { keccak256, stringToBytes } from "viem";
import { InvalidTicketError } from "./errors.ts";
import { MAX_UINT64, MAX_UINT256, TICKET_TYPE_STRING, parseTicket, serializeTicket, ticketDomain, ticketTypes } from "./ticket.ts";
import { sampleTicket, ticket as ticketArb } from "./testing/arbitraries.ts";

test("ticketTypes matches the normative type string field by field", () => {
  const fromTypes = `Ticket(${ticketTypes.Ticket.map((f) => `${f.type} ${f.name}`).join(",")})`;
  assert.equal(fromTypes, TICKET_TYPE_STRING);
  // Pin the typehash so a silent edit of the string is caught too.
  assert.equal(keccak256(stringToBytes(TICKET_TYPE_STRING)), keccak256(stringToBytes(
    "Ticket(address recipient,address sender,uint256 faceValue,uint256 winProb,uint256 senderNonce,bytes32 recipientRandHash,uint64 expiry,bytes32 sessionId,uint64 cumulativeBytes)",
  )));
});

test("ticketDomain builds the bandmint domain and checksums the broker", () => {
  const d = ticketDomain(31337, "0x5fbdb2315678afecb367f032d93f642f64180aa3");
  assert.deepEqual(d, { name: "bandmint", version: "1", chainId: 31337n, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" });
  assert.throws(() => ticketDomain(0, "0x5FbDB2315678afecb367f032d93F642f64180aa3"), InvalidTicketError);
  assert.throws(() => ticketDomain(1.5, "0x5FbDB2315678afecb367f032d93F642f64180aa3"), InvalidTicketError);
  assert.throws(() => ticketDomain(1, "0x1234" as `0x${string}`), (e: unknown) => e instanceof InvalidTicketError && e.field === "domain.verifyingContract");
});

test("serializeTicket and parseTicket round-trip any ticket", () => {
  fc.assert(fc.property(ticketArb, (t) => {
    const wire = JSON.parse(JSON.stringify(serializeTicket(t)));
    assert.deepEqual(parseTicket(wire), { ...t, recipientRandHash: t.recipientRandHash.toLowerCase(), sessionId: t.sessionId.toLowerCase() });
  }), { numRuns: 200 });
});

test("parseTicket normalizes address case and bytes32 case", () => {
  const wire = { ...serializeTicket(sampleTicket()), recipient: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", sessionId: "0x" + "AB".repeat(32) };
  const t = parseTicket(wire);
  assert.equal(t.recipient, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  assert.equal(t.sessionId, "0x" + "ab".repeat(32));
});

function rejects(patch: Record<string, unknown>, field: string, reason?: RegExp) {
  const wire: Record<string, unknown> = { ...serializeTicket(sampleTicket()), ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete wire[k];
  assert.throws(() => parseTicket(wire), (e: unknown) => {
    assert.ok(e instanceof InvalidTicketError, String(e));
    assert.equal(e.field, field);
    if (reason) assert.match(e.reason, reason);
    return true;
  });
}

test("parseTicket rejects malformed fields, naming the field", () => {
  rejects({ faceValue: 5 }, "faceValue", /decimal string/);
  rejects({ faceValue: "-1" }, "faceValue");
  rejects({ faceValue: "01" }, "faceValue", /leading zero/);
  rejects({ faceValue: "1.5" }, "faceValue");
  rejects({ faceValue: "0x10" }, "faceValue");
  rejects({ faceValue: " 1" }, "faceValue");
  rejects({ winProb: (MAX_UINT256 + 1n).toString() }, "winProb", /maximum/);
  rejects({ expiry: (MAX_UINT64 + 1n).toString() }, "expiry", /maximum/);
  rejects({ cumulativeBytes: (MAX_UINT64 + 1n).toString() }, "cumulativeBytes");
  rejects({ senderNonce: "9".repeat(1000) }, "senderNonce");
  rejects({ sender: undefined }, "sender", /missing/);
  rejects({ sender: "0x1234" }, "sender");
  rejects({ recipient: "0x70997970C51812dc3A010C7d01b50e0d17dc79c8" }, "recipient", /checksum/);
  rejects({ sessionId: "0x" + "ab".repeat(31) }, "sessionId");
  rejects({ recipientRandHash: "0x" + "zz".repeat(32) }, "recipientRandHash");
  rejects({ extra: "1" }, "extra", /not a ticket field/);
  assert.throws(() => parseTicket(null), InvalidTicketError);
  // Inside a larger message the field is named under its path.
  assert.throws(() => parseTicket({ ...serializeTicket(sampleTicket()), faceValue: 5 }, "tickets[2].ticket"), (e: unknown) => e instanceof InvalidTicketError && e.field === "tickets[2].ticket.faceValue");
  assert.throws(() => parseTicket([], "tickets[2].ticket"), (e: unknown) => e instanceof InvalidTicketError && e.field === "tickets[2].ticket");
  assert.throws(() => parseTicket([]), InvalidTicketError);
  assert.throws(() => parseTicket("{}"), InvalidTicketError);
});

test("parseTicket accepts the uint bounds", () => {
  const t = parseTicket({ ...serializeTicket(sampleTicket()), faceValue: MAX_UINT256.toString(), expiry: MAX_UINT64.toString(), senderNonce: "0" });
  assert.equal(t.faceValue, MAX_UINT256);
  assert.equal(t.expiry, MAX_UINT64);
  assert.equal(t.senderNonce, 0n);
});
