import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { acceptSocks5, Socks5Error, SOCKS5_REPLY, type Socks5Request } from "./acceptSocks5.ts";

// Every test runs a real TCP server on 127.0.0.1 whose connection handler is acceptSocks5, and a
// real client socket that writes the bytes (often one byte per write, to fragment them).

type Accepted = { socket: net.Socket; result: Promise<Socks5Request>; dataEvents: () => number };

async function startServer(timeoutMs = 5000) {
  const pending: ((a: Accepted) => void)[] = [];
  const ready: Accepted[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let events = 0;
    // A second 'data' listener only counts reads (it takes nothing away from acceptSocks5's).
    const count = () => void events++;
    socket.on("data", count);
    const result = acceptSocks5(socket, { timeoutMs });
    const stop = () => socket.off("data", count);
    result.then(stop, stop);
    result.catch(() => {});
    const accepted = { socket, result, dataEvents: () => events };
    const waiter = pending.shift();
    if (waiter) waiter(accepted);
    else ready.push(accepted);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    next: () => new Promise<Accepted>((resolve) => (ready.length > 0 ? resolve(ready.shift()!) : pending.push(resolve))),
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/** A client socket that records what it receives and when it closes. */
async function connect(port: number) {
  const client = net.connect(port, "127.0.0.1");
  client.setNoDelay(true);
  client.on("error", () => {});
  let received = Buffer.alloc(0);
  let closed = false;
  let notify = () => {};
  client.on("data", (d: Buffer) => ((received = Buffer.concat([received, d])), notify()));
  client.on("close", () => ((closed = true), notify()));
  await once(client, "connect");
  return {
    client,
    get received() {
      return received;
    },
    get closed() {
      return closed;
    },
    /** Waits (at most 5 s) until the predicate holds. */
    async until(predicate: () => boolean, what: string) {
      const deadline = Date.now() + 5000;
      while (!predicate()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          notify = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
    /** Writes one byte per write, pausing between them so each is its own TCP segment. */
    async writeSlowly(bytes: Buffer) {
      for (const b of bytes) {
        client.write(Buffer.from([b]));
        await sleep(1);
      }
    },
  };
}

async function waitFor(predicate: () => boolean, what: string) {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const greeting = Buffer.from([5, 1, 0]);
const domainRequest = (name: string, port: number) =>
  Buffer.concat([Buffer.from([5, 1, 0, 3, Buffer.byteLength(name, "latin1")]), Buffer.from(name, "latin1"), u16(port)]);
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const SUCCESS = Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);

async function rejection(result: Promise<Socks5Request>): Promise<Socks5Error> {
  const error = await result.then(() => assert.fail("the handshake succeeded"), (e: unknown) => e);
  assert.ok(error instanceof Socks5Error, String(error));
  assert.equal(error.name, "Socks5Error");
  return error;
}

test("a handshake written one byte at a time, with pipelined data, yields the request and keeps every byte", async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const c = await connect(server.port);
  const accepted = server.next();
  const early = Buffer.from("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  await c.writeSlowly(Buffer.concat([greeting, domainRequest("example.com", 443), early.subarray(0, 5)]));
  const { socket, result, dataEvents } = await accepted;
  const request = await result;
  assert.ok(dataEvents() >= 10, `the bytes arrived in ${dataEvents()} reads, not fragmented`);
  assert.equal(request.host, "example.com");
  assert.equal(request.port, 443);
  assert.deepEqual(c.received, Buffer.from([5, 0]), "only the method reply before reply()");
  // The rest of the early bytes arrive while the caller is still "connecting upstream"; none may be lost.
  c.client.write(early.subarray(5));
  await sleep(20);
  request.reply(SOCKS5_REPLY.succeeded);
  await c.until(() => c.received.length === 12, "the success reply");
  assert.deepEqual(c.received.subarray(2), SUCCESS);
  const later: Buffer[] = [];
  socket.on("data", (d: Buffer) => later.push(d));
  socket.resume();
  await sleep(20);
  c.client.write("after");
  socket.write("from upstream");
  await c.until(() => c.received.length === 12 + 13, "tunnel bytes");
  assert.equal(c.received.subarray(12).toString(), "from upstream");
  await waitFor(() => Buffer.concat([request.head, ...later]).length >= early.length + 5, "the client's bytes upstream");
  assert.equal(Buffer.concat([request.head, ...later]).toString(), `${early.toString()}after`);
  c.client.destroy();
});

test("greeting, request and data in one write (optimistic data) all arrive: data in head", async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const c = await connect(server.port);
  c.client.write(Buffer.concat([Buffer.from([5, 2, 2, 0]), domainRequest("a.example", 80), Buffer.from("hello")]));
  const request = await (await server.next()).result;
  assert.deepEqual([request.host, request.port, request.head.toString()], ["a.example", 80, "hello"]);
  c.client.destroy();
});

test("address types: IPv4 and IPv6 as text, a domain exactly as sent", async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const cases: [Buffer, string, number][] = [
    [Buffer.from([5, 1, 0, 1, 1, 2, 3, 4, 0, 80]), "1.2.3.4", 80],
    [Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0xff, 0xff]), "127.0.0.1", 65535],
    [Buffer.concat([Buffer.from([5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]), u16(443)]), "2001:db8::1", 443],
    [Buffer.concat([Buffer.from([5, 1, 0, 4, ...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 1]), u16(8080)]), "::ffff:a00:1", 8080],
    [domainRequest("ExAmple.COM", 443), "ExAmple.COM", 443],
    [domainRequest("caf\u00e9.example", 443), "caf\u00e9.example", 443],
    [domainRequest("x".repeat(255), 1), "x".repeat(255), 1],
  ];
  for (const [request, host, port] of cases) {
    const c = await connect(server.port);
    await c.writeSlowly(Buffer.concat([greeting, request]));
    const got = await (await server.next()).result;
    assert.deepEqual([got.host, got.port, got.head.length], [host, port, 0]);
    c.client.destroy();
  }
});

