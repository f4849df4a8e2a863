// Settings shared by the property-based tests (not part of the public API). `npm test` runs each
// property a modest number of times; `npm run test:props-long` sets FC_RUNS for a long campaign.
import assert from "node:assert/strict";

/** Runs per property: FC_RUNS from the environment when set (a long run), else `defaultRuns`. */
export function propertyRuns(defaultRuns: number): number {
  const fromEnv = Number(process.env.FC_RUNS);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultRuns;
}

/**
 * Longest a decoder may take on one input (ms). Far above what any of them needs (microseconds):
 * it catches a hang or a super-linear blow-up (a backtracking regex, a quadratic loop) on hostile
 * input, not a slow machine.
 */
export const MAX_DECODE_MS = 500;

/** Runs `f` and fails if it took longer than `ms`; returns what `f` returned. */
export function withinTime<T>(f: () => T, ms: number = MAX_DECODE_MS, what = "decoding one input"): T {
  const started = performance.now();
  try {
    return f();
  } finally {
    const took = performance.now() - started;
    assert.ok(took <= ms, `${what} took ${took.toFixed(1)} ms (limit ${ms} ms)`);
  }
}

/** Async `withinTime`. */
export async function withinTimeAsync<T>(f: () => Promise<T>, ms: number = MAX_DECODE_MS, what = "decoding one input"): Promise<T> {
  const started = performance.now();
  try {
    return await f();
  } finally {
    const took = performance.now() - started;
    assert.ok(took <= ms, `${what} took ${took.toFixed(1)} ms (limit ${ms} ms)`);
  }
}

/**
 * Calls `f`; if it throws, the error must be an instance of one of `types` and pass `check` (e.g.
 * that it names a field), else the original error is rethrown so fast-check reports it.
 */
export function valueOrTypedError<T>(f: () => T, types: readonly (abstract new (...args: never[]) => Error)[], check?: (e: Error) => void): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!types.some((t) => e instanceof t)) throw e;
    check?.(e as Error);
    return undefined;
  }
}
