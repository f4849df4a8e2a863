import { test } from "node:test";
import assert from "node:assert/strict";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { checkTicket, type CheckTicketOptions } from "./checkTicket.ts";
import {
  InvalidSignatureError,
  RecipientMismatchError,
  SignerMismatchError,
  TicketExpiredError,
  TicketExpiresTooSoonError,
  TicketTermsMismatchError,
} from "./errors.ts";
import { domainSeparatorBytes, hashTicket } from "./hashTicket.ts";
import { signTicket } from "./signTicket.ts";
import { sampleTicket, TEST_DOMAIN, TEST_KEY_0, TEST_KEY_1 } from "./testing/arbitraries.ts";

const sender = privateKeyToAccount(TEST_KEY_0).address;
const ticket = sampleTicket({ sender, expiry: 1000n });
const signature = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
const options: CheckTicketOptions = {
  domain: TEST_DOMAIN,
  now: 900n,
  expectedRecipient: ticket.recipient,
  faceValue: ticket.faceValue,
  winProb: ticket.winProb,
  sessionId: ticket.sessionId,
};

test("a good ticket passes and returns signer and digest", () => {
  assert.deepEqual(checkTicket(ticket, signature, options), { signer: sender, digest: hashTicket(ticket, TEST_DOMAIN) });
  assert.deepEqual(checkTicket(ticket, signature, { ...options, domain: domainSeparatorBytes(TEST_DOMAIN) }).signer, sender);
  // Optional terms omitted: not checked.
  assert.equal(checkTicket(ticket, signature, { domain: TEST_DOMAIN, now: 0n, expectedRecipient: ticket.recipient.toLowerCase() as Hex }).signer, sender);
});

test("expiry boundary: now == expiry passes, now == expiry + 1 fails", () => {
  assert.equal(checkTicket(ticket, signature, { ...options, now: 1000n }).signer, sender);
  assert.throws(() => checkTicket(ticket, signature, { ...options, now: 1001n }), (e: unknown) =>
    e instanceof TicketExpiredError && e.expiry === 1000n && e.now === 1001n);
});

test("minExpiry rejects tickets that expire too soon to redeem", () => {
  assert.equal(checkTicket(ticket, signature, { ...options, minExpiry: 1000n }).signer, sender);
  assert.throws(() => checkTicket(ticket, signature, { ...options, minExpiry: 1001n }), (e: unknown) =>
    e instanceof TicketExpiresTooSoonError && e.minExpiry === 1001n);
});

test("recipient and agreed terms are enforced", () => {
  assert.throws(() => checkTicket(ticket, signature, { ...options, expectedRecipient: sender }), RecipientMismatchError);
  assert.throws(() => checkTicket(ticket, signature, { ...options, faceValue: 1n }), (e: unknown) =>
    e instanceof TicketTermsMismatchError && e.field === "faceValue" && e.expected === 1n && e.actual === ticket.faceValue);
  assert.throws(() => checkTicket(ticket, signature, { ...options, winProb: 1n }), (e: unknown) => e instanceof TicketTermsMismatchError && e.field === "winProb");
  assert.throws(() => checkTicket(ticket, signature, { ...options, sessionId: `0x${"00".repeat(32)}` }), (e: unknown) => e instanceof TicketTermsMismatchError && e.field === "sessionId");
});

test("signature problems are reported as signature errors", async () => {
  const other = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_1 });
  assert.throws(() => checkTicket(ticket, other, options), SignerMismatchError);
  assert.throws(() => checkTicket({ ...ticket, cumulativeBytes: 1n }, signature, options), SignerMismatchError);
  assert.throws(() => checkTicket(ticket, `${signature.slice(0, 130)}00` as Hex, options), InvalidSignatureError);
  assert.throws(() => checkTicket(ticket, signature.slice(0, 130) as Hex, options), InvalidSignatureError);
});

test("cheap checks run before signature recovery", () => {
  // An expired ticket with a garbage signature reports the expiry, not the signature.
  assert.throws(() => checkTicket(ticket, "0x00", { ...options, now: 2000n }), TicketExpiredError);
});
