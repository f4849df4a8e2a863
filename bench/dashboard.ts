// The operator's dashboard: what it costs to look at, and what looking costs the node.
//   npx node bench/dashboard.ts [--loads 5] [--requests 500]
// A real provider node (`bandmint node start`, its own process) on the embedded chain, after real
// paid traffic and a redemption, then:
//   (1) page weight: bytes transferred on a first load in headless Chromium (Debian's, through
//       playwright-core; CDP's encodedDataLength: compressed bodies plus headers), and the bodies;
//   (2) time to first render: navigation start to the page's "bandmint-first-render" mark (the
//       first report fetched and drawn) and to first contentful paint; median of --loads fresh loads;
//   (3) the admin endpoints' cost on the node: RSS idle with the admin listener off, idle with it on,
//       and after --requests GET /api/report and GET /metrics (and the page loads), plus each
//       endpoint's median latency (cached report: the node recomputes at most every 2 s).
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median, rssMiB } from "./lib/processStats.ts";

const { values } = parseArgs({ options: { loads: { type: "string", default: "5" }, requests: { type: "string", default: "500" } } });
const ROOT = new URL("..", import.meta.url).pathname;
const MiB = 1n << 20n;

async function startNode(config: string, admin: boolean): Promise<{ proc: ChildProcess; url: string; dashboard: string | undefined }> {
  const proc = spawn(process.execPath, [join(ROOT, "src/cli/main.ts"), "node", "start", "--config", config], { stdio: ["ignore", "pipe", "inherit"], cwd: ROOT });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m && (!admin || /dashboard \S+/.test(out))) resolve(m[1]!);
    });
    proc.once("exit", (code) => reject(new Error(`node exited with ${code}: ${out}`)));
  });
  proc.stdout!.resume();
  return { proc, url, dashboard: /dashboard (\S+)/.exec(out)?.[1] };
}

async function stopNode(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGINT");
  await exited;
}

async function settle(pid: number): Promise<number> {
  // RSS after the event loop went idle for a moment (GC has had a chance).
  await new Promise((r) => setTimeout(r, 1500));
  return rssMiB(pid);
}

