import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { devAccount } from "../../src/chain/devAccounts.ts";
import { SECP256K1_N } from "../../src/protocol/signature.ts";
import {
  encodeTicketHeader,
  MAX_REQUEST_BODY_BYTES,
  MAX_REQUEST_HEAD_BYTES,
  MAX_TICKET_HEADER_ENTRY_CHARS,
  parseOpenedSession,
  parseSession,
  serializeTicketPayment,
  type TicketPayment,
} from "../../src/protocol/wire.ts";
import { fetchRange, getSession, makeTicket, MiB, openSession, postSessionRequest, sessionRequestBody, startHarness, type Harness } from "./harness.ts";

// The edges of the wire format over real HTTP (docs/protocol/payments.md conventions, §2.2, §4):
// what a signature of the wrong form is called, what case hex may have, and every size limit.

type ErrorBody = { error: string; message: string; details?: Record<string, unknown> };

async function errorOf(res: Response): Promise<{ status: number; body: ErrorBody }> {
  assert.equal(res.headers.get("content-type"), "application/json");
  return { status: res.status, body: (await res.json()) as ErrorBody };
}

const upperHex = (hex: string): string => `0x${hex.slice(2).toUpperCase()}`;

/** A 64-byte EIP-2098 compact signature of the same message: r ‖ (yParity << 255 | s). */
function compact(signature: Hex): Hex {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const yParity = signature.endsWith("1c") ? 1n : 0n;
  return `${signature.slice(0, 66)}${((yParity << 255n) | s).toString(16).padStart(64, "0")}` as Hex;
}

/** The same signature with high s (n - s, v flipped): valid for secp256k1, refused by the broker. */
function highS(signature: Hex): Hex {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  return `${signature.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, "0")}${signature.endsWith("1b") ? "1c" : "1b"}` as Hex;
}

function postBody(url: string, path: string, token: Hex, body: string): Promise<Response> {
  return fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", "x-bandmint-session": token }, body });
}

