import { test } from "node:test";
import assert from "node:assert/strict";
import { privateKeyToAccount } from "viem/accounts";
import { domainSeparatorBytes } from "../../protocol/hashTicket.ts";
import { selectSecp256k1Backend } from "../../protocol/secp256k1.ts";
import { signTicket } from "../../protocol/signTicket.ts";
import { sampleTicket, TEST_BROKER, TEST_DOMAIN, TEST_KEY_0 } from "../../protocol/testing/arbitraries.ts";
import { buildOffer } from "./buildOffer.ts";
import { measureTicketChecks } from "./measureTicketChecks.ts";
import { startSignerPool } from "./signerPool.ts";

const offer = buildOffer({
  recipient: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", chainId: 31337, broker: TEST_BROKER, pricePerGiB: 10n ** 18n, bytesPerTicket: 1n << 20n,
  faceValue: 10n ** 17n, creditWindowBytes: 4n << 20n, ticketExpirySeconds: 86_400, services: ["cdn"],
});
const separator = domainSeparatorBytes(TEST_DOMAIN);

test("the start-up self-benchmark reports the backend in use and its ticket-check rate", () => {
  try {
    const native = measureTicketChecks({ offer, domainSeparator: separator, maxChecks: 200, budgetMs: 2000 });
    assert.equal(native.secp256k1, "native");
    assert.equal(native.checks, 200);
    selectSecp256k1Backend("javascript");
    const js = measureTicketChecks({ offer, domainSeparator: separator, maxChecks: 200, budgetMs: 2000 });
    assert.equal(js.secp256k1, "javascript");
    assert.ok(js.ticketChecksPerSecond > 0 && native.ticketChecksPerSecond > 0);
    // A time budget bounds it on a slow box: a clock that jumps 100 ms per read stops it at once.
    let t = 0;
    assert.equal(measureTicketChecks({ offer, domainSeparator: separator, budgetMs: 250, now: () => (t += 100) }).checks, 2);
  } finally {
    selectSecp256k1Backend("native");
  }
});

test("signer threads recover on the JavaScript backend, start on demand and stop when idle", async () => {
  const pool = startSignerPool({ threads: 1, domainSeparator: separator, secp256k1: "javascript", idleMs: 200 });
  try {
    assert.equal(pool.running, 0, "no thread before the first ticket");
    const ticket = sampleTicket({ sender: privateKeyToAccount(TEST_KEY_0).address });
    const signature = await signTicket({ ticket, domain: TEST_DOMAIN, privateKey: TEST_KEY_0 });
    assert.equal((await pool.recover(ticket, signature))?.signer, ticket.sender);
    assert.equal(pool.running, 1);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(pool.running, 0, "the idle thread stopped");
    assert.equal((await pool.recover(ticket, signature))?.signer, ticket.sender, "and starts again on demand");
    assert.equal(pool.recovered, 2);
  } finally {
    await pool.close();
  }
});
