import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { freePort } from "../devnet/freePort.ts";
import { createDialbackApi, DIALBACK_PATH } from "./dialbackApi.ts";
import { createReachabilityCheck, judgeReachability, type DialbackResult, type ReachabilityFacts } from "./reachability.ts";

const ME = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const facts = (over: Partial<ReachabilityFacts>): ReachabilityFacts => ({ recipient: ME, endpoint: "http://203.0.113.7:7070", dialbacks: [], now: 1, ...over });
const peer = (over: Partial<DialbackResult>): DialbackResult => ({ peer: "http://peer", observedAddress: "203.0.113.7", reached: true, recipient: ME, ...over });

describe("judgeReachability", () => {
  test("a peer that reached us with our recipient: reachable", () => {
    const r = judgeReachability(facts({ dialbacks: [peer({}), peer({ reached: false, error: "ETIMEDOUT" })] }));
    assert.deepEqual(r, { state: "reachable", reason: "1 of 2 peer(s) reached http://203.0.113.7:7070", endpoint: "http://203.0.113.7:7070", checkedAt: 1 });
  });
  test("peers could not connect: not reachable, says to forward the port", () => {
    const r = judgeReachability(facts({ dialbacks: [peer({ reached: false, recipient: undefined, error: "ECONNREFUSED" })] }));
    assert.equal(r.state, "not-reachable");
    assert.match(r.reason!, /could not connect to 203\.0\.113\.7:7070 \(ECONNREFUSED\).*forward TCP port 7070/);
  });
  test("someone else answers at our address", () => {
    assert.match(judgeReachability(facts({ dialbacks: [peer({ recipient: OTHER })] })).reason!, /another server answered/);
  });
  test("peers see another public address than the endpoint", () => {
    const r = judgeReachability(facts({ dialbacks: [peer({ observedAddress: "198.51.100.9", reached: false, recipient: undefined })] }));
    assert.match(r.reason!, /come from 198\.51\.100\.9 but the endpoint says 203\.0\.113\.7/);
  });
  test("carrier-grade NAT and private router addresses: no port forward can help", () => {
    const r = judgeReachability(facts({ mapping: { externalHost: "100.72.1.1", externalPort: 7070 } }));
    assert.equal(r.state, "not-reachable");
    assert.match(r.reason!, /carrier-grade NAT.*100\.72\.1\.1.*ISP/);
    assert.match(judgeReachability(facts({ mapping: { externalHost: "192.168.0.2", externalPort: 7070 } })).reason!, /private address 192\.168\.0\.2/);
  });
  test("the router's mapping and the endpoint disagree: says which endpoint to register", () => {
    const r = judgeReachability(facts({ mapping: { externalHost: "198.51.100.20", externalPort: 7070 } }));
    assert.match(r.reason!, /set 'endpoint' to http:\/\/198\.51\.100\.20:7070.*bandmint node register/);
  });
  test("unusable and LAN endpoints", () => {
    assert.match(judgeReachability(facts({ endpoint: "http://0.0.0.0:7070" })).reason!, /listen-everywhere/);
    assert.match(judgeReachability(facts({ endpoint: undefined })).reason!, /no usable endpoint/);
    assert.match(judgeReachability(facts({ endpoint: "http://192.168.1.5:7070" })).reason!, /LAN address/);
  });
  test("no peer: the self-probe decides between reachable and unknown", () => {
    assert.equal(judgeReachability(facts({ selfProbe: { ok: true } })).state, "reachable");
    const r = judgeReachability(facts({ selfProbe: { ok: false, error: "ETIMEDOUT" } }));
    assert.equal(r.state, "unknown");
    assert.match(r.reason!, /no peer to ask.*ETIMEDOUT.*open http:\/\/203\.0\.113\.7:7070\/offer/);
  });
});

describe("dial-back between two servers on 127.0.0.1", () => {
  const servers: Server[] = [];
  let peerUrl: string;
  const serve = async (handler: Parameters<typeof createServer>[1]) => {
    const s = createServer(handler);
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };
  const offerServer = (recipient: string) => serve((req, res) => res.end(JSON.stringify({ recipient })));
  const check = (endpoint: string) =>
    createReachabilityCheck({ recipient: ME, endpoint: () => endpoint, peers: async () => [peerUrl], fetch, clock: { now: () => 42 }, log: () => {}, intervalMs: 60_000 }).checkNow();

  before(async () => {
    const api = createDialbackApi({ timeoutMs: 2_000 });
    peerUrl = await serve((req, res) => void api.handle(req, res).then((handled) => handled || (res.writeHead(404), res.end())));
  });
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  test("a node answering /offer with our recipient is reachable", async () => {
    const endpoint = await offerServer(ME);
    assert.deepEqual(await check(endpoint), { state: "reachable", reason: `1 of 1 peer(s) reached ${endpoint} (a loopback endpoint: only consumers on this machine)`, endpoint, checkedAt: 42 });
  });

  test("a closed port is not reachable, with the connection error", async () => {
    const r = await check(`http://127.0.0.1:${await freePort()}`);
    assert.equal(r.state, "not-reachable");
    assert.match(r.reason!, /ECONNREFUSED/);
  });

  test("another server on the port is found out", async () => {
    assert.match((await check(await offerServer(OTHER))).reason!, /another server answered there \(recipient 0x3C44/);
  });

  test("the peer dials the asker's own address, whatever host the request names, and refuses bad or excess requests", async () => {
    const target = await offerServer(ME);
    const port = Number(new URL(target).port);
    const post = (body: unknown) => fetch(`${peerUrl}${DIALBACK_PATH}`, { method: "POST", body: JSON.stringify(body) });
    const res = await post({ port, scheme: "http", host: "203.0.113.99" });
    assert.deepEqual(await res.json(), { observedAddress: "127.0.0.1", reached: true, recipient: ME });
    assert.equal((await post({ port: 70_000 })).status, 400);
    for (const notAnObject of [null, 7, "x", true]) assert.equal((await post(notAnObject)).status, 400, JSON.stringify(notAnObject));
    assert.equal((await post({ port, scheme: "gopher" })).status, 400);
    assert.equal((await fetch(`${peerUrl}${DIALBACK_PATH}`)).status, 405);
    // One dial per asking address at a time: a dial into a black hole holds the slot.
    const hole = createServer(() => {});
    servers.push(hole);
    await new Promise<void>((r) => hole.listen(0, "127.0.0.1", r));
    const slow = post({ port: (hole.address() as AddressInfo).port });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await post({ port })).status, 429);
    assert.match(((await (await slow).json()) as { error: string }).error, /no answer within 2 s/);
  });
});
