// The ABIs shipped in the repository (abis/<Contract>.json for outside tools, src/chain/abis.ts
// for our code) are exactly the compiled contracts' ABIs, so nobody needs a compiler to talk to
// the contracts and nobody talks to them with a stale ABI.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import * as generated from "../../src/chain/abis.ts";
import { loadArtifact } from "../../src/chain/artifacts.ts";
import { abiContracts, abiDir } from "../../scripts/gen-abis.ts";

test("abis/<Contract>.json and src/chain/abis.ts equal the build's artifacts", async () => {
  for (const name of abiContracts) {
    const { abi } = await loadArtifact(name);
    const shipped = JSON.parse(await readFile(join(abiDir, `${name}.json`), "utf8")) as unknown;
    assert.deepEqual(shipped, abi, `abis/${name}.json is stale: run \`npm run gen:abis\``);
    const id = `${name[0]!.toLowerCase()}${name.slice(1)}Abi` as keyof typeof generated;
    assert.deepEqual(generated[id], abi, `src/chain/abis.ts ${id} is stale`);
  }
  assert.deepEqual((await readdir(abiDir)).sort(), abiContracts.map((n) => `${n}.json`).sort(), "one file per deployable contract, nothing else");
});

test("the broker's ABI file carries the interface docs/protocol/broker.md describes", async () => {
  const abi = JSON.parse(await readFile(join(abiDir, "TicketBroker.json"), "utf8")) as { type: string; name?: string }[];
  const doc = await readFile(new URL("../../docs/protocol/broker.md", import.meta.url), "utf8");
  for (const entry of abi) {
    if (entry.type === "constructor") continue;
    assert.ok(doc.includes(`\`${entry.name}`), `docs/protocol/broker.md does not document ${entry.type} ${entry.name}`);
  }
});
