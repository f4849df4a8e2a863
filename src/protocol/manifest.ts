// Content manifests (docs/protocol/content.md): what a publisher signs and what every consumer and
// edge checks each chunk against. Pure: builds, validates and hashes from given bytes and hashes;
// reading files is src/content's job.
import { createHash } from "node:crypto";
import { getAddress, isAddress, recoverMessageAddress, type Address, type Hex } from "viem";
import { BaseError } from "./errors.ts";

/** The manifest format version this module reads and writes. */
export const MANIFEST_VERSION = 1;
/** Default chunk size: 1 MiB. */
export const DEFAULT_CHUNK_SIZE = 1_048_576;
/** Smallest accepted chunk size (keeps manifests of large files bounded). */
export const MIN_CHUNK_SIZE = 1024;
/** Largest accepted chunk size (a chunk is verified in memory, so it must fit comfortably). */
export const MAX_CHUNK_SIZE = 64 * 1_048_576;
/** Largest accepted file size: 2^64 - 1 bytes. */
export const MAX_FILE_SIZE = (1n << 64n) - 1n;
/** Path of the manifest itself under a content id; no published file may use it. */
export const RESERVED_PATH = "manifest.json";

/** One file of a manifest. `chunks` are lowercase sha256 hex digests (64 chars, no 0x). */
export type ManifestFile = {
  path: string;
  size: bigint;
  mediaType: string;
  chunks: string[];
};

/** Everything the root hash covers. Files are sorted by the UTF-8 bytes of their path. */
export type UnsignedManifest = {
  version: typeof MANIFEST_VERSION;
  chunkSize: number;
  /** Unix time in seconds. */
  createdAt: number;
  publisher: Address;
  files: ManifestFile[];
};

/** A signed manifest: `contentId` is the root (64 lowercase hex chars), `signature` EIP-191 over it. */
export type Manifest = UnsignedManifest & { contentId: string; signature: Hex };

/** Wire (JSON) form of a manifest file: size as a decimal string. */
export type ManifestFileJson = { path: string; size: string; mediaType: string; chunks: string[] };
/** Wire (JSON) form of a signed manifest. */
export type ManifestJson = {
  version: number;
  contentId: string;
  chunkSize: number;
  createdAt: number;
  publisher: string;
  files: ManifestFileJson[];
  signature: string;
};

/** A manifest (or one of its fields) is malformed; `field` names the offending field. */
export class InvalidManifestError extends BaseError {
  override name = "InvalidManifestError";
  static override readonly stackless = true;
  field: string;
  reason: string;
  constructor({ field, reason, cause }: { field: string; reason: string; cause?: unknown }) {
    super(`Invalid manifest: ${field} ${reason}.`, { cause });
    this.field = field;
    this.reason = reason;
  }
}

/** The manifest's root hash is not the content id it claims (or was fetched under). */
export class ManifestRootMismatchError extends BaseError {
  override name = "ManifestRootMismatchError";
  static override readonly stackless = true;
  expected: string;
  computed: string;
  constructor({ expected, computed }: { expected: string; computed: string }) {
    super("Manifest root hash does not match its content id.", {
      metaMessages: [`Content id: ${expected}`, `Computed:   ${computed}`],
    });
    this.expected = expected;
    this.computed = computed;
  }
}

/** The manifest signature does not recover to its `publisher`. */
export class ManifestSignatureError extends BaseError {
  override name = "ManifestSignatureError";
  static override readonly stackless = true;
  publisher: Address;
  recovered: Address | undefined;
  constructor({ publisher, recovered, cause }: { publisher: Address; recovered?: Address; cause?: unknown }) {
    super("Manifest is not signed by its publisher.", {
      cause,
      metaMessages: [`Publisher: ${publisher}`, ...(recovered ? [`Recovered: ${recovered}`] : [])],
    });
    this.publisher = publisher;
    this.recovered = recovered;
  }
}

/** Bytes of a chunk do not hash to the manifest's digest for it. */
export class ChunkHashMismatchError extends BaseError {
  override name = "ChunkHashMismatchError";
  static override readonly stackless = true;
  path: string;
  index: number;
  expected: string;
  actual: string;
  constructor({ path, index, expected, actual, source }: { path: string; index: number; expected: string; actual: string; source?: string }) {
    super(`Chunk ${index} of "${path}" does not match the manifest${source ? ` (from ${source})` : ""}.`, {
      metaMessages: [`Expected sha256: ${expected}`, `Actual sha256:   ${actual}`],
    });
    this.path = path;
    this.index = index;
    this.expected = expected;
    this.actual = actual;
  }
}

