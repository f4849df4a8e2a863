/** Refusals by reason: the error name, and the limit for LimitReachedError ("LimitReachedError:quota"). */
export function createRefusalCounts() {
  const counts = new Map<string, number>();
  return {
    /** Counts one refused request. */
    record(error: unknown): void {
      const e = error as { name?: unknown; limit?: unknown };
      const name = typeof e?.name === "string" ? e.name : "Error";
      const reason = typeof e?.limit === "string" ? `${name}:${e.limit}` : name;
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
    },
    /** Every reason seen so far with its count. */
    counts(): ReadonlyMap<string, number> {
      return counts;
    },
  };
}

/** Refusal counts as the metrics read them. */
export type RefusalCounts = ReturnType<typeof createRefusalCounts>;
