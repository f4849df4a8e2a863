import { setTimeout as delay } from "node:timers/promises";
import { isChainOutage } from "./toChainUnavailable.ts";

/** Longest pause between two attempts to reach the chain. */
const MAX_DELAY_MS = 30_000;

/**
 * Runs `read` until the chain answers it: while the RPC endpoint is unreachable (isChainOutage),
 * it logs why and tries again after 1, 2, 4... s (at most 30 s); any other error is thrown. An
 * abort of `signal` ends the wait with its reason.
 *
 * Why: a node that exits because the chain is briefly unreachable at start-up (a router booting
 * before its uplink, a provider's RPC outage) relies on its service manager to try again, and
 * OpenWrt's procd gives up after a few quick failures; waiting here keeps the node's own
 * behaviour the same everywhere.
 */
export async function waitForChain<T>(read: () => Promise<T>, { what, rpcUrl, log, signal }: { what: string; rpcUrl: string; log: (line: string) => void; signal?: AbortSignal }): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await read();
    } catch (error) {
      if (!isChainOutage(error)) throw error;
      const delayMs = Math.min(MAX_DELAY_MS, 1000 * 2 ** attempt);
      log(`node: cannot reach the chain at ${rpcUrl} to ${what} (${outageReason(error)}); trying again in ${delayMs / 1000} s`);
      await delay(delayMs, undefined, signal ? { signal } : {});
    }
  }
}

/** The first line of the error's short message, with the socket error code under it (ECONNREFUSED...) if any. */
function outageReason(error: unknown): string {
  const message = ((error as { shortMessage?: string }).shortMessage ?? (error as Error).message ?? String(error)).split("\n")[0]!;
  let code: string | undefined;
  for (let e = error as { cause?: unknown; code?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string") code = e.code;
  }
  return code === undefined ? message : `${message} ${code}`;
}
