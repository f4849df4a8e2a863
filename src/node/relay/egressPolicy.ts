import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { BaseError } from "../../protocol/errors.ts";
import { parseConnectTarget, parseRelayHost, type RelayHost } from "../../protocol/relayWire.ts";

// Where a relay may connect. A provider node sits inside someone's home, so a consumer must never
// reach the operator's own network through it: only global unicast addresses pass, whatever way
// they are written, and a name is resolved once, here, so the caller connects to the address that
// was checked (no DNS rebinding between check and connect).
//
// Address forms that embed an IPv4 address, decided as follows (the embedded IPv4 is always
// extracted and checked, and a forbidden one is named in the refusal):
// - IPv4-mapped `::ffff:a.b.c.d` IS that IPv4 address (a dual-stack socket connects to it over
//   IPv4): it is unwrapped and treated exactly as `a.b.c.d` (public passes, returned as family 4,
//   destination lists match the IPv4).
// - NAT64 well-known prefix `64:ff9b::/96` (RFC 6052): what DNS64 synthesises on IPv6-only
//   networks, so a public embedded IPv4 passes (returned as the IPv6 address; destination lists
//   match either form). The local-use prefix `64:ff9b:1::/48` (RFC 8215) leads into a translator
//   the local operator runs, with an operator-chosen layout: always refused.
// - IPv4-compatible `::a.b.c.d` (deprecated, RFC 4291), IPv4-translated `::ffff:0:a.b.c.d`
//   (SIIT-internal, RFC 6145), 6to4 `2002::/16` (deprecated, RFC 7526) and Teredo `2001::/32`:
//   tunnel and transition forms, never global unicast destinations of their own: always refused.

/** Resolves a host name to all its addresses, in the resolver's order (the default uses getaddrinfo). */
export type Resolver = (hostname: string, signal?: AbortSignal) => Promise<{ address: string; family: 4 | 6 }[]>;

/** The operator's egress rules (the forbidden address classes are not configurable). */
export type EgressPolicyConfig = {
  /** Ports never connected to (default [25]: no spam relaying). */
  denyPorts: number[];
  /** If set, only these ports. */
  allowPorts?: number[];
  /** CIDRs ("203.0.113.0/24", "2001:db8::/32"), single addresses, and names ("example.com", "*.example.com" = any subdomain). */
  denyDestinations: string[];
  /** If set, only these (same forms): a name must match a name rule, or every address it resolves to a CIDR. */
  allowDestinations?: string[];
  /** "host:port" pairs allowed even when the address is forbidden (tests, the local network); matched on the host as written. */
  testTargets: string[];
};

/** A checked destination: `address` is the IP to connect to (never resolve `host` again). */
export type EgressTarget = { host: string; port: number; address: string; family: 4 | 6 };

/** Why a destination was refused (a node counts refusals by this). */
export type EgressRefusalReason = "forbidden-address" | "port-denied" | "destination-denied" | "unresolvable" | "bad-host";

/** Every refusal reason, for counters and status tables. */
export const EGRESS_REFUSAL_REASONS: readonly EgressRefusalReason[] = Object.freeze([
  "forbidden-address",
  "port-denied",
  "destination-denied",
  "unresolvable",
  "bad-host",
]);

/** The default: port 25 denied, no destination lists, no test targets (so 127.0.0.1 and localhost are refused). */
export const defaultEgressPolicyConfig: EgressPolicyConfig = Object.freeze({ denyPorts: [25], denyDestinations: [], testTargets: [] });

