import { bytesToHex, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

/** Hardhat's public test mnemonic: the embedded chain funds its first 20 accounts with ETH. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** A well-known local account. Never use these keys on a real network: they are public. */
export type DevAccount = { index: number; address: Address; privateKey: Hex };

/** The dev account at HD index `index` (m/44'/60'/0'/0/index) of the test mnemonic. */
export function devAccount(index: number): DevAccount {
  const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
  const key = account.getHdKey().privateKey;
  if (!key) throw new Error(`no private key for dev account ${index}`);
  return { index, address: account.address, privateKey: bytesToHex(key) };
}
