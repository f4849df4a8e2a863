import { PaymentLayerError } from "../payments/errors.ts";

/** The operator's limits (docs/protocol/payments.md §3.1). */
export type LimitName = "quota" | "rate" | "schedule" | "sessions";

/**
 * The node is at one of its operator's limits and takes no new work of this kind now (HTTP 503 with
 * Retry-After; docs/protocol/payments.md §3.1). Thrown by admission checks for new sessions, content
 * requests and tunnels, and by a paced writer's `take` when a limit cuts in-flight work.
 */
export class LimitReachedError extends PaymentLayerError {
  override name = "LimitReachedError";
  limit: LimitName;
  reason: string;
  /** Seconds until the limit is expected to lift (an estimate for "rate" and "sessions"). */
  retryAfterSeconds: number;
  constructor({ limit, reason, retryAfterSeconds }: { limit: LimitName; reason: string; retryAfterSeconds: number }) {
    super(`The node is at its ${limit} limit: ${reason}.`, { details: `Retry in ${retryAfterSeconds} s or use another provider.` });
    this.limit = limit;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
    this.wireDetails = { limit, reason, retryAfterSeconds };
  }
}
