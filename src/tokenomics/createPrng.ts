/** A seeded pseudo-random source: `next()` is uniform in [0, 1), `gaussian()` standard normal. */
export type Prng = { next(): number; gaussian(): number };

/**
 * The seeded state of an sfc32 stream (four 32-bit words), for `sfc32Fill`. Seeded through
 * splitmix32 so that nearby seeds give unrelated streams; `stream` picks an independent stream of
 * the same seed (stream 0 is createPrng's), so one run can draw several kinds of randomness
 * without one kind shifting another's draws.
 */
export function sfc32State(seed: number, stream = 0): Int32Array {
  let s = (seed ^ Math.imul(stream, 0x632be5ab)) >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const state = Int32Array.of(splitmix(), splitmix(), splitmix(), splitmix());
  sfc32Fill(state, new Uint32Array(12), 12); // discard the warm-up outputs
  return state;
}

/**
 * Writes the next `count` outputs of an sfc32 stream (unsigned 32-bit integers) into `out`,
 * advancing `state`. Outputs go to an array, not a return value: the simulator draws millions
 * of them per second, and a 32-bit unsigned return value from a call the engine does not inline
 * is boxed (a heap allocation per number). The words stay in 32-bit locals inside the loop.
 */
export function sfc32Fill(state: Int32Array, out: Uint32Array, count: number): void {
  let a = state[0] ?? 0;
  let b = state[1] ?? 0;
  let c = state[2] ?? 0;
  let d = state[3] ?? 0;
  for (let i = 0; i < count; i++) {
    const t = (a + b + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + t) | 0;
    out[i] = t;
  }
  state[0] = a;
  state[1] = b;
  state[2] = c;
  state[3] = d;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counter), seeded by `sfc32State`. Deterministic across
 * platforms: only 32-bit integer operations. Math.random is never used, so a model and its seed
 * fully determine a run. `stream` picks an independent stream of the same seed (sfc32State).
 */
export function createPrng(seed: number, stream = 0): Prng {
  const state = sfc32State(seed, stream);
  const word = new Uint32Array(1);
  const next = (): number => {
    sfc32Fill(state, word, 1);
    return (word[0] ?? 0) / 4294967296;
  };
  let spare: number | undefined;
  const gaussian = (): number => {
    // Box-Muller, caching the second value so one call costs one uniform on average.
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const u = 1 - next(); // (0, 1]: log(0) is never taken
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { next, gaussian };
}
