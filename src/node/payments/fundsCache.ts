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
 *
 * While the chain is unreachable (`isOutage` says which read errors mean that), the last funds
 * read are used for up to `staleMs` after that read: the node goes on taking tickets of senders it
 * knows during an RPC outage instead of stopping every session once the TTL runs out. The risk is
 * bounded as it is within the TTL: intake still admits no more unredeemed winners than the funds
 * last read cover, withdrawals wait for the unlock period, and what the node cannot see is only
 * what other providers redeem from the sender meanwhile. After a failed read the next one waits
 * `retryMs`, so an outage costs intake no RPC timeout per ticket. Without a previous read (a new
 * sender, or `invalidate`d: new sessions read afresh) the error is thrown.
 */
export function createFundsCache({ read, clock, ttlMs, staleMs = 0, retryMs = 2000, isOutage = () => false }: {
  read: ReadSenderFunds;
  clock: Clock;
  ttlMs: number;
  /** How long after the last successful read its funds may stand in while the chain is unreachable (ms). */
  staleMs?: number;
  /** After a failed read, how long the stale funds are used before the chain is asked again (ms). */
  retryMs?: number;
  /** Whether a read error means "the chain is unreachable" (not a bug or a revert). */
  isOutage?: (error: unknown) => boolean;
}) {
  const entries = new Map<Address, { funds: SenderFunds; at: number; failedAt?: number }>();
  const inflight = new Map<Address, Promise<SenderFunds>>();
  /** The last funds read, if an outage lets them stand in now. */
  const stale = (sender: Address): SenderFunds | undefined => {
    const e = entries.get(sender);
    return e !== undefined && clock.now() - e.at < staleMs ? e.funds : undefined;
  };
  return {
    /** Cached funds if fresh, else undefined (lets callers stay synchronous on the hot path). */
    peek(sender: Address): SenderFunds | undefined {
      const e = entries.get(sender);
      if (e === undefined) return undefined;
      if (clock.now() - e.at < ttlMs) return e.funds;
      // The chain failed a moment ago: the stale funds stand in until the next try.
      return e.failedAt !== undefined && clock.now() - e.failedAt < retryMs ? stale(sender) : undefined;
    },
    /** Fresh funds, reading the chain if the cache is stale (or the last funds read, during an outage). */
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
            const last = isOutage(error) ? stale(sender) : undefined;
            if (last === undefined) throw error;
            entries.get(sender)!.failedAt = clock.now();
            return last;
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
