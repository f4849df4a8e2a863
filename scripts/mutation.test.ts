import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MUTANTS, applyMutant, failingTests, firstFailure, isCompileError } from "./mutation.ts";

const root = join(import.meta.dirname, "..");

test("every mutant applies to exactly one place in today's contracts", () => {
  // A contract edit that moves or rewrites a mutated line makes its mutant stale; this names it.
  for (const m of MUTANTS) {
    const source = readFileSync(join(root, m.file), "utf8");
    const { text, line } = applyMutant(source, m);
    assert.notEqual(text, source, m.id);
    assert.ok(line > 0, m.id);
  }
});

test("mutant ids are unique", () => {
  assert.equal(new Set(MUTANTS.map((m) => m.id)).size, MUTANTS.length);
});

test("applyMutant replaces the chosen occurrence and reports its line", () => {
  const src = "a\nif (x < y) f();\nif (x < y) g();\n";
  assert.deepEqual(applyMutant(src, { id: "X", from: "x < y", to: "x <= y", nth: 2 }), {
    text: "a\nif (x < y) f();\nif (x <= y) g();\n",
    line: 3,
  });
  assert.throws(() => applyMutant(src, { id: "X", from: "x < y", to: "" }), /occurs 2 times/);
  assert.throws(() => applyMutant(src, { id: "X", from: "nope", to: "" }), /occurs 0 times/);
});

test("firstFailure names the failing test; isCompileError tells solc errors from test failures", () => {
  const out = "  contracts/test/A.t.sol:ATest\n    ✔ test_ok()\n    1) test_bad()\n  1 failing\n";
  assert.equal(firstFailure(out), "test_bad()");
  assert.equal(isCompileError(out), false);
  assert.equal(isCompileError("TypeError: Operator <= not compatible\n --> contracts/X.sol:3:5"), true);
  assert.equal(isCompileError("DeclarationError (7576): Undeclared identifier."), true);
});

test("failingTests lists every failing test of the summary with its contract", () => {
  const out = "    1) test_a()\n  2 failing\n\n  1) ATest#test_a()\n    Error: x\n  2) BTest#testFuzz_b(uint256)\n";
  assert.deepEqual(failingTests(out), ["ATest#test_a()", "BTest#testFuzz_b(uint256)"]);
});
