import ipaddr from "ipaddr.js";
import type { Hex } from "viem";
import { BaseError } from "./errors.ts";
import { parseSessionToken, WireFormatError } from "./wire.ts";

// The relay's wire protocol (CONNECT tunnels and absolute-form plain HTTP through a provider
// node): strict parsers for the request target and the Proxy-Authorization header, shared by the
// node and the client. Like wire.ts, every refusal is a typed error naming the field; nothing here
// resolves, connects or classifies addresses (src/node/relay/egressPolicy.ts decides where a relay
// may connect).

/** Realm of the `Proxy-Authenticate: Basic realm="bandmint"` challenge sent with a 407. */
export const PROXY_AUTH_REALM = "bandmint";

/** Longest authority (`host:port`) accepted: a 253-character name plus `:65535`, with margin. */
const MAX_AUTHORITY_LENGTH = 300;
/** Longest absolute-form URL accepted (Node's default header limit is 16 KiB for the whole head). */
const MAX_URL_LENGTH = 16_384;
/** Longest Proxy-Authorization value accepted: a token in Basic form needs about 100 characters. */
const MAX_AUTHORIZATION_LENGTH = 1024;

const PORT = /^[1-9][0-9]{0,4}$/;
// Case-insensitive on the input itself: lower-casing first would turn some non-ASCII letters
// (the Kelvin sign) into ASCII ones and accept a host nobody wrote.
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
// A last label that looks numeric (decimal or 0x-hex) makes libc and WHATWG URL treat the whole
// host as an IPv4 literal; if it is not a valid one the host is neither an address nor a name.
const NUMERIC_LABEL = /^(0x[0-9a-f]*|[0-9]+)$/i;
const IPV6_CHARS = /^[0-9a-f:.]+$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// RFC 9110 request-target characters we forward: visible ASCII, never a fragment.
const PATH_CHARS = /^[\x21-\x22\x24-\x7e]*$/;

/** How a relay host was written: a DNS name (lower case), an IPv4 literal in any numeric form libc accepts, or an IPv6 literal. */
export type RelayHost = { kind: "name" | "ipv4" | "ipv6"; host: string };

/** The relay request has no `Proxy-Authorization`: answer 407 with a `Basic realm="bandmint"` challenge. */
export class ProxyAuthRequiredError extends BaseError {
  override name = "ProxyAuthRequiredError";
  static override readonly stackless = true;
  realm: string;
  constructor() {
    super("Proxy authentication required: the relay needs a paid session's token.", {
      metaMessages: [
        "Send Proxy-Authorization: Basic base64(<any user>:<sessionToken>) (curl -x http://user:<sessionToken>@node:port)",
        "or Proxy-Authorization: Bearer <sessionToken>; the token comes from POST /sessions.",
      ],
    });
    this.realm = PROXY_AUTH_REALM;
  }
}

/**
 * Classifies a bare host (no brackets, no port) by syntax: an IPv6 literal (no zone id; an embedded
 * IPv4 part in four-part decimal), an IPv4 literal in any numeric form libc's `inet_aton` accepts
 * (`1.2.3.4`, `127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`; returned as given, because the
 * egress policy, not the parser, decides what it means), or a DNS name of LDH labels (<= 253
 * characters, an optional trailing dot, a last label that does not look numeric; returned lower
 * case). No form may exceed 253 characters (254 with a trailing dot). Anything else throws WireFormatError naming `field`.
 */
export function parseRelayHost(value: string, field = "target"): RelayHost {
  if (value.length > 254) throw new WireFormatError({ field, reason: "has a host longer than 253 characters (254 with a trailing dot)" });
  if (value.includes(":")) {
    if (!isIPv6Literal(value)) throw new WireFormatError({ field, reason: `has an invalid IPv6 address "${printable(value)}"` });
    return { kind: "ipv6", host: value.toLowerCase() };
  }
  if (ipaddr.IPv4.isValid(value)) return { kind: "ipv4", host: value };
  const bare = value.endsWith(".") ? value.slice(0, -1) : value;
  const labels = bare.split(".");
  if (NUMERIC_LABEL.test(labels.at(-1) ?? "")) {
    throw new WireFormatError({ field, reason: `"${printable(value)}" is neither a valid IPv4 address nor a host name` });
  }
  if (bare.length === 0 || bare.length > 253 || !labels.every((l) => LABEL.test(l))) {
    throw new WireFormatError({
      field,
      reason: `"${printable(value)}" is not a valid host name (letters, digits and hyphens in dot-separated labels of 1..63, at most 253 characters)`,
    });
  }
  return { kind: "name", host: value.toLowerCase() };
}

/**
 * Parses a `CONNECT` request target (RFC 9110 authority-form): `example.com:443`,
 * `[2001:db8::1]:443`, `1.2.3.4:80`. The port is decimal 1..65535 without sign or leading zero and
 * is required; the host follows `parseRelayHost` (IPv6 only in brackets, returned without them).
 * Anything else throws WireFormatError naming the field "target".
 */
export function parseConnectTarget(authority: string): { host: string; port: number } {
  if (typeof authority !== "string" || authority.length === 0 || authority.length > MAX_AUTHORITY_LENGTH) {
    throw new WireFormatError({ field: "target", reason: `must be host:port of at most ${MAX_AUTHORITY_LENGTH} characters` });
  }
  return parseAuthority(authority, undefined);
}

/**
 * Parses an absolute-form request target for plain-HTTP forwarding (RFC 9112 §3.2.2):
 * `http://host[:port][/path][?query]`. Only `http:` (an `https:` URL is fetched with CONNECT); the
 * port defaults to 80; no user info (credentials go in Proxy-Authorization, and `good@evil`
 * confuses readers) and no fragment. Returns the host (as `parseRelayHost`), the port, and the
 * origin-form path to send upstream (`/` when the URL has none). Throws WireFormatError ("target").
 */
