// Crypto hot-path figures for the protocol core. Run: npx node bench/crypto.ts [seconds-per-case]
// Prints operations per second (and MB/s for hashes) and the ratios that decide our choices:
// native libsecp256k1 vs @noble/curves (viem) recovery, our direct EIP-712 encoder vs viem's
// hashTypedData, the full stateless ticket check, keccak vs sha256 throughput.
import { createHash } from "node:crypto";
import { hashTypedData, keccak256, recoverAddress as viemRecoverAddress, recoverTypedDataAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  assertNativeSecp256k1,
  checkTicket,
  domainSeparatorBytes,
  hashTicket,
  recipientRandHash,
  recoverAddress,
  recoverTicketSigner,
  signTicket,
  ticketDomain,
  ticketTypes,
  type Ticket,
} from "../src/protocol/index.ts";
import { keccak256Bytes } from "../src/protocol/keccak256.ts";
import { reportResult } from "./lib/benchResult.ts";

const seconds = Number(process.argv[2] ?? 2); // per case, split into 7 interleaved slices
const KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const sender = privateKeyToAccount(KEY).address;
const domain = ticketDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const separator = domainSeparatorBytes(domain);

assertNativeSecp256k1();

const N = 256;
const tickets: Ticket[] = [];
const signatures: Hex[] = [];
const digests: Hex[] = [];
for (let i = 0; i < N; i++) {
  const ticket: Ticket = {
    recipient: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    sender,
    faceValue: 10n ** 15n,
    winProb: 2n ** 246n + BigInt(i),
    senderNonce: BigInt(i + 1),
    recipientRandHash: recipientRandHash(BigInt(i) * 7919n),
    expiry: 1_900_000_000n,
    sessionId: `0x${"5e".repeat(32)}`,
    cumulativeBytes: BigInt(i + 1) << 20n,
  };
  tickets.push(ticket);
  signatures.push(await signTicket({ ticket, domain, privateKey: KEY }));
  digests.push(hashTicket(ticket, domain));
}

type Case = { name: string; fn: (i: number) => unknown };
type Result = { name: string; opsPerSec: number };

/** Ops/s of `fn` over one time slice of `ms`, round-robin over the fixtures. */
async function slice(fn: (i: number) => unknown, ms: number): Promise<number> {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let k = 0; k < 16; k++, ops++) await fn(ops % N);
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

/**
 * Measures the cases in alternating slices and reports each one's median: the machine is shared,
 * so interleaving keeps the ratios fair when the load changes during the run.
 */
async function group(cases: Case[]): Promise<Result[]> {
  for (const c of cases) for (let i = 0; i < 100; i++) await c.fn(i % N);
  const rounds = 7;
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const [j, c] of cases.entries()) samples[j]!.push(await slice(c.fn, (seconds * 1000) / rounds));
  }
  return cases.map((c, j) => {
    const sorted = samples[j]!.sort((a, b) => a - b);
    const result = { name: c.name, opsPerSec: sorted[Math.floor(rounds / 2)]! };
    console.log(`${c.name.padEnd(58)} ${Math.round(result.opsPerSec).toLocaleString("en-US").padStart(12)} /s`);
    return result;
  });
}

function ratio(label: string, a: Result | undefined, b: Result | undefined): void {
  console.log(`  -> ${label}: ${(a!.opsPerSec / b!.opsPerSec).toFixed(1)}x`);
}

console.log(`node ${process.version}, ${seconds}s per case in 7 interleaved slices (median), ${N} distinct tickets\n`);

