import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeFunctionData, type Hex } from "viem";
import { ticketBrokerAbi } from "../../src/chain/abis.ts";
import type { BrokerClient } from "../../src/node/brokerClient.ts";
import { loadNodeConfig } from "../../src/node/config.ts";
import { createProviderNode, type ProviderNodeDeps } from "../../src/node/providerNode.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import { makeTicket, openSession, payingDownload } from "./harness.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";

describe("redeemer on a real chain", () => {
  let w: NodeWorld;
  let deps: Omit<ProviderNodeDeps, "wrapBroker">;
  let perTicket: bigint;
  before(async () => {
    w = await startWorld({ size: 8n * MiB });
    const clients = await w.net.clientsFor(w.provider);
    deps = { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment };
    const face = 10n ** 18n / 1024n;
    const { burnBps, treasuryBps } = w.net.deployment.params;
    perTicket = face - (face * BigInt(burnBps)) / 10_000n - (face * BigInt(treasuryBps)) / 10_000n;
  });
  after(async () => {
    await w.close();
  });

  const domain = () => ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker);

  /** The broker function a mined redemption transaction called. */
  async function calledFunction(txHash: Hex): Promise<string> {
    const { input } = await deps.publicClient.getTransaction({ hash: txHash });
    return decodeFunctionData({ abi: ticketBrokerAbi, data: input }).functionName;
  }

  async function sellTickets(url: string, mibs: number) {
    const session = await openSession(url, w.consumer);
    return { session, ...(await payingDownload({ url, session, path: `/c/${w.contentId}/data.bin`, mibs, key: w.consumer.privateKey, domain: domain() })) };
  }

  for (const crash of ["before broadcast", "after broadcast"] as const) {
    test(`a crash ${crash} neither loses nor double-redeems winners after restart`, async () => {
      const config = await loadNodeConfig({ file: await w.writeConfig(`crash-${crash.split(" ")[0]}`) });
      const wrapBroker = (b: BrokerClient): BrokerClient => ({
        ...b,
        async sendRedeem(items, gas, beforeSend) {
          if (crash === "before broadcast") {
            beforeSend(`0x${"ab".repeat(32)}`);
          } else {
            await b.sendRedeem(items, gas, beforeSend);
          }
          throw new Error("simulated crash");
        },
      });
      const balance0 = await w.tokenBalance(w.provider.address);
      const txCount0 = await deps.publicClient.getTransactionCount({ address: w.provider.address });
      const node1 = createProviderNode(config, { ...deps, wrapBroker });
      const url = await node1.start();
      await sellTickets(url, 3);
      const r1 = await node1.redeemNow();
      assert.match(r1.error ?? "", /simulated crash/);
      assert.equal(node1.store.winnersInState("submitted").length, 3);
      await node1.stop();

      const node2 = createProviderNode(config, deps);
      await node2.start();
      try {
        const r2 = await node2.redeemNow();
        assert.equal(r2.confirmed, 3, JSON.stringify(r2));
        assert.equal(r2.submitted.length, crash === "before broadcast" ? 1 : 0);
        assert.equal(node2.store.winnersInState("confirmed").length, 3);
        assert.equal((await w.tokenBalance(w.provider.address)) - balance0, 3n * perTicket);
        assert.equal(await deps.publicClient.getTransactionCount({ address: w.provider.address }), txCount0 + 1);
        const r3 = await node2.redeemNow();
        assert.deepEqual([r3.submitted.length, r3.confirmed], [0, 0]);
      } finally {
        await node2.stop();
      }
    });
  }

  test("a stop waits at most its budget for a round stuck on RPC calls; the halted round records and sends nothing, and the next start redeems", async () => {
    const config = await loadNodeConfig({ file: await w.writeConfig("stuck-rpc") });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let simulations = 0;
    let sends = 0;
    const wrapBroker = (b: BrokerClient): BrokerClient => ({
      ...b,
      // An RPC endpoint that stopped answering: the call returns only when the test lets it.
      async simulateRedeem(items) {
        simulations++;
        await released;
        return b.simulateRedeem(items);
      },
      async sendRedeem(items, gas, beforeSend) {
        sends++;
        return b.sendRedeem(items, gas, beforeSend);
      },
    });
    const node1 = createProviderNode(config, { ...deps, wrapBroker });
    const url = await node1.start();
    await sellTickets(url, 3);
    const round = node1.redeemNow();
    while (simulations === 0) await new Promise((r) => setTimeout(r, 10));
    const t0 = performance.now();
    await node1.stop();
    const stopMs = performance.now() - t0;
    // The redeemer's budget is 2 s; the rest of the stop is local work.
    assert.ok(stopMs < 8000, `stop took ${stopMs} ms`);
    release();
    const r1 = await round;
    assert.match(r1.error ?? "", /stopped during this round/);
    assert.equal(sends, 0, "a halted round sends nothing");

    const node2 = createProviderNode(config, deps);
    await node2.start();
    try {
      assert.equal(node2.store.winnersInState("pending").length, 3, "the winners are still pending, none lost");
      const r2 = await node2.redeemNow();
      assert.equal(r2.confirmed, 3, JSON.stringify(r2));
    } finally {
      await node2.stop();
    }
  });

  test("winners go out as one compact batch, and each ticket's pay is booked from TicketGroupRedeemed", async () => {
    const config = await loadNodeConfig({ file: await w.writeConfig("compact") });
    const node = createProviderNode(config, deps);
    const url = await node.start();
    try {
      const { tickets } = await sellTickets(url, 3);
      const r = await node.redeemNow();
      assert.equal(r.confirmed, 3, JSON.stringify(r));
      assert.equal(await calledFunction(r.submitted[0]!), "redeemTicketsCompact");
      const face = tickets[0]!.ticket.faceValue;
      for (const t of node.store.winnersInState("confirmed").filter((x) => x.txHash === r.submitted[0])) {
        assert.equal(t.paidValue, face, t.hash);
      }
      assert.equal(node.store.winnersInState("confirmed").filter((x) => x.txHash === r.submitted[0]).length, 3);
    } finally {
      await node.stop();
    }
  });

  test("simulation drops a ticket the broker would refuse and redeems the rest", async () => {
    const config = await loadNodeConfig({ file: await w.writeConfig("drop") });
    const node = createProviderNode(config, deps);
    const url = await node.start();
    try {
      const { session, tickets } = await sellTickets(url, 2);
      // A ticket stored with the wrong recipientRand: the broker reverts InvalidRecipientRand.
      const last = tickets.at(-1)!.ticket;
      const bad = await makeTicket(session, w.consumer.privateKey, domain(), { nonce: last.senderNonce + 1n, cumulativeBytes: last.cumulativeBytes + 1n });
      node.store.acceptTicket({ hash: `0x${"cd".repeat(32)}`, sessionId: session.sessionId, ticket: bad.ticket, signature: bad.signature, recipientRand: 12345n, winning: true, servedBytes: 3n * MiB, now: Date.now() });
      const balance0 = await w.tokenBalance(w.provider.address);
      const r = await node.redeemNow();
      assert.equal(r.confirmed, 2, JSON.stringify(r));
      assert.equal(r.dropped.length, 1);
      // The compact encoding cannot carry a ticket whose recipientRand does not match: the full
      // call names it, and the rest goes out compact.
      assert.match(r.dropped[0]!.reason, /^InvalidRecipientRand/);
      assert.equal(await calledFunction(r.submitted[0]!), "redeemTicketsCompact");
      assert.equal(node.store.getTicket(`0x${"cd".repeat(32)}`)?.state, "failed");
      assert.equal((await w.tokenBalance(w.provider.address)) - balance0, 2n * perTicket);
    } finally {
      await node.stop();
    }
  });

  test("waits while the fee is too high, but always redeems before the deadline", async () => {
    const clock = { offsetMs: 0, now() { return Date.now() + this.offsetMs; } };
    const config = await loadNodeConfig({ file: await w.writeConfig("deadline", { redeem: { maxFeeShareBps: 0, deadlineMarginSeconds: 3600, intervalSeconds: 3600 } }) });
    const node = createProviderNode(config, { ...deps, clock });
    const url = await node.start();
    try {
      await sellTickets(url, 2);
      const r1 = await node.redeemNow();
      assert.deepEqual([r1.submitted.length, r1.deferred], [0, 2]);
      // Tickets live 86400 s; half an hour before expiry they are inside the deadline margin.
      clock.offsetMs = (86_400 - 1800) * 1000;
      const r2 = await node.redeemNow();
      assert.equal(r2.confirmed, 2, JSON.stringify(r2));
    } finally {
      await node.stop();
    }
  });
});
