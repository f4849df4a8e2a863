import { BaseError } from "../../protocol/errors.ts";
import type { Command } from "../command.ts";
import { formatBytes, formatToken } from "../lib/format.ts";
import { UsageError } from "../usageError.ts";
import { loadNodeConfig, type NodeConfigFlags } from "../../node/config.ts";
import { readAdminToken } from "../../node/admin/adminToken.ts";
import { nodeConfigOptions } from "./node-start.ts";

/** The node's admin listener did not answer, or refused. */
export class AdminUnreachableError extends BaseError {
  override name = "AdminUnreachableError";
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

/** The summary of GET /api/report as JSON carries it (bigints as decimal strings). */
type SummaryJson = {
  provider: string; state: string; unavailable?: { limit: string; reason: string; retryAfterSeconds: number };
  reachability: { state: string; reason?: string }; activeSessions: number; openSessions: number;
  servedToday: string; servedTotal: string; netToday: string; netTotal: string; expected: string; realised: string;
  claimable: string; withdrawable: string; pendingWinners: number;
};

/** The dashboard's top row as lines of text: the same figures, from the same report. */
export function formatSummary(s: SummaryJson): string {
  const t = (v: string) => formatToken(BigInt(v));
  return [
    `provider       ${s.provider}`,
    `state          ${s.state}${s.unavailable ? ` (${s.unavailable.limit}: ${s.unavailable.reason}; retry in ${s.unavailable.retryAfterSeconds} s)` : ""}`,
    `reachability   ${s.reachability.state}${s.reachability.reason ? ` (${s.reachability.reason})` : ""}`,
    `sessions       ${s.activeSessions} active, ${s.openSessions} open`,
    `served         ${formatBytes(BigInt(s.servedToday))} today, ${formatBytes(BigInt(s.servedTotal))} in all`,
    `earned (net)   ${t(s.netToday)} today, ${t(s.netTotal)} in all`,
    `expected       ${t(s.expected)}, realised ${t(s.realised)} (${s.pendingWinners} winners awaiting redemption)`,
    `rewards        ${t(s.claimable)} claimable, ${t(s.withdrawable)} withdrawable`,
    "",
  ].join("\n");
}

const command: Command = {
  summary: "Print a running node's summary (the dashboard's top row) from its admin listener",
  usage: "[--config node.yaml] [--admin-url URL] [--token TOKEN]",
  options: { ...nodeConfigOptions, "admin-url": { type: "string" }, token: { type: "string" }, json: { type: "boolean" } },
  async run({ values, stdout, signal }) {
    let base = typeof values["admin-url"] === "string" ? values["admin-url"].replace(/\/+$/, "") : undefined;
    let token = typeof values.token === "string" ? values.token : process.env.BANDMINT_ADMIN_TOKEN;
    if (base === undefined) {
      if (typeof values.config !== "string") throw new UsageError("give the node's --config (or --admin-url)", { flag: "config" });
      const config = await loadNodeConfig({ file: values.config, flags: values as NodeConfigFlags, env: process.env });
      if (!config.admin.enabled) throw new UsageError(`the admin listener is disabled in ${values.config} (admin.enabled: false)`, { flag: "config" });
      if (config.admin.port === 0) throw new UsageError("admin.port is 0 (any free port): give --admin-url as the node printed it", { flag: "admin-url" });
      const host = ["0.0.0.0", "::", ""].includes(config.admin.host) ? "127.0.0.1" : config.admin.host;
      base = `http://${host.includes(":") ? `[${host}]` : host}:${config.admin.port}`;
      token ??= config.admin.token ?? (await readAdminToken(config.dataDir));
    }
    let res: Response;
    try {
      res = await fetch(`${base}/api/report`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal });
    } catch (cause) {
      throw new AdminUnreachableError(`Cannot reach the node's admin listener at ${base}: is the node running?`, cause);
    }
    const body = (await res.json()) as { summary?: SummaryJson; message?: string };
    if (!res.ok || body.summary === undefined) throw new AdminUnreachableError(`${base}/api/report answered ${res.status}: ${body.message ?? "no summary"}`);
    stdout.write(values.json ? `${JSON.stringify(body.summary, null, 2)}\n` : formatSummary(body.summary));
    return 0;
  },
};
export default command;
