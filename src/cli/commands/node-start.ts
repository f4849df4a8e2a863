import { createChainClients } from "../../chain/clients.ts";
import { readDeployment } from "../../chain/deployment.ts";
import { createHttpFetch } from "../../client/createHttpFetch.ts";
import { readOffers } from "../../market/readOffers.ts";
import { loadNodeConfig, type NodeConfigFlags } from "../../node/config.ts";
import { createProviderNode } from "../../node/providerNode.ts";
import { selectSecp256k1Backend } from "../../protocol/secp256k1.ts";
import type { Command } from "../command.ts";
import { terminalPrompt } from "../lib/promptSecret.ts";

/** Flags shared by the `node` commands; each overrides the config file's field of the same meaning. */
export const nodeConfigOptions = {
  config: { type: "string" },
  rpc: { type: "string" },
  deployment: { type: "string" },
  key: { type: "string" },
  "key-file": { type: "string" },
  keystore: { type: "string" },
  "passphrase-file": { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  endpoint: { type: "string" },
  "data-dir": { type: "string" },
  "cache-dir": { type: "string" },
  "max-cache-bytes": { type: "string" },
  origin: { type: "string", multiple: true },
  "price-per-gib": { type: "string" },
  "bytes-per-ticket": { type: "string" },
  "face-value": { type: "string" },
  "credit-window-bytes": { type: "string" },
  region: { type: "string" },
  services: { type: "string" },
  "relay-test-target": { type: "string", multiple: true },
  "admin-host": { type: "string" },
  "admin-port": { type: "string" },
} as const;

/** How long requests in flight may take to finish after SIGTERM, and the whole stop at most. */
const DRAIN_MS = 5_000;
const STOP_TIMEOUT_MS = 10_000;

const command: Command = {
  summary: "Run the provider node (CDN edge, payment sessions, ticket store, redeemer) until SIGINT/SIGTERM",
  usage: "[--config node.yaml] [flags]",
  options: nodeConfigOptions,
  async run({ values, signal, stdout, stderr }) {
    const config = await loadNodeConfig({ file: values.config as string | undefined, flags: values as NodeConfigFlags, env: process.env, prompt: terminalPrompt() });
    // The process's secp256k1 for every ticket check (signer threads get the same); "native"
    // refuses to start without the binding (NativeSecp256k1UnavailableError).
    selectSecp256k1Backend(config.secp256k1);
    const deployment = await readDeployment(config.deployment);
    // JSON-RPC and the reachability probes over node:http: the global fetch (undici) would compile
    // its WebAssembly HTTP parser into the node (about 10 MB of RSS that a small box does not have).
    const fetch = createHttpFetch({ maxSockets: 8 });
    const clients = await createChainClients({ rpcUrl: config.rpcUrl ?? deployment.rpcUrl, privateKey: config.privateKey, chainId: deployment.chainId, fetch });
    const node = createProviderNode(config, {
      fetch,
      publicClient: clients.publicClient,
      walletClient: clients.walletClient!,
      deployment,
      log: (line) => stdout.write(`${new Date().toISOString()} ${line}\n`),
      // Peers for the reachability dial-back: the other providers in the registry.
      peers: async (signal) =>
        (await readOffers({ publicClient: clients.publicClient as never, registry: deployment.contracts.registry, signal }))
          .filter((l) => l.provider.toLowerCase() !== clients.account!.address.toLowerCase())
          .map((l) => l.endpoint),
    });
    let url: string;
    try {
      url = await node.start({ signal });
    } catch (error) {
      // Stopped while it waited for the chain (nothing was opened yet): a clean stop.
      if (!signal.aborted) throw error;
      fetch.close();
      stdout.write("stopped before the chain answered\n");
      return 0;
    }
    stdout.write(`listening ${url}\n`);
    const admin = node.adminUrls();
    if (admin !== undefined) {
      // The token is never printed here (this output is often a log file): it is in the config or
      // in the data directory, and the page takes it from its URL fragment.
      const tokenNote = admin.tokenRequired ? `  (token required: open ${admin.admin}/#token=<token>, token in admin.token or in ${config.dataDir}/admin.token)` : "";
      stdout.write(`dashboard ${admin.admin}/${tokenNote}\nmetrics ${admin.metrics}\n`);
    }
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    stdout.write("stopping\n");
    // Service managers give a stopping process about 10 s before SIGKILL: requests in flight get
    // 5 s to finish, then tickets are committed and the store closed; past 10 s we give up.
    const watchdog = setTimeout(() => {
      stderr.write("bandmint node start: stopping took more than 10 s; exiting without a clean close\n");
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    watchdog.unref();
    await node.stop({ drainMs: DRAIN_MS });
    fetch.close();
    clearTimeout(watchdog);
    stdout.write("stopped\n");
    return 0;
  },
};
export default command;
