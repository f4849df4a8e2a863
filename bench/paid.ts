// Paid delivery throughput against nginx on the same bytes, same machine, same run.
//   npx node bench/paid.ts [--duration 4] [--rounds 3] [--connections 16] [--clients 4] [--workers 4]
//                          [--bytes-per-ticket "8 MiB"] [--credit-window "32 MiB"] [--sessions 100] [--only 1m|64m]
//                          [--paid-only] [--prof-dir DIR] [--node-config JSON] [--node-flags="--max-opt=2"]
//                          [--client-flags="..."]
// The node's offer terms (bytesPerTicket, creditWindowBytes) are flags because they decide how many
// tickets, and so signatures and durable commits, a GiB costs; try "16 MiB" / "64 MiB".
//
// Starts the embedded chain with the contracts deployed, a publisher's origin, nginx (Debian
// nginx-light) over the publisher's directory, a real provider node (`bandmint node start`, its
// own process) and an unpaid edge (its own process), then measures per object size:
//   (a) nginx with wrk (-tN -cN, N = --connections) and with the Node load generator below, once
//       plain and once hashing every body byte with sha256 as a verifying client does,
//   (b) the unpaid edge with wrk and the Node load generator,
//   (p) paid delivery driven by wrk (bench/lib/paidWrk.ts): N sessions of N senders, one per wrk
//       thread and connection, tickets in X-Bandmint-Ticket signed before the clock starts. The
//       node does all of its paid work; the load generator does what nginx's does. Afterwards
//       every session pays its tail and the bench checks that every served byte is paid.
//   (c) paid delivery end to end: `--clients` paying consumers (the real client SDK: ProviderPool +
//       ProviderSession, sha256 of every chunk, a ticket per `bytesPerTicket`) against the node.
//       Data requests carry no tickets: the client's payer POSTs them in batches as chunks verify
//       (src/client/ticketPayer.ts), so "carrier" latencies appear only for older clients.
// Then what each part of the paid path costs on one core (client sha256 and signing, node-side
// check + recovery and the SQLite commit), the payment bytes per GiB, and the node's RSS idle and
// under `--sessions` concurrent paying sessions.
//
// The load generators run in child processes (roles below), so the server under test never
// shares an event loop with its load.
import { spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { Agent, get as httpGet } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import secp256k1 from "secp256k1";
import { freePort } from "../src/devnet/freePort.ts";
import { ensureNginxAndWrk, startNginx, wrk, wrkBest, type Nginx } from "./lib/nginx.ts";
import { paidWrk } from "./lib/paidWrk.ts";
import { cpuSeconds, median, rssMiB, runRole, startProcess, stopProcesses, threadCpuDelta, threadCpuSeconds } from "./lib/processStats.ts";
import { reportResult } from "./lib/benchResult.ts";

const MiB = 1 << 20;
const TOKEN = 10n ** 18n;
const OBJECTS = [
  { key: "1m", name: "obj1m.bin", size: MiB },
  { key: "64m", name: "obj64m.bin", size: 64 * MiB },
];
const PUBLISHER_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const ROOT = new URL("..", import.meta.url).pathname;

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
    clients: { type: "string", default: "4" },
    workers: { type: "string", default: "4" },
    // Default: the node's own defaults (src/node/config.ts).
    "bytes-per-ticket": { type: "string" },
    "credit-window": { type: "string" },
    sessions: { type: "string", default: "100" },
    only: { type: "string" },
    // Skip the nginx/edge baselines and the undici comparison (quick iterations on the paid path).
    "paid-only": { type: "boolean", default: false },
    // Write V8 CPU profiles of the node and of the paying clients here (see where the time goes).
    "prof-dir": { type: "string" },
    // Merged into the node's config file, e.g. '{"signerThreads":0}' (compare node settings).
    "node-config": { type: "string", default: "{}" },
    // Node/V8 flags for the provider node process only, e.g. "--max-opt=2" (what a runtime flag costs).
    "node-flags": { type: "string", default: "" },
    // V8 / Node flags for the paying consumers' process (e.g. "--max-semi-space-size=16").
    "client-flags": { type: "string", default: "" },
    // Internal: the role of a child process and its JSON job.
    role: { type: "string", default: "main" },
    job: { type: "string", default: "{}" },
  },
});

/** A job for the `paid` role: paying clients against one node. */
type PaidJob = {
  listing: { provider: Address; endpoint: string; pricePerGiB: string };
  keys: Hex[];
  chainId: number;
  broker: Address;
  contentId: string;
  path: string;
  durationMs: number;
  /** Chunks each client keeps in flight. */
  workers: number;
  /** Fetch this many chunks of the object once per client and stop (the RSS run: sessions, not speed). */
  once?: number;
  /** "fast": node:http transport + native signer (createClient's defaults); "undici": global fetch + viem signing. */
  stack: "fast" | "undici";
};

