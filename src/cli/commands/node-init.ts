import { access, mkdir, writeFile } from "node:fs/promises";
import { totalmem } from "node:os";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { createChainClients } from "../../chain/clients.ts";
import { readDeployment } from "../../chain/deployment.ts";
import { encryptKeystore, keystoreAddress, readKeystore, SCRYPT_PARAMS, writeKeystoreFile } from "../../chain/keystore.ts";
import { readOffers } from "../../market/readOffers.ts";
import { parseConfigAmount } from "../../node/config.ts";
import { renderNodeConfig } from "../../node/renderNodeConfig.ts";
import type { Command } from "../command.ts";
import { formatToken } from "../lib/format.ts";
import { newPassphrase } from "../lib/newPassphrase.ts";
import { promptLine, terminalPrompt } from "../lib/promptSecret.ts";
import { parsePort, UsageError } from "../usageError.ts";

const DEFAULT_PRICE = "1 BAND";

/** The median price per GiB of the active listings, or undefined when none is listed or the chain is unreachable. */
async function marketMedian(deploymentPath: string, rpcUrl: string | undefined): Promise<bigint | undefined> {
  try {
    const deployment = await readDeployment(deploymentPath);
    const { publicClient } = await createChainClients({ rpcUrl: rpcUrl ?? deployment.rpcUrl, chainId: deployment.chainId });
    const prices = (await readOffers({ publicClient: publicClient as never, registry: deployment.contracts.registry, signal: AbortSignal.timeout(10_000) }))
      .map((l) => l.pricePerGiB)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return prices.length === 0 ? undefined : prices[(prices.length - 1) >> 1];
  } catch {
    return undefined;
  }
}

const exists = (path: string) => access(path).then(() => true, () => false);