export function parseAbsoluteProxyUrl(url: string): { host: string; port: number; path: string } {
  if (typeof url !== "string" || url.length > MAX_URL_LENGTH) {
    throw new WireFormatError({ field: "target", reason: `must be an absolute http:// URL of at most ${MAX_URL_LENGTH} characters` });
  }
  if (url.slice(0, 7).toLowerCase() !== "http://") {
    throw new WireFormatError({ field: "target", reason: "must be an absolute http:// URL (use CONNECT for https)" });
  }
  const rest = url.slice(7);
  const end = rest.search(/[/?]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const tail = end === -1 ? "" : rest.slice(end);
  if (authority.includes("@")) {
    throw new WireFormatError({ field: "target", reason: "must not carry user info; send credentials in Proxy-Authorization" });
  }
  if (!PATH_CHARS.test(tail)) {
    throw new WireFormatError({ field: "target", reason: "has a path with a fragment, spaces or non-ASCII characters" });
  }
  const { host, port } = parseAuthority(authority, 80);
  const path = tail.startsWith("/") ? tail : `/${tail}`;
  return { host, port, path };
}

/**
 * Reads the session token from a `Proxy-Authorization` value: `Basic base64(<any user>:<token>)`
 * (what `curl -x http://user:TOKEN@node` and browsers send) or `Bearer <token>`; the token is
 * `0x` + 64 hex, returned lower case. A missing or empty header throws ProxyAuthRequiredError (the
 * node answers 407); a malformed one throws WireFormatError naming "proxy-authorization".
 */
export function parseProxyAuthorization(value: string | undefined): Hex {
  const field = "proxy-authorization";
  if (value === undefined || (typeof value === "string" && value.trim() === "")) throw new ProxyAuthRequiredError();
  if (typeof value !== "string" || value.length > MAX_AUTHORIZATION_LENGTH) {
    throw new WireFormatError({ field, reason: `must be at most ${MAX_AUTHORIZATION_LENGTH} characters` });
  }
  const match = /^[ \t]*([A-Za-z]+) +([^ \t]+)[ \t]*$/.exec(value);
  const scheme = match?.[1]?.toLowerCase();
  const credentials = match?.[2] ?? "";
  if (scheme === "bearer") return parseSessionToken(credentials, field);
  if (scheme !== "basic") {
    throw new WireFormatError({ field, reason: "must be Basic base64(<user>:<sessionToken>) or Bearer <sessionToken>" });
  }
  // Strict base64: canonical padding, so one token has one encoding.
  const decoded = Buffer.from(credentials, "base64");
  if (credentials.length % 4 !== 0 || !BASE64.test(credentials) || decoded.toString("base64") !== credentials) {
    throw new WireFormatError({ field, reason: "has Basic credentials that are not canonical base64" });
  }
  const text = decoded.toString("latin1");
  const colon = text.indexOf(":");
  if (colon === -1) {
    throw new WireFormatError({ field, reason: "has Basic credentials without a colon; send <any user>:<sessionToken>" });
  }
  if (colon === text.length - 1) {
    throw new WireFormatError({ field, reason: "has Basic credentials with an empty password; the session token is the password (<any user>:<sessionToken>)" });
  }
  return parseSessionToken(text.slice(colon + 1), field);
}

/** `host:port` (port required unless `defaultPort` is given) with the host per `parseRelayHost`. */
function parseAuthority(authority: string, defaultPort: number | undefined): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close === -1) throw new WireFormatError({ field: "target", reason: "has an IPv6 address without its closing bracket" });
    host = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw new WireFormatError({ field: "target", reason: "has characters after the IPv6 address that are not :port" });
    portText = after === "" ? undefined : after.slice(1);
    if (!host.includes(":")) throw new WireFormatError({ field: "target", reason: "has brackets around something that is not an IPv6 address" });
  } else {
    const colon = authority.lastIndexOf(":");
    host = colon === -1 ? authority : authority.slice(0, colon);
    portText = colon === -1 ? undefined : authority.slice(colon + 1);
    if (host.includes(":")) throw new WireFormatError({ field: "target", reason: "has an IPv6 address that is not in brackets" });
  }
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) throw new WireFormatError({ field: "target", reason: "must be host:port (the port is required)" });
    port = defaultPort;
  } else {
    port = PORT.test(portText) ? Number(portText) : 0;
    if (port < 1 || port > 65535) {
      throw new WireFormatError({ field: "target", reason: `has an invalid port "${printable(portText)}" (decimal 1..65535, no sign or leading zero)` });
    }
  }
  return { host: parseRelayHost(host, "target").host, port };
}

/** IPv6 literal as inet_pton reads it: hex groups, at most one `::`, an optional dotted-quad tail; no zone id. */
function isIPv6Literal(value: string): boolean {
  if (value.length > 45 || !IPV6_CHARS.test(value) || !ipaddr.IPv6.isValid(value)) return false;
  if (!value.includes(".")) return true;
  // ipaddr.js reads the dotted tail with parseInt (so 010 or 0x1 would pass); inet_pton wants four decimal octets.
  return ipaddr.IPv4.isValidFourPartDecimal(value.slice(value.lastIndexOf(":") + 1));
}

/** A bounded, printable rendering of untrusted input for an error message. */
function printable(value: string): string {
  const shown = value.length > 64 ? `${value.slice(0, 64)}...` : value;
  return JSON.stringify(shown).slice(1, -1);
}
