import type { ServerResponse } from "node:http";

/**
 * Error name -> HTTP status, for every typed error an edge response can end with. The payment layer
 * appends its rows here (append only). Errors may instead carry a numeric `status` property, which
 * wins; anything unknown is a 500.
 */
export const httpErrorStatus: Record<string, number> = {
  RouteNotFoundError: 404,
  ContentNotFoundError: 404,
  FileNotFoundError: 404,
  MethodNotAllowedError: 405,
  OriginFailedError: 502,
  ChunkHashMismatchError: 502,
  ManifestRootMismatchError: 502,
  ManifestSignatureError: 502,
  InvalidManifestError: 502,
  PaymentRequiredError: 402,
  // Payment layer (src/node/payments/paymentErrorStatus.ts holds the full table; the gate's
  // errors also carry `status`, so these rows are a fallback).
  SessionRequiredError: 402,
  TicketUnderpricedError: 402,
  InsufficientFundsError: 402,
  UnknownSessionError: 404,
  TicketNonceError: 409,
  StaleRecipientRandError: 409,
  SignerMismatchError: 401,
};

/** The HTTP status for an error thrown while handling a request (see `httpErrorStatus`). */
export function httpStatusOf(error: unknown): number {
  const e = error as { status?: unknown; name?: unknown } | null;
  if (e !== null && typeof e === "object") {
    if (typeof e.status === "number" && e.status >= 400 && e.status <= 599) return e.status;
    if (typeof e.name === "string") return httpErrorStatus[e.name] ?? 500;
  }
  return 500;
}

/** JSON body of an error response: `{ error, message, details }` (details omitted when absent). */
export function httpErrorBody(error: unknown): { error: string; message: string; details?: unknown } {
  const e = error as { name?: string; shortMessage?: string; message?: string; details?: unknown };
  const status = httpStatusOf(error);
  // Untyped errors are bugs: do not leak their internals to clients.
  if (e?.shortMessage === undefined) return { error: status === 500 ? "InternalError" : String(e?.name), message: status === 500 ? "internal error" : String(e?.message) };
  return { error: String(e.name), message: e.shortMessage, ...(e.details !== undefined ? { details: e.details } : {}) };
}

/** Ends `res` with the error's status and JSON body (or destroys it if the headers are already out). */
export function sendHttpError(res: ServerResponse, error: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    // Mid-body: the only honest signal left is a truncated response.
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(httpErrorBody(error)));
  res.writeHead(httpStatusOf(error), { ...extraHeaders, "Content-Type": "application/json", "Content-Length": body.length, "Cache-Control": "no-store" });
  res.end(body);
}
