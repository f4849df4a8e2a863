// Full disks, for real: small tmpfs mounts (root only; skipped where mount is not allowed) under
// the ticket store and the chunk cache. A full data disk must refuse with 507 StorageFullError and
// lose nothing; a full cache disk must go on serving (from origin) and leave no partial files.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import type { Hex } from "viem";
import { openTicketStore, type AcceptTicketInput } from "../../src/node/payments/ticketStore.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";
import { openSession, payingDownload, postSessionRequest, sessionRequestBody } from "./harness.ts";
import { spawnNode } from "./spawnNode.ts";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** Mounts a tmpfs of `size` on a new directory; undefined where this machine does not allow it. */
function tmpfs(size: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "bandmint-full-"));
  if (spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" }).status === 0) return dir;
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}
function unmount(dir: string): void {
  // Lazy: a failed test may still hold a file open there.
  spawnSync("umount", ["-l", dir], { stdio: "ignore" });
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // still busy: the directory stays in /tmp
  }
}
/** Writes a file until the filesystem has no block left; returns its path (unlink it to free the disk). */
function fill(dir: string): string {
  const path = join(dir, "filler");
  const fd = openSync(path, "w");
  try {
    for (const size of [1 << 20, 4096, 512]) {
      try {
        for (;;) writeSync(fd, Buffer.alloc(size, 1));
      } catch {
        // ENOSPC: go on with smaller writes
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

const hex = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;
function input(n: number, sessionId: Hex): AcceptTicketInput {
  const ticket = {
    recipient: "0x0000000000000000000000000000000000000002", sender: "0x0000000000000000000000000000000000000001", faceValue: 1n, winProb: 1n,
    senderNonce: BigInt(n), recipientRandHash: hex(1), expiry: 2_000_000_000n, sessionId, cumulativeBytes: BigInt(n) * 1000n,
  } as const;
  return { hash: hex(1000 + n), sessionId, ticket, signature: `0x${"ab".repeat(65)}`, recipientRand: 1n, winning: n % 2 === 0, servedBytes: BigInt(n) * 1000n, now: n };
}

describe("the ticket store on a full disk", () => {
  for (const ticketWriter of ["inline", "thread"] as const) {
    test(`refuses with StorageFullError and keeps every committed ticket (writer ${ticketWriter})`, async (t: TestContext) => {
      const dir = tmpfs("4m");
      if (dir === undefined) return t.skip("cannot mount a tmpfs here (needs root)");
      try {
        const path = join(dir, "tickets.db");
        const store = openTicketStore({ path, ticketWriter });
        t.after(() => store.close());
        const session = hex(7);
        store.createSession({ id: session, sender: "0x0000000000000000000000000000000000000001", rand: 1n, randHash: hex(1), tokenHash: hex(2), now: 1 });
        await store.writeTickets([input(1, session), input(2, session)]);
        const filler = fill(dir);
        // Before this fix the store's ROLLBACK after SQLite's own rollback threw "cannot rollback -
        // no transaction is active" instead, and the node answered 500 InternalError.
        // (On the writer thread the session's write is asynchronous, so it rejects instead of throwing.)
        await assert.rejects(async () => store.createSession({ id: hex(8), sender: "0x0000000000000000000000000000000000000001", rand: 1n, randHash: hex(1), tokenHash: hex(3), now: 2 }), { name: "StorageFullError" });
        const big = Array.from({ length: 400 }, (_, i) => input(3 + i, session));
        await assert.rejects(async () => store.writeTickets(big), { name: "StorageFullError" });
        unlinkSync(filler);
        await store.writeTickets([input(3, session)]);
        assert.equal(store.lastNonce("0x0000000000000000000000000000000000000001"), 3n);
        store.close();
        await new Promise((r) => setTimeout(r, 100)); // the writer thread closes its connection
        const db = new DatabaseSync(path, { readOnly: true });
        assert.equal((db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check, "ok");
        assert.deepEqual((db.prepare("SELECT hash FROM tickets ORDER BY nonce_key").all() as { hash: string }[]).map((r) => r.hash), [hex(1001), hex(1002), hex(1003)]);
        db.close();
      } finally {
        unmount(dir);
      }
    });
  }
});

describe("a node with full disks (its own process)", () => {
  let w: NodeWorld;
  const mounts: string[] = [];
  before(async () => {
    w = await startWorld({ size: 8n * MiB });
  });
  after(async () => {
    for (const m of mounts) unmount(m);
    await w.close();
  });

  test("a full cache disk: serves every byte from origin, leaves no partial chunk; a full data disk: 507 for new sessions, then recovers", async (t: TestContext) => {
    const data = tmpfs("64m");
    const cache = tmpfs("2m");
    for (const m of [data, cache]) if (m !== undefined) mounts.push(m);
    if (data === undefined || cache === undefined) return t.skip("cannot mount a tmpfs here (needs root)");
    mkdirSync(join(data, "node"));
    const config = await w.writeConfig("full", { dataDir: join(data, "node"), cacheDir: cache, memoryCacheBytes: "1 MiB", redeem: { maxFeeShareBps: 0, intervalSeconds: 3600 } });
    const node = await spawnNode([main, "node", "start", "--config", config]);
    try {
      // The data disk fills before any session: the first one cannot be recorded.
      const filler = fill(data);
      const refused = await postSessionRequest(node.url, await sessionRequestBody(node.url, w.consumer));
      assert.equal(refused.status, 507, await refused.clone().text());
      assert.equal(((await refused.json()) as { error: string }).error, "StorageFullError");
      assert.equal((await fetch(`${node.url}/status`)).status, 200, "the node is still up");
      unlinkSync(filler);

      // The cache disk holds 2 MiB, the file is 8 MiB (twice), the memory cache 1 MiB: most chunks
      // cannot be cached and come from the origin again.
      const domain = ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker);
      const session = await openSession(node.url, w.consumer);
      const first = await payingDownload({ url: node.url, session, path: `/c/${w.contentId}/data.bin`, mibs: 8, key: w.consumer.privateKey, domain, payLast: false });
      assert.ok(first.bytes.equals(w.data), "every byte served and correct");
      assert.deepEqual(readdirSync(join(cache, "chunks")).filter((f) => f.endsWith(".tmp")), [], "no partial chunk file left on the full cache disk");
      const stats = ((await (await fetch(`${node.url}/status`)).json()) as { edge: { originFetches: number } }).edge;
      assert.ok(stats.originFetches >= 8, `chunks came from the origin (${stats.originFetches})`);

      // SIGTERM with the cache disk still full: the index cannot be written, the stop succeeds.
      fill(cache);
      node.child.kill("SIGTERM");
      const exit = await node.exited;
      assert.equal(exit.code, 0, node.output());
      const db = new DatabaseSync(join(data, "node", "tickets.db"), { readOnly: true });
      assert.equal((db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check, "ok");
      assert.equal((db.prepare("SELECT COUNT(*) AS n FROM tickets").get() as { n: number }).n, first.tickets.length);
      db.close();
    } finally {
      if (node.child.exitCode === null) node.child.kill("SIGKILL");
    }
  });
});