console.log("Signature recovery (same tickets)");
const [nativeRaw, nobleRaw] = await group([
  { name: "native secp256k1 recoverAddress(digest, sig)", fn: (i) => recoverAddress(digests[i]!, signatures[i]!) },
  { name: "viem/@noble recoverAddress({ hash, signature })", fn: (i) => viemRecoverAddress({ hash: digests[i]!, signature: signatures[i]! }) },
]);
ratio("native / noble (recover only)", nativeRaw, nobleRaw);
const [nativeTicket, viemTicket] = await group([
  { name: "recoverTicketSigner (hash + canonical check + native)", fn: (i) => recoverTicketSigner(tickets[i]!, domain, signatures[i]!) },
  {
    name: "viem recoverTypedDataAddress (hash + noble)",
    fn: (i) => recoverTypedDataAddress({ domain, types: ticketTypes, primaryType: "Ticket", message: tickets[i]!, signature: signatures[i]! }),
  },
]);
ratio("recoverTicketSigner / recoverTypedDataAddress", nativeTicket, viemTicket);

console.log("\nEIP-712 hashing");
const [ours, viemHash] = await group([
  { name: "hashTicket (direct encoder + our keccak)", fn: (i) => hashTicket(tickets[i]!, domain) },
  { name: "viem hashTypedData", fn: (i) => hashTypedData({ domain, types: ticketTypes, primaryType: "Ticket", message: tickets[i]! }) },
]);
ratio("hashTicket / hashTypedData", ours, viemHash);

console.log("\nFull stateless check");
const options = { domain: separator, now: 1_800_000_000n, expectedRecipient: tickets[0]!.recipient, faceValue: 10n ** 15n };
await group([
  { name: "checkTicket (precomputed separator)", fn: (i) => checkTicket(tickets[i]!, signatures[i]!, options) },
  { name: "checkTicket (domain object)", fn: (i) => checkTicket(tickets[i]!, signatures[i]!, { ...options, domain }) },
]);

console.log("\nHash throughput (1 MiB buffers)");
const buf = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
const mb = buf.length / 1e6;
const [kec, ourKec, sha, sha3] = await group([
  { name: "keccak256 (viem/@noble, JS)", fn: () => keccak256(buf, "bytes") },
  { name: "keccak256Bytes (ours, unrolled JS)", fn: () => keccak256Bytes(buf) },
  { name: "sha256 (node:crypto, OpenSSL)", fn: () => createHash("sha256").update(buf).digest() },
  { name: "sha3-256 (node:crypto, OpenSSL; not keccak256)", fn: () => createHash("sha3-256").update(buf).digest() },
]);
const mbps = (r: Result | undefined) => (r!.opsPerSec * mb).toFixed(1);
console.log(`  MB/s: keccak256 noble ${mbps(kec)}, ours ${mbps(ourKec)}; sha256 ${mbps(sha)}; sha3-256 ${mbps(sha3)}`);
ratio("ours / noble keccak256", ourKec, kec);
ratio("sha256 / our keccak256", sha, ourKec);

console.log("\nkeccak256 on hot-path sizes (struct 320 B, digest 66 B)");
const b320 = new Uint8Array(320).fill(7);
const b66 = new Uint8Array(66).fill(7);
const [o320, n320, o66, n66] = await group([
  { name: "keccak256Bytes 320 B", fn: () => keccak256Bytes(b320) },
  { name: "viem keccak256 320 B", fn: () => keccak256(b320, "bytes") },
  { name: "keccak256Bytes 66 B", fn: () => keccak256Bytes(b66) },
  { name: "viem keccak256 66 B", fn: () => keccak256(b66, "bytes") },
]);
ratio("320 B ours / noble", o320, n320);
ratio("66 B ours / noble", o66, n66);

// Headline figures for `npm run bench`: our hot-path crypto against what viem does for the same work.
reportResult({ name: "recoverTicketSigner", ours: nativeTicket!.opsPerSec, reference: viemTicket!.opsPerSec, vs: "viem recoverTypedDataAddress", unit: "/s" });
reportResult({ name: "hashTicket (EIP-712)", ours: ours!.opsPerSec, reference: viemHash!.opsPerSec, vs: "viem hashTypedData", unit: "/s" });
reportResult({ name: "keccak256Bytes, 1 MiB", ours: ourKec!.opsPerSec * mb, reference: kec!.opsPerSec * mb, vs: "viem keccak256", unit: "MB/s" });
