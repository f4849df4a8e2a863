import { test } from "node:test";
import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import {
  createEgressPolicy,
  defaultEgressPolicyConfig,
  EGRESS_REFUSAL_REASONS,
  EgressPolicyConfigError,
  EgressRefusedError,
  type EgressPolicyConfig,
  type EgressRefusalReason,
  type Resolver,
} from "./egressPolicy.ts";

/** A resolver from a fixed table that records every question; unknown names fail like getaddrinfo. */
function tableResolver(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const answers = table[hostname];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return answers.map((address) => ({ address, family: (address.includes(":") ? 6 : 4) as 4 | 6 }));
  };
  return Object.assign(resolve, { calls });
}

const noDns: Resolver = async (hostname) => {
  throw new Error(`the resolver must not be asked (asked for ${hostname})`);
};

const seenReasons = new Set<EgressRefusalReason>();

async function refused(
  policy: ReturnType<typeof createEgressPolicy>,
  host: string,
  port: number,
  expected: { reason: EgressRefusalReason; addressClass?: string; address?: string; embeddedAddress?: string; message?: RegExp },
): Promise<EgressRefusedError> {
  const error = await policy.check(host, port).then(
    (target) => assert.fail(`${host}:${port} was allowed (${JSON.stringify(target)}), expected ${expected.reason}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof EgressRefusedError, `${host}: ${String(error)}`);
  assert.equal(error.name, "EgressRefusedError");
  assert.equal(error.reason, expected.reason, `${host}: ${error.shortMessage}`);
  if ("addressClass" in expected) assert.equal(error.addressClass, expected.addressClass, `${host}: ${error.shortMessage}`);
  if ("address" in expected) assert.equal(error.address, expected.address, `${host}: ${error.shortMessage}`);
  if ("embeddedAddress" in expected) assert.equal(error.embeddedAddress, expected.embeddedAddress, `${host}: ${error.shortMessage}`);
  if (expected.message) assert.match(error.shortMessage, expected.message);
  assert.equal(error.host, host);
  assert.equal(error.port, port);
  seenReasons.add(error.reason);
  return error;
}

const strict = createEgressPolicy({ config: defaultEgressPolicyConfig, resolve: noDns });

test("every forbidden IPv4 and IPv6 class is refused, with its class (real addresses)", async () => {
  const table: [string, string][] = [
    ["127.0.0.1", "loopback"], ["127.255.255.254", "loopback"], ["0.0.0.0", "unspecified"], ["0.1.2.3", "unspecified"],
    ["10.0.0.1", "private"], ["10.255.255.255", "private"], ["172.16.5.4", "private"], ["172.31.255.255", "private"],
    ["192.168.1.1", "private"], ["100.64.0.1", "carrierGradeNat"], ["100.127.255.254", "carrierGradeNat"],
    ["169.254.1.1", "linkLocal"], ["224.0.0.1", "multicast"], ["239.255.255.250", "multicast"],
    ["255.255.255.255", "broadcast"], ["240.0.0.1", "reserved"], ["192.0.2.1", "reserved"], ["198.51.100.7", "reserved"],
    ["203.0.113.9", "reserved"], ["198.18.0.1", "reserved"], ["198.19.255.255", "reserved"], ["192.88.99.1", "reserved"],
    ["192.0.0.8", "reserved"], ["192.175.48.1", "as112"], ["192.31.196.1", "as112"], ["192.52.193.1", "amt"],
    ["169.254.169.254", "cloudMetadata"], ["169.254.170.2", "cloudMetadata"], ["100.100.100.200", "cloudMetadata"],
    ["192.0.0.192", "cloudMetadata"],
    ["::1", "loopback"], ["::", "unspecified"], ["fe80::1", "linkLocal"], ["febf:ffff::1", "linkLocal"],
    ["fc00::1", "uniqueLocal"], ["fd12:3456:789a::1", "uniqueLocal"], ["ff02::1", "multicast"], ["ff05::1:3", "multicast"],
    ["fec0::1", "deprecatedSiteLocal"], ["100::1", "discard"], ["2001:db8::1", "reserved"], ["2001:db8:ffff::1", "reserved"],
    ["3fff::1", "reserved"], ["2001:2::1", "benchmarking"], ["2001:3::1", "amt"], ["2001:4:112::1", "as112v6"],
    ["2620:4f:8000::1", "as112v6"], ["2001:10::1", "deprecatedOrchid"], ["2001:20::1", "orchid2"],
    ["2001:30::1", "droneRemoteIdProtocolEntityTags"], ["5f00::1", "segmentRouting"], ["4000::1", "notGlobalUnicast"],
    ["1::1", "notGlobalUnicast"], ["fd00:ec2::254", "cloudMetadata"], ["fd20:ce::254", "cloudMetadata"],
  ];
  for (const [address, addressClass] of table) {
    await refused(strict, address, 443, { reason: "forbidden-address", addressClass, address: ipaddr.parse(address).toString() });
    if (address.includes(":")) await refused(strict, `[${address}]`, 443, { reason: "forbidden-address", addressClass });
  }
  await refused(strict, "127.0.0.1", 80, { reason: "forbidden-address", message: /^Refused to relay to 127\.0\.0\.1:80: 127\.0\.0\.1 is a loopback address; a relay never connects to such addresses\.$/ });
  await refused(strict, "169.254.169.254", 80, { reason: "forbidden-address", message: /is a cloud metadata service/ });
  await refused(strict, "fd00:ec2::254", 80, { reason: "forbidden-address", message: /^Refused to relay to \[fd00:ec2::254\]:80:/ });
});

test("global unicast passes, and the target is the checked address in canonical form", async () => {
  const table: [string, string, 4 | 6][] = [
    ["8.8.8.8", "8.8.8.8", 4], ["1.1.1.1", "1.1.1.1", 4], ["93.184.215.14", "93.184.215.14", 4],
    ["100.63.255.255", "100.63.255.255", 4], ["100.128.0.0", "100.128.0.0", 4], ["172.15.255.255", "172.15.255.255", 4],
    ["172.32.0.0", "172.32.0.0", 4], ["169.253.255.255", "169.253.255.255", 4], ["223.255.255.255", "223.255.255.255", 4],
    ["11.0.0.1", "11.0.0.1", 4], ["0x08080808", "8.8.8.8", 4], ["134744072", "8.8.8.8", 4], ["010.010.010.010", "8.8.8.8", 4],
    ["2606:4700:4700::1111", "2606:4700:4700::1111", 6], ["[2001:4860:4860::8888]", "2001:4860:4860::8888", 6],
    ["2A00:1450:4001:0:0:0:0:1", "2a00:1450:4001::1", 6], ["::ffff:8.8.8.8", "8.8.8.8", 4], ["::ffff:808:808", "8.8.8.8", 4],
    ["64:ff9b::8.8.8.8", "64:ff9b::808:808", 6],
  ];
  for (const [host, address, family] of table) {
    assert.deepEqual(await strict.check(host, 443), { host, port: 443, address, family }, host);
  }
});

test("numeric host forms libc accepts are addresses, never names: 127.1, 2130706433, 0x7f000001, octal...", async () => {
  const resolver = tableResolver({});
  const policy = createEgressPolicy({ config: defaultEgressPolicyConfig, resolve: resolver });
  const loopbackForms = ["127.1", "127.0.1", "2130706433", "0x7f000001", "0X7F000001", "0177.0.0.1", "0x7f.0.0.1", "0x7F.1", "017700000001", "127.000.000.001", "0x7f.0x0.0x0.0x1", "0177.1"];
  for (const host of loopbackForms) await refused(policy, host, 80, { reason: "forbidden-address", addressClass: "loopback", address: "127.0.0.1", message: /127\.0\.0\.1 is a loopback address/ });
  await refused(policy, "0", 80, { reason: "forbidden-address", addressClass: "unspecified", address: "0.0.0.0" });
  await refused(policy, "10.1", 80, { reason: "forbidden-address", addressClass: "private", address: "10.0.0.1" });
  await refused(policy, "3232235777", 80, { reason: "forbidden-address", addressClass: "private", address: "192.168.1.1" });
  await refused(policy, "0xa9fea9fe", 80, { reason: "forbidden-address", addressClass: "cloudMetadata", address: "169.254.169.254" });
  await refused(policy, "0251.0376.0251.0376", 80, { reason: "forbidden-address", addressClass: "cloudMetadata" });
  // Numeric-looking hosts that are not valid addresses are not names either (libc or a browser would not look them up as names).
  for (const host of ["127.0.0.1.", "4294967296", "0x100000000", "08.0.0.1", "127.0.0.0x", "1.2.3.4.5", "256.0.0.1", "127.1.", "example.0x1"]) {
    await refused(policy, host, 80, { reason: "bad-host", message: /not a valid host name or IP address/ });
  }
  assert.deepEqual(resolver.calls, [], "a numeric host was sent to the resolver");
});

test("IPv4-mapped, -compatible, -translated, NAT64, 6to4 and Teredo forms are checked by their embedded IPv4", async () => {
  const cases: [string, string, string | undefined][] = [
    // [host, expected class, embedded IPv4 named in the refusal]
    ["::ffff:127.0.0.1", "loopback", "127.0.0.1"], ["::ffff:7f00:1", "loopback", "127.0.0.1"], ["[::FFFF:7F00:1]", "loopback", "127.0.0.1"],
    ["::ffff:10.0.0.1", "private", "10.0.0.1"], ["::ffff:169.254.169.254", "cloudMetadata", "169.254.169.254"],
    ["::ffff:100.64.1.1", "carrierGradeNat", "100.64.1.1"], ["0:0:0:0:0:ffff:c0a8:101", "private", "192.168.1.1"],
    ["::127.0.0.1", "loopback", "127.0.0.1"], ["::7f00:1", "loopback", "127.0.0.1"], ["::a00:1", "private", "10.0.0.1"],
    ["::169.254.169.254", "cloudMetadata", "169.254.169.254"], ["::8.8.8.8", "ipv4Compatible", undefined], ["::808:808", "ipv4Compatible", undefined],
    // Hex groups, not IPv4 numbers (fast-check found "::080" thrown as ipaddr's plain Error).
    ["::80", "unspecified", "0.0.0.128"], ["::080", "unspecified", "0.0.0.128"],
    ["::ffff:0:127.0.0.1", "loopback", "127.0.0.1"], ["::ffff:0:8.8.8.8", "ipv4Translated", undefined],
    ["64:ff9b::127.0.0.1", "loopback", "127.0.0.1"], ["64:ff9b::7f00:1", "loopback", "127.0.0.1"], ["64:ff9b::10.1.2.3", "private", "10.1.2.3"],
    ["64:ff9b::a9fe:a9fe", "cloudMetadata", "169.254.169.254"], ["64:ff9b:1::8.8.8.8", "nat64LocalUse", undefined],
    ["64:ff9b:1::10.0.0.1", "private", "10.0.0.1"],
    ["2002:7f00:1::1", "loopback", "127.0.0.1"], ["2002:c0a8:101::1", "private", "192.168.1.1"], ["2002:808:808::1", "6to4", undefined],
    ["2001:0:7f00:1::1", "loopback", "127.0.0.1"], // Teredo server 127.0.0.1
    ["2001:0:808:808:0:0:f5ff:fffe", "private", "10.0.0.1"], // Teredo client (bits inverted) 10.0.0.1
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved", "192.0.2.45"], // RFC 4380's example: client 192.0.2.45
    ["2001:0:808:808:0:0:fefe:fefe", "teredo", undefined],
  ];
  for (const [host, addressClass, embeddedAddress] of cases) {
    const error = await refused(strict, host, 443, { reason: "forbidden-address", addressClass, embeddedAddress });
    if (embeddedAddress) assert.match(error.shortMessage, new RegExp(`form of ${embeddedAddress.replaceAll(".", "\\.")}, `), error.shortMessage);
  }
  const mapped = await refused(strict, "::ffff:127.0.0.1", 443, { reason: "forbidden-address" });
  assert.match(mapped.shortMessage, /the IPv4-mapped form of 127\.0\.0\.1, a loopback address/);
});

test("a name is resolved once; any forbidden answer refuses it, naming the address; the target is a checked answer", async () => {
  const resolver = tableResolver({
    "evil.example": ["127.0.0.1"],
    "mixed.example": ["93.184.215.14", "10.0.0.5"],
    "mixed6.example": ["2606:4700::1", "fd00::5"],
    "reversed.example": ["192.168.0.7", "93.184.215.14"],
    "mapped.example": ["::ffff:192.168.0.1"],
    "meta.example": ["169.254.169.254"],
    "good.example": ["2606:4700:4700::1111", "1.1.1.1"],
    "good4.example": ["1.1.1.1", "2606:4700:4700::1111"],
    "mapped-public.example": ["::ffff:1.1.1.1"],
    "junk.example": ["not-an-address"],
    "empty.example": [],
  });
  const policy = createEgressPolicy({ config: defaultEgressPolicyConfig, resolve: resolver });
  await refused(policy, "evil.example", 443, {
    reason: "forbidden-address", addressClass: "loopback", address: "127.0.0.1",
    message: /^Refused to relay to evil\.example:443: evil\.example resolves to 127\.0\.0\.1, which is a loopback address/,
  });
  await refused(policy, "mixed.example", 443, { reason: "forbidden-address", addressClass: "private", address: "10.0.0.5", message: /one of its addresses/ });
  await refused(policy, "mixed6.example", 443, { reason: "forbidden-address", addressClass: "uniqueLocal", address: "fd00::5" });
  await refused(policy, "reversed.example", 443, { reason: "forbidden-address", addressClass: "private", address: "192.168.0.7" });
  await refused(policy, "mapped.example", 443, { reason: "forbidden-address", addressClass: "private", embeddedAddress: "192.168.0.1" });
  await refused(policy, "meta.example", 80, { reason: "forbidden-address", addressClass: "cloudMetadata" });
  await refused(policy, "junk.example", 443, { reason: "unresolvable", message: /not an IP address/ });
  await refused(policy, "empty.example", 443, { reason: "unresolvable", message: /has no addresses/ });
  const failed = await refused(policy, "nxdomain.example", 443, { reason: "unresolvable", message: /nxdomain\.example did not resolve/ });
  assert.match(String((failed.cause as Error).message), /ENOTFOUND/);

  resolver.calls.length = 0;
  assert.deepEqual(await policy.check("good.example", 443), { host: "good.example", port: 443, address: "2606:4700:4700::1111", family: 6 });
  assert.deepEqual(await policy.check("GOOD4.Example", 443), { host: "GOOD4.Example", port: 443, address: "1.1.1.1", family: 4 });
  assert.deepEqual(await policy.check("mapped-public.example", 80), { host: "mapped-public.example", port: 80, address: "1.1.1.1", family: 4 });
  assert.deepEqual(resolver.calls, ["good.example", "good4.example", "mapped-public.example"], "one resolution per check, of the lower-cased name");
});

test("localhost and cloud metadata names are refused before any resolution", async () => {
  for (const host of ["localhost", "LOCALHOST", "localhost.", "app.localhost", "metadata.google.internal", "metadata.google.internal.", "metadata.goog", "metadata", "instance-data"]) {
    await refused(strict, host, 80, { reason: "forbidden-address", addressClass: host.includes("localhost") || host.startsWith("LOCALHOST") ? "loopback" : "cloudMetadata" });
  }
});

test("the default configuration refuses 127.0.0.1 and localhost (real resolver) and port 25", async () => {
  const policy = createEgressPolicy({ config: defaultEgressPolicyConfig });
  assert.deepEqual(defaultEgressPolicyConfig, { denyPorts: [25], denyDestinations: [], testTargets: [] });
  await refused(policy, "127.0.0.1", 8080, { reason: "forbidden-address", addressClass: "loopback" });
  await refused(policy, "localhost", 8080, { reason: "forbidden-address", addressClass: "loopback" });
  await refused(policy, "[::1]", 8080, { reason: "forbidden-address", addressClass: "loopback" });
  await refused(policy, "8.8.8.8", 25, { reason: "port-denied", message: /port 25 is denied/ });
});

test("test targets allow exactly host:port as written, and nothing else", async () => {
  const config: EgressPolicyConfig = { ...defaultEgressPolicyConfig, testTargets: ["127.0.0.1:8080", "localhost:9000", "[::1]:8081", "LocalTest.Example:7000"] };
  const resolver = tableResolver({ localhost: ["::1", "127.0.0.1"], "localtest.example": ["10.1.2.3"] });
  const policy = createEgressPolicy({ config, resolve: resolver });
  assert.deepEqual(await policy.check("127.0.0.1", 8080), { host: "127.0.0.1", port: 8080, address: "127.0.0.1", family: 4 });
  assert.deepEqual(await policy.check("localhost", 9000), { host: "localhost", port: 9000, address: "::1", family: 6 });
  assert.deepEqual(await policy.check("[::1]", 8081), { host: "[::1]", port: 8081, address: "::1", family: 6 });
  assert.deepEqual(await policy.check("::1", 8081), { host: "::1", port: 8081, address: "::1", family: 6 });
  assert.deepEqual(await policy.check("localtest.example", 7000), { host: "localtest.example", port: 7000, address: "10.1.2.3", family: 4 });
  await refused(policy, "127.0.0.1", 8081, { reason: "forbidden-address" });
  await refused(policy, "127.1", 8080, { reason: "forbidden-address" });
  await refused(policy, "localhost", 8080, { reason: "forbidden-address" });
  await refused(policy, "127.0.0.2", 8080, { reason: "forbidden-address" });
  await refused(policy, "localtest.example", 7001, { reason: "forbidden-address", address: "10.1.2.3" });
  // The real resolver: a test target named localhost connects to a loopback address it resolved.
  const real = createEgressPolicy({ config: { ...defaultEgressPolicyConfig, testTargets: ["localhost:9000"] } });
  const target = await real.check("localhost", 9000);
  assert.equal(ipaddr.parse(target.address).range(), "loopback");
});

test("port lists: deny wins, allow restricts, and ports are checked before resolution", async () => {
  const resolver = tableResolver({ "example.com": ["93.184.215.14"] });
  const policy = createEgressPolicy({ config: { ...defaultEgressPolicyConfig, denyPorts: [25, 8443], allowPorts: [80, 443, 8443] }, resolve: resolver });
  await refused(policy, "example.com", 25, { reason: "port-denied" });
  await refused(policy, "example.com", 8443, { reason: "port-denied", message: /port 8443 is denied/ });
  await refused(policy, "example.com", 22, { reason: "port-denied", message: /port 22 is not among the ports this node relays to \(80, 443, 8443\)/ });
  for (const port of [0, -1, 65536, 1.5, Number.NaN]) await refused(policy, "example.com", port, { reason: "port-denied", message: /is not a TCP port/ });
  assert.deepEqual(resolver.calls, []);
  assert.equal((await policy.check("example.com", 443)).address, "93.184.215.14");
  // The default denies only 25.
  assert.equal((await createEgressPolicy({ config: defaultEgressPolicyConfig, resolve: resolver }).check("example.com", 22)).address, "93.184.215.14");
});

test("destination deny lists: CIDRs (v4 and v6, every form of the address) and names (exact and wildcard)", async () => {
  const resolver = tableResolver({
    "dns.example": ["8.8.4.4"], "dns8.example": ["1.1.1.1", "8.8.8.8"], "www.example.com": ["93.184.215.14"], "example.org": ["93.184.215.14"],
    "cf.example": ["2606:4700:4700::1111"],
  });
  const policy = createEgressPolicy({
    config: { ...defaultEgressPolicyConfig, denyDestinations: ["8.8.8.0/24", "2606:4700::/32", "9.9.9.9", "example.com", "*.example.org"] },
    resolve: resolver,
  });
  await refused(policy, "8.8.8.8", 443, { reason: "destination-denied", address: "8.8.8.8", message: /8\.8\.8\.8 is in the denied destination 8\.8\.8\.0\/24/ });
  await refused(policy, "::ffff:8.8.8.8", 443, { reason: "destination-denied" });
  await refused(policy, "64:ff9b::8.8.8.8", 443, { reason: "destination-denied" });
  await refused(policy, "0x08080808", 443, { reason: "destination-denied" });
  await refused(policy, "9.9.9.9", 443, { reason: "destination-denied" });
  await refused(policy, "dns8.example", 443, { reason: "destination-denied", address: "8.8.8.8" });
  await refused(policy, "cf.example", 443, { reason: "destination-denied" });
  await refused(policy, "2606:4700:4700::1001", 443, { reason: "destination-denied" });
  await refused(policy, "example.com", 443, { reason: "destination-denied", message: /example\.com matches the denied destination "example\.com"/ });
  await refused(policy, "EXAMPLE.COM.", 443, { reason: "destination-denied" });
  await refused(policy, "a.example.org", 443, { reason: "destination-denied", message: /"\*\.example\.org"/ });
  await refused(policy, "a.b.example.org", 443, { reason: "destination-denied" });
  assert.ok(!resolver.calls.some((name) => name.includes("example.org") || name.includes("example.com") && !name.startsWith("www")), "denied names are not resolved");
  assert.equal((await policy.check("dns.example", 443)).address, "8.8.4.4");
  assert.equal((await policy.check("www.example.com", 443)).address, "93.184.215.14");
  assert.equal((await policy.check("example.org", 443)).address, "93.184.215.14");
  assert.equal((await policy.check("8.8.9.8", 443)).address, "8.8.9.8");
});

test("destination allow lists: a name rule or every answer in an allowed CIDR; forbidden classes still win", async () => {
  const resolver = tableResolver({
    "a.allowed.example": ["93.184.215.14"], "private.allowed.example": ["10.0.0.1"], "one.example": ["1.1.1.1"],
    "google.example": ["8.8.8.8"], "split.example": ["1.1.1.1", "8.8.8.8"], "allowed.example": ["93.184.215.14"],
  });
  const policy = createEgressPolicy({
    config: { ...defaultEgressPolicyConfig, allowDestinations: ["*.allowed.example", "1.1.1.0/24", "2606:4700::/32"] },
    resolve: resolver,
  });
  assert.equal((await policy.check("a.allowed.example", 443)).address, "93.184.215.14");
  assert.equal((await policy.check("one.example", 443)).address, "1.1.1.1");
  assert.equal((await policy.check("1.1.1.1", 443)).address, "1.1.1.1");
  assert.equal((await policy.check("2606:4700:4700::1111", 443)).address, "2606:4700:4700::1111");
  await refused(policy, "google.example", 443, { reason: "destination-denied", message: /google\.example is not among the destinations this node relays to/ });
  await refused(policy, "split.example", 443, { reason: "destination-denied", address: "8.8.8.8" });
  await refused(policy, "allowed.example", 443, { reason: "destination-denied" });
  await refused(policy, "8.8.8.8", 443, { reason: "destination-denied" });
  await refused(policy, "private.allowed.example", 443, { reason: "forbidden-address", addressClass: "private" });
  // An operator cannot allow a forbidden range by listing it: only testTargets open those.
  const lan = createEgressPolicy({ config: { ...defaultEgressPolicyConfig, allowDestinations: ["192.168.0.0/16"] }, resolve: resolver });
  await refused(lan, "192.168.1.1", 443, { reason: "forbidden-address", addressClass: "private" });
});

test("resolver failures, hangs and aborts", async () => {
  const failing = createEgressPolicy({ config: defaultEgressPolicyConfig, resolve: async () => { throw new Error("SERVFAIL"); } });
  const error = await refused(failing, "example.com", 443, { reason: "unresolvable" });
  assert.equal((error.cause as Error).message, "SERVFAIL");
  const weird = createEgressPolicy({ config: defaultEgressPolicyConfig, resolve: (async () => "nope") as unknown as Resolver });
  await refused(weird, "example.com", 443, { reason: "unresolvable" });
  // A resolver that never answers and ignores the signal: the check still ends when the signal aborts.
  let askedWith: AbortSignal | undefined;
  const hanging = createEgressPolicy({ config: defaultEgressPolicyConfig, resolve: (_host, signal) => { askedWith = signal; return new Promise(() => {}); } });
  const controller = new AbortController();
  const pending = hanging.check("example.com", 443, controller.signal);
  controller.abort(new Error("client went away"));
  await assert.rejects(pending, /client went away/);
  assert.equal(askedWith, controller.signal, "the signal is passed to the resolver");
  await assert.rejects(hanging.check("example.com", 443, AbortSignal.abort(new Error("already"))), /already/);
});

test("malformed hosts are bad-host", async () => {
  for (const host of ["", " ", "exa mple.com", "exa_mple.com", "-a.com", "a..b", "[1.2.3.4]", "[example.com]", "fe80::1%eth0", "[::1", "http://x", "x".repeat(300), "é.com", "\u0000", "1.2.3.4:80"]) {
    await refused(strict, host, 443, { reason: "bad-host" });
  }
  await assert.rejects(strict.check(42 as unknown as string, 443), (e: unknown) => e instanceof EgressRefusedError && e.reason === "bad-host" && e.host === "42");
});

test("bad settings throw EgressPolicyConfigError naming the field", () => {
  const bad: [Partial<EgressPolicyConfig>, string][] = [
    [{ denyDestinations: ["10.0.0.0/33"] }, "denyDestinations[0]"],
    [{ denyDestinations: ["ok.example", "0x7f.1/8"] }, "denyDestinations[1]"],
    [{ denyDestinations: ["127.1"] }, "denyDestinations[0]"],
    [{ denyDestinations: [""] }, "denyDestinations[0]"],
    [{ allowDestinations: ["exa mple.com"] }, "allowDestinations[0]"],
    [{ allowDestinations: ["*."] }, "allowDestinations[0]"],
    [{ testTargets: ["localhost"] }, "testTargets[0]"],
    [{ testTargets: ["127.0.0.1:0"] }, "testTargets[0]"],
    [{ denyPorts: [0] }, "denyPorts[0]"],
    [{ allowPorts: [443, 70000] }, "allowPorts[1]"],
  ];
  for (const [patch, field] of bad) {
    assert.throws(
      () => createEgressPolicy({ config: { ...defaultEgressPolicyConfig, ...patch } }),
      (e: unknown) => e instanceof EgressPolicyConfigError && e.field === field,
      JSON.stringify(patch),
    );
  }
});

// --- properties ------------------------------------------------------------------------------

type V4Form = (octets: number[]) => string;
const u32 = (o: number[]) => ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
const hex16 = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
/** Every textual form libc accepts for an IPv4 address. */
const ipv4Forms: Record<string, V4Form> = {
  dotted: (o) => o.join("."),
  dottedOctal: (o) => o.map((x) => `0${x.toString(8)}`).join("."),
  dottedHex: (o) => o.map((x) => `0x${x.toString(16)}`).join("."),
  dottedMixed: (o) => `0x${o[0]!.toString(16).toUpperCase()}.0${o[1]!.toString(8)}.${o[2]}.0X${o[3]!.toString(16)}`,
  threePart: (o) => `${o[0]}.${o[1]}.${(o[2]! << 8) | o[3]!}`,
  twoPart: (o) => `${o[0]}.${(o[1]! << 16) | (o[2]! << 8) | o[3]!}`,
  twoPartHex: (o) => `0x${o[0]!.toString(16)}.0x${((o[1]! << 16) | (o[2]! << 8) | o[3]!).toString(16)}`,
  decimal: (o) => String(u32(o)),
  hex: (o) => `0x${u32(o).toString(16)}`,
  octal: (o) => `0${u32(o).toString(8)}`,
};
/** IPv6 forms that embed the IPv4 address. */
const ipv6Forms: Record<string, V4Form> = {
  mappedDotted: (o) => `::ffff:${o.join(".")}`,
  mappedHex: (o) => `::ffff:${hex16(o[0]!, o[1]!)}:${hex16(o[2]!, o[3]!)}`,
  mappedBracketed: (o) => `[0:0:0:0:0:FFFF:${o.join(".")}]`,
  compatible: (o) => `::${o.join(".")}`,
  nat64: (o) => `64:ff9b::${o.join(".")}`,
  nat64Hex: (o) => `64:ff9b::${hex16(o[0]!, o[1]!)}:${hex16(o[2]!, o[3]!)}`,
  sixToFour: (o) => `2002:${hex16(o[0]!, o[1]!)}:${hex16(o[2]!, o[3]!)}::1`,
  teredoServer: (o) => `2001:0:${hex16(o[0]!, o[1]!)}:${hex16(o[2]!, o[3]!)}::1`,
  translated: (o) => `::ffff:0:${o.join(".")}`,
};

/** Every forbidden IPv4 CIDR ipaddr.js names (its own table, so a range it adds is tested too), plus metadata hosts. */
const forbiddenV4Cidrs: [number[], number][] = Object.entries(
  (ipaddr.IPv4.prototype as unknown as { SpecialRanges: Record<string, [ipaddr.IPv4, number][]> }).SpecialRanges,
).flatMap(([, ranges]) => ranges.map(([net, bits]) => [net.octets, bits] as [number[], number]));

const forbiddenV4 = fc
  .tuple(fc.constantFrom(...forbiddenV4Cidrs), fc.integer({ min: 0, max: 0xffffffff }))
  .map(([[net, bits], random]) => {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const value = ((u32(net) & mask) | (random & ~mask)) >>> 0;
    return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
  });
const publicV4 = fc
  .integer({ min: 0, max: 0xffffffff })
  .map((v) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff])
  .filter((o) => new ipaddr.IPv4(o).range() === "unicast");

test("a random IPv4 in any forbidden range is refused in every textual form (property)", async () => {
  assert.ok(forbiddenV4Cidrs.length >= 15, `ipaddr.js lists ${forbiddenV4Cidrs.length} IPv4 ranges`);
  await fc.assert(
    fc.asyncProperty(forbiddenV4, fc.constantFrom(...Object.keys(ipv4Forms), ...Object.keys(ipv6Forms)), async (octets, form) => {
      const host = (ipv4Forms[form] ?? ipv6Forms[form])!(octets);
      const error = await strict.check(host, 443).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof EgressRefusedError && error.reason === "forbidden-address", `${host} (${form}) was not refused: ${String(error)}`);
      if (form in ipv4Forms) assert.equal(error.address, octets.join("."), host);
    }),
    { numRuns: 1500 },
  );
});

test("a random IPv6 address in any range ipaddr.js names is refused, except public IPv4 behind mapped and NAT64 /96 (property)", async () => {
  const ranges = Object.entries((ipaddr.IPv6.prototype as unknown as { SpecialRanges: Record<string, [ipaddr.IPv6, number] | [ipaddr.IPv6, number][]> }).SpecialRanges)
    .flatMap(([name, r]) => (Array.isArray(r[0]) ? (r as [ipaddr.IPv6, number][]) : [r as [ipaddr.IPv6, number]]).map(([net, bits]) => ({ name, net, bits })));
  assert.ok(ranges.length >= 20, `ipaddr.js lists ${ranges.length} IPv6 ranges`);
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ranges), fc.uint8Array({ minLength: 16, maxLength: 16 }), async ({ name, net, bits }, random) => {
      const bytes = net.toByteArray().map((b, i) => {
        const keep = Math.max(0, Math.min(8, bits - i * 8));
        const mask = (0xff << (8 - keep)) & 0xff;
        return (b & mask) | (random[i]! & ~mask & 0xff);
      });
      const address = ipaddr.fromByteArray(bytes) as ipaddr.IPv6;
      const host = address.toString();
      const result = await strict.check(host, 443).then((t) => t, (e: unknown) => e);
      const embedded = new ipaddr.IPv4(bytes.slice(12));
      const mayPass = (address.isIPv4MappedAddress() || address.match(ipaddr.parseCIDR("64:ff9b::/96"))) && embedded.range() === "unicast";
      if (mayPass) assert.ok(!(result instanceof Error), `${host} (${name}, public ${embedded}) was refused: ${String(result)}`);
      else assert.ok(result instanceof EgressRefusedError && result.reason === "forbidden-address", `${host} (${name}) was not refused`);
    }),
    { numRuns: 1500 },
  );
});

test("a random public IPv4 passes in every IPv4 form as the same dotted address (property)", async () => {
  await fc.assert(
    fc.asyncProperty(publicV4, fc.constantFrom(...Object.keys(ipv4Forms), "mappedDotted", "mappedHex", "mappedBracketed"), async (octets, form) => {
      const host = (ipv4Forms[form] ?? ipv6Forms[form])!(octets);
      assert.deepEqual(await strict.check(host, 443), { host, port: 443, address: octets.join("."), family: 4 });
    }),
    { numRuns: 800 },
  );
});

test("numeric forms mean what libc's getaddrinfo says they mean (differential, property)", async () => {
  // getaddrinfo parses numeric hosts itself (no DNS query); a form we read differently would show here.
  const any = fc.oneof(forbiddenV4, publicV4);
  await fc.assert(
    fc.asyncProperty(any, fc.constantFrom(...Object.keys(ipv4Forms)), async (octets, form) => {
      const host = ipv4Forms[form]!(octets);
      const [libc] = await lookup(host, { all: true, family: 4 });
      const ours = await strict.check(host, 443).then((t) => t.address, (e: EgressRefusedError) => e.address);
      assert.equal(ours, libc!.address, host);
    }),
    { numRuns: 300 },
  );
});

test("random strings never crash the check: a target or an EgressRefusedError (property)", async () => {
  const resolver: Resolver = async (hostname) => [{ address: hostname.length % 2 ? "93.184.215.14" : "10.0.0.1", family: 4 }];
  const policy = createEgressPolicy({ config: { ...defaultEgressPolicyConfig, denyDestinations: ["*.example", "8.8.8.0/24"] }, resolve: resolver });
  const host = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.stringMatching(/^[0-9a-fA-FxX.:\[\]%-]{0,40}$/),
    fc.domain(),
    fc.ipV4(),
    fc.ipV4Extended(),
    fc.ipV6(),
  );
  await fc.assert(
    fc.asyncProperty(host, fc.oneof(fc.integer({ min: -2, max: 70000 }), fc.double()), async (h, port) => {
      try {
        const target = await policy.check(h, port);
        assert.ok(ipaddr.isValid(target.address) && (target.family === 4 || target.family === 6));
        assert.equal(ipaddr.parse(target.address).kind(), target.family === 4 ? "ipv4" : "ipv6");
      } catch (e) {
        if (!(e instanceof EgressRefusedError) || !EGRESS_REFUSAL_REASONS.includes(e.reason)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});

test("every refusal reason is produced by some test above", () => {
  assert.deepEqual([...seenReasons].sort(), [...EGRESS_REFUSAL_REASONS].sort());
});
