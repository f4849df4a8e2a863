// Where the provider node's memory goes, and what it weighs idle and under load.
//   npx node bench/footprint.ts [--sessions 100] [--chunks 16] [--only imports|node] [--variants source,build,build-js,router,build-defaults] [--idle-seconds 3]
//                               [--router-heap 64]
//                               [--node-config '{"signerThreads":0}'] [--node-flags="--max-semi-space-size=1"]
// Prints, on this machine:
//   1. bare Node's RSS, then the cost of importing each dependency and each of our modules, every
//      one in a fresh process (RSS and V8 heap after a full GC; the delta is against bare Node);
//   2. `bandmint node start` against the embedded chain, as the source tree runs it (`node
//      src/cli/main.ts`, Node's type stripping) and as the self-contained build (`node
//      bandmint.mjs` from a directory of its own, with the native secp256k1 package next to it and
//      without it): RSS and threads idle, then the peak while `--sessions` real consumers (the
//      client SDK, one sender each, bench/paid.ts's `paid` role) open sessions at once and each
//      fetches `--chunks` MiB, verifying and paying; then how long SIGTERM takes to stop it.
//      Variants "build-defaults" (the build on Node's own runtime defaults: BANDMINT_RUNTIME set,
//      so the node does not relaunch itself with src/cli/lib/nodeRuntime.ts's settings) and
//      "router" (the build sized as on a 256 MB, 2-core box: hostDefaults' threads and cache for
//      that host, the young generation its relaunch would choose there (nodeRuntime.ts nodeV8Flags),
//      and V8's old generation capped at --router-heap MiB) show what each part buys.
// Goals (issue 11): idle <= 64 MB, <= 128 MB with 100 paid sessions. RSS counts the pages of the
// node binary it touched (RssFile: shared with every other Node process and reclaimable), so the
// anonymous part (RssAnon) is printed beside it, and each idle node's RSS by region (the node
// binary's code and data, glibc's main heap, other anonymous memory) beside a bare Node's.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseEther, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { runRole } from "./lib/processStats.ts";
import { reportResult } from "./lib/benchResult.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MiB = 1 << 20;
const TOKEN = 10n ** 18n;
const PUBLISHER_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "100" },
    chunks: { type: "string", default: "16" },
    only: { type: "string" },
    variants: { type: "string", default: "source,build,build-js,router" },
    // V8's old-generation cap (MiB) in the "router" variant: what a 256 MB box can give the node.
    "router-heap": { type: "string", default: "64" },
    // How long the node runs before the idle figures are read.
    "idle-seconds": { type: "string", default: "3" },
    // Extra node config fields (JSON), e.g. '{"signerThreads":0}', to see what a setting costs.
    "node-config": { type: "string", default: "{}" },
    // Node/V8 flags for the node process, e.g. "--max-semi-space-size=1".
    "node-flags": { type: "string", default: "" },
  },
});

/** /proc/<pid>/status figures in MiB, and the thread count. */
function procStatus(pid: number): { rss: number; anon: number; file: number; threads: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile"), threads: Number(/Threads:\s+(\d+)/.exec(s)?.[1] ?? NaN) };
}

/**
 * Resident MiB of a process by region (/proc/<pid>/smaps): the node binary's code and read-only data
 * (file-backed, shared with every Node process), glibc's main heap, other anonymous memory (V8's
 * heap, thread stacks, other malloc arenas), the rest. Says which of them an idle node could shed.
 */
function rssRegions(pid: number, execPath: string): string {
  const sums = new Map<string, number>();
  let region = "other";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const m = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const [perms, name] = [m[1]!, m[2]!];
      region = name === execPath ? (perms.includes("x") ? "node code" : "node data") : name === "[heap]" ? "malloc main heap" : name === "" ? "other anon" : "other";
      continue;
    }
    const rss = /^Rss:\s+(\d+)/.exec(line);
    if (rss) sums.set(region, (sums.get(region) ?? 0) + Number(rss[1]) / 1024);
  }
  return ["node code", "node data", "malloc main heap", "other anon", "other"].map((r) => `${r} ${(sums.get(r) ?? 0).toFixed(1)}`).join(", ");
}

/** Thread names of a process, counted ("node x1, libuv-worker x4, ..."). */
function threadNames(pid: number): string {
  const counts = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const name = readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([n, c]) => `${n} x${c}`).join(", ");
}

