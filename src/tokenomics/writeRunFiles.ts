import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Model } from "./modelSchema.ts";
import { renderReport } from "./renderReport.ts";
import { epochsToCsv, summaryToJson, toJsonValue } from "./serializeRun.ts";
import type { SimResult } from "./simulate.ts";

/** Writes epochs.csv, epochs.json, summary.json and report.html of a run into `dir` (created if needed); returns the paths. */
export async function writeRunFiles(dir: string, model: Model, result: SimResult): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ["epochs.csv", epochsToCsv(result.rows)],
    ["epochs.json", `${JSON.stringify(toJsonValue(result.rows))}\n`],
    ["summary.json", summaryToJson(result.summary)],
    ["report.html", renderReport(model, result)],
  ];
  const paths: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    await writeFile(path, text);
    paths.push(path);
  }
  return paths;
}
