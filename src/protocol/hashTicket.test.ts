import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { hashDomain, hashStruct, hashTypedData, type Hex } from "viem";
import { InvalidTicketError } from "./errors.ts";
import {
  TICKET_TYPEHASH,
  domainSeparator,
  domainSeparatorBytes,
  hashTicket,
  hashTicketWithSeparator,
  ticketStructHash,
} from "./hashTicket.ts";
import { ticketDomain, ticketTypes, type Ticket, TICKET_TYPE_STRING } from "./ticket.ts";
import { address, sampleTicket, ticket as ticketArb, TEST_DOMAIN } from "./testing/arbitraries.ts";
import { keccak256, stringToBytes } from "viem";

const EIP712_DOMAIN_TYPES = {
  EIP712Domain: [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "chainId", type: "uint256" },
    { name: "verifyingContract", type: "address" },
  ],
} as const;

const domainArb = fc.record({ chainId: fc.bigInt({ min: 1n, max: 2n ** 256n - 1n }), broker: address }).map(({ chainId, broker }) => ticketDomain(chainId, broker));

test("TICKET_TYPEHASH is keccak256 of the type string", () => {
  assert.equal(TICKET_TYPEHASH, keccak256(stringToBytes(TICKET_TYPE_STRING)));
});

test("direct encoder equals viem's hashStruct, hashDomain and hashTypedData (property)", () => {
  fc.assert(fc.property(ticketArb, domainArb, (t, domain) => {
    assert.equal(ticketStructHash(t), hashStruct({ data: t, primaryType: "Ticket", types: ticketTypes }));
    assert.equal(domainSeparator(domain), hashDomain({ domain, types: EIP712_DOMAIN_TYPES }));
    const digest = hashTypedData({ domain, types: ticketTypes, primaryType: "Ticket", message: t });
    assert.equal(hashTicket(t, domain), digest);
    assert.equal(hashTicketWithSeparator(t, domainSeparator(domain)), digest);
    assert.equal(hashTicketWithSeparator(t, domainSeparatorBytes(domain)), digest);
  }), { numRuns: 300 });
});

test("direct encoder accepts lowercase and uppercase hex like viem", () => {
  const t = sampleTicket({ recipient: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", sessionId: ("0x" + "AB".repeat(32)) as Hex });
  assert.equal(hashTicket(t, TEST_DOMAIN), hashTypedData({ domain: TEST_DOMAIN, types: ticketTypes, primaryType: "Ticket", message: t }));
});

test("every field changes the digest", () => {
  const base = sampleTicket();
  const baseDigest = hashTicket(base, TEST_DOMAIN);
  const changes: Partial<Ticket>[] = [
    { recipient: "0x0000000000000000000000000000000000000001" },
    { sender: "0x0000000000000000000000000000000000000001" },
    { faceValue: base.faceValue + 1n },
    { winProb: base.winProb + 1n },
    { senderNonce: base.senderNonce + 1n },
    { recipientRandHash: ("0x" + "12".repeat(32)) as Hex },
    { expiry: base.expiry + 1n },
    { sessionId: ("0x" + "ac".repeat(32)) as Hex },
    { cumulativeBytes: base.cumulativeBytes + 1n },
  ];
  for (const change of changes) assert.notEqual(hashTicket({ ...base, ...change }, TEST_DOMAIN), baseDigest, JSON.stringify(Object.keys(change)));
  assert.notEqual(hashTicket(base, ticketDomain(1n, TEST_DOMAIN.verifyingContract)), baseDigest);
});

test("out-of-range or malformed fields throw instead of truncating", () => {
  const bad: [Partial<Ticket>, string][] = [
    [{ expiry: 2n ** 64n }, "expiry"],
    [{ cumulativeBytes: -1n }, "cumulativeBytes"],
    [{ faceValue: 2n ** 256n }, "faceValue"],
    [{ winProb: -1n }, "winProb"],
    [{ senderNonce: 2n ** 256n }, "senderNonce"],
    [{ recipient: "0x1234" }, "recipient"],
    [{ sender: ("0x" + "g".repeat(40)) as Hex }, "sender"],
    [{ sessionId: "0x12" }, "sessionId"],
    [{ recipientRandHash: ("0x" + "é".repeat(64)) as Hex }, "recipientRandHash"],
  ];
  for (const [patch, field] of bad) {
    assert.throws(() => hashTicket(sampleTicket(patch), TEST_DOMAIN), (e: unknown) => e instanceof InvalidTicketError && e.field === field, field);
  }
  assert.throws(() => hashTicketWithSeparator(sampleTicket(), "0x12"), InvalidTicketError);
  assert.throws(() => hashTicketWithSeparator(sampleTicket(), new Uint8Array(31)), InvalidTicketError);
});
