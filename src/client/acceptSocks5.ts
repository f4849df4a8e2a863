import type net from "node:net";
import ipaddr from "ipaddr.js";
import { BaseError } from "../protocol/errors.ts";

// The server side of a SOCKS5 handshake (RFC 1928) for the consumer's local proxy: CONNECT only,
// method 0x00 "no authentication" (the proxy listens on loopback). Bytes may arrive in any
// fragmentation, and a client may pipeline its request and first payload bytes behind the
// greeting without waiting for our answers ("optimistic data"); nothing it sent is lost.

/** Reply codes of RFC 1928 §6. */
export const SOCKS5_REPLY = {
  succeeded: 0,
  generalFailure: 1,
  notAllowed: 2,
  networkUnreachable: 3,
  hostUnreachable: 4,
  connectionRefused: 5,
  ttlExpired: 6,
  commandNotSupported: 7,
  addressTypeNotSupported: 8,
} as const;

/** One of the RFC 1928 reply codes. */
export type Socks5Reply = (typeof SOCKS5_REPLY)[keyof typeof SOCKS5_REPLY];

/**
 * A completed CONNECT request. `head` holds bytes the client sent after the request (forward them
 * first). `reply(0)` writes the success reply (bound address 0.0.0.0:0) and from then on the socket
 * is the raw tunnel; any other code writes that failure reply and closes the socket. Only the first
 * call counts.
 */
export type Socks5Request = { host: string; port: number; head: Buffer; reply(code: Socks5Reply): void };

/** Why a handshake failed. */
export type Socks5FailureReason =
  | "timeout"
  | "closed"
  | "bad-version"
  | "no-acceptable-method"
  | "command-not-supported"
  | "address-type-not-supported"
  | "bad-request";

/** A SOCKS5 handshake failed; the socket has been answered (`replied`, if anything was sent) and closed. */
export class Socks5Error extends BaseError {
  override name = "Socks5Error";
  reason: Socks5FailureReason;
  /** The reply code sent before closing (0xff = "no acceptable methods"), if any. */
  replied: number | undefined;
  constructor({ reason, message, replied }: { reason: Socks5FailureReason; message: string; replied?: number }) {
    super(message);
    this.reason = reason;
    this.replied = replied;
  }
}

/** How long a client may take to finish its greeting and request. */
const DEFAULT_TIMEOUT_MS = 10_000;
const VERSION = 5;
const NO_AUTHENTICATION = 0x00;
const NO_ACCEPTABLE_METHODS = 0xff;
const CONNECT = 1;
const COMMAND_NAMES: Record<number, string> = { 2: "BIND", 3: "UDP ASSOCIATE" };
const ATYP_IPV4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_IPV6 = 4;

const ignore = () => {};

/**
 * Runs the server side of a SOCKS5 handshake on `socket` and resolves with the CONNECT request,
 * leaving the socket paused so that no byte is lost before the caller forwards it. Rejects with
 * Socks5Error, after answering what RFC 1928 lets us answer and closing the socket, on: a
 * greeting without method 0x00 (0xFF), a version other than 5, a command other than CONNECT
 * (reply 7), an address type other than 1/3/4 (reply 8), a malformed request (reply 1), a client
 * that closes first, or one that does not finish within `timeoutMs` (default 10 s).
 *
 * A no-op 'error' listener stays on the socket, so a client reset while the caller is still
 * connecting upstream cannot crash the process; the caller sees it as 'close'.
 */
