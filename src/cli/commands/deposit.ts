import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { ClientConfigError, openClient, parseClientConfig, clientKeyOptions } from "../../client/clientConfig.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";
import { parseTokenAmount } from "../../client/tokenAmount.ts";
import type { BaseError } from "../../protocol/errors.ts";

const command: Command = {
  summary: "Fund the TicketBroker: a deposit that pays tickets and an optional reserve that backs them",
  usage: "<amount> [--reserve <amount>] [--no-permit] [--rpc URL] [--deployment FILE] [--keystore FILE | --key 0x..]   (amounts in tokens, e.g. 12.5)",
  options: {
    reserve: { type: "string" },
    "no-permit": { type: "boolean" },
    rpc: { type: "string" },
    deployment: { type: "string" },
    ...clientKeyOptions,
  },
  async run({ values, positionals, stdout }) {
    const config = await parseClientConfig({ rpc: values.rpc, deployment: values.deployment, key: values.key, keystore: values.keystore, "passphrase-file": values["passphrase-file"] }, process.env, { prompt: terminalPrompt() });
    if (positionals.length !== 1) throw new ClientConfigError("amount", "give exactly one amount, e.g. 'bandmint deposit 100'");
    const amount = (flag: string, text: string) => {
      try {
        return parseTokenAmount(text);
      } catch (error) {
        throw new ClientConfigError(flag, (error as BaseError).shortMessage);
      }
    };
    const deposit = amount("amount", positionals[0]!);
    const reserve = typeof values.reserve === "string" ? amount("reserve", values.reserve) : 0n;
    const client = await openClient(config);
    const { hashes } = await client.deposit({ deposit, reserve, permit: values["no-permit"] !== true });
    const b = await client.balance();
    stdout.write(`funded ${formatToken(deposit)} deposit + ${formatToken(reserve)} reserve (${hashes.join(", ")})\n`);
    stdout.write(`now: deposit ${formatToken(b.deposit)}, reserve ${formatToken(b.reserve)}, wallet ${formatToken(b.tokenBalance)}\n`);
    return 0;
  },
};
export default command;