/** What a paid run reports. */
type PaidResult = { bytes: number; ms: number; tickets: number; ticketHeaderBytes: number; ticketPostBytes: number; posts: number; requests: number; sessionHeaderBytes: number; responsePaymentHeaderBytes: number; cpuMs: number; errors: string[]; statuses: Record<string, number>; headerMs: Record<string, { n: number; ms: number }> };

if (values.role === "load") {
  const job = JSON.parse(values.job!) as { url: string; connections: number; durationMs: number; sha256?: boolean };
  process.stdout.write(JSON.stringify(await nodeLoad(job.url, job.connections, job.durationMs, job.sha256 === true)));
} else if (values.role === "paid") {
  process.stdout.write(JSON.stringify(await paidLoad(JSON.parse(values.job!) as PaidJob)));
} else if (values.role === "edge") {
  const { createEdge } = await import("../src/node/edge/createEdge.ts");
  const { freeGate } = await import("../src/node/edge/paymentGate.ts");
  const job = JSON.parse(values.job!) as { cacheDir: string; origin: string };
  const edge = createEdge({ cacheDir: job.cacheDir, maxCacheBytes: 1 << 30, origins: [job.origin], gate: freeGate });
  process.stdout.write(`listening ${await edge.start()}\n`);
  process.once("SIGTERM", () => void edge.stop().then(() => process.exit(0)));
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------
// Load generators (child processes).

/** Plain HTTP GETs of `url` on `connections` keep-alive sockets for `durationMs`; counts body bytes (and hashes them with `sha256`). */
async function nodeLoad(url: string, connections: number, durationMs: number, sha256 = false): Promise<{ bytes: number; ms: number; requests: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let bytes = 0;
  let requests = 0;
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      httpGet(url, { agent }, (res) => {
        if (res.statusCode !== 200 && res.statusCode !== 206) errors++;
        const hash = sha256 ? createHash("sha256") : undefined;
        res.on("data", (c: Buffer) => {
          bytes += c.length;
          hash?.update(c);
        });
        res.on("end", () => {
          hash?.digest();
          requests++;
          resolve();
        });
        res.on("error", () => (errors++, resolve()));
      }).on("error", () => (errors++, resolve()));
    });
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < deadline) await one();
  }));
  const ms = performance.now() - started;
  agent.destroy();
  return { bytes, ms, requests, errors };
}

