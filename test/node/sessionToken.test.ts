import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { devAccount } from "../../src/chain/devAccounts.ts";
import { hashSessionToken } from "../../src/node/payments/sessionToken.ts";
import { parseSession } from "../../src/protocol/wire.ts";
import { fetchRange, getSession, makeTicket, MiB, openSession, postTickets, startHarness, type Harness } from "./harness.ts";

// The sessionId is in every ticket and public once a winner is redeemed (payments.md §1.2), so it
// must not authenticate anything: X-Bandmint-Session carries a secret token that only the
// POST /sessions response ever contained, and the node keeps only its sha256.

async function errorOf(res: Response): Promise<{ status: number; error: string; reason?: string }> {
  const body = (await res.json()) as { error: string; details?: { reason?: string } };
  return body.details?.reason === undefined ? { status: res.status, error: body.error } : { status: res.status, error: body.error, reason: body.details.reason };
}

const randomToken = (): Hex => `0x${randomBytes(32).toString("hex")}`;

describe("the session token, not the public sessionId, authenticates a session", () => {
  let dir: string;
  let h: Harness;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bandmint-token-"));
    h = await startHarness(dir);
  });
  after(async () => {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("POST /sessions returns a 32-byte token distinct from the id; GET /sessions/<id> never echoes it", async () => {
    const s = await openSession(h.url, h.consumer);
    assert.match(s.sessionToken, /^0x[0-9a-f]{64}$/);
    assert.notEqual(s.sessionToken, s.sessionId);
    const res = await getSession(h.url, s.sessionId, s);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.sessionToken, undefined);
    assert.equal(parseSession(body).sessionId, s.sessionId);
  });

  test("a third party holding only the public sessionId gets 401 and cannot eat the victim's window", async () => {
    const victim = devAccount(13);
    const s = await openSession(h.url, victim);
    const thief = { header: s.sessionId };
    for (let i = 0n; i < 6n; i++) {
      assert.deepEqual(await errorOf(await fetchRange(h.url, thief, i * MiB, (i + 1n) * MiB)), { status: 401, error: "InvalidSessionTokenError", reason: "unknown" });
    }
    // The id is not accepted on the session routes either, not even with a ticket the victim signed.
    assert.deepEqual(await errorOf(await getSession(h.url, s.sessionId, thief)), { status: 401, error: "InvalidSessionTokenError", reason: "wrong" });
    assert.deepEqual(await errorOf(await getSession(h.url, s.sessionId)), { status: 401, error: "InvalidSessionTokenError", reason: "missing" });
    // The victim's whole window is intact: 4 MiB unpaid, then 402.
    for (let i = 0n; i < h.offer.creditWindowBytes / MiB; i++) {
      const res = await fetchRange(h.url, s, i * MiB, (i + 1n) * MiB);
      assert.equal(res.status, 206, `MiB ${i}`);
      await res.arrayBuffer();
    }
    assert.equal((await fetchRange(h.url, s, 4n * MiB, 4n * MiB + 1n)).status, 402);
    const t = await makeTicket(s, victim.privateKey, h.domain, { nonce: s.nextNonce, cumulativeBytes: MiB });
    assert.deepEqual(await errorOf(await postTickets(h.url, s, [t], thief)), { status: 401, error: "InvalidSessionTokenError", reason: "wrong" });
    assert.equal(h.store.ticketsOfSession(s.sessionId).length, 0, "a ticket posted without the token is not stored");
    assert.equal((await postTickets(h.url, s, [t])).status, 200);
  });

  test("wrong, foreign, malformed and missing tokens are refused", async () => {
    const s = await openSession(h.url, h.consumer);
    const other = await openSession(h.url, devAccount(11));
    assert.deepEqual(await errorOf(await fetchRange(h.url, { sessionToken: randomToken() }, 0n, 1n)), { status: 401, error: "InvalidSessionTokenError", reason: "unknown" });
    // Another session's token opens that session only.
    assert.deepEqual(await errorOf(await getSession(h.url, s.sessionId, other)), { status: 401, error: "InvalidSessionTokenError", reason: "wrong" });
    assert.equal((await getSession(h.url, other.sessionId, other)).status, 200);
    assert.deepEqual(await errorOf(await postTickets(h.url, s, [await makeTicket(s, h.consumer.privateKey, h.domain, { nonce: s.nextNonce, cumulativeBytes: 1n })], other)), {
      status: 401, error: "InvalidSessionTokenError", reason: "wrong",
    });
    // The token's hash is not a token either.
    assert.equal((await fetchRange(h.url, { header: hashSessionToken(s.sessionToken) }, 0n, 1n)).status, 401);
    assert.equal((await errorOf(await fetchRange(h.url, { header: "0x1234" }, 0n, 1n))).error, "WireFormatError");
    assert.equal((await getSession(h.url, s.sessionId, { header: "nope" })).status, 400);
    assert.deepEqual(await errorOf(await fetch(`${h.url}/c/c/f`, { headers: { range: "bytes=0-9" } })), { status: 402, error: "SessionRequiredError" });
    // Upper-case hex is the same token.
    const res = await fetchRange(h.url, { header: `0x${s.sessionToken.slice(2).toUpperCase()}` }, 0n, 10n);
    assert.equal(res.status, 206);
    await res.arrayBuffer();
  });

  test("on one kept-alive connection each request is judged by its own token (the gate keeps the last session per connection)", async () => {
    const a = await openSession(h.url, devAccount(14));
    const b = await openSession(h.url, devAccount(15));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (token: string) =>
      new Promise<{ status: number; served: string | undefined; reused: boolean }>((resolve, reject) => {
        const req = request(`${h.url}/c/c/f`, { agent, headers: { range: "bytes=0-1023", "x-bandmint-session": token } }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, served: res.headers["x-bandmint-served-bytes"] as string | undefined, reused: req.reusedSocket }));
        });
        req.on("error", reject);
        req.end();
      });
    try {
      const seen = [await get(a.sessionToken), await get(randomToken()), await get(a.sessionToken), await get(b.sessionToken), await get(a.sessionToken)];
      assert.deepEqual(seen.map((x) => x.status), [206, 401, 206, 206, 206]);
      assert.ok(seen.slice(1).every((x) => x.reused), "all on the first connection");
      // Each request counted on its own session: a served 0, 1024, then 2048 bytes before; b 0.
      assert.deepEqual([seen[0]!.served, seen[2]!.served, seen[3]!.served, seen[4]!.served], ["0", "1024", "0", "2048"]);
    } finally {
      agent.destroy();
    }
  });
});

