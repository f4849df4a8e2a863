// The consumer side of relay mode: the local proxy (`bandmint proxy`) over the relay pool and real
// relay sessions with provider nodes on 127.0.0.1, used the way curl and a browser use a proxy.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, connect as netConnect, type AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { devAccount, type DevAccount } from "../../src/chain/devAccounts.ts";
import { createLocalProxy, type LocalProxy } from "../../src/client/localProxy.ts";
import { openRelaySession } from "../../src/client/openRelaySession.ts";
import { createRelayPool, type RelayPool } from "../../src/client/relayPool.ts";
import { SERVICE_CDN, SERVICE_RELAY, type ProviderListing } from "../../src/market/providerListing.ts";
import { createProviderStats, type ProviderStats } from "../../src/market/providerStats.ts";
import { signSessionRequest } from "../../src/protocol/sessionRequest.ts";
import { signTicket } from "../../src/protocol/signTicket.ts";
import { blobSha256, startBlobServer, type BlobServer } from "../fixtures/blobServer.ts";
import { httpsViaProxy, httpViaProxy, requestOver, socks5Connect } from "../fixtures/proxyClients.ts";
import { testCertificate, tlsSkipReason, type TestCertificate } from "../fixtures/testCertificate.ts";
import { startHarness, type Harness } from "../node/harness.ts";

const TOKEN = 10n ** 18n;
const MiB = 1 << 20;

/** A consumer's relay pool and local proxy over `nodes` (listed on "chain" with their prices). */
/**
 * Fetches 3 MiB blobs (each verified) through the proxy until the pool has left `liar`, then one
 * more (which must go elsewhere). A claim surfaces only when the payer's next POST or read answers,
 * which happens behind the tunnel's bytes, so the count of fetches it takes is not fixed.
 */
async function fetchUntilLeft(c: { pool: RelayPool; http: string }, liar: Harness, origin: string) {
  const reportOf = () => c.pool.report().find((r) => r.provider === liar.provider.address)!;
  for (let i = 0; i < 6 && reportOf().state !== "bad"; i++) {
    assert.equal((await httpViaProxy(c.http, `${origin}/blob/${3 * MiB}`)).sha256, blobSha256(3 * MiB));
    for (let t = 0; t < 20 && reportOf().state !== "bad"; t++) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await httpViaProxy(c.http, `${origin}/blob/${3 * MiB}`)).sha256, blobSha256(3 * MiB));
  return reportOf();
}

async function consumerProxy(nodes: Harness[], consumer: DevAccount): Promise<{ pool: RelayPool; proxy: LocalProxy; stats: ProviderStats; http: string; socks: string; stop(): Promise<void> }> {
  const listings: ProviderListing[] = nodes.map((h) => ({
    provider: h.provider.address, endpoint: h.url, pricePerGiB: h.offer.pricePerGiB, capacityMbps: 100n, region: "", services: SERVICE_CDN | SERVICE_RELAY,
  }));
  const stats = createProviderStats();
  const domain = nodes[0]!.domain;
  const pool = createRelayPool({
    listings: async () => listings,
    stats,
    cooldownMs: 60_000,
    openSession: (listing, signal) =>
      openRelaySession({
        listing, chainId: 31337, broker: domain.verifyingContract, sender: consumer.address,
        sign: (ticket) => signTicket({ ticket, domain, privateKey: consumer.privateKey }),
        signSession: (message) => signSessionRequest({ message, domain, privateKey: consumer.privateKey }),
        signal,
      }),
  });
  const proxy = createLocalProxy({ pool });
  const { httpUrl, socksAddress } = await proxy.start({ port: 0, socksPort: 0 });
  return { pool, proxy, stats, http: httpUrl, socks: socksAddress!, stop: () => proxy.stop() };
}

const relaySessionsOf = (h: Harness) => [...h.sessions.all()].filter((s) => s.service === "relay");

