// Entry point of the self-contained build, dist/bandmint.mjs (scripts/build-node.ts): the CLI with
// its commands compiled in. (Worker threads run scripts of their own, see workerThread.ts.)
import commands from "bandmint:commands";
import { runCli } from "./main.ts";

await runCli(process.argv.slice(2), commands);
