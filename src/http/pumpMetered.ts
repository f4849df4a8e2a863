import type { Readable, Writable } from "node:stream";
import { drained } from "./drained.ts";
import type { ReusedReads } from "./reusedReads.ts";

/** What a pump asks of a rate limiter (the node's operator limits: src/node/limits' Pacer). */
export type PumpPacer = {
  take(bytes: number): Promise<void>;
  refund(bytes: number): void;
};

/**
 * What a metered pump asks before it forwards bytes: on the node, the credit window of the
 * tunnel's sender (src/node/relay/createRelay.ts); on the consumer, a count of what moved that
 * admits everything (src/client/openRelaySession.ts). `admit` takes up to `n` bytes of credit now (0: none left);
 * `settle` reports how many of an admitted run actually reached the kernel; `waitCredit` resolves
 * when credit may have come back, and rejects when the consumer did not pay within the grace time.
 */
export type TunnelMeter = {
  admit(n: number): number;
  settle(admitted: number, written: number): void;
  waitCredit(): Promise<void>;
};

/**
 * Forwards `from` to `to`, byte for byte, never more than the meter admits: reading stops while
 * the sender's credit window is full or `to` is backed up (so TCP backpressure reaches the
 * sender), and resumes when a ticket arrives or `to` drains. Ends `to` after the last byte of
 * `from`. Resolves when `from` ended and everything was forwarded; rejects with the first error
 * (the caller destroys both sides: a tunnel has no half-failed state worth keeping).
 *
 * With the operator's `pacer` (src/node/limits), each admitted run waits for the node's shared
 * rate and counts against its quota before it is written; a pacer that refuses (quota used up,
 * schedule closed) fails the pump, which cuts the tunnel. Without one, nothing is awaited.
 *
 * With `reads` (a socket connected with its `onread`), bytes come from pooled buffers instead of
 * 'data' events, and a chunk is copied only when it cannot be forwarded at once.
 */
export function pumpMetered(from: Readable, to: Writable, meter: TunnelMeter, pacer?: PumpPacer, reads?: ReusedReads): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending: Buffer | undefined;
    let ended = false;
    let busy = false;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      cleanup();
      reject(error);
    };
    const finish = () => {
      cleanup();
      to.end(() => resolve());
    };
    /** After a wait with reading paused: finishes if `from` ended meanwhile, else reads on. */
    const readOn = () => {
      busy = false;
      if (failed) return;
      if (ended) finish();
      else from.resume();
    };
    /** Waits for `to` to drain (reading paused), then reads on. */
    const pauseUntilDrained = () => {
      busy = true;
      void drained(to).then(readOn);
    };
    /**
     * Takes one chunk of `from`; returns whether to keep reading. `release` is set when the chunk
     * is a view of a pooled read buffer (ReusedReads), to be called once nothing refers to it.
     *
     * The common case (no pacer, nothing waiting, credit for the whole chunk) is forwarded here,
     * synchronously: pausing the source and going through `forward` for every chunk cost a
     * pause/resume round and a promise per chunk at full speed.
     */
    const take = (chunk: Buffer, release?: () => void): boolean => {
      if (pacer === undefined && !busy) {
        let n: number;
        try {
          n = meter.admit(chunk.length);
        } catch (error) {
          release?.();
          fail(error);
          return false;
        }
        if (n === chunk.length) {
          if (release === undefined) {
            if (to.write(chunk, (error) => meter.settle(n, error ? 0 : n))) return true;
            from.pause();
            pauseUntilDrained();
            return false;
          }
          // A pooled buffer may be read into again only once the kernel has taken every byte of
          // it: a write that did not complete at once still refers to it, until its callback
          // (not 'drain': that comes only after a write past the high-water mark).
          let written: (() => void) | undefined;
          to.write(chunk, (error) => {
            meter.settle(n, error ? 0 : n);
            written?.();
          });
          if (to.writableLength === 0) {
            release();
            return true;
          }
          busy = true;
          written = () => {
            release();
            readOn();
          };
          return false;
        }
        // Part or none of it: give the credit back and let `forward` take the chunk in parts.
        if (n > 0) meter.settle(n, 0);
      }
      if (release === undefined) pending = chunk;
      else {
        pending = Buffer.from(chunk);
        release();
      }
      from.pause();
      void forward();
      return false;
    };
    const onData = (chunk: Buffer) => void take(chunk);
    const onEnd = () => {
      ended = true;
      if (!busy && pending === undefined) finish();
    };
    // A source that closes after its end has handed over everything; before it, bytes were lost.
    const onFromClose = () => {
      if (!ended) fail(new Error("tunnel closed"));
    };
    // The destination going away before we ended it loses whatever is still to be forwarded.
    const onToClose = () => fail(new Error("tunnel closed"));
    const cleanup = () => {
      from.off("data", onData);
      from.off("end", onEnd);
      from.off("error", fail);
      from.off("close", onFromClose);
      to.off("error", fail);
      to.off("close", onToClose);
    };
    async function forward(): Promise<void> {
      busy = true;
      try {
        while (pending !== undefined) {
          const chunk: Buffer = pending;
          const n = meter.admit(chunk.length);
          if (n === 0) {
            await meter.waitCredit();
            if (failed) return;
            continue;
          }
          if (pacer !== undefined) {
            try {
              await pacer.take(n);
            } catch (error) {
              meter.settle(n, 0);
              throw error;
            }
            if (failed) {
              meter.settle(n, 0);
              pacer.refund(n);
              return;
            }
          }
          const part = n === chunk.length ? chunk : chunk.subarray(0, n);
          pending = n === chunk.length ? undefined : chunk.subarray(n);
          const ok = to.write(part, (error) => {
            meter.settle(n, error ? 0 : n);
            if (error && pacer !== undefined) pacer.refund(n);
          });
          if (!ok) await drained(to);
          if (failed) return;
        }
      } catch (error) {
        return fail(error);
      } finally {
        busy = false;
      }
      if (ended) finish();
      else from.resume();
    }
    // The pump owns the source's flow from here on: one handed over paused (a SOCKS5 handshake
    // leaves it so) or whose reads stopped before the pump came flows again.
    if (reads === undefined) {
      from.on("data", onData);
      from.resume();
    } else {
      // Bytes that came before the pump (a server that speaks first) go through `forward`,
      // which resumes reading after them.
      const { early } = reads.attach(take);
      if (early !== undefined) {
        pending = early;
        from.pause();
        void forward();
      } else from.resume();
    }
    from.on("end", onEnd);
    from.on("error", fail);
    from.on("close", onFromClose);
    to.on("error", fail);
    to.on("close", onToClose);
  });
}
