// A TCP proxy on 127.0.0.1 that the soak puts between the provider nodes and the chain's JSON-RPC
// endpoint, so that the chain can "go away" (every connection refused, open ones reset) and come
// back on the same address, without touching the chain itself.
import { connect, createServer, type Server, type Socket } from "node:net";

/** A running proxy: its URL, and `cut` / `restore` for the outage. */
export type CuttableProxy = {
  url: string;
  /** Whether connections pass now. */
  readonly up: boolean;
  /** Stops listening and resets every open connection: the endpoint is gone. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  stop(): Promise<void>;
};

/** Starts a proxy to `target` ("http://127.0.0.1:PORT") on a free port of 127.0.0.1. */
export async function startCuttableProxy(target: string): Promise<CuttableProxy> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    const s = createServer((client) => {
      const upstream = connect(Number(to.port), to.hostname);
      for (const x of [client, upstream]) {
        sockets.add(x);
        x.once("close", () => sockets.delete(x));
        x.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    port = (s.address() as { port: number }).port;
    server = s;
  };
  const close = async () => {
    const s = server;
    server = undefined;
    for (const x of sockets) x.resetAndDestroy();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    get up() {
      return server !== undefined;
    },
    cut: close,
    async restore() {
      if (server === undefined) await listen();
    },
    stop: close,
  };
}
