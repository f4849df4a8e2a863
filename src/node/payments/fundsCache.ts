import type { Address } from "viem";
import type { Clock } from "./sessionBook.ts";

/**
 * A sender's funds in the TicketBroker as they back this node's tickets: its deposit, the part of
 * its reserve this node may still draw (`claimableReserve(sender, node)`: its share R/N, less what
 * it drew; 0 if it may not draw), and its withdrawal time (0: not unlocking).
 */
export type SenderFunds = { deposit: bigint; reserve: bigint; withdrawTime: bigint };

/** Reads a sender's funds from the chain (`getSender` and `claimableReserve`). */
export type ReadSenderFunds = (sender: Address, signal?: AbortSignal) => Promise<SenderFunds>;

/** Cached view of senders' broker funds. */
export type FundsCache = ReturnType<typeof createFundsCache>;

/**
 * Caches a sender's funds for `ttlMs` so that ticket intake costs no RPC round trip in the
 * common case; concurrent misses share one read. `invalidate` after a redemption (it moves funds).
 */
export function createFundsCache({ read, clock, ttlMs }: { read: ReadSenderFunds; clock: Clock; ttlMs: number }) {
  const entries = new Map<Address, { funds: SenderFunds; at: number }>();
  const inflight = new Map<Address, Promise<SenderFunds>>();
  return {
    /** Cached funds if fresh, else undefined (lets callers stay synchronous on the hot path). */
    peek(sender: Address): SenderFunds | undefined {
      const e = entries.get(sender);
      return e !== undefined && clock.now() - e.at < ttlMs ? e.funds : undefined;
    },
    /** Fresh funds, reading the chain if the cache is stale. */
    async get(sender: Address, signal?: AbortSignal): Promise<SenderFunds> {
      const cached = this.peek(sender);
      if (cached !== undefined) return cached;
      let p = inflight.get(sender);
      if (p === undefined) {
        p = read(sender, signal).then(
          (funds) => {
            entries.set(sender, { funds, at: clock.now() });
            inflight.delete(sender);
            return funds;
          },
          (error: unknown) => {
            inflight.delete(sender);
            throw error;
          },
        );
        inflight.set(sender, p);
      }
      return p;
    },
    /** Forgets a sender's cached funds. */
    invalidate(sender: Address): void {
      entries.delete(sender);
    },
  };
}
