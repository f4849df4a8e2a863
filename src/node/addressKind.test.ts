import { test } from "node:test";
import assert from "node:assert/strict";
import { addressKind } from "./addressKind.ts";

test("addressKind sorts hosts by what internet consumers can reach", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "loopback"], ["::1", "loopback"], ["[::1]", "loopback"], ["localhost", "loopback"],
    ["10.1.2.3", "private"], ["172.16.0.1", "private"], ["172.31.255.255", "private"], ["192.168.1.10", "private"], ["fd00::1", "private"],
    ["100.64.0.1", "cgnat"], ["100.127.255.254", "cgnat"], ["169.254.1.1", "link-local"], ["fe80::1", "link-local"],
    ["0.0.0.0", "unspecified"], ["::", "unspecified"],
    ["203.0.113.7", "public"], ["172.32.0.1", "public"], ["100.128.0.1", "public"], ["2001:db8::1", "public"], ["node.example.org", "name"],
  ];
  for (const [host, kind] of cases) assert.equal(addressKind(host), kind, host);
});
