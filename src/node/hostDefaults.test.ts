import { test } from "node:test";
import assert from "node:assert/strict";
import { hostDefaults, readHost } from "./hostDefaults.ts";

const MiB = 1 << 20;
const GiB = 1024 * MiB;

test("thread counts and the memory cache follow the host", () => {
  // A 2-core router with 256 MiB: no signer thread (recovery inline), a writer thread, a 16 MiB cache.
  assert.deepEqual(hostDefaults({ cores: 2, totalMemory: 256 * MiB }), { signerThreads: 0, ticketWriterThread: true, memoryCacheBytes: 16 * MiB });
  // A 128 MiB box: everything on the event loop, the smallest cache.
  assert.deepEqual(hostDefaults({ cores: 4, totalMemory: 128 * MiB }), { signerThreads: 0, ticketWriterThread: false, memoryCacheBytes: 8 * MiB });
  assert.equal(hostDefaults({ cores: 1, totalMemory: 64 * MiB }).memoryCacheBytes, 4 * MiB);
  // A Raspberry Pi 4 (4 cores, 2 GiB): 3 signer threads, 128 MiB of hot chunks.
  assert.deepEqual(hostDefaults({ cores: 4, totalMemory: 2 * GiB }), { signerThreads: 3, ticketWriterThread: true, memoryCacheBytes: 128 * MiB });
  // A server: at most 4 signer threads and 256 MiB, whatever the size.
  assert.deepEqual(hostDefaults({ cores: 64, totalMemory: 256 * GiB }), { signerThreads: 4, ticketWriterThread: true, memoryCacheBytes: 256 * MiB });
  // One core: the event loop is the only one; a thread would compete with it.
  assert.equal(hostDefaults({ cores: 1, totalMemory: 8 * GiB }).signerThreads, 0);
});

test("readHost reads this machine", () => {
  const host = readHost();
  assert.ok(host.cores >= 1 && host.totalMemory > 64 * MiB);
});
