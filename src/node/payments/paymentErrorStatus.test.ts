import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { paymentErrorResponse, paymentErrorStatus } from "./paymentErrorStatus.ts";
import { TicketNonceError } from "./errors.ts";

test("the status table and docs/protocol/payments.md §4 agree", async () => {
  const doc = await readFile(new URL("../../../docs/protocol/payments.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## 4. Errors"), doc.indexOf("## 5."));
  const documented = new Map<string, number>();
  for (const m of section.matchAll(/^\| (.+?) \| (\d{3}) \|/gm)) {
    for (const name of m[1]!.matchAll(/`(\w+)`/g)) documented.set(name[1]!, Number(m[2]));
  }
  assert.deepEqual(Object.fromEntries([...documented].sort()), Object.fromEntries(Object.entries(paymentErrorStatus).sort()));
});

test("error responses carry name, message and details; unknown errors leak nothing", () => {
  const r = paymentErrorResponse(new TicketNonceError({ nonce: 3n, lastNonce: 4n, duplicate: false }));
  assert.equal(r.status, 409);
  assert.equal(r.body.error, "TicketNonceError");
  assert.equal(r.body.details?.nextNonce, "5");
  assert.deepEqual(paymentErrorResponse(new Error("secret path /etc")), { status: 500, body: { error: "InternalError", message: "Internal error." } });
});
