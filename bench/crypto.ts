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

const seconds = Number(process.argv[2] ?? 1);
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

type Result = { name: string; opsPerSec: number };

/** Runs `fn(i)` round-robin over the fixtures for about `seconds`, after a short warm-up. */
async function measure(name: string, fn: (i: number) => unknown): Promise<Result> {
  for (let i = 0; i < 200; i++) await fn(i % N);
  let ops = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    for (let k = 0; k < 64; k++, ops++) await fn(ops % N);
    now = performance.now();
  }
  const result = { name, opsPerSec: (ops * 1000) / (now - start) };
  console.log(`${name.padEnd(58)} ${Math.round(result.opsPerSec).toLocaleString("en-US").padStart(12)} /s`);
  return result;
}

function ratio(label: string, a: Result, b: Result): void {
  console.log(`  -> ${label}: ${(a.opsPerSec / b.opsPerSec).toFixed(1)}x`);
}

console.log(`node ${process.version}, ${seconds}s per case, ${N} distinct tickets\n`);

console.log("Signature recovery (same tickets)");
const nativeRaw = await measure("native secp256k1 recoverAddress(digest, sig)", (i) => recoverAddress(digests[i]!, signatures[i]!));
const nobleRaw = await measure("viem/@noble recoverAddress({ hash, signature })", (i) => viemRecoverAddress({ hash: digests[i]!, signature: signatures[i]! }));
ratio("native / noble (recover only)", nativeRaw, nobleRaw);
const nativeTicket = await measure("recoverTicketSigner (hash + canonical check + native)", (i) => recoverTicketSigner(tickets[i]!, separator, signatures[i]!));
const viemTicket = await measure("viem recoverTypedDataAddress (hash + noble)", (i) =>
  recoverTypedDataAddress({ domain, types: ticketTypes, primaryType: "Ticket", message: tickets[i]!, signature: signatures[i]! }));
ratio("recoverTicketSigner / recoverTypedDataAddress", nativeTicket, viemTicket);

console.log("\nEIP-712 hashing");
const ours = await measure("hashTicket (direct encoder)", (i) => hashTicket(tickets[i]!, domain));
const viemHash = await measure("viem hashTypedData", (i) => hashTypedData({ domain, types: ticketTypes, primaryType: "Ticket", message: tickets[i]! }));
ratio("hashTicket / hashTypedData", ours, viemHash);

console.log("\nFull stateless check");
const options = { domain: separator, now: 1_800_000_000n, expectedRecipient: tickets[0]!.recipient, faceValue: 10n ** 15n };
await measure("checkTicket (precomputed separator)", (i) => checkTicket(tickets[i]!, signatures[i]!, options));
await measure("checkTicket (domain object)", (i) => checkTicket(tickets[i]!, signatures[i]!, { ...options, domain }));

console.log("\nHash throughput (1 MiB buffers)");
const buf = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
const mb = buf.length / 1e6;
const kec = await measure("keccak256 (viem/@noble, JS)", () => keccak256(buf, "bytes"));
const sha = await measure("sha256 (node:crypto, OpenSSL)", () => createHash("sha256").update(buf).digest());
const sha3 = await measure("sha3-256 (node:crypto, OpenSSL; not keccak256)", () => createHash("sha3-256").update(buf).digest());
console.log(`  keccak256 ${(kec.opsPerSec * mb).toFixed(0)} MB/s, sha256 ${(sha.opsPerSec * mb).toFixed(0)} MB/s, sha3-256 ${(sha3.opsPerSec * mb).toFixed(0)} MB/s`);
ratio("sha256 / keccak256", sha, kec);
