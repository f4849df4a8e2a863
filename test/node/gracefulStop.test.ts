// A service manager's stop: SIGTERM to bin/bandmint.js (the `bandmint` command a unit file runs)
// must reach the node, which finishes the response in flight, commits its tickets, flushes the
// session counters, closes the store and exits 0 within 10 s.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeV8Flags, RUNTIME_ENV } from "../../src/cli/lib/nodeRuntime.ts";
import { readHost } from "../../src/node/hostDefaults.ts";
import { openTicketStore } from "../../src/node/payments/ticketStore.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import { encodeTicketHeader } from "../../src/protocol/wire.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";
import { makeTicket, openSession, payingDownload } from "./harness.ts";
import { spawnNode } from "./spawnNode.ts";

const bin = fileURLToPath(new URL("../../bin/bandmint.js", import.meta.url));

/** A Node on this machine that cannot strip types (so bin/bandmint.js runs the CLI in a child), if any. */
function olderNode(): string | undefined {
  for (const candidate of ["/usr/bin/node", "/usr/local/bin/node"]) {
    if (!existsSync(candidate)) continue;
    const r = spawnSync(candidate, ["-p", "Boolean(process.features.typescript)"], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.trim() === "false") return candidate;
  }
  return undefined;
}

describe("SIGTERM to bin/bandmint.js stops the node gracefully", () => {
  let w: NodeWorld;
  before(async () => {
    w = await startWorld({ size: 8n * MiB });
  });
  after(async () => {
    await w.close();
  });

  async function stopWhileServing(name: string, node: string, { relaunched }: { relaunched: boolean }): Promise<void> {
    const config = await w.writeConfig(name, { redeem: { maxFeeShareBps: 0, intervalSeconds: 3600 } });
    const dataDir = join(w.dir, name);
    const spawned = await spawnNode([bin, "node", "start", "--config", config], { node });
    if (relaunched && existsSync(`/proc/${spawned.child.pid}/cmdline`)) {
      // The node restarted itself in place with its small-footprint runtime (src/cli/lib/nodeRuntime.ts):
      // the process SIGTERM goes to is the one that runs with the flags.
      const cmdline = readFileSync(`/proc/${spawned.child.pid}/cmdline`, "utf8").split("\0");
      for (const flag of nodeV8Flags(readHost())) assert.ok(cmdline.includes(flag), cmdline.join(" "));
      assert.match(readFileSync(`/proc/${spawned.child.pid}/environ`, "utf8"), new RegExp(`(^|\0)${RUNTIME_ENV}=tuned\0`));
    }
    const domain = ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker);
    const session = await openSession(spawned.url, w.consumer);
    const path = `/c/${w.contentId}/data.bin`;
    const paid = await payingDownload({ url: spawned.url, session, path, mibs: 2, key: w.consumer.privateKey, domain, payLast: false });
    // The third and fourth MiB in one response, paid for by a ticket on the request, read slowly:
    // SIGTERM arrives while it is in flight.
    const ticket = await makeTicket(session, w.consumer.privateKey, domain, { nonce: session.nextNonce + 1n, cumulativeBytes: 2n * MiB });
    const body = await new Promise<{ status: number; bytes: Buffer }>((resolve, reject) => {
      const req = get(`${spawned.url}${path}`, {
        headers: { range: `bytes=${2n * MiB}-${4n * MiB - 1n}`, "x-bandmint-session": session.sessionToken, "x-bandmint-ticket": encodeTicketHeader([ticket]) },
      }, (res) => {
        res.pause();
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.once("end", () => resolve({ status: res.statusCode!, bytes: Buffer.concat(parts) }));
        res.once("error", reject);
        const t0 = Date.now();
        spawned.child.kill("SIGTERM");
        // Wait until the node says it is stopping, then read the rest.
        const wait = setInterval(() => {
          if (/stopping/.test(spawned.output()) || Date.now() - t0 > 3000) {
            clearInterval(wait);
            res.resume();
          }
        }, 20);
      });
      req.once("error", reject);
    });
    const t0 = Date.now();
    const exit = await spawned.exited;
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(exit.code, 0, spawned.output());
    assert.match(spawned.output(), /stopping\n[\s\S]*stopped\n/);
    assert.equal(body.status, 206);
    assert.ok(body.bytes.equals(w.data.subarray(Number(2n * MiB), Number(4n * MiB))), "the response in flight was finished, not cut");
    // Closed cleanly: SQLite checkpoints and removes the WAL when its last connection closes.
    const wal = join(dataDir, "tickets.db-wal");
    assert.ok(!existsSync(wal) || statSync(wal).size === 0, "the WAL was checkpointed by a clean close");
    const store = openTicketStore({ path: join(dataDir, "tickets.db") });
    try {
      assert.equal(store.ticketsOfSession(session.sessionId).length, paid.tickets.length + 1, "every ticket the node accepted is stored");
      assert.equal(store.getSession(session.sessionId)?.servedBytes, 4n * MiB, "the served counter was flushed");
    } finally {
      store.close();
    }
  }

  test("on the running Node (the CLI in bin's own process)", async () => {
    await stopWhileServing("term-inprocess", process.execPath, { relaunched: true });
  });

  test("on a Node that cannot strip types (bin forwards the signal to its child)", async (t) => {
    const older = olderNode();
    if (older === undefined) return t.skip("no Node without type stripping on this machine");
    await stopWhileServing("term-forwarded", older, { relaunched: false });
  });
});
