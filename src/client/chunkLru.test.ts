import { test } from "node:test";
import assert from "node:assert/strict";
import { createChunkLru } from "./chunkLru.ts";

test("chunk LRU evicts the least recently used chunk beyond its byte budget", async () => {
  const lru = createChunkLru(30);
  let loads = 0;
  const load = (n: number) => async () => {
    loads++;
    return Buffer.alloc(10, n);
  };
  await lru.get("a", load(1));
  await lru.get("b", load(2));
  await lru.get("c", load(3));
  await lru.get("a", load(1)); // hit: a becomes most recent
  assert.equal(loads, 3);
  await lru.get("d", load(4)); // evicts b
  assert.equal(lru.size(), 30);
  await lru.get("a", load(1));
  assert.equal(loads, 4);
  await lru.get("b", load(2));
  assert.equal(loads, 5);
});

test("concurrent gets of one key load it once; failures are not cached", async () => {
  const lru = createChunkLru(100);
  let loads = 0;
  const slow = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 10));
    return Buffer.from("x");
  };
  const got = await Promise.all(Array.from({ length: 20 }, () => lru.get("k", slow)));
  assert.equal(loads, 1);
  assert.ok(got.every((b) => b.toString() === "x"));
  await assert.rejects(lru.get("bad", async () => Promise.reject(new Error("boom"))), /boom/);
  assert.equal((await lru.get("bad", async () => Buffer.from("ok"))).toString(), "ok");
});
