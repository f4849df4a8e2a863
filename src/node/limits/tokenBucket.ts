/** Milliseconds since the epoch; injected so tests control time. */
type Clock = { now(): number };

const ready: Promise<void> = Promise.resolve();

/**
 * A token bucket of bytes: `ratePerSecond` refill, `burstBytes` capacity, shared by every paced
 * writer (delivery and relay together). `take(n)` resolves when the caller may send `n` bytes.
 *
 * Takes are never refused: the bucket goes into debt (negative tokens) and the taker waits until
 * the debt is repaid at the rate, so a chunk larger than the burst still goes, and concurrent takers
 * queue in arrival order (each later one sees a deeper debt). Over a sustained transfer the rate is
 * the setting plus at most one burst. Rates are floats: these are bytes, not money.
 */
export function createTokenBucket({ ratePerSecond, burstBytes, clock }: { ratePerSecond: number; burstBytes: number; clock: Clock }) {
  if (!(ratePerSecond > 0)) throw new RangeError("ratePerSecond must be positive");
  let tokens = burstBytes;
  let last = clock.now();
  const refill = (): void => {
    const now = clock.now();
    if (now > last) tokens = Math.min(burstBytes, tokens + ((now - last) * ratePerSecond) / 1000);
    last = now;
  };
  return {
    ratePerSecond,
    /**
     * Resolves when `bytes` may be sent. An aborted wait rejects with the signal's reason and gives
     * its bytes back to the bucket.
     */
    take(bytes: number, signal?: AbortSignal): Promise<void> {
      refill();
      tokens -= bytes;
      if (tokens >= 0) return ready;
      const waitMs = (-tokens * 1000) / ratePerSecond;
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          tokens += bytes;
          reject(signal!.reason);
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, Math.ceil(waitMs));
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    /** Seconds of traffic already promised to waiting takers (0 when the bucket has tokens). */
    backlogSeconds(): number {
      refill();
      return tokens >= 0 ? 0 : -tokens / ratePerSecond;
    },
  };
}

/** A running token bucket. */
export type TokenBucket = ReturnType<typeof createTokenBucket>;