test("the token survives a node restart, and the database holds only its hash", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-token-restart-"));
  let h = await startHarness(dir);
  try {
    const s = await openSession(h.url, h.consumer);
    const first = await fetchRange(h.url, s, 0n, MiB);
    assert.equal(first.status, 206);
    await first.arrayBuffer();
    await h.stop();
    // Neither the token's hex nor its raw bytes are anywhere in the store's files; its hash is.
    const files = await readdir(dir);
    const bytes = Buffer.concat(await Promise.all(files.map((f) => readFile(join(dir, f)))));
    const raw = Buffer.from(s.sessionToken.slice(2), "hex");
    assert.equal(bytes.includes(Buffer.from(s.sessionToken.slice(2))), false);
    assert.equal(bytes.includes(raw), false);
    assert.equal(bytes.includes(Buffer.from(hashSessionToken(s.sessionToken).slice(2))), true);

    h = await startHarness(dir);
    const res = await fetchRange(h.url, s, MiB, 2n * MiB);
    assert.equal(res.status, 206);
    await res.arrayBuffer();
    const after = parseSession(await (await getSession(h.url, s.sessionId, s)).json());
    assert.equal(after.servedBytes, 2n * MiB);
    assert.equal((await fetchRange(h.url, { header: s.sessionId }, 2n * MiB, 3n * MiB)).status, 401);
  } finally {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a database from before tokens is migrated; its sessions cannot be used and do not hold the window", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-token-migrate-"));
  await mkdir(dir, { recursive: true });
  const consumer = devAccount(10);
  const legacyId: Hex = `0x${"5e".repeat(32)}`;
  // The sessions table as wire version 1 nodes created it, with a session 3 MiB unpaid.
  const old = new DatabaseSync(join(dir, "node.db"));
  old.exec(`CREATE TABLE sessions (
    id TEXT PRIMARY KEY, sender TEXT NOT NULL, rand TEXT NOT NULL, rand_hash TEXT NOT NULL,
    served TEXT NOT NULL, paid TEXT NOT NULL, created_at INTEGER NOT NULL, last_active INTEGER NOT NULL)`);
  old.prepare(`INSERT INTO sessions VALUES (?, ?, '1', ?, ?, '0', 0, 0)`).run(legacyId, consumer.address, `0x${"77".repeat(32)}`, (3n * MiB).toString());
  old.close();
  const h = await startHarness(dir);
  try {
    assert.equal(h.store.getSession(legacyId)?.tokenHash, undefined);
    // The old client's header (the id) and any token are refused for the legacy session.
    assert.deepEqual(await errorOf(await fetchRange(h.url, { header: legacyId }, 0n, 1n)), { status: 401, error: "InvalidSessionTokenError", reason: "unknown" });
    assert.deepEqual(await errorOf(await getSession(h.url, legacyId, { sessionToken: randomToken() })), { status: 401, error: "InvalidSessionTokenError", reason: "legacy" });
    // The client opens a new session and gets its whole window despite the legacy unpaid bytes.
    const s = await openSession(h.url, consumer);
    assert.ok(h.store.getSession(s.sessionId)?.tokenHash !== undefined);
    for (let i = 0n; i < h.offer.creditWindowBytes / MiB; i++) {
      const res = await fetchRange(h.url, s, i * MiB, (i + 1n) * MiB);
      assert.equal(res.status, 206, `MiB ${i}`);
      await res.arrayBuffer();
    }
  } finally {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
