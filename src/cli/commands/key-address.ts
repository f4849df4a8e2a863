import { getAddress } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { decryptKeystore, keystoreAddress, keystorePassphrase, readKeystore } from "../../chain/keystore.ts";
import type { Command } from "../command.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";
import { UsageError } from "../usageError.ts";

const command: Command = {
  summary: "Print a keystore's address; --check also unlocks it (proves the passphrase)",
  usage: "<keystore.json> [--check] [--passphrase-file FILE | env BANDMINT_PASSPHRASE]",
  options: { check: { type: "boolean" }, "passphrase-file": { type: "string" } },
  async run({ values, positionals, stdout }) {
    const path = positionals[0];
    if (path === undefined || positionals.length !== 1) throw new UsageError("give one keystore file");
    const keystore = await readKeystore(path);
    const stated = keystoreAddress(keystore);
    if (values.check !== true && stated !== undefined) {
      stdout.write(`${getAddress(stated)}\n`);
      return 0;
    }
    // No stated address (some writers omit it), or asked to check: decrypt.
    const passphrase = await keystorePassphrase(path, { passphraseFile: values["passphrase-file"] as string | undefined, env: process.env, prompt: terminalPrompt() });
    const address = privateKeyToAddress(await decryptKeystore(keystore, passphrase, path));
    stdout.write(`${address}${values.check === true ? " (passphrase ok)" : ""}\n`);
    return 0;
  },
};
export default command;