/** The relay refused to connect to a destination; `reason` says why, the message says it to the consumer. */
export class EgressRefusedError extends BaseError {
  override name = "EgressRefusedError";
  static override readonly stackless = true;
  reason: EgressRefusalReason;
  host: string;
  port: number;
  /** The forbidden (or listed) address, when an address was the cause. */
  address: string | undefined;
  /** The class that forbade it ("loopback", "private", "cloudMetadata", ...), for forbidden-address. */
  addressClass: string | undefined;
  /** The IPv4 address embedded in an IPv6 form, when that is what was forbidden. */
  embeddedAddress: string | undefined;
  constructor(p: {
    reason: EgressRefusalReason;
    host: string;
    port: number;
    why: string;
    address?: string;
    addressClass?: string;
    embeddedAddress?: string;
    cause?: unknown;
  }) {
    super(`Refused to relay to ${describeDestination(p.host, p.port)}: ${p.why}.`, { cause: p.cause });
    this.reason = p.reason;
    this.host = p.host;
    this.port = p.port;
    this.address = p.address;
    this.addressClass = p.addressClass;
    this.embeddedAddress = p.embeddedAddress;
  }
}

/** An egress policy setting is malformed; `field` names it (e.g. "denyDestinations[2]"). */
export class EgressPolicyConfigError extends BaseError {
  override name = "EgressPolicyConfigError";
  field: string;
  value: unknown;
  constructor({ field, value, reason, cause }: { field: string; value: unknown; reason: string; cause?: unknown }) {
    super(`Invalid relay egress setting ${field} = ${JSON.stringify(value)}: ${reason}.`, { cause });
    this.field = field;
    this.value = value;
  }
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Refuse = (
  reason: EgressRefusalReason,
  why: string,
  extra?: { address?: string; addressClass?: string; embeddedAddress?: string; cause?: unknown },
) => EgressRefusedError;
type Cidr = [Address, number];
type NameRule = { name: string; wildcard: boolean; text: string };
type Rules = { cidrs: { range: Cidr; text: string }[]; names: NameRule[] };

/** Forbidden is the class and a phrase saying what it is; passing is the address to connect to and those to match lists with. */
type Classified =
  | { forbidden: { addressClass: string; what: string; embedded?: ipaddr.IPv4 } }
  | { forbidden?: undefined; connect: Address; listed: Address[] };

/** The default resolver: getaddrinfo through node:dns, every answer, in the system's order. */
const defaultResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, order: "verbatim" })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/**
 * Creates the egress policy of a relay. `check(host, port)` returns the address to connect to, or
 * throws EgressRefusedError. Order: host syntax, ports, names (localhost, cloud metadata names,
 * the name deny/allow lists), one resolution, every answer's class (any forbidden answer refuses
 * the name), the CIDR lists. A test target (exact `host:port` as written) skips only the address
 * class checks; the port and destination lists still apply. Throws EgressPolicyConfigError for a
 * malformed setting.
 */
