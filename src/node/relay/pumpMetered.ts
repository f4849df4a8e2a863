import type { Readable, Writable } from "node:stream";
import { drained } from "../../http/drained.ts";

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
 */
export function pumpMetered(from: Readable, to: Writable, meter: TunnelMeter): Promise<void> {
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
          const part = n === chunk.length ? chunk : chunk.subarray(0, n);
          pending = n === chunk.length ? undefined : chunk.subarray(n);
          const ok = to.write(part, (error) => meter.settle(n, error ? 0 : n));
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
