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
import { propertyRuns, withinTime } from "./testing/properties.ts";

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

/** Every refusal is a typed error, within a bounded time; nothing else may escape. */
function typedOrValue<T>(f: () => T): void {
  try {
    withinTime(f);
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
  }), { numRuns: propertyRuns(2000) });
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string().map((s) => `Basic ${btoa(unescape(encodeURIComponent(s)))}`), fc.string().map((s) => `Bearer ${s}`)), (v) => {
    typedOrValue(() => assert.match(parseProxyAuthorization(v), /^0x[0-9a-f]{64}$/));
  }), { numRuns: propertyRuns(2000) });
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
  }), { numRuns: propertyRuns(500) });
  fc.assert(fc.property(fc.ipV4(), fc.ipV6(), fc.integer({ min: 1, max: 65535 }), (v4, v6, port) => {
    assert.deepEqual(parseConnectTarget(`${v4}:${port}`), { host: v4, port });
    assert.deepEqual(parseConnectTarget(`[${v6}]:${port}`), { host: v6.toLowerCase(), port });
  }), { numRuns: propertyRuns(500) });
});

test("absolute-form URLs round-trip: host, port (default 80) and the origin-form path (property)", () => {
  const host = fc.oneof(
    fc.domain().filter((d) => !/(^|\.)(0x[0-9a-f]*|[0-9]+)$/i.test(d)).map((d) => ({ written: d, host: d.toLowerCase() })),
    fc.ipV4().map((v4) => ({ written: v4, host: v4 })),
    fc.ipV6().map((v6) => ({ written: `[${v6}]`, host: v6.toLowerCase() })),
  );
  const pathChar = fc.constantFrom(..."abcXYZ019-._~!$&'()*+,;=:@%/");
  const path = fc.option(fc.string({ unit: pathChar, maxLength: 40 }).map((p) => `/${p}`));
  const query = fc.option(fc.string({ unit: fc.constantFrom(..."ab1=&/?%+"), maxLength: 20 }).map((q) => `?${q}`));
  fc.assert(fc.property(fc.constantFrom("http://", "HTTP://", "Http://"), host, fc.option(fc.integer({ min: 1, max: 65535 })), path, query, (scheme, h, port, p, q) => {
    const url = `${scheme}${h.written}${port === null ? "" : `:${port}`}${p ?? ""}${q ?? ""}`;
    assert.deepEqual(withinTime(() => parseAbsoluteProxyUrl(url)), { host: h.host, port: port ?? 80, path: `${p ?? "/"}${q ?? ""}`.replace(/^\?/, "/?") }, url);
  }), { numRuns: propertyRuns(1000) });
});

test("Proxy-Authorization round-trips the session token in any Basic user or Bearer form (property)", () => {
  const tokenArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString("hex")}`);
  // Basic credentials are latin1 user:password; the user is anything without a colon.
  const user = fc.string({ unit: fc.integer({ min: 0, max: 255 }).filter((c) => c !== 0x3a).map((c) => String.fromCharCode(c)), maxLength: 30 });
  const scheme = (name: string) => fc.constantFrom(name, name.toUpperCase(), name.toLowerCase());
  const space = fc.constantFrom("", " ", "\t", "  ");
  fc.assert(fc.property(tokenArb, user, fc.boolean(), fc.boolean(), scheme("Basic"), scheme("Bearer"), space, space, (token, u, upper, basic, b, bearer, lead, trail) => {
    const written = upper ? `0x${token.slice(2).toUpperCase()}` : token;
    const value = basic ? `${lead}${b} ${Buffer.from(`${u}:${written}`, "latin1").toString("base64")}${trail}` : `${lead}${bearer} ${written}${trail}`;
    assert.equal(withinTime(() => parseProxyAuthorization(value)), token, value);
  }), { numRuns: propertyRuns(1000) });
});

test("long runs of hostile characters are refused (the parsers stay linear; a backtracking regex would hang here)", () => {
  for (const s of ["0".repeat(16_000), `${"0.".repeat(120)}:80`, `[${":".repeat(200)}]:80`, `${"a-".repeat(140)}:1`, `${"9".repeat(250)}:1`]) {
    assert.throws(() => parseConnectTarget(s), isTargetError);
    assert.throws(() => parseAbsoluteProxyUrl(`http://${s}/`), isTargetError);
  }
  for (const v of [`Basic ${"A".repeat(1020)}`, `Bearer ${" ".repeat(1000)}x`, `${"a".repeat(500)} ${"b".repeat(500)}`, `Basic${" ".repeat(1000)}`, "\t ".repeat(500)]) {
    typedOrValue(() => parseProxyAuthorization(v));
  }
  typedOrValue(() => parseAbsoluteProxyUrl(`http://a.b/${"%".repeat(16_000)}`));
  typedOrValue(() => parseAbsoluteProxyUrl(`http://a.b${"?".repeat(16_000)}`));
});
