// Ticket intake figures (`npx node bench/tickets.ts`): tickets checked per second on one core
// (full intake path incl. the durable SQLite group commit at 1-64 concurrent payers, FULL vs
// NORMAL sync; and the signature check alone, native vs @noble), payment bytes per GiB delivered,
// and the node's RSS idle and with 100 concurrent paying sessions (the node runs as a child process against the embedded chain).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { recoverTypedDataAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { devAccount } from "../src/chain/devAccounts.ts";
import { domainSeparatorBytes } from "../src/protocol/hashTicket.ts";
import { recoverTicketSigner } from "../src/protocol/recoverTicketSigner.ts";
import { signTicket } from "../src/protocol/signTicket.ts";
import { ticketDomain, type Ticket } from "../src/protocol/ticket.ts";
import { ticketTypedData } from "../src/protocol/ticketTypedData.ts";
import { encodeTicketHeader, type TicketPayment } from "../src/protocol/wire.ts";
import { buildOffer } from "../src/node/payments/buildOffer.ts";
import { createFundsCache } from "../src/node/payments/fundsCache.ts";
import { createSessionBook } from "../src/node/payments/sessionBook.ts";
import { createTicketIntake } from "../src/node/payments/ticketIntake.ts";
import { createTicketCommitter } from "../src/node/payments/ticketCommitter.ts";
import { openTicketStore } from "../src/node/payments/ticketStore.ts";

const N = Number(process.env.TICKETS ?? 2000);
const MiB = 1n << 20n;
const provider = devAccount(2);
const consumer = devAccount(10);
const broker: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const offer = buildOffer({
  recipient: provider.address, chainId: 31337, broker, pricePerGiB: 10n ** 18n, bytesPerTicket: MiB, faceValue: 10n ** 17n,
  creditWindowBytes: 4n * MiB, ticketExpirySeconds: 86_400, services: ["cdn"],
});
const domain = ticketDomain(31337, broker);
const separator = domainSeparatorBytes(domain);
const clock = { now: () => Date.now() };
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function signedTickets(sessionId: Hex, randHash: Hex, sender: Address, key: Hex, count: number): Promise<TicketPayment[]> {
  const out: TicketPayment[] = [];
  const expiry = BigInt(Math.floor(Date.now() / 1000)) + 86_400n;
  for (let i = 0; i < count; i++) {
    const ticket: Ticket = {
      recipient: provider.address, sender, faceValue: offer.faceValue, winProb: offer.winProb,
      senderNonce: BigInt(i + 1), recipientRandHash: randHash, expiry, sessionId, cumulativeBytes: BigInt(i + 1) * MiB,
    };
    out.push({ ticket, signature: await signTicket({ ticket, domain, privateKey: key }) });
  }
  return out;
}

/**
 * Full intake rate with `concurrency` payers (one sender and session each) paying one ticket at a
 * time, N tickets in all. Tickets of concurrent payers share group commits (ticketCommitter.ts);
 * with concurrency 1 every ticket waits for its own fsync.
 */
async function intakeRate(synchronous: "FULL" | "NORMAL", concurrency: number): Promise<{ perSecond: number; perCommit: number; tickets: TicketPayment[] }> {
  const dir = await mkdtemp(join(tmpdir(), "bandmint-bench-"));
  const store = openTicketStore({ path: join(dir, "t.db"), synchronous });
  const sessions = createSessionBook({ store, clock, creditWindowBytes: offer.creditWindowBytes });
  const funds = createFundsCache({ read: async () => ({ deposit: 10n ** 24n, reserve: 0n, withdrawTime: 0n }), clock, ttlMs: 3_600_000 });
  const batches: number[] = [];
  const committer = createTicketCommitter({ store, onCommit: (n) => batches.push(n) });
  const intake = createTicketIntake({ store, funds, offer, domainSeparator: separator, clock, outstanding: new Map(), committer });
  const per = Math.ceil(N / concurrency);
  const payers: { session: ReturnType<typeof sessions.open>; tickets: TicketPayment[] }[] = [];
  for (let c = 0; c < concurrency; c++) {
    const key = c === 0 ? consumer.privateKey : generatePrivateKey();
    const sender = privateKeyToAccount(key).address;
    const session = sessions.open(sender);
    session.servedBytes = BigInt(per + 1) * MiB; // as if the bytes had been served
    payers.push({ session, tickets: await signedTickets(session.id, session.randHash, sender, key, per) });
    await funds.get(sender);
  }
  const t0 = performance.now();
  await Promise.all(payers.map(async ({ session, tickets }) => {
    for (const p of tickets) await intake.accept(session, p);
  }));
  const seconds = (performance.now() - t0) / 1000;
  await intake.close();
  store.close();
  await rm(dir, { recursive: true, force: true });
  return { perSecond: (per * concurrency) / seconds, perCommit: (per * concurrency) / batches.length, tickets: payers[0]!.tickets };
}

