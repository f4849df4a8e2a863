// A load generator's HTTP/1.1 client: requests are bytes built once (head and body) and written
// as is on kept-alive sockets; the answer is read only as far as its status and a short body. It
// costs the generator a write and a small parse per request where fetch (undici) re-encodes the
// body, builds headers and streams every answer: the generator's CPU is then the attack's, not
// the client library's (bench/attack.ts shares two cores with the node under test).
import { connect, type Socket } from "node:net";

/** What the server answered: its status and its body (latin1; JSON error bodies are ASCII). */
export type RawAnswer = { status: number; body: string };

/** Keep-alive connections to one server, each carrying one request at a time. */
export type RawHttp = {
  /** Sends `request` (a whole request, head and body) and resolves with the answer; rejects with the socket's error if it closes first. */
  send(request: Buffer): Promise<RawAnswer>;
  /** Closes every connection. */
  close(): void;
};

/** A request's bytes: `method path` with `headers`, and `body` (with its Content-Length) if any. */
export function rawRequestBytes(method: string, path: string, host: string, headers: Record<string, string> = {}, body?: Buffer): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return body === undefined ? head : Buffer.concat([head, body]);
}

const HEAD_END = Buffer.from("\r\n\r\n");

/** A pool of kept-alive connections to `url` (http://host:port). */
export function rawHttp(url: string): RawHttp {
  const { hostname, port } = new URL(url);
  const idle: Socket[] = [];
  const all = new Set<Socket>();
  let closed = false;

  const send = (request: Buffer): Promise<RawAnswer> =>
    new Promise((resolve, reject) => {
      const socket = idle.pop() ?? open();
      let got: Buffer = Buffer.alloc(0);
      let headEnd = -1;
      let status = 0;
      let length = 0;
      let keep = true;
      const done = (error?: Error) => {
        socket.off("data", onData);
        socket.off("close", onClose);
        socket.off("error", onError);
        if (error !== undefined) return reject(error);
        resolve({ status, body: got.subarray(headEnd + 4, headEnd + 4 + length).toString("latin1") });
        if (keep && !closed && !socket.destroyed) idle.push(socket);
        else socket.destroy();
      };
      const onData = (chunk: Buffer) => {
        got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
        if (headEnd < 0) {
          headEnd = got.indexOf(HEAD_END);
          if (headEnd < 0) return;
          const head = got.subarray(0, headEnd).toString("latin1");
          status = Number(head.slice(9, 12));
          length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          keep = !/\r\nconnection: *close/i.test(head);
        }
        if (got.length >= headEnd + 4 + length) done();
      };
      // An answer the server gave before it hung up still counts (a 413 can close before the body is sent).
      const onClose = () => (headEnd >= 0 && got.length >= headEnd + 4 + length ? done() : done(Object.assign(new Error("socket closed before the answer"), { code: "ECLOSED" })));
      const onError = (error: Error) => {
        if (headEnd >= 0 && got.length >= headEnd + 4 + length) return done();
        socket.destroy();
        done(error);
      };
      socket.on("data", onData);
      socket.on("close", onClose);
      socket.on("error", onError);
      socket.write(request);
    });

  function open(): Socket {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setNoDelay(true);
    all.add(socket);
    // A kept-alive socket the server closes while idle leaves the pool.
    socket.once("close", () => {
      all.delete(socket);
      const i = idle.indexOf(socket);
      if (i >= 0) idle.splice(i, 1);
    });
    socket.on("error", () => {});
    return socket;
  }

  return {
    send,
    close() {
      closed = true;
      for (const s of all) s.destroy();
      all.clear();
      idle.length = 0;
    },
  };
}