const MEDIA_TYPES: Record<string, string> = {
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
  m4s: "video/iso.segment",
  mp4: "video/mp4",
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  json: "application/json",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  txt: "text/plain; charset=utf-8",
};

/** Media type for a path, from its (case-insensitive) extension; `application/octet-stream` otherwise. */
export function mediaTypeFor(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return "application/octet-stream";
  return MEDIA_TYPES[base.slice(dot + 1).toLowerCase()] ?? "application/octet-stream";
}

/** sha256 of `bytes` as 64 lowercase hex chars (node:crypto: fast enough for bulk data). */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Number of chunks of a file of `size` bytes: ceil(size / chunkSize); 0 for an empty file. */
export function chunkCount(size: bigint, chunkSize: number): number {
  return Number((size + BigInt(chunkSize) - 1n) / BigInt(chunkSize));
}

/** Byte range [start, end) that chunk `index` of a file covers. */
export function chunkRange(size: bigint, chunkSize: number, index: number): { start: bigint; end: bigint } {
  const start = BigInt(index) * BigInt(chunkSize);
  const end = start + BigInt(chunkSize);
  return { start, end: end < size ? end : size };
}

// Control characters would break the line-based canonical form; backslashes and colons make paths
// that cannot be written on Windows and are a common traversal trick.
const FORBIDDEN_PATH_CHARS = /[\u0000-\u001f\u007f\\:]/;

/** Throws InvalidManifestError unless `path` is a clean relative posix path (no `..`, `.`, empty or absolute). */
export function validateManifestPath(path: string, field = "path"): void {
  const fail = (reason: string) => {
    throw new InvalidManifestError({ field, reason: `${JSON.stringify(path)} ${reason}` });
  };
  if (typeof path !== "string" || path.length === 0) fail("is empty");
  if (Buffer.byteLength(path) > 1024) fail("is longer than 1024 bytes");
  if (path.startsWith("/")) fail("is absolute");
  if (FORBIDDEN_PATH_CHARS.test(path)) fail("contains a control character, backslash or colon");
  if (path.normalize("NFC") !== path) fail("is not in Unicode NFC form");
  for (const segment of path.split("/")) {
    if (segment === "") fail("has an empty segment");
    if (segment === "." || segment === "..") fail(`has a "${segment}" segment`);
  }
  if (path === RESERVED_PATH) fail(`is reserved (the manifest is served at /<contentId>/${RESERVED_PATH})`);
}

const HEX64 = /^[0-9a-f]{64}$/;
const MEDIA_TYPE = /^[\x21-\x7e]+(?: ?;[\x20-\x7e]*)?$/;

/** True if `id` looks like a content id (64 lowercase hex chars). */
export function isContentId(id: string): boolean {
  return HEX64.test(id);
}

function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Checks every field and the cross-field rules (sorted unique paths, chunk counts); throws InvalidManifestError. */
export function validateManifest(manifest: UnsignedManifest): void {
  const { version, chunkSize, createdAt, publisher, files } = manifest;
  if (version !== MANIFEST_VERSION) throw new InvalidManifestError({ field: "version", reason: `must be ${MANIFEST_VERSION}, got ${String(version)}` });
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE)
    throw new InvalidManifestError({ field: "chunkSize", reason: `must be an integer in [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}]` });
  if (!Number.isSafeInteger(createdAt) || createdAt < 0) throw new InvalidManifestError({ field: "createdAt", reason: "must be a non-negative integer (unix seconds)" });
  if (typeof publisher !== "string" || !isAddress(publisher, { strict: false }))
    throw new InvalidManifestError({ field: "publisher", reason: "must be a 20-byte hex address" });
  if (!Array.isArray(files)) throw new InvalidManifestError({ field: "files", reason: "must be an array" });
  // Paths this one extends (each a prefix of the next). Files are sorted by UTF-8 bytes, so every
  // path that starts with P comes after P and before any that does not: a file used as a directory
  // is found in time linear in the manifest. (Collecting every path's parent directories is
  // quadratic in the depth: seconds of CPU for a 1 MB manifest of deep paths from a hostile peer.)
  const extended: string[] = [];
  files.forEach((file, i) => {
    const field = `files[${i}]`;
    validateManifestPath(file.path, `${field}.path`);
    const previous = files[i - 1];
    if (previous !== undefined && comparePaths(previous.path, file.path) >= 0)
      throw new InvalidManifestError({ field: `${field}.path`, reason: "is not strictly after the previous path in UTF-8 byte order (duplicate or unsorted)" });
    if (typeof file.size !== "bigint" || file.size < 0n || file.size > MAX_FILE_SIZE)
      throw new InvalidManifestError({ field: `${field}.size`, reason: "must be an integer in [0, 2^64)" });
    if (typeof file.mediaType !== "string" || !MEDIA_TYPE.test(file.mediaType) || file.mediaType.length > 255)
      throw new InvalidManifestError({ field: `${field}.mediaType`, reason: "must be a printable ASCII media type" });
    if (!Array.isArray(file.chunks)) throw new InvalidManifestError({ field: `${field}.chunks`, reason: "must be an array" });
    const expected = chunkCount(file.size, chunkSize);
    if (file.chunks.length !== expected)
      throw new InvalidManifestError({ field: `${field}.chunks`, reason: `has ${file.chunks.length} entries, size and chunkSize need ${expected}` });
    file.chunks.forEach((c, j) => {
      if (typeof c !== "string" || !HEX64.test(c)) throw new InvalidManifestError({ field: `${field}.chunks[${j}]`, reason: "must be 64 lowercase hex chars" });
    });
    // A path that is both a file and a directory cannot be written to any file system.
    while (extended.length > 0 && !file.path.startsWith(extended.at(-1)!)) extended.pop();
    for (const p of extended)
      if (file.path.charCodeAt(p.length) === 0x2f) throw new InvalidManifestError({ field: "files", reason: `use "${p}" both as a file and as a directory` });
    extended.push(file.path);
  });
}

