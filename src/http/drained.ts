import type { Writable } from "node:stream";

/** Resolves when `stream` drains its write buffer, or closes (whichever comes first). */
export function drained(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