const command: Command = {
  summary: "Set up a provider node: writes a commented config and an encrypted keystore (asks, or takes flags)",
  usage: "[--config node.yaml] [--deployment FILE] [--price-per-gib '0.5 BAND'] [--port 7070] [--host 0.0.0.0] [--endpoint URL] [--origin URL]... [--port-mapping upnp|natpmp] [--keystore FILE] [--passphrase-file FILE] [--light] [--yes]",
  options: {
    config: { type: "string" },
    deployment: { type: "string" },
    rpc: { type: "string" },
    "price-per-gib": { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    endpoint: { type: "string" },
    origin: { type: "string", multiple: true },
    region: { type: "string" },
    "capacity-mbps": { type: "string" },
    "max-cache": { type: "string" },
    "data-dir": { type: "string" },
    "port-mapping": { type: "string" },
    keystore: { type: "string" },
    "passphrase-file": { type: "string" },
    light: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    force: { type: "boolean" },
  },
  async run({ values, stdout }) {
    const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
    // Questions only for what the flags leave open, and only when someone is at the terminal.
    const interactive = values.yes !== true && process.stdin.isTTY === true;
    const ask = async (question: string, fallback: string) => (interactive ? promptLine(question, fallback) : fallback);

    const configPath = resolve(str("config") ?? "node.yaml");
    if ((await exists(configPath)) && values.force !== true) throw new UsageError(`${configPath} exists; pass --force to replace it`, { flag: "config" });
    const base = dirname(configPath);
    const rel = (p: string) => {
      const r = relative(base, resolve(p));
      return r.startsWith("..") || isAbsolute(r) ? resolve(p) : r;
    };

    const deploymentPath = resolve(str("deployment") ?? (await ask("Deployment file (from 'bandmint deploy', or .bandmint/local/deployment.json):", ".bandmint/local/deployment.json")));
    await readDeployment(deploymentPath); // fails early, naming the file, if it is not one
    let price = str("price-per-gib");
    if (price === undefined) {
      const median = await marketMedian(deploymentPath, str("rpc"));
      const suggestion = median === undefined ? DEFAULT_PRICE : formatToken(median);
      if (median !== undefined) stdout.write(`market: the median listing asks ${suggestion} per GiB\n`);
      price = await ask("Your price per GiB:", suggestion);
    }
    try {
      parseConfigAmount(price);
    } catch (error) {
      throw new UsageError((error as Error).message, { flag: "price-per-gib" });
    }
    const port = parsePort(str("port") ?? (await ask("Port consumers connect to:", "7070")));
    const host = str("host") ?? "0.0.0.0";
    const endpoint = str("endpoint") ?? ((await ask("Public URL consumers use (empty: decide later):", "")) || undefined);
    const origins = (values.origin as string[] | undefined) ?? (await ask("Publisher origin URLs, comma-separated (empty: none yet):", "")).split(",").map((s) => s.trim()).filter(Boolean);
    const mapping = str("port-mapping") ?? (await ask("Ask the router to forward the port (upnp, natpmp or none):", "none"));
    if (!["upnp", "natpmp", "none"].includes(mapping)) throw new UsageError("must be upnp, natpmp or none", { flag: "port-mapping" });
    const capacity = Number(str("capacity-mbps") ?? "100");
    if (!Number.isSafeInteger(capacity) || capacity <= 0) throw new UsageError("must be a positive whole number", { flag: "capacity-mbps" });

    // The key: an existing keystore, or a new one beside the config.
    let keystorePath = str("keystore");
    let address: string | undefined;
    const passphraseFile = str("passphrase-file");
    if (keystorePath !== undefined && (await exists(keystorePath))) {
      address = keystoreAddress(await readKeystore(keystorePath));
    } else {
      keystorePath = resolve(keystorePath ?? resolve(base, "keystore.json"));
      // A box with less than 1 GiB of memory cannot afford standard scrypt's 256 MiB at every start.
      const strength = values.light === true || totalmem() < 1 << 30 ? "light" : "standard";
      const passphrase = await newPassphrase(keystorePath, { passphraseFile, env: process.env, prompt: interactive ? terminalPrompt() : undefined });
      const key = generatePrivateKey();
      await mkdir(dirname(keystorePath), { recursive: true });
      await writeKeystoreFile(keystorePath, await encryptKeystore(key, passphrase, { strength }));
      address = privateKeyToAddress(key);
      stdout.write(`wrote ${keystorePath} (new key ${address}, scrypt n=${SCRYPT_PARAMS[strength].n}, mode 0600)\n`);
    }

    const yaml = renderNodeConfig({
      writtenBy: `written by 'bandmint node init' on ${new Date().toISOString().slice(0, 10)}`,
      deployment: rel(deploymentPath),
      rpcUrl: str("rpc"),
      keystore: rel(keystorePath),
      passphraseFile: passphraseFile === undefined ? undefined : resolve(passphraseFile),
      host,
      port,
      endpoint,
      dataDir: rel(str("data-dir") ?? resolve(base, "data")),
      origins,
      pricePerGiB: price,
      region: str("region") ?? "",
      capacityMbps: capacity,
      maxCacheBytes: str("max-cache") ?? "2 GiB",
      portMapping: mapping === "none" ? undefined : (mapping as "upnp" | "natpmp"),
    });
    await mkdir(base, { recursive: true });
    // No secrets in it (paths only), and the service user must read it.
    await writeFile(configPath, yaml, { mode: 0o644 });
    stdout.write(`wrote ${configPath}\n\nnext:\n`);
    stdout.write(`  1. fund ${address ?? "the provider address"} with the stake (tokens) and a little gas\n`);
    stdout.write(`  2. bandmint node register --config ${configPath}\n`);
    stdout.write(`  3. bandmint node start --config ${configPath}   (or install the service: README, "Running a node at home")\n`);
    if (endpoint === undefined) stdout.write(`  set 'endpoint' in the config to your public URL before registering\n`);
    return 0;
  },
};
export default command;
