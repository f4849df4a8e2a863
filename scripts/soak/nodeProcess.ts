// One provider node of the soak as its own process (`bandmint node start --config <file>`), with
// the faults the soak inflicts on it: SIGKILL and restart, SIGTERM (graceful stop) and restart.
// Everything the node prints goes to `<dir>/node.log`.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** How a node process ended. */
export type NodeExit = { code: number | null; signal: NodeJS.Signals | null };

/** A provider node process that can be killed, stopped and started again on the same config. */
export type NodeProcess = {
  readonly index: number;
  readonly running: boolean;
  readonly pid: number | undefined;
  /** Starts the node (the same config, data dir and port every time); resolves once it listens. */
  start(): Promise<void>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<NodeExit>;
  /** SIGTERM; resolves with the exit, how long it took and whether it printed "stopped". */
  terminate(): Promise<NodeExit & { ms: number; stoppedCleanly: boolean }>;
  /** The last lines the node printed. */
  tail(): string;
};

/** Creates the manager of node `index` running `configPath`; its output is appended to `logPath`. */
export function nodeProcess({ index, configPath, logPath }: { index: number; configPath: string; logPath: string }): NodeProcess {
  let child: ChildProcess | undefined;
  let exited: Promise<NodeExit> | undefined;
  let out = "";
  let log: WriteStream | undefined;
  /** What the node printed since SIGTERM was sent. */
  let sinceTerm: string | undefined;
  const record = (d: Buffer) => {
    log?.write(d);
    out = (out + d.toString()).slice(-20_000);
    if (sinceTerm !== undefined) sinceTerm += d.toString();
  };
  return {
    index,
    get running() {
      return child !== undefined;
    },
    get pid() {
      return child?.pid;
    },
    async start() {
      if (child !== undefined) throw new Error(`node ${index} is already running`);
      log ??= createWriteStream(logPath, { flags: "a" });
      const c = spawn(process.execPath, [MAIN, "node", "start", "--config", configPath], { stdio: ["ignore", "pipe", "pipe"] });
      child = c;
      let printed = "";
      exited = new Promise((resolve) =>
        c.once("exit", (code, signal) => {
          if (child === c) child = undefined;
          resolve({ code, signal });
        }),
      );
      await new Promise<void>((resolve, reject) => {
        const onData = (d: Buffer) => {
          record(d);
          printed += d.toString();
          if (/listening http:\/\/\S+/.test(printed)) {
            printed = "";
            resolve();
          }
        };
        c.stdout!.on("data", onData);
        c.stderr!.on("data", record);
        void exited!.then(({ code, signal }) => reject(new Error(`node ${index} exited (${code ?? signal}) before listening:\n${out.slice(-2000)}`)));
      });
    },
    async kill() {
      const c = child;
      if (c === undefined) throw new Error(`node ${index} is not running`);
      const done = exited!;
      c.kill("SIGKILL");
      return done;
    },
    async terminate() {
      const c = child;
      if (c === undefined) throw new Error(`node ${index} is not running`);
      const done = exited!;
      sinceTerm = "";
      const t0 = performance.now();
      c.kill("SIGTERM");
      const exit = await done;
      const printed = sinceTerm;
      sinceTerm = undefined;
      return { ...exit, ms: performance.now() - t0, stoppedCleanly: /^stopping$[\s\S]*^stopped$/m.test(printed) };
    },
    tail: () => out.slice(-4000),
  };
}
