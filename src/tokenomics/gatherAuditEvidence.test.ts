import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { auditChecks } from "./evaluateModel.ts";
import { gatherAuditEvidence } from "./gatherAuditEvidence.ts";

const CONTRACT = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;
contract Vault {
    error TooMuch(uint256 amount);
    event Deposited(address who, uint256 amount);
    mapping(address => uint256) private _balance;
    // require(x, "commented out does not count");
    function deposit(uint256 amount) external { _record(msg.sender, amount); }
    function _record(address who, uint256 amount) private { _balance[who] += amount; emit Deposited(who, amount); }
    function drain() external { require(_balance[msg.sender] > 0, "empty"); _balance[msg.sender] = 0; }
    function balanceOf(address who) external view returns (uint256) { return _balance[who]; }
}
`;
const TESTS = `pragma solidity 0.8.37;
contract VaultTest {
    function setUp() public {}
    function test_deposit_records() public {}
    function test_drain_empties() public {}
    function testFuzz_deposit(uint256 a) public {}
    function invariant_solvent() public {}
}
`;

test("audit evidence counts tests by kind, errors vs string reverts, and functions without events", async () => {
  const root = await mkdtemp(join(tmpdir(), "bandmint-audit-"));
  try {
    await mkdir(join(root, "contracts", "test"), { recursive: true });
    await writeFile(join(root, "contracts", "Vault.sol"), CONTRACT);
    await writeFile(join(root, "contracts", "test", "Vault.t.sol"), TESTS);
    const e = await gatherAuditEvidence(root, { solhint: false });
    assert.deepEqual(e.tests, { unit: 2, fuzz: 1, invariant: 1, files: 1 });
    assert.equal(e.customErrors, 1);
    assert.equal(e.stringReverts.count, 1);
    assert.equal(e.stateChanging, 2); // deposit (emits through _record) and drain (does not)
    assert.deepEqual(e.withoutEvent, ["contracts/Vault.sol: drain"]);
    assert.equal(e.solhint, null);
    const checks = Object.fromEntries(auditChecks(e).map((c) => [c.id, c.status]));
    assert.deepEqual(checks, { "audit-tests": "PASS", "audit-errors": "WARN", "audit-events": "WARN", "audit-solhint": "WARN" });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("a repository without Solidity tests fails the test check", async () => {
  const root = await mkdtemp(join(tmpdir(), "bandmint-audit-"));
  try {
    await mkdir(join(root, "contracts"), { recursive: true });
    await writeFile(join(root, "contracts", "Vault.sol"), CONTRACT);
    const e = await gatherAuditEvidence(root, { solhint: false });
    assert.equal(auditChecks(e).find((c) => c.id === "audit-tests")?.status, "FAIL");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
