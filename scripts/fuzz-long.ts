// Long fuzz and invariant campaign: `npm run test:fuzz-long`. Runs `hardhat test solidity` with far
// more fuzz runs and invariant runs/depth than the default suite (which stays under ~2 minutes).
// Override with FUZZ_RUNS, INVARIANT_RUNS, INVARIANT_DEPTH; extra arguments (e.g. a test file)
// are passed through to hardhat.
import { spawnSync } from "node:child_process";

const env = {
  ...process.env,
  FUZZ_RUNS: process.env.FUZZ_RUNS ?? "10000",
  INVARIANT_RUNS: process.env.INVARIANT_RUNS ?? "1000",
  INVARIANT_DEPTH: process.env.INVARIANT_DEPTH ?? "100",
};
console.log(`fuzz-long: FUZZ_RUNS=${env.FUZZ_RUNS} INVARIANT_RUNS=${env.INVARIANT_RUNS} INVARIANT_DEPTH=${env.INVARIANT_DEPTH}`);
// npx resolves the project's pinned hardhat and Node 24 (node_modules/.bin), not the system node.
const result = spawnSync("npx", ["hardhat", "test", "solidity", ...process.argv.slice(2)], { stdio: "inherit", env });
process.exit(result.status ?? 1);
