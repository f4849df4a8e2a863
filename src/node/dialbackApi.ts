import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { isIP } from "node:net";

/** Path of the dial-back service every node answers (unless `reachability.serveDialback` is false). */
export const DIALBACK_PATH = "/reachability/dialback";

const MAX_BODY = 1024;
const MAX_OFFER = 64 * 1024;

/** The asker's address as this server sees it (IPv4-mapped IPv6 unwrapped). */
function observed(req: IncomingMessage): string | undefined {
  const a = req.socket.remoteAddress;
  return a?.startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/**
 * Connects to `address:port` (the asker's own address) and reads GET /offer: the recipient it
 * names, or why it failed. For https, `host` is the TLS server name and the Host header, and the
 * certificate is verified as a consumer would (an untrusted one is a failure consumers would see too).
 */
export async function dialOffer(p: { address: string; port: number; scheme: "http" | "https"; host: string; timeoutMs: number }): Promise<{ recipient?: string; error?: string }> {
  // node:https (and tls) only for an https dial-back: loaded on demand, ~3 MB a plain-http node keeps.
  const request = p.scheme === "https" ? (await import("node:https")).request : httpRequest;
  return new Promise((resolve) => {
    const name = isIP(p.host) === 0 ? p.host : undefined;
    const options = {
      host: p.address, port: p.port, path: "/offer", method: "GET", agent: false as const,
      headers: { host: `${name ?? (isIP(p.address) === 6 ? `[${p.address}]` : p.address)}:${p.port}`, accept: "application/json" },
      ...(p.scheme === "https" && name !== undefined ? { servername: name } : {}),
    };
    const req = request(options, (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_OFFER) req.destroy(new Error("offer too large"));
        else parts.push(c);
      });
      res.on("end", () => {
        try {
          const offer = JSON.parse(Buffer.concat(parts).toString("utf8")) as { recipient?: unknown };
          resolve(res.statusCode === 200 && typeof offer.recipient === "string" ? { recipient: offer.recipient } : { error: `GET /offer answered ${res.statusCode}` });
        } catch {
          resolve({ error: "GET /offer did not answer JSON" });
        }
      });
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.setTimeout(p.timeoutMs, () => req.destroy(new Error(`no answer within ${p.timeoutMs / 1000} s`)));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ? `${e.code}: ${e.message}` : e.message }));
    req.end();
  });
}

/**
 * The dial-back service: `POST /reachability/dialback {port, scheme, host}` makes this node
 * connect back to the *asker's own address* on that port and report what answered there. One
 * dial at a time per asking address and a few in total, so it cannot be used to flood anyone.
 */
export function createDialbackApi(options: { timeoutMs?: number; maxConcurrent?: number; dial?: typeof dialOffer } = {}) {
  const inFlight = new Set<string>();
  const dial = options.dial ?? dialOffer;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };
  return {
    /** Handles the request if it is a dial-back request; resolves false otherwise. */
    async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
      if (req.url !== DIALBACK_PATH) return false;
      if (req.method !== "POST") return (send(res, 405, { error: "use POST" }), true);
      const address = observed(req);
      if (address === undefined) return (send(res, 400, { error: "no peer address" }), true);
      const parts: Buffer[] = [];
      let size = 0;
      for await (const c of req as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > MAX_BODY) return (send(res, 413, { error: "body too large" }), true);
        parts.push(c);
      }
      let body: { port?: unknown; scheme?: unknown; host?: unknown };
      try {
        body = JSON.parse(Buffer.concat(parts).toString("utf8")) as typeof body;
      } catch {
        return (send(res, 400, { error: "body must be JSON" }), true);
      }
      // `null` is JSON too: reading its fields would throw, and the asker would see a reset connection.
      if (typeof body !== "object" || body === null) return (send(res, 400, { error: "body must be a JSON object" }), true);
      const port = body.port;
      const scheme = body.scheme ?? "http";
      const host = typeof body.host === "string" && body.host.length <= 253 ? body.host : address;
      if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535 || (scheme !== "http" && scheme !== "https")) {
        return (send(res, 400, { error: "port must be 1-65535 and scheme http or https" }), true);
      }
      if (inFlight.has(address) || inFlight.size >= (options.maxConcurrent ?? 4)) return (send(res, 429, { error: "busy: try again later" }), true);
      inFlight.add(address);
      try {
        const r = await dial({ address, port, scheme, host, timeoutMs: options.timeoutMs ?? 5_000 });
        send(res, 200, { observedAddress: address, reached: r.recipient !== undefined, ...r });
      } finally {
        inFlight.delete(address);
      }
      return true;
    },
  };
}
