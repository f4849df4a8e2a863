// The soak's consumers (a worker process runs a share of them): paying CDN downloads through the
// client SDK's provider pool (every chunk verified against the manifest before it is paid) and
// paid relay tunnels through its relay pool (every response body checked against the
// destination's sha256). Every HTTP call to a node goes through one recording fetch, which notes
// each ticket a node acknowledged and every error by kind; the accounting in the orchestrator
// compares these with the nodes' stores and the chain.
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { PassThrough, Writable } from "node:stream";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createHttpFetch } from "../../src/client/createHttpFetch.ts";
import { createNativeTicketSigner } from "../../src/client/createNativeTicketSigner.ts";
import { createProviderPool, type ProviderPool } from "../../src/client/providerPool.ts";
import { openProviderSession, type ProviderSession } from "../../src/client/providerSession.ts";
import { openRelaySession, type RelaySession } from "../../src/client/openRelaySession.ts";
import { createRelayPool, type RelayPool } from "../../src/client/relayPool.ts";
import type { ProviderListing } from "../../src/market/providerListing.ts";
import { createProviderStats } from "../../src/market/providerStats.ts";
import type { ManifestFile } from "../../src/protocol/manifest.ts";
import { signSessionRequest } from "../../src/protocol/sessionRequest.ts";
import { ticketDomain } from "../../src/protocol/ticket.ts";
import type { AcceptedTicket, ConsumerSpec, SoakError, WorkerJob, WorkerResult } from "./types.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * Control requests (offer, new session, tickets, manifest) may take this long, not the SDK's 10 s:
 * on a shared 2-core box under this load a live node can take longer than that to answer (seen:
 * "no answer within 10000 ms" from nodes no fault touched), and a fail-over for slowness is not
 * what the soak looks for (kills and outages are). Chunks get as long (the pool's `timeouts`).
 */
const CONTROL_TIMEOUT_MS = 60_000;

/** The error kind the soak classifies: the typed name, plus the node's error name or socket code. */
export function errorKind(error: unknown): string {
  const e = error as { name?: string; errorName?: string; status?: number; reason?: string; code?: string; cause?: { code?: string; cause?: { code?: string } } };
  const name = e?.name ?? "Error";
  if (name === "ProviderRequestError" || name === "RelayRefusedError") {
    if (e.status !== undefined) return `${name} ${e.status} ${e.errorName ?? e.reason ?? ""}`.trim();
    const code = e.cause?.cause?.code ?? e.cause?.code;
    return `${name} ${code ?? "connection"}`;
  }
  return name;
}

/** Runs the consumers of `job` until its deadline, settles their sessions and writes the result. */
export async function runWorker(job: WorkerJob): Promise<WorkerResult> {
  const domain = ticketDomain(job.chainId, job.broker);
  const listings: ProviderListing[] = job.listings.map((l) => ({ provider: l.provider, endpoint: l.endpoint, pricePerGiB: BigInt(l.pricePerGiB), capacityMbps: 1000n, region: "local", services: l.services }));
  const nodeOfUrl = (url: string): number | undefined => {
    const i = job.listings.findIndex((l) => url.startsWith(l.endpoint));
    return i < 0 ? undefined : i;
  };
  const nodeOfText = (text: string): number | undefined => {
    const i = job.listings.findIndex((l) => text.includes(l.endpoint) || text.toLowerCase().includes(l.provider.toLowerCase()));
    return i < 0 ? undefined : i;
  };
  const result: WorkerResult = {
    worker: job.worker, sessions: [], accepted: [], latencies: { chunkMs: [], connectMs: [], ttfbMs: [] }, errors: [], samples: {}, failovers: [],
    counters: { consumers: job.consumers.length, consumersFinished: 0, downloads: 0, chunks: 0, cdnBytes: 0, tunnels: 0, relayBytes: 0 },
  };
  const fail = (node: number | undefined, kind: string, message: string) => {
    result.errors.push({ at: Date.now(), node, kind, detail: message.replace(/\s+/g, " ").slice(0, 300) });
    result.samples[kind] ??= message.slice(0, 400);
  };
  const recordError = (node: number | undefined, error: unknown) => {
    const short = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message ?? String(error);
    // The node is the one the short message names; the full message adds the pool's reasons (per provider).
    fail(node ?? nodeOfText(short), errorKind(error), (error as Error).message ?? short);
  };

  // One fetch for every consumer of the worker (keep-alive sockets shared per node), recording.
  const transport = createHttpFetch({ maxSockets: 4096 });
  const recordingFetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = String(input);
    const node = nodeOfUrl(url);
    let res: Response;
    try {
      res = await transport(input, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      if ((error as Error).name === "TypeError") fail(node, `fetch ${cause?.code ?? (error as Error).message}`, `${url}: ${String(cause ?? error)}`);
      throw error;
    }
    const ticketsPost = init.method === "POST" && /\/sessions\/0x[0-9a-f]{64}\/tickets$/.test(url);
    if (res.ok && !ticketsPost) return res;
    // Read the (small JSON) body once and hand the caller a copy of the response.
    const text = await res.text();
    let body: { accepted?: number; error?: string; details?: { accepted?: unknown } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: the status is all there is
    }
    if (!res.ok) fail(node, `http ${res.status} ${body.error ?? ""}`.trim(), `${init.method ?? "GET"} ${url}: ${text.slice(0, 300)}`);
    if (ticketsPost && node !== undefined) {
      const accepted = res.ok ? body.accepted : typeof body.details?.accepted === "number" ? body.details.accepted : 0;
      const sent = (JSON.parse(String(init.body)) as { tickets: { signature: Hex; ticket: { sessionId: Hex } }[] }).tickets;
      for (const t of sent.slice(0, accepted ?? 0)) result.accepted.push({ node, sessionId: t.ticket.sessionId, signature: t.signature.toLowerCase() as Hex } satisfies AcceptedTicket);
    }
    const headers = res.headers;
    return { ok: res.ok, status: res.status, headers, json: async () => JSON.parse(text), text: async () => text, arrayBuffer: async () => new TextEncoder().encode(text).buffer } as unknown as Response;
  }) as typeof globalThis.fetch;

  type Tracked = { node: number; service: "cdn" | "relay"; session: ProviderSession | RelaySession; openedAt: number; lastUsedAt: number };
  const tracked: Tracked[] = [];
  const trackedOf = new Map<ProviderSession | RelaySession, Tracked>();
  const track = (t: Tracked) => {
    tracked.push(t);
    trackedOf.set(t.session, t);
  };
  const failover = (message: string) => result.failovers.push({ at: Date.now(), node: nodeOfText(message), message: message.slice(0, 300) });
  const logger = { info: failover, warn: failover };

  /** The home node while it is healthy, else every node (the pool ranks and fails over). */
  const listingsFor = (spec: ConsumerSpec, state: () => string | undefined) => async () => {
    const s = state();
    return s === undefined || s === "active" ? [listings[spec.home]!] : listings;
  };

  async function cdnConsumer(spec: ConsumerSpec): Promise<void> {
    const sender = privateKeyToAccount(spec.key).address;
    const sign = createNativeTicketSigner(spec.key, domain);
    const home = listings[spec.home]!;
    let pool: ProviderPool | undefined;
    pool = createProviderPool({
      listings: listingsFor(spec, () => pool?.report().find((r) => r.provider === home.provider)?.state),
      stats: createProviderStats(),
      openSession: async (listing, signal) => {
        const session = await openProviderSession({
          listing, chainId: job.chainId, broker: job.broker, sender, sign, fetch: recordingFetch, signal, requestTimeoutMs: CONTROL_TIMEOUT_MS,
          signSession: (message) => signSessionRequest({ message, domain, privateKey: spec.key }),
        });
        const t: Tracked = { node: nodeOfUrl(listing.endpoint)!, service: "cdn", session, openedAt: Date.now(), lastUsedAt: Date.now() };
        track(t);
        // The node serves a CDN session only inside its range and manifest requests: note when each ends.
        const fetchRange = session.fetchRange.bind(session);
        const fetchManifest = session.fetchManifest.bind(session);
        session.fetchRange = (r) => fetchRange(r).finally(() => (t.lastUsedAt = Date.now()));
        session.fetchManifest = (id, sig) => fetchManifest(id, sig).finally(() => (t.lastUsedAt = Date.now()));
        return session;
      },
      maxProviders: 1,
      perProvider: job.cdnConcurrency,
      // Generous: on a shared 2-core box under this load a chunk can take seconds; a fail-over for
      // slowness is not what the soak looks for (kills and outages are).
      timeouts: { minMs: 60_000, unmeasuredMs: 60_000 },
      logger,
    });
    let manifest;
    while (manifest === undefined) {
      if (Date.now() >= job.deadline) return;
      try {
        manifest = await pool.fetchManifest(job.contentId);
      } catch (error) {
        recordError(undefined, error);
        await sleep(1000);
      }
    }
    const totalWeight = job.files.reduce((s, f) => s + f.weight, 0);
    while (Date.now() < job.deadline) {
      let r = Math.random() * totalWeight;
      const pick = job.files.find((f) => (r -= f.weight) < 0) ?? job.files[0]!;
      const file: ManifestFile = manifest.files.find((f) => f.path === pick.path)!;
      let next = 0;
      let complete = true;
      await Promise.all(
        Array.from({ length: job.cdnConcurrency }, async () => {
          while (next < file.chunks.length) {
            const index = next++;
            // A chunk is retried until it verifies (the pool fails over between nodes) or time is up.
            for (;;) {
              if (Date.now() >= job.deadline) {
                complete = false;
                return;
              }
              const t0 = performance.now();
              try {
                const data = await pool!.fetchChunk({ contentId: job.contentId, chunkSize: manifest!.chunkSize, file, index });
                result.latencies.chunkMs.push(performance.now() - t0);
                result.counters.chunks++;
                result.counters.cdnBytes += data.length;
                break;
              } catch (error) {
                recordError(undefined, error);
                await sleep(500);
              }
            }
          }
        }),
      );
      if (complete) result.counters.downloads++;
    }
    await pool.settle(AbortSignal.timeout(job.settleMs)).catch((error: unknown) => recordError(undefined, error));
  }

  async function relayConsumer(spec: ConsumerSpec): Promise<void> {
    const sender = privateKeyToAccount(spec.key).address;
    const sign = createNativeTicketSigner(spec.key, domain);
    const home = listings[spec.home]!;
    const { host, port, blobs } = job.relayTarget;
    let relay: RelayPool | undefined;
    relay = createRelayPool({
      listings: listingsFor(spec, () => relay?.report().find((r) => r.provider === home.provider)?.state),
      stats: createProviderStats(),
      openSession: async (listing, signal) => {
        const session = await openRelaySession({
          listing, chainId: job.chainId, broker: job.broker, sender, sign, fetch: recordingFetch, signal, requestTimeoutMs: CONTROL_TIMEOUT_MS,
          signSession: (message) => signSessionRequest({ message, domain, privateKey: spec.key }),
        });
        track({ node: nodeOfUrl(listing.endpoint)!, service: "relay", session, openedAt: Date.now(), lastUsedAt: Date.now() });
        return session;
      },
      logger,
    });
    while (Date.now() < job.deadline) {
      const blob = blobs[Math.floor(Math.random() * blobs.length)]!;
      const t0 = performance.now();
      let tunnel: Awaited<ReturnType<RelayPool["connect"]>>;
      try {
        tunnel = await relay.connect(host, port);
      } catch (error) {
        recordError(undefined, error);
        await sleep(500);
        continue;
      }
      result.latencies.connectMs.push(performance.now() - t0);
      const { socket, session } = tunnel;
      const node = nodeOfUrl(session.listing.endpoint);
      const hash = createHash("sha256");
      let head = Buffer.alloc(0);
      let headerDone = false;
      let status = "";
      let body = 0;
      let first = true;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (first) {
            first = false;
            result.latencies.ttfbMs.push(performance.now() - t0);
          }
          if (headerDone) {
            hash.update(chunk);
            body += chunk.length;
          } else {
            head = Buffer.concat([head, chunk]);
            const end = head.indexOf("\r\n\r\n");
            if (end >= 0) {
              headerDone = true;
              status = head.subarray(0, head.indexOf("\r\n")).toString();
              const rest = head.subarray(end + 4);
              hash.update(rest);
              body += rest.length;
            }
          }
          callback();
        },
      });
      const up = new PassThrough();
      const sent = session.pipe(up, socket);
      up.write(`GET /blob/${blob.size} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`);
      let broken = false;
      try {
        await session.pipe(socket, sink);
      } catch (error) {
        broken = true;
        fail(node, "relay tunnel broke", String((error as Error).message));
      }
      up.end();
      await sent.catch(() => undefined);
      socket.destroy();
      // The node relays a session's bytes only while one of its tunnels is open.
      const t = trackedOf.get(session);
      if (t !== undefined) t.lastUsedAt = Date.now();
      result.counters.tunnels++;
      result.counters.relayBytes += body;
      if (!broken) {
        // A killed node's sockets are closed by the kernel (FIN): the tunnel ends early without an
        // error, which only the length tells. Wrong bytes at full length are never expected.
        if (!/ 200 /.test(status) || body < blob.size) fail(node, "relay body truncated", `${status || "no response"}: ${body} bytes of ${blob.size}`);
        else if (body !== blob.size || hash.digest("hex") !== blob.sha256) fail(node, "relay body corrupt", `${status}: ${body} bytes, sha256 differs`);
      }
    }
    await relay.settle(AbortSignal.timeout(job.settleMs));
  }

  await Promise.all(
    job.consumers.map(async (spec, i) => {
      // Spread the starts over the ramp so that 500 sessions do not open in the same millisecond.
      await sleep(Math.max(0, job.startAt + (job.rampMs * i) / job.consumers.length - Date.now()));
      try {
        await (spec.kind === "cdn" ? cdnConsumer(spec) : relayConsumer(spec));
        result.counters.consumersFinished++;
      } catch (error) {
        recordError(undefined, error);
      }
    }),
  );
  for (const t of tracked) {
    const pay = t.session.payments();
    const relayPay = t.service === "relay" ? (t.session as RelaySession).payments() : undefined;
    result.sessions.push({
      node: t.node,
      sessionId: t.session.sessionId,
      service: t.service,
      acknowledgedBytes: pay.acknowledgedBytes.toString(),
      receivedBytes: (relayPay ? relayPay.movedBytes : pay.acknowledgedBytes + pay.unacknowledgedBytes).toString(),
      tickets: pay.tickets,
      failure: t.service === "relay" && (t.session as RelaySession).failure !== undefined ? String(((t.session as RelaySession).failure as Error).message) : undefined,
      openedAt: t.openedAt,
      lastUsedAt: t.lastUsedAt,
    });
  }
  transport.close();
  await writeFile(job.resultPath, JSON.stringify(result));
  return result;
}
