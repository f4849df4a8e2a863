// Long property-test campaign: `npm run test:props-long`. Runs the TypeScript unit tests and the
// HTTP Range test with FC_RUNS (default 20000) runs per property instead of the few hundred of
// `npm test` (src/protocol/testing/properties.ts reads it). Extra arguments (test files) replace the default set.
import { spawnSync } from "node:child_process";

const env = { ...process.env, FC_RUNS: process.env.FC_RUNS ?? "20000" };
const files = process.argv.length > 2 ? process.argv.slice(2) : ["src/**/*.test.ts", "test/http/*.test.ts"];
console.log(`props-long: FC_RUNS=${env.FC_RUNS} ${files.join(" ")}`);
// npx resolves the project's pinned Node 24 (node_modules/.bin), not the system node.
const result = spawnSync("npx", ["node", "--test", "--test-concurrency=2", "--test-timeout=3600000", ...files], { stdio: "inherit", env });
process.exit(result.status ?? 1);