/** Builds a validated unsigned manifest; sorts the files by path. */
export function buildManifest(params: {
  files: ManifestFile[];
  publisher: Address;
  chunkSize?: number;
  createdAt: number;
}): UnsignedManifest {
  const manifest: UnsignedManifest = {
    version: MANIFEST_VERSION,
    chunkSize: params.chunkSize ?? DEFAULT_CHUNK_SIZE,
    createdAt: params.createdAt,
    publisher: getAddress(params.publisher),
    files: [...params.files].sort((a, b) => comparePaths(a.path, b.path)),
  };
  validateManifest(manifest);
  return manifest;
}

/**
 * The canonical serialization the root hashes (docs/protocol/content.md §2): UTF-8 text, one
 * `key:value` per line, every line ending in `\n`, files in manifest order (sorted by UTF-8 path
 * bytes). Line based rather than JSON so that a re-implementation needs no JSON canonicalizer.
 */
export function canonicalManifest(manifest: UnsignedManifest): string {
  const lines = [
    `bandmint-manifest:${manifest.version}`,
    `chunkSize:${manifest.chunkSize}`,
    `createdAt:${manifest.createdAt}`,
    `publisher:${manifest.publisher.toLowerCase()}`,
    `files:${manifest.files.length}`,
  ];
  for (const f of manifest.files) {
    lines.push(`path:${f.path}`, `size:${f.size}`, `mediaType:${f.mediaType}`, `chunks:${f.chunks.length}`, ...f.chunks);
  }
  return `${lines.join("\n")}\n`;
}

/** Root hash = content id: sha256 of the canonical serialization, 64 lowercase hex chars. */
export function manifestRoot(manifest: UnsignedManifest): string {
  validateManifest(manifest);
  return createHash("sha256").update(canonicalManifest(manifest), "utf8").digest("hex");
}

/** A signer with viem's LocalAccount `signMessage` shape (e.g. `privateKeyToAccount(key)`). */
export type ManifestSigner = { address: Address; signMessage(args: { message: { raw: Hex } }): Promise<Hex> };

/** Signs a manifest: EIP-191 personal message over the 32 raw root bytes. `publisher` must be the signer. */
export async function signManifest(manifest: UnsignedManifest, signer: ManifestSigner): Promise<Manifest> {
  if (getAddress(manifest.publisher) !== getAddress(signer.address))
    throw new InvalidManifestError({ field: "publisher", reason: `is ${manifest.publisher}, but the signer is ${signer.address}` });
  const contentId = manifestRoot(manifest);
  const signature = await signer.signMessage({ message: { raw: `0x${contentId}` } });
  return { ...manifest, contentId, signature };
}

/**
 * Full check of a signed manifest: structure, root == contentId (and == `expectedContentId`, the id
 * it was fetched under), signature recovers to the publisher. Returns the manifest.
 */
export async function verifyManifest(manifest: Manifest, options: { expectedContentId?: string } = {}): Promise<Manifest> {
  const computed = manifestRoot(manifest);
  if (computed !== manifest.contentId) throw new ManifestRootMismatchError({ expected: manifest.contentId, computed });
  if (options.expectedContentId !== undefined && options.expectedContentId !== computed)
    throw new ManifestRootMismatchError({ expected: options.expectedContentId, computed });
  let recovered: Address;
  try {
    recovered = await recoverMessageAddress({ message: { raw: `0x${computed}` }, signature: manifest.signature });
  } catch (cause) {
    throw new ManifestSignatureError({ publisher: manifest.publisher, cause });
  }
  if (recovered !== getAddress(manifest.publisher)) throw new ManifestSignatureError({ publisher: manifest.publisher, recovered });
  return manifest;
}

