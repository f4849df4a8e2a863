import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../../../test/fixtures/awaitSlowThread.ts", import.meta.url));

test("a thread with a request pending, or closing, keeps the process alive", () => {
  // The process has nothing else to wait for: before the thread was ref'd while busy, it ended
  // with exit code 13 (an unsettled top-level await) before the answer came.
  const r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual(r.stdout.trim().split("\n"), ["answer 300", "closed"]);
});

test("an idle thread does not keep the process alive", () => {
  // Its idle stop is 60 s away: the process must end well before.
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [script, "leave"], { encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout.trim(), "answer 300");
  assert.ok(performance.now() - t0 < 30_000);
});
