// The relay on the node (docs/protocol/relay.md), driven over real sockets on 127.0.0.1: a paid
// relay session's token in Proxy-Authorization, CONNECT tunnels and absolute-form requests to
// local HTTP and HTTPS servers (allowed by name as test targets), tickets on the usual endpoint.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { blobSha256, startBlobServer, type BlobServer } from "../fixtures/blobServer.ts";
import { connectThrough, httpViaProxy, requestOver } from "../fixtures/proxyClients.ts";
import { testCertificate, tlsSkipReason, type TestCertificate } from "../fixtures/testCertificate.ts";
import { makeTicket, MiB, openSession, postTickets, startHarness, type Harness } from "./harness.ts";
import type { OpenedSession } from "../../src/protocol/wire.ts";
import { devAccount, type DevAccount } from "../../src/chain/devAccounts.ts";
import { SESSION_IDLE_MS } from "../../src/node/payments/sessionBook.ts";

// The credit window is per sender across its sessions: each test pays as its own consumer, so one
// test's unpaid bytes never hold another's window.
let nextConsumer = 20;
const freshConsumer = (): DevAccount => devAccount(nextConsumer++);

const bearer = (s: OpenedSession) => ({ "Proxy-Authorization": `Bearer ${s.sessionToken}` });
const basic = (s: OpenedSession) => ({ "Proxy-Authorization": `Basic ${Buffer.from(`bandmint:${s.sessionToken}`).toString("base64")}` });

/** Reads from a tunnel until `n` bytes came or nothing came for `quietMs`; resolves with the count. */
function readUntilQuiet(socket: Socket, quietMs: number, onBytes?: (total: number) => void): Promise<{ bytes: number; closed: boolean; lastByteAt: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let lastByteAt = Date.now();
    let timer = setTimeout(() => finish(false), quietMs);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.off("data", onData);
      resolve({ bytes, closed, lastByteAt });
    };
    const onData = (c: Buffer) => {
      bytes += c.length;
      lastByteAt = Date.now();
      onBytes?.(bytes);
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), quietMs);
    };
    socket.on("data", onData);
    socket.once("close", () => finish(true));
    socket.resume();
  });
}

