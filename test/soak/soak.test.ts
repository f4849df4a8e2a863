// The short version of `npm run soak` (scripts/soak.ts): a few dozen paying consumers, CDN and
// relay, against 3 node processes for 25 s, with every fault once or twice (SIGKILL, SIGTERM, a
// chain outage, a full cache disk, a full data disk), then the soak's exact accounting: stores,
// /status, client acknowledgements and the chain's events agree, and every error is explained.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const soak = fileURLToPath(new URL("../../scripts/soak.ts", import.meta.url));

test("soak: 24 consumers, 3 nodes, 25 s, 2 kills, a graceful stop, an 8 s chain outage, full disks: the accounting holds", { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-soak-test-"));
  try {
    const out = join(dir, "report.json");
    const args = [soak, "--seconds", "25", "--sessions", "24", "--workers", "2", "--kills", "2", "--terms", "1", "--chain-outage", "8", "--cache-disk-full", "--data-disk-full", "5", "--out", out];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const text = await readFile(out, "utf8").catch(() => assert.fail(`the soak wrote no report (exit ${code}):\n${output.slice(-4000)}`));
    const report = JSON.parse(text) as { checks: { name: string; ok: boolean; detail: string }[]; cdn: { bytes: number }; relay: { bytes: number }; ticketsAcknowledgedToClients: number; nodes: { winners: number }[]; errors?: Record<string, { unexpected: number }>; faults?: unknown };
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    // On failure: the run's log, then when each unexplained error happened against the faults' windows.
    const unexplained = Object.fromEntries(Object.entries(report.errors ?? {}).filter(([, e]) => e.unexpected > 0));
    assert.deepEqual(failed, [], `${output.slice(-6000)}\nunexplained errors: ${JSON.stringify(unexplained)}\nfaults: ${JSON.stringify(report.faults)}`);
    assert.equal(code, 0, output.slice(-3000));
    // It moved real traffic and money: both services, tickets, winners redeemed.
    assert.ok(report.cdn.bytes > 0 && report.relay.bytes > 0 && report.ticketsAcknowledgedToClients > 0);
    assert.ok(report.nodes.reduce((s, n) => s + n.winners, 0) > 0);
    assert.ok(report.checks.length > 20);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
