import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { openClient, parseClientConfig, clientKeyOptions } from "../../client/clientConfig.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";

// Flags every client command takes.
const common = {
  rpc: { type: "string" },
  deployment: { type: "string" },
  ...clientKeyOptions,
} as const;

const command: Command = {
  summary: "Show your token balance and your TicketBroker deposit, reserve and unlock state",
  usage: "[--rpc URL] [--deployment FILE] [--keystore FILE | --key 0x.. | env BANDMINT_KEY]",
  options: { ...common },
  async run({ values, stdout }) {
    const client = await openClient(await parseClientConfig(values, process.env, { prompt: terminalPrompt() }));
    const b = await client.balance();
    const when = (t: bigint) => new Date(Number(t) * 1000).toISOString();
    stdout.write(
      [
        `account   ${b.address}`,
        `wallet    ${formatToken(b.tokenBalance)}`,
        `deposit   ${formatToken(b.deposit)}`,
        `reserve   ${formatToken(b.reserve)}`,
        `unlock    ${b.state === "locked" ? "none (funds pay tickets)" : b.state === "unlocking" ? `unlocking: withdrawable from ${when(b.withdrawTime)}` : `withdrawable since ${when(b.withdrawTime)}: run 'bandmint withdraw'`}`,
        "",
      ].join("\n"),
    );
    return 0;
  },
};
export default command;