function rate(label: string, count: number, fn: (i: number) => unknown): number {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) fn(i);
  const r = count / ((performance.now() - t0) / 1000);
  console.log(`  ${label.padEnd(52)} ${fmt(r).padStart(10)} /s`);
  return r;
}

console.log(`bandmint ticket intake benchmark (${N} tickets, one core, ${process.version})\n`);
console.log("Full intake path (parse excluded; checks + native recovery + win draw + SQLite group commit):");
console.log(`  ${"concurrent payers".padEnd(20)} ${"FULL (the node)".padStart(16)} ${"tickets/commit".padStart(15)} ${"NORMAL".padStart(12)} ${"tickets/commit".padStart(15)}`);
let full: Awaited<ReturnType<typeof intakeRate>> | undefined;
for (const c of [1, 4, 16, 64]) {
  const f = await intakeRate("FULL", c);
  const n = await intakeRate("NORMAL", c);
  full ??= f;
  console.log(`  ${String(c).padEnd(20)} ${`${fmt(f.perSecond)} /s`.padStart(16)} ${f.perCommit.toFixed(1).padStart(15)} ${`${fmt(n.perSecond)} /s`.padStart(12)} ${n.perCommit.toFixed(1).padStart(15)}`);
}

console.log("\nSignature check alone (EIP-712 digest + recover):");
const tickets = full!.tickets;
const native = rate("native libsecp256k1 (recoverTicketSigner)", N, (i) => recoverTicketSigner(tickets[i]!.ticket, separator, tickets[i]!.signature));
const nobleCount = Math.min(N, 500);
const t0 = performance.now();
for (let i = 0; i < nobleCount; i++) await recoverTypedDataAddress({ ...ticketTypedData(tickets[i]!.ticket, domain), signature: tickets[i]!.signature });
const noble = nobleCount / ((performance.now() - t0) / 1000);
console.log(`  ${"@noble/curves via viem recoverTypedDataAddress".padEnd(52)} ${fmt(noble).padStart(10)} /s`);
console.log(`  ${"ratio native / noble".padEnd(52)} ${(native / noble).toFixed(1).padStart(10)} x`);

console.log("\nPayment overhead on the wire (one ticket per bytesPerTicket):");
const header = `X-Bandmint-Ticket: ${encodeTicketHeader([tickets[N - 1]!])}\r\n`;
const perGiB = (1n << 30n) / offer.bytesPerTicket;
const bytesPerGiB = BigInt(header.length) * perGiB;
console.log(`  ticket header bytes                                   ${header.length}`);
console.log(`  tickets per GiB (bytesPerTicket = ${offer.bytesPerTicket})              ${perGiB}`);
console.log(`  payment bytes per GiB delivered                       ${bytesPerGiB} (${((Number(bytesPerGiB) / 2 ** 30) * 100).toFixed(4)} %)`);

