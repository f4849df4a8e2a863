import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { openClient, parseClientConfig, clientKeyOptions } from "../../client/clientConfig.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";

const when = (t: bigint) => new Date(Number(t) * 1000).toISOString();

const command: Command = {
  summary: "Withdraw your TicketBroker funds: starts the unlock, then (run again after the unlock period) withdraws",
  usage: "[--cancel] [--rpc URL] [--deployment FILE] [--keystore FILE | --key 0x..]",
  options: {
    cancel: { type: "boolean" },
    rpc: { type: "string" },
    deployment: { type: "string" },
    ...clientKeyOptions,
  },
  async run({ values, stdout }) {
    const client = await openClient(await parseClientConfig({ rpc: values.rpc, deployment: values.deployment, key: values.key, keystore: values.keystore, "passphrase-file": values["passphrase-file"] }, process.env, { prompt: terminalPrompt() }));
    const r = await client.withdraw({ cancel: values.cancel === true });
    switch (r.action) {
      case "nothing":
        stdout.write(values.cancel ? "no unlock is pending\n" : "nothing to withdraw: deposit and reserve are 0\n");
        break;
      case "cancelled":
        stdout.write(`unlock cancelled (${r.hash}); your deposit pays tickets again\n`);
        break;
      case "unlocked":
        stdout.write(`unlock started (${r.hash}); run 'bandmint withdraw' again from ${when(r.withdrawTime)}\n`);
        break;
      case "waiting":
        stdout.write(`unlocking: withdrawable from ${when(r.withdrawTime)} (in ${r.withdrawTime - r.chainTime} s of chain time)\n`);
        break;
      case "withdrawn":
        stdout.write(`withdrew ${formatToken(r.amount)} (${r.hash})\n`);
        break;
    }
    return 0;
  },
};
export default command;