export function acceptSocks5(socket: net.Socket, options: { timeoutMs?: number } = {}): Promise<Socks5Request> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  socket.on("error", ignore);
  return new Promise<Socks5Request>((resolve, reject) => {
    let buffer: Buffer = Buffer.alloc(0);
    let greeted = false;
    let settled = false;

    const cleanup = () => {
      settled = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.pause();
    };
    const fail = (reason: Socks5FailureReason, message: string, replied?: number, reply?: Buffer) => {
      if (settled) return;
      cleanup();
      if (reply !== undefined && socket.writable) socket.end(reply, () => socket.destroy());
      else socket.destroy();
      reject(new Socks5Error({ reason, message, ...(replied === undefined ? {} : { replied }) }));
    };
    const failWithReply = (reason: Socks5FailureReason, message: string, code: Socks5Reply) =>
      fail(reason, message, code, replyBytes(code));

    const onEnd = () => fail("closed", "The SOCKS5 client closed the connection before finishing its handshake.");
    const timer = setTimeout(() => fail("timeout", `The SOCKS5 client did not finish its handshake within ${timeoutMs} ms.`), timeoutMs);

    const onData = (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      if (!greeted) {
        // Greeting: VER NMETHODS METHODS...
        if (buffer.length < 1) return;
        if (buffer[0] !== VERSION) return fail("bad-version", versionMessage(buffer[0]!));
        if (buffer.length < 2 || buffer.length < 2 + buffer[1]!) return;
        const methods = buffer.subarray(2, 2 + buffer[1]!);
        if (!methods.includes(NO_AUTHENTICATION)) {
          return fail(
            "no-acceptable-method",
            `The SOCKS5 client offers no acceptable authentication method (offered ${[...methods].map((m) => `0x${m.toString(16).padStart(2, "0")}`).join(", ") || "none"}; this proxy accepts only 0x00, no authentication).`,
            NO_ACCEPTABLE_METHODS,
            Buffer.from([VERSION, NO_ACCEPTABLE_METHODS]),
          );
        }
        buffer = buffer.subarray(2 + buffer[1]!);
        greeted = true;
        socket.write(Buffer.from([VERSION, NO_AUTHENTICATION]));
      }
      // Request: VER CMD RSV ATYP DST.ADDR DST.PORT
      if (buffer.length < 1) return;
      if (buffer[0] !== VERSION) return fail("bad-version", versionMessage(buffer[0]!));
      if (buffer.length < 2) return;
      const command = buffer[1]!;
      if (command !== CONNECT) {
        return failWithReply(
          "command-not-supported",
          `SOCKS5 command ${command}${COMMAND_NAMES[command] ? ` (${COMMAND_NAMES[command]})` : ""} is not supported; only CONNECT.`,
          SOCKS5_REPLY.commandNotSupported,
        );
      }
      if (buffer.length < 4) return;
      if (buffer[2] !== 0) return failWithReply("bad-request", `Malformed SOCKS5 request: reserved byte is ${buffer[2]}, not 0.`, SOCKS5_REPLY.generalFailure);
      const addressType = buffer[3]!;
      let addressLength: number;
      let addressStart = 4;
      if (addressType === ATYP_IPV4) addressLength = 4;
      else if (addressType === ATYP_IPV6) addressLength = 16;
      else if (addressType === ATYP_DOMAIN) {
        if (buffer.length < 5) return;
        addressLength = buffer[4]!;
        addressStart = 5;
        if (addressLength === 0) return failWithReply("bad-request", "Malformed SOCKS5 request: empty domain name.", SOCKS5_REPLY.generalFailure);
      } else {
        return failWithReply(
          "address-type-not-supported",
          `SOCKS5 address type ${addressType} is not supported (1 IPv4, 3 domain name, 4 IPv6).`,
          SOCKS5_REPLY.addressTypeNotSupported,
        );
      }
      const end = addressStart + addressLength + 2;
      if (buffer.length < end) return;
      const address = buffer.subarray(addressStart, addressStart + addressLength);
      const port = buffer.readUInt16BE(addressStart + addressLength);
      if (port === 0) return failWithReply("bad-request", "Malformed SOCKS5 request: port 0.", SOCKS5_REPLY.generalFailure);
      const host =
        addressType === ATYP_IPV4
          ? [...address].join(".")
          : addressType === ATYP_IPV6
            ? ipaddr.fromByteArray([...address]).toString()
            : // latin1 maps each byte to one character, so the name is exactly what was sent (validated later).
              address.toString("latin1");
      const head = Buffer.from(buffer.subarray(end));
      cleanup();
      let replied = false;
      resolve({
        host,
        port,
        head,
        reply(code) {
          if (replied || socket.destroyed || !socket.writable) return;
          replied = true;
          if (code === SOCKS5_REPLY.succeeded) socket.write(replyBytes(code));
          else socket.end(replyBytes(code), () => socket.destroy());
        },
      });
    };

    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
  });
}

/** VER REP RSV ATYP=1 BND.ADDR=0.0.0.0 BND.PORT=0: clients of a CONNECT tunnel ignore the bound address. */
function replyBytes(code: number): Buffer {
  return Buffer.from([VERSION, code, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0]);
}

function versionMessage(version: number): string {
  return version === 4
    ? "A SOCKS4 client connected; this proxy speaks SOCKS5 only (use socks5h:// in curl)."
    : `Not a SOCKS5 client: the first byte is ${version}, not 5.`;
}
