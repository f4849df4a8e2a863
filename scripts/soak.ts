// Load and soak: many paying consumers against 3 provider nodes (each its own process) on the
// embedded chain, for a bounded time, with faults on demand, then exact accounting.
//   npm run soak -- [--minutes 5 | --seconds N] [--sessions 500] [--workers 4] [--relay-share 0.3]
//                   [--kills 20] [--terms 3] [--chain-outage 60] [--cache-disk-full]
//                   [--data-disk-full 20] [--bytes-per-ticket "256 KiB"] [--win-every 20]
//                   [--catchup-seconds 180] [--out report.json] [--keep]
//
// Everything runs on 127.0.0.1: the chain (Hardhat's EDR behind its JSON-RPC server, in this
// process) and, in front of it for the nodes, a TCP proxy this script can cut (--chain-outage);
// a publisher's origin and a relay destination (in this process); 3 nodes (`bandmint node start`,
// cdn + relay, redeeming every 2 s); `--workers` processes running `--sessions` consumers, each
// with its own funded account and a home node: CDN consumers download files through the client
// SDK's provider pool (each chunk verified against the manifest, paid with tickets), relay
// consumers fetch blobs from the destination through paid tunnels (sha256 checked).
//
// Faults (each checked by the same accounting):
//   --kills N          SIGKILL a random node at N random moments, restarting it at once (same data dir)
//   --terms N          SIGTERM (graceful stop) a random node N times under load, then restart it
//   --chain-outage S   the nodes' JSON-RPC endpoint refuses every connection for S seconds
//   --cache-disk-full  node 1's cache directory is a 4 MiB tmpfs (its memory cache 1 MiB)
//   --data-disk-full S node 2's data directory (the ticket store) is a tmpfs filled up for S seconds
// At the end (after the consumers settled and the nodes redeemed every winner, then stopped with
// SIGTERM): per session, served (node), acknowledged (client) and ticket value agree within one
// credit window; every ticket a client saw accepted is stored; every winner is redeemed exactly
// once; TicketRedeemed (or TicketGroupRedeemed) / TicketsRedeemed events equal each store and /status; PRAGMA
// integrity_check on every store; latencies (p50/p99) and every error by kind, each one either
// explained by a fault in progress or counted as unexpected. Exit code 0 iff everything holds.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statfsSync, statSync, unlinkSync, writeSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Address, PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { runWorker } from "./soak/consumerWorker.ts";
import type { SoakListing, WorkerJob, WorkerResult } from "./soak/types.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    seconds: { type: "string" },
    sessions: { type: "string", default: "500" },
    workers: { type: "string", default: "4" },
    "relay-share": { type: "string", default: "0.3" },
    kills: { type: "string", default: "0" },
    terms: { type: "string", default: "0" },
    "chain-outage": { type: "string", default: "0" },
    "cache-disk-full": { type: "boolean", default: false },
    "data-disk-full": { type: "string", default: "0" },
    "bytes-per-ticket": { type: "string", default: "256 KiB" },
    "win-every": { type: "string", default: "20" },
    "cdn-concurrency": { type: "string", default: "2" },
    "catchup-seconds": { type: "string", default: "180" },
    out: { type: "string" },
    keep: { type: "boolean", default: false },
    role: { type: "string", default: "main" },
    job: { type: "string" },
  },
});


/** A fault the soak inflicted: errors inside its window (plus a grace period) of an expected kind are explained by it. */
type Fault = { kind: "kill" | "term" | "chain-outage" | "data-disk-full" | "cache-disk-full" | "unexpected-exit"; node: number | undefined; from: number; to: number; note: string };