export function createEgressPolicy(p: { config: EgressPolicyConfig; resolve?: Resolver }): {
  check(host: string, port: number, signal?: AbortSignal): Promise<EgressTarget>;
} {
  const { config } = p;
  const resolve = p.resolve ?? defaultResolver;
  const denyPorts = new Set(config.denyPorts.map((port, i) => checkedPort(port, `denyPorts[${i}]`)));
  const allowPorts = config.allowPorts && new Set(config.allowPorts.map((port, i) => checkedPort(port, `allowPorts[${i}]`)));
  const deny = parseRules(config.denyDestinations, "denyDestinations");
  const allow = config.allowDestinations && parseRules(config.allowDestinations, "allowDestinations");
  const testTargets = new Set(config.testTargets.map((entry, i) => testTargetKey(entry, `testTargets[${i}]`)));

  return {
    async check(host, port, signal) {
      signal?.throwIfAborted();
      const refuse: Refuse = (reason, why, extra = {}) => new EgressRefusedError({ reason, host: String(host), port, why, ...extra });

      const parsed = parseHost(host);
      if (parsed === undefined) throw refuse("bad-host", "it is not a valid host name or IP address");
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw refuse("port-denied", `${port} is not a TCP port (1..65535)`);
      if (denyPorts.has(port)) throw refuse("port-denied", `port ${port} is denied by this node's egress policy`);
      if (allowPorts && !allowPorts.has(port)) {
        throw refuse("port-denied", `port ${port} is not among the ports this node relays to (${[...allowPorts].join(", ")})`);
      }
      const isTestTarget = testTargets.has(`${parsed.host}:${port}`);

      let addresses: Address[];
      let name: string | undefined;
      let nameAllowed = false;
      if (parsed.kind === "name") {
        name = parsed.host.endsWith(".") ? parsed.host.slice(0, -1) : parsed.host;
        if (!isTestTarget) {
          const special = specialName(name);
          if (special) throw refuse("forbidden-address", `${name} is ${CLASS_TEXT[special]}, which a relay never connects to`, { addressClass: special });
        }
        const denied = deny.names.find((rule) => nameMatches(name!, rule));
        if (denied) throw refuse("destination-denied", `${name} matches the denied destination "${denied.text}"`);
        nameAllowed = allow !== undefined && allow.names.some((rule) => nameMatches(name!, rule));
        addresses = await resolveOnce(parsed.host, resolve, signal, refuse);
      } else {
        addresses = [parseAddress(parsed)];
      }

      const passed: { connect: Address; listed: Address[] }[] = [];
      for (const address of addresses) {
        const c = classify(address);
        if (c.forbidden === undefined) {
          passed.push(c);
        } else if (isTestTarget) {
          passed.push({ connect: unwrapMapped(address), listed: [unwrapMapped(address)] });
        } else {
          const text = address.toString();
          const subject = name === undefined ? text : `${name} resolves to ${text}${addresses.length > 1 ? " (one of its addresses)" : ""}, which`;
          throw refuse("forbidden-address", `${subject} is ${c.forbidden.what}; a relay never connects to ${c.forbidden.addressClass === "cloudMetadata" ? "it" : "such addresses"}`, {
            address: text,
            addressClass: c.forbidden.addressClass,
            ...(c.forbidden.embedded ? { embeddedAddress: c.forbidden.embedded.toString() } : {}),
          });
        }
      }

      for (const { listed } of passed) {
        for (const address of listed) {
          const rule = deny.cidrs.find((r) => inCidr(address, r.range));
          if (rule) throw refuse("destination-denied", `${address} is in the denied destination ${rule.text}`, { address: address.toString() });
        }
      }
      if (allow !== undefined && !nameAllowed) {
        const outside = passed.find(({ listed }) => !listed.some((a) => allow.cidrs.some((r) => inCidr(a, r.range))));
        if (outside) {
          throw refuse("destination-denied", `${name ?? outside.connect.toString()} is not among the destinations this node relays to`, {
            address: outside.connect.toString(),
          });
        }
      }

      const chosen = passed[0]!.connect;
      return { host: String(host), port, address: chosen.toString(), family: chosen.kind() === "ipv4" ? 4 : 6 };
    },
  };
}

/**
 * The address class of an IP literal the way the egress policy sees it (ipaddr.js's range names,
 * `cloudMetadata`, the embedded-IPv4 forms; undefined for global unicast, the only class a relay
 * connects to); "name" for a DNS name, "invalid" for neither. One classifier for every caller that
 * asks "is this address reachable from the internet" (the relay, the reachability check).
 */
export function addressClassOf(host: string): string | undefined | "name" | "invalid" {
  const parsed = parseHost(host);
  if (parsed === undefined) return "invalid";
  if (parsed.kind === "name") return specialName(parsed.host) ?? "name";
  const c = classify(parseAddress(parsed));
  return c.forbidden?.addressClass;
}

/** The host as `parseRelayHost` reads it, brackets allowed around an IPv6 literal; undefined when it is neither a name nor an address. */
function parseHost(host: unknown): RelayHost | undefined {
  if (typeof host !== "string") return undefined;
  const bracketed = host.startsWith("[") && host.endsWith("]");
  try {
    const parsed = parseRelayHost(bracketed ? host.slice(1, -1) : host, "host");
    return bracketed && parsed.kind !== "ipv6" ? undefined : parsed;
  } catch {
    return undefined;
  }
}

