import { createHash } from "node:crypto";
import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { ManifestFile } from "../protocol/manifest.ts";
import { chunkRange } from "../protocol/manifest.ts";
import { ResumeStateError } from "./errors.ts";

/** A download in progress: `<out>.part` holds the bytes, `<out>.part.state` the verified chunks. */
export type PartialFile = {
  readonly partPath: string;
  readonly statePath: string;
  /** Chunks already verified (restored from a previous run, or written in this one). */
  isVerified(index: number): boolean;
  verifiedCount(): number;
  /** Bytes of the verified chunks. */
  verifiedBytes(): bigint;
  /** Writes a chunk that has already been verified against the manifest, then records it. */
  writeVerified(index: number, data: Uint8Array): Promise<void>;
  /** Renames `.part` to the final name and removes the state file; all chunks must be verified. */
  complete(): Promise<void>;
  /** Saves the state and closes the file, keeping both for a later resume. */
  close(): Promise<void>;
};

type StateJson = { version: 1; contentId: string; path: string; size: string; chunkSize: number; verified: string };

/**
 * Opens (or resumes) the partial download of `file` into `out`.
 *
 * On resume every chunk the state file lists is re-hashed from the `.part` file before it is
 * trusted: the state is saved after the data is written but without fsync, so a crash can leave a
 * state that runs ahead of the data. Re-hashing costs a read of what is already there and turns
 * that case into a refetch instead of a corrupt file.
 */
export async function openPartialFile(p: { out: string; contentId: string; chunkSize: number; file: ManifestFile }): Promise<PartialFile> {
  const partPath = `${p.out}.part`;
  const statePath = `${p.out}.part.state`;
  const n = p.file.chunks.length;
  const verified = new Uint8Array(Math.ceil(n / 8));
  await mkdir(dirname(p.out), { recursive: true });

  let previous: StateJson | undefined;
  try {
    previous = JSON.parse(await readFile(statePath, "utf8")) as StateJson;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new ResumeStateError({ statePath, reason: "the state file is unreadable" });
  }
  if (previous !== undefined) {
    if (previous.contentId !== p.contentId || previous.path !== p.file.path || previous.size !== p.file.size.toString() || previous.chunkSize !== p.chunkSize) {
      throw new ResumeStateError({ statePath, reason: `it belongs to ${previous.contentId}/${previous.path}, not ${p.contentId}/${p.file.path}` });
    }
    const bits = Buffer.from(previous.verified, "base64");
    if (bits.length === verified.length) verified.set(bits);
  }
  const get = (i: number) => ((verified[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
  const set = (i: number) => {
    verified[i >> 3] = (verified[i >> 3] ?? 0) | (1 << (i & 7));
  };
  const clear = (i: number) => {
    verified[i >> 3] = (verified[i >> 3] ?? 0) & ~(1 << (i & 7));
  };

  let handle: FileHandle;
  try {
    handle = await open(partPath, previous === undefined ? "w+" : "r+");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    handle = await open(partPath, "w+");
    verified.fill(0);
  }
  // Re-verify what the state claims (see above).
  for (let i = 0; i < n; i++) {
    if (!get(i)) continue;
    const { start, end } = chunkRange(p.file.size, p.chunkSize, i);
    const length = Number(end - start);
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buf, 0, length, Number(start));
    if (bytesRead !== length || createHash("sha256").update(buf).digest("hex") !== p.file.chunks[i]) clear(i);
  }
  await handle.truncate(Number(p.file.size));

  let saving: Promise<void> | undefined;
  let dirty = false;
  const writeState = async () => {
    const json: StateJson = { version: 1, contentId: p.contentId, path: p.file.path, size: p.file.size.toString(), chunkSize: p.chunkSize, verified: Buffer.from(verified).toString("base64") };
    const tmp = `${statePath}.tmp`;
    await writeFile(tmp, JSON.stringify(json));
    await rename(tmp, statePath);
  };
  // Coalesce saves: while one is in flight, later marks only set `dirty` and ride the next save.
  const save = (): Promise<void> => {
    if (saving !== undefined) {
      dirty = true;
      return saving;
    }
    saving = (async () => {
      try {
        do {
          dirty = false;
          await writeState();
        } while (dirty);
      } finally {
        saving = undefined;
      }
    })();
    return saving;
  };
  let count = 0;
  let bytes = 0n;
  for (let i = 0; i < n; i++) {
    if (!get(i)) continue;
    count++;
    const { start, end } = chunkRange(p.file.size, p.chunkSize, i);
    bytes += end - start;
  }
  let closed = false;
  return {
    partPath,
    statePath,
    isVerified: get,
    verifiedCount: () => count,
    verifiedBytes: () => bytes,
    async writeVerified(index, data) {
      if (get(index)) return;
      const { start, end } = chunkRange(p.file.size, p.chunkSize, index);
      if (BigInt(data.length) !== end - start) throw new RangeError(`chunk ${index} has ${data.length} bytes, expected ${end - start}`);
      await handle.write(data, 0, data.length, Number(start));
      if (get(index)) return;
      set(index);
      count++;
      bytes += end - start;
      await save();
    },
    async complete() {
      if (count !== n) throw new RangeError(`${n - count} chunks of ${p.file.path} are not verified yet`);
      closed = true;
      await handle.close();
      await saving;
      await rename(partPath, p.out);
      await rm(statePath, { force: true });
    },
    async close() {
      if (closed) return;
      closed = true;
      await saving;
      await writeState();
      await handle.close();
    },
  };
}
