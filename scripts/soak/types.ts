// What the soak's orchestrator and its consumer worker processes exchange (JSON files; bigints
// as decimal strings).
import type { Address, Hex } from "viem";

/** One consumer: its key, what it does (CDN downloads or relay tunnels) and its home node. */
export type ConsumerSpec = { key: Hex; kind: "cdn" | "relay"; home: number };

/** A provider listing as the workers use it (the orchestrator read it from the registry). */
export type SoakListing = { provider: Address; endpoint: string; pricePerGiB: string; services: number };

/** The job of one worker process. */
export type WorkerJob = {
  worker: number;
  consumers: ConsumerSpec[];
  /** By node index. */
  listings: SoakListing[];
  chainId: number;
  broker: Address;
  contentId: string;
  /** Files of the content the CDN consumers download (path and weight). */
  files: { path: string; weight: number }[];
  /** The relay destination ("host:port") and the blobs it serves with their sha256. */
  relayTarget: { host: string; port: number; blobs: { size: number; sha256: string }[] };
  /** Chunks a CDN consumer keeps in flight. */
  cdnConcurrency: number;
  /** Epoch ms: consumers start spread over [startAt, startAt + rampMs), and start nothing new after `deadline`. */
  startAt: number;
  rampMs: number;
  deadline: number;
  /** How long the final payment of every session may take (ms). */
  settleMs: number;
  resultPath: string;
};

/** An error a consumer saw: when (epoch ms), at which node (if one), what kind, and its message (with the pool's reasons, cut short). */
export type SoakError = { at: number; node: number | undefined; kind: string; detail: string };

/** One client-side session as the worker ends it. */
export type ClientSession = {
  node: number;
  sessionId: Hex;
  service: "cdn" | "relay";
  /** cumulativeBytes the node accepted tickets for (the payer's confirmed count). */
  acknowledgedBytes: string;
  /** CDN: verified bytes received; relay: bytes moved through the tunnels (both ways). */
  receivedBytes: string;
  tickets: number;
  failure: string | undefined;
  /** Epoch ms: when the node opened the session, and when a request or tunnel of it last ended (the node served it within). */
  openedAt: number;
  lastUsedAt: number;
};

/** A ticket the client saw accepted (in a 200 answer to its POST, or counted in a partial refusal). */
export type AcceptedTicket = { node: number; sessionId: Hex; signature: Hex };

/** What one worker reports. */
export type WorkerResult = {
  worker: number;
  sessions: ClientSession[];
  accepted: AcceptedTicket[];
  latencies: { chunkMs: number[]; connectMs: number[]; ttfbMs: number[] };
  errors: SoakError[];
  /** A sample message per error kind. */
  samples: Record<string, string>;
  /** Fail-overs the pools logged, by node left. */
  failovers: { at: number; node: number | undefined; message: string }[];
  counters: {
    consumers: number;
    consumersFinished: number;
    downloads: number;
    chunks: number;
    cdnBytes: number;
    tunnels: number;
    relayBytes: number;
  };
};
