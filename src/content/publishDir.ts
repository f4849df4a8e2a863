import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BaseError } from "../protocol/errors.ts";
import {
  buildManifest,
  DEFAULT_CHUNK_SIZE,
  mediaTypeFor,
  serializeManifest,
  signManifest,
  validateManifestPath,
  type Manifest,
  type ManifestFile,
  type ManifestSigner,
} from "../protocol/manifest.ts";
import { hashFile } from "./hashFile.ts";
import { MANIFEST_DIR, scanDir } from "./scanDir.ts";

/** The directory to publish cannot be read, or holds a file the manifest cannot describe. */
export class PublishError extends BaseError {
  override name = "PublishError";
  dir: string;
  constructor({ dir, reason, cause }: { dir: string; reason: string; cause?: unknown }) {
    super(`Cannot publish ${dir}: ${reason}`, { cause });
    this.dir = dir;
  }
}

/** What `publishDir` needs. `now` is unix seconds (passed in so tests are deterministic). */
export type PublishDirParameters = {
  dir: string;
  signer: ManifestSigner;
  chunkSize?: number;
  now: number;
  /** Where to write the manifest; default `<dir>/.bandmint/<contentId>.json`. */
  out?: string;
  signal?: AbortSignal;
};

/** Scans, hashes (streaming) and signs a directory; writes the manifest and returns it with its path. */
export async function publishDir(params: PublishDirParameters): Promise<{ manifest: Manifest; manifestPath: string; skipped: string[] }> {
  const { dir, signer, signal } = params;
  const chunkSize = params.chunkSize ?? DEFAULT_CHUNK_SIZE;
  let scanned;
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error("not a directory");
    scanned = await scanDir(dir);
  } catch (cause) {
    throw new PublishError({ dir, reason: (cause as Error).message, cause });
  }
  const files: ManifestFile[] = [];
  for (const path of scanned.files) {
    try {
      validateManifestPath(path);
    } catch (cause) {
      throw new PublishError({ dir, reason: (cause as BaseError).shortMessage ?? String(cause), cause });
    }
    const { size, chunks } = await hashFile(join(dir, path), chunkSize, signal);
    files.push({ path, size, mediaType: mediaTypeFor(path), chunks });
  }
  const manifest = await signManifest(buildManifest({ files, publisher: signer.address, chunkSize, createdAt: params.now }), signer);
  const manifestPath = params.out ?? join(dir, MANIFEST_DIR, `${manifest.contentId}.json`);
  await mkdir(join(manifestPath, ".."), { recursive: true });
  // Write then rename: an origin never serves a half-written manifest.
  await writeFile(`${manifestPath}.tmp`, serializeManifest(manifest));
  await rename(`${manifestPath}.tmp`, manifestPath);
  return { manifest, manifestPath, skipped: scanned.skipped };
}
