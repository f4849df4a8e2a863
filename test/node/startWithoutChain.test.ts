// A node started while its chain endpoint is unreachable (a router booting before its uplink, an
// RPC outage) waits for it instead of exiting: it says why in its log, starts serving when the
// chain answers, and a SIGTERM meanwhile stops it cleanly.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startCuttableProxy, type CuttableProxy } from "../fixtures/cuttableProxy.ts";
import { MiB, startWorld, type NodeWorld } from "./chainSetup.ts";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

describe("starting a node while the chain is unreachable", () => {
  let w: NodeWorld;
  let rpc: CuttableProxy;
  before(async () => {
    w = await startWorld({ size: 1n * MiB });
    rpc = await startCuttableProxy(w.net.rpcUrl);
  });
  after(async () => {
    await rpc.stop();
    await w.close();
  });

  /** Spawns `bandmint node start` against the proxied chain; `until(text)` resolves once its output matches. */
  async function startNode(name: string) {
    const config = await w.writeConfig(name, { rpcUrl: rpc.url });
    const child = spawn(process.execPath, [main, "node", "start", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const waiters: (() => void)[] = [];
    const onOutput = (d: Buffer) => {
      out += d.toString();
      for (const w of waiters.splice(0)) w();
    };
    child.stdout.on("data", onOutput);
    child.stderr.on("data", onOutput);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const until = async (pattern: RegExp): Promise<RegExpExecArray> => {
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`node exited (${child.exitCode}) before ${pattern}:\n${out}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          void exited.then(() => r());
        });
      }
    };
    return { child, until, exited, output: () => out };
  }

  test("it waits, saying why, and serves once the chain answers", async () => {
    await rpc.cut();
    const node = await startNode("late-chain");
    try {
      await node.until(/cannot reach the chain at http:\/\/127\.0\.0\.1:\d+ to read its listing .*trying again in 2 s/);
      assert.doesNotMatch(node.output(), /listening/);
      await rpc.restore();
      const url = (await node.until(/listening (http:\/\/\S+)/))[1]!;
      const offer = await fetch(`${url}/offer`);
      assert.equal(offer.status, 200);
    } finally {
      await rpc.restore();
      node.child.kill("SIGTERM");
      assert.equal(await node.exited, 0, node.output());
    }
  });

  test("a SIGTERM while it waits stops it at once and cleanly", async () => {
    await rpc.cut();
    const node = await startNode("stopped-waiting");
    try {
      await node.until(/cannot reach the chain/);
      node.child.kill("SIGTERM");
      assert.equal(await node.exited, 0, node.output());
      assert.match(node.output(), /stopped before the chain answered/);
    } finally {
      await rpc.restore();
      node.child.kill("SIGKILL");
    }
  });
});
