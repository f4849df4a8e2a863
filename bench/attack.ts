// Honest consumers' throughput while hostile clients attack the node, against the same consumers
// with no attack, in the same run (issue 12: goal >= 0.7x).
//   npm run bench:attack [-- --duration 5 --rounds 3 --clients 4 --workers 4 --only tickets,sessions,...
//                           --attack-rate 1 --attacker-nice 19 --no-control --prof-dir DIR --quick
//                           --node-config JSON]
//
// Starts the embedded chain with the contracts, a publisher's origin (a 64 MiB object), a relay
// destination (`GET /blob/<n>`, its own process), and a real provider node offering content and relay (`bandmint
// node start`, its own process, default limits). Then, per attack, over `--rounds` rounds: the
// honest consumers run for `--duration` s without the attack, then again with it running. Both
// honest loads run at once, each in its own process:
//   cdn    `--clients` consumers, each the client SDK (createClient: registry listing, pool,
//          session, sha256 of every chunk, a ticket per bytesPerTicket) downloading the object with
//          `--workers` chunks in flight;
//   relay  one consumer, the SDK's relay pool: `--workers` CONNECT tunnels through the node to
//          the destination at a time, 16 MiB per request, paid per byte.
// Each also probes GET /offer every 100 ms (the node's responsiveness). The attacks, each its own
// process, at fixed rates (times --attack-rate; the table shows the rates they got):
//   idle-sessions  64 funded senders (16 with --quick) each opening as many sessions as the node
//                  lets it at once (SESSION_OPEN_BURST), then holding them idle;
//   tunnels        17 funded senders each holding 64 idle tunnels: more than the node's 1,024;
//   slowloris      2,000 heads that never end, 2,000 bodies that never end, 2,000 silent sockets
//                  (500 each with --quick), each reopened as soon as the node closes it;
//   oversized      heads over 16 KiB and bodies over 1 MiB, 200/s;
//   tickets        one funded sender's bad tickets, 256 to a batch, 200 batches/s, in turn: forged,
//                  replayed (same and another session), nonce going backwards, mis-addressed,
//                  expired, under-priced, beyond the bytes served; and a forged one in a content
//                  request's header, 20/s;
//   sessions       a funded sender opening sessions (40/s), fresh keys with no deposit (40/s: each
//                  costs the node a signature check and chain reads), one signed request replayed
//                  (20/s);
//   status         GET /status (no credentials needed), 200/s;
//   all            every attack above at once (--quick runs only this one);
//   cpu-burner     the control of "all" (after it; --no-control skips it): no attack, processes at
//                  the attackers' nice burning the CPU the attackers took during "all"'s honest
//                  runs. "all" against it tells the attack's cost on the node (and its chain) from
//                  the box's CPU going to the load generators.
// The attackers send requests built once (signed, serialized, encoded) as bytes on kept-alive raw
// sockets (bench/lib/rawHttp.ts): the node gets the same requests at the same rates, the
// generators' CPU goes to sending them rather than to a client library.
// Reported per attack: honest MiB/s without and with it (medians), the ratio, GET /offer latency,
// the node's CPU and the attack processes' during the honest runs (seconds a second), the node's
// RSS and open file descriptors, and what the attacker got back.
// The box is shared (2 cores here, with other work): the attackers' processes take CPU from the
// same cores as the node and the honest clients. An attacker's CPU is its own, not the node's, so
// they run at nice 19 (--attacker-nice; 0 makes them compete as equals): they still get what the
// others leave (the table shows their CPU and the rates they got). A ratio below 1 is then mostly
// the attack's cost on the node, plus whatever of the box the load generators still take. The last lines are BENCH_RESULT records for the
// benchmark table: the "all" figures, ours = under attack, reference = without.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { loadavg, setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PassThrough } from "node:stream";
import { parseEther, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { freePort } from "../src/devnet/freePort.ts";
import { SESSION_OPEN_BURST } from "../src/node/payments/sessionBook.ts";
import { defaultRelayOptions } from "../src/node/relay/createRelay.ts";
import { cpuSeconds, machineBusySeconds, median, rssMiB, runRole, startProcess, stopProcesses } from "./lib/processStats.ts";
import { reportResult, type BenchResult } from "./lib/benchResult.ts";
import { rawHttp, rawRequestBytes, type RawAnswer } from "./lib/rawHttp.ts";

const MiB = 1 << 20;
/** The error name in the node's JSON refusal (`{"error":"...",...}`). */
const ERROR_NAME = /"error":"(\w+)"/;
const TOKEN = 10n ** 18n;
const ROOT = new URL("..", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const PUBLISHER_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/** The attacks, one process each ("all": every one at once). */
const ATTACKS = ["idle-sessions", "tunnels", "slowloris", "oversized", "tickets", "sessions", "status", "all"] as const;
type AttackKind = (typeof ATTACKS)[number];
const MAX_TUNNELS_PER_SENDER = defaultRelayOptions.maxTunnelsPerSender;
/** Senders holding idle tunnels: enough for more than the node's cap (17 x 64 > 1,024). */
const TUNNEL_SENDERS = Math.floor(defaultRelayOptions.maxTunnels / MAX_TUNNELS_PER_SENDER) + 1;

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    clients: { type: "string", default: "4" },
    workers: { type: "string", default: "4" },
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    "prof-dir": { type: "string" },
    // Extra node config fields (JSON), e.g. '{"creditWindowBytes":"16777216"}', to see what a setting does under attack.
    "node-config": { type: "string", default: "{}" },
    "attack-rate": { type: "string", default: "1" },
    "attacker-nice": { type: "string", default: "19" },
    "no-control": { type: "boolean", default: false },
    role: { type: "string", default: "main" },
    job: { type: "string", default: "{}" },
  },
});

