import { BlockList, isIP } from "node:net";

/** What kind of address a host is, as far as consumers on the internet are concerned. */
export type AddressKind = "unspecified" | "loopback" | "private" | "cgnat" | "link-local" | "public" | "name";

// Ranges from RFC 1918 (private), RFC 6598 (carrier-grade NAT), RFC 3927/4291 (link-local),
// RFC 4193 (unique local IPv6), checked with node's own BlockList rather than by hand.
const ranges: [AddressKind, BlockList][] = (
  [
    ["loopback", [["127.0.0.0", 8, "ipv4"], ["::1", 128, "ipv6"]]],
    ["private", [["10.0.0.0", 8, "ipv4"], ["172.16.0.0", 12, "ipv4"], ["192.168.0.0", 16, "ipv4"], ["fc00::", 7, "ipv6"]]],
    ["cgnat", [["100.64.0.0", 10, "ipv4"]]],
    ["link-local", [["169.254.0.0", 16, "ipv4"], ["fe80::", 10, "ipv6"]]],
    ["unspecified", [["0.0.0.0", 32, "ipv4"], ["::", 128, "ipv6"]]],
  ] as [AddressKind, [string, number, "ipv4" | "ipv6"][]][]
).map(([kind, subnets]) => {
  const list = new BlockList();
  for (const [net, prefix, type] of subnets) list.addSubnet(net, prefix, type);
  return [kind, list];
});

/** Classifies a host (an IP literal, bracketed IPv6 allowed, or a DNS name). */
export function addressKind(host: string): AddressKind {
  const h = host.replace(/^\[|\]$/g, "");
  const family = isIP(h);
  if (family === 0) return h === "localhost" ? "loopback" : "name";
  const type = family === 4 ? "ipv4" : "ipv6";
  for (const [kind, list] of ranges) if (list.check(h, type)) return kind;
  return "public";
}
