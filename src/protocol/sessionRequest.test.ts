import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { hashTypedData, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { domainSeparatorBytes } from "./hashTicket.ts";
import {
  hashSessionRequest,
  sessionRequestTypedData,
  signSessionRequest,
  verifySessionRequest,
  type SessionRequestMessage,
} from "./sessionRequest.ts";
import { ticketDomain } from "./ticket.ts";
import { address, TEST_DOMAIN } from "./testing/arbitraries.ts";

const KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const OTHER: Hex = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const sender = privateKeyToAccount(KEY).address;
const recipient: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const now = 1_764_254_400n;
const message: SessionRequestMessage = { sender, recipient, timestamp: now, clientNonce: `0x${"11".repeat(32)}` };

test("the direct digest equals viem's hashTypedData (property)", () => {
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
  fc.assert(
    fc.property(address, address, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), bytes32, (s, r, timestamp, clientNonce) => {
      const m = { sender: s, recipient: r, timestamp, clientNonce };
      assert.equal(hashSessionRequest(m, TEST_DOMAIN), hashTypedData(sessionRequestTypedData(m, TEST_DOMAIN)));
      assert.equal(hashSessionRequest(m, domainSeparatorBytes(TEST_DOMAIN)), hashSessionRequest(m, TEST_DOMAIN));
    }),
  );
});

test("a viem account's signTypedData (any wallet) verifies; the digest comes back as the replay key", async () => {
  const signature = await privateKeyToAccount(KEY).signTypedData(sessionRequestTypedData(message, TEST_DOMAIN));
  const digest = verifySessionRequest({ ...message, signature }, { domain: TEST_DOMAIN, recipient, nowSeconds: now });
  assert.equal(digest, hashSessionRequest(message, TEST_DOMAIN));
});

test("refuses a request signed by another key, for another provider, chain or broker", async () => {
  const opts = { domain: TEST_DOMAIN, recipient, nowSeconds: now };
  const nameOf = (f: () => unknown) => {
    try {
      f();
      return "ok";
    } catch (e) {
      return (e as Error).name;
    }
  };
  const forged = await signSessionRequest({ message, domain: TEST_DOMAIN, privateKey: OTHER });
  assert.equal(nameOf(() => verifySessionRequest({ ...message, signature: forged }, opts)), "SessionRequestSignerError");
  const otherProvider = await signSessionRequest({ message: { ...message, recipient: sender }, domain: TEST_DOMAIN, privateKey: KEY });
  assert.equal(nameOf(() => verifySessionRequest({ ...message, signature: otherProvider }, opts)), "SessionRequestSignerError");
  const otherChain = await signSessionRequest({ message, domain: ticketDomain(1n, TEST_DOMAIN.verifyingContract), privateKey: KEY });
  assert.equal(nameOf(() => verifySessionRequest({ ...message, signature: otherChain }, opts)), "SessionRequestSignerError");
  const good = await signSessionRequest({ message, domain: TEST_DOMAIN, privateKey: KEY });
  assert.equal(nameOf(() => verifySessionRequest({ ...message, signature: good }, opts)), "ok");
  // A tampered nonce or timestamp changes the digest: the signature no longer recovers to the sender.
  assert.equal(nameOf(() => verifySessionRequest({ ...message, clientNonce: `0x${"22".repeat(32)}`, signature: good }, opts)), "SessionRequestSignerError");
  // Non-canonical (v = 0) signatures are refused like tickets'.
  const v0 = `${good.slice(0, 130)}00` as Hex;
  assert.equal(nameOf(() => verifySessionRequest({ ...message, signature: v0 }, opts)), "InvalidSignatureError");
});

test("refuses stale and future timestamps; accepts the edges of the window", async () => {
  const signature = await signSessionRequest({ message, domain: TEST_DOMAIN, privateKey: KEY });
  const at = (nowSeconds: bigint) => {
    try {
      verifySessionRequest({ ...message, signature }, { domain: TEST_DOMAIN, recipient, nowSeconds });
      return "ok";
    } catch (e) {
      return (e as Error).name;
    }
  };
  assert.equal(at(now + 300n), "ok");
  assert.equal(at(now + 301n), "StaleSessionRequestError");
  assert.equal(at(now - 60n), "ok");
  assert.equal(at(now - 61n), "StaleSessionRequestError");
});
