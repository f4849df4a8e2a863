import type { Hex } from "viem";
import * as z from "zod";
import { createChainClients } from "../chain/clients.ts";
import { readDeployment } from "../chain/deployment.ts";
import { unlockKeystore } from "../chain/keystore.ts";
import { BaseError } from "../protocol/errors.ts";
import { createClient, type Client, type CreateClientParameters } from "./createClient.ts";
import { parseTokenAmount } from "./tokenAmount.ts";

/** Where `bandmint start` writes its deployment: the default for every client command. */
export const DEFAULT_DEPLOYMENT_PATH = ".bandmint/local/deployment.json";

/** Where client commands keep state between runs. */
export const DEFAULT_CLIENT_DATA_DIR = ".bandmint/client";

/** A flag or environment variable of a client command is missing or malformed. */
export class ClientConfigError extends BaseError {
  override name = "ClientConfigError";
  flag: string;
  constructor(flag: string, reason: string) {
    super(`--${flag}: ${reason}`);
    this.flag = flag;
  }
}

/** The settings every client command shares, parsed once from flags and the environment. */
export type ClientConfig = {
  rpcUrl: string | undefined;
  deploymentPath: string;
  privateKey: Hex;
  maxPricePerGiB: bigint | undefined;
  /** Client state that outlives a run (bad providers). */
  dataDir: string;
};

const schema = z.object({
  rpc: z.url({ protocol: /^https?$/, error: "must be an http(s) JSON-RPC URL" }).optional(),
  deployment: z.string().min(1, "must be a path").default(DEFAULT_DEPLOYMENT_PATH),
  key: z.string({ error: "is required (or --keystore, or set BANDMINT_KEY)" }).regex(/^0x[0-9a-fA-F]{64}$/, "must be a 32-byte 0x hex private key"),
  "max-price": z.string().optional(),
  "data-dir": z.string().min(1, "must be a path").default(DEFAULT_CLIENT_DATA_DIR),
});

/** Flags every client command takes for its key: a plain key (local network) or an encrypted keystore. */
export const clientKeyOptions = {
  key: { type: "string" },
  keystore: { type: "string" },
  "passphrase-file": { type: "string" },
} as const;

/**
 * Parses the common client flags (`--rpc`, `--deployment`, `--max-price` in tokens per GiB,
 * `--data-dir`, and the key: `--keystore` with its passphrase from `--passphrase-file`,
 * BANDMINT_PASSPHRASE or `prompt`, else `--key` or env BANDMINT_KEY). Errors name the flag.
 */
export async function parseClientConfig(
  values: Record<string, unknown>,
  env: Record<string, string | undefined>,
  io: { prompt?: ((question: string) => Promise<string>) | undefined } = {},
): Promise<ClientConfig> {
  let key = values.key ?? env.BANDMINT_KEY;
  if (typeof values.keystore === "string") {
    if (values.key !== undefined) throw new ClientConfigError("keystore", "give either --key or --keystore, not both");
    const passphraseFile = typeof values["passphrase-file"] === "string" ? values["passphrase-file"] : undefined;
    try {
      key = await unlockKeystore(values.keystore, { passphraseFile, env, prompt: io.prompt });
    } catch (error) {
      throw new ClientConfigError("keystore", (error as BaseError).shortMessage ?? String(error));
    }
  }
  const input = { ...values, key };
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ClientConfigError(String(issue?.path[0] ?? "?"), issue?.message ?? "invalid");
  }
  const c = result.data;
  let maxPricePerGiB: bigint | undefined;
  try {
    maxPricePerGiB = c["max-price"] === undefined ? undefined : parseTokenAmount(c["max-price"]);
  } catch (error) {
    throw new ClientConfigError("max-price", (error as BaseError).shortMessage);
  }
  return { rpcUrl: c.rpc, deploymentPath: c.deployment, privateKey: c.key as Hex, maxPricePerGiB, dataDir: c["data-dir"] };
}

/** Reads the deployment, connects to the chain and creates the client a command works with. */
export async function openClient(config: ClientConfig, extra: Partial<CreateClientParameters> = {}): Promise<Client> {
  const deployment = await readDeployment(config.deploymentPath);
  const clients = await createChainClients({ rpcUrl: config.rpcUrl ?? deployment.rpcUrl, privateKey: config.privateKey, chainId: deployment.chainId });
  return createClient({ clients, deployment, privateKey: config.privateKey, maxPricePerGiB: config.maxPricePerGiB, dataDir: config.dataDir, ...extra });
}
