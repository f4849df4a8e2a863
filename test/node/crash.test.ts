import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openTicketStore } from "../../src/node/payments/ticketStore.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import { fetchRange, getSession, makeTicket, openSession, payingDownload } from "./harness.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";
import { spawnNode as spawnCli } from "./spawnNode.ts";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** Spawns `bandmint node start --config <path>` and resolves with its URL once it listens. */
const spawnNode = (configPath: string) => spawnCli([main, "node", "start", "--config", configPath]);

describe("ticket store survives SIGKILL", () => {
  let w: NodeWorld;
  before(async () => {
    w = await startWorld({ size: 8n * MiB });
  });
  after(async () => {
    await w.close();
  });

  test("kill -9 mid-stream keeps every acknowledged ticket; after restart the winners are redeemed once", async () => {
    const configPath = await w.writeConfig("crash", { redeem: { maxFeeShareBps: 0, deadlineMarginSeconds: 0, intervalSeconds: 3600 } });
    const dataDir = join(w.dir, "crash");
    const domain = ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker);
    const first = await spawnNode(configPath);
    const session = await openSession(first.url, w.consumer);
    // Pay for 4 MiB as the stream goes (the last MiB is paid on the request that gets killed).
    const { tickets } = await payingDownload({ url: first.url, session, path: `/c/${w.contentId}/data.bin`, mibs: 4, key: w.consumer.privateKey, domain, payLast: false });
    const inFlightTicket = await makeTicket(session, w.consumer.privateKey, domain, { nonce: session.nextNonce + BigInt(tickets.length), cumulativeBytes: 4n * MiB });
    const pending = fetchRange(first.url, session, 4n * MiB, 5n * MiB, [inFlightTicket], `/c/${w.contentId}/data.bin`).then(
      async (r) => ({ status: r.status, paid: r.headers.get("x-bandmint-paid-bytes"), body: await r.arrayBuffer().catch(() => undefined) }),
      () => undefined,
    );
    const exited = new Promise((resolve) => first.child.once("exit", resolve));
    first.child.kill("SIGKILL");
    await exited;
    const answered = await pending;

    const store = openTicketStore({ path: join(dataDir, "tickets.db") });
    const stored = store.ticketsOfSession(session.sessionId);
    store.close();
    const acknowledged = tickets.length + (answered?.status === 206 ? 1 : 0);
    // Every ticket the node acknowledged is on disk (the killed request's ticket may also be, unacknowledged).
    assert.ok(stored.length >= acknowledged, `${stored.length} stored < ${acknowledged} acknowledged`);
    assert.deepEqual(stored.slice(0, tickets.length).map((t) => t.signature), tickets.map((t) => t.signature));
    assert.ok(stored.every((t) => t.winning && t.state === "pending"));

    // Restart with a redeem policy that redeems at once: the first round redeems what was stored.
    const configPath2 = await w.writeConfig("crash", { redeem: { maxFeeShareBps: 10_000, intervalSeconds: 3600 } });
    const before = await w.tokenBalance(w.provider.address);
    const second = await spawnNode(configPath2);
    let confirmed = 0;
    for (let i = 0; i < 100 && confirmed < stored.length; i++) {
      const status = (await (await fetch(`${second.url}/status`)).json()) as { ticketsByState: { confirmed: number } };
      confirmed = status.ticketsByState.confirmed;
      if (confirmed < stored.length) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(confirmed, stored.length, second.output());
    const face = 10n ** 18n / 1024n;
    const { burnBps, treasuryBps } = w.net.deployment.params;
    const perTicket = face - (face * BigInt(burnBps)) / 10_000n - (face * BigInt(treasuryBps)) / 10_000n;
    assert.equal((await w.tokenBalance(w.provider.address)) - before, BigInt(stored.length) * perTicket);
    // The restored session still knows what was paid: the next ticket continues from there. Its
    // token survived the SIGKILL too (only its hash is on disk, written with the session).
    const s = (await (await getSession(second.url, session.sessionId, session)).json()) as { paidBytes: string };
    assert.equal(BigInt(s.paidBytes), stored.at(-1)!.ticket.cumulativeBytes);
    const exit = new Promise<number | null>((resolve) => second.child.once("exit", resolve));
    second.child.kill("SIGTERM");
    assert.equal(await exit, 0, second.output());
  });
});
