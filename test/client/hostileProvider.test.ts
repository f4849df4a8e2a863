// The hostile-provider suite: a download from a provider that misbehaves on purpose (test/client/
// fakeProvider.ts `hostile` switches), next to an honest one, over real HTTP on 127.0.0.1. For each
// misbehaviour: the file arrives byte-identical from the honest provider, the client says why it
// left the hostile one (the pool's report), and it paid for no bad byte: no ticket the hostile
// provider received (accepted or refused) acknowledges more than the bytes it delivered intact
// in that session, and no byte is covered by two tickets (each signature is a lottery draw).
// The relay that over-reports its bytes is test/client/relayProxy.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHttpFetch } from "../../src/client/createHttpFetch.ts";
import { downloadContent } from "../../src/client/downloadContent.ts";
import { createGateway } from "../../src/client/gateway.ts";
import { allowedRedraws } from "../../src/client/ticketPayer.ts";
import { startFakeProvider, type FakeProvider, type HostileSwitches } from "./fakeProvider.ts";
import { BROKER, CHAIN_ID, KEYS, PRICE, listingOf, makeContent, makePool, sha256 } from "./harness.ts";

const CHUNK = 16 * 1024;
const BYTES_PER_TICKET = BigInt(CHUNK);

type Setup = { content: Awaited<ReturnType<typeof makeContent>>; hostile: FakeProvider; honest: FakeProvider; dir: string };

async function setup(t: { after: (f: () => Promise<unknown>) => void }, o: { offeredPricePerGiB?: bigint } = {}): Promise<Setup> {
  const content = await makeContent(CHUNK);
  const dir = await mkdtemp(join(tmpdir(), "bm-hostile-"));
  const common = {
    chainId: CHAIN_ID, broker: BROKER, bytesPerTicket: BYTES_PER_TICKET, creditWindowBytes: BigInt(4 * CHUNK),
    content: new Map([[content.manifest.contentId, content]]),
  };
  // The hostile provider is the cheaper: the client tries it first.
  const hostile = await startFakeProvider({ ...common, privateKey: KEYS.providerA, pricePerGiB: PRICE / 2n, ...o });
  const honest = await startFakeProvider({ ...common, privateKey: KEYS.providerB, pricePerGiB: PRICE });
  t.after(async () => {
    await Promise.allSettled([hostile.stop(), honest.stop()]);
    await rm(dir, { recursive: true, force: true });
  });
  return { content, hostile, honest, dir };
}

/**
 * No ticket pays for a byte that failed or never came, and no byte is paid twice, checked on what
 * the provider received: per session, no ticket acknowledges more than the bytes delivered intact,
 * and the distinct signatures (each a lottery draw) are no more than those bytes need, plus
 * `extraDraws` where the protocol lets a node ask for new ones (a rotated rand).
 */
function assertPaidOnlyIntactBytesOnce(p: FakeProvider, who: string, extraDraws = 0): void {
  const bySession = new Map<string, Map<string, bigint>>();
  for (const r of p.received) {
    const id = r.ticket.sessionId;
    if (!bySession.has(id)) bySession.set(id, new Map());
    bySession.get(id)!.set(r.signature, r.ticket.cumulativeBytes);
  }
  for (const [id, draws] of bySession) {
    const intact = p.intactBytes.get(id) ?? 0n;
    const most = [...draws.values()].reduce((a, b) => (a > b ? a : b), 0n);
    assert.ok(most <= intact, `${who}: a ticket acknowledges ${most} bytes, ${intact} arrived intact`);
    // Each ticket covers at most bytesPerTicket new bytes, so paying `intact` bytes takes at least
    // ceil(intact / bytesPerTicket) tickets; more than that means the same bytes were signed for again.
    const needed = (intact + BYTES_PER_TICKET - 1n) / BYTES_PER_TICKET;
    assert.ok(BigInt(draws.size) <= needed + BigInt(extraDraws), `${who}: ${draws.size} distinct tickets for ${intact} intact bytes (${needed} pay them, ${extraDraws} redraws allowed)`);
  }
}

type Case = {
  name: string;
  hostile: Partial<HostileSwitches> & { corruptAll?: true };
  /** What the pool's report must say about the hostile provider. */
  state: string;
  reason: RegExp;
  offeredPricePerGiB?: bigint;
  /** New signatures the protocol lets this provider ask for (ticketPayer.ts allowedRedraws rounds x the tickets queued). */
  extraDraws?: number;
};

// A credit window of 4 chunks holds at most 4 unpaid tickets: each allowed redraw round re-signs at most those.
const REDRAW_BOUND = allowedRedraws(0, 1n) * 4;