/** An IP literal (syntax already checked by parseRelayHost) as an ipaddr.js address. */
function parseAddress(host: RelayHost): Address {
  if (host.kind === "ipv4") return ipaddr.IPv4.parse(host.host);
  // ipaddr.js reads "::a.b.c.d" as "::ffff:a.b.c.d"; inet_pton (and RFC 4291) read it as the
  // IPv4-compatible ::a.b.c.d, so build that from its bytes.
  // Only a dotted quad: "::80" and "::080" are hex groups (::0.0.0.128), not IPv4 numbers.
  const compatible = /^::(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(host.host);
  if (compatible) return ipaddr.fromByteArray([...new Array<number>(12).fill(0), ...ipaddr.IPv4.parse(compatible[1]!).octets]);
  return ipaddr.IPv6.parse(host.host);
}

/** One resolution through the injected resolver; every answer must be an IP literal. */
async function resolveOnce(
  hostname: string,
  resolve: Resolver,
  signal: AbortSignal | undefined,
  refuse: Refuse,
): Promise<Address[]> {
  let answers: { address: string }[];
  try {
    answers = await abortable(resolve(hostname, signal), signal);
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    throw refuse("unresolvable", `${hostname} did not resolve`, { cause });
  }
  if (!Array.isArray(answers) || answers.length === 0) throw refuse("unresolvable", `${hostname} has no addresses`);
  return answers.map((answer) => {
    const parsed = parseHost(answer?.address);
    if (parsed === undefined || parsed.kind === "name") {
      throw refuse("unresolvable", `the resolver answered ${hostname} with ${JSON.stringify(answer?.address)}, which is not an IP address`);
    }
    return parseAddress(parsed);
  });
}

/** Races a promise with the signal, so a resolver that ignores the signal still cannot hold a check. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
    );
  });
}

// --- classification -----------------------------------------------------------------------

/** Human phrases for each class (ipaddr.js range names plus ours); unknown names print as "a <name> address". */
const CLASS_TEXT: Record<string, string> = {
  unspecified: "an unspecified address",
  broadcast: "the broadcast address",
  multicast: "a multicast address",
  linkLocal: "a link-local address",
  loopback: "a loopback address",
  carrierGradeNat: "a carrier-grade NAT address (100.64.0.0/10)",
  private: "a private address (RFC 1918)",
  reserved: "a reserved or documentation address",
  benchmarking: "a benchmarking address",
  as112: "an AS112 (DNS sink) address",
  as112v6: "an AS112 (DNS sink) address",
  amt: "an AMT relay address",
  uniqueLocal: "a unique local address (fc00::/7)",
  deprecatedSiteLocal: "a site-local address (deprecated)",
  discard: "a discard-only address (100::/64)",
  deprecatedOrchid: "an ORCHID address",
  orchid2: "an ORCHIDv2 address",
  droneRemoteIdProtocolEntityTags: "a drone remote ID tag",
  segmentRouting: "a segment routing SID",
  rfc6052: "a NAT64 address",
  "6to4": "a 6to4 address (deprecated transition form)",
  teredo: "a Teredo address (transition form)",
  ipv4Compatible: "an IPv4-compatible address (deprecated transition form)",
  ipv4Translated: "an IPv4-translated address (RFC 6145)",
  nat64LocalUse: "a local-use NAT64 address (64:ff9b:1::/48), a translator on the local network",
  notGlobalUnicast: "outside the global unicast space (2000::/3)",
  cloudMetadata: "a cloud metadata service",
};

// Cloud instance metadata endpoints (AWS IMDS and its IPv6 form, ECS, AWS DNS and time, GCP's IPv6
// server, Alibaba, Oracle, Tencent). All lie in forbidden ranges anyway; naming them says why.
const METADATA_ADDRESSES = new Set(
  [
    "169.254.169.254", "169.254.170.2", "169.254.169.253", "169.254.169.123", "169.254.0.23",
    "100.100.100.200", "192.0.0.192", "fd00:ec2::254", "fd00:ec2::253", "fd00:ec2::123", "fd20:ce::254",
  ].map((a) => ipaddr.parse(a).toString()),
);
const METADATA_NAMES = new Set([
  "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal", "metadata.tencentyun.com",
]);

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");
const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96");

/** Names forbidden before any resolution: localhost (RFC 6761) and cloud metadata names. */
function specialName(name: string): string | undefined {
  if (name === "localhost" || name.endsWith(".localhost")) return "loopback";
  if (METADATA_NAMES.has(name)) return "cloudMetadata";
  return undefined;
}

/** Only global unicast passes; see the module comment for the IPv4-embedding forms. */
function classify(address: Address): Classified {
  if (address.kind() === "ipv4") return classifyIPv4(address as ipaddr.IPv4);
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) {
    const v4 = v6.toIPv4Address();
    const c = classifyIPv4(v4);
    if (c.forbidden) return { forbidden: { ...c.forbidden, what: `the IPv4-mapped form of ${v4}, ${c.forbidden.what}`, embedded: v4 } };
    return c;
  }
  if (METADATA_ADDRESSES.has(v6.toString())) return { forbidden: { addressClass: "cloudMetadata", what: CLASS_TEXT.cloudMetadata! } };
  const range = v6.range();
  const embedding = embeddedIPv4(v6, range);
  if (embedding) {
    const { form, addressClass, embedded } = embedding;
    for (const v4 of embedded) {
      const c = classifyIPv4(v4);
      if (c.forbidden) return { forbidden: { ...c.forbidden, what: `the ${form} form of ${v4}, ${c.forbidden.what}`, embedded: v4 } };
    }
    if (addressClass !== undefined) return { forbidden: { addressClass, what: CLASS_TEXT[addressClass]! } };
    return { connect: v6, listed: [v6, ...embedded] };
  }
  if (range !== "unicast") return { forbidden: { addressClass: range, what: classText(range) } };
  if (!v6.match(GLOBAL_UNICAST_V6)) return { forbidden: { addressClass: "notGlobalUnicast", what: CLASS_TEXT.notGlobalUnicast! } };
  return { connect: v6, listed: [v6] };
}

