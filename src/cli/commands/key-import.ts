import { readFile } from "node:fs/promises";
import { privateKeyToAddress } from "viem/accounts";
import { encryptKeystore, SCRYPT_PARAMS, writeKeystoreFile } from "../../chain/keystore.ts";
import type { Command } from "../command.ts";
import { newPassphrase } from "../lib/newPassphrase.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";
import { UsageError } from "../usageError.ts";
import { writeKeystoreOptions } from "./key-new.ts";

const command: Command = {
  summary: "Encrypt an existing private key (hex) into a keystore file; prints its address",
  usage: "--out keystore.json [--key-file FILE | env BANDMINT_KEY | asked at the terminal] [--light] [--passphrase-file FILE]",
  options: { ...writeKeystoreOptions, "key-file": { type: "string" } },
  async run({ values, stdout }) {
    const out = values.out;
    if (typeof out !== "string") throw new UsageError("where to write the keystore", { flag: "out" });
    const prompt = terminalPrompt();
    let key: string | undefined;
    if (typeof values["key-file"] === "string") {
      try {
        key = (await readFile(values["key-file"], "utf8")).trim();
      } catch {
        throw new UsageError(`cannot read ${values["key-file"]}`, { flag: "key-file" });
      }
    } else key = process.env.BANDMINT_KEY ?? (prompt ? (await prompt("Private key (0x + 64 hex): ")).trim() : undefined);
    // The message never repeats the key: it may be a real one with a typo.
    if (key === undefined || !/^0x[0-9a-fA-F]{64}$/.test(key)) throw new UsageError("the key must be 0x followed by 64 hex digits (from --key-file, BANDMINT_KEY or the prompt)", { flag: "key-file" });
    const passphrase = await newPassphrase(out, { passphraseFile: values["passphrase-file"] as string | undefined, env: process.env, prompt });
    const strength = values.light === true ? "light" : "standard";
    await writeKeystoreFile(out, await encryptKeystore(key as `0x${string}`, passphrase, { strength }));
    stdout.write(`${privateKeyToAddress(key as `0x${string}`)}\n`);
    stdout.write(`wrote ${out} (scrypt n=${SCRYPT_PARAMS[strength].n}, mode 0600)\n`);
    return 0;
  },
};
export default command;
