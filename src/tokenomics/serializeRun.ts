import type { EpochRow, SimSummary } from "./simulate.ts";

/** Replaces bigints by decimal strings (JSON cannot hold them), recursively. */
export function toJsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  }
  if (typeof value === "number" && !Number.isFinite(value)) return null;
  return value;
}

/** The epoch rows as CSV: a header of the EpochRow fields, bigints in full, booleans 0/1, null empty. */
export function epochsToCsv(rows: EpochRow[]): string {
  const first = rows[0];
  if (first === undefined) return "";
  const columns = Object.keys(first) as (keyof EpochRow)[];
  const lines = [columns.join(",")];
  for (const row of rows) {
    lines.push(
      columns
        .map((c) => {
          const v = row[c];
          if (v === null) return "";
          if (typeof v === "boolean") return v ? "1" : "0";
          return String(v);
        })
        .join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}

/** summary.json text: the summary with bigints as decimal strings. */
export function summaryToJson(summary: SimSummary): string {
  return `${JSON.stringify(toJsonValue(summary), null, 2)}\n`;
}