/** IPv4 classes: cloud metadata first (a clearer message), then every range ipaddr.js names. */
function classifyIPv4(v4: ipaddr.IPv4): Classified {
  if (METADATA_ADDRESSES.has(v4.toString())) return { forbidden: { addressClass: "cloudMetadata", what: CLASS_TEXT.cloudMetadata! } };
  const range = v4.range();
  if (range !== "unicast") return { forbidden: { addressClass: range, what: classText(range) } };
  return { connect: v4, listed: [v4] };
}

/**
 * The IPv4 addresses an IPv6 form embeds, the form's name, and the class that refuses the form
 * even when they are public (undefined: a public embedded address passes, i.e. NAT64 /96).
 */
function embeddedIPv4(v6: ipaddr.IPv6, range: string): { form: string; addressClass?: string; embedded: ipaddr.IPv4[] } | undefined {
  const p = v6.parts;
  const v4 = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  switch (range) {
    case "rfc6145":
      return { form: "IPv4-translated", addressClass: "ipv4Translated", embedded: [v4(p[6]!, p[7]!)] };
    case "rfc6052":
      return v6.match(NAT64_WELL_KNOWN)
        ? { form: "NAT64", embedded: [v4(p[6]!, p[7]!)] }
        : { form: "local-use NAT64", addressClass: "nat64LocalUse", embedded: [v4(p[6]!, p[7]!)] };
    case "6to4": // 2002:AABB:CCDD::/48
      return { form: "6to4", addressClass: "6to4", embedded: [v4(p[1]!, p[2]!)] };
    case "teredo": // 2001:0:server(32):flags:port:client(32, bits inverted)
      return { form: "Teredo", addressClass: "teredo", embedded: [v4(p[2]!, p[3]!), v4(~p[6]! & 0xffff, ~p[7]! & 0xffff)] };
    case "unicast":
      return v6.match(IPV4_COMPATIBLE) ? { form: "IPv4-compatible", addressClass: "ipv4Compatible", embedded: [v4(p[6]!, p[7]!)] } : undefined;
    default:
      return undefined;
  }
}

