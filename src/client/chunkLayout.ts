/** One file of a content item as the client sees it: its chunks' hashes in order. */
export type ContentFile = {
  path: string;
  size: bigint;
  mediaType: string;
  /** sha256 (lowercase hex, no 0x) of every chunk, in order. */
  chunks: readonly string[];
};

/** Byte range [start, end) of chunk `index` of a file (the last chunk may be short). */
export function chunkRange(size: bigint, chunkSize: number, index: number): { start: bigint; end: bigint } {
  const start = BigInt(index) * BigInt(chunkSize);
  const end = start + BigInt(chunkSize) < size ? start + BigInt(chunkSize) : size;
  return { start, end };
}

/** Indices of the chunks that hold bytes [start, end) of a file (end exclusive, start < end). */
export function chunksForRange(chunkSize: number, start: bigint, end: bigint): { first: number; last: number } {
  const cs = BigInt(chunkSize);
  return { first: Number(start / cs), last: Number((end - 1n) / cs) };
}
