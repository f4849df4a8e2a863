import {
  BaseError as ViemBaseError,
  HttpRequestError,
  InternalRpcError,
  LimitExceededRpcError,
  ResourceUnavailableRpcError,
  RpcRequestError,
  SocketClosedError,
  TimeoutError,
  WebSocketRequestError,
} from "viem";
import { ChainUnavailableError } from "../chain/errors.ts";

// The payment layer answers 503 ChainUnavailableError ("retry") when it cannot read the chain, and
// 500 for its own bugs. viem wraps a transport failure in call-specific errors
// (ContractFunctionExecutionError -> CallExecutionError -> HttpRequestError), so the cause chain is
// walked. A revert or a decoding error is not an outage and is left alone.

const OUTAGES = [
  HttpRequestError,
  TimeoutError,
  WebSocketRequestError,
  SocketClosedError,
  RpcRequestError,
  LimitExceededRpcError,
  ResourceUnavailableRpcError,
  InternalRpcError,
] as const;

/** True iff `error` (or a cause of it) says the RPC endpoint could not be reached or was overloaded. */
export function isChainOutage(error: unknown): boolean {
  if (error instanceof ChainUnavailableError) return true;
  if (error instanceof ViemBaseError) return error.walk((e) => OUTAGES.some((C) => e instanceof C)) !== null;
  // A custom transport may surface undici's bare `TypeError: fetch failed` (cause: ECONNREFUSED...).
  return error instanceof TypeError && error.message === "fetch failed";
}

/** The JSON-RPC URL a viem client talks to, for messages (its transport's, else its chain's default). */
export function rpcUrlOf(client: { transport: unknown; chain?: { rpcUrls: { default: { http: readonly string[] } } } | undefined }): string {
  return (client.transport as { url?: string }).url ?? client.chain?.rpcUrls.default.http[0] ?? "the configured RPC URL";
}

/** Returns ChainUnavailableError (with `error` as cause) for an RPC outage, else `error` unchanged. */
export function toChainUnavailable(error: unknown, rpcUrl: string): unknown {
  if (error instanceof ChainUnavailableError || !isChainOutage(error)) return error;
  return new ChainUnavailableError(rpcUrl, { cause: error });
}