const cases: Case[] = [
  { name: "serves corrupted chunks", hostile: { corruptAll: true }, state: "bad", reason: /failed verification/ },
  { name: "serves more bytes than the range asked", hostile: { extraBytes: 100 }, state: "cooling", reason: /expected 16384 bytes, got 16484/ },
  { name: "cuts bodies short after the headers", hostile: { truncate: true }, state: "cooling", reason: /body broke off/ },
  { name: "sends headers, then nothing", hostile: { stall: "headers" }, state: "cooling", reason: /too slow/ },
  { name: "never answers a content request", hostile: { stall: "silent" }, state: "cooling", reason: /too slow/ },
  { name: "announces a 1 TiB body and streams without end", hostile: { endless: true }, state: "cooling", reason: /expected 16384 bytes, got 1099511627776/ },
  { name: "never answers /offer, sessions, tickets or manifests", hostile: { stallControl: true }, state: "cooling", reason: /no answer within 1500 ms/ },
  { name: "advertises a price other than its on-chain listing", hostile: {}, offeredPricePerGiB: PRICE / 4n, state: "refused", reason: /pricePerGiB/ },
  { name: "answers ticket POSTs with 200 and garbage, keeping the tickets", hostile: { garbageTicketAnswers: "accept" }, state: "cooling", reason: /malformed answer/ },
  { name: "answers ticket POSTs with 200 and garbage, dropping the tickets", hostile: { garbageTicketAnswers: "drop" }, state: "cooling", reason: /malformed answer/ },
  { name: "rotates its recipientRandHash on every request", hostile: { rotateRand: true }, state: "refused", reason: /new signatures 3 times/, extraDraws: REDRAW_BOUND },
  { name: "opens sessions claiming bytes already served and paid", hostile: { inflateServedBytes: 1n << 30n, inflatePaidBytes: 1n << 30n }, state: "refused", reason: /new session servedBytes\/paidBytes/ },
  { name: "claims servedBytes beyond what it sent", hostile: { inflateServedBytes: 1n << 30n, inflateAfterRequests: 1 }, state: "bad", reason: /claims servedBytes/ },
  { name: "claims paidBytes beyond what it was paid", hostile: { inflatePaidBytes: 1n << 30n, inflateAfterRequests: 1 }, state: "bad", reason: /claims paidBytes/ },
];

for (const c of cases) {
  test(`a provider that ${c.name}: not paid for a bad byte, left with a reason, the file comes from an honest one`, async (t) => {
    const { content, hostile, honest, dir } = await setup(t, c.offeredPricePerGiB !== undefined ? { offeredPricePerGiB: c.offeredPricePerGiB } : {});
    const { corruptAll, ...switches } = c.hostile;
    Object.assign(hostile.hostile, switches);
    if (corruptAll) for (let i = 0; i < 11; i++) hostile.corrupt.add(`video/seg0.ts@${i * CHUNK}`);
    const warnings: string[] = [];
    // The client's own fetch (createHttpFetch, as createClient uses), not undici's.
    const fetch = createHttpFetch();
    t.after(() => fetch.close());
    const { pool } = makePool(
      [listingOf(KEYS.providerA, hostile.url, PRICE / 2n), listingOf(KEYS.providerB, honest.url)],
      {
        perProvider: 2,
        // Short enough for a test, long enough that the honest provider never looks slow on a loaded machine.
        timeouts: { unmeasuredMs: 1_500, minMs: 1_000 },
        logger: { info: (m) => warnings.push(m), warn: (m) => warnings.push(m) },
      },
      { fetch, requestTimeoutMs: 1_500 },
    );
    const out = join(dir, "seg0.ts");
    await downloadContent({ pool, contentId: content.manifest.contentId, path: "video/seg0.ts", out });
    assert.equal(sha256(await readFile(out)), sha256(content.files.get("video/seg0.ts")!), "byte-identical");
    assert.ok(honest.requests.length > 0, "the honest provider served");
    const report = pool.report().find((r) => r.provider === hostile.address);
    assert.ok(report, `the client tried the hostile provider (log: ${warnings.join(" | ")})`);
    assert.equal(report.state, c.state, `state (reason: ${report.reason})`);
    assert.match(report.reason ?? "", c.reason);
    assertPaidOnlyIntactBytesOnce(hostile, "hostile", c.extraDraws);
    assertPaidOnlyIntactBytesOnce(honest, "honest");
    // An endless body is not read past the range: what the provider managed to write is bounded by socket buffers.
    assert.ok(hostile.endlessBytesSent < 64 << 20, `${hostile.endlessBytesSent} bytes of an endless body were written`);
    // The honest provider was paid every byte it served (the download settled).
    assert.equal(honest.tickets.at(-1)?.ticket.cumulativeBytes, honest.intactBytes.get(honest.tickets.at(-1)!.ticket.sessionId));
  });
}

