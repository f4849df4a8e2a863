import { test } from "node:test";
import assert from "node:assert/strict";
import { paymentErrorResponse } from "./paymentErrorStatus.ts";
import { StorageFullError, TicketNonceError } from "./errors.ts";

test("error responses carry name, message and details; unknown errors leak nothing", () => {
  const r = paymentErrorResponse(new TicketNonceError({ nonce: 3n, lastNonce: 4n, duplicate: false }));
  assert.equal(r.status, 409);
  assert.equal(r.body.error, "TicketNonceError");
  assert.equal(r.body.details?.nextNonce, "5");
  assert.deepEqual(paymentErrorResponse(new Error("secret path /etc")), { status: 500, body: { error: "InternalError", message: "Internal error." } });
});

test("refusals carry no stack frames (they are answers, not bugs); a full disk, the node's own trouble, keeps its stack", () => {
  const frames = (e: Error) => (e.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l)).length;
  assert.equal(frames(new TicketNonceError({ nonce: 3n, lastNonce: 4n, duplicate: false })), 0);
  assert.ok(frames(new StorageFullError({ cause: new Error("SQLITE_FULL") })) > 0);
});
