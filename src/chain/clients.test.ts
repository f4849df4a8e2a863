import assert from "node:assert/strict";
import { test } from "node:test";
import { parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { BaseError } from "../protocol/errors.ts";
import { keyAccount } from "./clients.ts";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;

test("keyAccount has viem's address and signs exactly as privateKeyToAccount does", async () => {
  const viem = privateKeyToAccount(KEY);
  const ours = keyAccount(KEY);
  assert.equal(ours.address, viem.address);
  assert.equal(ours.type, "local");
  assert.equal(await ours.signMessage({ message: "bandmint" }), await viem.signMessage({ message: "bandmint" }));
  const tx = { chainId: 31337, nonce: 7, to: viem.address, value: parseEther("1"), gas: 21000n, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n } as const;
  assert.equal(await ours.signTransaction(tx), await viem.signTransaction(tx));
  const typed = { domain: { name: "x", chainId: 1 }, types: { M: [{ name: "a", type: "uint256" }] }, primaryType: "M", message: { a: 1n } } as const;
  assert.equal(await ours.signTypedData(typed), await viem.signTypedData(typed));
});

test("keyAccount refuses a key that is not a secp256k1 private key", () => {
  assert.throws(() => keyAccount(`0x${"00".repeat(32)}`), BaseError);
  assert.throws(() => keyAccount("0x1234"), BaseError);
});
