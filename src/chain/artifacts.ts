import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Abi, Hex } from "viem";
import { ArtifactNotFoundError } from "./errors.ts";
import { packageRoot } from "./packageRoot.ts";

/** A compiled contract: what deployment needs from Hardhat's artifact. */
export type ContractArtifact = { contractName: string; abi: Abi; bytecode: Hex };

/** Reads `artifacts/contracts/<name>.sol/<name>.json` produced by `hardhat build`. */
export async function loadArtifact(contractName: string, root: string = packageRoot): Promise<ContractArtifact> {
  const path = join(root, "artifacts", "contracts", `${contractName}.sol`, `${contractName}.json`);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new ArtifactNotFoundError(contractName, path);
  }
  const json = JSON.parse(text) as { abi: Abi; bytecode: Hex };
  return { contractName, abi: json.abi, bytecode: json.bytecode };
}
