import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from "node:net";
import { randomBytes } from "node:crypto";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { readFile, rm } from "node:fs/promises";
import { createHttpFetch, type HttpFetchInit } from "./createHttpFetch.ts";
import { testCertificate, tlsSkipReason, type TestCertificate } from "../../test/fixtures/testCertificate.ts";

describe("createHttpFetch", () => {
  const body = randomBytes(3 * 1024 * 1024 + 17);
  let server: Server;
  let base: string;
  const f = createHttpFetch();

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/echo") {
        const parts: Buffer[] = [];
        req.on("data", (c: Buffer) => parts.push(c));
        req.on("end", () => {
          res.writeHead(201, { "content-type": "application/json", "x-seen": String(req.headers["x-thing"]) });
          res.end(JSON.stringify({ method: req.method, got: Buffer.concat(parts).toString() }));
        });
      } else if (req.url === "/cut") {
        res.writeHead(200, { "content-length": body.length });
        res.write(body.subarray(0, 1000), () => res.destroy());
      } else if (req.url === "/slow") {
        res.writeHead(200, { "content-length": 10 });
        res.write("12345"); // never finished
      } else if (req.url === "/many") {
        // Repeated lines, mixed case, cookies: what the headers must answer as a Headers would.
        res.setHeader("X-Multi", ["a", "b"]);
        res.setHeader("Set-Cookie", ["x=1", "y=2"]);
        res.setHeader("Content-Type", "text/plain");
        res.end("ok");
      } else if (req.url === "/chunked") {
        res.write(body.subarray(0, 100_000));
        res.end(body.subarray(100_000, 200_000));
      } else {
        res.writeHead(206, { "content-length": body.length, "x-bandmint-paid-bytes": "42" });
        res.end(body);
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    f.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test("a GET returns status, headers and the exact body", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await f(`${base}/data`, { headers: { range: "bytes=0-" } });
      assert.equal(res.status, 206);
      assert.equal(res.ok, true);
      assert.equal(res.headers.get("X-Bandmint-Paid-Bytes"), "42");
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(body));
      await assert.rejects(res.arrayBuffer(), TypeError, "a body is read once");
    }
  });

  test("response headers answer get, has, iteration and getSetCookie as a Headers over the same lines, and are immutable", async () => {
    const res = await f(`${base}/many`);
    const plain = await fetch(`${base}/many`);
    for (const name of ["x-multi", "X-MULTI", "content-type", "set-cookie", "content-length", "missing"]) {
      assert.equal(res.headers.get(name), plain.headers.get(name), name);
      assert.equal(res.headers.has(name), plain.headers.has(name), name);
    }
    const strip = (entries: Iterable<[string, string]>) => [...entries].filter(([k]) => k !== "date" && k !== "keep-alive" && k !== "connection");
    assert.deepEqual(strip(res.headers), strip(plain.headers));
    assert.deepEqual(res.headers.getSetCookie(), ["x=1", "y=2"]);
    assert.throws(() => res.headers.set("x-new", "1"), TypeError);
    await res.text();
  });

  test("a HEAD answer has an empty body although it announces a length", async () => {
    const res = await f(`${base}/data`, { method: "HEAD" });
    assert.equal(res.headers.get("content-length"), String(body.length));
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test("a body without Content-Length is assembled whole", async () => {
    const res = await f(`${base}/chunked`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(body.subarray(0, 200_000)));
  });

  test("a POST sends its body and headers; json() parses the answer", async () => {
    const res = await f(`${base}/echo`, { method: "POST", headers: new Headers({ "x-thing": "7", "content-type": "application/json" }), body: '{"a":1}' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("x-seen"), "7");
    assert.deepEqual(await res.json(), { method: "POST", got: '{"a":1}' });
  });

  test("a body cut short rejects like undici ('terminated')", async () => {
    const res = await f(`${base}/cut`);
    await assert.rejects(res.arrayBuffer(), (e: Error) => e instanceof TypeError && e.message === "terminated");
  });

  test("a body over maxBodyBytes, announced or streamed, fails like a cut one, without buffering it", async () => {
    const small = createHttpFetch({ maxBodyBytes: 150_000 });
    try {
      // Announced: 3 MiB in Content-Length; streamed: 200,000 bytes chunked.
      for (const path of ["/", "/chunked"]) {
        const res = await small(`${base}${path}`);
        await assert.rejects(res.arrayBuffer(), (e: TypeError) => e.message === "terminated" && /larger than 150000 bytes/.test(String((e.cause as Error).message)), path);
      }
      assert.equal((await (await small(`${base}/echo`, { method: "POST", body: "x" })).json() as { got: string }).got, "x");
    } finally {
      small.close();
    }
  });

  test("a refused connection rejects with the socket error as cause", async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    await assert.rejects(f(`http://127.0.0.1:${port}/x`), (e: Error) => e instanceof TypeError && (e.cause as { code?: string }).code === "ECONNREFUSED");
  });

  test("an abort rejects with the signal's reason, before the headers and during the body", async () => {
    const reason = new Error("timed out");
    await assert.rejects(f(`${base}/data`, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    const c = new AbortController();
    const res = await f(`${base}/slow`, { signal: c.signal });
    const reading = res.arrayBuffer();
    c.abort(reason);
    await assert.rejects(reading, (e) => e === reason);
  });

  test("other URLs and bodies go to the fallback", async () => {
    const seen: string[] = [];
    const g = createHttpFetch({ fallback: async (input) => (seen.push(String(input)), new Response("fb")) });
    assert.equal(await (await g("data:text/plain,x")).text(), "fb");
    assert.equal(await (await g(`${base}/echo`, { method: "POST", body: new Blob(["b"]) })).text(), "fb");
    assert.deepEqual(seen, ["data:text/plain,x", `${base}/echo`]);
    g.close();
  });
});

describe("createHttpFetch over https", { skip: tlsSkipReason() }, () => {
  let server: HttpsServer;
  let base: string;
  let cert: TestCertificate;
  before(async () => {
    cert = await testCertificate();
    server = createHttpsServer({ cert: await readFile(cert.certPath), key: await readFile(cert.keyPath) }, (_req, res) => {
      res.writeHead(206, { "content-length": 5 });
      res.end("hello");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(cert.dir, { recursive: true, force: true });
  });

  test("trusts a given CA and reads the body", async () => {
    const f = createHttpFetch({ ca: cert.cert, fallback: async () => assert.fail("https must not fall back") });
    try {
      const res = await f(`${base}/x`);
      assert.equal(res.status, 206);
      assert.equal(await res.text(), "hello");
    } finally {
      f.close();
    }
  });

  test("refuses a certificate it does not trust, the way fetch does", async () => {
    const f = createHttpFetch();
    try {
      await assert.rejects(f(`${base}/x`), (e: TypeError) => e.message === "fetch failed" && /self[- ]signed/i.test(String((e.cause as Error).message)));
    } finally {
      f.close();
    }
  });
});


describe("createHttpFetch: a kept-alive socket the server drops as it is reused", () => {
  // A server that answers the first request of each connection with keep-alive and resets the
  // connection (RST, no answer) on its second (and on every GET /always): the race between a server's keep-alive timeout and
  // a client reusing the socket, made deterministic.
  let server: NetServer;
  let base: string;
  let connections = 0;
  const requests: string[] = [];
  before(async () => {
    server = createNetServer((socket) => {
      connections++;
      let served = 0;
      let buffered = "";
      socket.on("data", (d: Buffer) => {
        buffered += d.toString("latin1");
        let end: number;
        while ((end = buffered.indexOf("\r\n\r\n")) >= 0) {
          const head = buffered.slice(0, end);
          const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          buffered = buffered.slice(end + 4 + length);
          requests.push(head.split(" ", 2).join(" "));
          if (served++ === 0 && !head.startsWith("GET /always")) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok");
          else socket.resetAndDestroy();
        }
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  test("a GET (or a POST marked idempotent) is sent again once on a new socket; a plain POST fails as fetch does", async () => {
    const f = createHttpFetch();
    try {
      assert.equal(await (await f(`${base}/a`)).text(), "ok");
      assert.equal(await (await f(`${base}/b`)).text(), "ok", "the GET on the dropped socket was sent again");
      assert.deepEqual(requests, ["GET /a", "GET /b", "GET /b"]);
      assert.equal(connections, 2);
      // The socket of the retried GET is reused now, and dropped again: a POST is not retried.
      await assert.rejects(f(`${base}/c`, { method: "POST", body: "x" }), (e: TypeError) => e.message === "fetch failed" && (e.cause as { code?: string }).code === "ECONNRESET");
      assert.deepEqual(requests.slice(3), ["POST /c"]);
      // One retry, not a loop: a GET whose new socket is dropped too fails with that error.
      assert.equal(await (await f(`${base}/d`)).text(), "ok");
      await assert.rejects(f(`${base}/always`), (e: TypeError) => e.message === "fetch failed" && (e.cause as { code?: string }).code === "ECONNRESET");
      assert.deepEqual(requests.slice(4), ["GET /d", "GET /always", "GET /always"]);
      // A POST its caller marks idempotent (a ticket batch) is sent again once, like a GET.
      assert.equal(await (await f(`${base}/e`)).text(), "ok");
      const idempotent: HttpFetchInit = { method: "POST", body: "x", idempotent: true };
      assert.equal(await (await f(`${base}/f`, idempotent)).text(), "ok", "the marked POST on the dropped socket was sent again");
      assert.deepEqual(requests.slice(7), ["GET /e", "POST /f", "POST /f"]);
    } finally {
      f.close();
    }
  });
});

describe("createHttpFetch: bodies read in place, whatever pieces the server writes them in", () => {
  // Over plain http the rest of a body is read straight into its buffer once its headers are in
  // (readIntoConnection). A raw server writes each answer in irregular pieces: the head alone or
  // joined with part of the body (less or more than one head read), bodies from 0 bytes to over
  // 1 MiB, pauses between pieces; a wrong offset anywhere would corrupt a body or the next head.
  let server: NetServer;
  let base: string;
  let connections = 0;
  const bytesOf = (size: number, seed: number): Buffer => {
    const b = Buffer.allocUnsafe(size);
    let x = seed * 2654435761 + 1;
    for (let i = 0; i < size; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = x >>> 24;
    }
    return b;
  };
  before(async () => {
    server = createNetServer((socket) => {
      connections++;
      let buffered = "";
      let queue = Promise.resolve();
      socket.on("data", (d: Buffer) => {
        buffered += d.toString("latin1");
        let end: number;
        while ((end = buffered.indexOf("\r\n\r\n")) >= 0) {
          const path = buffered.slice(0, end).split(" ")[1]!;
          buffered = buffered.slice(end + 4);
          const [, kind, size, seed, joined] = path.split("/");
          const body = bytesOf(Number(size), Number(seed));
          const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
          queue = queue.then(async () => {
            // The head with `joined` body bytes, then pieces of 1 B to 300 KiB, some after a pause.
            let at = Math.min(Number(joined), body.length);
            socket.write(Buffer.concat([head, body.subarray(0, at)]));
            let x = Number(seed);
            while (at < body.length) {
              x = (x * 1103515245 + 12345) >>> 0;
              const n = Math.min(body.length - at, 1 + (x % 3 === 0 ? x % 300_000 : x % 5000));
              const piece = body.subarray(at, at + n);
              at += n;
              // "extra": bytes after the body, in the same write as its end (a server that lies).
              socket.write(kind === "extra" && at === body.length ? Buffer.concat([piece, Buffer.from("HTTP/1.1 200 OK\r\nContent-Le")]) : piece);
              if (x % 4 === 0) await new Promise((r) => setTimeout(r, 1));
            }
          });
        }
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  test("one kept-alive socket: every body exact, sizes 0 B to 1.5 MiB, head joined with 0 B to 40 KiB of body", async () => {
    const f = createHttpFetch();
    try {
      const cases: [number, number][] = [[0, 0], [1, 1], [100, 0], [100, 100], [16_000, 16_000], [20_000, 3000], [1 << 20, 0], [1 << 20, 16_384], [1 << 20, 40_000], [1_500_000, 777], [5, 5], [300_000, 0]];
      for (let seed = 1; seed <= 3; seed++) {
        for (const [size, joined] of cases) {
          const res = await f(`${base}/ok/${size}/${seed}/${joined}`);
          assert.equal(res.status, 200);
          assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytesOf(size, seed)), `size ${size}, seed ${seed}, joined ${joined}`);
        }
      }
      assert.equal(connections, 1, "every answer came over one kept-alive socket");
      // Most body bytes went straight into place, uncopied (the rest came with a head, or while
      // node:http still held earlier bytes of the body).
      const bodies = 3 * cases.reduce((sum, [size]) => sum + size, 0);
      assert.ok(f.received.uncopied > 0.8 * bodies && f.received.inPlace >= f.received.uncopied && f.received.total > bodies, JSON.stringify({ bodies, ...f.received }));
    } finally {
      f.close();
    }
  });

  test("sockets in parallel each keep their own bodies; bytes past a body's length do not enter it", async () => {
    const f = createHttpFetch();
    try {
      const sizes = [1 << 20, 777_777, 65_536, 2_000_000, 1 << 20, 10, 333_333, 1 << 20];
      const bodies = await Promise.all(sizes.map(async (size, i) => Buffer.from(await (await f(`${base}/ok/${size}/${i + 10}/${(i * 7919) % 30_000}`)).arrayBuffer())));
      sizes.forEach((size, i) => assert.ok(bodies[i]!.equals(bytesOf(size, i + 10)), `body ${i}`));
      const lied = await f(`${base}/extra/${1 << 20}/99/100`);
      assert.ok(Buffer.from(await lied.arrayBuffer()).equals(bytesOf(1 << 20, 99)), "the body before the extra bytes is exact");
    } finally {
      f.close();
    }
  });
});
