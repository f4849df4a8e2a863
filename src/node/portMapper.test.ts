import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startFakeUpnpGateway, type FakeUpnpGateway } from "../../test/fixtures/fakeUpnpGateway.ts";
import { createPortMapper, defaultGatewayFromRouteTable, PortMappingError } from "./portMapper.ts";

test("the default gateway is read from the kernel's route table", () => {
  const table = [
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
    "br-lan\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
    "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
  ].join("\n");
  assert.equal(defaultGatewayFromRouteTable(table), "192.168.1.1");
  assert.equal(defaultGatewayFromRouteTable(table.split("\n").slice(0, 2).join("\n")), undefined);
});

describe("UPnP port mapping against a gateway on 127.0.0.1 (the library's real client)", () => {
  let gw: FakeUpnpGateway;
  before(async () => {
    gw = await startFakeUpnpGateway({ externalIp: "198.51.100.20" });
  });
  after(async () => {
    await gw.stop();
  });

  test("maps the port, learns the public address, renews the lease while running and removes it on stop", async () => {
    const lines: string[] = [];
    // The client asks for at least a one-hour lease; renewing 300 ms after mapping stands in for "just before it ends".
    const mapper = createPortMapper({ protocol: "upnp", gateway: gw.url, internalHost: "127.0.0.1", internalPort: 17070, leaseSeconds: 3600, renewBeforeExpiryMs: 3_600_000 - 300, log: (l) => lines.push(l) });
    const m = await mapper.start();
    assert.deepEqual({ ...m, mappedAt: 0 }, { protocol: "upnp", gateway: gw.url, externalHost: "198.51.100.20", externalPort: 17070, internalHost: "127.0.0.1", internalPort: 17070, mappedAt: 0 });
    const add = gw.calls.find((c) => c.action === "AddAnyPortMapping")!;
    assert.deepEqual(
      { port: add.args.NewExternalPort, proto: add.args.NewProtocol, client: add.args.NewInternalClient, internal: add.args.NewInternalPort, lease: add.args.NewLeaseDuration },
      { port: "17070", proto: "TCP", client: "127.0.0.1", internal: "17070", lease: "3600" },
    );
    assert.equal(gw.mappings.get(17070), "127.0.0.1:17070");
    await sleep(1000);
    const adds = gw.calls.filter((c) => c.action === "AddAnyPortMapping").length;
    assert.ok(adds >= 3, `renewed: ${adds} AddAnyPortMapping calls in 1 s`);
    await mapper.stop();
    assert.equal(gw.mappings.size, 0);
    assert.ok(gw.calls.some((c) => c.action === "DeletePortMapping" && c.args.NewExternalPort === "17070"));
    assert.equal(mapper.current(), undefined);
    // Stopped means stopped: no renewal after it.
    const count = gw.calls.length;
    await sleep(700);
    assert.equal(gw.calls.length, count);
    assert.ok(lines.some((l) => /upnp port mapping 198\.51\.100\.20:17070 -> 127\.0\.0\.1:17070/.test(l)));
  });

  test("a gateway that does not answer is a PortMappingError saying what to do", async () => {
    const mapper = createPortMapper({ protocol: "upnp", gateway: "http://127.0.0.1:1/rootDesc.xml", internalHost: "127.0.0.1", internalPort: 7070, leaseSeconds: 3600 });
    await assert.rejects(mapper.start(), (e: PortMappingError) => e.name === "PortMappingError" && /forward the port by hand/.test(e.details ?? ""));
  });
});

describe("NAT-PMP port mapping against a responder on 127.0.0.1:5351 (the library's real client)", () => {
  test("maps, learns the public address, renews and removes the mapping", async () => {
    const { createSocket } = await import("node:dgram");
    const server = createSocket("udp4");
    const requests: { op: number; internal: number; external: number; lifetime: number }[] = [];
    server.on("message", (msg, rinfo) => {
      const op = msg.readUInt8(1);
      const reply = Buffer.alloc(op === 0 ? 12 : 16);
      reply.writeUInt8(128 + op, 1); // version 0, result 0 (success)
      reply.writeUInt32BE(1, 4); // seconds since the gateway started
      if (op === 0) Buffer.from([198, 51, 100, 21]).copy(reply, 8);
      else {
        const r = { op, internal: msg.readUInt16BE(4), external: msg.readUInt16BE(6), lifetime: msg.readUInt32BE(8) };
        requests.push(r);
        reply.writeUInt16BE(r.internal, 8);
        reply.writeUInt16BE(r.external, 10);
        reply.writeUInt32BE(r.lifetime, 12);
      }
      server.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).bind(5351, "127.0.0.1", () => resolve()));
    try {
      const mapper = createPortMapper({ protocol: "natpmp", gateway: "127.0.0.1", internalHost: "127.0.0.1", internalPort: 17071, leaseSeconds: 3600, renewBeforeExpiryMs: 3_600_000 - 300 });
      const m = await mapper.start();
      assert.deepEqual([m.externalHost, m.externalPort, m.gateway], ["198.51.100.21", 17071, "127.0.0.1"]);
      assert.deepEqual(requests[0], { op: 2, internal: 17071, external: 17071, lifetime: 3600 });
      await sleep(1000);
      const maps = requests.filter((r) => r.lifetime > 0).length;
      assert.ok(maps >= 3, `renewed: ${maps} mapping requests in 1 s`);
      await mapper.stop();
      // Removal is a mapping request with lifetime 0 (RFC 6886 §3.4).
      assert.deepEqual(requests.at(-1), { op: 2, internal: 17071, external: 17071, lifetime: 0 });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
