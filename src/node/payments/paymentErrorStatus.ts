import type { WireError } from "../../protocol/wire.ts";

/**
 * HTTP status of every error the payment layer answers with, by stable error name
 * (docs/protocol/payments.md §4). One table, so the docs and the code are checked against each
 * other by test/docs.test.ts.
 */
export const paymentErrorStatus: Readonly<Record<string, number>> = {
  WireFormatError: 400,
  InvalidTicketError: 400,
  InvalidSignatureError: 400,
  RecipientMismatchError: 400,
  TicketTermsMismatchError: 400,
  TicketExpiredError: 400,
  TicketExpiresTooSoonError: 400,
  TicketExpiryTooFarError: 400,
  ServiceNotOfferedError: 400,
  SignerMismatchError: 401,
  UnsignedSessionRequestError: 401,
  SessionRequestSignerError: 401,
  StaleSessionRequestError: 401,
  InvalidSessionTokenError: 401,
  PaymentRequiredError: 402,
  SessionRequiredError: 402,
  TicketUnderpricedError: 402,
  InsufficientFundsError: 402,
  UnknownSessionError: 404,
  RequestBodyTooLargeError: 413,
  RequestTimeoutError: 408,
  TicketNonceError: 409,
  TicketAcknowledgesNothingError: 409,
  TicketOverAcknowledgesError: 409,
  StaleRecipientRandError: 409,
  SessionMismatchError: 409,
  ReplayedSessionRequestError: 409,
  SessionServiceMismatchError: 409,
  TooManySessionsError: 429,
  TooManyRefusalsError: 429,
  ChainUnavailableError: 503,
  LimitReachedError: 503,
  StorageFullError: 507,
  // The relay (docs/protocol/relay.md §5).
  ProxyAuthError: 407,
  EgressRefusedError: 403,
  DestinationUnresolvableError: 502,
  TunnelLimitError: 429,
  UpstreamConnectError: 502,
  RelayBusyError: 503,
  UpstreamTimeoutError: 504,
};

/**
 * Status, JSON body and extra headers for an error; unknown errors are 500 without internals. An
 * error with a `retryAfterSeconds` (LimitReachedError) gets a Retry-After header.
 */
export function paymentErrorResponse(error: unknown): { status: number; body: WireError; headers?: Record<string, string> } {
  const e = error as { name?: string; shortMessage?: string; wireDetails?: Record<string, unknown>; field?: string; retryAfterSeconds?: unknown };
  const name = typeof e?.name === "string" ? e.name : "Error";
  const status = paymentErrorStatus[name];
  if (status === undefined) return { status: 500, body: { error: "InternalError", message: "Internal error." } };
  const details = e.wireDetails ?? (e.field !== undefined ? { field: e.field } : undefined);
  const body: WireError = { error: name, message: e.shortMessage ?? String(error) };
  if (details !== undefined && Object.keys(details).length > 0) body.details = details;
  if (typeof e.retryAfterSeconds === "number") return { status, body, headers: { "Retry-After": String(e.retryAfterSeconds) } };
  return { status, body };
}

/** An error shaped for the edge's error responses: `status`, stable `name`, `shortMessage`, object `details`, extra `headers`. */
export class PaymentHttpError extends Error {
  override name: string;
  status: number;
  shortMessage: string;
  details: Record<string, unknown> | undefined;
  headers: Record<string, string> | undefined;
  constructor(cause: unknown) {
    const { status, body, headers } = paymentErrorResponse(cause);
    super(body.message, { cause });
    this.name = body.error;
    this.status = status;
    this.shortMessage = body.message;
    this.details = body.details;
    this.headers = headers;
  }
}
