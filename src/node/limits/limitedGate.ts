import type { Grant, PaymentGate } from "../edge/paymentGate.ts";
import { PaymentHttpError } from "../payments/paymentErrorStatus.ts";
import type { Work } from "./createLimits.ts";

/**
 * Wraps the edge's gate with the operator's limits: the inner gate runs first (it takes the
 * request's tickets, so payment for bytes already delivered is never refused), then new content is
 * admitted only if no limit holds; a refused body releases what the inner gate admitted. Only used
 * when a limit can refuse content, so a node without limits keeps the plain gate.
 */
export function limitedGate(gate: PaymentGate, limits: { admit(work: Work): void }, onRefusal?: (error: unknown) => void): PaymentGate {
  return {
    async admit(req, request): Promise<Grant> {
      const grant = await gate.admit(req, request);
      try {
        limits.admit("content");
      } catch (error) {
        grant.served(0n);
        onRefusal?.(error);
        throw new PaymentHttpError(error);
      }
      return grant;
    },
  };
}
