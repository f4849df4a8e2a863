import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

function bandmint(...args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("help lists the commands", () => {
  const r = bandmint("help");
  assert.equal(r.code, 0);
  for (const c of ["start", "deploy"]) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
});

test("an unknown command is a clear error with exit code 2", () => {
  const r = bandmint("frobnicate");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test("a wrong flag names the flag, exits 2, prints no stack trace", () => {
  const r = bandmint("deploy", "--rcp", "http://127.0.0.1:1");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--rcp/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test("a bad flag value is a usage error naming the flag", () => {
  const r = bandmint("deploy", "--rpc", "http://127.0.0.1:1", "--key", "0x12");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--key: a 32-byte 0x private key is required/);
  const p = bandmint("start", "--port", "99999");
  assert.equal(p.code, 2);
  assert.match(p.stderr, /--port: not a port number: 99999/);
});

test("an unreachable chain is a clear error, not a stack trace", () => {
  const r = bandmint("deploy", "--rpc", "http://127.0.0.1:1", "--key", `0x${"11".repeat(32)}`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Cannot reach the chain at http:\/\/127\.0\.0\.1:1/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
