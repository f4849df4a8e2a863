// Shared set-up for the content and edge tests: a published temp directory, a counting origin.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { OriginServer } from "../../src/content/originServer.ts";
import { publishDir } from "../../src/content/publishDir.ts";
import type { Manifest } from "../../src/protocol/manifest.ts";

export const publisher = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
export const CHUNK = 4096;

/** A temp dir that removes itself. */
export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `bandmint-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Writes a small content tree: nested dirs, an empty file, a multi-chunk file with a partial last chunk. */
export async function writeContent(dir: string, bigSize = CHUNK * 5 + 123): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {
    "index.html": Buffer.from("<!doctype html><p>hi</p>\n"),
    "empty.txt": Buffer.alloc(0),
    "video/hls/index.m3u8": Buffer.from("#EXTM3U\n#EXT-X-ENDLIST\n"),
    "video/hls/big.ts": randomBytes(bigSize),
    "deep/a/b/c/data.bin": randomBytes(CHUNK),
  };
  for (const [p, bytes] of Object.entries(files)) {
    await mkdir(join(dir, p, ".."), { recursive: true });
    await writeFile(join(dir, p), bytes);
  }
  return files;
}

/** A published tree served by a running origin that counts its requests by URL. */
export type PublishedOrigin = {
  dir: string;
  manifest: Manifest;
  files: Record<string, Buffer>;
  url: string;
  origin: OriginServer;
  requests: string[];
  close(): Promise<void>;
};

/** Publishes a fresh content tree and starts an origin for it. */
export async function publishedOrigin(options: { bigSize?: number; onRequest?: (req: IncomingMessage) => void } = {}): Promise<PublishedOrigin> {
  const tmp = await tempDir("origin");
  const files = await writeContent(tmp.path, options.bigSize);
  const { manifest } = await publishDir({ dir: tmp.path, signer: publisher, chunkSize: CHUNK, now: 1_700_000_000 });
  const requests: string[] = [];
  const origin = new OriginServer({
    dir: tmp.path,
    onRequest: (req) => {
      requests.push(`${req.url}${req.headers.range ? ` ${req.headers.range}` : ""}`);
      options.onRequest?.(req);
    },
  });
  const url = await origin.start();
  return {
    dir: tmp.path,
    manifest,
    files,
    url,
    origin,
    requests,
    async close() {
      await origin.stop();
      await tmp.remove();
    },
  };
}
