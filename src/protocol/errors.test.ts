import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BaseError,
  InvalidSignatureError,
  InvalidTicketError,
  SignerMismatchError,
  TicketExpiredError,
  TicketTermsMismatchError,
} from "./errors.ts";

test("BaseError carries shortMessage, details, metaMessages and cause", () => {
  const cause = new Error("boom");
  const error = new BaseError("Short.", { cause, metaMessages: ["line a"] });
  assert.equal(error.shortMessage, "Short.");
  assert.equal(error.details, "boom");
  assert.equal(error.cause, cause);
  assert.deepEqual(error.metaMessages, ["line a"]);
  assert.equal(error.message, "Short.\n\nline a\n\nDetails: boom");
  assert.equal(error.name, "BaseError");
  assert.ok(error instanceof Error);
  const wrapped = new BaseError("Outer.", { cause: new TicketExpiredError({ expiry: 1n, now: 2n }) });
  assert.equal(wrapped.details, "Ticket expired at 1 (now 2).");
});

test("subclasses have stable names and carry the values to act on", () => {
  const expired = new TicketExpiredError({ expiry: 10n, now: 11n });
  assert.equal(expired.name, "TicketExpiredError");
  assert.equal(expired.expiry, 10n);
  assert.equal(expired.now, 11n);
  assert.ok(expired instanceof BaseError);

  const mismatch = new SignerMismatchError({ expected: "0x0000000000000000000000000000000000000001", recovered: "0x0000000000000000000000000000000000000002" });
  assert.equal(mismatch.name, "SignerMismatchError");
  assert.equal(mismatch.recovered, "0x0000000000000000000000000000000000000002");
  assert.match(mismatch.message, /Recovered: 0x0+2/);

  const invalid = new InvalidTicketError({ field: "expiry", reason: "is missing" });
  assert.equal(invalid.field, "expiry");
  assert.equal(invalid.shortMessage, 'Invalid ticket: field "expiry" is missing.');

  assert.equal(new InvalidSignatureError({ signature: "0x", reason: "x" }).name, "InvalidSignatureError");
  assert.equal(new TicketTermsMismatchError({ field: "winProb", expected: 1n, actual: 2n }).name, "TicketTermsMismatchError");
});

test("verdicts on others' input carry no stack frames; other errors and wrapped causes keep theirs", () => {
  const frames = (e: Error) => (e.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l)).length;
  const before = Error.stackTraceLimit;
  const verdict = new SignerMismatchError({ expected: "0x0000000000000000000000000000000000000001", recovered: "0x0000000000000000000000000000000000000002" });
  assert.equal(frames(verdict), 0);
  assert.match(verdict.stack ?? "", /Ticket signer is not the ticket sender/);
  assert.equal(Error.stackTraceLimit, before, "the global limit is restored");
  const cause = new Error("disk");
  const ours = new BaseError("Something of ours broke.", { cause });
  assert.ok(frames(ours) > 0);
  assert.ok(frames(new InvalidTicketError({ field: "nonce", reason: "is bad", cause })) === 0);
  assert.ok(frames(cause) > 0, "a wrapped cause keeps its stack");
});