describe("bandmint proxy: the consumer's local proxy over paid relays", { timeout: 180_000 }, () => {
  let dir: string;
  let cert: TestCertificate | undefined;
  let https: BlobServer | undefined;
  let http: BlobServer;
  let egress: { denyPorts: number[]; denyDestinations: string[]; testTargets: string[] };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bm-relayproxy-"));
    http = await startBlobServer();
    if (tlsSkipReason() === undefined) {
      cert = await testCertificate();
      https = await startBlobServer({ cert: cert.cert, key: await readFile(cert.keyPath, "utf8") });
    }
    egress = { denyPorts: [25], denyDestinations: [], testTargets: [http.host, ...(https ? [https.host] : [])] };
  });
  after(async () => {
    await http.stop();
    await https?.stop();
    await rm(dir, { recursive: true, force: true });
    if (cert) await rm(cert.dir, { recursive: true, force: true });
  });

  test("HTTPS (CONNECT), plain HTTP (absolute-form) and SOCKS5 through the proxy: the destination's bytes, both ways; every moved byte paid", async () => {
    const node = await startHarness(join(dir, "a"), {}, { relay: { egress } });
    const c = await consumerProxy([node], devAccount(30));
    try {
      if (https) {
        const down = await httpsViaProxy(c.http, "127.0.0.1", https.port, `/blob/${32 * MiB}`, { ca: cert!.cert });
        assert.equal(down.status, 200);
        assert.equal(down.sha256, blobSha256(32 * MiB));
        const upload = Buffer.alloc(16 * MiB, 3);
        const up = await httpsViaProxy(c.http, "127.0.0.1", https.port, "/echo", { ca: cert!.cert, method: "POST", body: upload });
        assert.deepEqual(JSON.parse(up.body.toString()), { length: upload.length, sha256: createHash("sha256").update(upload).digest("hex") });
      }
      const plain = await httpViaProxy(c.http, `${http.url}/blob/${3 * MiB}`);
      assert.equal(plain.sha256, blobSha256(3 * MiB));
      const socks = await socks5Connect(c.socks, "127.0.0.1", http.port);
      assert.equal(socks.reply, 0);
      const viaSocks = await requestOver(socks.socket, http.host, `/blob/${2 * MiB}`);
      assert.equal(viaSocks.sha256, blobSha256(2 * MiB));

      // Settle (what Ctrl-C does), then compare the two sides' books.
      await c.pool.settle();
      const [report] = c.pool.report();
      const [session] = relaySessionsOf(node);
      assert.ok(report && session);
      const window = node.offer.creditWindowBytes;
      // The consumer paid exactly what it saw move, and the node's meter agrees within one window.
      assert.equal(session.paidBytes, report.movedBytes, "paid = moved");
      const diff = session.servedBytes > report.movedBytes ? session.servedBytes - report.movedBytes : report.movedBytes - session.servedBytes;
      assert.ok(diff <= window, `node served ${session.servedBytes}, consumer moved ${report.movedBytes}`);
      assert.ok(report.movedBytes > BigInt(37 * MiB), `${report.movedBytes} bytes moved`);
      assert.ok(report.tickets >= 37);
    } finally {
      await c.stop();
      await node.stop();
    }
  });

  test("the SDK's tunnel into a function, a Writable that keeps its chunks and a socket: the same bytes (pooled read buffers go only where they are not kept)", async () => {
    const node = await startHarness(join(dir, "s"), {}, { relay: { egress } });
    const consumer = devAccount(32);
    const domain = node.domain;
    const session = await openRelaySession({
      listing: { provider: node.provider.address, endpoint: node.url, pricePerGiB: node.offer.pricePerGiB, capacityMbps: 100n, region: "", services: SERVICE_RELAY },
      chainId: 31337, broker: domain.verifyingContract, sender: consumer.address,
      sign: (ticket) => signTicket({ ticket, domain, privateKey: consumer.privateKey }),
      signSession: (message) => signSessionRequest({ message, domain, privateKey: consumer.privateKey }),
    });
    const size = 8 * MiB;
    /** One GET through a new tunnel, its answer piped into `into`; resolves with the answer's body. */
    const fetchInto = async (into: "function" | "keeping" | "socket"): Promise<Buffer> => {
      const tunnel = await session.connect("127.0.0.1", http.port);
      const parts: Buffer[] = [];
      let done: Promise<void>;
      if (into === "function") done = session.pipe(tunnel, (chunk) => void parts.push(Buffer.from(chunk)));
      else if (into === "keeping") done = session.pipe(tunnel, new Writable({ write: (chunk: Buffer, _e, cb) => (parts.push(chunk), cb()) }));
      else {
        // Into a socket: the far side of a loopback pair collects what arrives.
        const server = createServer((s) => s.on("data", (c: Buffer) => parts.push(c)));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const out = netConnect((server.address() as AddressInfo).port, "127.0.0.1");
        await new Promise((r) => out.once("connect", r));
        done = session.pipe(tunnel, out).then(() => new Promise<void>((r) => server.close(() => r())));
      }
      tunnel.write(`GET /blob/${size} HTTP/1.1\r\nHost: ${http.host}\r\nConnection: close\r\n\r\n`);
      await done;
      tunnel.destroy();
      const raw = Buffer.concat(parts);
      return raw.subarray(raw.indexOf("\r\n\r\n") + 4);
    };
    try {
      for (const into of ["function", "keeping", "socket"] as const) {
        const body = await fetchInto(into);
        assert.equal(body.length, size, into);
        assert.equal(createHash("sha256").update(body).digest("hex"), blobSha256(size), `${into}: the published bytes`);
      }
      await session.settle();
      assert.ok(session.payments().movedBytes >= BigInt(3 * size), "every byte that moved was counted");
    } finally {
      await node.stop();
    }
  });

  test("new connections fail over when a provider dies or refuses; a forbidden address is final", async () => {
    // Cheapest first: a (dies), then b (refuses the port), then c (serves).
    const a = await startHarness(join(dir, "fa"), { pricePerGiB: TOKEN / 2n }, { relay: { egress }, provider: devAccount(2) });
    const b = await startHarness(join(dir, "fb"), { pricePerGiB: TOKEN }, { relay: { egress: { ...egress, denyPorts: [25, http.port] } }, provider: devAccount(3) });
    const cNode = await startHarness(join(dir, "fc"), { pricePerGiB: 2n * TOKEN }, { relay: { egress }, provider: devAccount(4) });
    const c = await consumerProxy([a, b, cNode], devAccount(31));
    try {
      const first = await httpViaProxy(c.http, `${http.url}/blob/100000`);
      assert.equal(first.sha256, blobSha256(100_000));
      assert.equal(relaySessionsOf(a).length, 1, "the cheapest provider served first");
      await a.stop();
      const second = await httpViaProxy(c.http, `${http.url}/blob/200000`);
      assert.equal(second.status, 200);
      assert.equal(second.sha256, blobSha256(200_000));
      assert.equal(b.relay!.stats().refusals["port-denied"], 1, "b refused by its own policy");
      assert.ok(relaySessionsOf(cNode)[0]!.servedBytes >= 200_000n, "c served it");
      const states = new Map(c.pool.report().map((r) => [r.provider, r.state]));
      assert.equal(states.get(a.provider.address), "cooling");
      // A forbidden address is refused by every node: the proxy answers at once, asking no other.
      const before = cNode.relay!.stats().refusals["forbidden-address"] ?? 0;
      const forbidden = await httpViaProxy(c.http, `http://10.0.0.1/`);
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.headers["x-bandmint-refusal"], "forbidden-address");
      assert.match(JSON.parse(forbidden.body.toString()).message, /10\.0\.0\.1/);
      assert.equal((b.relay!.stats().refusals["forbidden-address"] ?? 0) + (cNode.relay!.stats().refusals["forbidden-address"] ?? 0) - before, 1);
      const socks = await socks5Connect(c.socks, "192.168.0.1", 80);
      assert.equal(socks.reply, 2, "SOCKS5 'connection not allowed by ruleset'");
      socks.socket.destroy();
    } finally {
      await c.stop();
      await b.stop();
      await cNode.stop();
    }
  });

  test("a relay that over-reports its bytes is not paid further and is left for another", async () => {
    const liar = await startHarness(join(dir, "la"), { pricePerGiB: TOKEN / 2n }, { relay: { egress }, provider: devAccount(2) });
    const honest = await startHarness(join(dir, "lb"), { pricePerGiB: TOKEN }, { relay: { egress }, provider: devAccount(3) });
    const c = await consumerProxy([liar, honest], devAccount(32));
    try {
      const first = await httpViaProxy(c.http, `${http.url}/blob/${2 * MiB}`);
      assert.equal(first.sha256, blobSha256(2 * MiB));
      // The node claims 100 MiB more than it carried.
      const [s] = relaySessionsOf(liar);
      s!.servedBytes += 100n << 20n;
      // The next payment round reads the claim (the POST answers carry servedBytes).
      const liarReport = await fetchUntilLeft(c, liar, http.url);
      assert.equal(liarReport.state, "bad");
      assert.match(liarReport.reason ?? "", /claims/);
      // It was never paid beyond what moved through its tunnels.
      assert.ok(s!.paidBytes <= liarReport.movedBytes, `${s!.paidBytes} paid, ${liarReport.movedBytes} moved`);
      assert.ok(relaySessionsOf(honest)[0]!.servedBytes > 0n, "the honest relay took over");
    } finally {
      await c.stop();
      await liar.stop();
      await honest.stop();
    }
  });

  test("a relay that claims more paid bytes than our tickets cover signs for nothing more and is left for another", async () => {
    const liar = await startHarness(join(dir, "pa"), { pricePerGiB: TOKEN / 2n }, { relay: { egress }, provider: devAccount(2) });
    const honest = await startHarness(join(dir, "pb"), { pricePerGiB: TOKEN }, { relay: { egress }, provider: devAccount(3) });
    const c = await consumerProxy([liar, honest], devAccount(33));
    try {
      assert.equal((await httpViaProxy(c.http, `${http.url}/blob/${2 * MiB}`)).sha256, blobSha256(2 * MiB));
      // The node claims 100 MiB more paid than any ticket of ours says (the way over-reporting is faked above).
      const [s] = relaySessionsOf(liar);
      s!.paidBytes += 100n << 20n;
      const signedBefore = liar.store.ticketsOfSession(s!.id).length;
      const liarReport = await fetchUntilLeft(c, liar, http.url);
      assert.equal(liarReport.state, "bad");
      assert.match(liarReport.reason ?? "", /claims paidBytes/);
      // Nothing beyond what moved: no ticket the node holds acknowledges more than our count.
      const held = liar.store.ticketsOfSession(s!.id);
      assert.ok(held.every((t) => t.ticket.cumulativeBytes <= liarReport.movedBytes), "no ticket acknowledges bytes that did not move");
      assert.ok(held.length <= signedBefore + 3, `${held.length - signedBefore} tickets after the claim`);
      assert.ok(relaySessionsOf(honest)[0]!.servedBytes > 0n, "the honest relay took over");
    } finally {
      await c.stop();
      await liar.stop();
      await honest.stop();
    }
  });
});