async function main(): Promise<void> {
  const { chromiumMissing, launchChromium } = await import("../test/fixtures/chromium.ts");
  const missing = chromiumMissing();
  if (missing !== undefined) throw new Error(missing);
  const { startWorld } = await import("../test/node/chainSetup.ts");
  const { openSession, payingDownload } = await import("../test/node/harness.ts");
  const { ticketDomain } = await import("../src/protocol/ticket.ts");
  const { loadNodeConfig } = await import("../src/node/config.ts");
  const { registerProvider } = await import("../src/node/registerProvider.ts");
  const { freePort } = await import("../src/devnet/freePort.ts");

  const w = await startWorld({ size: 16n * MiB });
  const procs: ChildProcess[] = [];
  try {
    const port = await freePort();
    const adminPort = await freePort();
    const onPath = await w.writeConfig("on", { port, admin: { port: adminPort }, redeem: { maxFeeShareBps: 10_000, intervalSeconds: 1 } });
    const offPath = await w.writeConfig("off", { port: await freePort(), admin: { enabled: false } });
    const config = await loadNodeConfig({ file: onPath });
    const clients = await w.net.clientsFor(w.provider);
    await registerProvider({ publicClient: clients.publicClient, walletClient: clients.walletClient!, deployment: w.net.deployment, listing: { endpoint: `http://127.0.0.1:${port}`, pricePerGiB: config.pricePerGiB, capacityMbps: 100, region: "eu", services: ["cdn"] } });

    // Idle RSS with the admin listener off, then on (separate runs of the same node, same data dir kind).
    const off = await startNode(offPath, false);
    procs.push(off.proc);
    const rssOff = await settle(off.proc.pid!);
    await stopNode(off.proc);
    const node = await startNode(onPath, true);
    procs.push(node.proc);
    const rssOnIdle = await settle(node.proc.pid!);

    // Real paid traffic, redeemed by the node's own redeemer (every ticket wins in this config).
    const domain = ticketDomain(w.net.deployment.chainId, w.net.deployment.contracts.broker);
    // One MiB per session: the redeemer (every second here) rotates a session's recipientRand once
    // it redeems its winner, which this simple payer does not follow within a session.
    for (let i = 0; i < 12; i++) {
      const session = await openSession(node.url, w.consumer);
      await payingDownload({ url: node.url, session, path: `/c/${w.contentId}/data.bin`, mibs: 1, key: w.consumer.privateKey, domain });
    }
    await new Promise((r) => setTimeout(r, 3000));
    const admin = new URL(node.dashboard!).origin;
    const rssBeforeRequests = await settle(node.proc.pid!);

    // (1) and (2): fresh loads in Chromium.
    const weights: { transferred: number; bodies: number; requests: number }[] = [];
    const firstRender: number[] = [];
    const fcp: number[] = [];
    for (let i = 0; i < Number(values.loads); i++) {
      const browser = await launchChromium();
      try {
        const page = await browser.context.newPage();
        const cdp = await browser.context.newCDPSession(page);
        await cdp.send("Network.enable");
        await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
        let transferred = 0;
        let requests = 0;
        cdp.on("Network.loadingFinished", (e: { encodedDataLength: number }) => {
          transferred += e.encodedDataLength;
          requests++;
        });
        let bodies = 0;
        page.on("response", (r) => void r.body().then((b) => (bodies += b.length), () => {}));
        await page.goto(node.dashboard!);
        await page.waitForSelector("html[data-rendered='1']");
        const t = await page.evaluate(() => ({
          render: performance.getEntriesByName("bandmint-first-render")[0]?.startTime ?? NaN,
          fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
        }));
        await new Promise((r) => setTimeout(r, 200));
        weights.push({ transferred, bodies, requests });
        firstRender.push(t.render);
        fcp.push(t.fcp);
      } finally {
        await browser.close();
      }
    }

    // (3) the endpoints, over and over.
    const latency = async (path: string) => {
      const ms: number[] = [];
      for (let i = 0; i < Number(values.requests); i++) {
        const t0 = performance.now();
        const res = await fetch(`${admin}${path}`);
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`${path}: ${res.status}`);
        ms.push(performance.now() - t0);
      }
      return median(ms);
    };
    const reportMs = await latency("/api/report");
    const metricsMs = await latency("/metrics");
    const rssAfter = await settle(node.proc.pid!);
    const w0 = weights[0]!;
    const lines = [
      `dashboard page weight, first load: ${(w0.transferred / 1024).toFixed(1)} KiB transferred (${w0.requests} requests, gzip, headers included), ${(w0.bodies / 1024).toFixed(1)} KiB of bodies`,
      `time to first render (report fetched and drawn): median ${median(firstRender).toFixed(0)} ms [${firstRender.map((x) => x.toFixed(0)).join(" ")}]; first contentful paint ${median(fcp).toFixed(0)} ms (${values.loads} fresh loads, headless Chromium)`,
      `admin endpoints: GET /api/report median ${reportMs.toFixed(2)} ms, GET /metrics median ${metricsMs.toFixed(2)} ms (${values.requests} each, sequential)`,
      `node RSS: admin off idle ${rssOff.toFixed(1)} MiB; admin on idle ${rssOnIdle.toFixed(1)} MiB (${(rssOnIdle - rssOff >= 0 ? "+" : "")}${(rssOnIdle - rssOff).toFixed(1)}); after paid traffic ${rssBeforeRequests.toFixed(1)} MiB; after ${values.loads} page loads and ${values.requests}+${values.requests} API/metrics requests ${rssAfter.toFixed(1)} MiB (${rssAfter - rssBeforeRequests >= 0 ? "+" : ""}${(rssAfter - rssBeforeRequests).toFixed(1)})`,
    ];
    console.log(lines.join("\n"));
    await stopNode(node.proc);
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    await w.close();
  }
}

await main();