/** Throws ChunkHashMismatchError unless `bytes` is chunk `index` of `file`. `source` names where it came from. */
export function verifyChunk(file: ManifestFile, index: number, bytes: Uint8Array, source?: string): void {
  const expected = file.chunks[index];
  if (expected === undefined) throw new InvalidManifestError({ field: "chunk index", reason: `${index} is out of range for "${file.path}"` });
  const actual = sha256Hex(bytes);
  if (actual !== expected) throw new ChunkHashMismatchError({ path: file.path, index, expected, actual, ...(source ? { source } : {}) });
}

/** Digest identifying a file's bytes (sha256 over the raw chunk digests, hex): the edge's strong ETag. */
export function fileDigest(file: ManifestFile): string {
  const h = createHash("sha256");
  for (const c of file.chunks) h.update(Buffer.from(c, "hex"));
  return h.digest("hex");
}

/** Parses the wire form strictly (unknown keys rejected). Does not check root or signature: see verifyManifest. */
export function parseManifest(input: unknown): Manifest {
  const obj = expectObject(input, "manifest", ["version", "contentId", "chunkSize", "createdAt", "publisher", "files", "signature"], true);
  if (obj.version !== MANIFEST_VERSION) throw new InvalidManifestError({ field: "version", reason: `must be ${MANIFEST_VERSION}` });
  if (typeof obj.contentId !== "string" || !HEX64.test(obj.contentId))
    throw new InvalidManifestError({ field: "contentId", reason: "must be 64 lowercase hex chars" });
  if (typeof obj.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(obj.signature))
    throw new InvalidManifestError({ field: "signature", reason: "must be a 65-byte 0x hex signature" });
  if (typeof obj.publisher !== "string" || !isAddress(obj.publisher, { strict: false }))
    throw new InvalidManifestError({ field: "publisher", reason: "must be a 20-byte hex address" });
  if (!Array.isArray(obj.files)) throw new InvalidManifestError({ field: "files", reason: "must be an array" });
  const files = obj.files.map((raw, i): ManifestFile => {
    const f = expectObject(raw, `files[${i}]`, ["path", "size", "mediaType", "chunks"]);
    if (typeof f.size !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(f.size))
      throw new InvalidManifestError({ field: `files[${i}].size`, reason: "must be a decimal string" });
    if (typeof f.path !== "string") throw new InvalidManifestError({ field: `files[${i}].path`, reason: "must be a string" });
    if (typeof f.mediaType !== "string") throw new InvalidManifestError({ field: `files[${i}].mediaType`, reason: "must be a string" });
    if (!Array.isArray(f.chunks)) throw new InvalidManifestError({ field: `files[${i}].chunks`, reason: "must be an array" });
    return { path: f.path, size: BigInt(f.size), mediaType: f.mediaType, chunks: f.chunks as string[] };
  });
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    contentId: obj.contentId,
    chunkSize: obj.chunkSize as number,
    createdAt: obj.createdAt as number,
    publisher: getAddress(obj.publisher),
    files,
    signature: obj.signature as Hex,
  };
  validateManifest(manifest);
  return manifest;
}

// `field` names the object; its keys are named under it, except at the top, where the other
// checks name them bare ("version", not "manifest.version").
function expectObject(input: unknown, field: string, keys: string[], top = false): Record<string, unknown> {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new InvalidManifestError({ field, reason: "must be a JSON object" });
  const at = (k: string) => (top ? k : `${field}.${k}`);
  for (const k of Object.keys(input)) if (!keys.includes(k)) throw new InvalidManifestError({ field: at(k), reason: "is not a known field" });
  for (const k of keys) if (!Object.hasOwn(input, k)) throw new InvalidManifestError({ field: at(k), reason: "is missing" });
  return input as Record<string, unknown>;
}

/** The wire (JSON) form of a signed manifest. */
export function manifestToJson(manifest: Manifest): ManifestJson {
  return {
    version: manifest.version,
    contentId: manifest.contentId,
    chunkSize: manifest.chunkSize,
    createdAt: manifest.createdAt,
    publisher: manifest.publisher,
    files: manifest.files.map((f) => ({ path: f.path, size: f.size.toString(), mediaType: f.mediaType, chunks: f.chunks })),
    signature: manifest.signature,
  };
}

/** Serializes a signed manifest to pretty JSON text (the file `publish` writes and origins serve). */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifestToJson(manifest), null, 2)}\n`;
}
