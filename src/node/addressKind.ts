import { addressClassOf } from "./relay/egressPolicy.ts";

/** What kind of address a host is, as far as consumers on the internet are concerned. */
export type AddressKind = "unspecified" | "loopback" | "private" | "cgnat" | "link-local" | "public" | "name";

// The egress policy's classifier (ipaddr.js) decides; this only names the classes an operator
// needs to tell apart when the node asks whether consumers can reach it.
const KINDS: Record<string, AddressKind> = {
  unspecified: "unspecified",
  loopback: "loopback",
  private: "private",
  uniqueLocal: "private",
  carrierGradeNat: "cgnat",
  linkLocal: "link-local",
};

/** Classifies a host (an IP literal, bracketed IPv6 allowed, or a DNS name). */
export function addressKind(host: string): AddressKind {
  const c = addressClassOf(host);
  if (c === undefined) return "public";
  if (c === "name" || c === "invalid") return "name";
  // Only the local classes matter here (IPv4-mapped forms count as their IPv4 address); any
  // other range is not known to be local, and the dial-back decides whether it is reachable.
  return KINDS[c] ?? "public";
}
