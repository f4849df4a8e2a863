// Runs `bandmint node start` as its own process (the source CLI, bin/bandmint.js or the
// self-contained build) and waits until it listens.
import { spawn, type ChildProcess } from "node:child_process";

/** A node process, its URL, everything it printed so far, and a promise of its exit. */
export type SpawnedNode = { child: ChildProcess; url: string; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> };

/** Spawns `node ...args` (args end with `node start --config <path>`; node: this one) and resolves once it prints its URL. */
export async function spawnNode(args: string[], { node = process.execPath, ...options }: { node?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<SpawnedNode> {
  const child = spawn(node, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on("data", onData);
    void exited.then(({ code }) => reject(new Error(`node exited with ${code} before listening:\n${out}`)));
  });
  return { child, url, output: () => out, exited };
}