test("a greeting without method 0 gets 0xFF and the connection closes", async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  for (const g of [Buffer.from([5, 1, 2]), Buffer.from([5, 0]), Buffer.from([5, 3, 1, 2, 0x80])]) {
    const c = await connect(server.port);
    await c.writeSlowly(g);
    const error = await rejection((await server.next()).result);
    assert.equal(error.reason, "no-acceptable-method");
    assert.equal(error.replied, 0xff);
    await c.until(() => c.closed, "the close");
    assert.deepEqual(c.received, Buffer.from([5, 0xff]));
  }
});

test("a wrong version closes the connection without a reply (greeting and request)", async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const socks4 = await connect(server.port);
  socks4.client.write(Buffer.from([4, 1, 0, 80, 1, 2, 3, 4, 0]));
  const e4 = await rejection((await server.next()).result);
  assert.equal(e4.reason, "bad-version");
  assert.match(e4.shortMessage, /SOCKS4/);
  await socks4.until(() => socks4.closed, "the close");
  assert.equal(socks4.received.length, 0);

  const http = await connect(server.port);
  http.client.write("GET / HTTP/1.1\r\n\r\n");
  assert.equal((await rejection((await server.next()).result)).reason, "bad-version");

  const badRequest = await connect(server.port);
  await badRequest.writeSlowly(Buffer.concat([greeting, Buffer.from([4, 1, 0, 1, 1, 2, 3, 4, 0, 80])]));
  assert.equal((await rejection((await server.next()).result)).reason, "bad-version");
  await badRequest.until(() => badRequest.closed, "the close");
  assert.deepEqual(badRequest.received, Buffer.from([5, 0]));
});

test("BIND and UDP ASSOCIATE get reply 7, an unknown address type reply 8, a malformed request reply 1; then close", async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const cases: [Buffer, string, number][] = [
    [Buffer.from([5, 2, 0, 1, 1, 2, 3, 4, 0, 80]), "command-not-supported", 7],
    [Buffer.from([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]), "command-not-supported", 7],
    [Buffer.from([5, 9]), "command-not-supported", 7],
    [Buffer.from([5, 1, 0, 5, 1, 2, 3, 4, 0, 80]), "address-type-not-supported", 8],
    [Buffer.from([5, 1, 0, 0]), "address-type-not-supported", 8],
    [Buffer.from([5, 1, 1, 1, 1, 2, 3, 4, 0, 80]), "bad-request", 1],
    [Buffer.from([5, 1, 0, 3, 0, 0, 80]), "bad-request", 1],
    [Buffer.from([5, 1, 0, 1, 1, 2, 3, 4, 0, 0]), "bad-request", 1],
  ];
  for (const [request, reason, code] of cases) {
    const c = await connect(server.port);
    await c.writeSlowly(Buffer.concat([greeting, request]));
    const error = await rejection((await server.next()).result);
    assert.equal(error.reason, reason, error.shortMessage);
    assert.equal(error.replied, code);
    await c.until(() => c.closed, "the close");
    assert.deepEqual(c.received, Buffer.concat([Buffer.from([5, 0]), Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0])]));
  }
});