describe("wire forms and limits over HTTP", () => {
  let dir: string;
  let h: Harness;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bandmint-wire-"));
    h = await startHarness(dir);
  });
  after(async () => {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("a 64-byte (compact) or high-s signature is 400 InvalidSignatureError in a POST, a header and a session request", async () => {
    const s = await openSession(h.url, h.consumer);
    const first = await fetchRange(h.url, s, 0n, MiB);
    await first.arrayBuffer();
    const good = await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: s.nextNonce, cumulativeBytes: MiB });
    for (const signature of [compact(good.signature), highS(good.signature)]) {
      const bad: TicketPayment = { ticket: good.ticket, signature };
      const posted = await errorOf(await postBody(h.url, `/sessions/${s.sessionId}/tickets`, s.sessionToken, JSON.stringify({ tickets: [serializeTicketPayment(bad)] })));
      assert.equal(posted.status, 400);
      assert.equal(posted.body.error, "InvalidSignatureError");
      const inHeader = await errorOf(await fetchRange(h.url, s, MiB, 2n * MiB, [bad]));
      assert.deepEqual([inHeader.status, inHeader.body.error], [400, "InvalidSignatureError"]);
    }
    const posted = await errorOf(await postBody(h.url, `/sessions/${s.sessionId}/tickets`, s.sessionToken, JSON.stringify({ tickets: [serializeTicketPayment({ ticket: good.ticket, signature: compact(good.signature) })] })));
    assert.match(posted.body.message, /64-byte \(EIP-2098 compact\)/);
    // A signature that is not hex bytes at all is a wire format problem, and says where.
    const notHex = await errorOf(await postBody(h.url, `/sessions/${s.sessionId}/tickets`, s.sessionToken, JSON.stringify({ tickets: [{ ...serializeTicketPayment(good), signature: "0x123" }] })));
    assert.deepEqual([notHex.status, notHex.body.error, notHex.body.details?.field], [400, "WireFormatError", "tickets[0].signature"]);
    // None of it was stored; the good ticket still goes in.
    assert.equal(h.store.ticketsOfSession(s.sessionId).length, 0);
    assert.equal((await postBody(h.url, `/sessions/${s.sessionId}/tickets`, s.sessionToken, JSON.stringify({ tickets: [serializeTicketPayment(good)] }))).status, 200);

    const request = await sessionRequestBody(h.url, devAccount(11));
    const compactRequest = await errorOf(await postSessionRequest(h.url, { ...request, signature: compact(request.signature as Hex) }));
    assert.deepEqual([compactRequest.status, compactRequest.body.error], [400, "InvalidSignatureError"]);
  });

  test("hex is accepted in either case (0x prefix and length strict) and always answered lower case", async () => {
    const consumer = devAccount(12);
    // A request with upper-case clientNonce and signature opens a session: the signature covers bytes, not text.
    const body = await sessionRequestBody(h.url, consumer);
    const opened = await postSessionRequest(h.url, { ...body, clientNonce: upperHex(body.clientNonce as string), signature: upperHex(body.signature as string) });
    assert.equal(opened.status, 201);
    const s = parseOpenedSession(await opened.json());
    assert.equal(s.sessionId, s.sessionId.toLowerCase());
    assert.equal(s.sessionToken, s.sessionToken.toLowerCase());
    // The same request in lower case is the same request: a replay, not a second session.
    assert.deepEqual((await errorOf(await postSessionRequest(h.url, body))).status, 409);

    // Upper-case id in the URL path and upper-case token in the header name the same session.
    const res = await fetch(`${h.url}/sessions/${upperHex(s.sessionId)}`, { headers: { "x-bandmint-session": upperHex(s.sessionToken) } });
    assert.equal(res.status, 200);
    assert.equal(parseSession(await res.json()).sessionId, s.sessionId);
    const served = await fetchRange(h.url, { header: upperHex(s.sessionToken) }, 0n, MiB);
    assert.equal(served.status, 206);
    assert.equal(served.headers.get("x-bandmint-recipient-rand-hash"), s.recipientRandHash);
    await served.arrayBuffer();

    // A ticket whose sessionId and recipientRandHash are upper case is the same ticket (EIP-712 hashes the bytes).
    const t = await makeTicket(s, consumer.privateKey, h.domain, { nonce: s.nextNonce, cumulativeBytes: MiB });
    const wire = serializeTicketPayment(t);
    const shouted = { ...wire, ticket: { ...wire.ticket, sessionId: upperHex(wire.ticket.sessionId), recipientRandHash: upperHex(wire.ticket.recipientRandHash) } };
    const paid = await postBody(h.url, `/sessions/${upperHex(s.sessionId)}/tickets`, s.sessionToken, JSON.stringify({ tickets: [shouted] }));
    assert.equal(paid.status, 200, await paid.clone().text());
    assert.equal(((await paid.json()) as { accepted: number }).accepted, 1);

    // The prefix is `0x`, and the path id is 32 bytes of hex: anything else names the field.
    for (const id of [`0X${s.sessionId.slice(2)}`, s.sessionId.slice(0, 64), "nope"]) {
      const bad = await errorOf(await fetch(`${h.url}/sessions/${id}`, { headers: { "x-bandmint-session": s.sessionToken } }));
      assert.deepEqual([bad.status, bad.body.error, bad.body.details?.field], [400, "WireFormatError", "sessionId"], id);
    }
    const unknown = await errorOf(await fetch(`${h.url}/sessions/0x${"ab".repeat(32)}`, { headers: { "x-bandmint-session": s.sessionToken } }));
    assert.deepEqual([unknown.status, unknown.body.error], [404, "UnknownSessionError"]);
  });

  test("a body over 1 MiB is 413 RequestBodyTooLargeError, declared or streamed; 1 MiB exactly is read", async () => {
    const s = await openSession(h.url, devAccount(13));
    const path = `/sessions/${s.sessionId}/tickets`;
    const limit = MAX_REQUEST_BODY_BYTES;
    // Content-Length over the limit: refused before the body is read.
    const declared = await errorOf(await postBody(h.url, path, s.sessionToken, " ".repeat(limit + 1)));
    assert.deepEqual(declared, {
      status: 413,
      body: { error: "RequestBodyTooLargeError", message: `Request body too large: at most ${limit} bytes; send fewer tickets per POST.`, details: { limit: String(limit) } },
    });
    // Chunked (no Content-Length): refused when the limit is crossed, and the connection is closed.
    const streamed = await new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(h.url);
      const req = request({ host: hostname, port, path, method: "POST", headers: { "content-type": "application/json", "x-bandmint-session": s.sessionToken } }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: Buffer.concat(parts).toString() }));
      });
      req.on("error", reject);
      // Just over the limit, then the request stays open: the answer cannot wait for the end.
      req.write(" ".repeat(limit));
      req.write(" ");
    });
    assert.equal(streamed.status, 413);
    assert.equal(streamed.connection, "close");
    assert.equal((JSON.parse(streamed.body) as ErrorBody).error, "RequestBodyTooLargeError");
    // Exactly the limit is read and parsed: a valid batch padded to 1 MiB is accepted.
    const first = await fetchRange(h.url, s, 0n, MiB);
    await first.arrayBuffer();
    const json = JSON.stringify({ tickets: [serializeTicketPayment(await makeTicket(s, devAccount(13).privateKey, h.domain, { nonce: s.nextNonce, cumulativeBytes: MiB }))] });
    const padded = json + " ".repeat(limit - Buffer.byteLength(json));
    assert.equal(Buffer.byteLength(padded), limit);
    const ok = await postBody(h.url, path, s.sessionToken, padded);
    assert.equal(ok.status, 200, await ok.clone().text());
  });

  test("a header ticket over 4096 characters is 400 WireFormatError; a request head over 16 KiB is 431 JSON", async () => {
    const s = await openSession(h.url, devAccount(14));
    const entry = "A".repeat(MAX_TICKET_HEADER_ENTRY_CHARS + 1);
    const res = await fetch(`${h.url}/c/c/f`, { headers: { range: "bytes=0-0", "x-bandmint-session": s.sessionToken, "x-bandmint-ticket": entry } });
    const tooLong = await errorOf(res);
    assert.deepEqual([tooLong.status, tooLong.body.error, tooLong.body.details?.field], [400, "WireFormatError", "x-bandmint-ticket[0]"]);
    // A real ticket is far below the per-entry cap (the docs say ~900 characters).
    const real = encodeTicketHeader([await makeTicket(s, devAccount(14).privateKey, h.domain, { nonce: s.nextNonce, cumulativeBytes: 1n })]);
    assert.ok(real.length > 700 && real.length < 1100, String(real.length));

    const head = await errorOf(await fetch(`${h.url}/offer`, { headers: { "x-bandmint-ticket": "A".repeat(MAX_REQUEST_HEAD_BYTES) } }));
    assert.deepEqual(head, {
      status: 431,
      body: { error: "RequestHeadersTooLargeError", message: "Request head too large (request line and headers).", details: { limit: String(MAX_REQUEST_HEAD_BYTES) } },
    });
    // Eight real tickets in one header fit (the docs' advice), with room to spare.
    const eight = encodeTicketHeader(await Promise.all(Array.from({ length: 8 }, (_, i) => makeTicket(s, devAccount(14).privateKey, h.domain, { nonce: s.nextNonce + BigInt(i), cumulativeBytes: 1n + BigInt(i) }))));
    assert.ok(eight.length < MAX_REQUEST_HEAD_BYTES / 2, String(eight.length));
    const fits = await fetch(`${h.url}/offer`, { headers: { "x-bandmint-ticket": eight } });
    assert.equal(fits.status, 200);
    await fits.arrayBuffer();
  });
});