// Error kinds each fault explains (consumerWorker.ts names them: the client's typed error, plus
// the node's error name or the socket error code).
// A pool's "no provider left" errors (NoProviderAvailableError, ManifestUnavailableError for the
// manifest, NoRelayAvailableError) come when every provider failed or cools down after failing
// (30 s): their messages list each provider's failure (ECONNREFUSED / ECONNRESET of a killed node,
// 503 ChainUnavailableError in the outage), and a consumer retries every second meanwhile.
const CONNECTION = /^(fetch \S+|ProviderRequestError (ECONN\w+|EPIPE|UND_ERR_\w+|connection)|RelayRefusedError 50[23].*|relay tunnel broke|relay body truncated|CreditExhaustedError|NoProviderAvailableError|ManifestUnavailableError|NoRelayAvailableError|ProviderTimeoutError)$/;
const EXPECTED: Record<Fault["kind"], RegExp> = {
  kill: CONNECTION,
  term: CONNECTION,
  "unexpected-exit": /^$/,
  // New sessions need the chain (funds, the nonce watermark): 503 ChainUnavailableError, and
  // tickets of senders whose cached funds expired likewise; clients fail over or give up the session.
  // A relay tunnel whose tickets are refused so stays unpaid, and the node closes it after
  // relay.unpaidGraceMs (30 s; seen: 503s on a node's ticket POSTs from +200 s, its tunnels reset
  // from +237 s, no other fault on it): "relay tunnel broke" / "relay body truncated".
  // Tickets refused during the fault (503 / 507) hold their sender's credit window on that node
  // until the session's payer, retrying, gets them in after the node recovers (ticketPayer.ts
  // isTransient); a new session of that sender meanwhile gets 402: "http 402 PaymentRequiredError".
  "chain-outage": /^(http 402 PaymentRequiredError|http 503 ChainUnavailableError|ProviderRequestError 503 ChainUnavailableError|CreditExhaustedError|NoProviderAvailableError|ManifestUnavailableError|NoRelayAvailableError|RelayRefusedError .*|relay tunnel broke|relay body truncated)$/,
  "data-disk-full": /^(http 402 PaymentRequiredError|http 507 StorageFullError|ProviderRequestError 507 StorageFullError|CreditExhaustedError|NoProviderAvailableError|ManifestUnavailableError|NoRelayAvailableError|RelayRefusedError .*|relay tunnel broke|relay body truncated)$/,
  "cache-disk-full": /^$/,
};
/**
 * Kinds that are the protocol working as designed, whatever the faults, with why:
 * - when the redeemer submits a winner it rotates that session's recipientRand (payments.md §1.2),
 *   so tickets the client had already signed with the old hash are refused with 409 and re-signed;
 * - a sender's nonces are one sequence per node across its sessions, so when a pool holds two
 *   sessions with one node (a replacement opened while the old one still pays), one session's
 *   tickets can take a nonce the other signed: 409 TicketNonceError, re-signed (ticketPayer.ts).
 */
const PROTOCOL: readonly [RegExp, string][] = [
  [/^http 409 StaleRecipientRandError$/, "protocol (recipientRand rotated after a winner was submitted)"],
  [/^http 409 TicketNonceError$/, "protocol (a nonce another session of the same sender took; re-signed)"],
];
/** How long after a fault ends its errors still count as its own (sessions notice, pools cool down). */
const GRACE_MS = 20_000;
/**
 * The nodes' relay.unpaidGraceSeconds (the default, set explicitly). A fault that stops tickets
 * (chain outage, full data disk) leaves a relay tunnel unpaid at its credit window, and the node
 * closes it that long after it stalled, which can be after the fault ended: relay errors of those
 * faults count as theirs for this much longer (seen in CI: a tunnel reset at +30 s after an 8 s outage).
 */
const RELAY_UNPAID_GRACE_MS = 30_000;
const RELAY_BROKEN = /^(relay tunnel broke|relay body truncated)$/;
/**
 * The client pools' cool-down after a provider failed (providerPool.ts `cooldownMs`): a pool's
 * "no provider left" errors name a provider that failed in a fault and still cools down, up to
 * this long after its failure, which can be as late as the fault's end.
 */
