// Relay throughput and latency against a direct connection, same machine, same run.
//   npx node bench/relay.ts [--rounds 3] [--size-mib 64] [--ttfb-samples 40] [--tunnels 100]
//                           [--bytes-per-ticket "8 MiB"] [--credit-window "32 MiB"] [--prof-dir DIR]
//
// Starts the embedded chain with the contracts, a destination HTTP server (its own process:
// `GET /blob/<n>` streams n pseudo-random bytes), a real provider node with relay on (`bandmint
// node start`, its own process, the destination as its only test target) and `bandmint proxy`
// (its own process), then measures, interleaved over `--rounds` rounds, one `--size-mib` download:
//   (d) direct: a Node HTTP client fetching from the destination;
//   (r) relay alone: the same request inside a paid CONNECT tunnel through the node, the client
//       being the SDK's relay session (src/client/openRelaySession.ts: counts every byte, signs a
//       ticket per bytesPerTicket with libsecp256k1, POSTs them off the data path), its answer
//       piped into a function (pooled reads, as into a socket);
//   (p) full chain: the request through `bandmint proxy` (CONNECT) and the node: what
//       `curl -x http://127.0.0.1:PORT` does.
// Then the median time to first byte of a 1 KiB request on a new connection for each path, and
// the node's RSS idle and with `--tunnels` open tunnels. Every client runs in a child process.
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect as netConnect, type Socket } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { parseArgs } from "node:util";
import { parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { freePort } from "../src/devnet/freePort.ts";
import { DEFAULT_BYTES_PER_TICKET, DEFAULT_CREDIT_WINDOW_BYTES } from "../src/node/config.ts";
import { cpuSeconds, median, rssMiB, runRole, startProcess as start } from "./lib/processStats.ts";
import { reportResult } from "./lib/benchResult.ts";

const MiB = 1 << 20;
const TOKEN = 10n ** 18n;
const ROOT = new URL("..", import.meta.url).pathname;

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    "size-mib": { type: "string", default: "64" },
    "ttfb-samples": { type: "string", default: "40" },
    tunnels: { type: "string", default: "100" },
    // Unset: the node's own defaults (src/node/config.ts).
    "bytes-per-ticket": { type: "string" },
    "credit-window": { type: "string" },
    // Write V8 CPU profiles of the node and of the relay clients here (see where the time goes).
    "prof-dir": { type: "string" },
    role: { type: "string", default: "main" },
    job: { type: "string", default: "{}" },
  },
});

type Job = { kind: "direct" | "relay" | "proxy"; target: string; path: string; node?: { provider: Address; endpoint: string; pricePerGiB: string }; chainId?: number; broker?: Address; key?: Hex; proxy?: string; samples?: number };
type Result = { bytes: number; ms: number; ttfbMs: number[]; tickets: number; moved: string };

/** Reads an HTTP response from a socket we wrote the request to; resolves at its end (Connection: close). */
function drainResponse(socket: Socket | Readable, onFirst: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let first = true;
    socket.on("data", (c: Buffer) => {
      if (first) {
        first = false;
        onFirst();
      }
      n += c.length;
    });
    socket.once("end", () => resolve(n));
    socket.once("error", reject);
  });
}

