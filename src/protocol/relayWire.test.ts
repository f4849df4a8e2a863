import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  parseAbsoluteProxyUrl,
  parseConnectTarget,
  parseProxyAuthorization,
  parseRelayHost,
  PROXY_AUTH_REALM,
  ProxyAuthRequiredError,
} from "./relayWire.ts";
import { WireFormatError } from "./wire.ts";

const token = `0x${"ab".repeat(32)}` as const;
const basic = (credentials: string) => `Basic ${Buffer.from(credentials, "latin1").toString("base64")}`;
const isTargetError = (e: unknown) => e instanceof WireFormatError && e.field === "target";

test("parseConnectTarget accepts names (lower-cased), IPv4 in any numeric form (as given) and bracketed IPv6", () => {
  const cases: [string, string, number][] = [
    ["example.com:443", "example.com", 443],
    ["EXAMPLE.Com:443", "example.com", 443],
    ["a-b.c0.example:1", "a-b.c0.example", 1],
    ["example.com.:443", "example.com.", 443],
    ["localhost:65535", "localhost", 65535],
    ["1.2.3.4:80", "1.2.3.4", 80],
    ["127.1:80", "127.1", 80],
    ["127.0.1:80", "127.0.1", 80],
    ["2130706433:80", "2130706433", 80],
    ["0x7f000001:80", "0x7f000001", 80],
    ["0X7F.0.0.1:80", "0X7F.0.0.1", 80],
    ["0177.0.0.1:80", "0177.0.0.1", 80],
    ["[2001:db8::1]:443", "2001:db8::1", 443],
    ["[2001:DB8::A]:443", "2001:db8::a", 443],
    ["[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80],
    ["[::1]:8080", "::1", 8080],
    [`${"a".repeat(63)}.com:1`, `${"a".repeat(63)}.com`, 1],
  ];
  for (const [authority, host, port] of cases) assert.deepEqual(parseConnectTarget(authority), { host, port }, authority);
  const long = `${Array.from({ length: 4 }, () => "a".repeat(62)).join(".")}.com`; // 4*63 + 3 = 255 > 253
  assert.equal(long.length, 255);
  assert.throws(() => parseConnectTarget(`${long}:443`), isTargetError);
  assert.deepEqual(parseConnectTarget(`${long.slice(2)}:443`), { host: long.slice(2), port: 443 });
});

test("parseConnectTarget refuses every malformed target with WireFormatError naming the target", () => {
  const bad = [
    "", "example.com", "example.com:", "example.com:0", "example.com:65536", "example.com:080", "example.com:+80",
    "example.com:-1", "example.com:8o", "example.com: 80", " example.com:80", "example.com:80 ", ":80",
    "exa mple.com:80", "exa_mple.com:80", "-example.com:80", "example-.com:80", "example..com:80", ".example.com:80",
    "example.com..:80", `${"a".repeat(64)}.com:80`, "ex%61mple.com:80", "exämple.com:80", "\u212Aelvin.com:80",
    "user@example.com:80", "http://example.com:80", "example.com/:80", "example.com:80/",
    "2001:db8::1:443", "[2001:db8::1]", "[2001:db8::1]443", "[2001:db8::1:443", "[example.com]:443", "[1.2.3.4]:80",
    "[fe80::1%eth0]:80", "[::ffff:0177.0.0.1]:80", "[::ffff:1.2.3]:80", "[2001:db8:::1]:80", "[12345::]:80",
    "256.1.1.1:80", "1.2.3.4.5:80", "4294967296:80", "0x100000000:80", "08.0.0.1:80", "1.2.3.0x:80", "example.123:80",
    "1.2.3.4.:80", "x".repeat(301),
  ];
  for (const target of bad) assert.throws(() => parseConnectTarget(target), isTargetError, JSON.stringify(target));
  assert.throws(() => parseConnectTarget("example.com:99999"), /invalid port "99999"/);
  assert.throws(() => parseConnectTarget("2001:db8::1:443"), /not in brackets/);
});

test("parseAbsoluteProxyUrl reads http:// URLs: host rules, default port 80, origin-form path", () => {
  assert.deepEqual(parseAbsoluteProxyUrl("http://example.com/a/b?c=d&e"), { host: "example.com", port: 80, path: "/a/b?c=d&e" });
  assert.deepEqual(parseAbsoluteProxyUrl("HTTP://Example.COM:8080"), { host: "example.com", port: 8080, path: "/" });
  assert.deepEqual(parseAbsoluteProxyUrl("http://example.com?q=1"), { host: "example.com", port: 80, path: "/?q=1" });
  assert.deepEqual(parseAbsoluteProxyUrl("http://[2001:db8::1]/x"), { host: "2001:db8::1", port: 80, path: "/x" });
  assert.deepEqual(parseAbsoluteProxyUrl("http://[::1]:81/"), { host: "::1", port: 81, path: "/" });
  assert.deepEqual(parseAbsoluteProxyUrl("http://127.1/"), { host: "127.1", port: 80, path: "/" });
  assert.deepEqual(parseAbsoluteProxyUrl("http://a.b/%20x?y=%2F"), { host: "a.b", port: 80, path: "/%20x?y=%2F" });
  for (const url of [
    "https://example.com/", "ftp://example.com/", "//example.com/", "/path", "example.com/", "http:/example.com/",
    "http://", "http:///x", "http://user:pw@example.com/", "http://good.com@evil.com/", "http://example.com/#frag",
    "http://example.com/a b", "http://example.com/é", "http://example.com:/", "http://example.com:0/",
    "http://exa_mple.com/", "http://2001:db8::1/", "http://[::1/", "http://example.com\\@evil.com/",
    `http://example.com/${"a".repeat(16_384)}`,
  ]) {
    assert.throws(() => parseAbsoluteProxyUrl(url), isTargetError, url.slice(0, 80));
  }
});

test("parseProxyAuthorization reads the token from Basic user:token or Bearer, lower-cased", () => {
  assert.equal(PROXY_AUTH_REALM, "bandmint");
  assert.equal(parseProxyAuthorization(basic(`anyone:${token}`)), token);
  assert.equal(parseProxyAuthorization(basic(`:${token}`)), token);
  assert.equal(parseProxyAuthorization(basic(`anyone:${token.toUpperCase().replace("0X", "0x")}`)), token);
  assert.equal(parseProxyAuthorization(`basic ${Buffer.from(`u:${token}`).toString("base64")}`), token);
  assert.equal(parseProxyAuthorization(`Bearer ${token}`), token);
  assert.equal(parseProxyAuthorization(`  BEARER   ${token} `), token);
  // What curl sends for -x http://u:TOKEN@host: (checked against curl's own encoding rule: base64 of "u:TOKEN").
  assert.equal(parseProxyAuthorization(`Basic ${btoa(`u:${token}`)}`), token);
});

test("parseProxyAuthorization: missing -> ProxyAuthRequiredError, malformed -> WireFormatError", () => {
  for (const missing of [undefined, "", "   "]) {
    assert.throws(() => parseProxyAuthorization(missing), (e: unknown) => e instanceof ProxyAuthRequiredError && e.realm === "bandmint" && e.name === "ProxyAuthRequiredError");
  }
  const malformed = [
    "Basic", `Digest ${token}`, token, `Bearer`, `Bearer ${token} extra`, `Bearer ${token.slice(0, 65)}`, `Bearer ${token}0`,
    `Bearer ${token.slice(2)}`, basic(token), basic(`user:${token}:x`), basic("user:"), basic(`user:${token} `),
    `Basic ${Buffer.from(`u:${token}`).toString("base64").replace(/=+$/, "")}x`, "Basic !!!!", "Basic YQ", "Basic YR==",
    `Basic ${Buffer.from(`u:${token}`).toString("base64url")}_`, `Bearer ${"x".repeat(2000)}`,
  ];
  for (const value of malformed) {
    assert.throws(() => parseProxyAuthorization(value), (e: unknown) => e instanceof WireFormatError && e.field === "proxy-authorization", value.slice(0, 60));
  }
  assert.throws(() => parseProxyAuthorization(basic("user:")), /empty password/);
  assert.throws(() => parseProxyAuthorization(basic(token)), /without a colon/);
});

test("parseRelayHost classifies by syntax and names the field", () => {
  assert.deepEqual(parseRelayHost("Example.com"), { kind: "name", host: "example.com" });
  assert.deepEqual(parseRelayHost("0x7f.1"), { kind: "ipv4", host: "0x7f.1" });
  assert.deepEqual(parseRelayHost("::FFFF:1.2.3.4"), { kind: "ipv6", host: "::ffff:1.2.3.4" });
  assert.throws(() => parseRelayHost("a b", "testTargets[0]"), (e: unknown) => e instanceof WireFormatError && e.field === "testTargets[0]");
});

/** Every refusal is a typed error; nothing else may escape. */
function typedOrValue<T>(f: () => T): void {
  try {
    f();
  } catch (e) {
    if (e instanceof WireFormatError || e instanceof ProxyAuthRequiredError) return;
    throw e;
  }
}

test("no input crashes the parsers: a value or a typed error (property)", () => {
  const hostish = fc.stringMatching(/^[\x00-\x7f\u00e9\u212a]{0,40}$/);
  const authority = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.tuple(hostish, fc.string({ maxLength: 7 })).map(([h, p]) => `${h}:${p}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: -1, max: 70000 })).map(([h, p]) => `[${h}]:${p}`),
    fc.tuple(fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.domain()), fc.integer({ min: -1, max: 70000 })).map(([h, p]) => `${h}:${p}`),
  );
  fc.assert(fc.property(authority, (a) => {
    typedOrValue(() => {
      const { host, port } = parseConnectTarget(a);
      assert.ok(Number.isInteger(port) && port >= 1 && port <= 65535);
      assert.ok(host.length > 0 && !host.includes("["));
    });
    typedOrValue(() => parseAbsoluteProxyUrl(`http://${a}`));
    typedOrValue(() => parseAbsoluteProxyUrl(a));
  }), { numRuns: 2000 });
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string().map((s) => `Basic ${btoa(unescape(encodeURIComponent(s)))}`), fc.string().map((s) => `Bearer ${s}`)), (v) => {
    typedOrValue(() => assert.match(parseProxyAuthorization(v), /^0x[0-9a-f]{64}$/));
  }), { numRuns: 2000 });
});

