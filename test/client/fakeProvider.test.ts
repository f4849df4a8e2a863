// The fake provider must be as strict as the node about sessions (payments.md §1.2), or client
// tests against it would pass for a client the real node refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signSessionRequest } from "../../src/protocol/sessionRequest.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import { parseOpenedSession, serializeSessionRequest } from "../../src/protocol/wire.ts";
import { startFakeProvider } from "./fakeProvider.ts";
import { BROKER, CHAIN_ID, KEYS, PRICE, makeContent } from "./harness.ts";

test("the fake provider verifies signed session requests and requires the session token", async (t) => {
  const content = await makeContent();
  const fp = await startFakeProvider({
    privateKey: KEYS.providerA, chainId: CHAIN_ID, broker: BROKER, pricePerGiB: PRICE, bytesPerTicket: 16_384n, creditWindowBytes: 65_536n,
    content: new Map([[content.manifest.contentId, content]]),
  });
  t.after(() => fp.stop());
  const consumer = privateKeyToAccount(KEYS.consumer);
  const domain = ticketDomain(CHAIN_ID, BROKER);
  const request = async (key: `0x${string}`) => {
    const message = { sender: consumer.address, recipient: fp.address, timestamp: BigInt(Math.floor(Date.now() / 1000)), clientNonce: toHex(randomBytes(32)) };
    const signature = await signSessionRequest({ message, domain, privateKey: key });
    return serializeSessionRequest({ sender: consumer.address, timestamp: message.timestamp, clientNonce: message.clientNonce, signature });
  };
  const post = (body: unknown) => fetch(`${fp.url}/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  assert.equal((await post({ sender: consumer.address })).status, 401);
  assert.equal((await post(await request(KEYS.publisher))).status, 401);
  assert.deepEqual(fp.refusedSessionRequests, ["UnsignedSessionRequestError", "SessionRequestSignerError"]);
  const good = await request(KEYS.consumer);
  const res = await post(good);
  assert.equal(res.status, 201);
  assert.equal((await post(good)).status, 409, "a replayed request opens nothing");
  const s = parseOpenedSession(await res.json());

  const file = `${fp.url}/c/${content.manifest.contentId}/index.m3u8`;
  const get = (session?: string) => fetch(file, { headers: { range: "bytes=0-9", ...(session ? { "x-bandmint-session": session } : {}) } });
  assert.equal((await get()).status, 402);
  assert.equal((await get(s.sessionId)).status, 401, "the public id is not a token");
  const ok = await get(s.sessionToken);
  assert.equal(ok.status, 206);
  await ok.arrayBuffer();
  assert.equal((await fetch(`${fp.url}/sessions/${s.sessionId}`, { headers: { "x-bandmint-session": s.sessionId } })).status, 401);
  assert.equal((await fetch(`${fp.url}/sessions/${s.sessionId}`, { headers: { "x-bandmint-session": s.sessionToken } })).status, 200);
});
