import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileDigest, parseManifest, serializeManifest, verifyManifest, type Manifest, type ManifestFile } from "../../protocol/manifest.ts";
import type { EdgeLogger } from "./edgeLogger.ts";
import { ContentNotFoundError, OriginFailedError } from "./errors.ts";
import type { OriginFetcher } from "./originFetcher.ts";

/** A verified manifest with what the edge needs per request precomputed. */
export type ResolvedContent = {
  manifest: Manifest;
  /** The manifest as served at /c/<id>/manifest.json. */
  json: Buffer;
  files: Map<string, { file: ManifestFile; etag: string }>;
};

const MAX_MANIFEST_BYTES = 64 << 20;

/**
 * Finds a content's manifest: memory, then `<cacheDir>/manifests/<id>.json`, then each origin in
 * turn. Whatever the source, the manifest is verified (root == content id, publisher signature)
 * before use. Concurrent requests for one content id share one lookup.
 */
export class ManifestResolver {
  #dir: string;
  #origins: string[];
  #fetcher: OriginFetcher;
  #logger: EdgeLogger;
  #resolved = new Map<string, ResolvedContent>();
  #inflight = new Map<string, Promise<ResolvedContent>>();

  constructor(options: { dir: string; origins: string[]; fetcher: OriginFetcher; logger: EdgeLogger }) {
    this.#dir = options.dir;
    this.#origins = options.origins;
    this.#fetcher = options.fetcher;
    this.#logger = options.logger;
  }

  /** The content if it is already resolved in memory (the hot path: no promise). */
  peek(contentId: string): ResolvedContent | undefined {
    return this.#resolved.get(contentId);
  }

  /** Resolves and verifies a content's manifest; throws ContentNotFoundError or OriginFailedError. */
  get(contentId: string, signal?: AbortSignal): Promise<ResolvedContent> {
    const known = this.#resolved.get(contentId);
    if (known !== undefined) return Promise.resolve(known);
    let p = this.#inflight.get(contentId);
    if (p === undefined) {
      p = this.#load(contentId, signal).finally(() => this.#inflight.delete(contentId));
      this.#inflight.set(contentId, p);
    }
    return p;
  }

  async #load(contentId: string, signal?: AbortSignal): Promise<ResolvedContent> {
    const path = join(this.#dir, `${contentId}.json`);
    try {
      const manifest = await verifyManifest(parseManifest(JSON.parse(await readFile(path, "utf8"))), { expectedContentId: contentId });
      return this.#remember(manifest);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") this.#logger.warn("cached manifest invalid, refetching", { contentId, error: String(error) });
    }
    const failures: { origin: string; reason: string }[] = [];
    let notFound = 0;
    for (const origin of this.#origins) {
      try {
        const body = await this.#fetcher.get(`${origin.replace(/\/+$/, "")}/${contentId}/manifest.json`, { maxBytes: MAX_MANIFEST_BYTES, ...(signal ? { signal } : {}) });
        if (body === undefined) {
          notFound++;
          failures.push({ origin, reason: "404" });
          continue;
        }
        const manifest = await verifyManifest(parseManifest(JSON.parse(body.toString("utf8"))), { expectedContentId: contentId });
        await mkdir(this.#dir, { recursive: true });
        await writeFile(`${path}.tmp`, serializeManifest(manifest));
        await rename(`${path}.tmp`, path);
        return this.#remember(manifest);
      } catch (error) {
        const e = error as { shortMessage?: string; message?: string };
        failures.push({ origin, reason: e.shortMessage ?? e.message ?? String(error) });
        this.#logger.warn("origin failed for manifest", { origin, contentId, error: String(error) });
      }
    }
    if (notFound === this.#origins.length && notFound > 0) throw new ContentNotFoundError({ contentId });
    throw new OriginFailedError({ what: `the manifest of ${contentId}`, failures });
  }

  #remember(manifest: Manifest): ResolvedContent {
    const resolved: ResolvedContent = {
      manifest,
      json: Buffer.from(serializeManifest(manifest)),
      files: new Map(manifest.files.map((file) => [file.path, { file, etag: `"${fileDigest(file)}"` }])),
    };
    this.#resolved.set(manifest.contentId, resolved);
    return resolved;
  }
}
