import type { Address } from "viem";
import { paymentErrorStatus } from "./paymentErrorStatus.ts";
import { TooManyRefusalsError } from "./errors.ts";

/** Refused ticket requests a sender may have at once before the node stops reading its tickets. */
export const REFUSAL_BURST = 32;
/** How fast a sender's allowance comes back: one refused request a second. */
export const REFUSALS_PER_SECOND = 1;

/** The refusal budget of the senders; the payment API and the payment gate share one. */
export type RefusalBudget = ReturnType<typeof createRefusalBudget>;

/**
 * Per-sender allowance of refused ticket requests (a token bucket: `burst` at once, refilled at
 * `perSecond`). A request that delivers tickets (`POST /sessions/<id>/tickets`, or a content
 * request with `X-Bandmint-Ticket`) is checked with `assertAllowed` before its tickets are read and
 * `charge`d when they are refused for the client's fault (a 4xx answer). An honest client is
 * refused a ticket now and then (a rotated rand, two requests racing for a nonce) and never comes
 * near the burst; a client sending forged, replayed or mis-addressed batches in a loop is answered
 * 429 TooManyRefusalsError without its batch being read, instead of costing the node a parse of
 * up to 256 tickets each time.
 */
export function createRefusalBudget({ clock, burst = REFUSAL_BURST, perSecond = REFUSALS_PER_SECOND }: { clock: { now(): number }; burst?: number; perSecond?: number }) {
  const buckets = new Map<Address, { tokens: number; at: number }>();
  const current = (sender: Address, now: number): number => {
    const b = buckets.get(sender);
    return b === undefined ? burst : Math.min(burst, b.tokens + ((now - b.at) * perSecond) / 1000);
  };
  return {
    /** Throws TooManyRefusalsError if `sender` used up its allowance. */
    assertAllowed(sender: Address): void {
      const tokens = current(sender, clock.now());
      if (tokens < 1) throw new TooManyRefusalsError({ sender, limit: burst, retryAfterSeconds: Math.ceil((1 - tokens) / perSecond) });
    },
    /** Counts `error` against `sender` if it is a refusal for the client's fault (4xx); others (5xx: the node's) are free. */
    charge(sender: Address, error: unknown): void {
      const status = paymentErrorStatus[(error as { name?: string } | undefined)?.name ?? ""];
      if (status === undefined || status < 400 || status >= 500 || (error as Error).name === "TooManyRefusalsError") return;
      const now = clock.now();
      buckets.set(sender, { tokens: current(sender, now) - 1, at: now });
      // Full buckets carry no information: drop them so the map follows the misbehaving senders.
      if (buckets.size > 10_000) for (const [k, v] of buckets) if (current(k, now) >= burst) buckets.delete(k);
    },
  };
}
