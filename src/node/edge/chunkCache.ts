import { chunkRange, verifyChunk, type ManifestFile } from "../../protocol/manifest.ts";
import { ByteLru } from "./byteLru.ts";
import type { ChunkStore } from "./chunkStore.ts";
import type { EdgeLogger } from "./edgeLogger.ts";
import { OriginFailedError } from "./errors.ts";
import type { OriginFetcher } from "./originFetcher.ts";

/** Counters of where chunks came from. */
export type ChunkCacheStats = { memoryHits: number; diskHits: number; originFetches: number };

/**
 * Verified chunks by sha256: a hot in-memory LRU (served with one `res.end(buffer)`), then the disk
 * store, then the origins. Concurrent misses for one chunk share one load. Bytes from an origin are
 * hashed before they are kept or returned; a bad origin is skipped for the next one.
 */
export class ChunkCache {
  #memory: ByteLru<Buffer>;
  #store: ChunkStore;
  #fetcher: OriginFetcher;
  #origins: string[];
  #logger: EdgeLogger;
  #inflight = new Map<string, Promise<Buffer>>();
  readonly stats: ChunkCacheStats = { memoryHits: 0, diskHits: 0, originFetches: 0 };

  constructor(options: { maxMemoryBytes: number; store: ChunkStore; fetcher: OriginFetcher; origins: string[]; logger: EdgeLogger }) {
    this.#memory = new ByteLru(options.maxMemoryBytes);
    this.#store = options.store;
    this.#fetcher = options.fetcher;
    this.#origins = options.origins;
    this.#logger = options.logger;
  }

  /** The chunk if it is in memory (no promise, for the hot path). */
  peek(hash: string): Buffer | undefined {
    const b = this.#memory.get(hash);
    if (b !== undefined) this.stats.memoryHits++;
    return b;
  }

  /** Chunk `index` of `file` in content `contentId`, verified. Throws OriginFailedError if no origin has it right. */
  get(contentId: string, chunkSize: number, file: ManifestFile, index: number): Promise<Buffer> {
    const hash = file.chunks[index]!;
    const hot = this.peek(hash);
    if (hot !== undefined) return Promise.resolve(hot);
    let p = this.#inflight.get(hash);
    if (p === undefined) {
      p = this.#load(contentId, chunkSize, file, index, hash).finally(() => this.#inflight.delete(hash));
      this.#inflight.set(hash, p);
    }
    return p;
  }

  async #load(contentId: string, chunkSize: number, file: ManifestFile, index: number, hash: string): Promise<Buffer> {
    const cached = await this.#store.read(hash);
    if (cached !== undefined) {
      this.stats.diskHits++;
      this.#memory.set(hash, cached, cached.length);
      return cached;
    }
    const { start, end } = chunkRange(file.size, chunkSize, index);
    const failures: { origin: string; reason: string }[] = [];
    const path = file.path.split("/").map(encodeURIComponent).join("/");
    for (const origin of this.#origins) {
      try {
        this.stats.originFetches++;
        const bytes = await this.#fetcher.get(`${origin.replace(/\/+$/, "")}/${contentId}/${path}`, { range: { start, end }, maxBytes: chunkSize });
        if (bytes === undefined) {
          failures.push({ origin, reason: "404" });
          continue;
        }
        verifyChunk(file, index, bytes, origin);
        // A full or failing disk must not turn verified bytes into an error: serve them uncached.
        await this.#store.write(hash, bytes).catch((error: unknown) => this.#logger.warn("chunk not cached", { hash, error: String(error) }));
        this.#memory.set(hash, bytes, bytes.length);
        return bytes;
      } catch (error) {
        const e = error as { shortMessage?: string; message?: string };
        failures.push({ origin, reason: e.shortMessage ?? e.message ?? String(error) });
        this.#logger.warn("origin failed for chunk", { origin, contentId, path: file.path, index, error: String(error) });
      }
    }
    throw new OriginFailedError({ what: `chunk ${index} of "${file.path}" in ${contentId}`, failures });
  }
}
