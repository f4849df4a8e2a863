import type { AddressInfo, Socket } from "node:net";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

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

/** Stops accepting connections and closes the open ones (keep-alive included), so nothing lingers. */
export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

const headerTimers = new WeakMap<Socket, NodeJS.Timeout>();

/**
 * Closes connections whose request headers take longer than `ms` to arrive (slowloris): from the
 * connection's start, and again from the end of each response on a kept-alive connection. Node's
 * own `headersTimeout` is checked by a timer that, in our measurements, did not fire reliably for
 * half-sent heads (CONNECT or GET) unless `requestTimeout` was small, which would also cut long
 * uploads; this guard owns the one rule we need.
 */
export function dropSlowHeaders(server: Server, ms: number): void {
  const clear = (socket: Socket) => {
    const t = headerTimers.get(socket);
    if (t !== undefined) clearTimeout(t);
    headerTimers.delete(socket);
  };
  const arm = (socket: Socket) => {
    clear(socket);
    if (socket.destroyed) return;
    headerTimers.set(socket, setTimeout(() => socket.destroy(), ms).unref());
  };
  server.on("connection", (socket: Socket) => {
    arm(socket);
    socket.once("close", () => clear(socket));
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    clear(req.socket);
    res.once("finish", () => {
      if (!req.socket.destroyed && res.shouldKeepAlive) arm(req.socket);
    });
  });
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => clear(socket as Socket));
}
