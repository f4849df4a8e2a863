// `bandmint node estimate` against a local network with real demand: a node sells 6 MiB for
// tickets that all win, redeems them (the broker's epoch ledger records the paid value), and the
// estimate reads the listing and the ledger back.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import estimateCommand from "../../src/cli/commands/node-estimate.ts";
import { loadNodeConfig } from "../../src/node/config.ts";
import { createProviderNode } from "../../src/node/providerNode.ts";
import { registerProvider } from "../../src/node/registerProvider.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import { openSession, payingDownload } from "./harness.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";

let w: NodeWorld;
before(async () => {
  w = await startWorld({ size: 6n * MiB });
});
after(async () => {
  await w.close();
});

async function estimate(values: Record<string, string>): Promise<{ code: number; text: string }> {
  let text = "";
  const stdout = new Writable({ write: (c, _e, done) => ((text += String(c)), done()) });
  const code = await estimateCommand.run({ values: { deployment: w.deploymentPath, epochs: "7", ...values }, positionals: [], signal: new AbortController().signal, stdout, stderr: stdout });
  return { code, text };
}

test("node estimate reads prices and demand from the chain and prints the range with its variance", async () => {
  const config = await loadNodeConfig({ file: await w.writeConfig("est") });
  const clients = await w.net.clientsFor(w.provider);
  await registerProvider({
    publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment,
    listing: { endpoint: "http://127.0.0.1:7070", pricePerGiB: config.pricePerGiB, capacityMbps: 100, region: "local", services: ["cdn"] },
  });
  const node = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment });
  const url = await node.start();
  try {
    const session = await openSession(url, w.consumer);
    await payingDownload({ url, session, path: `/c/${w.contentId}/data.bin`, mibs: 6, key: w.consumer.privateKey, domain: ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker) });
    assert.equal((await node.redeemNow()).confirmed, 6);
  } finally {
    await node.stop();
  }
  // The epoch is still running: its demand so far, scaled to a whole epoch.
  const young = await estimate({ "upload-mbps": "20", hours: "8" });
  assert.equal(young.code, 0);
  assert.match(young.text, /no finished epoch yet/);

  await w.net.increaseTime(w.net.deployment.params.epochLength);
  const { code, text } = await estimate({ "upload-mbps": "20", hours: "8" });
  assert.equal(code, 0);
  const line = (name: string) => text.split("\n").find((l) => l.startsWith(name)) ?? assert.fail(`no ${name} line in:\n${text}`);
  assert.match(line("estimate"), /20 Mbps up, 8 h a day, 30 days, at 1 BAND per GiB \(1 listing\(s\) from 1 BAND to 1 BAND, median 1 BAND\)/);
  // 20 Mbps x 8 h x 30 days = 2.16e12 bytes.
  assert.match(line("capacity"), /2011\.7 GiB a month at most/);
  assert.match(line("demand"), /over the last 1 epoch\(s\)$/);
  // 20 Mbps for 8 of 24 h against the listing's 100 Mbps: 6.25%.
  assert.match(line("your share"), /6\.25% of it by bandwidth/);
  // 6 MiB paid in a one-hour epoch: 720 epochs a month x 6 MiB x 6.25% = 270 MiB, at 1 BAND per GiB.
  assert.match(line("earnings"), /^earnings    0\.263671875 BAND gross, 0\.19775390625 BAND after the 20% burn and 5% treasury shares/);
  assert.match(line("range"), /BAND to .* BAND a month \(expected .* BAND\)/);
  assert.match(line("variance"), /tickets are a lottery: ~\d+\.\d winning tickets of .* BAND a month, ±\d+\.\d \(2σ\), P\(no winner in a month\) = \d+\.\d%/);

  const bad = estimate({ "upload-mbps": "fast", hours: "8" });
  await assert.rejects(bad, /--upload-mbps: must be a number/);
});
