import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { EIP1193Provider } from "viem";
import { packageRoot } from "./packageRoot.ts";

/** A chain running in this process (Hardhat's EDR), served over JSON-RPC on loopback. */
export type EmbeddedChain = {
  /** `http://127.0.0.1:<port>`: what other processes (nodes, clients, wallets) connect to. */
  rpcUrl: string;
  chainId: number;
  /** The in-process provider, for callers in this process that want to skip HTTP. */
  provider: EIP1193Provider;
  /** Builds contracts if their sources changed (Hardhat's incremental build). */
  build(): Promise<void>;
  stop(): Promise<void>;
};

export type StartEmbeddedChainParameters = {
  host?: string | undefined;
  /** 0 picks a free port. */
  port?: number | undefined;
};

type JsonRpcServer = { listen(): Promise<{ port: number }>; close(): Promise<void> };

/**
 * Starts Hardhat's EDR in this process and serves it with Hardhat's own JSON-RPC server (the one
 * behind `hardhat node`), so that tests, `npm start` and separate processes share one chain.
 */
export async function startEmbeddedChain(p: StartEmbeddedChainParameters = {}): Promise<EmbeddedChain> {
  const { createHardhatRuntimeEnvironment, importUserConfig } = await import("hardhat/hre");
  const configPath = join(packageRoot, "hardhat.config.ts");
  const userConfig = await importUserConfig(configPath);
  const hre = await createHardhatRuntimeEnvironment(userConfig, { config: configPath }, packageRoot);
  const connection = await hre.network.connect();
  const provider = connection.provider as unknown as EIP1193Provider;

  // The server class is not in hardhat's public exports; hardhat is pinned exactly, so the path
  // is stable. It gives us the same JSON-RPC error encoding (revert data) that `hardhat node` has.
  const require = createRequire(import.meta.url);
  const hardhatRoot = dirname(require.resolve("hardhat/package.json"));
  const serverModule = pathToFileURL(join(hardhatRoot, "dist/src/internal/builtin-plugins/node/json-rpc/server.js")).href;
  const { JsonRpcServerImplementation } = (await import(serverModule)) as {
    JsonRpcServerImplementation: new (config: { hostname: string; port: number; provider: unknown }) => JsonRpcServer;
  };
  const host = p.host ?? "127.0.0.1";
  const server = new JsonRpcServerImplementation({ hostname: host, port: p.port ?? 0, provider: connection.provider });
  const { port } = await server.listen();
  const chainId = Number(await provider.request({ method: "eth_chainId" }));
  return {
    rpcUrl: `http://${host}:${port}`,
    chainId,
    provider,
    async build() {
      await hre.tasks.getTask("build").run({ quiet: true });
    },
    async stop() {
      await server.close();
      await connection.close();
    },
  };
}