/** Paying clients (the SDK's pool and sessions): each fetches the object's chunks over and over, verifying and paying. */
async function paidLoad(job: PaidJob): Promise<PaidResult> {
  const { createProviderPool } = await import("../src/client/providerPool.ts");
  const { openProviderSession } = await import("../src/client/providerSession.ts");
  const { createProviderStats } = await import("../src/market/providerStats.ts");
  const { signTicket } = await import("../src/protocol/signTicket.ts");
  const { ticketDomain } = await import("../src/protocol/ticket.ts");
  const { createHttpFetch } = await import("../src/client/createHttpFetch.ts");
  const { createNativeTicketSigner } = await import("../src/client/createNativeTicketSigner.ts");
  const { SESSION_HEADER, TICKET_HEADER } = await import("../src/protocol/wire.ts");
  const { signSessionRequest } = await import("../src/protocol/sessionRequest.ts");
  const domain = ticketDomain(job.chainId, job.broker);
  const listing = { provider: job.listing.provider, endpoint: job.listing.endpoint, pricePerGiB: BigInt(job.listing.pricePerGiB), capacityMbps: 1000n, region: "local", services: 1 };
  const r: PaidResult = { bytes: 0, ms: 0, tickets: 0, ticketHeaderBytes: 0, ticketPostBytes: 0, posts: 0, requests: 0, sessionHeaderBytes: 0, responsePaymentHeaderBytes: 0, cpuMs: 0, errors: [], statuses: {}, headerMs: {} };
  const transport = job.stack === "fast" ? createHttpFetch() : fetch;
  // Counts what payment adds to the wire, request and response side.
  const countingFetch = (key: Hex): typeof fetch => async (input, init) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const ticket = headers[TICKET_HEADER];
    if (ticket !== undefined) r.ticketHeaderBytes += TICKET_HEADER.length + 2 + ticket.length + 2;
    if (headers[SESSION_HEADER] !== undefined) r.sessionHeaderBytes += SESSION_HEADER.length + 2 + headers[SESSION_HEADER].length + 2;
    if (init?.method === "POST" && String(input).endsWith("/tickets") && typeof init.body === "string") {
      r.ticketPostBytes += init.body.length + 200; // + request line and headers, roughly
      r.posts++;
    }
    r.requests++;
    const t0 = performance.now();
    const res = await transport(input, init);
    const kind = ticket !== undefined ? "carrier" : init?.method === "POST" ? "post" : "plain";
    const lat = (r.headerMs[kind] ??= { n: 0, ms: 0 });
    lat.n++;
    lat.ms += performance.now() - t0;
    const status = String(res.status);
    r.statuses[status] = (r.statuses[status] ?? 0) + 1;
    for (const [k, v] of res.headers) if (k.startsWith("x-bandmint-")) r.responsePaymentHeaderBytes += k.length + 2 + v.length + 2;
    return res;
  };
  const pools = job.keys.map((key) => {
    const sender = privateKeyToAccount(key).address;
    const sign = job.stack === "fast" ? createNativeTicketSigner(key, domain) : (ticket: Parameters<typeof signTicket>[0]["ticket"]) => signTicket({ ticket, domain, privateKey: key });
    return createProviderPool({
      listings: async () => [listing],
      stats: createProviderStats(),
      openSession: (l, signal) =>
        openProviderSession({ listing: l, chainId: job.chainId, broker: job.broker, sender, sign, signSession: (message) => signSessionRequest({ message, domain, privateKey: key }), fetch: countingFetch(key), signal }),
      maxProviders: 1,
      perProvider: job.workers,
      logger: { info: (m: string) => r.errors.push(`pool: ${m}`), warn: (m: string) => r.errors.push(`pool: ${m}`) },
      timeouts: { unmeasuredMs: 60_000, minMs: 30_000 },
    });
  });
  const manifest = await pools[0]!.fetchManifest(job.contentId);
  const file = manifest.files.find((f) => f.path === job.path)!;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const deadline = started + job.durationMs;
  await Promise.all(pools.map(async (pool) => {
    await pool.fetchManifest(job.contentId);
    let next = 0;
    const n = file.chunks.length;
    await Promise.all(Array.from({ length: job.workers }, async () => {
      while (job.once !== undefined ? next < job.once : performance.now() < deadline) {
        const index = next++ % n;
        try {
          const data = await pool.fetchChunk({ contentId: job.contentId, chunkSize: manifest.chunkSize, file, index });
          r.bytes += data.length;
        } catch (error) {
          r.errors.push((error as Error).message);
          if (r.errors.length > 20) break;
        }
      }
    }));
  }));
  r.ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  r.cpuMs = (cpu.user + cpu.system) / 1000;
  await Promise.all(pools.map((p) => p.settle()));
  r.tickets = pools.reduce((s, p) => s + p.report().reduce((t, x) => t + x.tickets, 0), 0);
  return r;
}

// ---------------------------------------------------------------------------------------------
// The orchestrator.

/** Runs this script in another role; resolves with its parsed stdout. */
async function child<T>(role: string, job: unknown): Promise<T> {
  const flags = role === "paid" ? values["client-flags"]!.split(" ").filter((f) => f !== "") : [];
  const prof = values["prof-dir"] !== undefined && role === "paid" ? ["--cpu-prof", "--cpu-prof-dir", values["prof-dir"]] : [];
  return runRole<T>(new URL(import.meta.url).pathname, role, job, [...flags, ...prof]);
}

/** Starts a long-lived process and waits for its "listening <url>" line. */
async function startServer(args: string[], what: string): Promise<{ proc: ChildProcess; url: string }> {
  const { proc, match } = await startProcess(args, what, /listening (\S+)/, ROOT);
  return { proc, url: match[1]! };
}