/** A child's load: one big download (and `samples` small ones for the time to first byte). */
async function load(job: Job): Promise<Result> {
  const [host, portText] = job.target.split(":");
  const port = Number(portText);
  const head = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${job.target}\r\nConnection: close\r\n\r\n`;
  const r: Result = { bytes: 0, ms: 0, ttfbMs: [], tickets: 0, moved: "0" };
  if (job.kind === "direct") {
    // The same raw-socket reader as the relayed paths (no HTTP parser on either side of the ratio).
    const once = (path: string) =>
      new Promise<{ bytes: number; ttfb: number }>((resolve, reject) => {
        const t0 = performance.now();
        const socket = netConnect(port, host!, () => socket.write(head(path)));
        let ttfb = 0;
        drainResponse(socket, () => (ttfb = performance.now() - t0)).then((bytes) => resolve({ bytes, ttfb }), reject);
      });
    for (let i = 0; i < (job.samples ?? 0); i++) r.ttfbMs.push((await once("/blob/1024")).ttfb);
    const t0 = performance.now();
    r.bytes = (await once(job.path)).bytes;
    r.ms = performance.now() - t0;
    return r;
  }
  if (job.kind === "proxy") {
    const [phost, pport] = job.proxy!.replace("http://", "").split(":");
    const once = (path: string) =>
      new Promise<{ bytes: number; ttfb: number }>((resolve, reject) => {
        const t0 = performance.now();
        const req = httpRequest({ host: phost, port: Number(pport), method: "CONNECT", path: job.target, agent: false });
        req.once("connect", (res, socket) => {
          if (res.statusCode !== 200) return reject(new Error(`CONNECT ${res.statusCode}`));
          let ttfb = 0;
          drainResponse(socket, () => (ttfb = performance.now() - t0)).then((bytes) => resolve({ bytes, ttfb }), reject);
          socket.write(head(path));
        });
        req.once("error", reject);
        req.end();
      });
    for (let i = 0; i < (job.samples ?? 0); i++) r.ttfbMs.push((await once("/blob/1024")).ttfb);
    const t0 = performance.now();
    r.bytes = (await once(job.path)).bytes;
    r.ms = performance.now() - t0;
    return r;
  }
  // Relay alone: the SDK's relay session against the node, no local proxy.
  const { openRelaySession } = await import("../src/client/openRelaySession.ts");
  const { createNativeTicketSigner } = await import("../src/client/createNativeTicketSigner.ts");
  const { signSessionRequest } = await import("../src/protocol/sessionRequest.ts");
  const { ticketDomain } = await import("../src/protocol/ticket.ts");
  const domain = ticketDomain(job.chainId!, job.broker!);
  const listing = { provider: job.node!.provider, endpoint: job.node!.endpoint, pricePerGiB: BigInt(job.node!.pricePerGiB), capacityMbps: 1000n, region: "local", services: 3 };
  const session = await openRelaySession({
    listing, chainId: job.chainId!, broker: job.broker!, sender: privateKeyToAccount(job.key!).address,
    sign: createNativeTicketSigner(job.key!, domain), signSession: (message) => signSessionRequest({ message, domain, privateKey: job.key! }),
  });
  const once = async (path: string): Promise<{ bytes: number; ttfb: number }> => {
    const t0 = performance.now();
    const socket = await session.connect(host!, port);
    let ttfb = 0;
    let bytes = 0;
    // Like curl: the request goes up and our side stays open until the response has ended.
    const up = new PassThrough();
    const sent = session.pipe(up, socket);
    up.write(head(path));
    // The answer into a function (the SDK's no-copy way to consume a tunnel: pooled reads).
    await session.pipe(socket, (c) => {
      if (bytes === 0) ttfb = performance.now() - t0;
      bytes += c.length;
    });
    up.end();
    await sent.catch(() => undefined);
    socket.destroy();
    return { bytes, ttfb };
  };
  for (let i = 0; i < (job.samples ?? 0); i++) r.ttfbMs.push((await once("/blob/1024")).ttfb);
  const t0 = performance.now();
  r.bytes = (await once(job.path)).bytes;
  r.ms = performance.now() - t0;
  await session.settle();
  const pay = session.payments();
  r.tickets = pay.tickets;
  r.moved = pay.movedBytes.toString();
  return r;
}

const prof = values["prof-dir"] === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", values["prof-dir"]];
const child = <T>(role: string, job: unknown): Promise<T> => runRole<T>(new URL(import.meta.url).pathname, role, job, (job as Job).kind === "relay" ? prof : []);

async function main(): Promise<void> {
  const { localNetwork } = await import("../test/fixtures/localNetwork.ts");
  const { writeDeployment } = await import("../src/chain/deployment.ts");
  const { registerProvider } = await import("../src/node/registerProvider.ts");
  const { fundBroker } = await import("../src/client/brokerFunds.ts");
  const { openSession } = await import("../test/node/harness.ts");
  const { connectThrough } = await import("../test/fixtures/proxyClients.ts");
  const rounds = Number(values.rounds);
  const size = Number(values["size-mib"]) * MiB;
  const samples = Number(values["ttfb-samples"]);
  const nTunnels = Number(values.tunnels);
  const work = await mkdtemp(join(tmpdir(), "bandmint-bench-relay-"));
  const procs: ChildProcess[] = [];
  let net: Awaited<ReturnType<typeof localNetwork>> | undefined;
  try {
    // Consumers: one per measured client process (relay runs), one for the proxy, two for tunnels, one to warm up.
    net = await localNetwork({ providers: 1, consumers: rounds + 4, fundEach: 100_000n });
    const deploymentPath = join(work, "deployment.json");
    await writeDeployment(deploymentPath, net.deployment);
    const deployer = await net.clientsFor(net.accounts.deployer);
    for (const c of net.accounts.consumers.slice(10)) {
      await deployer.publicClient.waitForTransactionReceipt({ hash: await deployer.walletClient!.sendTransaction({ to: c.address, value: parseEther("10") }) });
    }
    for (const c of net.accounts.consumers) await fundBroker(await net.clientsFor(c), net.deployment, { deposit: 10_000n * TOKEN, reserve: 100n * TOKEN });

    const dest = await start([join(ROOT, "test/fixtures/blobServer.ts")], "destination", /listening (\S+)/, ROOT);
    procs.push(dest.proc);
    const target = dest.match[1]!;
    const provider = net.accounts.providers[0]!;
    const nodePort = await freePort();
    const endpoint = `http://127.0.0.1:${nodePort}`;
    const price = TOKEN;
    const pc = await net.clientsFor(provider);
    await registerProvider({ publicClient: pc.publicClient, walletClient: pc.walletClient!, deployment: net.deployment, listing: { endpoint, pricePerGiB: price, capacityMbps: 10_000, region: "local", services: ["relay"] } });
    const config = join(work, "node.json");
    await writeFile(config, JSON.stringify({
      deployment: deploymentPath, rpcUrl: net.rpcUrl, privateKey: provider.privateKey, port: nodePort, dataDir: join(work, "node"), services: ["relay"],
      pricePerGiB: price.toString(), bytesPerTicket: values["bytes-per-ticket"], creditWindowBytes: values["credit-window"],
      relay: { testTargets: [target], maxTunnelsPerSender: nTunnels },
    }));
    const node = await start([...prof, join(ROOT, "src/cli/main.ts"), "node", "start", "--config", config], "node", /listening (\S+)/, ROOT);
    procs.push(node.proc);
    const proxyKey = net.accounts.consumers[rounds]!.privateKey;
    const proxy = await start([join(ROOT, "src/cli/main.ts"), "proxy", "--port", "0", "--deployment", deploymentPath, "--key", proxyKey, "--data-dir", join(work, "client")], "proxy", /bandmint proxy on (\S+)/, ROOT);
    procs.push(proxy.proc);
    const nodeJob = { provider: provider.address, endpoint, pricePerGiB: price.toString() };
    const path = `/blob/${size}`;

    console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(" ")} (shared box: medians of ${rounds} interleaved rounds, [each round])`);
    console.log(`one ${size / MiB} MiB download per run; node terms ${values["bytes-per-ticket"] ?? `${DEFAULT_BYTES_PER_TICKET >> 20n} MiB (default)`} per ticket, ${values["credit-window"] ?? `${DEFAULT_CREDIT_WINDOW_BYTES >> 20n} MiB (default)`} window`);
    const runs: Record<"direct" | "relay" | "proxy", Result[]> = { direct: [], relay: [], proxy: [] };
    const nodeCpu: number[] = [];
    // One unmeasured paid relay download first: the node starts its signer and ticket-writer
    // threads on the first tickets and compiles its hot paths, which the first measured relay run
    // would otherwise pay for alone (it ran at about half the speed of the later ones).
    await child<Result>("load", { kind: "relay", target, path: `/blob/${8 * MiB}`, node: nodeJob, chainId: net.deployment.chainId, broker: net.deployment.contracts.broker, key: net.accounts.consumers[rounds + 3]!.privateKey, samples: 0 });
    for (let round = 0; round < rounds; round++) {
      const first = round === 0 ? samples : 0;
      runs.direct.push(await child<Result>("load", { kind: "direct", target, path, samples: first }));
      // The node's CPU time during the relay run (its share of the work, whatever the box's load).
      const cpu0 = cpuSeconds(node.proc.pid!);
      runs.relay.push(await child<Result>("load", { kind: "relay", target, path, node: nodeJob, chainId: net.deployment.chainId, broker: net.deployment.contracts.broker, key: net.accounts.consumers[round]!.privateKey, samples: first }));
      nodeCpu.push(cpuSeconds(node.proc.pid!) - cpu0);
      runs.proxy.push(await child<Result>("load", { kind: "proxy", target, path, proxy: proxy.match[1], samples: first }));
    }
    const mbps = (x: Result) => x.bytes / 1e6 / (x.ms / 1000);
    const row = (name: string, xs: Result[]) => `${name.padEnd(34)} ${median(xs.map(mbps)).toFixed(0).padStart(6)} MB/s  [${xs.map((x) => mbps(x).toFixed(0)).join(", ")}]`;
    const d = median(runs.direct.map(mbps));
    const r = median(runs.relay.map(mbps));
    const p = median(runs.proxy.map(mbps));
    console.log(row("direct", runs.direct));
    console.log(`${row("relay alone (paid tunnel, SDK)", runs.relay)}  ${(r / d).toFixed(2)}x direct (goal >= 0.8x); tickets per run ${runs.relay.map((x) => x.tickets).join(", ")}`);
    const GiB = 1 << 30;
    console.log(`node CPU per GiB relayed (user + system, all threads): ${median(runs.relay.map((x, i) => (nodeCpu[i]! * 1000 * GiB) / x.bytes)).toFixed(0)} ms [${runs.relay.map((x, i) => ((nodeCpu[i]! * 1000 * GiB) / x.bytes).toFixed(0)).join(", ")}]`);
    console.log(`${row("bandmint proxy + relay (CONNECT)", runs.proxy)}  ${(p / d).toFixed(2)}x direct (goal >= 0.6x)`);
    for (const x of [...runs.direct, ...runs.relay, ...runs.proxy]) if (x.bytes < size) throw new Error(`a run got ${x.bytes} bytes, fewer than the ${size} of the download`);
    for (const x of runs.relay) if (BigInt(x.moved) < BigInt(size)) throw new Error(`relay run counted ${x.moved} bytes, fewer than the download`);
    const td = median(runs.direct[0]!.ttfbMs);
    const tr = median(runs.relay[0]!.ttfbMs);
    const tp = median(runs.proxy[0]!.ttfbMs);
    console.log(`time to first byte, 1 KiB on a new connection (median of ${samples}): direct ${td.toFixed(2)} ms, relay +${(tr - td).toFixed(2)} ms, proxy + relay +${(tp - td).toFixed(2)} ms`);
    // Headline figures for `npm run bench` (issue 9's goals).
    reportResult({ name: `relay alone, ${size / MiB} MiB`, ours: r, reference: d, vs: "direct", unit: "MB/s", goal: ">= 0.8x" });
    reportResult({ name: `proxy + relay, ${size / MiB} MiB`, ours: p, reference: d, vs: "direct", unit: "MB/s", goal: ">= 0.6x" });
    reportResult({ name: "relay time to first byte, 1 KiB", ours: tr, reference: td, vs: "direct", unit: "ms", lowerIsBetter: true });
    reportResult({ name: "proxy + relay time to first byte, 1 KiB", ours: tp, reference: td, vs: "direct", unit: "ms", lowerIsBetter: true });

    // The node's memory with open idle tunnels (two consumers' relay sessions).
    const idle = rssMiB(node.proc.pid!);
    const holders = net.accounts.consumers.slice(rounds + 1, rounds + 3);
    const sockets: Socket[] = [];
    for (const [i, c] of holders.entries()) {
      const s = await openSession(endpoint, c, "relay");
      for (let k = 0; k < Math.ceil(nTunnels / holders.length) && sockets.length < nTunnels; k++) {
        const t = await connectThrough(endpoint.slice(7), target, { "Proxy-Authorization": `Bearer ${s.sessionToken}` });
        if (t.status !== 200) throw new Error(`tunnel ${i}/${k}: ${t.status} ${t.body.toString()}`);
        sockets.push(t.socket);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const held = rssMiB(node.proc.pid!);
    console.log(`node RSS: ${idle.toFixed(0)} MiB after the runs, ${held.toFixed(0)} MiB with ${sockets.length} open tunnels (+${((held - idle) * 1024 / sockets.length).toFixed(0)} KiB per tunnel)`);
    reportResult({ name: `relay node RSS, ${sockets.length} open tunnels`, ours: held, reference: idle, vs: "no tunnels", unit: "MiB", lowerIsBetter: true });
    for (const s of sockets) s.destroy();
  } finally {
    // The proxy first (it settles with the node), then the node, then the destination.
    for (const p of procs.reverse()) {
      const exited = new Promise((resolve) => p.once("exit", resolve));
      p.kill(p === procs[0] ? "SIGINT" : "SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    }
    await net?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (values.role === "load") {
  process.stdout.write(JSON.stringify(await load(JSON.parse(values.job!) as Job)));
  process.exit(0);
} else {
  await main();
  process.exit(0);
}
