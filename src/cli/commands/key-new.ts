import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { encryptKeystore, SCRYPT_PARAMS, writeKeystoreFile } from "../../chain/keystore.ts";
import type { Command } from "../command.ts";
import { newPassphrase } from "../lib/newPassphrase.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";
import { UsageError } from "../usageError.ts";

/** Flags of the commands that write a keystore. */
export const writeKeystoreOptions = {
  out: { type: "string", short: "o" },
  light: { type: "boolean" },
  "passphrase-file": { type: "string" },
} as const;

const command: Command = {
  summary: "Create a new account key in an encrypted keystore file (Web3 Secret Storage v3, scrypt); prints its address",
  usage: "--out keystore.json [--light] [--passphrase-file FILE | env BANDMINT_PASSPHRASE | asked at the terminal]",
  options: writeKeystoreOptions,
  async run({ values, stdout }) {
    const out = values.out;
    if (typeof out !== "string") throw new UsageError("where to write the keystore", { flag: "out" });
    const passphrase = await newPassphrase(out, { passphraseFile: values["passphrase-file"] as string | undefined, env: process.env, prompt: terminalPrompt() });
    const key = generatePrivateKey();
    const strength = values.light === true ? "light" : "standard";
    await writeKeystoreFile(out, await encryptKeystore(key, passphrase, { strength }));
    stdout.write(`${privateKeyToAddress(key)}\n`);
    stdout.write(`wrote ${out} (scrypt n=${SCRYPT_PARAMS[strength].n}, mode 0600). Keep a copy and the passphrase: neither can be recovered.\n`);
    return 0;
  },
};
export default command;
