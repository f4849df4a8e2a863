import type { OnReadOpts } from "node:net";

/** Size of one read buffer: what libuv reads per call on a socket anyway. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Free read buffers shared by the sockets of a relay (the node's upstream sockets, the consumer's
 * tunnels), so that a tunnel reads into memory that was read into before instead of a new Buffer
 * per read.
 *
 * Why: a Buffer per 64 KiB read is external memory to V8, and V8 answers external memory growth
 * with full mark-compact collections of the whole heap. On the node's heap (~22 MB) relaying a
 * GiB cost about 40 of them and half of the node's CPU time (bench/relay.ts --prof-dir). With
 * reused buffers, relayed bytes allocate nothing. Buffers are taken per read, not held per
 * tunnel: a thousand idle tunnels hold none.
 */
export function createReadBufferPool({ keep = 32 }: { keep?: number } = {}) {
  const free: Buffer[] = [];
  return {
    take: (): Buffer => free.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES),
    give(buffer: Buffer): void {
      if (free.length < keep && buffer.length === READ_BUFFER_BYTES) free.push(buffer);
    },
  };
}

/** The shared read buffers of a relay. */
export type ReadBufferPool = ReturnType<typeof createReadBufferPool>;

/**
 * What takes a socket's reads: `chunk` is a view of a pooled buffer that stays valid until
 * `release` is called (then it is read into again), so keep it only by copying it. Returns false
 * to pause the socket (resume it with `socket.resume()`).
 */
export type ReusedReadSink = (chunk: Buffer, release: () => void) => boolean;

/** Reads of one socket into pooled buffers: pass `onread` to net.connect, then `attach` a sink. */
export type ReusedReads = {
  readonly onread: OnReadOpts;
  /**
   * Starts delivering reads to `sink`. Bytes that arrived before are handed over first, as one
   * copied chunk in `early` (the socket stays paused until the sink resumes it).
   */
  attach(sink: ReusedReadSink): { early: Buffer | undefined };
};

/**
 * Reads into buffers of `pool` for one socket (see ReusedReads). Until a sink is attached, reads
 * are kept (copied) and reading stops; or, with `unattached`, each read goes there (copied: the
 * consumer's tunnel pushes it into the socket's own stream, so that the socket also works as an
 * ordinary Readable for code that does not attach a sink), returning false to stop reading.
 */
export function reusedReads(pool: ReadBufferPool, unattached?: (copy: Buffer) => boolean): ReusedReads {
  let sink: ReusedReadSink | undefined;
  const early: Buffer[] = [];
  return {
    onread: {
      buffer: pool.take,
      callback(n: number, buffer: Uint8Array): boolean {
        const b = buffer as Buffer;
        const chunk = b.subarray(0, n);
        if (sink !== undefined) return sink(chunk, () => pool.give(b));
        const copy = Buffer.from(chunk);
        pool.give(b);
        if (unattached !== undefined) return unattached(copy);
        // Nobody takes reads yet: keep the copy and stop reading until someone does.
        early.push(copy);
        return false;
      },
    },
    attach(s) {
      sink = s;
      return { early: early.length === 0 ? undefined : Buffer.concat(early.splice(0)) };
    },
  };
}