function classText(addressClass: string): string {
  return CLASS_TEXT[addressClass] ?? `a ${addressClass} address`;
}

/** A test target may be written in IPv4-mapped form; connect to the IPv4 it means. */
function unwrapMapped(address: Address): Address {
  return address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

// --- configuration -------------------------------------------------------------------------

function checkedPort(port: unknown, field: string): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new EgressPolicyConfigError({ field, value: port, reason: "must be a TCP port 1..65535" });
  }
  return port;
}

/** Destination rules: CIDRs and addresses (IPv4 in four-part decimal), names, "*.name" wildcards. */
function parseRules(entries: readonly string[], field: string): Rules {
  const rules: Rules = { cidrs: [], names: [] };
  entries.forEach((entry, i) => {
    const f = `${field}[${i}]`;
    if (typeof entry !== "string") throw new EgressPolicyConfigError({ field: f, value: entry, reason: "must be a string" });
    if (ipaddr.IPv4.isValidCIDRFourPartDecimal(entry) || ipaddr.IPv6.isValidCIDR(entry)) {
      rules.cidrs.push({ range: ipaddr.parseCIDR(entry), text: entry });
      return;
    }
    if (ipaddr.IPv4.isValidFourPartDecimal(entry) || ipaddr.IPv6.isValid(entry)) {
      const address = ipaddr.parse(entry);
      rules.cidrs.push({ range: [address, address.kind() === "ipv4" ? 32 : 128], text: entry });
      return;
    }
    const wildcard = entry.startsWith("*.");
    let host: RelayHost;
    try {
      host = parseRelayHost(wildcard ? entry.slice(2) : entry, f);
    } catch (cause) {
      throw new EgressPolicyConfigError({ field: f, value: entry, reason: 'must be a CIDR, an IP address, a host name or "*." + a host name', cause });
    }
    if (host.kind !== "name") {
      throw new EgressPolicyConfigError({ field: f, value: entry, reason: "write IPv4 addresses in four-part decimal (a.b.c.d or a.b.c.d/n)" });
    }
    rules.names.push({ name: host.host.endsWith(".") ? host.host.slice(0, -1) : host.host, wildcard, text: entry });
  });
  return rules;
}

function testTargetKey(entry: string, field: string): string {
  try {
    const { host, port } = parseConnectTarget(entry);
    return `${host}:${port}`;
  } catch (cause) {
    throw new EgressPolicyConfigError({ field, value: entry, reason: 'must be "host:port" ("[v6]:port" for IPv6)', cause });
  }
}

function nameMatches(name: string, rule: NameRule): boolean {
  return rule.wildcard ? name.endsWith(`.${rule.name}`) : name === rule.name;
}

function inCidr(address: Address, [network, bits]: Cidr): boolean {
  return address.kind() === network.kind() && address.match(network, bits);
}

function describeDestination(host: string, port: number): string {
  const shown = host.length > 80 ? `${host.slice(0, 80)}...` : host;
  const printable = JSON.stringify(shown).slice(1, -1);
  return printable.includes(":") && !printable.startsWith("[") ? `[${printable}]:${port}` : `${printable}:${port}`;
}
