import type { Readable, Writable } from "node:stream";
import { drained } from "../../http/drained.ts";
import type { Pacer } from "../limits/createLimits.ts";

/**
 * What a metered pump asks before it forwards bytes: the credit window of the tunnel's sender
 * (src/node/relay/createRelay.ts). `admit` takes up to `n` bytes of credit now (0: none left);
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
 */
export function pumpMetered(from: Readable, to: Writable, meter: TunnelMeter, pacer?: Pacer): Promise<void> {
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
    const onData = (chunk: Buffer) => {
      // The common case (no pacer, nothing waiting, credit for the whole chunk) is forwarded here,
      // synchronously: pausing the source and going through `forward` for every chunk cost a
      // pause/resume round and a promise per chunk at full speed.
      if (pacer === undefined && !busy) {
        let n: number;
        try {
          n = meter.admit(chunk.length);
        } catch (error) {
          return fail(error);
        }
        if (n === chunk.length) {
          if (!to.write(chunk, (error) => meter.settle(n, error ? 0 : n))) {
            from.pause();
            busy = true;
            void drained(to).then(() => {
              busy = false;
              if (failed) return;
              if (ended) finish();
              else from.resume();
            });
          }
          return;
        }
        // Part or none of it: give the credit back and let `forward` take the chunk in parts.
        if (n > 0) meter.settle(n, 0);
      }
      pending = chunk;
      from.pause();
      void forward();
    };
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
    from.on("data", onData);
    from.on("end", onEnd);
    from.on("error", fail);
    from.on("close", onFromClose);
    to.on("error", fail);
    to.on("close", onToClose);
  });
}
