import { privateKeyToAccount } from "viem/accounts";
import { BaseError } from "../../protocol/errors.ts";
import { DEFAULT_CHUNK_SIZE } from "../../protocol/manifest.ts";
import { publishDir } from "../../content/publishDir.ts";
import type { Command } from "../command.ts";

/** A publish flag is missing or malformed. */
export class PublishUsageError extends BaseError {
  override name = "PublishUsageError";
}

const command: Command = {
  summary: "Chunk, hash and sign a directory; print its content id.",
  usage: "<dir> [--chunk-size N] [--key 0x.. | env BANDMINT_KEY] [--out manifest.json]",
  options: {
    "chunk-size": { type: "string", default: String(DEFAULT_CHUNK_SIZE) },
    key: { type: "string" },
    out: { type: "string" },
  },
  async run({ values, positionals, signal, stdout, stderr }) {
    const [dir, ...extra] = positionals;
    if (dir === undefined || extra.length > 0) throw new PublishUsageError("Give exactly one directory to publish.");
    const chunkSizeText = String(values["chunk-size"]);
    if (!/^[1-9][0-9]*$/.test(chunkSizeText)) throw new PublishUsageError(`--chunk-size must be a positive integer, got "${chunkSizeText}".`);
    const key = (values.key as string | undefined) ?? process.env.BANDMINT_KEY;
    if (key === undefined || !/^0x[0-9a-fA-F]{64}$/.test(key))
      throw new PublishUsageError("A publisher key is needed: --key 0x<64 hex> or the BANDMINT_KEY environment variable.");
    const { manifest, manifestPath, skipped } = await publishDir({
      dir,
      signer: privateKeyToAccount(key as `0x${string}`),
      chunkSize: Number(chunkSizeText),
      now: Math.floor(Date.now() / 1000),
      ...(values.out !== undefined ? { out: values.out as string } : {}),
      signal,
    });
    for (const s of skipped) stderr.write(`skipped (not a regular file): ${s}\n`);
    const bytes = manifest.files.reduce((a, f) => a + f.size, 0n);
    stderr.write(`${manifest.files.length} files, ${bytes} bytes, manifest ${manifestPath}\n`);
    stdout.write(`${manifest.contentId}\n`);
    return 0;
  },
};

export default command;
