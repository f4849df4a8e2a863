import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { isAddress, type Address } from "viem";

/** A provider that served data failing verification, and why (as recorded on disk). */
export type BadProvider = { provider: Address; reason: string };

/** Reads the recorded bad providers; a missing or unreadable file means none. */
export async function readBadProviders(path: string): Promise<BadProvider[]> {
  try {
    const json = JSON.parse(await readFile(path, "utf8")) as unknown;
    if (!Array.isArray(json)) return [];
    return json.filter((b): b is BadProvider => typeof b?.provider === "string" && isAddress(b.provider) && typeof b?.reason === "string");
  } catch {
    return [];
  }
}

/** Writes the bad providers atomically (temp file + rename), creating the directory. */
export async function writeBadProviders(path: string, bad: readonly BadProvider[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(bad, null, 2)}\n`);
  await rename(tmp, path);
}