test("valid targets round-trip (property)", () => {
  fc.assert(fc.property(fc.domain(), fc.integer({ min: 1, max: 65535 }), (domain, port) => {
    // fast-check's domain() may end in a numeric-looking label only if it is not a valid TLD; ours refuses those.
    try {
      assert.deepEqual(parseConnectTarget(`${domain}:${port}`), { host: domain.toLowerCase(), port });
    } catch (e) {
      assert.ok(isTargetError(e));
      assert.match(domain, /(^|\.)(0x[0-9a-f]*|[0-9]+)$/i);
    }
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.ipV4(), fc.ipV6(), fc.integer({ min: 1, max: 65535 }), (v4, v6, port) => {
    assert.deepEqual(parseConnectTarget(`${v4}:${port}`), { host: v4, port });
    assert.deepEqual(parseConnectTarget(`[${v6}]:${port}`), { host: v6.toLowerCase(), port });
  }), { numRuns: 500 });
});

test("long runs of hostile characters are refused (the parsers stay linear; a backtracking regex would hang here)", () => {
  for (const s of ["0".repeat(16_000), `${"0.".repeat(120)}:80`, `[${":".repeat(200)}]:80`, `${"a-".repeat(140)}:1`, `${"9".repeat(250)}:1`]) {
    assert.throws(() => parseConnectTarget(s), isTargetError);
    assert.throws(() => parseAbsoluteProxyUrl(`http://${s}/`), isTargetError);
  }
});
