import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createSessionToken, hashSessionToken, sessionTokenMatches } from "./sessionToken.ts";

test("a session token is 32 fresh random bytes; the node keeps sha256 of those bytes", () => {
  const a = createSessionToken();
  const b = createSessionToken();
  assert.match(a.token, /^0x[0-9a-f]{64}$/);
  assert.notEqual(a.token, b.token);
  assert.equal(a.hash, `0x${createHash("sha256").update(Buffer.from(a.token.slice(2), "hex")).digest("hex")}`);
  assert.notEqual(a.hash, a.token);
  // Case does not matter: it hashes the bytes, not the text.
  assert.equal(hashSessionToken(a.token.toUpperCase().replace("0X", "0x") as `0x${string}`), a.hash);
});

test("sessionTokenMatches accepts the token and nothing else", () => {
  const { token, hash } = createSessionToken();
  assert.equal(sessionTokenMatches(hash, token), true);
  assert.equal(sessionTokenMatches(hash, createSessionToken().token), false);
  // The hash itself is not a token (a stolen database gives no live token).
  assert.equal(sessionTokenMatches(hash, hash), false);
  const flipped = `${token.slice(0, -1)}${token.endsWith("0") ? "1" : "0"}` as `0x${string}`;
  assert.equal(sessionTokenMatches(hash, flipped), false);
});
