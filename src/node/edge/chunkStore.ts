import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ByteLru } from "./byteLru.ts";
import type { EdgeLogger } from "./edgeLogger.ts";

const INDEX_FILE = "index.json";
const HEX64 = /^[0-9a-f]{64}$/;

/** Options of a chunk store: its directory, byte budget, how long index writes are deferred. */
export type ChunkStoreOptions = { dir: string; maxBytes: number; logger: EdgeLogger; indexDelayMs?: number };

/**
 * The edge's disk cache: one file per chunk, named by its sha256 (so identical chunks of different
 * files and contents are stored once), under an LRU byte budget. The recency order is persisted in
 * `index.json` (deferred, and on close) so that a restart keeps both the chunks and their order;
 * chunk files the index does not know (a crash before the index was written) are adopted by mtime.
 * Every read is re-hashed, so a corrupted file is dropped and refetched, never served.
 */
export class ChunkStore {
  readonly dir: string;
  #chunksDir: string;
  #lru: ByteLru<true>;
  #logger: EdgeLogger;
  #indexDelayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: ChunkStoreOptions) {
    this.dir = options.dir;
    this.#chunksDir = join(options.dir, "chunks");
    this.#lru = new ByteLru(options.maxBytes);
    this.#logger = options.logger;
    this.#indexDelayMs = options.indexDelayMs ?? 1000;
  }

  /** Bytes of chunks on disk. */
  get bytes(): number {
    return this.#lru.bytes;
  }

  /** Number of chunks on disk. */
  get count(): number {
    return this.#lru.size;
  }

  /** True if the chunk is on disk (does not touch recency). */
  has(hash: string): boolean {
    return this.#lru.has(hash);
  }

  /** Loads the index and reconciles it with the directory; evicts down to the budget. */
  async open(): Promise<void> {
    await mkdir(this.#chunksDir, { recursive: true });
    let indexed: [string, number][] = [];
    try {
      const parsed = JSON.parse(await readFile(join(this.dir, INDEX_FILE), "utf8")) as { entries?: unknown };
      if (Array.isArray(parsed.entries)) indexed = parsed.entries.filter((e): e is [string, number] => Array.isArray(e) && HEX64.test(String(e[0])) && Number.isSafeInteger(e[1]));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") this.#logger.warn("chunk index unreadable, rebuilding from the directory", { error: String(error) });
    }
    const onDisk = new Set<string>();
    const unknown: { hash: string; size: number; mtime: number }[] = [];
    const indexedSet = new Set(indexed.map(([h]) => h));
    for (const name of await readdir(this.#chunksDir)) {
      if (!HEX64.test(name)) {
        // A write interrupted before its rename.
        await unlink(join(this.#chunksDir, name)).catch(() => {});
        continue;
      }
      onDisk.add(name);
      if (!indexedSet.has(name)) {
        const s = await stat(join(this.#chunksDir, name));
        unknown.push({ hash: name, size: s.size, mtime: s.mtimeMs });
      }
    }
    unknown.sort((a, b) => a.mtime - b.mtime);
    const ordered = [...unknown.map((u) => [u.hash, u.size] as [string, number]), ...indexed.filter(([h]) => onDisk.has(h))];
    for (const [hash, size] of ordered) this.#evict(this.#lru.set(hash, true, size));
  }

  /** The chunk's bytes, or undefined if not cached (or found corrupt, in which case it is dropped). */
  async read(hash: string): Promise<Buffer | undefined> {
    if (!this.#lru.has(hash)) return undefined;
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.#chunksDir, hash));
    } catch {
      this.#lru.delete(hash);
      this.#scheduleIndex();
      return undefined;
    }
    if (createHash("sha256").update(bytes).digest("hex") !== hash) {
      this.#logger.warn("corrupt chunk file dropped", { hash });
      this.#lru.delete(hash);
      this.#evict([[hash, true]]);
      return undefined;
    }
    this.#lru.get(hash);
    this.#scheduleIndex();
    return bytes;
  }

  /** Stores a verified chunk (write + rename, so a crash never leaves a partial chunk under its name). */
  async write(hash: string, bytes: Uint8Array): Promise<void> {
    if (this.#closed || this.#lru.has(hash) || bytes.length > this.#lru.maxBytes) return;
    const path = join(this.#chunksDir, hash);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await this.#track(writeFile(tmp, bytes).then(() => rename(tmp, path)));
    } catch (error) {
      // A full disk leaves a partial temporary file: remove it, or every failed write keeps its bytes.
      await unlink(tmp).catch(() => {});
      throw error;
    }
    this.#evict(this.#lru.set(hash, true, bytes.length));
    this.#scheduleIndex();
  }

  /** Writes the index and waits for pending file operations; the store is unusable afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#pending]);
    // The index only orders the cache (open() adopts unindexed chunks): failing to write it, on a
    // full disk say, is worth a warning, not a failed stop.
    await this.#writeIndex().catch((error: unknown) => this.#logger.warn("chunk index write failed", { error: String(error) }));
  }

  #evict(evicted: [string, true][]): void {
    for (const [hash] of evicted) void this.#track(unlink(join(this.#chunksDir, hash))).catch(() => {});
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    const done = () => this.#pending.delete(p);
    p.then(done, done);
    return p;
  }

  #scheduleIndex(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#track(this.#writeIndex()).catch((error: unknown) => this.#logger.warn("chunk index write failed", { error: String(error) }));
    }, this.#indexDelayMs);
    this.#timer.unref();
  }

  async #writeIndex(): Promise<void> {
    const entries = [...this.#lru.entries()].map(([hash, , size]) => [hash, size]);
    const path = join(this.dir, INDEX_FILE);
    try {
      await writeFile(`${path}.tmp`, JSON.stringify({ version: 1, entries }));
    } catch (error) {
      await unlink(`${path}.tmp`).catch(() => {});
      throw error;
    }
    await rename(`${path}.tmp`, path);
  }
}
