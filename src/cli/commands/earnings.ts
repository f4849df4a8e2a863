import { formatUnits } from "viem";
import type { Command } from "../command.ts";
import { earningsCsv } from "../lib/earningsCsv.ts";
import { formatToken } from "../lib/format.ts";
import { openOperatorChain, operatorChainOptions } from "../lib/operatorChain.ts";
import { UsageError } from "../usageError.ts";
import { createEarningsIndexer } from "../../node/operator/earningsIndexer.ts";
import { summarizeEarnings } from "../../node/operator/summarizeEarnings.ts";

/** Parses --from/--to: unix seconds, a date (UTC midnight) or an ISO date-time. */
function parseTime(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (/^\d+$/.test(s)) return Number(s);
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(ms)) throw new UsageError(`not a date, date-time or unix time: ${s}`, { flag });
  return Math.floor(ms / 1000);
}

const json = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);

const command: Command = {
  summary: "Export a provider's earnings from the chain: every redeemed ticket, reward claim and withdrawal, per day and in total",
  usage: "[--from DATE] [--to DATE] [--csv | --json] [--config node.yaml | --rpc URL --deployment FILE --key 0x.. | --provider 0x..]",
  options: {
    ...operatorChainOptions,
    provider: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    csv: { type: "boolean" },
    json: { type: "boolean" },
  },
  async run({ values, stdout }) {
    if (values.csv && values.json) throw new UsageError("give --csv or --json, not both", { flag: "csv" });
    const from = parseTime(values.from, "from");
    const to = parseTime(values.to, "to");
    const { deployment, clients, provider } = await openOperatorChain(values, process.env, { readOnly: true });
    const index = await createEarningsIndexer({ publicClient: clients.publicClient, deployment, provider }).sync();
    const s = summarizeEarnings(index.rows, { from, to });
    if (values.csv) {
      stdout.write(earningsCsv(s.rows));
      return 0;
    }
    if (values.json) {
      stdout.write(`${json({ provider, from: from ?? null, to: to ?? null, toBlock: index.toBlock, totals: s.totals, days: s.days, rows: s.rows })}\n`);
      return 0;
    }
    const t = s.totals;
    const lines = [
      `provider ${provider} (chain ${deployment.chainId}, blocks ${deployment.startBlock}-${index.toBlock})`,
      "",
      `${"day (UTC)".padEnd(11)} ${"tickets".padStart(7)}  ${"gross".padStart(24)}  ${"net".padStart(24)}  ${"reward".padStart(24)}  ${"gas".padStart(22)}`,
      ...s.days.map((d) => `${d.day.padEnd(11)} ${String(d.tickets).padStart(7)}  ${formatToken(d.gross).padStart(24)}  ${formatToken(d.net).padStart(24)}  ${formatToken(d.reward).padStart(24)}  ${formatUnits(d.gas, 18).padStart(22)}`),
      "",
      `tickets redeemed  ${t.tickets}`,
      `gross             ${formatToken(t.gross)}`,
      `burn              ${formatToken(t.burn)}`,
      `treasury          ${formatToken(t.treasury)}`,
      `net (received)    ${formatToken(t.net)}`,
      `rewards claimed   ${formatToken(t.reward)}`,
      `rewards withdrawn ${formatToken(t.withdrawn)}`,
      `gas (chain coin)  ${formatUnits(t.gas, 18)}`,
      "",
      `${s.rows.length} rows: --csv for the file an accountant asks for, --json for programs`,
      "",
    ];
    stdout.write(lines.join("\n"));
    return 0;
  },
};
export default command;
