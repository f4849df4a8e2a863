// A home node on a real chain: it asks the (fake, 127.0.0.1) router for a port forward through the
// real UPnP client, learns its public address from the mapping, has a peer dial it back, and
// reports the verdict in /status; stopping the node removes the mapping.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadNodeConfig } from "../../src/node/config.ts";
import { createDialbackApi } from "../../src/node/dialbackApi.ts";
import { createProviderNode } from "../../src/node/providerNode.ts";
import { startFakeUpnpGateway, type FakeUpnpGateway } from "../fixtures/fakeUpnpGateway.ts";
import { startWorld, type NodeWorld } from "./chainSetup.ts";

describe("port mapping and the reachability self-check in the node", () => {
  let w: NodeWorld;
  let gw: FakeUpnpGateway;
  let peer: Server;
  let peerUrl: string;
  before(async () => {
    [w, gw] = await Promise.all([startWorld({ size: 1n << 20n }), startFakeUpnpGateway({ externalIp: "127.0.0.1" })]);
    const api = createDialbackApi();
    peer = createServer((req, res) => void api.handle(req, res));
    await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
    peerUrl = `http://127.0.0.1:${(peer.address() as AddressInfo).port}`;
  });
  after(async () => {
    peer.closeAllConnections();
    await new Promise<void>((r) => peer.close(() => r()));
    await gw.stop();
    await w.close();
  });

  test("maps its port, is reached by a peer at the mapped address, says so in /status, unmaps on stop", async () => {
    const file = await w.writeConfig("mapped", {
      portMapping: { protocol: "upnp", gateway: gw.url, internalHost: "127.0.0.1" },
      reachability: { peers: [peerUrl] },
    });
    const config = await loadNodeConfig({ file });
    const clients = await w.net.clientsFor(w.provider);
    const lines: string[] = [];
    const node = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment, log: (l) => lines.push(l) });
    const url = await node.start();
    try {
      const port = Number(new URL(url).port);
      assert.equal(gw.mappings.get(port), `127.0.0.1:${port}`);
      const verdict = await node.checkReachability();
      assert.equal(verdict.state, "reachable", verdict.reason);
      assert.equal(verdict.endpoint, `http://127.0.0.1:${port}`); // not registered: the mapping's address
      const status = (await (await fetch(`${url}/status`)).json()) as { reachability: { state: string; endpoint: string; checkedAt: number } };
      assert.equal(status.reachability.state, "reachable");
      assert.equal(status.reachability.endpoint, `http://127.0.0.1:${port}`);
      assert.ok(status.reachability.checkedAt > 0);
    } finally {
      await node.stop();
    }
    assert.equal(gw.mappings.size, 0);
    assert.ok(lines.some((l) => /removed the port mapping/.test(l)));
  });

  test("a node whose router refuses the mapping keeps serving and says why it is not reachable", async () => {
    const file = await w.writeConfig("refused", {
      endpoint: "http://198.51.100.30:7070",
      portMapping: { protocol: "upnp", gateway: `${gw.url.replace("/rootDesc.xml", "")}/missing.xml`, internalHost: "127.0.0.1" },
      reachability: { peers: [peerUrl] },
    });
    const config = await loadNodeConfig({ file });
    const clients = await w.net.clientsFor(w.provider);
    const lines: string[] = [];
    const node = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment, log: (l) => lines.push(l) });
    const url = await node.start();
    try {
      assert.equal((await fetch(`${url}/offer`)).status, 200);
      const verdict = await node.checkReachability();
      assert.equal(verdict.state, "not-reachable");
      // The peer sees us at 127.0.0.1, not at the configured public address: told what to fix.
      assert.match(verdict.reason!, /come from 127\.0\.0\.1 but the endpoint says 198\.51\.100\.30/);
      assert.ok(lines.some((l) => /Port mapping: upnp request failed/.test(l)));
      assert.ok(lines.some((l) => /reachability: not-reachable/.test(l)));
    } finally {
      await node.stop();
    }
  });
});