// End to end over HTTP (test/node/harness.ts: the real API, gate, intake and store behind a
// node:http server, FULL sync): C payers, each fetching 16 KiB ranges and paying the previous
// range with a ticket in the request header, the way a client pays as it downloads.
console.log("\nPaid requests over HTTP (each GET carries one ticket; 16 KiB per ticket; FULL sync):");
{
  const { startHarness, openSession: open, makeTicket: make, fetchRange: get } = await import("../test/node/harness.ts");
  const KiB16 = 16n * 1024n;
  const perPayer = Math.max(4, Math.floor(N / 8));
  for (const c of [1, 4, 16, 64]) {
    const dir = await mkdtemp(join(tmpdir(), "bandmint-bench-http-"));
    const h = await startHarness(dir, { bytesPerTicket: KiB16, creditWindowBytes: 4n * KiB16 });
    try {
      const count = Math.max(4, Math.floor((perPayer * 8) / c));
      const payers = [];
      for (let i = 0; i < c; i++) {
        const key = generatePrivateKey();
        const session = await open(h.url, { address: privateKeyToAccount(key).address, privateKey: key });
        const tickets = [];
        for (let j = 1; j <= count; j++) tickets.push(await make(session, key, h.domain, { nonce: session.nextNonce + BigInt(j - 1), cumulativeBytes: BigInt(j) * KiB16 }));
        payers.push({ session, tickets });
      }
      const t0 = performance.now();
      await Promise.all(payers.map(async ({ session, tickets }) => {
        for (let j = 0; j <= count; j++) {
          const res = await get(h.url, session, BigInt(j) * KiB16, BigInt(j + 1) * KiB16, j === 0 ? [] : [tickets[j - 1]!]);
          if (res.status !== 206) throw new Error(`payer request ${j}: ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
        }
      }));
      const seconds = (performance.now() - t0) / 1000;
      console.log(`  ${`${c} concurrent payers`.padEnd(52)} ${fmt((count * c) / seconds).padStart(10)} tickets/s`);
    } finally {
      await h.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
}

// Node RSS: a real `bandmint node start` child against the embedded chain.
console.log("\nNode RSS (child process `bandmint node start`):");
const { startWorld } = await import("../test/node/chainSetup.ts");
const { openSession, makeTicket, fetchRange } = await import("../test/node/harness.ts");
const world = await startWorld({ size: 2n * MiB });
try {
  const configPath = await world.writeConfig("bench", { redeem: { maxFeeShareBps: 0, deadlineMarginSeconds: 0, intervalSeconds: 3600 }, faceValue: "1 BAND" });
  const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
  const child = spawn(process.execPath, [main, "node", "start", "--config", configPath], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (c) => reject(new Error(`node exited ${c}: ${out}`)));
  });
  const rss = async () => {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${child.pid}/status`, "utf8"));
    return Number(m?.[1] ?? 0) / 1024;
  };
  await new Promise((r) => setTimeout(r, 1000));
  const idle = await rss();
  console.log(`  idle                                                  ${idle.toFixed(1)} MiB`);
  const path = `/c/${world.contentId}/data.bin`;
  const d = ticketDomain(world.net.deployment.chainId, world.net.deployment.contracts.broker);
  const sessions = [];
  for (let i = 0; i < 100; i++) sessions.push(await openSession(url, world.consumer));
  // Credit is per sender (4 MiB over all its sessions): 100 sessions x 40 KiB fit in one window.
  const step = 40n * 1024n;
  // Nonces are per (sender, recipient): hand them out in order across the 100 sessions.
  let nonce = sessions.at(-1)!.nextNonce;
  let peak = 0;
  const sampler = setInterval(() => void rss().then((v) => (peak = Math.max(peak, v))), 20);
  let responses = 0;
  for (let round = 0n; round < 5n; round++) {
    const pay: TicketPayment[][] = [];
    for (const s of sessions) pay.push(round === 0n ? [] : [await makeTicket(s, world.consumer.privateKey, d, { nonce: nonce++, cumulativeBytes: round * step })]);
    await Promise.all(sessions.map(async (s, i) => {
      const res = await fetchRange(url, s, round * step, (round + 1n) * step, pay[i]!, path);
      if (res.status !== 206) throw new Error(`session ${i} round ${round}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      responses++;
    }));
  }
  clearInterval(sampler);
  const loaded = await rss();
  console.log(`  100 concurrent sessions (5 x 40 KiB each, 400 tickets) peak ${Math.max(peak, loaded).toFixed(1)} MiB, after ${loaded.toFixed(1)} MiB`);
  if (responses !== 500) throw new Error("not all responses arrived");
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
} finally {
  await world.close();
}
