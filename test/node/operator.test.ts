// The operator's experience on a real chain: a registered node sells bytes for tickets, redeems
// them, and then every figure the operator sees (bandmint earnings / rewards / node status / offers,
// the dashboard in a real headless Chromium, /metrics) is checked against the chain itself: its
// events, its views and the provider's token balance. The dashboard's buttons claim and withdraw
// for real. A second node shows the limits on the real node: 503 with Retry-After, /offer says
// unavailable, the client's probe skips it, tickets for delivered bytes are still taken; and one
// rate limit paces delivery and relay together, each counted under its service.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { parseUnits, type Abi } from "viem";
import { rewardsAbi, ticketBrokerAbi, vestingAbi } from "../../src/chain/abis.ts";
import earningsCommand from "../../src/cli/commands/earnings.ts";
import nodeStatusCommand from "../../src/cli/commands/node-status.ts";
import offersCommand from "../../src/cli/commands/offers.ts";
import rewardsCommand from "../../src/cli/commands/rewards.ts";
import { EARNINGS_CSV_HEADER } from "../../src/cli/lib/earningsCsv.ts";
import { freePort } from "../../src/devnet/freePort.ts";
import { probeProviders } from "../../src/market/probeProviders.ts";
import { createProviderStats } from "../../src/market/providerStats.ts";
import { loadNodeConfig } from "../../src/node/config.ts";
import { createProviderNode } from "../../src/node/providerNode.ts";
import { registerProvider } from "../../src/node/registerProvider.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import { blobSha256, startBlobServer } from "../fixtures/blobServer.ts";
import { chromiumMissing, launchChromium } from "../fixtures/chromium.ts";
import { connectThrough, requestOver } from "../fixtures/proxyClients.ts";
import { fetchRange, makeTicket, openSession, payingDownload, postSessionRequest, postTickets, sessionRequestBody } from "./harness.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";

const artifacts = new URL("../../test-artifacts/", import.meta.url).pathname;