test("a handshake that never completes times out and the connection closes; a client that leaves early is 'closed'", async (t) => {
  const server = await startServer(150);
  t.after(() => server.close());
  const slow = await connect(server.port);
  slow.client.write(Buffer.from([5, 1]));
  const error = await rejection((await server.next()).result);
  assert.equal(error.reason, "timeout");
  assert.match(error.shortMessage, /within 150 ms/);
  await slow.until(() => slow.closed, "the close");

  const silent = await connect(server.port);
  assert.equal((await rejection((await server.next()).result)).reason, "timeout");
  await silent.until(() => silent.closed, "the close");

  const leaver = await connect(server.port);
  const accepted = server.next();
  await leaver.writeSlowly(Buffer.concat([greeting, Buffer.from([5, 1, 0])]));
  leaver.client.end();
  assert.equal((await rejection((await accepted).result)).reason, "closed");

  const resetter = await connect(server.port);
  const accepted2 = server.next();
  resetter.client.write(Buffer.from([5]));
  await sleep(10);
  resetter.client.resetAndDestroy();
  assert.equal((await rejection((await accepted2).result)).reason, "closed");
});

test("a failure reply closes the tunnel; only the first reply counts", async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const c = await connect(server.port);
  c.client.write(Buffer.concat([greeting, Buffer.from([5, 1, 0, 1, 8, 8, 8, 8, 1, 187])]));
  const { socket, result } = await server.next();
  const request = await result;
  assert.deepEqual([request.host, request.port], ["8.8.8.8", 443]);
  request.reply(SOCKS5_REPLY.hostUnreachable);
  request.reply(SOCKS5_REPLY.succeeded);
  await c.until(() => c.closed, "the close");
  assert.deepEqual(c.received, Buffer.from([5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0]));
  await waitFor(() => socket.destroyed, "the server socket to be destroyed");
});

test("random byte streams in random fragments: a request or a typed error, never a hang, and fragmentation never changes the outcome (property)", async (t) => {
  const server = await startServer(3000);
  t.after(() => server.close());
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([greeting, b])),
    fc.tuple(fc.constantFrom(1, 3, 4, 5), fc.uint8Array({ maxLength: 40 })).map(([atyp, b]) => Buffer.concat([greeting, Buffer.from([5, 1, 0, atyp]), b])),
    fc.tuple(fc.uint8Array({ maxLength: 3 }), fc.nat(4), fc.uint8Array({ maxLength: 30 })).map(([methods, command, rest]) =>
      Buffer.concat([Buffer.from([5, methods.length, ...methods]), Buffer.from([5, command, 0]), rest]),
    ),
    fc.tuple(fc.domain(), fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ maxLength: 20 })).map(([d, p, rest]) => Buffer.concat([greeting, domainRequest(d, p), rest])),
  );

  /** Sends the stream (in the given fragments), ends it, and returns the outcome plus every byte after the request. */
  async function outcome(stream: Uint8Array, cuts: number[]): Promise<string> {
    const c = await connect(server.port);
    const accepted = server.next();
    const points = [...new Set(cuts.map((x) => x % (stream.length + 1)))].sort((a, b) => a - b);
    let last = 0;
    for (const point of [...points, stream.length]) {
      if (point > last) c.client.write(stream.subarray(last, point));
      last = point;
      if (cuts.length > 0) await sleep(0);
    }
    c.client.end();
    const { socket, result } = await accepted;
    try {
      const request = await result;
      const rest: Buffer[] = [request.head];
      socket.on("data", (d: Buffer) => rest.push(d));
      socket.resume();
      if (!socket.readableEnded) await once(socket, "end");
      socket.destroy();
      c.client.destroy();
      return JSON.stringify({ host: request.host, port: request.port, after: Buffer.concat(rest).toString("hex") });
    } catch (e) {
      c.client.destroy();
      if (!(e instanceof Socks5Error)) throw e;
      assert.notEqual(e.reason, "timeout", "the client ended its stream, so the handshake must not wait for the timeout");
      return JSON.stringify({ error: e.reason, replied: e.replied });
    }
  }

  await fc.assert(
    fc.asyncProperty(bytes, fc.array(fc.nat(), { maxLength: 6 }), async (stream, cuts) => {
      assert.equal(await outcome(stream, cuts), await outcome(stream, []));
    }),
    { numRuns: 150 },
  );
});
