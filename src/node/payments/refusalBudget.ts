import type { Address } from "viem";
import { createKeyedBuckets } from "../limits/keyedBuckets.ts";
import { TooManyRefusalsError } from "./errors.ts";
import { paymentErrorStatus } from "./paymentErrorStatus.ts";

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
  const buckets = createKeyedBuckets<Address>({ burst, perSecond, clock });
  return {
    /** Throws TooManyRefusalsError if `sender` used up its allowance. */
    assertAllowed(sender: Address): void {
      const retryAfterSeconds = buckets.retryAfterSeconds(sender);
      if (retryAfterSeconds > 0) throw new TooManyRefusalsError({ sender, limit: burst, retryAfterSeconds });
    },
    /** Counts `error` against `sender` if it is a refusal for the client's fault (4xx); others (5xx: the node's) are free. */
    charge(sender: Address, error: unknown): void {
      const name = (error as { name?: string } | undefined)?.name ?? "";
      const status = paymentErrorStatus[name];
      if (status === undefined || status < 400 || status >= 500 || name === "TooManyRefusalsError") return;
      buckets.take(sender);
    },
  };
}
