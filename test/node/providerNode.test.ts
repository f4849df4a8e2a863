import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { loadNodeConfig } from "../../src/node/config.ts";
import { createProviderNode } from "../../src/node/providerNode.ts";
import { registerProvider } from "../../src/node/registerProvider.ts";
import { MAX_WIN_PROB, ticketDomain } from "../../src/protocol/ticket.ts";
import { MAX_REQUEST_BODY_BYTES, MAX_REQUEST_HEAD_BYTES, parseSession } from "../../src/protocol/wire.ts";
import { getSession, makeTicket, openSession, payingDownload, postTickets } from "./harness.ts";
import { MiB, startWorld, TOKEN, type NodeWorld } from "./chainSetup.ts";

describe("provider node on a real chain", () => {
  let w: NodeWorld;
  before(async () => {
    w = await startWorld({ size: 8n * MiB });
  });
  after(async () => {
    await w.close();
  });

  test("registers, sells bytes for tickets, redeems certain winners for exactly face minus burn and treasury", async () => {
    const config = await loadNodeConfig({ file: await w.writeConfig("n1") });
    const clients = await w.net.clientsFor(w.provider);
    const listing = { endpoint: "http://127.0.0.1:7070", pricePerGiB: config.pricePerGiB, capacityMbps: 100, region: "eu", services: ["cdn" as const] };
    const reg = await registerProvider({ publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment, listing });
    assert.equal(reg.action, "registered");
    assert.equal((await registerProvider({ publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment, listing })).action, "unchanged");

    const node = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment });
    const url = await node.start();
    try {
      const offer = (await (await fetch(`${url}/offer`)).json()) as Record<string, string>;
      assert.equal(offer.winProb, MAX_WIN_PROB.toString());
      const face = BigInt(offer.faceValue!);
      assert.equal(face, TOKEN / 1024n); // 1 BAND per GiB, 1 MiB per ticket
      const session = await openSession(url, w.consumer);
      const domain = ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker);
      const { bytes, tickets } = await payingDownload({ url, session, path: `/c/${w.contentId}/data.bin`, mibs: 6, key: w.consumer.privateKey, domain });
      assert.ok(bytes.equals(w.data.subarray(0, 6 * Number(MiB))));
      assert.equal(tickets.length, 6);
      assert.equal(node.store.winnersInState("pending").length, 6);

      const before = await w.tokenBalance(w.provider.address);
      const round = await node.redeemNow();
      assert.equal(round.submitted.length, 1, JSON.stringify(round));
      assert.equal(round.confirmed, 6);
      const gained = (await w.tokenBalance(w.provider.address)) - before;
      const { burnBps, treasuryBps } = w.net.deployment.params;
      const perTicket = face - (face * BigInt(burnBps)) / 10_000n - (face * BigInt(treasuryBps)) / 10_000n;
      assert.equal(gained, 6n * perTicket);
      // A session that was never used counts as one and adds nothing to the totals.
      await openSession(url, w.consumer);
      const status = node.status();
      assert.deepEqual([status.sessions, status.servedBytes, status.paidBytes], [2, (6n * MiB).toString(), (6n * MiB).toString()]);
      assert.equal(status.earnings.gross, (6n * face).toString());
      assert.equal(status.earnings.net, gained.toString());
      assert.equal(status.redeemed.tickets, 6);
      // A second round has nothing left to do: no double redemption.
      const again = await node.redeemNow();
      assert.deepEqual([again.submitted.length, again.confirmed], [0, 0]);

      // The redemption revealed the session's rand: the node committed to a new one.
      const fresh = parseSession(await (await getSession(url, session.sessionId, session)).json());
      assert.notEqual(fresh.recipientRandHash, session.recipientRandHash);
      const stale = await makeTicket(session, w.consumer.privateKey, domain, { nonce: fresh.nextNonce, cumulativeBytes: 6n * MiB + 1n });
      const res = await postTickets(url, session, [stale]);
      assert.equal(res.status, 409);
      assert.equal(((await res.json()) as { error: string }).error, "StaleRecipientRandError");
    } finally {
      await node.stop();
    }
  });

  test("the node's own server answers its refusals with JSON: 413 body, 431 head (its 16 KiB limit), 400 unparsable", async () => {
    const config = await loadNodeConfig({ file: await w.writeConfig("limits") });
    const clients = await w.net.clientsFor(w.provider);
    const node = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment });
    const url = await node.start();
    try {
      const big = await fetch(`${url}/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: " ".repeat(MAX_REQUEST_BODY_BYTES + 1) });
      assert.equal(big.status, 413);
      assert.equal(((await big.json()) as { error: string }).error, "RequestBodyTooLargeError");
      const head = await fetch(`${url}/offer`, { headers: { "x-pad": "a".repeat(MAX_REQUEST_HEAD_BYTES) } });
      assert.equal(head.status, 431);
      assert.equal(head.headers.get("content-type"), "application/json");
      assert.deepEqual(await head.json(), { error: "RequestHeadersTooLargeError", message: "Request head too large (request line and headers).", details: { limit: String(MAX_REQUEST_HEAD_BYTES) } });
      const fits = await fetch(`${url}/offer`, { headers: { "x-pad": "a".repeat(MAX_REQUEST_HEAD_BYTES - 1024) } });
      assert.equal(fits.status, 200);
      await fits.arrayBuffer();
      const { hostname, port } = new URL(url);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: hostname, port: Number(port) }, () => socket.write("GET /offer HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n"));
        const parts: Buffer[] = [];
        socket.on("data", (d: Buffer) => parts.push(d));
        socket.on("error", reject);
        socket.on("close", () => resolve(Buffer.concat(parts).toString()));
      });
      assert.match(raw, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.equal((JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as { error: string }).error, "MalformedRequestError");
    } finally {
      await node.stop();
    }
  });
});
