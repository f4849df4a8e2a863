import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { pumpMetered, type TunnelMeter } from "./pumpMetered.ts";
import { createReadBufferPool, reusedReads } from "./reusedReads.ts";

const listen = (server: Server) => new Promise<number>((r) => server.listen(0, "127.0.0.1", () => r((server.address() as AddressInfo).port)));
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A meter that admits at most `step` bytes per call and, every `stallEvery` calls, none (credit comes back a tick later). */
function choppyMeter(step: number, stallEvery: number): TunnelMeter & { settled: number } {
  let calls = 0;
  const m = {
    settled: 0,
    admit(n: number) {
      return ++calls % stallEvery === 0 ? 0 : Math.min(n, step);
    },
    settle(_admitted: number, written: number) {
      m.settled += written;
    },
    waitCredit: () => new Promise<void>((r) => setTimeout(r, 1)),
  };
  return m;
}

/**
 * An upstream that sends `payload` as soon as a client connects (a server that speaks first), and
 * a consumer that reads slowly (pausing now and then), so that the pump meets backpressure.
 * Resolves with what the consumer received.
 */
async function relayThrough(payload: Buffer, options: { meter: TunnelMeter; pooled: boolean; attachAfterMs: number; toHighWaterMark?: number }): Promise<{ received: Buffer; pool: { taken: number; allocated: number } }> {
  const upstreamServer = createServer((s) => s.end(payload));
  const upstreamPort = await listen(upstreamServer);
  const chunks: Buffer[] = [];
  let consumerDone!: () => void;
  const consumerEnded = new Promise<void>((r) => (consumerDone = r));
  let toSocket!: Socket;
  const gotTo = new Promise<void>((r) => {
    const sinkServer = createServer(options.toHighWaterMark ? { highWaterMark: options.toHighWaterMark } : {}, (s) => {
      toSocket = s;
      r();
    });
    void listen(sinkServer).then((port) => {
      const reader = connect(port, "127.0.0.1");
      let n = 0;
      reader.on("data", (c: Buffer) => {
        chunks.push(c);
        if (++n % 8 === 0) {
          reader.pause();
          setTimeout(() => reader.resume(), 2);
        }
      });
      reader.on("end", () => {
        sinkServer.close();
        consumerDone();
      });
    });
  });
  await gotTo;
  const base = createReadBufferPool();
  const pool = { taken: 0, allocated: 0 };
  const seen = new WeakSet<Buffer>();
  const counting = {
    take: () => {
      const b = base.take();
      pool.taken++;
      if (!seen.has(b)) {
        seen.add(b);
        pool.allocated++;
      }
      return b;
    },
    give: base.give,
  };
  const reads = options.pooled ? reusedReads(counting) : undefined;
  const from = connect({ port: upstreamPort, host: "127.0.0.1", ...(reads ? { onread: reads.onread } : {}) });
  await new Promise((r) => from.once("connect", r));
  // Let the upstream's first bytes arrive before the pump takes the socket.
  await new Promise((r) => setTimeout(r, options.attachAfterMs));
  await pumpMetered(from, toSocket, options.meter, undefined, reads);
  await consumerEnded;
  upstreamServer.close();
  return { received: Buffer.concat(chunks), pool };
}

describe("pumpMetered", () => {
  const payload = randomBytes(24 * 1024 * 1024 + 12_345);

  test("pooled reads: every byte arrives in order through backpressure, partial credit and stalls, and reads reuse a few buffers", async () => {
    const meter = choppyMeter(100_000, 7);
    const { received, pool } = await relayThrough(payload, { meter, pooled: true, attachAfterMs: 30 });
    assert.equal(received.length, payload.length);
    assert.equal(sha256(received), sha256(payload));
    assert.equal(meter.settled, payload.length, "every forwarded byte is settled as written");
    // 24 MiB in 64 KiB reads is ~390 reads; without the pool each one would be a new buffer.
    assert.ok(pool.taken > 200, `${pool.taken} reads`);
    assert.ok(pool.allocated <= 40, `${pool.allocated} buffers allocated for ${pool.taken} reads`);
  });

  test("pooled reads with credit for everything: the fast path alone keeps the bytes intact", async () => {
    const meter = choppyMeter(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const { received } = await relayThrough(payload, { meter, pooled: true, attachAfterMs: 0 });
    assert.equal(sha256(received), sha256(payload));
    assert.equal(meter.settled, payload.length);
  });

  test("pooled reads into a consumer whose writes stay under its high-water mark: a pending write is waited for by its callback (no 'drain' comes)", async () => {
    const meter = choppyMeter(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const { received } = await relayThrough(payload, { meter, pooled: true, attachAfterMs: 0, toHighWaterMark: 64 * 1024 * 1024 });
    assert.equal(sha256(received), sha256(payload));
    assert.equal(meter.settled, payload.length);
  });

  test("'data' events (no pool): the same bytes", async () => {
    const meter = choppyMeter(100_000, 7);
    const { received } = await relayThrough(payload, { meter, pooled: false, attachAfterMs: 30 });
    assert.equal(sha256(received), sha256(payload));
    assert.equal(meter.settled, payload.length);
  });
});
