// `npm run build:node`: the self-contained build, dist/bandmint.mjs. One ES module file with the CLI
// (the node and client commands) and every runtime dependency compiled in, that runs on Node >= 22
// on any architecture with no node_modules: `node bandmint.mjs node start --config node.yaml`.
// node:sqlite is built into Node; libsecp256k1 is used when the `secp256k1` package is installed
// next to the file (src/protocol/secp256k1.ts), @noble/curves otherwise.
//
// The build fails if anything it bundles comes from a package outside the runtime dependencies
// (package.json "dependencies" and what they depend on): the node and client must never load the
// chain toolchain (hardhat, solc, EDR), which is development only.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { build, type Metafile, type Plugin } from "esbuild";
import { packageRoot } from "../src/chain/packageRoot.ts";
import { BUNDLE_URL_KEY } from "../src/node/payments/workerThread.ts";
import { dashboardFiles } from "../src/dashboard/assets.ts";

/** Commands that need the source checkout and its development install, and why. */
export const SOURCE_ONLY_COMMANDS: Record<string, string> = {
  start: "the local network runs Hardhat's EDR and compiles the contracts with solc",
  deploy: "deployment reads the compiled contracts (artifacts/) of the source checkout",
};

/** The worker thread modules (startWorkerThread), each compiled to a script of its own. */
export const THREAD_MODULES = ["src/node/payments/signerPoolThread.ts", "src/node/payments/ticketWriterThread.ts"];

/** What a build wrote. */
export type NodeBuild = { path: string; bytes: number; commands: string[]; inputs: number };

/** Builds dist/bandmint.mjs (or `outfile`) and checks that it holds runtime dependencies only. */
export async function buildNode({ outfile = join(packageRoot, "dist", "bandmint.mjs") }: { outfile?: string } = {}): Promise<NodeBuild> {
  const commandsDir = join(packageRoot, "src", "cli", "commands");
  const commands = readdirSync(commandsDir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => f.slice(0, -3))
    .filter((name) => !(name in SOURCE_ONLY_COMMANDS))
    .sort();
  const common = { bundle: true, platform: "node", target: "node22", minify: true, legalComments: "none", metafile: true, logLevel: "warning" } as const;
  // Threads first: each a CommonJS script the main file starts with `new Worker(code, { eval: true })`,
  // so a thread parses its own few dozen KiB, not the whole build (about 25 MB less per thread).
  const threads: Record<string, string> = {};
  const inputs = new Set<string>();
  for (const module of THREAD_MODULES) {
    const r = await build({
      ...common,
      entryPoints: [join(packageRoot, module)],
      write: false,
      outfile: "thread.cjs",
      format: "cjs",
      define: { BANDMINT_BUNDLE: "true", "import.meta.url": "__bandmintUrl" },
      // The build's own URL, for resolving native modules next to it (workerThread.ts passes it).
      banner: { js: `const __bandmintUrl=require("node:worker_threads").workerData.${BUNDLE_URL_KEY};` },
    });
    threads[module.slice(module.lastIndexOf("/") + 1)] = r.outputFiles[0]!.text;
    assertRuntimeOnly(r.metafile);
    for (const i of Object.keys(r.metafile.inputs)) inputs.add(i);
  }
  const result = await build({
    ...common,
    entryPoints: [join(packageRoot, "src", "cli", "bundle.ts")],
    outfile,
    format: "esm",
    define: {
      BANDMINT_BUNDLE: "true",
      BANDMINT_THREADS: JSON.stringify(threads),
      // The dashboard's page, script, style and uPlot, inlined (src/dashboard/assets.ts reads them here).
      BANDMINT_ASSETS: JSON.stringify(Object.fromEntries(dashboardFiles().map((f) => [f.path, readFileSync(f.file).toString("base64")]))),
    },
    // CommonJS dependencies call require(); an ES module has none of its own.
    banner: { js: '#!/usr/bin/env node\nimport{createRequire as __bandmintRequire}from"node:module";const require=__bandmintRequire(import.meta.url);' },
    plugins: [commandTable(commandsDir, commands), builtinsByRequire(), viemRecordHeaders()],
  });
  assertRuntimeOnly(result.metafile);
  for (const i of Object.keys(result.metafile.inputs)) inputs.add(i);
  return { path: outfile, bytes: statSync(outfile).size, commands, inputs: inputs.size };
}

