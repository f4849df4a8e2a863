import type { ServerResponse } from "node:http";

/**
 * Error name -> HTTP status for the edge's own errors. Errors from the PaymentGate carry their
 * status (the payment layer's single table, src/node/payments/paymentErrorStatus.ts, which
 * docs/protocol/payments.md is checked against); a numeric `status` property wins; anything
 * unknown is a 500.
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

/**
 * Ends `res` with the error's status and JSON body (or destroys it if the headers are already out);
 * an error's own `headers` (Retry-After of a limit) go out with it.
 */
export function sendHttpError(res: ServerResponse, error: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    // Mid-body: the only honest signal left is a truncated response.
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(httpErrorBody(error)));
  const own = (error as { headers?: Record<string, string> } | null)?.headers;
  res.writeHead(httpStatusOf(error), { ...extraHeaders, ...own, "Content-Type": "application/json", "Content-Length": body.length, "Cache-Control": "no-store" });
  res.end(body);
}
