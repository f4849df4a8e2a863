import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

/**
 * sha256 of every `chunkSize` slice of a file, read with positional reads into one reused buffer,
 * so a file of any size costs one chunk of memory. Returns the size read and the hex digests.
 */
export async function hashFile(path: string, chunkSize: number, signal?: AbortSignal): Promise<{ size: bigint; chunks: string[] }> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(chunkSize);
    const chunks: string[] = [];
    let position = 0;
    for (;;) {
      signal?.throwIfAborted();
      // Fill the whole chunk: a short read does not mean end of file.
      let filled = 0;
      while (filled < chunkSize) {
        const { bytesRead } = await handle.read(buffer, filled, chunkSize - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled > 0) chunks.push(createHash("sha256").update(buffer.subarray(0, filled)).digest("hex"));
      position += filled;
      if (filled < chunkSize) break;
    }
    return { size: BigInt(position), chunks };
  } finally {
    await handle.close();
  }
}
