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