async function main(): Promise<void> {
  if (!ensureNginxAndWrk()) process.exit(1);
  const { localNetwork } = await import("../test/fixtures/localNetwork.ts");
  const { writeDeployment } = await import("../src/chain/deployment.ts");
  const { OriginServer } = await import("../src/content/originServer.ts");
  const { publishDir } = await import("../src/content/publishDir.ts");
  const { registerProvider } = await import("../src/node/registerProvider.ts");
  const { fundBroker } = await import("../src/client/brokerFunds.ts");
  const { DEFAULT_BYTES_PER_TICKET, DEFAULT_CREDIT_WINDOW_BYTES, parseByteSize } = await import("../src/node/config.ts");

  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const nClients = Number(values.clients);
  const workers = Number(values.workers);
  const nSessions = Number(values.sessions);
  const bytesPerTicket = values["bytes-per-ticket"] === undefined ? DEFAULT_BYTES_PER_TICKET : parseByteSize(values["bytes-per-ticket"]);
  const creditWindow = values["credit-window"] === undefined ? DEFAULT_CREDIT_WINDOW_BYTES : parseByteSize(values["credit-window"]);
  const objects = OBJECTS.filter((o) => values.only === undefined || o.key === values.only);

  const work = await mkdtemp(join(tmpdir(), "bandmint-bench-paid-"));
  const content = join(work, "content");
  const prefix = join(work, "nginx");
  await mkdir(content);
  await mkdir(prefix);
  const procs: ChildProcess[] = [];
  let origin: InstanceType<typeof OriginServer> | undefined;
  let net: Awaited<ReturnType<typeof localNetwork>> | undefined;
  try {
    for (const o of OBJECTS) await writeFile(join(content, o.name), randomBytes(o.size));
    const { manifest } = await publishDir({ dir: content, signer: privateKeyToAccount(PUBLISHER_KEY), now: 1 });
    origin = new OriginServer({ dir: content });
    const originUrl = await origin.start();

    // Chain: one provider, `clients` consumers for the SDK runs, `connections` for the paying wrk
    // runs, `sessions` more for the RSS run.
    const consumerCount = nClients + connections + nSessions;
    net = await localNetwork({ providers: 1, consumers: consumerCount, fundEach: 100_000n });
    const deploymentPath = join(work, "deployment.json");
    await writeDeployment(deploymentPath, net.deployment);
    const provider = net.accounts.providers[0]!;
    const deployer = await net.clientsFor(net.accounts.deployer);
    const consumers = net.accounts.consumers;
    // Dev accounts past the chain's 20 prefunded ones (indices 10.. are consumers) get gas money.
    for (const c of consumers.slice(10)) {
      await deployer.publicClient.waitForTransactionReceipt({ hash: await deployer.walletClient!.sendTransaction({ to: c.address, value: parseEther("10") }) });
    }
    for (const c of consumers) await fundBroker(await net.clientsFor(c), net.deployment, { deposit: 10_000n * TOKEN, reserve: 100n * TOKEN });

    const nodePort = await freePort();
    const nodeEndpoint = `http://127.0.0.1:${nodePort}`;
    const price = 10n ** 18n; // 1 BAND per GiB
    const pc = await net.clientsFor(provider);
    await registerProvider({
      publicClient: pc.publicClient, walletClient: pc.walletClient!, deployment: net.deployment,
      listing: { endpoint: nodeEndpoint, pricePerGiB: price, capacityMbps: 10_000, region: "local", services: ["cdn"] },
    });
    const nodeConfig = join(work, "node.json");
    await writeFile(nodeConfig, JSON.stringify({
      deployment: deploymentPath, rpcUrl: net.rpcUrl, privateKey: provider.privateKey, port: nodePort, dataDir: join(work, "node"),
      origins: [originUrl], pricePerGiB: price.toString(), bytesPerTicket: bytesPerTicket.toString(), creditWindowBytes: creditWindow.toString(), maxCacheBytes: String(1 << 30),
      // The paying wrk runs send tickets signed before the run; submitting a winner rotates its
      // session's recipientRandHash (payments.md §1.2), which a real client answers by re-signing
      // and a pre-signed list cannot. So winners stay stored during the bench; redemption costs gas,
      // not data-path time, and bench/gas.ts measures it.
      redeem: { intervalSeconds: 3600 },
      ...(JSON.parse(values["node-config"]!) as object),
    }));
    const nodeProf = values["prof-dir"] !== undefined ? ["--cpu-prof", "--cpu-prof-dir", values["prof-dir"]] : [];
    const nodeFlags = values["node-flags"]!.split(" ").filter((f) => f !== "");
    const node = await startServer([...nodeProf, ...nodeFlags, join(ROOT, "src/cli/main.ts"), "node", "start", "--config", nodeConfig], "node");
    procs.push(node.proc);
    const edge = await startServer([new URL(import.meta.url).pathname, "--role", "edge", "--job", JSON.stringify({ cacheDir: join(work, "edge-cache"), origin: originUrl })], "edge");
    procs.push(edge.proc);
    const nginxPort = await freePort();
    const nginx: Nginx = await startNginx({ prefix, root: content, port: nginxPort, probePath: OBJECTS[0]!.name });
    procs.push(nginx.proc);

    const paidJob = (o: (typeof OBJECTS)[number], keys: Hex[], durationMs: number, once?: number): PaidJob => ({
      listing: { provider: provider.address, endpoint: node.url, pricePerGiB: price.toString() },
      keys, chainId: net!.deployment.chainId, broker: net!.deployment.contracts.broker, contentId: manifest.contentId, path: o.name, durationMs, workers, ...(once !== undefined ? { once } : {}), stack: "fast",
    });
    const speedKeys = consumers.slice(0, nClients).map((c) => c.privateKey);
    const wrkKeys = consumers.slice(nClients, nClients + connections).map((c) => c.privateKey);
    const paidWrkRun = (o: (typeof OBJECTS)[number], round: number) =>
      paidWrk({
        endpoint: node.url, path: `/c/${manifest.contentId}/${o.name}`, objectSize: o.size, keys: wrkKeys,
        chainId: net!.deployment.chainId, broker: net!.deployment.contracts.broker, durationSeconds: duration, dir: join(work, `wrk-${o.key}-${round}`),
      });
    // Warm: edge and node caches (disk + memory) and the JIT of both servers.
    for (const o of objects) {
      await (await fetch(`${edge.url}/c/${manifest.contentId}/${o.name}`)).arrayBuffer();
      await child<PaidResult>("paid", paidJob(o, speedKeys, 1500));
    }
    const idleRss = rssMiB(node.proc.pid!);

    const cores = spawnSync("nproc").stdout.toString().trim();
    console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(" ")} (the box is shared; figures are medians of ${rounds} interleaved rounds, [each round])`);
    console.log(`${cores} cores; wrk -t${connections} -c${connections} -d${duration}s; node load generator ${connections} connections; nginx 1 worker; edge and node 1 process each`);
    console.log(`paid: ${nClients} clients x ${workers} chunks in flight, chunk ${manifest.chunkSize} B, bytesPerTicket ${bytesPerTicket}, creditWindow ${creditWindow}`);
    console.log("object      what                        MB/s   x nginx(wrk)  x nginx(node load)  x nginx(node+sha256)  [per round] notes");
    const mbs = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
    const summary: string[] = [];
    for (const o of objects) {
      // The Node load generators use nginx's stock configuration (they cannot take it near its limit).
      const nginxUrl = `${nginx.urls[0]!.url}/${o.name}`;
      const edgeUrl = `${edge.url}/c/${manifest.contentId}/${o.name}`;
      const skip = values["paid-only"] === true;
      // The box is shared: every measurement runs once per round, interleaved, and the table shows
      // medians (ratios are medians of the per-round ratios, so a busy round hits both sides).
      const rows = new Map<string, { mbs: number[]; xWrk: number[]; xLoad: number[]; xHash: number[]; note: string }>();
      const add = (what: string, v: number, nginxWrk: number, nginxLoad: number, note = "", nginxHash = NaN) => {
        const row = rows.get(what) ?? { mbs: [], xWrk: [], xLoad: [], xHash: [], note: "" };
        row.mbs.push(v);
        row.xWrk.push(v / nginxWrk);
        row.xLoad.push(v / nginxLoad);
        row.xHash.push(v / nginxHash);
        if (note) row.note = note;
        rows.set(what, row);
      };
      let last: PaidResult | undefined;
      let peak = 0;
      const nodeCpu = () => ({ threads: threadCpuSeconds(node.proc.pid!), total: cpuSeconds(node.proc.pid!) });
      for (let round = 0; round < rounds; round++) {
        const nw = skip ? undefined : await wrkBest(nginx, `/${o.name}`, { threads: connections, connections, durationSeconds: duration });
        const cpu0 = nodeCpu();
        const pw = await paidWrkRun(o, round);
        const cpu1 = nodeCpu();
        // Node CPU (all threads) per GiB served, signing and the tail payment included: steadier than MB/s here.
        const gib = Number(pw.servedBytes) / 2 ** 30;
        const paidCpu = (cpu1.total - cpu0.total) / gib;
        // ... and by thread: the event loop, the signature recoveries, the durable commits, the rest (GC helpers, libuv).
        const byThread = cpuByThread(cpu0, cpu1, ["MainThread", "signer", "ticket writer"], gib);
        const nl = skip ? undefined : await child<{ bytes: number; ms: number; errors: number }>("load", { url: nginxUrl, connections, durationMs: duration * 1000 });
        const nh = skip ? undefined : await child<{ bytes: number; ms: number; errors: number }>("load", { url: nginxUrl, connections, durationMs: duration * 1000, sha256: true });
        const edgeCpuOf = () => ({ threads: threadCpuSeconds(edge.proc.pid!), total: cpuSeconds(edge.proc.pid!) });
        const edgeCpu0 = edgeCpuOf();
        const ew = skip ? undefined : await wrk(edgeUrl, { threads: connections, connections, durationSeconds: duration });
        const edgeCpu1 = edgeCpuOf();
        const edgeGib = ew ? (ew.rps * duration * o.size) / 2 ** 30 : NaN;
        const edgeCpu = (edgeCpu1.total - edgeCpu0.total) / edgeGib;
        // The same split as the paid node's, so their event loops compare directly.
        const edgeByThread = cpuByThread(edgeCpu0, edgeCpu1, ["MainThread"], edgeGib);
        const el = skip ? undefined : await child<{ bytes: number; ms: number; errors: number }>("load", { url: edgeUrl, connections, durationMs: duration * 1000 });
        const undici = skip ? undefined : await child<PaidResult>("paid", { ...paidJob(o, speedKeys, duration * 1000), stack: "undici" });
        const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(node.proc.pid!))), 250);
        const paid = await child<PaidResult>("paid", paidJob(o, speedKeys, duration * 1000));
        clearInterval(sampler);
        last = paid;
        const nginxWrk = nw ? (nw.rps * o.size) / 1e6 : NaN;
        const nginxLoad = nl ? mbs(nl.bytes, nl.ms) : NaN;
        const nginxHash = nh ? mbs(nh.bytes, nh.ms) : NaN;
        if (nw && nl && nh && ew && el && undici) {
          add("nginx (wrk)", nginxWrk, nginxWrk, nginxLoad, `best of ${nw.all}${nw.errors ? `; ${nw.errors}` : ""}`, nginxHash);
          add("nginx (node load)", nginxLoad, nginxWrk, nginxLoad, nl.errors ? `${nl.errors} errors` : "", nginxHash);
          add("nginx (node load+sha256)", nginxHash, nginxWrk, nginxLoad, nh.errors ? `${nh.errors} errors` : "", nginxHash);
          add("edge unpaid (wrk)", (ew.rps * o.size) / 1e6, nginxWrk, nginxLoad, `${ew.errors ? `${ew.errors}; ` : ""}edge CPU ${(edgeCpu * 1000).toFixed(0)} ms/GiB (${edgeByThread})`);
          add("edge unpaid (node load)", mbs(el.bytes, el.ms), nginxWrk, nginxLoad, el.errors ? `${el.errors} errors` : "");
          add("paid, undici + viem sign", mbs(undici.bytes, undici.ms), nginxWrk, nginxLoad, undici.errors.length ? `${undici.errors.length} errors: ${undici.errors[0]}` : "", nginxHash);
        }
        const unpaid = pw.servedBytes - pw.paidBytes;
        add("paid (wrk, node side)", pw.mbs, nginxWrk, nginxLoad,
          `${pw.errors || "no errors"}; node CPU ${(paidCpu * 1000).toFixed(0)} ms/GiB (${byThread}); ${pw.tickets} tickets, ${(pw.ticketHeaderBytesPerGiB / 1024).toFixed(1)} KiB of ticket headers per GiB; ` +
            `after the tail: served ${pw.servedBytes} B, paid ${pw.paidBytes} B${unpaid === 0n ? " (every byte paid)" : `, UNPAID ${unpaid}`}; signed in ${pw.signMs.toFixed(0)} ms before the run`, nginxHash);
        const lat = Object.entries(paid.headerMs).map(([k, v]) => `${k} ${(v.ms / v.n).toFixed(1)}`).join(", ");
        add("paid (client SDK)", mbs(paid.bytes, paid.ms), nginxWrk, nginxLoad, `client CPU ${((paid.cpuMs * (1 << 30)) / Math.max(paid.bytes, 1)).toFixed(0)} ms/GiB; ms to response headers: ${lat}${paid.errors.length ? `; ${paid.errors.length} errors: ${paid.errors[0]}` : ""}`, nginxHash);
      }
      for (const [what, row] of rows) {
        console.log(`${o.name.padEnd(11)} ${what.padEnd(25)} ${median(row.mbs).toFixed(0).padStart(6)}   ${median(row.xWrk).toFixed(2).padStart(8)}x  ${median(row.xLoad).toFixed(2).padStart(12)}x  ${median(row.xHash).toFixed(2).padStart(14)}x     [${row.mbs.map((v) => v.toFixed(0)).join(" ")}] ${row.note}`);
      }
      const paid = last!;
      const gib = paid.bytes / 2 ** 30;
      console.log(
        `${"".padEnd(11)} payment bytes per GiB: tickets ${(paid.ticketHeaderBytes / gib / 1024).toFixed(1)} KiB in headers + ${(paid.ticketPostBytes / gib / 1024).toFixed(1)} KiB in ${paid.posts} POSTs, ` +
          `session header ${(paid.sessionHeaderBytes / gib / 1024).toFixed(1)} KiB, response X-Bandmint-* ${(paid.responsePaymentHeaderBytes / gib / 1024).toFixed(1)} KiB; ` +
          `${paid.tickets} tickets = ${(paid.bytes / MiB / Math.max(1, paid.tickets)).toFixed(2)} MiB per ticket; node RSS peak ${peak.toFixed(0)} MiB`,
      );
      const p = rows.get("paid (client SDK)")!;
      const w = rows.get("paid (wrk, node side)")!;
      // Issue 13's SDK goal: the SDK (verifying and paying) against a plain load generator on the same
      // node (its edge, unpaid), round by round; nginx's figures stay beside it.
      const el = rows.get("edge unpaid (node load)");
      const sameNode = el === undefined ? null : median(p.mbs.map((v, i) => v / el.mbs[i]!));
      summary.push(
        `${o.name}: paid, wrk ${median(w.mbs).toFixed(0)} MB/s = ${median(w.xWrk).toFixed(2)}x nginx (same wrk settings); ` +
          `paid, client SDK ${median(p.mbs).toFixed(0)} MB/s = ${sameNode === null ? "-" : sameNode.toFixed(2)}x the Node load generator on the same node (unpaid, no hashing), ` +
          `${median(p.xLoad).toFixed(2)}x nginx (Node load generator), ${median(p.xHash).toFixed(2)}x nginx (Node load generator hashing like the SDK)`,
      );
      // Headline figures for `npm run bench` (issue 13's goals); ratios are medians of per-round ratios.
      const nginxOf = (what: string) => (rows.has(what) ? median(rows.get(what)!.mbs) : null);
      reportResult({ name: `paid ${o.size / MiB} MiB (wrk)`, ours: median(w.mbs), reference: nginxOf("nginx (wrk)"), vs: "nginx (wrk)", ratio: median(w.xWrk), unit: "MB/s", goal: o.size === MiB ? ">= 0.8x" : ">= 0.9x" });
      reportResult({ name: `paid ${o.size / MiB} MiB (client SDK)`, ours: median(p.mbs), reference: nginxOf("edge unpaid (node load)"), vs: "load generator on the same node, unpaid", ratio: sameNode, unit: "MB/s", goal: ">= 0.8x" });
      reportResult({ name: `paid ${o.size / MiB} MiB (client SDK) vs nginx`, ours: median(p.mbs), reference: nginxOf("nginx (node load)"), vs: "load generator on nginx", ratio: median(p.xLoad), unit: "MB/s" });
    }

    // RSS under many concurrent sessions: every extra consumer opens a session and fetches the
    // first 16 MiB of the 64 MiB object, paying as it goes (each sender has its own credit window).
    if (nSessions > 0) {
      const o = OBJECTS[1]!;
      const keys = consumers.slice(nClients).map((c) => c.privateKey);
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(node.proc.pid!))), 100);
      const t0 = performance.now();
      const r = await child<PaidResult>("paid", { ...paidJob(o, keys, 0, 16), workers: 2 });
      clearInterval(sampler);
      const status = (await (await fetch(`${node.url}/status`)).json()) as { sessions: number };
      console.log(`node RSS: idle ${idleRss.toFixed(0)} MiB; peak ${peak.toFixed(0)} MiB with ${keys.length} concurrent paying sessions (${keys.length} x 16 MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${mbs(r.bytes, r.ms).toFixed(0)} MB/s, ${r.errors.length} errors; node has ${status.sessions} sessions)`);
    }

    await components(net.deployment.chainId, net.deployment.contracts.broker, work, bytesPerTicket, creditWindow);
    console.log(summary.join("\n"));
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  } finally {
    await stopProcesses(procs);
    await origin?.stop();
    await net?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** CPU ms per GiB by thread between two readings ("event loop 314, signer 24, ..."; the rest is "other"). */
function cpuByThread(before: { threads: Map<string, number>; total: number }, after: { threads: Map<string, number>; total: number }, names: readonly string[], gib: number): string {
  return Object.entries(threadCpuDelta(before, after, names))
    .map(([name, sec]) => `${name === "MainThread" ? "event loop" : name} ${((sec * 1000) / gib).toFixed(0)}`)
    .join(", ");
}

/** What each part of the paid path costs on one core, measured in this process (nothing else running). */
async function components(chainId: number, broker: Address, work: string, bytesPerTicket: bigint, creditWindowBytes: bigint): Promise<void> {
  const { signTicket } = await import("../src/protocol/signTicket.ts");
  const { defaultFaceValue } = await import("../src/node/config.ts");
  const { ticketDomain } = await import("../src/protocol/ticket.ts");
  const { hashTicketBytes, domainSeparatorBytes } = await import("../src/protocol/hashTicket.ts");
  const { encodeTicketHeader, serializeTicketPayment } = await import("../src/protocol/wire.ts");
  const { buildOffer } = await import("../src/node/payments/buildOffer.ts");
  const { openTicketStore } = await import("../src/node/payments/ticketStore.ts");
  const { createSessionBook } = await import("../src/node/payments/sessionBook.ts");
  const { createFundsCache } = await import("../src/node/payments/fundsCache.ts");
  const { createTicketIntake } = await import("../src/node/payments/ticketIntake.ts");
  const { checkTicket } = await import("../src/protocol/checkTicket.ts");
  const { devAccount } = await import("../src/chain/devAccounts.ts");
  const rate = (n: number, ms: number) => (n / (ms / 1000));
  const time = async (n: number, f: (i: number) => unknown): Promise<number> => {
    const t = performance.now();
    for (let i = 0; i < n; i++) await f(i);
    return performance.now() - t;
  };
  console.log("cost of each part, one core:");
  const chunk = randomBytes(MiB);
  let ms = await time(200, () => createHash("sha256").update(chunk).digest());
  console.log(`  client  sha256 verify of 1 MiB chunks     ${rate(200 * MiB / 1e6, ms).toFixed(0).padStart(7)} MB/s`);

  const consumer = devAccount(10);
  const providerAcc = devAccount(2);
  const domain = ticketDomain(chainId, broker);
  const offer = buildOffer({ recipient: providerAcc.address, chainId, broker, pricePerGiB: TOKEN, bytesPerTicket, faceValue: defaultFaceValue(TOKEN, bytesPerTicket), creditWindowBytes, ticketExpirySeconds: 86_400, services: ["cdn"] });
  const clock = { now: () => Date.now() };
  const dbDir = join(work, "components");
  await mkdir(dbDir, { recursive: true });
  const store = openTicketStore({ path: join(dbDir, "node.db") });
  const sessions = createSessionBook({ store, clock, creditWindowBytes: offer.creditWindowBytes });
  const session = sessions.open(consumer.address);
  const ticketAt = (i: number) => ({
    recipient: offer.recipient, sender: consumer.address, faceValue: offer.faceValue, winProb: offer.winProb, senderNonce: BigInt(i + 1),
    recipientRandHash: session.randHash, expiry: BigInt(Math.floor(Date.now() / 1000)) + 86_400n, sessionId: session.id, cumulativeBytes: BigInt(i + 1) * bytesPerTicket,
  });
  const n = 300;
  const payments: { ticket: ReturnType<typeof ticketAt>; signature: Hex }[] = [];
  ms = await time(n, async (i) => payments.push({ ticket: ticketAt(i), signature: await signTicket({ ticket: ticketAt(i), domain, privateKey: consumer.privateKey }) }));
  console.log(`  client  sign ticket (viem, JS)            ${rate(n, ms).toFixed(0).padStart(7)} tickets/s`);
  const sep = domainSeparatorBytes(domain);
  const keyBytes = Buffer.from(consumer.privateKey.slice(2), "hex");
  ms = await time(n, (i) => secp256k1.ecdsaSign(hashTicketBytes(ticketAt(i), sep), keyBytes));
  console.log(`  client  sign ticket (native libsecp256k1) ${rate(n, ms).toFixed(0).padStart(7)} tickets/s  (createNativeTicketSigner: createClient's signer)`);
  const header = encodeTicketHeader([payments[0]!]);
  console.log(`  wire    one ticket: ${header.length} B in X-Bandmint-Ticket, ${JSON.stringify(serializeTicketPayment(payments[0]!)).length} B as JSON in a POST`);
  const nowS = BigInt(Math.floor(Date.now() / 1000));
  ms = await time(n, (i) => checkTicket(payments[i]!.ticket, payments[i]!.signature, { domain: sep, now: nowS, expectedRecipient: offer.recipient, minExpiry: nowS, faceValue: offer.faceValue, winProb: offer.winProb }));
  console.log(`  node    check + recover signature (native) ${rate(n, ms).toFixed(0).padStart(6)} tickets/s`);
  // Intake end to end: every check, then the durable write (SQLite WAL, synchronous=FULL).
  const funds = createFundsCache({ read: async () => ({ deposit: 1000n * TOKEN, reserve: 0n, withdrawTime: 0n }), clock, ttlMs: 60_000 });
  const intake = createTicketIntake({ store, funds, offer, domainSeparator: sep, clock, outstanding: new Map() });
  session.servedBytes = BigInt(n) * bytesPerTicket;
  await intake.accept(session, payments[0]!);
  ms = await time(n - 1, (i) => intake.accept(session, payments[i + 1]!));
  console.log(`  node    ticket intake incl. SQLite commit  ${rate(n - 1, ms).toFixed(0).padStart(6)} tickets/s  (${(ms / (n - 1)).toFixed(2)} ms each, one at a time: one fsync each)`);
  // Tickets that arrive together share a commit (the intake's group commit).
  const more: typeof payments = [];
  for (let i = n; i < 2 * n; i++) more.push({ ticket: ticketAt(i), signature: await signTicket({ ticket: ticketAt(i), domain, privateKey: consumer.privateKey }) });
  session.servedBytes = BigInt(2 * n) * bytesPerTicket;
  const t = performance.now();
  const results = await Promise.allSettled(more.map((p) => intake.accept(session, p)));
  const ok = results.filter((x) => x.status === "fulfilled").length;
  console.log(`  node    ticket intake, ${n} at once          ${rate(ok, performance.now() - t).toFixed(0).padStart(6)} tickets/s  (${ok}/${n} accepted; group commit)`);
  sessions.flush();
  store.close();
}