type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; complete: boolean };

/** A browser-like GET: status, headers, what arrived, and whether the body arrived whole (status 0: the connection closed before any answer). */
function browserGet(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), complete: res.complete });
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", done);
      res.on("error", done);
      res.on("aborted", done);
    });
    // A network error for the browser (the gateway had sent nothing it could take back).
    req.on("error", () => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), complete: false }));
    req.end();
  });
}

/** Correct bytes, a clean error (a JSON error status, or a connection closed before any answer), or a body cut short: never wrong bytes. */
function assertNeverWrongBytes(r: Reply, expected: Buffer, what: string): "bytes" | "error" | "cut" {
  if (r.status === 0) return "error";
  if (r.status >= 400) {
    assert.match(String(r.headers["content-type"]), /application\/json/, what);
    assert.equal(typeof (JSON.parse(r.body.toString()) as { error: unknown }).error, "string", what);
    return "error";
  }
  assert.ok(r.status === 200 || r.status === 206, `${what}: status ${r.status}`);
  if (r.complete && r.body.length === Number(r.headers["content-length"])) {
    assert.deepEqual(r.body, expected, `${what}: a whole body must be the right one`);
    return "bytes";
  }
  // Cut: what arrived is the start of the right bytes, and the client knows the body is incomplete.
  assert.ok(r.body.length < expected.length, what);
  assert.deepEqual(r.body, expected.subarray(0, r.body.length), `${what}: the bytes before the cut are right`);
  return "cut";
}

const gatewayCases: { name: string; hostile: Partial<HostileSwitches> & { corrupt?: number[] } }[] = [
  { name: "corrupts every chunk", hostile: { corrupt: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } },
  { name: "corrupts a chunk in the middle", hostile: { corrupt: [5] } },
  { name: "pads its answers", hostile: { extraBytes: 100 } },
  { name: "cuts bodies short", hostile: { truncate: true } },
  { name: "streams without end", hostile: { endless: true } },
  { name: "stalls after the headers", hostile: { stall: "headers" } },
  { name: "rotates its rand on every request", hostile: { rotateRand: true } },
  { name: "claims servedBytes it never sent", hostile: { inflateServedBytes: 1n << 30n, inflateAfterRequests: 1 } },
];

for (const c of gatewayCases) {
  test(`the gateway in front of a provider that ${c.name}: correct bytes or a clean error, never wrong bytes`, async (t) => {
    const { content, hostile, honest } = await setup(t);
    const { corrupt, ...switches } = c.hostile;
    Object.assign(hostile.hostile, switches);
    for (const i of corrupt ?? []) hostile.corrupt.add(`video/seg0.ts@${i * CHUNK}`);
    const data = content.files.get("video/seg0.ts")!;
    const fetch = createHttpFetch();
    t.after(() => fetch.close());
    const pools = {
      // Alone: nobody to fail over to.
      alone: makePool([listingOf(KEYS.providerA, hostile.url, PRICE / 2n)], { perProvider: 2, timeouts: { unmeasuredMs: 1_000, minMs: 500 } }, { fetch, requestTimeoutMs: 1_500 }).pool,
      // Next to an honest provider: the player gets every byte.
      withHonest: makePool([listingOf(KEYS.providerA, hostile.url, PRICE / 2n), listingOf(KEYS.providerB, honest.url)], { perProvider: 2, timeouts: { unmeasuredMs: 1_500, minMs: 1_000 } }, { fetch, requestTimeoutMs: 1_500 }).pool,
    };
    for (const [name, pool] of Object.entries(pools)) {
      const gateway = createGateway({ pool });
      const { url } = await gateway.start();
      t.after(() => gateway.stop());
      const base = `${url}/${content.manifest.contentId}/video/seg0.ts`;
      const outcomes: string[] = [];
      for (const [range, expected] of [[undefined, data], [`bytes=${4 * CHUNK + 10}-${7 * CHUNK}`, data.subarray(4 * CHUNK + 10, 7 * CHUNK + 1)], ["bytes=-100", data.subarray(-100)]] as const) {
        const r = await browserGet(base, range ? { range } : {});
        outcomes.push(assertNeverWrongBytes(r, expected, `${name} ${range ?? "whole file"}`));
      }
      if (name === "withHonest") assert.deepEqual(outcomes, ["bytes", "bytes", "bytes"], "with an honest provider the player gets every byte");
    }
  });
}
