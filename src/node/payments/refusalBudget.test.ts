import { test } from "node:test";
import assert from "node:assert/strict";
import { createRefusalBudget } from "./refusalBudget.ts";

const alice = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const bob = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";

test("a sender's refused requests: a burst, then 429 until the allowance comes back; the node's own failures and other senders are free", () => {
  const clock = { t: 1_000_000, now: () => clock.t };
  const budget = createRefusalBudget({ clock, burst: 3, perSecond: 0.5 });
  const refused = Object.assign(new Error("x"), { name: "SignerMismatchError" });
  for (let i = 0; i < 3; i++) {
    budget.assertAllowed(alice);
    budget.charge(alice, refused);
  }
  assert.throws(() => budget.assertAllowed(alice), (e: Error & { wireDetails?: unknown; retryAfterSeconds?: number }) =>
    e.name === "TooManyRefusalsError" && e.retryAfterSeconds === 2 && JSON.stringify(e.wireDetails) === JSON.stringify({ sender: alice, limit: "3", retryAfterSeconds: 2 }));
  budget.assertAllowed(bob);
  // 5xx (the node's fault) and errors the node does not name are not the client's: not counted.
  budget.charge(bob, Object.assign(new Error("x"), { name: "ChainUnavailableError" }));
  budget.charge(bob, new TypeError("boom"));
  budget.charge(bob, Object.assign(new Error("x"), { name: "TooManyRefusalsError" }));
  for (let i = 0; i < 2; i++) budget.charge(bob, refused);
  budget.assertAllowed(bob);
  // Half a refusal a second: alice may be heard again after 2 s, once.
  clock.t += 1_999;
  assert.throws(() => budget.assertAllowed(alice));
  clock.t += 1;
  budget.assertAllowed(alice);
  budget.charge(alice, refused);
  assert.throws(() => budget.assertAllowed(alice));
  // The allowance never grows past the burst.
  clock.t += 3_600_000;
  for (let i = 0; i < 3; i++) budget.charge(alice, refused);
  assert.throws(() => budget.assertAllowed(alice));
});