/** The virtual module `bandmint:commands`: a CommandSource over the bundled commands, each loaded when it runs. */
function commandTable(dir: string, commands: string[]): Plugin {
  return {
    name: "bandmint-commands",
    setup(b) {
      b.onResolve({ filter: /^bandmint:commands$/ }, () => ({ path: "commands", namespace: "bandmint" }));
      b.onLoad({ filter: /.*/, namespace: "bandmint" }, () => ({
        resolveDir: join(packageRoot, "src", "cli"),
        contents: [
          'import { UsageError } from "./usageError.ts";',
          `const table = {${commands.map((c) => `${JSON.stringify(c)}: () => import(${JSON.stringify(join(dir, `${c}.ts`))})`).join(", ")}};`,
          `const sourceOnly = ${JSON.stringify(SOURCE_ONLY_COMMANDS)};`,
          "export default {",
          "  names: () => Object.keys(table),",
          "  async load(name) {",
          "    if (Object.hasOwn(sourceOnly, name)) throw new UsageError(`'${name}' needs the source checkout (git clone, npm install): ${sourceOnly[name]}; bandmint.mjs has the node and client commands.`);",
          "    return Object.hasOwn(table, name) ? (await table[name]()).default : undefined;",
          "  },",
          "};",
        ].join("\n"),
      }));
    },
  };
}

/**
 * Node's built-in modules, loaded with require() where the source imports them. An ES module import
 * of a built-in reads every export of it into the namespace, getters included: `node:http`'s
 * WebSocket and friends then load undici, http2, zlib and tls (about 16 MB of RSS for one import
 * of node:http on Node 24). require() returns the exports object and leaves its getters alone,
 * and in the bundle it also runs only when the importing module is first used.
 */
function builtinsByRequire(): Plugin {
  return {
    name: "bandmint-builtins-by-require",
    setup(b) {
      b.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) =>
        args.kind !== "require-call" && isBuiltin(args.path) ? { path: args.path.startsWith("node:") ? args.path : `node:${args.path}`, namespace: "bandmint-builtin" } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: "bandmint-builtin" }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: "js" }));
    },
  };
}

/**
 * viem's HTTP transport with RecordHeaders (src/chain/recordHeaders.ts) as its `Headers`: the global
 * one is undici's and would load undici into the node (about 14 MB of RSS) on its first JSON-RPC
 * call. The build fails if viem's transport no longer uses `new Headers(`, so this cannot go stale
 * unnoticed.
 */
function viemRecordHeaders(): Plugin {
  const recordHeaders = join(packageRoot, "src", "chain", "recordHeaders.ts");
  return {
    name: "bandmint-viem-record-headers",
    setup(b) {
      b.onLoad({ filter: /[\\/]viem[\\/]_esm[\\/]utils[\\/]rpc[\\/]http\.js$/ }, (args) => {
        const source = readFileSync(args.path, "utf8");
        if (!source.includes("new Headers(")) throw new Error(`${args.path} no longer uses new Headers(: check viemRecordHeaders in scripts/build-node.ts`);
        return { contents: `import { RecordHeaders as Headers } from ${JSON.stringify(recordHeaders)};\n${source}`, loader: "js", resolveDir: dirname(args.path) };
      });
    },
  };
}

/** Throws unless every bundled file is ours or belongs to a runtime dependency (transitively). */
function assertRuntimeOnly(metafile: Metafile): void {
  const allowed = runtimePackageDirs();
  const bad = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const at = input.lastIndexOf(`node_modules/`);
    if (at < 0) continue;
    const rest = input.slice(at + "node_modules/".length).split("/");
    const dir = join(packageRoot, input.slice(0, at), "node_modules", ...rest.slice(0, rest[0]!.startsWith("@") ? 2 : 1));
    if (!allowed.has(dir)) bad.add(relative(packageRoot, dir));
  }
  if (bad.size > 0) throw new Error(`the node build pulls packages that are not runtime dependencies: ${[...bad].join(", ")}`);
}

/** Directories of the packages `npm install --omit=dev` installs: "dependencies" and, transitively, theirs. */
export function runtimePackageDirs(root: string = packageRoot): Set<string> {
  const dirs = new Set<string>();
  const visit = (from: string, name: string): void => {
    // Node's resolution: the nearest node_modules/<name> walking up from the requiring package.
    for (let d = from; ; d = dirname(d)) {
      const candidate = join(d, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) {
        if (dirs.has(candidate)) return;
        dirs.add(candidate);
        const pkg = JSON.parse(readFileSync(join(candidate, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
        for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies })) visit(candidate, dep);
        return;
      }
      if (d === root || dirname(d) === d || !d.startsWith(root)) return; // not installed (an optional or absent peer)
    }
  };
  const top = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  for (const name of Object.keys(top.dependencies ?? {})) visit(root, name);
  return dirs;
}

if (import.meta.main) {
  const b = await buildNode();
  console.log(`${relative(process.cwd(), b.path).split(sep).join("/")}: ${(b.bytes / 1024).toFixed(0)} KiB, ${b.inputs} source files, commands: ${b.commands.join(" ")}`);
}
