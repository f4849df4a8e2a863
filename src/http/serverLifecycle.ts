import type { AddressInfo } from "node:net";
import type { Server } from "node:http";

/** Starts `server` on host:port (0 = any free port) and resolves with its base URL. */
export async function listen(server: Server, host: string, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
}

/**
 * Stops accepting connections and closes the open ones (keep-alive included), so nothing lingers.
 * With `drainMs`, requests in flight first get that long to finish (idle connections close at
 * once, busy ones as their response ends); whatever is still open then is cut.
 */
export async function closeServer(server: Server, { drainMs = 0 }: { drainMs?: number } = {}): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (drainMs > 0) {
    // A keep-alive connection goes idle when its response ends: close those as they appear.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, drainMs).unref());
    await Promise.race([closed, deadline]);
    clearInterval(sweep);
  }
  server.closeAllConnections();
  await closed;
}
