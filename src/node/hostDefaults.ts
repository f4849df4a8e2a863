import { availableParallelism, totalmem } from "node:os";

/** What the node's defaults depend on: the machine it runs on. */
export type Host = { cores: number; totalMemory: number };

/** This machine (os.availableParallelism, os.totalmem). */
export function readHost(): Host {
  return { cores: availableParallelism(), totalMemory: totalmem() };
}

const MiB = 1 << 20;

/** The node's thread and cache defaults for `host`; each has a config override (README, "Node config"). */
export type HostDefaults = {
  /** Signer threads: one per core beside the event loop's, at most 4, and one per 512 MiB of memory. */
  signerThreads: number;
  /** Ticket commits on a writer thread (fsync off the event loop) unless memory is under 256 MiB. */
  ticketWriterThread: boolean;
  /** Hot chunks kept in memory: 1/16 of the memory, between 4 MiB and 256 MiB. */
  memoryCacheBytes: number;
};

/**
 * Sizes that follow the host. Each thread is a V8 isolate of 15-30 MB, and threads run only while
 * tickets flow (they stop when idle), so memory bounds how many a small box gets under load; the
 * in-memory chunk cache only saves a read from the disk cache (which the OS page cache serves too),
 * so on a small box it stays small.
 */
export function hostDefaults(host: Host): HostDefaults {
  const cores = Math.max(1, Math.floor(host.cores));
  return {
    signerThreads: Math.max(0, Math.min(4, cores - 1, Math.floor(host.totalMemory / (512 * MiB)))),
    ticketWriterThread: host.totalMemory >= 256 * MiB,
    memoryCacheBytes: Math.min(256 * MiB, Math.max(4 * MiB, Math.floor(host.totalMemory / 16 / MiB) * MiB)),
  };
}
