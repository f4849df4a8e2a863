/**
 * Token buckets by key (a sender's address): each holds up to `burst` tokens and refills at
 * `perSecond`. For counting things a sender does (connections, refusals, sessions), not bytes
 * (tokenBucket.ts paces bytes and never refuses). A key whose bucket is full again is forgotten once
 * more than `maxKeys` are held, so the map follows the active keys.
 */
export function createKeyedBuckets<K>({ burst, perSecond, clock, maxKeys = 10_000 }: { burst: number; perSecond: number; clock: { now(): number }; maxKeys?: number }) {
  if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError("a keyed bucket needs perSecond > 0 and burst >= 1");
  const buckets = new Map<K, { tokens: number; at: number }>();
  const level = (key: K, now: number): number => {
    const b = buckets.get(key);
    return b === undefined ? burst : Math.min(burst, b.tokens + ((now - b.at) * perSecond) / 1000);
  };
  const set = (key: K, tokens: number, now: number): void => {
    buckets.set(key, { tokens, at: now });
    if (buckets.size > maxKeys) for (const k of buckets.keys()) if (level(k, now) >= burst) buckets.delete(k);
  };
  return {
    burst,
    perSecond,
    /** Whole seconds until `key` has a token again (0 if it has one now). */
    retryAfterSeconds(key: K): number {
      const t = level(key, clock.now());
      return t >= 1 ? 0 : Math.ceil((1 - t) / perSecond);
    },
    /** Takes a token from `key`'s bucket if it has one; false (nothing taken) if not. */
    take(key: K): boolean {
      const now = clock.now();
      const t = level(key, now);
      if (t < 1) return false;
      set(key, t - 1, now);
      return true;
    },
  };
}

/** A running set of keyed buckets. */
export type KeyedBuckets<K> = ReturnType<typeof createKeyedBuckets<K>>;
