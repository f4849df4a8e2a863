// Edge data-plane throughput against nginx on the same bytes, same machine, same run.
//   npx node bench/edge.ts [--duration 10] [--connections 16] [--threads 2] [--nginx-workers 1] [--edge-workers 1]
// Installs nginx-light and wrk with apt-get when they are missing (as root), else says how.
import { spawnSync, type ChildProcess } from "node:child_process";
import cluster from "node:cluster";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { privateKeyToAccount } from "viem/accounts";
import { OriginServer } from "../src/content/originServer.ts";
import { publishDir } from "../src/content/publishDir.ts";
import { createEdge } from "../src/node/edge/createEdge.ts";
import { freeGate } from "../src/node/edge/paymentGate.ts";
import { ensureNginxAndWrk, startNginx, wrk, wrkBest } from "./lib/nginx.ts";
import { reportResult } from "./lib/benchResult.ts";

const MiB = 1 << 20;
const OBJECTS = [
  { name: "obj1m.bin", size: MiB },
  { name: "obj64m.bin", size: 64 * MiB },
];
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    threads: { type: "string", default: "2" },
    "nginx-workers": { type: "string", default: "1" },
    "edge-workers": { type: "string", default: "1" },
    // Internal: set in cluster workers.
    "worker-config": { type: "string" },
  },
});

if (cluster.isWorker) {
  // A cluster worker: one more edge process on the shared port, over the same (warm) cache.
  const cfg = JSON.parse(values["worker-config"] ?? "{}") as { cacheDir: string; origin: string; port: number };
  const edge = createEdge({ cacheDir: cfg.cacheDir, maxCacheBytes: 1 << 30, origins: [cfg.origin], gate: freeGate });
  await edge.start({ port: cfg.port });
  process.on("disconnect", () => void edge.stop().then(() => process.exit(0)));
} else {
  await main();
}

async function main(): Promise<void> {
  if (!ensureNginxAndWrk()) process.exit(1);
  const work = await mkdtemp(join(tmpdir(), "bandmint-bench-edge-"));
  const content = join(work, "content");
  const prefix = join(work, "nginx");
  await mkdir(content);
  await mkdir(prefix);
  const children: ChildProcess[] = [];
  let edgeStop: (() => Promise<void>) | undefined;
  let origin: OriginServer | undefined;
  try {
    for (const o of OBJECTS) await writeFile(join(content, o.name), randomBytes(o.size));
    const { manifest } = await publishDir({ dir: content, signer: privateKeyToAccount(KEY), now: 1 });
    origin = new OriginServer({ dir: content });
    const originUrl = await origin.start();
    const cacheDir = join(work, "edge-cache");
    const edge = createEdge({ cacheDir, maxCacheBytes: 1 << 30, origins: [originUrl], gate: freeGate });
    const edgeUrl = await edge.start();
    edgeStop = () => edge.stop();
    const edgePort = Number(new URL(edgeUrl).port);
    // Warm the cache (disk and memory).
    for (const o of OBJECTS) {
      const b = await (await fetch(`${edgeUrl}/c/${manifest.contentId}/${o.name}`)).arrayBuffer();
      if (b.byteLength !== o.size) throw new Error(`warm-up of ${o.name} returned ${b.byteLength} bytes`);
    }
    const edgeWorkers = Number(values["edge-workers"]);
    if (edgeWorkers > 1) {
      // Extra processes share the listening port through the cluster primary (round robin).
      await edge.stop();
      edgeStop = undefined;
      cluster.setupPrimary({ args: ["--worker-config", JSON.stringify({ cacheDir, origin: originUrl, port: edgePort })] });
      const workers = Array.from({ length: edgeWorkers }, () => cluster.fork());
      await Promise.all(workers.map((w) => new Promise((r) => w.once("listening", r))));
      // Warm each worker's memory cache: round robin spreads these requests over the workers.
      for (let i = 0; i < edgeWorkers * 3; i++)
        for (const o of OBJECTS) await (await fetch(`${edgeUrl}/c/${manifest.contentId}/${o.name}`)).arrayBuffer();
      edgeStop = async () => {
        for (const w of workers) w.disconnect();
        await Promise.all(workers.map((w) => new Promise((r) => w.once("exit", r))));
      };
    }
    const nginxPort = edgePort + 1;
    const nginx = await startNginx({ prefix, root: content, port: nginxPort, workers: String(values["nginx-workers"]), probePath: OBJECTS[0]!.name });
    children.push(nginx.proc);
    const opts = { threads: values.threads!, connections: values.connections!, durationSeconds: values.duration! };
    console.log(`wrk -t${opts.threads} -c${opts.connections} -d${opts.durationSeconds}s; nginx workers ${values["nginx-workers"]}, edge processes ${edgeWorkers}; ${spawnSync("nproc").stdout.toString().trim()} cores`);
    console.log("object      server  req/s      MB/s      edge/nginx");
    for (const o of OBJECTS) {
      const n = await wrkBest(nginx, `/${o.name}`, opts);
      const e = await wrk(`${edgeUrl}/c/${manifest.contentId}/${o.name}`, opts);
      const mb = (rps: number) => ((rps * o.size) / 1e6).toFixed(0).padStart(8);
      console.log(`${o.name.padEnd(11)} nginx  ${n.rps.toFixed(1).padStart(9)} ${mb(n.rps)}            best of: ${n.all} ${n.errors}`);
      console.log(`${o.name.padEnd(11)} edge   ${e.rps.toFixed(1).padStart(9)} ${mb(e.rps)}    ${(e.rps / n.rps).toFixed(2)}x ${e.errors}`);
      reportResult({ name: `edge ${o.size / MiB} MiB, unpaid (wrk)`, ours: (e.rps * o.size) / 1e6, reference: (n.rps * o.size) / 1e6, vs: "nginx (wrk)", unit: "MB/s" });
    }
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
    await edgeStop?.();
    await origin?.stop();
    await rm(work, { recursive: true, force: true });
  }
}
