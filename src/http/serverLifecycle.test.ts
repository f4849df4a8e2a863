import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { closeServer, listen } from "./serverLifecycle.ts";

/** Sends raw bytes on a fresh connection and resolves with everything the server answers until it closes. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(bytes));
    const parts: Buffer[] = [];
    socket.on("data", (d: Buffer) => parts.push(d));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(parts).toString("latin1")));
  });
}

/** Status line, headers (lower-case names) and JSON body of a raw HTTP/1.1 response. */
function parseRaw(raw: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head = "", body = ""] = raw.split("\r\n\r\n", 2);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  return { status: Number(statusLine.split(" ")[1]), headers, body: JSON.parse(body) };
}

async function withServer(server: Server, run: (url: string) => Promise<void>): Promise<void> {
  const url = await listen(server, "127.0.0.1", 0);
  try {
    await run(url);
  } finally {
    await closeServer(server);
  }
}

test("an oversized request head is answered 431 with a JSON body naming the limit (fetch and raw)", async () => {
  await withServer(createServer({ maxHeaderSize: 4096 }, (_req, res) => res.end("ok")), async (url) => {
    const res = await fetch(url, { headers: { "x-big": "a".repeat(5000) } });
    assert.equal(res.status, 431);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(await res.json(), { error: "RequestHeadersTooLargeError", message: "Request head too large (request line and headers).", details: { limit: "4096" } });
    // Just under the limit is served.
    assert.equal((await fetch(url, { headers: { "x-big": "a".repeat(3500) } })).status, 200);
  });
  await withServer(createServer((_req, res) => res.end("ok")), async (url) => {
    const r = parseRaw(await rawExchange(url, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`));
    assert.equal(r.status, 431);
    // Without the option the runtime's default (16 KiB) is the limit, and the answer says so.
    assert.deepEqual((r.body as { details: unknown }).details, { limit: "16384" });
  });
});

test("an unparsable request is answered 400 MalformedRequestError with the parser's code", async () => {
  await withServer(createServer((_req, res) => res.end("ok")), async (url) => {
    const r = parseRaw(await rawExchange(url, "GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n"));
    assert.equal(r.status, 400);
    assert.equal(r.headers["content-type"], "application/json");
    const body = r.body as { error: string; details: { code: string } };
    assert.equal(body.error, "MalformedRequestError");
    assert.match(body.details.code, /^HPE_/);
  });
});

test("a request not received within requestTimeout is answered 408 RequestTimeoutError", async () => {
  const server = createServer({ requestTimeout: 300, headersTimeout: 200, connectionsCheckingInterval: 50 }, (_req, res) => res.end("ok"));
  await withServer(server, async (url) => {
    // The head never ends: the parser's timeout answers.
    const r = parseRaw(await rawExchange(url, "GET / HTTP/1.1\r\nHost: x\r\n"));
    assert.equal(r.status, 408);
    assert.equal((r.body as { error: string }).error, "RequestTimeoutError");
  });
});

test("an Expect other than 100-continue is answered 417 ExpectationFailedError; 100-continue still works", async () => {
  await withServer(createServer((req, res) => req.resume().on("end", () => res.end("ok"))), async (url) => {
    const r = parseRaw(await rawExchange(url, "POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 0\r\n\r\n"));
    assert.equal(r.status, 417);
    assert.equal((r.body as { error: string }).error, "ExpectationFailedError");
    const ok = await rawExchange(url, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    assert.match(ok, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
  });
});

test("a server's own clientError handler is kept", async () => {
  const server = createServer((_req, res) => res.end("ok"));
  server.on("clientError", (_e, socket) => socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"));
  await withServer(server, async (url) => {
    assert.equal(await rawExchange(url, "nonsense\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });
});