function capture() {
  const chunks: string[] = [];
  return Object.assign(new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }), { text: () => chunks.join("") });
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("operator experience on a real chain", () => {
  let w: NodeWorld;
  let node: ReturnType<typeof createProviderNode>;
  let url: string;
  let configPath: string;
  let stakeBalance: bigint;
  const signal = new AbortController().signal;

  before(async () => {
    w = await startWorld({ size: 8n * MiB });
    const port = await freePort();
    configPath = await w.writeConfig("op", { port, admin: { port: 0 } });
    const config = await loadNodeConfig({ file: configPath });
    const clients = await w.net.clientsFor(w.provider);
    await registerProvider({
      publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment,
      listing: { endpoint: `http://127.0.0.1:${port}`, pricePerGiB: config.pricePerGiB, capacityMbps: 100, region: "eu", services: ["cdn"] },
    });
    // After the stake left the wallet: from here on only redemptions and withdrawals move the balance.
    stakeBalance = await w.tokenBalance(w.provider.address);
    node = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment });
    url = await node.start();
  });
  after(async () => {
    await node?.stop();
    await w?.close();
  });

  const domain = () => ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker);
  const epochLength = () => w.net.deployment.params.epochLength;
  const read = (address: `0x${string}`, abi: Abi, functionName: string, args: unknown[] = []) =>
    w.net.clientsFor(w.provider).then((c) => c.publicClient.readContract({ address, abi, functionName, args }) as Promise<any>); // eslint-disable-line @typescript-eslint/no-explicit-any
  async function sell(mibs: number) {
    const session = await openSession(url, w.consumer);
    await payingDownload({ url, session, path: `/c/${w.contentId}/data.bin`, mibs, key: w.consumer.privateKey, domain: domain() });
    const round = await node.redeemNow();
    assert.equal(round.confirmed, mibs, JSON.stringify(round));
  }
  async function run(command: typeof earningsCommand, values: Record<string, unknown>, positionals: string[] = []) {
    const stdout = capture();
    const stderr = capture();
    const code = await command.run({ values: values as never, positionals, signal, stdout, stderr });
    assert.equal(code, 0, stderr.text());
    return stdout.text();
  }
  /** The chain's own record of the provider's redemptions, read here independently of the node. */
  async function chainRedemptions() {
    const c = await w.net.clientsFor(w.provider);
    const events = await c.publicClient.getContractEvents({
      address: w.net.deployment.contracts.broker, abi: ticketBrokerAbi, eventName: "TicketsRedeemed", args: { recipient: w.provider.address }, fromBlock: w.net.deployment.startBlock,
    });
    const sum = { paid: 0n, burned: 0n, treasury: 0n, epochs: new Set<bigint>() };
    for (const e of events) {
      sum.paid += e.args.paid!;
      sum.burned += e.args.burned!;
      sum.treasury += e.args.treasury!;
      sum.epochs.add(e.args.epoch!);
    }
    let ledgerPaid = 0n;
    let ledgerBurned = 0n;
    for (const epoch of sum.epochs) {
      const [paid, burned] = (await read(w.net.deployment.contracts.broker, ticketBrokerAbi as Abi, "epochAccount", [epoch, w.provider.address])) as [bigint, bigint];
      ledgerPaid += paid;
      ledgerBurned += burned;
    }
    return { ...sum, ledgerPaid, ledgerBurned };
  }

  test("earnings: every redeemed ticket is a row, and the totals equal the chain's events, ledger and the provider's balance", async () => {
    await sell(4);
    await w.net.increaseTime(epochLength());
    await sell(3);
    await w.net.increaseTime(epochLength());
    const json = JSON.parse(await run(earningsCommand, { config: configPath, json: true })) as Json;
    const chain = await chainRedemptions();
    assert.equal(chain.epochs.size, 2);
    assert.equal(json.totals.tickets, 7);
    assert.equal(BigInt(json.totals.gross), chain.paid);
    assert.equal(BigInt(json.totals.gross), chain.ledgerPaid);
    assert.equal(BigInt(json.totals.burn), chain.burned);
    assert.equal(BigInt(json.totals.burn), chain.ledgerBurned);
    assert.equal(BigInt(json.totals.treasury), chain.treasury);
    // Net is exactly what arrived in the provider's wallet.
    assert.equal(BigInt(json.totals.net), (await w.tokenBalance(w.provider.address)) - stakeBalance);
    // Gas: the node's own record of its redemption receipts.
    assert.equal(BigInt(json.totals.gas), BigInt(node.status().earnings.gasCost));
    assert.equal(json.rows.length, 7);
    assert.ok(json.rows.every((r: Json) => r.kind === "ticket" && /^0x[0-9a-f]{64}$/.test(r.txHash) && /^0x[0-9a-f]{64}$/.test(r.ticketHash)));
    // The CSV says the same, to the wei.
    const csv = (await run(earningsCommand, { config: configPath, csv: true })).trim().split("\n");
    assert.equal(csv[0], EARNINGS_CSV_HEADER);
    assert.equal(csv.length, 8);
    const col = (name: string) => csv.slice(1).reduce((s, line) => s + parseUnits(line.split(",")[EARNINGS_CSV_HEADER.split(",").indexOf(name)]!, 18), 0n);
    assert.equal(col("net_band"), BigInt(json.totals.net));
    assert.equal(col("gross_band"), chain.paid);
    // A date range selects rows by block time: nothing before genesis, everything up to now.
    const none = JSON.parse(await run(earningsCommand, { config: configPath, json: true, to: "2000-01-01" })) as Json;
    assert.equal(none.rows.length, 0);
  });

  test("rewards: status lists the finished epochs, claim takes them in one claimMany, withdraw sends the vested part", async () => {
    const status = await run(rewardsCommand, { config: configPath }, ["status"]);
    const chain = await chainRedemptions();
    let expected = 0n;
    for (const e of chain.epochs) {
      const reward = (await read(w.net.deployment.contracts.rewards, rewardsAbi as Abi, "rewardOf", [e, w.provider.address])) as bigint;
      assert.ok(reward > 0n);
      assert.match(status, new RegExp(`epoch ${e}\\s`));
      expected += reward;
    }
    const claimed = await run(rewardsCommand, { config: configPath }, ["claim"]);
    assert.match(claimed, /claimed epochs \d+, \d+:/);
    for (const e of chain.epochs) assert.equal(await read(w.net.deployment.contracts.rewards, rewardsAbi as Abi, "claimed", [e, w.provider.address]), true);
    assert.equal(await read(w.net.deployment.contracts.vesting, vestingAbi as Abi, "grantedOf", [w.provider.address]), expected);
    await assert.rejects(rewardsCommand.run({ values: { config: configPath }, positionals: ["claim"], signal, stdout: capture(), stderr: capture() }), { name: "NothingToClaimError" });
  });

  test("the dashboard in Chromium: no console error, figures equal the API and the chain, Claim and Withdraw work", async (t) => {
    // A third epoch of traffic, finished: claimable from the page. The earlier claim vests from then.
    await sell(2);
    await w.net.increaseTime(epochLength());
    const missing = chromiumMissing();
    if (missing !== undefined) {
      // Without a browser, the CLI clicks the page's two buttons, so the tests after this one find
      // the chain as the page would have left it.
      assert.match(await run(rewardsCommand, { config: configPath }, ["claim"]), /claimed epochs \d+:/);
      assert.match(await run(rewardsCommand, { config: configPath }, ["withdraw"]), /^withdrew /);
      return t.skip(missing);
    }
    const urls = node.adminUrls()!;
    assert.equal(urls.tokenRequired, false);
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(urls.dashboard);
      await page.waitForSelector("html[data-rendered='1']");
      const value = (field: string) => page.getAttribute(`[data-field="${field}"]`, "data-value");
      const report = (await (await fetch(`${urls.admin}/api/report`)).json()) as Json;
      const chain = await chainRedemptions();
      // The page shows the API's figures...
      for (const field of ["summary.netTotal", "summary.expected", "summary.realised", "summary.claimable", "earnings.totals.gross", "earnings.totals.burn", "earnings.totals.treasury", "earnings.totals.gas", "tickets.received", "rewards.vesting.granted"]) {
        assert.equal(await value(field), String(field.split(".").reduce((o: Json, k) => o[k], report)), field);
      }
      // ...and they are the chain's.
      assert.equal(BigInt((await value("earnings.totals.gross"))!), chain.paid);
      assert.equal(BigInt((await value("earnings.totals.burn"))!), chain.burned);
      assert.equal(BigInt((await value("summary.netTotal"))!), (await w.tokenBalance(w.provider.address)) - stakeBalance);
      const lastEpoch = [...chain.epochs].sort((a, b) => (a < b ? 1 : -1))[0]!;
      assert.equal(BigInt((await value("summary.claimable"))!), await read(w.net.deployment.contracts.rewards, rewardsAbi as Abi, "rewardOf", [lastEpoch, w.provider.address]));
      assert.equal(Number(await value("tickets.received")), 9);
      // Reachability is what the node's own check says (/status), on the page as in the API.
      assert.equal(await page.textContent('[data-field="summary.reachability"]'), (node.status() as Json).reachability.state);
      assert.match((await page.textContent('[data-field="earnings.variance.line"]'))!, /certain to win/);

      const grantedBefore = (await read(w.net.deployment.contracts.vesting, vestingAbi as Abi, "grantedOf", [w.provider.address])) as bigint;
      await page.click("#claim");
      await page.waitForFunction(() => /Claimed epochs/.test(document.getElementById("notice")!.textContent ?? ""));
      assert.equal(await read(w.net.deployment.contracts.rewards, rewardsAbi as Abi, "claimed", [lastEpoch, w.provider.address]), true);
      assert.ok(((await read(w.net.deployment.contracts.vesting, vestingAbi as Abi, "grantedOf", [w.provider.address])) as bigint) > grantedBefore);

      // One epoch after the first claim, a 720th of it has vested: withdraw it from the page.
      const balanceBefore = await w.tokenBalance(w.provider.address);
      await page.waitForFunction(() => !(document.getElementById("withdraw") as HTMLButtonElement).disabled);
      await page.click("#withdraw");
      await page.waitForFunction(() => /Withdrew/.test(document.getElementById("notice")!.textContent ?? ""));
      const withdrawn = (await read(w.net.deployment.contracts.vesting, vestingAbi as Abi, "withdrawnOf", [w.provider.address])) as bigint;
      assert.ok(withdrawn > 0n);
      assert.equal((await w.tokenBalance(w.provider.address)) - balanceBefore, withdrawn);
      await page.waitForSelector("html[data-rendered='1']");
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  test("after claims and withdrawals, the export's totals still equal the chain: rewards = granted, withdrawn = Vesting, balance = net + withdrawn", async () => {
    await w.net.increaseTime(10n * epochLength());
    const out = await run(rewardsCommand, { config: configPath }, ["withdraw"]);
    assert.match(out, /^withdrew /);
    const json = JSON.parse(await run(earningsCommand, { config: configPath, json: true })) as Json;
    const granted = (await read(w.net.deployment.contracts.vesting, vestingAbi as Abi, "grantedOf", [w.provider.address])) as bigint;
    const withdrawn = (await read(w.net.deployment.contracts.vesting, vestingAbi as Abi, "withdrawnOf", [w.provider.address])) as bigint;
    assert.equal(BigInt(json.totals.reward), granted);
    assert.equal(BigInt(json.totals.withdrawn), withdrawn);
    assert.equal(BigInt(json.totals.net) + BigInt(json.totals.withdrawn), (await w.tokenBalance(w.provider.address)) - stakeBalance);
    assert.deepEqual(json.rows.map((r: Json) => r.kind).filter((k: string) => k !== "ticket"), ["reward", "reward", "reward", "withdraw", "withdraw"]);
  });

  test("node status prints the dashboard's top row; /metrics has the same figures; offers ranks the node", async () => {
    const urls = node.adminUrls()!;
    const report = (await (await fetch(`${urls.admin}/api/report`)).json()) as Json;
    const status = await run(nodeStatusCommand, { "admin-url": urls.admin, json: true });
    const summary = JSON.parse(status) as Json;
    for (const k of ["provider", "netTotal", "expected", "realised", "servedTotal", "claimable", "withdrawable"]) assert.equal(summary[k], report.summary[k], k);
    assert.match(await run(nodeStatusCommand, { "admin-url": urls.admin }), new RegExp(`provider\\s+${w.provider.address}`));
    // The event-loop delay is measured from the first scrape on: the second one has it.
    assert.doesNotMatch(await (await fetch(urls.metrics)).text(), /bandmint_event_loop_lag_seconds\{/);
    await new Promise((r) => setTimeout(r, 50));
    const metrics = await (await fetch(urls.metrics)).text();
    assert.match(metrics, new RegExp(`bandmint_served_bytes_total\\{service="cdn"\\} ${Number(report.traffic.totals.cdn)}\\b`));
    assert.match(metrics, /bandmint_tickets\{outcome="confirmed"\} 9\b/);
    assert.match(metrics, /bandmint_event_loop_lag_seconds\{quantile="0.99"\} /);
    assert.match(metrics, /bandmint_available 1\b/);
    assert.match(metrics, /bandmint_cache_hit_ratio /);
    const offers = JSON.parse(await run(offersCommand, { deployment: w.deploymentPath, rpc: w.net.rpcUrl, json: true, service: "cdn" })) as Json;
    assert.equal(offers.offers.length, 1);
    assert.deepEqual([offers.offers[0].rank, offers.offers[0].provider, offers.offers[0].reachability], [1, w.provider.address, "reachable"]);
  });

  test("one rate limit paces a content download and a relay tunnel together; the meter counts each service", async () => {
    const blob = await startBlobServer();
    const clients = await w.net.clientsFor(w.provider);
    // A window large enough that nothing waits for a ticket: what paces the transfers is the rate.
    const config = await loadNodeConfig({
      file: await w.writeConfig("paced", { services: ["cdn", "relay"], relay: { testTargets: [blob.host] }, creditWindowBytes: "16 MiB", limits: { ratePerSecond: "2 MiB" } }),
    });
    const paced = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment });
    const purl = await paced.start();
    try {
      const cdn = await openSession(purl, w.consumer);
      const relay = await openSession(purl, w.consumer, "relay");
      const tunnel = await connectThrough(purl.slice("http://".length), blob.host, { "Proxy-Authorization": `Bearer ${relay.sessionToken}` });
      assert.equal(tunnel.status, 200);
      const t0 = performance.now();
      const [content, relayed] = await Promise.all([
        fetchRange(purl, cdn, 0n, 5n * MiB, [], `/c/${w.contentId}/data.bin`).then(async (r) => (await r.arrayBuffer()).byteLength),
        requestOver(tunnel.socket, blob.host, `/blob/${5 * 1024 * 1024}`),
      ]);
      const seconds = (performance.now() - t0) / 1000;
      assert.equal(content, 5 * 1024 * 1024);
      assert.equal(relayed.sha256, blobSha256(5 * 1024 * 1024)); // the whole blob came through the tunnel
      const rate = 10 / seconds;
      assert.ok(Math.abs(rate - 2) / 2 <= 0.1, `10 MiB at 2 MiB/s took ${seconds.toFixed(2)} s: ${rate.toFixed(3)} MiB/s`);
      const metrics = await (await fetch(paced.adminUrls()!.metrics)).text();
      assert.match(metrics, new RegExp(`bandmint_served_bytes_total\\{service="cdn"\\} ${content}\\b`));
      const relayMetered = Number(/bandmint_served_bytes_total\{service="relay"\} (\d+)/.exec(metrics)?.[1]);
      // Relay bytes are metered both ways: the request went up, the blob (with its headers) came down.
      assert.ok(relayMetered > 5 * 2 ** 20 && relayMetered < 5 * 2 ** 20 + 4096, String(relayMetered));
      tunnel.socket.destroy();
    } finally {
      await paced.stop();
      await blob.stop();
    }
  });

  test("limits on the node: at the quota and maxSessions it refuses with 503 and Retry-After, says so in /offer, the probe skips it, tickets are still paid", async () => {
    const clients = await w.net.clientsFor(w.provider);
    const config = await loadNodeConfig({ file: await w.writeConfig("limited", { limits: { quota: { bytes: "2 MiB" }, maxSessions: 1 } }) });
    const limited = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment });
    const lurl = await limited.start();
    try {
      const session = await openSession(lurl, w.consumer);
      // A second session while one is active: refused, and the offer says why.
      const second = await postSessionRequest(lurl, await sessionRequestBody(lurl, w.consumer));
      assert.equal(second.status, 503);
      assert.equal(((await second.json()) as Json).details.limit, "sessions");
      assert.ok(Number(second.headers.get("retry-after")) > 0);
      const offer = (await (await fetch(`${lurl}/offer`)).json()) as Json;
      assert.deepEqual([offer.available, offer.unavailable.limit], [false, "sessions"]);
      const stats = createProviderStats();
      await probeProviders({ listings: [{ provider: w.provider.address, endpoint: lurl, pricePerGiB: 1n, capacityMbps: 1n, region: "", services: 1 }], stats });
      assert.ok(stats.isUnavailable(w.provider.address));
      // 3 MiB asked of a 2 MiB quota in one request: cut at most one chunk (1 MiB) past it.
      const res = await fetchRange(lurl, session, 0n, 3n * MiB, [], `/c/${w.contentId}/data.bin`);
      let received = 0n;
      try {
        for await (const c of res.body!) received += BigInt((c as Uint8Array).length);
      } catch {
        // cut short
      }
      assert.ok(received >= 2n * MiB && received <= 3n * MiB, String(received));
      const refused = await fetchRange(lurl, session, 0n, MiB, [], `/c/${w.contentId}/data.bin`);
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as Json).details.limit, "quota");
      // The bytes delivered are still paid for: the limit never refuses a ticket.
      const tickets = [
        await makeTicket(session, w.consumer.privateKey, domain(), { nonce: session.nextNonce, cumulativeBytes: MiB }),
        await makeTicket(session, w.consumer.privateKey, domain(), { nonce: session.nextNonce + 1n, cumulativeBytes: 2n * MiB }),
      ];
      const paid = await postTickets(lurl, session, tickets);
      assert.equal(paid.status, 200, await paid.clone().text());
      assert.equal(((await paid.json()) as Json).accepted, 2);
      const metrics = await (await fetch(limited.adminUrls()!.metrics)).text();
      assert.match(metrics, /bandmint_refusals_total\{reason="LimitReachedError:quota"\} 1\b/);
      assert.match(metrics, /bandmint_refusals_total\{reason="LimitReachedError:sessions"\} 1\b/);
      assert.match(metrics, /bandmint_limit_holding\{limit="quota"\} 1\b/);
      assert.match(metrics, /bandmint_available 0\b/);
    } finally {
      await limited.stop();
    }
  });
});
