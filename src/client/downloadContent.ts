import { join } from "node:path";
import type { Manifest, ManifestFile } from "../protocol/manifest.ts";
import { FileNotInContentError } from "./errors.ts";
import { openPartialFile, type PartialFile } from "./partialFile.ts";
import type { ProviderPool, ProviderReport } from "./providerPool.ts";

/** Progress of a download, reported after every verified chunk. */
export type DownloadProgress = {
  totalBytes: bigint;
  /** Verified bytes on disk, including those resumed from an earlier run. */
  verifiedBytes: bigint;
  /** Bytes already verified by an earlier run (not fetched again). */
  resumedBytes: bigint;
  /** Bytes fetched and verified in this run. */
  fetchedBytes: bigint;
  /** Providers serving right now. */
  providers: number;
  /** Expected value of the tickets signed so far, in wei. */
  expectedPaid: bigint;
  elapsedMs: number;
};

/** Options of `downloadContent`. */
export type DownloadContentParameters = {
  pool: ProviderPool;
  contentId: string;
  /** One file of the content; the whole content when omitted. */
  path?: string | undefined;
  /** The output file (with `path`) or directory (without). */
  out: string;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: DownloadProgress) => void) | undefined;
  /** Chunks in flight in total (spread over providers by the pool). */
  concurrency?: number;
  now?: () => number;
};

/** What a finished download produced. */
export type DownloadResult = {
  manifest: Manifest;
  files: { path: string; out: string; size: bigint }[];
  fetchedBytes: bigint;
  resumedBytes: bigint;
  expectedPaid: bigint;
  providers: ProviderReport[];
};

/**
 * Downloads a file (or a whole content item) with verification, payment and resume.
 *
 * Each file is written at its chunks' offsets into `<out>.part`; `<out>.part.state` records the
 * verified chunks, so a second run after an interruption fetches only the missing ones. A file is
 * renamed to `out` once every chunk is verified. At the end the pool pays the last partial ticket.
 */
export async function downloadContent(p: DownloadContentParameters): Promise<DownloadResult> {
  const now = p.now ?? Date.now;
  const started = now();
  const manifest = await p.pool.fetchManifest(p.contentId, p.signal);
  let files: ManifestFile[];
  if (p.path !== undefined && p.path !== "") {
    const file = manifest.files.find((f) => f.path === p.path);
    if (file === undefined) throw new FileNotInContentError({ contentId: p.contentId, path: p.path });
    files = [file];
  } else {
    files = manifest.files;
  }
  const outOf = (f: ManifestFile) => (p.path ? p.out : join(p.out, ...f.path.split("/")));

  const partials: { file: ManifestFile; part: PartialFile; remaining: number }[] = [];
  const controller = new AbortController();
  const signal = p.signal ? AbortSignal.any([p.signal, controller.signal]) : controller.signal;
  try {
    for (const file of files) {
      const part = await openPartialFile({ out: outOf(file), contentId: p.contentId, chunkSize: manifest.chunkSize, file });
      partials.push({ file, part, remaining: file.chunks.length - part.verifiedCount() });
    }
    const totalBytes = files.reduce((s, f) => s + f.size, 0n);
    const resumedBytes = partials.reduce((s, x) => s + x.part.verifiedBytes(), 0n);
    let fetchedBytes = 0n;
    const report = () =>
      p.onProgress?.({
        totalBytes,
        verifiedBytes: resumedBytes + fetchedBytes,
        resumedBytes,
        fetchedBytes,
        providers: p.pool.activeProviders(),
        expectedPaid: p.pool.expectedPaid(),
        elapsedMs: now() - started,
      });
    report();

    const tasks = partials.flatMap((x) => x.file.chunks.map((_, index) => ({ x, index })).filter((t) => !x.part.isVerified(t.index)));
    let next = 0;
    const completions: Promise<void>[] = [];
    const finish = (x: (typeof partials)[number]) => {
      const done = x.part.complete();
      done.catch(() => undefined); // awaited below; a worker failure must not leave it unobserved
      completions.push(done);
    };
    for (const x of partials) if (x.remaining === 0) finish(x);

    const worker = async () => {
      while (next < tasks.length) {
        const task = tasks[next++]!;
        const data = await p.pool.fetchChunk({ contentId: p.contentId, chunkSize: manifest.chunkSize, file: task.x.file, index: task.index, signal });
        await task.x.part.writeVerified(task.index, data);
        fetchedBytes += BigInt(data.length);
        if (--task.x.remaining === 0) finish(task.x);
        report();
      }
    };
    const workers = Array.from({ length: Math.max(1, Math.min(p.concurrency ?? 9, tasks.length)) }, worker);
    try {
      await Promise.all(workers.map((w) => w.catch((error: unknown) => {
        // Stop the other workers; the first error is the one reported.
        controller.abort(error);
        throw error;
      })));
    } catch (error) {
      await Promise.allSettled(workers);
      throw error;
    }
    await Promise.all(completions);
    await p.pool.settle(p.signal);
    report();
    return {
      manifest,
      files: files.map((f) => ({ path: f.path, out: outOf(f), size: f.size })),
      fetchedBytes,
      resumedBytes,
      expectedPaid: p.pool.expectedPaid(),
      providers: p.pool.report(),
    };
  } finally {
    // Keep .part and .part.state of unfinished files for the next run; pay what was verified.
    await Promise.allSettled(partials.filter((x) => x.remaining > 0).map((x) => x.part.close()));
    if (signal.aborted) await p.pool.settle(AbortSignal.timeout(5_000)).catch(() => undefined);
  }
}
