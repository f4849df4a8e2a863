import { test } from "node:test";
import assert from "node:assert/strict";
import { NODE_MALLOC_ENV, nodeRuntimeRelaunch, nodeV8Flags, RUNTIME_ENV } from "./nodeRuntime.ts";

const MiB = 1 << 20;
const router = { cores: 2, totalMemory: 240 * MiB };
const base = { execPath: "/usr/bin/node", execArgv: [] as string[], script: "/opt/bandmint/bandmint.mjs", env: { PATH: "/usr/bin" } as Record<string, string | undefined>, host: router };

test("node start relaunches once with the V8 flags and allocator settings, same script and arguments", () => {
  const r = nodeRuntimeRelaunch({ ...base, argv: ["node", "start", "--config", "node.yaml"] });
  assert.ok(r !== undefined);
  assert.equal(r.file, "/usr/bin/node");
  assert.deepEqual(r.args, ["/usr/bin/node", "--max-semi-space-size=1", "/opt/bandmint/bandmint.mjs", "node", "start", "--config", "node.yaml"]);
  assert.equal(r.env.PATH, "/usr/bin");
  for (const [k, v] of Object.entries(NODE_MALLOC_ENV)) assert.equal(r.env[k], v);
  assert.equal(r.env[RUNTIME_ENV], "tuned");
  // The relaunched process does not relaunch again.
  assert.equal(nodeRuntimeRelaunch({ ...base, argv: ["node", "start"], env: r.env }), undefined);
  assert.ok(nodeRuntimeRelaunch({ ...base, argv: ["node-start", "--port", "0"] }) !== undefined);
});

test("other commands, help and a missing script run as they are", () => {
  for (const argv of [["get", "x"], ["node", "status"], ["node", "start", "--help"], ["node-start", "-h"], [], ["start"]]) {
    assert.equal(nodeRuntimeRelaunch({ ...base, argv }), undefined, argv.join(" "));
  }
  assert.equal(nodeRuntimeRelaunch({ ...base, script: undefined, argv: ["node", "start"] }), undefined);
});

test("the operator's own settings win: BANDMINT_RUNTIME opts out, given flags and variables are kept", () => {
  assert.equal(nodeRuntimeRelaunch({ ...base, argv: ["node", "start"], env: { [RUNTIME_ENV]: "default" } }), undefined);
  const own = nodeRuntimeRelaunch({ ...base, argv: ["node", "start"], execArgv: ["--max-semi-space-size=8", "--inspect"], env: { MALLOC_ARENA_MAX: "1" } });
  assert.deepEqual(own?.args, ["/usr/bin/node", "--max-semi-space-size=8", "--inspect", "/opt/bandmint/bandmint.mjs", "node", "start"]);
  assert.equal(own?.env.MALLOC_ARENA_MAX, "1");
  const viaOptions = nodeRuntimeRelaunch({ ...base, argv: ["node", "start"], env: { NODE_OPTIONS: "--max_semi_space_size=4" } });
  assert.deepEqual(viaOptions?.args, ["/usr/bin/node", "/opt/bandmint/bandmint.mjs", "node", "start"]);
});

test("the young generation follows the host's memory: 1 MiB of semi-space per 256 MiB, a power of two from 1 to 16", () => {
  const semi = (totalMemory: number) => nodeV8Flags({ cores: 4, totalMemory });
  assert.deepEqual(semi(128 * MiB), ["--max-semi-space-size=1"]);
  assert.deepEqual(semi(240 * MiB), ["--max-semi-space-size=1"]);
  assert.deepEqual(semi(511 * MiB), ["--max-semi-space-size=1"]);
  assert.deepEqual(semi(512 * MiB), ["--max-semi-space-size=2"]);
  assert.deepEqual(semi(1024 * MiB), ["--max-semi-space-size=4"]);
  assert.deepEqual(semi(3 * 1024 * MiB), ["--max-semi-space-size=8"]);
  assert.deepEqual(semi(4 * 1024 * MiB), ["--max-semi-space-size=16"]);
  assert.deepEqual(semi(64 * 1024 * MiB), ["--max-semi-space-size=16"]);
  // The relaunch uses the host it is given.
  const big = nodeRuntimeRelaunch({ ...base, host: { cores: 8, totalMemory: 16 * 1024 * MiB }, argv: ["node", "start"] });
  assert.deepEqual(big?.args, ["/usr/bin/node", "--max-semi-space-size=16", "/opt/bandmint/bandmint.mjs", "node", "start"]);
});
