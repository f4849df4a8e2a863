// A provider node serving consumers over https (certificate generated here), registered with an
// https endpoint on a real chain, and the client SDK downloading and paying through it while
// verifying the certificate against the test CA (never with verification off).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { get as httpGet } from "node:http";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { createClient } from "../../src/client/createClient.ts";
import { createHttpFetch } from "../../src/client/createHttpFetch.ts";
import { freePort } from "../../src/devnet/freePort.ts";
import { loadNodeConfig } from "../../src/node/config.ts";
import { createProviderNode } from "../../src/node/providerNode.ts";
import { registerProvider } from "../../src/node/registerProvider.ts";
import { testCertificate, tlsSkipReason, type TestCertificate } from "../fixtures/testCertificate.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";

describe("TLS on the consumer-facing listener", { skip: tlsSkipReason() }, () => {
  let w: NodeWorld;
  let cert: TestCertificate;
  before(async () => {
    [w, cert] = await Promise.all([startWorld({ size: 3n * MiB }), testCertificate()]);
  });
  after(async () => {
    await w.close();
    await rm(cert.dir, { recursive: true, force: true });
  });

  test("an https node registers an https endpoint and a client pays it through a verified TLS connection", async () => {
    const port = await freePort();
    const file = await w.writeConfig("tls", { port, tls: { cert: cert.certPath, key: cert.keyPath } });
    const config = await loadNodeConfig({ file });
    const clients = await w.net.clientsFor(w.provider);
    const endpoint = `https://127.0.0.1:${port}`;
    await registerProvider({
      publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment,
      listing: { endpoint, pricePerGiB: config.pricePerGiB, capacityMbps: 100, region: "local", services: ["cdn"] },
    });
    const node = createProviderNode(config, { publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment });
    assert.equal(await node.start(), endpoint);
    const httpFetch = createHttpFetch({ ca: cert.cert });
    try {
      // Plain http to the TLS port gets no HTTP answer.
      await assert.rejects(new Promise((resolve, reject) => httpGet(`http://127.0.0.1:${port}/offer`, resolve).on("error", reject)));
      const consumer = createClient({ clients: await w.net.clientsFor(w.consumer), deployment: w.net.deployment, privateKey: w.consumer.privateKey, fetch: httpFetch });
      const listings = await consumer.listings();
      assert.deepEqual(listings.map((l) => l.endpoint), [endpoint]);
      const out = join(w.dir, "tls-out.bin");
      const result = await consumer.get(w.contentId, "data.bin", { out });
      assert.ok((await readFile(out)).equals(w.data));
      assert.equal(result.fetchedBytes, 3n * MiB);
      const status = node.status();
      assert.equal(status.paidBytes, status.servedBytes);
      assert.equal(BigInt(status.paidBytes), 3n * MiB);
      assert.ok(status.tickets >= 3);
    } finally {
      httpFetch.close();
      await node.stop();
    }
  });

  test("a missing certificate file is a config error naming tls.cert", async () => {
    const file = await w.writeConfig("tls-missing", { tls: { cert: join(cert.dir, "nope.pem"), key: cert.keyPath } });
    await assert.rejects(loadNodeConfig({ file }), (e: { field?: string }) => e.field === "tls.cert");
  });
});
