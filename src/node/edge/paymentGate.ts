import type { IncomingMessage } from "node:http";

/**
 * The seam between the edge's data plane and the payment layer (src/node/payments). The edge calls
 * `admit` once per response body, after it has resolved the file and the range and before it sends
 * a byte; `start` is inclusive and `end` exclusive, so the body is `end - start` bytes. HEAD,
 * 304, 416 and manifest responses carry no paid body and are never admitted.
 */
export type PaymentGate = {
  /** Called before a body of `bytes` bytes is sent for `req` (content id/path/range given). Throws a typed error (its name maps to an HTTP status in the node's error table, e.g. PaymentRequiredError -> 402) to refuse; otherwise returns a grant. May also reduce nothing: all-or-nothing. */
  admit(req: IncomingMessage, request: { contentId: string; path: string; start: bigint; end: bigint }): Promise<Grant>;
};

export type Grant = {
  /** Called with bytes actually written to the socket (also on abort). */
  served(bytes: bigint): void;
  headers?: Record<string, string>;
};

const freeGrant: Grant = { served() {} };

/** A gate that admits everything for free (tests, benchmarks, a node that gives bandwidth away). */
export const freeGate: PaymentGate = {
  admit: async () => freeGrant,
};
