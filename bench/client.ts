// Consumer-side throughput: `npx node bench/client.ts [MiB]`.
// Downloads one file through the client SDK (sha256 verify of every chunk, ticket per chunk,
// resume state on disk) from one and from two local providers that speak the payment wire
// protocol (test/client/fakeProvider.ts, which also checks every ticket's signature), with the
// global fetch + viem signing and with createClient's stack (node:http + libsecp256k1), and compares
// with a plain HTTP GET of the same bytes from a bare Node server in the same run. Prints MiB/s.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { privateKeyToAccount } from "viem/accounts";
import { buildManifest, signManifest } from "../src/protocol/manifest.ts";
import { signTicket } from "../src/protocol/signTicket.ts";
import { ticketDomain, type Ticket } from "../src/protocol/ticket.ts";
import { downloadContent } from "../src/client/downloadContent.ts";
import { createHttpFetch } from "../src/client/createHttpFetch.ts";
import { createNativeTicketSigner } from "../src/client/createNativeTicketSigner.ts";
import { openProviderSession } from "../src/client/providerSession.ts";
import { signSessionRequest } from "../src/protocol/sessionRequest.ts";
import type { ProviderListing } from "../src/market/providerListing.ts";
import { startFakeProvider } from "../test/client/fakeProvider.ts";
import { BROKER, CHAIN_ID, KEYS, PRICE, listingOf, makePool } from "../test/client/harness.ts";
import { reportResult } from "./lib/benchResult.ts";

const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 64) * MiB;
const chunkSize = MiB;
const data = randomBytes(size);
const chunks: string[] = [];
for (let o = 0; o < size; o += chunkSize) chunks.push(createHash("sha256").update(data.subarray(o, o + chunkSize)).digest("hex"));
const publisher = privateKeyToAccount(KEYS.publisher);
const manifest = await signManifest(
  buildManifest({ chunkSize, createdAt: 1_700_000_000, publisher: publisher.address, files: [{ path: "big.bin", size: BigInt(size), mediaType: "application/octet-stream", chunks }] }),
  publisher,
);
const content = new Map([[manifest.contentId, { manifest, files: new Map([["big.bin", data]]) }]]);
const dir = await mkdtemp(join(tmpdir(), "bm-bench-client-"));
const rate = (bytes: number, ms: number) => `${((bytes / MiB) / (ms / 1000)).toFixed(0)} MiB/s`;

// Baseline: a bare Node server sending the same buffer, fetched in one GET.
const bare = createServer((_req, res) => res.end(data));
await new Promise<void>((r) => bare.listen(0, "127.0.0.1", () => r()));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
await (await fetch(bareUrl)).arrayBuffer(); // warm-up: JIT and connection pool
let t = performance.now();
const body = Buffer.from(await (await fetch(bareUrl)).arrayBuffer());
const bareMs = performance.now() - t;
bare.close();
if (body.length !== size) throw new Error("baseline short read");
console.log(`plain HTTP GET (no verify, no pay)      ${rate(size, bareMs)}`);

const common = { chainId: CHAIN_ID, broker: BROKER, pricePerGiB: PRICE, bytesPerTicket: BigInt(chunkSize), creditWindowBytes: BigInt(4 * chunkSize), content };
const a = await startFakeProvider({ ...common, privateKey: KEYS.providerA });
const b = await startFakeProvider({ ...common, privateKey: KEYS.providerB });
// createClient's stack: chunk bodies over node:http, tickets signed with libsecp256k1.
const domain = ticketDomain(CHAIN_ID, BROKER);
const httpFetch = createHttpFetch();
try {
  const nativeSign = createNativeTicketSigner(KEYS.consumer, domain);
  const fastSession = (listing: ProviderListing, signal?: AbortSignal) =>
    openProviderSession({
      listing, chainId: CHAIN_ID, broker: BROKER, sender: privateKeyToAccount(KEYS.consumer).address, sign: nativeSign,
      signSession: (message) => signSessionRequest({ message, domain, privateKey: KEYS.consumer }), fetch: httpFetch, signal,
    });
  for (const [label, listings, fast] of [
    ["client get, 1 provider (undici, viem)", [listingOf(KEYS.providerA, a.url)], false],
    ["client get, 2 providers (undici, viem)", [listingOf(KEYS.providerA, a.url), listingOf(KEYS.providerB, b.url)], false],
    ["client get, 1 provider (createClient)", [listingOf(KEYS.providerA, a.url)], true],
    ["client get, 2 providers (createClient)", [listingOf(KEYS.providerA, a.url), listingOf(KEYS.providerB, b.url)], true],
  ] as const) {
    const { pool } = makePool([...listings], { perProvider: 3, ...(fast ? { openSession: fastSession } : {}) });
    t = performance.now();
    const r = await downloadContent({ pool, contentId: manifest.contentId, path: "big.bin", out: join(dir, label.replace(/\W+/g, "-")) });
    const ms = performance.now() - t;
    const tickets = pool.report().reduce((s, x) => s + x.tickets, 0);
    console.log(`${label.padEnd(40)}${rate(Number(r.fetchedBytes), ms)}  (${tickets} tickets, ${(Number(r.fetchedBytes) / MiB / tickets).toFixed(2)} MiB per ticket)`);
    if (fast && listings.length === 1) {
      // Headline figure for `npm run bench` (issue 13: the client SDK >= 0.8x of a plain download).
      reportResult({ name: `client SDK (createClient), 1 provider, ${size / MiB} MiB`, ours: Number(r.fetchedBytes) / MiB / (ms / 1000), reference: size / MiB / (bareMs / 1000), vs: "plain GET", unit: "MiB/s", goal: ">= 0.8x" });
    }
  }
  // Signing is the client's only per-ticket CPU cost besides hashing the chunk.
  const ticket: Ticket = {
    recipient: a.address, sender: privateKeyToAccount(KEYS.consumer).address, faceValue: 10n ** 15n, winProb: 2n ** 200n, senderNonce: 1n,
    recipientRandHash: `0x${"11".repeat(32)}`, expiry: 2_000_000_000n, sessionId: `0x${"22".repeat(32)}`, cumulativeBytes: 1n,
  };
  const n = 300;
  t = performance.now();
  for (let i = 0; i < n; i++) await signTicket({ ticket: { ...ticket, senderNonce: BigInt(i + 1) }, domain, privateKey: KEYS.consumer });
  const signMs = performance.now() - t;
  console.log(`ticket signing (viem, JS secp256k1)     ${(n / (signMs / 1000)).toFixed(0)} tickets/s = ${(n / (signMs / 1000)).toFixed(0)} MiB/s of payable data at 1 MiB per ticket`);
  t = performance.now();
  for (let i = 0; i < n; i++) await nativeSign({ ...ticket, senderNonce: BigInt(i + 1) });
  const nativeMs = performance.now() - t;
  console.log(`ticket signing (libsecp256k1)           ${(n / (nativeMs / 1000)).toFixed(0)} tickets/s`);
  t = performance.now();
  for (let o = 0; o < size; o += chunkSize) createHash("sha256").update(data.subarray(o, o + chunkSize)).digest();
  console.log(`chunk verification (sha256)             ${rate(size, performance.now() - t)}`);
} finally {
  httpFetch.close();
  await a.stop();
  await b.stop();
  await rm(dir, { recursive: true, force: true });
}
