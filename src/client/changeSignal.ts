/** Wakes whoever waits for "something changed" (a session's payer moved, a request ended). */
export type ChangeSignal = {
  /** Wakes every current waiter. */
  notify(): void;
  /** Resolves at the next `notify`; rejects with the signal's reason if it aborts first. */
  next(signal?: AbortSignal): Promise<void>;
};

/** A one-shot-per-wait change signal: waiters re-check their condition after each wake-up. */
export function createChangeSignal(): ChangeSignal {
  let waiters: (() => void)[] = [];
  return {
    notify() {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
    next(signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => reject(signal?.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters.push(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
      });
    },
  };
}
