import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Where a generated admin token is kept (mode 0600), so it survives restarts and the CLI finds it. */
export const ADMIN_TOKEN_FILE = "admin.token";

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The admin listener's token: the configured one; none on loopback without one (only this machine
 * can connect); otherwise the one in `dataDir/admin.token`, generated (32 random bytes) on first use.
 */
export async function resolveAdminToken({ host, configured, dataDir }: { host: string; configured: string | undefined; dataDir: string }): Promise<string | undefined> {
  if (configured !== undefined) return configured;
  if (isLoopbackHost(host)) return undefined;
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  try {
    const existing = (await readFile(path, "utf8")).trim();
    if (existing.length >= 32) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const token = randomBytes(32).toString("base64url");
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return token;
}

/** Reads a token the node generated in `dataDir`, if any (the CLI's way to reach a remote admin listener). */
export async function readAdminToken(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dataDir, ADMIN_TOKEN_FILE), "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** Compares a presented token with the expected one in constant time (over their sha256, so lengths leak nothing). */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  return presented !== undefined && timingSafeEqual(digest(expected), digest(presented));
}
