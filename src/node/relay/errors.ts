import { PaymentLayerError } from "../payments/errors.ts";

// Errors of the relay (docs/protocol/relay.md §5). Like the payment layer's, each has a stable
// name whose HTTP status lives in the node's one table (src/node/payments/paymentErrorStatus.ts)
// and a `reason` that the node counts refusals by and sends in `details.reason`.

/** Every reason the relay refuses a tunnel for (the counters of /status and the metrics). */
export const RELAY_REFUSAL_REASONS = [
  "auth-required",
  "auth-invalid",
  "wrong-service",
  "bad-target",
  "forbidden-address",
  "port-denied",
  "destination-denied",
  "unresolvable",
  "bad-host",
  "too-many-tunnels",
  "rate-limited",
  "node-busy",
  "limit",
  "operator-limit",
  "connect-failed",
  "connect-timeout",
] as const;

/** Why the relay refused a tunnel. */
export type RelayRefusalReason = (typeof RELAY_REFUSAL_REASONS)[number];

/** The refusal reason of an error the relay answered with (undefined for bugs). */
export function refusalReason(error: unknown): RelayRefusalReason | undefined {
  const e = error as { name?: unknown; reason?: unknown } | null;
  if (typeof e?.reason === "string" && (RELAY_REFUSAL_REASONS as readonly string[]).includes(e.reason)) return e.reason as RelayRefusalReason;
  if (e?.name === "WireFormatError") return "bad-target"; // auth parsing is wrapped in ProxyAuthError
  if (e?.name === "SessionServiceMismatchError") return "wrong-service";
  if (e?.name === "LimitReachedError") return "operator-limit"; // its `reason` is prose; `details.limit` names it
  return undefined;
}

/** Why an open tunnel was closed by the node (`displaced`: by another sender's, at the node-wide cap). */
export type TunnelCloseReason = "done" | "unpaid" | "idle" | "displaced" | "error" | "stopped";

/** The request carries no usable session token in Proxy-Authorization (HTTP 407). */
export class ProxyAuthError extends PaymentLayerError {
  override name = "ProxyAuthError";
  reason: RelayRefusalReason;
  constructor({ reason, cause }: { reason: "auth-required" | "auth-invalid"; cause?: unknown }) {
    super(
      reason === "auth-required"
        ? "Proxy authentication required: send a relay session's token in Proxy-Authorization (Basic with the token as password, or Bearer)."
        : "Proxy authentication failed: Proxy-Authorization does not carry the token of a session on this node; open a relay session (POST /sessions with service \"relay\").",
      { cause },
    );
    this.reason = reason;
    this.wireDetails = { reason };
  }
}

/** The destination name has no usable address (HTTP 502, as proxies answer a failed lookup). */
export class DestinationUnresolvableError extends PaymentLayerError {
  override name = "DestinationUnresolvableError";
  reason: RelayRefusalReason = "unresolvable";
  constructor({ host, cause }: { host: string; cause?: unknown }) {
    super(`Cannot resolve ${host}.`, { cause });
    this.wireDetails = { reason: this.reason, host };
  }
}

/** A per-sender or node-wide tunnel limit holds (HTTP 429, or 503 when the node is full). */
export class TunnelLimitError extends PaymentLayerError {
  override name = "TunnelLimitError";
  reason: RelayRefusalReason;
  retryAfterSeconds: number;
  constructor({ reason, limit, retryAfterSeconds }: { reason: "too-many-tunnels" | "rate-limited"; limit: number; retryAfterSeconds: number }) {
    super(
      reason === "too-many-tunnels"
        ? `Too many open tunnels: this node allows ${limit} per sender; close one first.`
        : `Too many new tunnels: this node allows ${limit} per minute per sender; retry in ${retryAfterSeconds} s.`,
    );
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
    this.wireDetails = { reason, limit, retryAfterSeconds };
  }
}

/** The node carries as many tunnels as it is configured to (HTTP 503). */
export class RelayBusyError extends PaymentLayerError {
  override name = "RelayBusyError";
  reason: RelayRefusalReason = "node-busy";
  retryAfterSeconds = 30;
  constructor({ limit }: { limit: number }) {
    super(`This node carries its maximum of ${limit} tunnels; try another provider.`);
    this.wireDetails = { reason: this.reason, limit, retryAfterSeconds: this.retryAfterSeconds };
  }
}

/** The destination refused or reset the connection (HTTP 502). */
export class UpstreamConnectError extends PaymentLayerError {
  override name = "UpstreamConnectError";
  reason: RelayRefusalReason = "connect-failed";
  constructor({ host, port, cause }: { host: string; port: number; cause?: unknown }) {
    super(`Cannot connect to ${host}:${port}: ${(cause as { code?: string })?.code ?? (cause as Error)?.message ?? "connection failed"}.`, { cause });
    this.wireDetails = { reason: this.reason, host, port };
  }
}

/** The destination did not accept the connection in time (HTTP 504). */
export class UpstreamTimeoutError extends PaymentLayerError {
  override name = "UpstreamTimeoutError";
  reason: RelayRefusalReason = "connect-timeout";
  constructor({ host, port, timeoutMs }: { host: string; port: number; timeoutMs: number }) {
    super(`${host}:${port} did not accept a connection within ${timeoutMs} ms.`);
    this.wireDetails = { reason: this.reason, host, port, timeoutMs };
  }
}

/** A tunnel stalled at the credit window for longer than the grace time: the consumer stopped paying. */
export class UnpaidTunnelError extends PaymentLayerError {
  override name = "UnpaidTunnelError";
  constructor({ graceMs }: { graceMs: number }) {
    super(`No payment within ${graceMs} ms of reaching the credit window: tunnel closed.`);
  }
}
