import { readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/** Directory (under the content root) where `publish` writes manifests; never published itself. */
export const MANIFEST_DIR = ".bandmint";

/**
 * Regular files under `root`, as sorted posix paths relative to it. Skips the `.bandmint` directory
 * at the root and anything that is not a regular file (symlinks included: following them could
 * publish files from outside the directory). Returns the skipped paths too, for the user.
 */
export async function scanDir(root: string): Promise<{ files: string[]; skipped: string[] }> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  const skipped: string[] = [];
  for (const e of entries) {
    const rel = relative(root, join(e.parentPath, e.name)).split(sep).join("/");
    if (rel === MANIFEST_DIR || rel.startsWith(`${MANIFEST_DIR}/`)) continue;
    if (e.isFile()) files.push(rel);
    else if (!e.isDirectory()) skipped.push(rel);
  }
  files.sort();
  return { files, skipped };
}