const POOL_COOLDOWN_MS = 30_000;
const POOL_NONE_LEFT = /^(NoProviderAvailableError|NoRelayAvailableError|ManifestUnavailableError)$/;
/** How long after fault `f` ended an error of `kind` is still its own. */
const graceOf = (f: Fault, kind: string): number =>
  GRACE_MS +
  Math.max(
    (f.kind === "chain-outage" || f.kind === "data-disk-full") && RELAY_BROKEN.test(kind) ? RELAY_UNPAID_GRACE_MS : 0,
    POOL_NONE_LEFT.test(kind) ? POOL_COOLDOWN_MS : 0,
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** Mounts a tmpfs of `size` at `dir` (root only); false if this machine does not allow it. */
function mountTmpfs(dir: string, size: string): boolean {
  return spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" }).status === 0;
}

async function main(): Promise<number> {
  const { localNetwork } = await import("../test/fixtures/localNetwork.ts");
  const { startBlobServer, blobSha256 } = await import("../test/fixtures/blobServer.ts");
  const { sessionRequestBody, postSessionRequest } = await import("../test/node/harness.ts");
  const { writeDeployment } = await import("../src/chain/deployment.ts");
  const { OriginServer } = await import("../src/content/originServer.ts");
  const { publishDir } = await import("../src/content/publishDir.ts");
  const { registerProvider } = await import("../src/node/registerProvider.ts");
  const { fundBroker } = await import("../src/client/brokerFunds.ts");
  const { parseByteSize } = await import("../src/node/config.ts");
  const { readOffers } = await import("../src/market/readOffers.ts");
  const { freePort } = await import("../src/devnet/freePort.ts");
  const { startCuttableProxy } = await import("../test/fixtures/cuttableProxy.ts");
  const { nodeProcess } = await import("./soak/nodeProcess.ts");
  const { account } = await import("./soak/accounting.ts");

  const durationMs = values.seconds !== undefined ? Number(values.seconds) * 1000 : Number(values.minutes) * 60_000;
  const nSessions = Number(values.sessions);
  const nWorkers = Math.max(1, Math.min(Number(values.workers), nSessions));
  const relayShare = Number(values["relay-share"]);
  const kills = Number(values.kills);
  const terms = Number(values.terms);
  const outageMs = Number(values["chain-outage"]) * 1000;
  const dataFullMs = Number(values["data-disk-full"]) * 1000;
  const bytesPerTicket = parseByteSize(values["bytes-per-ticket"]!);
  const winEvery = BigInt(values["win-every"]!);
  const creditWindow = 4n << 20n;
  const price = 10n ** 18n; // 1 BAND per GiB
  const faceValue = ((price * bytesPerTicket) >> 30n) * winEvery;
  const N_NODES = 3;
  const CACHE_NODE = 1;
  const DATA_NODE = 2;

  const work = await mkdtemp(join(tmpdir(), "bandmint-soak-"));
  const mounts: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const faults: Fault[] = [];
  const notes: string[] = [];
  const log = (line: string) => console.log(`[soak +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
  const t0 = Date.now();
  let nodes: ReturnType<typeof nodeProcess>[] = [];
  try {
    // --- chain, accounts, content, destination --------------------------------------------------
    log(`work dir ${work}; ${nSessions} consumers, ${nWorkers} workers, ${durationMs / 1000} s`);
    const net = await localNetwork({ providers: N_NODES, consumers: nSessions, fundEach: 10_000n });
    cleanups.push(() => net.stop());
    const deploymentPath = join(work, "deployment.json");
    await writeDeployment(deploymentPath, net.deployment);
    const consumers = net.accounts.consumers;
    // Dev accounts past the chain's 20 prefunded ones get gas money (hardhat_setBalance: the
    // embedded chain's own faucet, instant where a transfer per account is not).
    for (const c of consumers.slice(10)) {
      await net.chain.provider.request({ method: "hardhat_setBalance" as never, params: [c.address, "0x8ac7230489e80000"] as never });
    }
    for (let i = 0; i < consumers.length; i += 25) {
      await Promise.all(consumers.slice(i, i + 25).map(async (c) => fundBroker(await net.clientsFor(c), net.deployment, { deposit: 500n * 10n ** 18n, reserve: 50n * 10n ** 18n })));
    }
    log(`chain ${net.rpcUrl}: contracts deployed, ${consumers.length} consumers funded (deposit 500 BAND, reserve 50 BAND each)`);

    const contentDir = join(work, "content");
    await mkdir(contentDir, { recursive: true });
    const files = [
      { path: "small.bin", size: 256 << 10, weight: 4 },
      { path: "medium.bin", size: 4 << 20, weight: 3 },
      { path: "large.bin", size: 16 << 20, weight: 1 },
    ];
    for (const f of files) await writeFile(join(contentDir, f.path), randomBytes(f.size));
    const publisher = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
    const { manifest } = await publishDir({ dir: contentDir, signer: publisher, chunkSize: 256 << 10, now: 1_700_000_000 });
    const origin = new OriginServer({ dir: contentDir });
    const originUrl = await origin.start();
    cleanups.push(() => origin.stop());
    const dest = await startBlobServer();
    cleanups.push(() => dest.stop());
    const blobs = [16 << 10, 256 << 10, 2 << 20].map((size) => ({ size, sha256: blobSha256(size) }));
    const proxy = await startCuttableProxy(net.rpcUrl);
    cleanups.push(() => proxy.stop());
    log(`origin ${originUrl} (content ${manifest.contentId}), relay destination ${dest.host}, nodes' RPC through ${proxy.url}`);

    // --- nodes -------------------------------------------------------------------------------
    const endpoints: string[] = [];
    for (let i = 0; i < N_NODES; i++) {
      const provider = net.accounts.providers[i]!;
      const port = await freePort();
      const endpoint = `http://127.0.0.1:${port}`;
      endpoints.push(endpoint);
      const pc = await net.clientsFor(provider);
      await registerProvider({ publicClient: pc.publicClient, walletClient: pc.walletClient!, deployment: net.deployment, listing: { endpoint, pricePerGiB: price, capacityMbps: 1000, region: "local", services: ["cdn", "relay"] } });
      const dataDir = join(work, `node${i}`, "data");
      const cacheDir = join(work, `node${i}`, "cache");
      await mkdir(dataDir, { recursive: true });
      await mkdir(cacheDir, { recursive: true });
      const config: Record<string, unknown> = {
        deployment: deploymentPath, rpcUrl: proxy.url, privateKey: provider.privateKey, host: "127.0.0.1", port, endpoint,
        dataDir, cacheDir, origins: [originUrl], pricePerGiB: price.toString(), bytesPerTicket: bytesPerTicket.toString(),
        faceValue: faceValue.toString(), creditWindowBytes: creditWindow.toString(), services: ["cdn", "relay"],
        relay: { testTargets: [dest.host], connectsPerMinutePerSender: 100_000, maxTunnelsPerSender: 64, unpaidGraceSeconds: RELAY_UNPAID_GRACE_MS / 1000 },
        // Redeem all the time, at any fee, so redemptions run during the soak; back off at most 10 s.
        redeem: { intervalSeconds: 2, maxFeeShareBps: 10_000, maxBackoffSeconds: 10 },
        reachability: { peers: [] },
      };
      if (values["cache-disk-full"] && i === CACHE_NODE) {
        if (mountTmpfs(cacheDir, "4m")) {
          mounts.push(cacheDir);
          config.memoryCacheBytes = "1 MiB";
          faults.push({ kind: "cache-disk-full", node: i, from: 0, to: 0, note: `node ${i}: cache on a 4 MiB tmpfs (1 GiB budget), memory cache 1 MiB` });
        } else notes.push("--cache-disk-full skipped: cannot mount a tmpfs here (needs root)");
      }
      if (dataFullMs > 0 && i === DATA_NODE) {
        if (mountTmpfs(dataDir, "512m")) mounts.push(dataDir);
        else notes.push("--data-disk-full skipped: cannot mount a tmpfs here (needs root)");
      }
      const configPath = join(work, `node${i}`, "node.json");
      await writeFile(configPath, JSON.stringify(config, null, 2));
      nodes.push(nodeProcess({ index: i, configPath, logPath: join(work, `node${i}`, "node.log") }));
    }
    await Promise.all(nodes.map((n) => n.start()));
    cleanups.push(async () => {
      for (const n of nodes) if (n.running) await n.kill().catch(() => undefined);
    });
    const publicClient = (await net.clientsFor(net.accounts.deployer)).publicClient;
    const listings: SoakListing[] = (await readOffers({ publicClient: publicClient as never, registry: net.deployment.contracts.registry }))
      .map((l) => ({ provider: l.provider, endpoint: l.endpoint, pricePerGiB: l.pricePerGiB.toString(), services: l.services }))
      .sort((a, b) => endpoints.indexOf(a.endpoint) - endpoints.indexOf(b.endpoint));
    if (listings.length !== N_NODES || listings.some((l, i) => l.endpoint !== endpoints[i])) throw new Error(`registry listings do not match the nodes: ${JSON.stringify(listings)}`);
    const offer = (await (await fetch(`${endpoints[0]}/offer`)).json()) as { faceValue: string; winProb: string; creditWindowBytes: string; pricePerGiB: string };
    log(`3 nodes listening (${endpoints.join(", ")}); face value ${offer.faceValue} wei, winProb 1/${(2n ** 256n - 1n) / BigInt(offer.winProb)}`);

    // --- consumers -----------------------------------------------------------------------------
    const startAt = Date.now() + 2000;
    const rampMs = Math.min(10_000, durationMs / 4);
    const deadline = startAt + durationMs;
    const nRelay = Math.round(nSessions * relayShare);
    const specs = consumers.map((c, i) => ({ key: c.privateKey, kind: (i % nSessions) < nRelay ? ("relay" as const) : ("cdn" as const), home: i % N_NODES }));
    // Interleave kinds so every worker gets both.
    specs.sort((a, b) => (a.key < b.key ? -1 : 1));
    const workers = Array.from({ length: nWorkers }, async (_, w) => {
      const job: WorkerJob = {
        worker: w, consumers: specs.filter((_, i) => i % nWorkers === w), listings, chainId: net.deployment.chainId, broker: net.deployment.contracts.broker,
        contentId: manifest.contentId, files: files.map((f) => ({ path: f.path, weight: f.weight })), relayTarget: { host: "127.0.0.1", port: dest.port, blobs },
        cdnConcurrency: Number(values["cdn-concurrency"]), startAt, rampMs, deadline, settleMs: 60_000, resultPath: join(work, `worker${w}.json`),
      };
      const jobPath = join(work, `worker${w}.job.json`);
      await writeFile(jobPath, JSON.stringify(job));
      const child = spawn(process.execPath, [new URL(import.meta.url).pathname, "--role", "worker", "--job", jobPath], { stdio: ["ignore", "inherit", "inherit"] });
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      if (code !== 0) throw new Error(`worker ${w} exited with ${code}`);
      return JSON.parse(await readFile(job.resultPath, "utf8")) as WorkerResult;
    });
    log(`${nSessions} consumers (${nSessions - nRelay} CDN, ${nRelay} relay) start over ${rampMs / 1000} s; run until +${((deadline - t0) / 1000).toFixed(0)} s`);

    // --- faults --------------------------------------------------------------------------------
    const busy = new Set<number>();
    const termResults: { node: number; code: number | null; signal: string | null; ms: number; clean: boolean; walEmpty: boolean; integrity: string }[] = [];
    let killsDone = 0;
    const restart = async (n: (typeof nodes)[number]) => {
      // A node started while the chain is unreachable waits for it (src/node/waitForChain.ts), so
      // `start` may take as long as the outage; any other failure to start is retried here.
      for (let attempt = 0; ; attempt++) {
        try {
          await n.start();
          return;
        } catch (error) {
          if (attempt > 60) throw error;
          notes.push(`node ${n.index} restart attempt ${attempt + 1} failed: ${(error as Error).message.split("\n")[0]}`);
          await sleep(2000);
        }
      }
    };
    const schedule = (count: number) => Array.from({ length: count }, () => startAt + rampMs + Math.random() * (durationMs - rampMs - 5000)).sort((a, b) => a - b);
    const pickNode = () => {
      const free = nodes.filter((n) => n.running && !busy.has(n.index));
      return free[Math.floor(Math.random() * free.length)];
    };
    const killLoop = (async () => {
      for (const at of schedule(kills)) {
        await sleep(at - Date.now());
        const n = pickNode();
        if (n === undefined) continue;
        busy.add(n.index);
        const from = Date.now();
        await n.kill();
        await restart(n);
        faults.push({ kind: "kill", node: n.index, from, to: Date.now(), note: `SIGKILL node ${n.index}` });
        killsDone++;
        busy.delete(n.index);
      }
    })();
    const termLoop = (async () => {
      for (const at of schedule(terms)) {
        await sleep(at - Date.now());
        const n = pickNode();
        if (n === undefined) continue;
        busy.add(n.index);
        const from = Date.now();
        const exit = await n.terminate();
        // Stopped cleanly: the WAL was checkpointed into the database; check the file now.
        const db = join(work, `node${n.index}`, "data", "tickets.db");
        const wal = `${db}-wal`;
        const walEmpty = !existsSync(wal) || statSync(wal).size === 0;
        const { DatabaseSync } = await import("node:sqlite");
        const d = new DatabaseSync(db, { readOnly: true });
        const integrity = (d.prepare("PRAGMA integrity_check").get() as Record<string, string>).integrity_check ?? "?";
        d.close();
        termResults.push({ node: n.index, code: exit.code, signal: exit.signal, ms: Math.round(exit.ms), clean: exit.stoppedCleanly, walEmpty, integrity });
        await restart(n);
        faults.push({ kind: "term", node: n.index, from, to: Date.now(), note: `SIGTERM node ${n.index}` });
        busy.delete(n.index);
      }
    })();
    const outage: { cutAt?: number; restoredAt?: number; during: Record<number, { servedBefore: bigint; servedAfter: bigint; ticketsBefore: number; ticketsAfter: number }>; newSession?: string; caughtUpMs?: number } = { during: {} };
    const statusOf = async (i: number) => (await (await fetch(`${endpoints[i]}/status`, { signal: AbortSignal.timeout(10_000) })).json()) as import("./soak/accounting.ts").NodeStatus & { ticketsByState: Record<string, number> };
    /** POST /sessions to a running node (or `node`) as `who`: "<status> <body>" (a node being killed meanwhile: try again). */
    const probeSession = async (who: (typeof consumers)[number], node?: number): Promise<string> => {
      for (let attempt = 0; ; attempt++) {
        const i = node ?? nodes.find((n) => n.running && !busy.has(n.index))?.index ?? 0;
        try {
          const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 15 s")), 15_000).unref());
          const res = await Promise.race([(async () => postSessionRequest(endpoints[i]!, await sessionRequestBody(endpoints[i]!, who)))(), timeout]);
          return `${res.status} ${(await res.text()).slice(0, 300)}`;
        } catch (error) {
          if (attempt >= 10) return `0 ${String(error)}`;
          await sleep(500);
        }
      }
    };
    const outageLoop = (async () => {
      if (outageMs <= 0) return;
      await sleep(startAt + rampMs + (durationMs - rampMs) * 0.3 - Date.now());
      const before = await Promise.all(nodes.map((n) => statusOf(n.index).catch(() => undefined)));
      await proxy.cut();
      const from = Date.now();
      outage.cutAt = from;
      log(`chain endpoint cut for ${outageMs / 1000} s`);
      // A new session while the chain is away: the node cannot check the sender's funds. The
      // probe runs beside the outage; the chain stays away until it has its answer (at most 15 s
      // past the planned end: a probe that retries past a killed node must still see the outage).
      const probe = sleep(Math.min(5000, outageMs / 2)).then(() => probeSession(consumers[0]!));
      await sleep(from + outageMs - Date.now());
      await Promise.race([probe, sleep(15_000)]);
      const after = await Promise.all(nodes.map((n) => statusOf(n.index).catch(() => undefined)));
      for (let i = 0; i < N_NODES; i++) {
        if (before[i] && after[i]) outage.during[i] = { servedBefore: BigInt(before[i]!.servedBytes), servedAfter: BigInt(after[i]!.servedBytes), ticketsBefore: before[i]!.tickets, ticketsAfter: after[i]!.tickets };
      }
      await proxy.restore();
      outage.restoredAt = Date.now();
      // The fault ends when the chain is back; errors after that are explained by GRACE_MS only.
      faults.push({ kind: "chain-outage", node: undefined, from, to: outage.restoredAt, note: `chain JSON-RPC unreachable for ${((outage.restoredAt - from) / 1000).toFixed(1)} s` });
      outage.newSession = await probe;
      log("chain endpoint back");
    })();
    const dataFull: { filledAt?: number; freedAt?: number; nodeAlive?: boolean; statusDuring?: string; newSession?: string } = {};
    const dataFullLoop = (async () => {
      if (dataFullMs <= 0 || !mounts.includes(join(work, `node${DATA_NODE}`, "data"))) return;
      await sleep(startAt + rampMs + (durationMs - rampMs) * 0.6 - Date.now());
      while (busy.has(DATA_NODE)) await sleep(200);
      busy.add(DATA_NODE);
      const dir = join(work, `node${DATA_NODE}`, "data");
      const filler = join(dir, "filler");
      const fd = openSync(filler, "w");
      const block = Buffer.alloc(1 << 20, 1);
      try {
        for (;;) writeSync(fd, block);
      } catch {
        // ENOSPC: full. Fill the last partial megabyte too.
        try {
          for (;;) writeSync(fd, block, 0, 4096);
        } catch {
          // full to the block
        }
      }
      closeSync(fd);
      const from = Date.now();
      dataFull.filledAt = from;
      log(`node ${DATA_NODE}'s data disk is full (${statfsSync(dir).bavail} blocks free) for ${dataFullMs / 1000} s`);
      const probe = sleep(Math.min(5000, dataFullMs / 2)).then(() => probeSession(consumers[1]!, DATA_NODE));
      await sleep(from + dataFullMs - Date.now());
      await Promise.race([probe, sleep(15_000)]); // the probe must see the full disk (see the outage)
      dataFull.nodeAlive = nodes[DATA_NODE]!.running;
      unlinkSync(filler);
      dataFull.freedAt = Date.now();
      faults.push({ kind: "data-disk-full", node: DATA_NODE, from, to: dataFull.freedAt, note: `node ${DATA_NODE}'s data disk full for ${((dataFull.freedAt - from) / 1000).toFixed(1)} s` });
      dataFull.newSession = await probe;
      busy.delete(DATA_NODE);
      log(`node ${DATA_NODE}'s data disk has room again`);
    })();
    // A node that exits on its own is a finding: restart it and count it.
    const unexpected: string[] = [];
    let watching = true;
    const watchLoop = (async () => {
      while (watching) {
        await sleep(500);
        for (const n of nodes) {
          if (n.running || busy.has(n.index)) continue;
          const at = Date.now();
          unexpected.push(`node ${n.index} exited on its own at +${((at - t0) / 1000).toFixed(1)} s: ${n.tail().split("\n").slice(-6).join(" / ")}`);
          busy.add(n.index);
          await restart(n).catch((e: unknown) => unexpected.push(`node ${n.index} could not restart: ${(e as Error).message}`));
          faults.push({ kind: "unexpected-exit", node: n.index, from: at, to: Date.now(), note: `node ${n.index} exited on its own` });
          busy.delete(n.index);
        }
      }
    })();

    const results = await Promise.all(workers);
    // A fault that could not be carried out is a failed soak, not a crash of this script.
    const faultFailures: string[] = [];
    await Promise.all([killLoop, termLoop, outageLoop, dataFullLoop].map((p, i) => p.catch((e: unknown) => faultFailures.push(`${["kills", "graceful stops", "chain outage", "full data disk"][i]}: ${(e as Error).message}`))));
    log(`consumers done; ${killsDone} kills, ${termResults.length} graceful stops; waiting for the redeemers to catch up`);

    // --- catch-up: every winner redeemed --------------------------------------------------------
    const catchupFrom = Date.now();
    let statuses: Awaited<ReturnType<typeof statusOf>>[] = [];
    for (;;) {
      statuses = await Promise.all(nodes.map((n) => statusOf(n.index)));
      const open = statuses.reduce((s, st) => s + (st.ticketsByState.pending ?? 0) + (st.ticketsByState.submitted ?? 0), 0);
      if (open === 0) break;
      if (Date.now() - catchupFrom > Number(values["catchup-seconds"]) * 1000) {
        notes.push(`redeemers did not catch up within ${values["catchup-seconds"]} s: ${open} winners open`);
        break;
      }
      await sleep(1000);
    }
    const catchupMs = Date.now() - catchupFrom;
    if (outage.restoredAt !== undefined) outage.caughtUpMs = Date.now() - outage.restoredAt;
    watching = false;
    await watchLoop;
    const finalStops = [];
    for (const n of nodes) finalStops.push({ node: n.index, ...(await n.terminate()) });

    // --- accounting ----------------------------------------------------------------------------
    const sessions = results.flatMap((r) => r.sessions);
    const accepted = results.flatMap((r) => r.accepted);
    const acc = await account({
      nodes: nodes.map((n, i) => ({ index: i, provider: listings[i]!.provider as Address, dbPath: join(work, `node${i}`, "data", "tickets.db"), status: statuses[i]! })),
      sessions, accepted,
      terms: { pricePerGiB: BigInt(offer.pricePerGiB), faceValue: BigInt(offer.faceValue), winProb: BigInt(offer.winProb), creditWindowBytes: BigInt(offer.creditWindowBytes) },
      publicClient: publicClient as unknown as PublicClient, broker: net.deployment.contracts.broker, fromBlock: 0n,
      restartsOf: (node, from, to) => faults.filter((f) => f.node === node && (f.kind === "kill" || f.kind === "term" || f.kind === "unexpected-exit") && f.from >= from && f.from <= to).length,
    });
    const checks = [...acc.checks];
    for (const s of finalStops) checks.push({ name: `node ${s.node}: final SIGTERM exits 0 and closes cleanly`, ok: s.code === 0 && s.stoppedCleanly && s.ms < 10_000, detail: `exit ${s.code ?? s.signal} in ${Math.round(s.ms)} ms` });
    // The WAL is part of the database (its commits are durable and the accounting reads them);
    // whether the last close checkpointed it is reported, not required.
    for (const t of termResults) checks.push({ name: `graceful stop of node ${t.node} under load`, ok: t.code === 0 && t.clean && t.integrity === "ok" && t.ms < 10_000, detail: `exit ${t.code ?? t.signal} in ${t.ms} ms, WAL ${t.walEmpty ? "checkpointed" : "left behind (not checkpointed)"}, integrity ${t.integrity}` });
    checks.push({ name: "no node exited on its own", ok: unexpected.length === 0, detail: unexpected.join(" | ") || "none" });
    checks.push({ name: "every fault was carried out", ok: faultFailures.length === 0, detail: faultFailures.join(" | ") || "yes" });
    if (kills > 0) checks.push({ name: `${kills} SIGKILLs done`, ok: killsDone === kills, detail: `${killsDone} done` });
    if (mounts.includes(join(work, `node${CACHE_NODE}`, "cache"))) {
      const left = readdirSync(join(work, `node${CACHE_NODE}`, "cache", "chunks")).filter((f) => f.endsWith(".tmp"));
      checks.push({ name: `node ${CACHE_NODE}: a full cache disk leaves no partial chunk files`, ok: left.length === 0, detail: `${left.length} .tmp files in the cache` });
    }
    if (dataFull.filledAt !== undefined) {
      checks.push({ name: `node ${DATA_NODE}: alive through a full data disk`, ok: dataFull.nodeAlive === true, detail: `new session while full: ${dataFull.newSession}` });
      // SQLite may still fit a write in pages its files already hold (a WAL reset by a checkpoint is
      // rewritten from its start): then the session is recorded. Either that, or a clear 507; never a 500.
      checks.push({ name: `node ${DATA_NODE}: a new session on a full data disk is recorded or refused with 507 StorageFullError`, ok: /^(201 |507 .*StorageFullError)/.test(dataFull.newSession ?? ""), detail: (dataFull.newSession ?? "").slice(0, 120) });
    }
    if (outage.cutAt !== undefined) {
      checks.push({ name: "chain outage: a new session is refused with 503 ChainUnavailableError", ok: /^503 .*ChainUnavailableError/.test(outage.newSession ?? ""), detail: outage.newSession ?? "" });
    }

    // --- errors ---------------------------------------------------------------------------------
    const errors = results.flatMap((r) => r.errors);
    const samples = Object.assign({}, ...results.map((r) => r.samples)) as Record<string, string>;
    const byKind = new Map<string, { expected: number; unexpected: number; why: Set<string>; at: string[]; sample?: string }>();
    for (const e of errors) {
      const f = faults.find((f) => (f.node === undefined || e.node === undefined || f.node === e.node) && e.at >= f.from - 1000 && e.at <= f.to + graceOf(f, e.kind) && EXPECTED[f.kind].test(e.kind));
      const k = byKind.get(e.kind) ?? { expected: 0, unexpected: 0, why: new Set<string>(), at: [] };
      const protocol = PROTOCOL.find(([kind]) => kind.test(e.kind));
      if (protocol !== undefined) {
        k.expected++;
        k.why.add(protocol[1]);
      } else if (f !== undefined) {
        k.expected++;
        k.why.add(f.kind);
      } else {
        k.unexpected++;
        // Each unexpected error with its own message: a kind's sample may be an expected one.
        k.sample ??= e.detail;
        if (k.at.length < 8) k.at.push(`+${((e.at - t0) / 1000).toFixed(1)}s node ${e.node ?? "?"}: ${e.detail.slice(0, 200)}`);
      }
      byKind.set(e.kind, k);
    }
    // The nodes' own word on relay tunnels they cut for want of payment (RST: "relay tunnel broke"
    // on the consumer's side), over every life of each node.
    const unpaidCuts = nodes.map((n) => {
      try {
        return readFileSync(join(work, `node${n.index}`, "node.log"), "utf8").split("\n").filter((l) => l.includes("relay: cut a tunnel")).length;
      } catch {
        return 0;
      }
    });
    notes.push(`relay tunnels cut unpaid (node logs): ${unpaidCuts.map((c, i) => `node ${i}: ${c}`).join(", ")}`);
    const unexplained = [...byKind.entries()].filter(([, k]) => k.unexpected > 0);
    checks.push({ name: "every error is explained by a fault in progress", ok: unexplained.length === 0, detail: unexplained.map(([kind, k]) => `${kind} x${k.unexpected}: ${k.sample ?? samples[kind]}`).join(" | ") || "none unexplained" });
    const finished = results.reduce((s, r) => s + r.counters.consumersFinished, 0);
    checks.push({ name: "every consumer finished (verified bytes, settled)", ok: finished === nSessions, detail: `${finished} of ${nSessions}` });

    // --- report ---------------------------------------------------------------------------------
    const sum = (f: (r: WorkerResult) => number) => results.reduce((s, r) => s + f(r), 0);
    const lat = (xs: number[]) => ({ n: xs.length, p50: Math.round(percentile(xs, 0.5)), p99: Math.round(percentile(xs, 0.99)) });
    const report = {
      command: `npm run soak -- ${process.argv.slice(2).join(" ")}`.trim(),
      durationSeconds: durationMs / 1000,
      consumers: { total: nSessions, cdn: nSessions - nRelay, relay: nRelay, finished },
      clientSessions: sessions.length,
      cdn: { downloads: sum((r) => r.counters.downloads), chunks: sum((r) => r.counters.chunks), bytes: sum((r) => r.counters.cdnBytes) },
      relay: { tunnels: sum((r) => r.counters.tunnels), bytes: sum((r) => r.counters.relayBytes) },
      ticketsAcknowledgedToClients: accepted.length,
      latencyMs: { chunk: lat(results.flatMap((r) => r.latencies.chunkMs)), tunnelConnect: lat(results.flatMap((r) => r.latencies.connectMs)), tunnelTtfb: lat(results.flatMap((r) => r.latencies.ttfbMs)) },
      nodes: acc.totals.map((t) => ({ ...t, servedBytes: t.servedBytes.toString(), paidBytes: t.paidBytes.toString(), paid: t.paid.toString(), chain: { ...t.chain, paid: t.chain.paid.toString(), burned: t.chain.burned.toString(), treasury: t.chain.treasury.toString() } })),
      catchupMs,
      faults: faults.map((f) => ({ ...f, from: f.from ? `+${((f.from - t0) / 1000).toFixed(1)}s` : "-", to: f.to ? `+${((f.to - t0) / 1000).toFixed(1)}s` : "-" })),
      graceful: termResults,
      outage: { ...outage, during: Object.fromEntries(Object.entries(outage.during).map(([k, v]) => [k, { servedDuring: (v.servedAfter - v.servedBefore).toString(), ticketsDuring: v.ticketsAfter - v.ticketsBefore }])) },
      dataFull,
      failovers: sum((r) => r.failovers.length),
      errors: Object.fromEntries([...byKind.entries()].map(([kind, k]) => [kind, { expected: k.expected, unexpected: k.unexpected, explainedBy: [...k.why], ...(k.at.length ? { unexpectedAt: k.at } : {}), sample: samples[kind] }])),
      notes,
      checks,
    };
    const outPath = values.out ?? join(work, "soak-report.json");
    await writeFile(outPath, JSON.stringify(report, null, 2));
    printReport(report);
    console.log(`report: ${outPath}${values.keep ? `; work dir kept: ${work}` : ""}`);
    const ok = checks.every((c) => c.ok);
    console.log(ok ? `SOAK PASSED (${checks.length} checks)` : `SOAK FAILED: ${checks.filter((c) => !c.ok).map((c) => c.name).join("; ")}`);
    return ok ? 0 : 1;
  } catch (error) {
    console.error(error);
    for (const n of nodes) console.error(`--- node ${n.index}:\n${n.tail()}`);
    return 1;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    for (const m of mounts) spawnSync("umount", ["-l", m], { stdio: "ignore" });
    if (!values.keep) await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

function printReport(r: Record<string, unknown> & { checks: { name: string; ok: boolean; detail: string }[] }): void {
  const { checks, ...rest } = r;
  for (const [k, v] of Object.entries(rest)) console.log(`${k}: ${JSON.stringify(v)}`);
  for (const c of checks) console.log(`${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
}

if (values.role === "worker") {
  await runWorker(JSON.parse(await readFile(values.job!, "utf8")) as WorkerJob);
  process.exit(0);
} else {
  process.exitCode = await main();
}
