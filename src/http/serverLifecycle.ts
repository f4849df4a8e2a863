import type { AddressInfo, Socket } from "node:net";
import { maxHeaderSize as defaultMaxHeaderSize, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";

/**
 * The JSON errors answering what Node's HTTP parser refuses before a request reaches a handler,
 * by parser error code; any other parser error is `malformedRequest`. docs/protocol/payments.md
 * §4.2 lists them and is checked against this table.
 */
export const clientErrorStatus: Readonly<Record<string, { status: number; error: string; message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, error: "RequestHeadersTooLargeError", message: "Request head too large (request line and headers)." },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, error: "RequestBodyTooLargeError", message: "Request body too large: chunk extensions too long." },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, error: "RequestTimeoutError", message: "Request timeout: the request was not received in time." },
};
/** Every other parser error (bad request line, header syntax, body framing): 400. */
export const malformedRequest = { status: 400, error: "MalformedRequestError", message: "Malformed HTTP request." } as const;
/** A request whose `Expect` header is not `100-continue`: 417. */
export const expectationFailed = { status: 417, error: "ExpectationFailedError", message: 'Expectation failed: only "Expect: 100-continue" is supported.' } as const;

/** Status and JSON body answering parser error `error` on `server` (see `clientErrorStatus`). */
export function clientErrorResponse(error: Error & { code?: string }, server: Server): { status: number; body: { error: string; message: string; details: Record<string, string> } } {
  const code = error.code ?? "";
  const { status, error: name, message } = clientErrorStatus[code] ?? malformedRequest;
  // The limit a client must fit in (431) or the parser's code, which says what was malformed.
  // Node keeps the createServer({ maxHeaderSize }) option on the server, untyped; unset means its default.
  const limit = (server as Server & { maxHeaderSize?: number }).maxHeaderSize ?? defaultMaxHeaderSize;
  const details: Record<string, string> = status === 431 ? { limit: String(limit) } : { code };
  return { status, body: { error: name, message, details } };
}

function answerClientError(server: Server, error: Error & { code?: string }, socket: Duplex): void {
  // Node's own rule: answer only if no response of this connection has started, else cut it.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const { status, body } = clientErrorResponse(error, server);
  const json = JSON.stringify(body);
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
      `Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n${json}`,
  );
  socket.destroy();
}

function answerExpectation(req: IncomingMessage, res: ServerResponse): void {
  const json = JSON.stringify({ error: expectationFailed.error, message: expectationFailed.message });
  res.writeHead(expectationFailed.status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(json), "Cache-Control": "no-store", "Access-Control-Allow-Origin": "*", Connection: "close" });
  res.end(json);
  req.resume();
}

/**
 * Starts `server` on host:port (0 = any free port) and resolves with its base URL (https for a TLS
 * server). Errors Node
 * answers before a handler runs (431 oversized head, 400 unparsable request, 408 timeout, 417
 * unsupported Expect) get a JSON `{error, message, details?}` body like every other error, instead
 * of Node's empty one.
 */
export async function listen(server: Server | HttpsServer, host: string, port: number): Promise<string> {
  if (server.listenerCount("clientError") === 0) server.on("clientError", (error: Error, socket: Duplex) => answerClientError(server as Server, error, socket));
  if (server.listenerCount("checkExpectation") === 0) server.on("checkExpectation", answerExpectation);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return `${isTls(server) ? "https" : "http"}://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
}

/**
 * Stops accepting connections and closes the open ones (keep-alive included), so nothing lingers.
 * With `drainMs`, requests in flight first get that long to finish (idle connections close at
 * once, busy ones as their response ends); whatever is still open then is cut.
 */
export async function closeServer(server: Server | HttpsServer, { drainMs = 0 }: { drainMs?: number } = {}): Promise<void> {
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

const headerTimers = new WeakMap<Socket, NodeJS.Timeout>();

/**
 * Closes connections whose request headers take longer than `ms` to arrive (slowloris): from the
 * connection's start, and, on a kept-alive connection, `keepAliveTimeout + ms` after each response
 * (an idle keep-alive connection is Node's to close, at its keepAliveTimeout: closing it sooner
 * would race a client reusing it, which then fails with ECONNRESET). Node's
 * own `headersTimeout` is checked by a timer that, in our measurements, did not fire reliably for
 * half-sent heads (CONNECT or GET) unless `requestTimeout` was small, which would also cut long
 * uploads; this guard owns the one rule we need.
 */
export function dropSlowHeaders(server: Server | HttpsServer, ms: number): void {
  const clear = (socket: Socket) => {
    const t = headerTimers.get(socket);
    if (t !== undefined) clearTimeout(t);
    headerTimers.delete(socket);
  };
  const arm = (socket: Socket, after: number) => {
    clear(socket);
    if (socket.destroyed) return;
    headerTimers.set(socket, setTimeout(() => socket.destroy(), after).unref());
  };
  // A TLS server's requests arrive on the TLS socket, not on the TCP socket "connection" gives.
  server.on(isTls(server) ? "secureConnection" : "connection", (socket: Socket) => {
    arm(socket, ms);
    socket.once("close", () => clear(socket));
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    clear(req.socket);
    res.once("finish", () => {
      if (!req.socket.destroyed && res.shouldKeepAlive) arm(req.socket, server.keepAliveTimeout + ms);
    });
  });
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => clear(socket as Socket));
}

/** True for an https server. (Not `instanceof https.Server`: that would load node:https and tls into every process, ~3 MB.) */
function isTls(server: Server | HttpsServer): server is HttpsServer {
  return typeof (server as HttpsServer).setSecureContext === "function";
}
