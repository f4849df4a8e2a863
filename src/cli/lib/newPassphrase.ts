import { keystorePassphrase, type PassphraseSource } from "../../chain/keystore.ts";
import { UsageError } from "../usageError.ts";

/**
 * The passphrase for a keystore about to be written: from the passphrase file or BANDMINT_PASSPHRASE,
 * or asked twice at the terminal (a typo would lock the key away). Refuses an empty one.
 */
export async function newPassphrase(path: string, source: PassphraseSource): Promise<string> {
  let passphrase: string;
  if (source.passphraseFile === undefined && source.env?.BANDMINT_PASSPHRASE === undefined && source.prompt !== undefined) {
    passphrase = await source.prompt(`New passphrase for ${path}: `);
    if ((await source.prompt("Repeat the passphrase: ")) !== passphrase) throw new UsageError("the two passphrases differ; nothing was written");
  } else {
    passphrase = await keystorePassphrase(path, source);
  }
  if (passphrase.length === 0) throw new UsageError("an empty passphrase protects nothing; choose one (or use a passphrase file)");
  return passphrase;
}
