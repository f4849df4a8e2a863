/**
 * A least-recently-used map bounded by a byte budget (a Map in recency order: oldest first).
 * `set` returns what it evicted so the caller can release it (unlink a file, ...).
 */
export class ByteLru<V> {
  readonly maxBytes: number;
  #map = new Map<string, { value: V; size: number }>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes currently held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of entries. */
  get size(): number {
    return this.#map.size;
  }

  /** The value for `key`, marking it most recently used. */
  get(key: string): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry.value;
  }

  /** True if `key` is held (does not change recency). */
  has(key: string): boolean {
    return this.#map.has(key);
  }

  /** Inserts as most recent and evicts the oldest entries until within budget; an entry larger than the budget is not kept. */
  set(key: string, value: V, size: number): [string, V][] {
    const evicted: [string, V][] = [];
    this.delete(key);
    if (size > this.maxBytes) return [[key, value]];
    this.#map.set(key, { value, size });
    this.#bytes += size;
    for (const [k, e] of this.#map) {
      if (this.#bytes <= this.maxBytes) break;
      this.#map.delete(k);
      this.#bytes -= e.size;
      evicted.push([k, e.value]);
    }
    return evicted;
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: string): boolean {
    const entry = this.#map.get(key);
    if (entry === undefined) return false;
    this.#map.delete(key);
    this.#bytes -= entry.size;
    return true;
  }

  /** Entries oldest first, with their sizes. */
  *entries(): IterableIterator<[string, V, number]> {
    for (const [k, e] of this.#map) yield [k, e.value, e.size];
  }
}
