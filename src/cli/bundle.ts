// Entry point of the self-contained build, dist/bandmint.mjs (scripts/build-node.ts): the CLI with
// its commands compiled in, and the node's worker threads, which run this same file.
import { isMainThread, workerData } from "node:worker_threads";
import commands from "bandmint:commands";
import { BUNDLE_THREAD_KEY } from "../node/payments/workerThread.ts";

// A thread module that startWorkerThread starts adds its line here (keyed by its file name).
const threads: Record<string, () => Promise<unknown>> = {
  "signerPoolThread.ts": () => import("../node/payments/signerPoolThread.ts"),
  "ticketWriterThread.ts": () => import("../node/payments/ticketWriterThread.ts"),
};

const thread = isMainThread ? undefined : (workerData as Record<string, unknown> | undefined)?.[BUNDLE_THREAD_KEY];
if (typeof thread === "string") {
  const start = threads[thread];
  if (start === undefined) throw new Error(`bandmint.mjs has no thread module ${thread}: add it to src/cli/bundle.ts`);
  await start();
} else {
  const { runCli } = await import("./main.ts");
  await runCli(process.argv.slice(2), commands);
}