describe("relay on the node", { timeout: 120_000 }, () => {
  let dir: string;
  let cert: TestCertificate | undefined;
  let http: BlobServer;
  let https: BlobServer | undefined;
  let h: Harness;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bm-relay-"));
    http = await startBlobServer();
    if (tlsSkipReason() === undefined) {
      cert = await testCertificate();
      const { readFile } = await import("node:fs/promises");
      https = await startBlobServer({ cert: cert.cert, key: await readFile(cert.keyPath, "utf8") });
    }
    const testTargets = [http.host, `localhost:${http.port}`, ...(https ? [https.host] : [])];
    h = await startHarness(dir, {}, { relay: { egress: { denyPorts: [25], denyDestinations: [], testTargets }, options: { unpaidGraceMs: 1_500, idleTimeoutMs: 60_000 } } });
  });
  after(async () => {
    await h.stop();
    await http.stop();
    await https?.stop();
    await rm(dir, { recursive: true, force: true });
    if (cert) await rm(cert.dir, { recursive: true, force: true });
  });

  test("a relay session is opened with service relay; the offer lists relay", async () => {
    assert.deepEqual(h.offer.services, ["cdn", "relay"]);
    const s = await openSession(h.url, h.consumer, "relay");
    assert.equal(s.service, "relay");
    const cdn = await openSession(h.url, h.consumer);
    assert.equal(cdn.service, "cdn");
  });

  test("CONNECT without credentials is 407 with Proxy-Authenticate; a wrong token too; a cdn session's token is 409", async () => {
    const none = await connectThrough(h.url.slice(7), http.host);
    assert.equal(none.status, 407);
    assert.match(none.headers["proxy-authenticate"] ?? "", /^Basic realm="bandmint"/);
    assert.equal(JSON.parse(none.body.toString()).error, "ProxyAuthError");
    assert.equal(none.headers["x-bandmint-refusal"], "auth-required");
    const wrong = await connectThrough(h.url.slice(7), http.host, { "Proxy-Authorization": `Bearer 0x${"ab".repeat(32)}` });
    assert.equal(wrong.status, 407);
    assert.equal(wrong.headers["x-bandmint-refusal"], "auth-invalid");
    const garbage = await connectThrough(h.url.slice(7), http.host, { "Proxy-Authorization": "Basic !!!" });
    assert.equal(garbage.status, 407);
    const cdn = await openSession(h.url, h.consumer);
    const mismatch = await connectThrough(h.url.slice(7), http.host, bearer(cdn));
    assert.equal(mismatch.status, 409);
    assert.equal(JSON.parse(mismatch.body.toString()).error, "SessionServiceMismatchError");
    // And the other way round: a relay session cannot fetch content.
    const relay = await openSession(h.url, h.consumer, "relay");
    const content = await fetch(`${h.url}/c/c/f`, { headers: { range: "bytes=0-9", "x-bandmint-session": relay.sessionToken } });
    assert.equal(content.status, 409);
    for (const s of [none, wrong, garbage, mismatch]) s.socket.destroy();
  });

  test("plain HTTP through CONNECT and absolute-form: the bytes are the destination's, both ways", async () => {
    const s = await openSession(h.url, freshConsumer(), "relay");
    const t = await connectThrough(h.url.slice(7), http.host, basic(s));
    assert.equal(t.status, 200);
    const got = await requestOver(t.socket, http.host, "/blob/1000000");
    assert.equal(got.status, 200);
    assert.equal(got.sha256, blobSha256(1_000_000));
    // Absolute-form: the node forwards GET http://... itself (what `curl -x` does for http URLs).
    const abs = await httpViaProxy(h.url, `${http.url}/blob/300000`, { headers: bearer(s) });
    assert.equal(abs.status, 200);
    assert.equal(abs.sha256, blobSha256(300_000));
    const upload = Buffer.alloc(200_000, 9);
    const echo = await httpViaProxy(h.url, `${http.url}/echo`, { method: "POST", body: upload, headers: bearer(s) });
    assert.deepEqual(JSON.parse(echo.body.toString()), { length: upload.length, sha256: createHash("sha256").update(upload).digest("hex") });
  });

  test("HTTPS through CONNECT: TLS stays end to end (the node sees only ciphertext)", { skip: tlsSkipReason() }, async () => {
    const s = await openSession(h.url, freshConsumer(), "relay");
    const t = await connectThrough(h.url.slice(7), https!.host, bearer(s));
    assert.equal(t.status, 200);
    const tls = tlsConnect({ socket: t.socket, ca: cert!.cert, host: "127.0.0.1" });
    t.socket.resume();
    await new Promise<void>((resolve, reject) => tls.once("secureConnect", resolve).once("error", reject));
    const got = await requestOver(tls as unknown as Socket, https!.host, "/blob/2000000");
    assert.equal(got.sha256, blobSha256(2_000_000));
  });

  test("a tunnel stops at the credit window, resumes when a ticket arrives, and is closed after the grace time without one", async () => {
    const consumer = freshConsumer();
    const s = await openSession(h.url, consumer, "relay");
    const waitsBefore = h.relay!.stats().creditWaits;
    const t = await connectThrough(h.url.slice(7), http.host, bearer(s));
    assert.equal(t.status, 200);
    t.socket.write(`GET /blob/${16 * 1024 * 1024} HTTP/1.1\r\nHost: ${http.host}\r\n\r\n`);
    const first = await readUntilQuiet(t.socket, 400);
    const window = Number(h.offer.creditWindowBytes);
    // The request line went up metered too: what came down is at most the window minus that.
    assert.ok(first.bytes > window - 100_000 && first.bytes <= window, `${first.bytes} bytes before the stall, window ${window}`);
    // Pay what moved (1 MiB tickets): the tunnel resumes.
    let nonce = s.nextNonce;
    const up = 63 + http.host.length; // "GET /blob/... HTTP/1.1\r\nHost: ...\r\n\r\n"
    const paid = Math.floor((first.bytes + up) / Number(MiB)) * Number(MiB);
    const tickets = [];
    for (let b = Number(MiB); b <= paid; b += Number(MiB)) tickets.push(await makeTicket(s, consumer.privateKey, h.domain, { nonce: nonce++, cumulativeBytes: BigInt(b) }));
    const res = await postTickets(h.url, s, tickets);
    assert.equal(res.status, 200, await res.clone().text());
    const second = await readUntilQuiet(t.socket, 400);
    assert.ok(second.bytes > 0, "the tunnel resumed after the ticket");
    // /status counts the stop: at least the 400 ms of quiet before we paid.
    const waits = h.relay!.stats().creditWaits;
    assert.ok(waits.count >= waitsBefore.count + 1 && waits.ms - waitsBefore.ms >= 300, JSON.stringify({ waitsBefore, waits }));
    // Now stop paying: the node closes the tunnel after the grace time (1.5 s here), counted from
    // the stall, which began about when the last byte arrived (a loaded box delays that byte, so
    // the bound is loose: the point is that the tunnel was not closed at once). It closes with a
    // reset: a plain close would pass the truncated response off as a whole one.
    const reset = new Promise<string | undefined>((resolve) => t.socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code)));
    const rest = await readUntilQuiet(t.socket, 5_000);
    assert.ok(rest.closed, "the tunnel was closed");
    assert.equal(await Promise.race([reset, new Promise((r) => setTimeout(() => r("a plain close"), 200))]), "ECONNRESET");
    const stalledAt = rest.bytes > 0 ? rest.lastByteAt : second.lastByteAt;
    assert.ok(Date.now() - stalledAt >= 750, `closed ${Date.now() - stalledAt} ms after the last byte: not before the grace time`);
    assert.ok(h.relay!.stats().closed.unpaid >= 1);
  });

  test("a relay ticket may pay bytes still on the wire (one window ahead), never more", async () => {
    const consumer = freshConsumer();
    const s = await openSession(h.url, consumer, "relay");
    // Nothing metered yet: tickets up to one window ahead of the meter are taken (prepaid)...
    const tickets = [];
    for (let i = 1n; i * MiB <= h.offer.creditWindowBytes; i++) tickets.push(await makeTicket(s, consumer.privateKey, h.domain, { nonce: s.nextNonce + i - 1n, cumulativeBytes: i * MiB }));
    assert.equal((await postTickets(h.url, s, tickets)).status, 200);
    // ...and nothing beyond it.
    const beyond = await makeTicket(s, consumer.privateKey, h.domain, { nonce: s.nextNonce + BigInt(tickets.length), cumulativeBytes: h.offer.creditWindowBytes + 1n });
    const refused = await postTickets(h.url, s, [beyond]);
    assert.equal(refused.status, 409);
    assert.equal(((await refused.json()) as { error: string }).error, "TicketOverAcknowledgesError");
    // Prepaid bytes are not counted twice: the next window of traffic flows without another ticket.
    const t = await connectThrough(h.url.slice(7), http.host, bearer(s));
    t.socket.write(`GET /blob/${3 * 1024 * 1024} HTTP/1.1\r\nHost: ${http.host}\r\n\r\n`);
    const got = await readUntilQuiet(t.socket, 500);
    assert.ok(got.bytes > 3 * 1024 * 1024, `${got.bytes} bytes flowed on prepaid credit`);
    t.socket.destroy();
  });

  test("forbidden destinations are refused with 403 and counted by reason", async () => {
    const s = await openSession(h.url, freshConsumer(), "relay");
    const cases: [string, string][] = [
      [`127.0.0.1:${http.port + 1}`, "forbidden-address"], // loopback, not a test target
      ["10.1.2.3:80", "forbidden-address"],
      ["192.168.1.1:443", "forbidden-address"],
      ["100.64.0.1:80", "forbidden-address"],
      ["169.254.169.254:80", "forbidden-address"],
      ["[::1]:80", "forbidden-address"],
      ["[::ffff:127.0.0.1]:80", "forbidden-address"],
      ["[fd00::1]:80", "forbidden-address"],
      ["127.1:80", "forbidden-address"],
      ["2130706433:80", "forbidden-address"],
      ["0x7f000001:80", "forbidden-address"],
      [`localhost:${http.port + 1}`, "forbidden-address"], // a name resolving to loopback
      ["8.8.8.8:25", "port-denied"],
    ];
    const before = { ...h.relay!.stats().refusals };
    for (const [target, reason] of cases) {
      const r = await connectThrough(h.url.slice(7), target, bearer(s));
      assert.equal(r.status, 403, `${target}: ${r.status} ${r.body.toString()}`);
      assert.equal(r.headers["x-bandmint-refusal"], reason, target);
      assert.ok(JSON.parse(r.body.toString()).message.length > 10, target);
      r.socket.destroy();
    }
    const after = h.relay!.stats().refusals;
    assert.equal((after["forbidden-address"] ?? 0) - (before["forbidden-address"] ?? 0), cases.length - 1);
    assert.equal((after["port-denied"] ?? 0) - (before["port-denied"] ?? 0), 1);
    const bad = await connectThrough(h.url.slice(7), "no-port-here", bearer(s));
    assert.equal(bad.status, 400);
    assert.equal(bad.headers["x-bandmint-refusal"], "bad-target");
    bad.socket.destroy();
  });

  test("a name is resolved once: one private answer among public ones refuses it, and the node connects to the checked address", async () => {
    const d = await mkdtemp(join(tmpdir(), "bm-relay-dns-"));
    const asked: string[] = [];
    // A name that resolves to a public and a private address, and one that resolves to loopback.
    const resolve = async (name: string) => {
      asked.push(name);
      if (name === "mixed.example") return [{ address: "93.184.215.14", family: 4 as const }, { address: "192.168.1.20", family: 4 as const }];
      if (name === "sneaky.example") return [{ address: "127.0.0.1", family: 4 as const }];
      if (name === "v6.example") return [{ address: "::ffff:10.0.0.1", family: 6 as const }];
      // A rebinding name: the first answer is the (allowed) test destination, later ones are not.
      if (name === "blob.example") return [{ address: asked.filter((n) => n === name).length === 1 ? "127.0.0.1" : "10.9.9.9", family: 4 as const }];
      throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
    };
    const r = await startHarness(d, {}, { relay: { egress: { denyPorts: [25], denyDestinations: [], testTargets: [`blob.example:${http.port}`] }, resolve } });
    try {
      const s = await openSession(r.url, freshConsumer(), "relay");
      for (const name of ["mixed.example", "sneaky.example", "v6.example"]) {
        const t = await connectThrough(r.url.slice(7), `${name}:443`, bearer(s));
        assert.equal(t.status, 403, name);
        assert.equal(t.headers["x-bandmint-refusal"], "forbidden-address", name);
        t.socket.destroy();
      }
      const missing = await connectThrough(r.url.slice(7), "nowhere.example:443", bearer(s));
      assert.equal(missing.status, 502);
      assert.equal(missing.headers["x-bandmint-refusal"], "unresolvable");
      missing.socket.destroy();
      // The tunnel goes to the address that was checked; the name is not looked up again.
      const ok = await connectThrough(r.url.slice(7), `blob.example:${http.port}`, bearer(s));
      assert.equal(ok.status, 200);
      const got = await requestOver(ok.socket, http.host, "/blob/1000");
      assert.equal(got.sha256, blobSha256(1000));
      assert.deepEqual(asked, ["mixed.example", "sneaky.example", "v6.example", "nowhere.example", "blob.example"], "each name resolved exactly once");
    } finally {
      await r.stop();
      await rm(d, { recursive: true, force: true });
    }
  });

  test("the default configuration refuses the test targets (loopback by address and by name)", async () => {
    const d = await mkdtemp(join(tmpdir(), "bm-relay-default-"));
    const plain = await startHarness(d, {}, { relay: { egress: { denyPorts: [25], denyDestinations: [], testTargets: [] } } });
    try {
      const s = await openSession(plain.url, plain.consumer, "relay");
      for (const target of [http.host, `localhost:${http.port}`]) {
        const r = await connectThrough(plain.url.slice(7), target, bearer(s));
        assert.equal(r.status, 403, target);
        assert.equal(r.headers["x-bandmint-refusal"], "forbidden-address");
        r.socket.destroy();
      }
      const abs = await httpViaProxy(plain.url, `${http.url}/blob/10`, { headers: bearer(s) });
      assert.equal(abs.status, 403);
    } finally {
      await plain.stop();
      await rm(d, { recursive: true, force: true });
    }
  });

  test("malformed CONNECT lines, oversized headers and slow clients do not stop honest traffic", async () => {
    const s = await openSession(h.url, freshConsumer(), "relay");
    const port = Number(new URL(h.url).port);
    const raw = (data: string) =>
      new Promise<string>((resolve) => {
        const c = netConnect({ host: "127.0.0.1", port });
        let out = "";
        c.on("data", (d) => (out += d.toString("latin1")));
        c.on("close", () => resolve(out));
        c.on("error", () => resolve(out));
        c.end(data);
      });
    assert.match(await raw("CONNECT\r\n\r\n"), /^HTTP\/1\.1 400/);
    assert.match(await raw("CONNECT a b c d\r\nHost: x\r\n\r\n"), /^HTTP\/1\.1 400/);
    assert.match(await raw(`CONNECT ${http.host} HTTP/1.1\r\nX-Big: ${"a".repeat(40_000)}\r\n\r\n`), /^HTTP\/1\.1 431/);
    // Slow clients: headers that never finish. The node drops them after its header timeout.
    const slow: Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const c = netConnect({ host: "127.0.0.1", port });
      c.on("error", () => {});
      c.write(`CONNECT ${http.host} HTTP/1.1\r\nHost: x\r\n`);
      slow.push(c);
    }
    // Meanwhile an honest consumer is served.
    const ok = await httpViaProxy(h.url, `${http.url}/blob/500000`, { headers: bearer(s) });
    assert.equal(ok.sha256, blobSha256(500_000));
    const closed = await Promise.all(slow.map((c) => new Promise<boolean>((resolve) => {
      if (c.destroyed) return resolve(true);
      const t = setTimeout(() => resolve(false), 8_000);
      c.once("close", () => {
        clearTimeout(t);
        resolve(true);
      });
    })));
    assert.ok(closed.every(Boolean), "the node closed every slow client");
  });

  test("a thousand idle tunnels do not stop honest traffic, and per-sender limits hold", async () => {
    const d = await mkdtemp(join(tmpdir(), "bm-relay-idle-"));
    const big = await startHarness(d, {}, { relay: { egress: { denyPorts: [25], denyDestinations: [], testTargets: [http.host] }, options: { maxTunnelsPerSender: 1_000, connectsPerMinutePerSender: 2_000 } } });
    try {
      const s = await openSession(big.url, big.consumer, "relay");
      const idle: Socket[] = [];
      for (let i = 0; i < 1_000; i += 50) {
        const batch = await Promise.all(Array.from({ length: 50 }, () => connectThrough(big.url.slice(7), http.host, bearer(s))));
        for (const r of batch) {
          assert.equal(r.status, 200);
          idle.push(r.socket);
        }
      }
      assert.equal(big.relay!.tunnelsOf(big.consumer.address), 1_000);
      // The sender's limit: the 1001st is refused with 429 and Retry-After.
      const over = await connectThrough(big.url.slice(7), http.host, bearer(s));
      assert.equal(over.status, 429);
      assert.equal(over.headers["x-bandmint-refusal"], "too-many-tunnels");
      assert.ok(over.headers["retry-after"]);
      over.socket.destroy();
      // Another consumer is served meanwhile.
      const other = await openSession(big.url, freshConsumer(), "relay");
      const ok = await httpViaProxy(big.url, `${http.url}/blob/1000000`, { headers: bearer(other) });
      assert.equal(ok.sha256, blobSha256(1_000_000));
      for (const c of idle) c.destroy();
      // Closed tunnels free the sender's slots.
      const deadline = Date.now() + 5_000;
      while (big.relay!.tunnelsOf(big.consumer.address) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(big.relay!.tunnelsOf(big.consumer.address), 0);
    } finally {
      await big.stop();
      await rm(d, { recursive: true, force: true });
    }
  });

  test("tunnels still resolving or connecting count against the per-sender and node-wide caps", async () => {
    const d = await mkdtemp(join(tmpdir(), "bm-relay-burst-"));
    // A slow resolver keeps every CONNECT of a burst between admission and open at once.
    const resolve = async () => {
      await new Promise((r) => setTimeout(r, 200));
      return [{ address: "127.0.0.1", family: 4 as const }];
    };
    const r = await startHarness(d, {}, { relay: { egress: { denyPorts: [25], denyDestinations: [], testTargets: [`slow.example:${http.port}`] }, resolve, options: { maxTunnelsPerSender: 5, maxTunnels: 8 } } });
    try {
      const burst = async (s: OpenedSession, n: number) => Promise.all(Array.from({ length: n }, () => connectThrough(r.url.slice(7), `slow.example:${http.port}`, bearer(s))));
      const a = await burst(await openSession(r.url, r.consumer, "relay"), 12);
      assert.deepEqual(a.map((t) => t.status).sort(), [...Array(5).fill(200), ...Array(7).fill(429)]);
      // The node fills at 8. A's five are open by now, so B, holding fewer, displaces one of them
      // (fair share at the cap) and is refused only once it holds as many as A but one.
      const b = await burst(await openSession(r.url, freshConsumer(), "relay"), 5);
      assert.deepEqual(b.map((t) => t.status).sort(), [...Array(4).fill(200), 503]);
      assert.equal(r.relay!.stats().tunnels.open, 8);
      assert.equal(r.relay!.tunnelsOf(r.consumer.address), 4);
      assert.equal(r.relay!.stats().closed.displaced, 1);
      for (const t of [...a, ...b]) t.socket.destroy();
    } finally {
      await r.stop();
      await rm(d, { recursive: true, force: true });
    }
  });

  test("at the node-wide cap, the tunnel displaced is the heaviest holder's least recently active one", async () => {
    const d = await mkdtemp(join(tmpdir(), "bm-relay-displace-"));
    const r = await startHarness(d, {}, { relay: { egress: { denyPorts: [25], denyDestinations: [], testTargets: [http.host] }, options: { maxTunnelsPerSender: 4, maxTunnels: 4 } } });
    try {
      const a = await openSession(r.url, r.consumer, "relay");
      const tunnels: Socket[] = [];
      for (let i = 0; i < 4; i++) {
        const t = await connectThrough(r.url.slice(7), http.host, bearer(a));
        assert.equal(t.status, 200);
        tunnels.push(t.socket);
        r.clock.t += 1_000;
      }
      // The first one opened carries bytes after the others opened: the second is now the least recently active.
      const get = `GET /blob/100000 HTTP/1.1\r\nHost: ${http.host}\r\n\r\n`;
      tunnels[0]!.write(get);
      assert.ok((await readUntilQuiet(tunnels[0]!, 300)).bytes > 100_000);
      const closed = new Promise((resolve) => tunnels[1]!.once("close", resolve));
      const b = await connectThrough(r.url.slice(7), http.host, bearer(await openSession(r.url, freshConsumer(), "relay")));
      assert.equal(b.status, 200);
      await closed;
      assert.deepEqual([r.relay!.tunnelsOf(r.consumer.address), r.relay!.stats().tunnels.open, r.relay!.stats().closed.displaced], [3, 4, 1]);
      // The active one still works.
      tunnels[0]!.write(get);
      assert.ok((await readUntilQuiet(tunnels[0]!, 300)).bytes > 100_000);
      // C (holding none; A 3, B 1) displaces one of A's; then A holds 2 and C 1: too close, 503.
      const c = await openSession(r.url, freshConsumer(), "relay");
      assert.equal((await connectThrough(r.url.slice(7), http.host, bearer(c))).status, 200);
      assert.equal((await connectThrough(r.url.slice(7), http.host, bearer(c))).status, 503);
      for (const t of [...tunnels, b.socket]) t.destroy();
    } finally {
      await r.stop();
      await rm(d, { recursive: true, force: true });
    }
  });

  test("a tunnel whose session the node let go ends instead of moving unmetered bytes", async () => {
    const d = await mkdtemp(join(tmpdir(), "bm-relay-forgotten-"));
    const r = await startHarness(d, {}, { relay: { egress: { denyPorts: [25], denyDestinations: [], testTargets: [http.host] } } });
    try {
      const s = await openSession(r.url, r.consumer, "relay");
      const t = await connectThrough(r.url.slice(7), http.host, bearer(s));
      assert.equal(t.status, 200);
      // Idle for 7 days (or replaced at the sender's session cap): the session no longer counts in the window.
      r.clock.t += SESSION_IDLE_MS + 1;
      assert.equal(r.sessions.forgetIdle(), 1);
      t.socket.write(`GET /blob/1000000 HTTP/1.1\r\nHost: ${http.host}\r\n\r\n`);
      const got = await readUntilQuiet(t.socket, 3_000);
      assert.deepEqual({ bytes: got.bytes, closed: got.closed }, { bytes: 0, closed: true });
    } finally {
      await r.stop();
      await rm(d, { recursive: true, force: true });
    }
  });

  test("the connection rate per sender is limited (token bucket)", async () => {
    const d = await mkdtemp(join(tmpdir(), "bm-relay-rate-"));
    const r = await startHarness(d, {}, { relay: { egress: { denyPorts: [25], denyDestinations: [], testTargets: [http.host] }, options: { connectsPerMinutePerSender: 5 } } });
    try {
      const s = await openSession(r.url, r.consumer, "relay");
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t = await connectThrough(r.url.slice(7), http.host, bearer(s));
        statuses.push(t.status);
        t.socket.destroy();
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      assert.equal(r.relay!.stats().refusals["rate-limited"], 2);
    } finally {
      await r.stop();
      await rm(d, { recursive: true, force: true });
    }
  });
});
