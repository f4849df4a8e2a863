import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Server as HttpsServer } from "node:https";

/** Starts `server` on host:port (0 = any free port) and resolves with its base URL (https for a TLS server). */
export async function listen(server: Server | HttpsServer, host: string, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return `${server instanceof HttpsServer ? "https" : "http"}://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
}

/** Stops accepting connections and closes the open ones (keep-alive included), so nothing lingers. */
export async function closeServer(server: Server | HttpsServer): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