/** What the children need to reach the network and the node. */
type World = { rpcUrl: string; chainId: number; deployment: string; node: string; contentId: string; objectPath: string; destination: string };
type HonestJob = World & { kind: "cdn" | "relay"; keys: Hex[]; durationMs: number; workers: number };
/** What one honest run got: verified bytes, its time, errors, the latency of GET /offer (ms) probed meanwhile, its own CPU seconds. */
type HonestResult = { bytes: number; ms: number; errors: string[]; probeMs: number[]; cpu: number };
/** One attack process: its kind, the keys it may use, and the multiple of its default rate. */
type AttackJob = World & { kind: Exclude<AttackKind, "all"> | "burner"; keys: Hex[]; rate: number; sockets: number; nice: number; poolSeconds: number; burnCores?: number };
/** What an attack process reports: the node's answers by status and error, a note, how long it ran, its own CPU seconds. */
type AttackResult = { answers: Record<string, number>; note: string; seconds: number; cpu: number };

if (values.role === "honest") {
  process.stdout.write(JSON.stringify(await honest(JSON.parse(values.job!) as HonestJob)));
  process.exit(0);
} else if (values.role === "attack") {
  // Ends with the orchestrator, whatever becomes of it (its end of stdin closes).
  process.stdin.on("close", () => process.exit(0)).resume();
  // --attacker-nice: the attackers yield the shared cores to the node and the honest clients when
  // both want them, as an attacker on its own machine would (0: compete as equals).
  setPriority((JSON.parse(values.job!) as AttackJob).nice);
  process.on("uncaughtException", (error) => {
    console.error(`attack ${(JSON.parse(values.job!) as AttackJob).kind} failed: ${error.stack ?? String(error)}${error.cause ? `; cause: ${String((error.cause as Error).stack ?? error.cause)}` : ""}`);
    process.exit(1);
  });
  await attack(JSON.parse(values.job!) as AttackJob);
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------
// The honest consumers (child processes).

/** Each key is one consumer (one client, its own credit window) with `workers` requests in flight. */
async function honest(job: HonestJob): Promise<HonestResult> {
  const { createChainClients } = await import("../src/chain/clients.ts");
  const { readDeployment } = await import("../src/chain/deployment.ts");
  const { createClient } = await import("../src/client/createClient.ts");
  const deployment = await readDeployment(job.deployment);
  const errors: string[] = [];
  const logger = { info: () => {}, warn: (m: string) => void errors.push(m) };
  const clients = await Promise.all(job.keys.map(async (key) =>
    createClient({ clients: await createChainClients({ rpcUrl: job.rpcUrl, privateKey: key, chainId: job.chainId }), deployment, privateKey: key, maxProviders: 1, perProvider: job.workers, logger })));
  let bytes = 0;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const deadline = started + job.durationMs;
  // How long the node takes to answer its cheapest request, every 100 ms: its responsiveness.
  const probeMs: number[] = [];
  const probe = (async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      await (await fetch(`${job.node}/offer`)).arrayBuffer();
      probeMs.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await Promise.all(clients.map((client) => (job.kind === "cdn" ? cdnLoad : relayLoad)(client, job, deadline, errors, (n) => (bytes += n))));
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu0);
  await probe;
  if (process.env.BENCH_DEBUG) console.error(`${job.kind}: ${bytes} bytes in ${ms.toFixed(0)} ms, ${errors.length} errors ${errors[0] ?? ""}; GET /offer p50 ${median(probeMs).toFixed(0)} ms, max ${Math.max(...probeMs).toFixed(0)} ms; client CPU ${((used.user + used.system) / 1e3 / ms).toFixed(2)}`);
  await Promise.all(clients.map((c) => c.close(AbortSignal.timeout(30_000)).catch((error: Error) => errors.push(`settle: ${error.message}`))));
  return { bytes, ms, errors, probeMs, cpu: (used.user + used.system) / 1e6 };
}

type Client = import("../src/client/createClient.ts").Client;

/** Verified, paid chunks of the object, `workers` in flight, until `deadline`. */
async function cdnLoad(client: Client, job: HonestJob, deadline: number, errors: string[], got: (n: number) => void): Promise<void> {
  let manifest: Awaited<ReturnType<Client["pool"]["fetchManifest"]>> | undefined;
  while (manifest === undefined && performance.now() < deadline) {
    manifest = await client.pool.fetchManifest(job.contentId).catch(async (error: Error) => {
      errors.push(`manifest: ${error.message}`);
      await new Promise((r) => setTimeout(r, 100));
      return undefined;
    });
  }
  if (manifest === undefined) return;
  const file = manifest.files.find((f) => f.path === job.objectPath)!;
  let next = 0;
  await Promise.all(Array.from({ length: job.workers }, async () => {
    while (performance.now() < deadline && errors.length < 20) {
      try {
        got((await client.pool.fetchChunk({ contentId: job.contentId, chunkSize: manifest.chunkSize, file, index: next++ % file.chunks.length })).length);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
  }));
}

/** 16 MiB downloads through paid relay tunnels, `workers` at once, until `deadline`. */
async function relayLoad(client: Client, job: HonestJob, deadline: number, errors: string[], got: (n: number) => void): Promise<void> {
  const i = job.destination.lastIndexOf(":");
  const [host, port] = [job.destination.slice(0, i), Number(job.destination.slice(i + 1))];
  const pool = client.relay();
  await Promise.all(Array.from({ length: job.workers }, async () => {
    while (performance.now() < deadline && errors.length < 20) {
      try {
        // As bench/relay.ts: the session's pipe counts every byte (what it pays for), both ways.
        const { socket, session } = await pool.connect(host, port);
        const up = new PassThrough();
        const sent = session.pipe(up, socket);
        up.write(`GET /blob/${16 * MiB} HTTP/1.1\r\nHost: ${job.destination}\r\nConnection: close\r\n\r\n`);
        // Into a function, the SDK's no-copy way to consume a tunnel (pooled reads), as bench/relay.ts.
        await session.pipe(socket, (c) => got(c.length));
        up.end();
        await sent.catch(() => undefined);
        socket.destroy();
      } catch (error) {
        errors.push((error as Error).message);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }));
}

// ---------------------------------------------------------------------------------------------
// The attackers (child processes): print "ready" once the attack is in place, then run until
// SIGTERM and print what the node answered.

async function attack(job: AttackJob): Promise<void> {
  const answers: Record<string, number> = {};
  const count = (k: string | number) => void (answers[k] = (answers[k] ?? 0) + 1);
  /** Counts a request that got no answer, by its cause (fetch wraps the socket's error). */
  const failed = (error: unknown): undefined => {
    const e = error as Error & { code?: string; cause?: { code?: string; message?: string } };
    count(`error ${e.cause?.code ?? e.code ?? e.cause?.message ?? e.message.slice(0, 40)}`);
    return undefined;
  };
  let note = "";
  let running = true;
  const loops: Promise<void>[] = [];
  /**
   * `n` concurrent loops of `once` until SIGTERM, together at most `perSecond` (times --attack-rate)
   * a second: a fixed rate, so the load generator's own CPU (it shares the cores with the node and
   * the honest clients) stays what it is with and without a faster node.
   */
  const flood = (n: number, perSecond: number, once: () => Promise<void>) => {
    const gap = 1000 / (perSecond * job.rate);
    let next = performance.now();
    for (let i = 0; i < n; i++) {
      loops.push((async () => {
        while (running) {
          const now = performance.now();
          next = Math.max(next, now) + gap;
          if (next - gap > now) await new Promise((r) => setTimeout(r, next - gap - now));
          if (!running) break;
          await once().catch(failed);
        }
      })());
    }
  };
  /** Counts the node's answer by status and error name. */
  const answered = async (r: Response) => count(`${r.status} ${((await r.json()) as { error?: string }).error ?? ""}`);
  /** The same for a raw answer: its status and the error name in its JSON body, found without parsing it. */
  const answeredRaw = (r: RawAnswer) => count(`${r.status} ${ERROR_NAME.exec(r.body)?.[1] ?? ""}`);
  const stops: (() => void | Promise<void>)[] = [];
  // Requests are bytes built once and written as is on kept-alive sockets (bench/lib/rawHttp.ts):
  // the node gets the same requests at the same rates, the generator spends no CPU re-encoding them.
  const raw = rawHttp(job.node);
  stops.push(() => raw.close());
  const host = job.node.slice("http://".length);
  const { sessionRequestBody, postSessionRequest, makeTicket, openSession, fetchRange } = await import("../test/node/harness.ts");
  const { encodeTicketHeader, parseOffer, serializeTicketPayment } = await import("../src/protocol/wire.ts");
  const { ticketDomain } = await import("../src/protocol/ticket.ts");
  const url = job.node;
  /**
   * A set-up step, tried up to five times: while every attack starts at once, the node's listen
   * queue overflows and the kernel resets some connections (counted as what the attacker got).
   */
  const retrying = async <T>(step: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (attempt === 5) throw error;
        failed(error);
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  };
  const offer = parseOffer(await retrying(async () => (await fetch(`${url}/offer`)).json()));
  const signer = (key: Hex) => ({ address: privateKeyToAccount(key).address, privateKey: key });
  if (job.kind === "burner") {
    // The control: no request to the node, only `burnCores` of CPU (at the attackers' nice), in
    // slices of at most 10 ms, as the attackers' work comes in many small pieces. Starved by the
    // scheduler it catches up when it next runs, so that it takes the CPU seconds the attackers
    // took if the box lets it (the table shows what it got).
    const share = job.burnCores!;
    loops.push((async () => {
      const [t0, c0] = [performance.now(), process.cpuUsage()];
      const used = () => {
        const u = process.cpuUsage(c0);
        return (u.user + u.system) / 1e3;
      };
      while (running) {
        const ahead = used() - share * (performance.now() - t0);
        if (ahead >= 0) {
          await new Promise((r) => setTimeout(r, Math.max(1, ahead / share)));
          continue;
        }
        const t = performance.now();
        while (used() < share * (performance.now() - t0) && performance.now() - t < 10);
        await new Promise((r) => setImmediate(r));
      }
    })());
    note = `asked for ${share.toFixed(2)} cores`;
  } else if (job.kind === "slowloris") {
    const { holdSockets } = await import("../test/fixtures/hostileClients.ts");
    const held = await Promise.all((["partial-head", "partial-body", "idle"] as const).map((kind) => holdSockets(url, { count: job.sockets, kind, reopen: true })));
    stops.push(() => {
      note = held.map((h, i) => `${["heads", "bodies", "idle"][i]}: ${h.opened()} opened, ${h.closedByServer()} closed by the node`).join("; ");
      for (const h of held) h.release();
    });
  } else if (job.kind === "sessions") {
    // A funded sender opening sessions in a loop (each replaces its oldest settled one at the cap),
    // fresh keys with no deposit (each costs the node a signature check and a chain read), and one
    // signed request sent again and again.
    // Every request is signed before the attack starts, enough for `poolSeconds` at its rate (then
    // signed as it goes): the node sees the same fresh, valid requests (their timestamps stay
    // within SESSION_REQUEST_MAX_AGE_SECONDS), the attacker's CPU goes to sending them.
    const funded = signer(job.keys[0]!);
    const requestOf = async (who: ReturnType<typeof signer>) =>
      rawRequestBytes("POST", "/sessions", host, { "content-type": "application/json" }, Buffer.from(JSON.stringify(await sessionRequestBody(url, who, { offer }))));
    const signed = async (n: number, who: () => ReturnType<typeof signer>) => {
      const out: Buffer[] = [];
      for (let i = 0; i < n; i++) out.push(await requestOf(who()));
      return out;
    };
    const n = Math.ceil(40 * job.rate * job.poolSeconds);
    const fundedRequests = await signed(n, () => funded);
    const freshRequests = await signed(n, () => signer(generatePrivateKey()));
    const replayed = await requestOf(funded);
    flood(8, 40, async () => answeredRaw(await raw.send(fundedRequests.pop() ?? (await requestOf(funded)))));
    flood(8, 40, async () => answeredRaw(await raw.send(freshRequests.pop() ?? (await requestOf(signer(generatePrivateKey()))))));
    flood(4, 20, async () => answeredRaw(await raw.send(replayed)));
  } else if (job.kind === "tickets") {
    // One sender's two sessions, three tickets' worth served on the first and one of them paid:
    // then every kind of bad ticket, each as a full batch (MAX_TICKETS_PER_BATCH copies), in turn.
    // None is ever accepted, so the same bodies serve for the whole run; at the end the attacker
    // pays what it was served (its credit window is its sender's, across rounds).
    const { MAX_TICKETS_PER_BATCH } = await import("../src/protocol/wire.ts");
    const who = signer(job.keys[0]!);
    const s = await retrying(() => openSession(url, who));
    const other = await retrying(() => openSession(url, who));
    const path = `/c/${job.contentId}/${job.objectPath}`;
    const per = offer.bytesPerTicket;
    await retrying(async () => {
      const served = await fetchRange(url, s, 0n, 3n * per, [], path);
      if (served.status !== 206) throw new Error(`the attacker was not served: ${served.status} ${await served.text()}`);
      await served.arrayBuffer();
    });
    const domain = ticketDomain(offer.chainId, offer.broker);
    const n = s.nextNonce + 10n;
    const post = (session: typeof s, body: string) => fetch(`${url}/sessions/${session.sessionId}/tickets`, { method: "POST", headers: { "content-type": "application/json", "x-bandmint-session": session.sessionToken }, body });
    const pay = async (tickets: Awaited<ReturnType<typeof makeTicket>>[]) => {
      for (;;) {
        const r = await post(s, JSON.stringify({ tickets: tickets.map(serializeTicketPayment) }));
        if (r.status === 200) return;
        // Refused so often that the node stopped reading this sender's tickets for a while.
        if (r.status === 429) await new Promise((w) => setTimeout(w, Number(r.headers.get("retry-after") ?? 1) * 1000));
        else throw new Error(`the attacker's good ticket was refused: ${r.status} ${await r.text()}`);
      }
    };
    const good = await makeTicket(s, who.privateKey, domain, { nonce: n, cumulativeBytes: per });
    await pay([good]);
    const sign = (over: Parameters<typeof makeTicket>[4] = {}, nonce = n + 1n, cumulativeBytes = 2n * per, key: Hex = who.privateKey) => makeTicket(s, key, domain, { nonce, cumulativeBytes }, over);
    const bad: { kind: string; session: typeof s; ticket: Awaited<ReturnType<typeof sign>> }[] = [
      { kind: "forged", session: s, ticket: await sign({}, n + 1n, 2n * per, generatePrivateKey()) },
      { kind: "replayed", session: s, ticket: good },
      { kind: "replayed in another session", session: other, ticket: good },
      { kind: "nonce going backwards", session: s, ticket: await sign({}, n - 3n) },
      { kind: "mis-addressed", session: s, ticket: await sign({ recipient: privateKeyToAccount(generatePrivateKey()).address }) },
      { kind: "expired", session: s, ticket: await sign({ expiry: BigInt(Math.floor(Date.now() / 1000)) - 60n }) },
      { kind: "under-priced", session: s, ticket: await sign({}, n + 1n, 3n * per) },
      { kind: "beyond served bytes", session: s, ticket: await sign({}, n + 1n, 3n * per + 1n) },
    ];
    const posts = bad.map((b) =>
      rawRequestBytes("POST", `/sessions/${b.session.sessionId}/tickets`, host, { "content-type": "application/json", "x-bandmint-session": b.session.sessionToken },
        Buffer.from(JSON.stringify({ tickets: Array.from({ length: MAX_TICKETS_PER_BATCH }, () => serializeTicketPayment(b.ticket)) }))));
    let i = 0;
    flood(16, 200, async () => answeredRaw(await raw.send(posts[i++ % posts.length]!)));
    // And the forged one in a content request's header, which must not be served.
    const forgedRange = rawRequestBytes("GET", path, host, { range: `bytes=0-${per - 1n}`, "x-bandmint-session": s.sessionToken, "x-bandmint-ticket": encodeTicketHeader([bad[0]!.ticket]) });
    flood(4, 20, async () => answeredRaw(await raw.send(forgedRange)));
    stops.push(async () => pay([await sign({}, n + 1n, 2n * per), await sign({}, n + 2n, 3n * per)]));
  } else if (job.kind === "oversized") {
    const { MAX_REQUEST_BODY_BYTES, MAX_REQUEST_HEAD_BYTES } = await import("../src/protocol/wire.ts");
    const requests = [
      rawRequestBytes("GET", "/offer", host, { "x-pad": "a".repeat(MAX_REQUEST_HEAD_BYTES + 1) }),
      rawRequestBytes("POST", "/sessions", host, { "content-type": "application/json" }, Buffer.alloc(MAX_REQUEST_BODY_BYTES + 1, " ")),
    ];
    let i = 0;
    flood(16, 200, async () => answeredRaw(await raw.send(requests[i++ % 2]!)));
  } else if (job.kind === "idle-sessions") {
    // Every sender opens as many sessions as the node lets it hold, and never uses them.
    await Promise.all(job.keys.map(async (key) => {
      const who = signer(key);
      for (let i = 0; i < SESSION_OPEN_BURST; i += 8) {
        await Promise.all(Array.from({ length: 8 }, () => sessionRequestBody(url, who, { offer }).then((body) => postSessionRequest(url, body)).then(answered).catch(failed)));
      }
    }));
    note = `${answers["201 "] ?? 0} idle sessions opened`;
  } else if (job.kind === "tunnels") {
    const { connectThrough } = await import("../test/fixtures/proxyClients.ts");
    const sockets: Socket[] = [];
    await Promise.all(job.keys.map(async (key) => {
      const s = await retrying(() => openSession(url, signer(key), "relay")).catch(failed);
      if (s === undefined) return;
      for (let i = 0; i < MAX_TUNNELS_PER_SENDER; i += 16) {
        const batch = await Promise.all(Array.from({ length: 16 }, () => connectThrough(url.slice("http://".length), job.destination, { "Proxy-Authorization": `Bearer ${s.sessionToken}` }).catch(failed)));
        for (const r of batch) {
          if (r === undefined) continue;
          count(r.status);
          if (r.status === 200) sockets.push(r.socket);
          else r.socket.destroy();
        }
      }
    }));
    stops.push(() => {
      note = `${sockets.filter((s) => !s.destroyed).length} idle tunnels open at the end`;
      for (const s of sockets) s.destroy();
    });
  } else if (job.kind === "status") {
    const request = rawRequestBytes("GET", "/status", host);
    flood(16, 200, async () => count((await raw.send(request)).status));
  }
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  process.stdout.write("ready\n");
  // Held open until SIGTERM even when nothing else is (idle sessions hold no socket).
  const alive = setInterval(() => {}, 60_000);
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  clearInterval(alive);
  running = false;
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5_000))]);
  for (const stop of stops) await stop();
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ answers, note, seconds: (performance.now() - started) / 1000, cpu: (cpu.user + cpu.system) / 1e6 } satisfies AttackResult)}\n`);
  process.exit(0);
}

/** A running attack process: resolves `stop` with what it reports. */
async function startAttack(job: AttackJob, procs: ChildProcess[]): Promise<{ kind: AttackJob["kind"]; pid: number; stop(): Promise<AttackResult> }> {
  const started = performance.now();
  // --prof-dir: each attacker writes its CPU profile there too (where the load generators' CPU goes).
  const prof = values["prof-dir"] !== undefined ? ["--cpu-prof", "--cpu-prof-dir", values["prof-dir"], "--cpu-prof-name", `attack-${job.kind}-${Date.now()}.cpuprofile`] : [];
  const proc: ChildProcess = spawn(process.execPath, [...prof, SELF, "--role", "attack", "--job", JSON.stringify(job)], { stdio: ["pipe", "pipe", "inherit"] });
  procs.push(proc);
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once("exit", r));
  await Promise.race([
    new Promise<void>((resolve) => proc.stdout!.on("data", () => out.includes("ready\n") && resolve())),
    exited.then((code) => {
      throw new Error(`attack ${job.kind} exited with ${code} before it was ready: ${out}`);
    }),
  ]);
  if (process.env.BENCH_DEBUG) console.error(`attack ${job.kind} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return {
    kind: job.kind,
    pid: proc.pid!,
    async stop() {
      proc.kill("SIGTERM");
      const code = await exited;
      if (code !== 0) throw new Error(`attack ${job.kind} exited with ${code}: ${out}`);
      return JSON.parse(out.slice(out.indexOf("ready\n") + 6)) as AttackResult;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The orchestrator.

async function main(): Promise<void> {
  const { localNetwork } = await import("../test/fixtures/localNetwork.ts");
  const { writeDeployment } = await import("../src/chain/deployment.ts");
  const { OriginServer } = await import("../src/content/originServer.ts");
  const { publishDir } = await import("../src/content/publishDir.ts");
  const { registerProvider } = await import("../src/node/registerProvider.ts");
  const { fundBroker } = await import("../src/client/brokerFunds.ts");

  const quick = values.quick === true;
  /** Senders holding idle sessions, as many as a sender may open at once (64 x 16 = 1,024; --quick 16 x 16). */
  const idleSenders = quick ? 16 : 64;
  /** Sockets of each slowloris kind (heads, bodies, silent). */
  const sockets = quick ? 500 : 2_000;
  const duration = quick ? 3 : Number(values.duration);
  const rounds = quick ? 1 : Number(values.rounds);
  const workers = Number(values.workers);
  // --quick: every attack at once only (CI's smoke run of the bench).
  const kinds = (values.only?.split(",") ?? (quick ? ["all"] : ATTACKS)) as AttackKind[];
  for (const k of kinds) if (!ATTACKS.includes(k)) throw new Error(`unknown attack ${k} (one of ${ATTACKS.join(", ")})`);
  const t0 = performance.now();

  const work = await mkdtemp(join(tmpdir(), "bandmint-bench-attack-"));
  const procs: ChildProcess[] = [];
  let stopping = false;
  let origin: InstanceType<typeof OriginServer> | undefined;
  let net: Awaited<ReturnType<typeof localNetwork>> | undefined;
  try {
    const content = join(work, "content");
    await mkdir(content);
    await writeFile(join(content, "obj64m.bin"), randomBytes(64 * MiB));
    const { manifest } = await publishDir({ dir: content, signer: privateKeyToAccount(PUBLISHER_KEY), now: 1 });
    origin = new OriginServer({ dir: content });
    const originUrl = await origin.start();
    // The relay's destination in its own process (as bench/relay.ts): here, behind the chain's
    // JSON-RPC that the session attacks keep busy, it slowed the honest tunnels for a reason no
    // real destination has.
    const destinationProc = await startProcess([join(ROOT, "test/fixtures/blobServer.ts")], "destination", /listening (\S+)/, ROOT);
    procs.push(destinationProc.proc);
    const destination = { host: destinationProc.match[1]! };

    // Consumers: `clients` honest (cdn), one honest (relay), the session flooder, the ticket
    // forger, then the tunnel holders and the idle-session holders.
    const nClients = Number(values.clients);
    const roles = { relay: nClients, sessions: nClients + 1, tickets: nClients + 2, tunnels: nClients + 3, idle: nClients + 3 + TUNNEL_SENDERS };
    net = await localNetwork({ providers: 1, consumers: roles.idle + idleSenders, fundEach: 100_000n });
    const deploymentPath = join(work, "deployment.json");
    await writeDeployment(deploymentPath, net.deployment);
    const consumers = net.accounts.consumers;
    // Dev accounts past the first twenty have no ether: the deployer sends some (one at a time: its nonce).
    const deployer = await net.clientsFor(net.accounts.deployer);
    for (const c of consumers.slice(10)) {
      await deployer.publicClient.waitForTransactionReceipt({ hash: await deployer.walletClient!.sendTransaction({ to: c.address, value: parseEther("10") }) });
    }
    const fund = (from: number, to: number, deposit: bigint) => Promise.all(consumers.slice(from, to).map(async (c) => fundBroker(await net!.clientsFor(c), net!.deployment, { deposit, reserve: 0n })));
    await fund(0, roles.tunnels, 10_000n * TOKEN);
    // Tunnel and idle-session holders need only the node's minimum deposit (2 face values): 1 BAND is plenty.
    await fund(roles.tunnels, consumers.length, TOKEN);

    const provider = net.accounts.providers[0]!;
    const nodePort = await freePort();
    const endpoint = `http://127.0.0.1:${nodePort}`;
    const pc = await net.clientsFor(provider);
    await registerProvider({
      publicClient: pc.publicClient, walletClient: pc.walletClient!, deployment: net.deployment,
      listing: { endpoint, pricePerGiB: TOKEN, capacityMbps: 10_000, region: "local", services: ["cdn", "relay"] },
    });
    const config = join(work, "node.json");
    await writeFile(config, JSON.stringify({
      deployment: deploymentPath, rpcUrl: net.rpcUrl, privateKey: provider.privateKey, port: nodePort, dataDir: join(work, "node"),
      origins: [originUrl], pricePerGiB: TOKEN.toString(), maxCacheBytes: String(1 << 30), services: ["cdn", "relay"],
      relay: { testTargets: [destination.host] },
      // Winners stay stored during the run: redemption costs gas, not data-path time (bench/gas.ts).
      redeem: { intervalSeconds: 3600 },
      admin: { enabled: false },
      ...(JSON.parse(values["node-config"]) as object),
    }));
    // --prof-dir: the node (and each attacker) writes a CPU profile there when it stops (chrome://inspect, or any .cpuprofile reader).
    const nodeProf = values["prof-dir"] !== undefined ? ["--cpu-prof", "--cpu-prof-dir", values["prof-dir"]] : [];
    const node = await startProcess([...nodeProf, join(ROOT, "src/cli/main.ts"), "node", "start", "--config", config], "node", /listening (\S+)/, ROOT);
    procs.push(node.proc);
    const pid = node.proc.pid!;
    // The node must outlive every attack: say so at once if it does not.
    node.proc.once("exit", (code, signal) => stopping || console.error(`THE NODE EXITED during the run (code ${code}, signal ${signal})`));
    if (process.env.BENCH_DEBUG) console.error(`node ${node.match[1]} (pid ${pid})`);
    const fds = () => readdirSync(`/proc/${pid}/fd`).length;
    const world: World = { rpcUrl: net.rpcUrl, chainId: net.deployment.chainId, deployment: deploymentPath, node: node.match[1]!, contentId: manifest.contentId, objectPath: "obj64m.bin", destination: destination.host };
    /** One honest run, in its own process. */
    const honestRun = (kind: "cdn" | "relay", ms = duration * 1000): Promise<HonestResult> =>
      runRole<HonestResult>(SELF, "honest", { ...world, kind, keys: kind === "cdn" ? consumers.slice(0, nClients).map((c) => c.privateKey) : [consumers[roles.relay]!.privateKey], durationMs: ms, workers } satisfies HonestJob);
    const keysOf = (from: number, n: number) => consumers.slice(from, from + n).map((c) => c.privateKey);
    const keysFor = (kind: Exclude<AttackKind, "all">): Hex[] =>
      kind === "sessions" ? keysOf(roles.sessions, 1) : kind === "tickets" ? keysOf(roles.tickets, 1) : kind === "tunnels" ? keysOf(roles.tunnels, TUNNEL_SENDERS) : kind === "idle-sessions" ? keysOf(roles.idle, idleSenders) : [];
    // Warm: the node's cache holds the object, both servers' JIT is warm.
    await Promise.all([honestRun("cdn", 2_000), honestRun("relay", 2_000)]);
    console.log(`set-up ${((performance.now() - t0) / 1000).toFixed(0)} s; load average before: ${loadavg().map((l) => l.toFixed(1)).join(" ")} (shared 2-core box: medians of ${rounds} interleaved rounds, [each round])`);
    console.log(`honest, both at once: cdn = ${nClients} client SDK consumers, ${workers} chunks in flight each on a 64 MiB object; relay = one SDK relay pool, ${workers} tunnels of 16 MiB requests; ${duration} s per run`);
    console.log(`attackers: their own processes at nice ${values["attacker-nice"]}, rates x${values["attack-rate"]}`);
    console.log("attack        honest  MiB/s without  with    ratio  [per round]        GET /offer ms  node CPU      attackers' RSS MiB/  what the attacker got (answers a second)");
    console.log("                                                                         without/with  without/with  CPU        fds");
    const mibs = (r: HonestResult) => r.bytes / MiB / (r.ms / 1000);
    /** Both honest loads at once (CDN consumers and the relay consumer, each its own process), with the node's CPU over the run. */
    /** The node's relay credit-wait counters (GET /status: public). */
    const creditWaits = async (): Promise<{ count: number; ms: number }> =>
      ((await (await fetch(`${world.node}/status`)).json()) as { relay: { creditWaits: { count: number; ms: number } } }).relay.creditWaits;
    const honestBoth = async (): Promise<{ cdn: HonestResult; relay: HonestResult; nodeCpu: number; ms: number; waitShare: number }> => {
      const waits = await creditWaits();
      const cpu = cpuSeconds(pid);
      const box = machineBusySeconds();
      const own = process.cpuUsage();
      const t = performance.now();
      const [cdn, relay] = await Promise.all([honestRun("cdn"), honestRun("relay")]);
      const ms = performance.now() - t;
      const ownCpu = process.cpuUsage(own);
      if (process.env.BENCH_DEBUG) console.error(`machine busy ${((machineBusySeconds() - box) / (ms / 1000)).toFixed(2)} cores; this process (chain, origin) ${((ownCpu.user + ownCpu.system) / 1e3 / ms).toFixed(2)}; node ${((cpuSeconds(pid) - cpu) / (ms / 1000)).toFixed(2)}`);
      const nodeCpu = (cpuSeconds(pid) - cpu) / (ms / 1000);
      // The share of the relay tunnels' time spent stopped at the credit window, waiting for a ticket.
      const waitShare = ((await creditWaits()).ms - waits.ms) / (workers * relay.ms);
      return { cdn, relay, nodeCpu, ms, waitShare };
    };
    const summary: string[] = [];
    const results: BenchResult[] = [];
    const controls: string[] = [];
    const attackJob = (kind: AttackJob["kind"], burnCores?: number): AttackJob =>
      ({ ...world, kind, keys: kind === "burner" ? [] : keysFor(kind), rate: Number(values["attack-rate"]), sockets, nice: Number(values["attacker-nice"]), poolSeconds: duration + 30, ...(burnCores === undefined ? {} : { burnCores }) });
    /**
     * One row of the table: `rounds` rounds of the honest loads without, then with, the processes
     * `start` starts. Resolves with those processes' CPU (cores) during the honest runs with them (median).
     */
    const measure = async (kind: string, start: () => Promise<Awaited<ReturnType<typeof startAttack>>[]>): Promise<{ cores: number; ratios: Record<"cdn" | "relay", number> }> => {
      const rows = { cdn: { without: [] as number[], withIt: [] as number[], ratios: [] as number[], probe: [[], []] as [number[], number[]] }, relay: { without: [] as number[], withIt: [] as number[], ratios: [] as number[], probe: [[], []] as [number[], number[]] } };
      const cpu: [number[], number[]] = [[], []];
      const waitShares: [number[], number[]] = [[], []];
      const answers: Record<string, number> = {};
      let seconds = 0;
      const notes: string[] = [];
      let after = "";
      const errors: string[] = [];
      const cores: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const b0 = process.hrtime.bigint();
        const base = await honestBoth();
        if (process.env.BENCH_DEBUG) console.error(`honest run without ${kind}: monotonic ${b0 / 1000n}-${process.hrtime.bigint() / 1000n} us`);
        const attacks = await start();
        // The attackers' CPU while the honest loads run with them: what they take from the box then.
        const theirs = () => attacks.reduce((sum, a) => sum + cpuSeconds(a.pid), 0);
        const [c0, t0] = [theirs(), performance.now()];
        const h0 = process.hrtime.bigint();
        const under = await honestBoth();
        // The window in the monotonic clock's microseconds, as CPU profiles (--prof-dir) time their samples.
        if (process.env.BENCH_DEBUG) console.error(`honest run with ${kind}: monotonic ${h0 / 1000n}-${process.hrtime.bigint() / 1000n} us`);
        cores.push((theirs() - c0) / ((performance.now() - t0) / 1000));
        after = `${rssMiB(pid).toFixed(0)}/${fds()}`;
        for (const a of attacks) {
          const r = await a.stop();
          if (process.env.BENCH_DEBUG) console.error(`attack ${a.kind}: ${(r.cpu / r.seconds).toFixed(2)} cores over its ${r.seconds.toFixed(1)} s`);
          for (const [k, v] of Object.entries(r.answers)) answers[k] = (answers[k] ?? 0) + v;
          seconds += r.seconds / attacks.length;
          if (r.note) notes.push(r.note);
        }
        for (const who of ["cdn", "relay"] as const) {
          const row = rows[who];
          row.without.push(mibs(base[who]));
          row.withIt.push(mibs(under[who]));
          row.ratios.push(mibs(under[who]) / mibs(base[who]));
          row.probe[0].push(median(base[who].probeMs));
          row.probe[1].push(median(under[who].probeMs));
          errors.push(...base[who].errors.map((e) => `${who} without: ${e}`), ...under[who].errors.map((e) => `${who} with: ${e}`));
        }
        waitShares[0].push(base.waitShare);
        waitShares[1].push(under.waitShare);
        cpu[0].push(base.nodeCpu);
        cpu[1].push(under.nodeCpu);
        // Let the node close what the attack left (heads, bodies) before the next baseline.
        await new Promise((r) => setTimeout(r, 1_000));
      }
      const perSecond = (v: number) => (v / seconds).toFixed(v / seconds >= 10 ? 0 : 1);
      const got = Object.entries(answers).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k.trim()}: ${perSecond(v)}`).join(", ");
      for (const who of ["cdn", "relay"] as const) {
        const row = rows[who];
        const ratio = median(row.ratios);
        const first = who === "cdn";
        console.log(
          `${(first ? kind : "").padEnd(13)} ${who.padEnd(6)} ${median(row.without).toFixed(1).padStart(13)} ${median(row.withIt).toFixed(1).padStart(6)} ${ratio.toFixed(2).padStart(7)}x  [${row.ratios.map((x) => x.toFixed(2)).join(" ")}]`.padEnd(70) +
            `${median(row.probe[0]).toFixed(0).padStart(5)} / ${median(row.probe[1]).toFixed(0).padEnd(6)}` +
            (first ? `  ${`${median(cpu[0]).toFixed(2)} / ${median(cpu[1]).toFixed(2)}`.padEnd(12)} ${median(cores).toFixed(2).padStart(5)}     ${after.padEnd(10)} ${got}${notes.length ? ` (${notes[notes.length - 1]})` : ""}` : ""),
        );
        summary.push(`${kind}/${who} ${ratio.toFixed(2)}x`);
        if (kind === "all") {
          const name = who === "cdn" ? "attack: honest throughput under attack" : "attack: honest relay throughput under attack";
          results.push({ name, ours: Number(median(row.withIt).toFixed(2)), reference: Number(median(row.without).toFixed(2)), unit: "MiB/s", goal: ">= 0.7x" });
        }
      }
      console.log(`${"".padEnd(13)} relay tunnels stopped at the credit window, waiting for a ticket: ${(100 * median(waitShares[0])).toFixed(0)} % of their time without, ${(100 * median(waitShares[1])).toFixed(0)} % with`);
      if (errors.length > 0) console.log(`${"".padEnd(13)} honest errors: ${errors.length}, first: ${errors[0]}`);
      return { cores: median(cores), ratios: { cdn: median(rows.cdn.ratios), relay: median(rows.relay.ratios) } };
    };
    for (const kind of kinds) {
      const parts = kind === "all" ? ATTACKS.filter((k): k is Exclude<AttackKind, "all"> => k !== "all") : [kind];
      const { cores, ratios } = await measure(kind, () => Promise.all(parts.map((k) => startAttack(attackJob(k), procs))));
      if (kind !== "all" || values["no-control"]) continue;
      // The control: the same honest loads next to processes that only burn what the attackers
      // took (same nice, same cores), so the table shows how much of the drop is the box's CPU
      // going to load generators and how much is the attack's cost on the node.
      const n = Math.ceil(cores / 0.9);
      const control = await measure("cpu-burner", () => Promise.all(Array.from({ length: n }, () => startAttack(attackJob("burner", cores / n), procs))));
      for (const who of ["cdn", "relay"] as const) {
        controls.push(`${who} ${ratios[who].toFixed(2)}x with the attack, ${control.ratios[who].toFixed(2)}x with a burner of its ${cores.toFixed(2)} cores: the attack beyond its generators' CPU ${(ratios[who] / control.ratios[who]).toFixed(2)}x`);
      }
    }
    console.log(`ratios (median of rounds; goal >= 0.70x): ${summary.join(", ")}`);
    if (controls.length > 0) console.log(`all against its control (the attackers' CPU burnt at their nice, no attack): ${controls.join("; ")}`);
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(" ")}; ${((performance.now() - t0) / 1000).toFixed(0)} s in all`);
    for (const result of results) reportResult(result);
  } finally {
    stopping = true;
    await stopProcesses(procs);
    await origin?.stop();
    await net?.stop();
    await rm(work, { recursive: true, force: true });
  }
}
