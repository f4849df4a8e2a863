/** A byte-bounded LRU of verified chunks that also coalesces concurrent loads of one key. */
export type ChunkLru = {
  /** Returns the cached chunk, or loads it once however many callers ask at the same time. */
  get(key: string, load: () => Promise<Buffer>): Promise<Buffer>;
  /** Bytes held. */
  size(): number;
};

/** Creates a chunk LRU holding at most `maxBytes` bytes (a chunk larger than that is not kept). */
export function createChunkLru(maxBytes: number): ChunkLru {
  // Map iteration order is insertion order: re-inserting on a hit makes the first key the LRU one.
  const entries = new Map<string, Buffer>();
  const loading = new Map<string, Promise<Buffer>>();
  let bytes = 0;
  const put = (key: string, value: Buffer) => {
    if (value.length > maxBytes) return;
    entries.set(key, value);
    bytes += value.length;
    for (const [k, v] of entries) {
      if (bytes <= maxBytes) break;
      entries.delete(k);
      bytes -= v.length;
    }
  };
  return {
    async get(key, load) {
      const hit = entries.get(key);
      if (hit !== undefined) {
        entries.delete(key);
        entries.set(key, hit);
        return hit;
      }
      let pending = loading.get(key);
      if (pending === undefined) {
        pending = load().then(
          (value) => {
            loading.delete(key);
            put(key, value);
            return value;
          },
          (error: unknown) => {
            loading.delete(key);
            throw error;
          },
        );
        loading.set(key, pending);
      }
      return pending;
    },
    size: () => bytes,
  };
}