const fmt = (n: number) => n.toFixed(1).padStart(6);

// ---------------------------------------------------------------------------------------------
// 1. Import cost per module.

async function importCost(specifier: string | undefined): Promise<{ rss: number; heap: number }> {
  const script = `${specifier ? `await import(${JSON.stringify(specifier)});` : ""}
globalThis.gc(); await new Promise((r) => setTimeout(r, 100)); globalThis.gc();
const m = process.memoryUsage(); process.stdout.write(JSON.stringify({ rss: m.rss / ${MiB}, heap: m.heapUsed / ${MiB} }));`;
  const child = spawn(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`importing ${specifier}: exit ${code}`);
  return JSON.parse(out) as { rss: number; heap: number };
}

async function imports(): Promise<void> {
  const probeDir = await mkdtemp(join(tmpdir(), "bandmint-footprint-"));
  const probe = join(probeDir, "probe.ts");
  await writeFile(probe, "export const x: number = 1;\n");
  const median = async (spec: string | undefined) => {
    const runs = [await importCost(spec), await importCost(spec), await importCost(spec)].sort((a, b) => a.rss - b.rss);
    return runs[1]!;
  };
  const bare = await median(undefined);
  console.log(`bare Node ${process.versions.node}: RSS ${bare.rss.toFixed(1)} MiB, heap ${bare.heap.toFixed(1)} MiB (median of 3 fresh processes)`);
  console.log("import (each in a fresh process)                      RSS MiB   +bare   heap MiB");
  const rows: [string, string][] = [
    ["a one-line .ts file (Node's type stripping)", probe],
    ["viem", "viem"],
    ["viem/accounts", "viem/accounts"],
    ["viem/utils", "viem/utils"],
    ["zod", "zod"],
    ["yaml", "yaml"],
    ["node:sqlite", "node:sqlite"],
    ["secp256k1 (native binding)", "secp256k1/bindings.js"],
    ["@noble/curves/secp256k1", "@noble/curves/secp256k1"],
    ["src/protocol/index.ts", "./src/protocol/index.ts"],
    ["src/chain/abis.ts", "./src/chain/abis.ts"],
    ["src/chain/clients.ts", "./src/chain/clients.ts"],
    ["src/node/config.ts", "./src/node/config.ts"],
    ["src/node/providerNode.ts", "./src/node/providerNode.ts"],
    ["src/cli/commands/node-start.ts", "./src/cli/commands/node-start.ts"],
    ["src/client/createClient.ts", "./src/client/createClient.ts"],
  ];
  for (const [label, spec] of rows) {
    const r = await median(spec);
    console.log(`${label.padEnd(52)} ${fmt(r.rss)}  ${fmt(r.rss - bare.rss)}  ${fmt(r.heap)}`);
  }
  await rm(probeDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// 2. The running node.

async function startNode(cmd: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; url: string; out: () => string }> {
  const proc = spawn(process.execPath, cmd, { cwd, stdio: ["ignore", "pipe", "pipe"], env });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on("data", () => {
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once("exit", (code) => reject(new Error(`node exited with ${code}: ${out}`)));
  });
  return { proc, url, out: () => out };
}

async function nodes(): Promise<void> {
  const { localNetwork } = await import("../test/fixtures/localNetwork.ts");
  const { writeDeployment } = await import("../src/chain/deployment.ts");
  const { OriginServer } = await import("../src/content/originServer.ts");
  const { publishDir } = await import("../src/content/publishDir.ts");
  const { registerProvider } = await import("../src/node/registerProvider.ts");
  const { fundBroker } = await import("../src/client/brokerFunds.ts");
  const { hostDefaults } = await import("../src/node/hostDefaults.ts");
  const { nodeV8Flags } = await import("../src/cli/lib/nodeRuntime.ts");
  const nSessions = Number(values.sessions);
  const chunks = Number(values.chunks);
  const variants = values.variants!.split(",");
  // The node's host-sized defaults (hostDefaults.ts) on a 256 MB router, as config fields: such a
  // box reports about 240 MiB (the kernel keeps the rest) and two cores.
  const routerHost = { cores: 2, totalMemory: 240 * MiB };
  const router = hostDefaults(routerHost);
  const routerConfig = { signerThreads: router.signerThreads, ticketWriterThread: router.ticketWriterThread, memoryCacheBytes: router.memoryCacheBytes };
  const haveBuild = existsSync(join(ROOT, "scripts", "build-node.ts"));

  const work = await mkdtemp(join(tmpdir(), "bandmint-footprint-"));
  const content = join(work, "content");
  await mkdir(content);
  let origin: InstanceType<typeof OriginServer> | undefined;
  let net: Awaited<ReturnType<typeof localNetwork>> | undefined;
  try {
    const file = "obj.bin";
    await writeFile(join(content, file), randomBytes(chunks * MiB));
    const { manifest } = await publishDir({ dir: content, signer: privateKeyToAccount(PUBLISHER_KEY), chunkSize: MiB, now: 1 });
    origin = new OriginServer({ dir: content });
    const originUrl = await origin.start();

    net = await localNetwork({ providers: 1, consumers: nSessions, fundEach: 100_000n });
    const deploymentPath = join(work, "deployment.json");
    await writeDeployment(deploymentPath, net.deployment);
    const deployer = await net.clientsFor(net.accounts.deployer);
    const consumers = net.accounts.consumers;
    // Dev accounts past the chain's 20 prefunded ones (consumers start at index 10) need gas money.
    for (const c of consumers.slice(10)) {
      await deployer.publicClient.waitForTransactionReceipt({ hash: await deployer.walletClient!.sendTransaction({ to: c.address, value: parseEther("10") }) });
    }
    for (const c of consumers) await fundBroker(await net.clientsFor(c), net.deployment, { deposit: 1000n * TOKEN, reserve: 10n * TOKEN });
    const provider = net.accounts.providers[0]!;
    const price = TOKEN; // 1 BAND per GiB
    const pc = await net.clientsFor(provider);
    await registerProvider({
      publicClient: pc.publicClient, walletClient: pc.walletClient!, deployment: net.deployment,
      listing: { endpoint: "http://127.0.0.1:1", pricePerGiB: price, capacityMbps: 1000, region: "local", services: ["cdn"] },
    });

    const built = haveBuild ? await (await import("../scripts/build-node.ts")).buildNode({ outfile: join(work, "dist", "bandmint.mjs") }) : undefined;
    if (built) console.log(`self-contained build: ${(built.bytes / 1024).toFixed(0)} KiB (${built.inputs} source files)`);
    console.log(`load average: ${loadavg().map((l) => l.toFixed(1)).join(" ")} (shared machine)`);
    console.log(`node start against the embedded chain; ${nSessions} consumers x ${chunks} MiB; RSS in MiB (anonymous + file-backed)`);
    // The same regions for a bare Node that only waits: what no change to our code can go below.
    const bare = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 1500));
    const bareStatus = procStatus(bare.pid!);
    console.log(`bare Node, idle: RSS ${bareStatus.rss.toFixed(1)} (${bareStatus.anon.toFixed(0)}+${bareStatus.file.toFixed(0)}); by region (MiB): ${rssRegions(bare.pid!, process.execPath)}`);
    bare.kill();
    console.log("variant                        idle RSS (anon+file)   threads   peak RSS with sessions   after   stop on SIGTERM");
    for (const variant of variants) {
      let cmd: string[];
      let cwd = ROOT;
      if (variant === "source") cmd = [join(ROOT, "src", "cli", "main.ts")];
      else if (built === undefined) continue;
      else {
        // A directory of its own, as an operator installs it; "build" adds the native binding next to it.
        cwd = join(work, variant);
        await mkdir(cwd, { recursive: true });
        await copyFile(built.path, join(cwd, "bandmint.mjs"));
        if (variant !== "build-js") {
          await mkdir(join(cwd, "node_modules"), { recursive: true });
          for (const pkg of ["secp256k1", "node-gyp-build", "node-addon-api"]) await symlink(join(ROOT, "node_modules", pkg), join(cwd, "node_modules", pkg));
        }
        cmd = [join(cwd, "bandmint.mjs")];
      }
      const config = join(work, `${variant}.json`);
      await writeFile(config, JSON.stringify({
        deployment: deploymentPath, rpcUrl: net.rpcUrl, privateKey: provider.privateKey, port: 0, dataDir: join(work, `data-${variant}`),
        origins: [originUrl], pricePerGiB: price.toString(), redeem: { intervalSeconds: 3600 },
        ...(variant === "router" ? routerConfig : {}),
        ...(JSON.parse(values["node-config"]!) as object),
      }));
      // The router's V8 flags as its relaunch would choose them on that host (given flags are kept),
      // then --node-flags, which win.
      const flags = variant === "router" ? [...nodeV8Flags(routerHost), `--max-old-space-size=${values["router-heap"]}`] : [];
      flags.push(...values["node-flags"]!.split(" ").filter((f) => f !== ""));
      const env = variant === "build-defaults" ? { ...process.env, BANDMINT_RUNTIME: "default" } : process.env;
      const node = await startNode([...flags, ...cmd, "node", "start", "--config", config], cwd, env);
      try {
        await new Promise((r) => setTimeout(r, Number(values["idle-seconds"]) * 1000));
        const idle = procStatus(node.proc.pid!);
        const names = threadNames(node.proc.pid!);
        const regions = rssRegions(node.proc.pid!, process.execPath);
        const crypto = /secp256k1 \S+[^\n]*/.exec(node.out())?.[0] ?? "";
        let peak = idle.rss;
        const sampler = setInterval(() => (peak = Math.max(peak, procStatus(node.proc.pid!).rss)), 100);
        const t0 = performance.now();
        const job = {
          listing: { provider: provider.address, endpoint: node.url, pricePerGiB: price.toString() },
          keys: consumers.map((c) => c.privateKey), chainId: net.deployment.chainId, broker: net.deployment.contracts.broker,
          contentId: manifest.contentId, path: file, durationMs: 0, workers: 2, once: chunks, stack: "fast",
        };
        const paid = await runPaidClients(job);
        clearInterval(sampler);
        const seconds = (performance.now() - t0) / 1000;
        const status = (await (await fetch(`${node.url}/status`)).json()) as { sessions: number; tickets: number; paidBytes: string };
        const after = procStatus(node.proc.pid!);
        if (process.env.FOOTPRINT_DEBUG) console.log(node.out());
        const t1 = performance.now();
        const exited = new Promise((r) => node.proc.once("exit", r));
        node.proc.kill("SIGTERM");
        await exited;
        const stopMs = performance.now() - t1;
        console.log(
          `${variant.padEnd(30)} ${fmt(idle.rss)} (${idle.anon.toFixed(0)}+${idle.file.toFixed(0)})   ${String(idle.threads).padStart(5)}   ${fmt(peak).padStart(22)}   ${fmt(after.rss)}   ${(stopMs / 1000).toFixed(1)} s (exit ${node.proc.exitCode})`,
        );
        console.log(`${"".padEnd(31)}threads: ${names}`);
        console.log(`${"".padEnd(31)}idle RSS by region (MiB): ${regions}`);
        console.log(`${"".padEnd(31)}${status.sessions} sessions, ${status.tickets} tickets, ${(Number(status.paidBytes) / MiB).toFixed(0)} MiB paid; ${(paid.bytes / MiB).toFixed(0)} MiB in ${seconds.toFixed(1)} s, ${paid.errors.length} errors${paid.errors[0] ? ` (${paid.errors[0]})` : ""}${crypto ? `; ${crypto}` : ""}`);
        // Headline figures for `npm run bench` (issue 11's goals; RSS in MiB, as /proc reports it).
        reportResult({ name: `footprint idle RSS (${variant})`, ours: idle.rss, unit: "MiB", goal: "<= 64", lowerIsBetter: true });
        reportResult({ name: `footprint peak RSS, ${nSessions} paid sessions (${variant})`, ours: peak, unit: "MiB", goal: nSessions === 100 ? "<= 128" : undefined, lowerIsBetter: true });
      } finally {
        if (node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill("SIGKILL");
      }
    }
  } finally {
    await origin?.stop();
    await net?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** The paying consumers: bench/paid.ts's `paid` role (the client SDK), in a child process. */
async function runPaidClients(job: unknown): Promise<{ bytes: number; errors: string[] }> {
  return runRole(join(ROOT, "bench", "paid.ts"), "paid", job);
}

if (values.only === undefined || values.only === "imports") await imports();
if (values.only === undefined || values.only === "node") await nodes();
