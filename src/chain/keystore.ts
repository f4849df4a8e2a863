import { createCipheriv, createDecipheriv, pbkdf2, randomBytes, randomUUID, scrypt, timingSafeEqual } from "node:crypto";
import { chmod, readFile, rename, rm, writeFile } from "node:fs/promises";
import { bytesToHex, hexToBytes, keccak256, type Address, type Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import * as z from "zod";
import { BaseError } from "../protocol/errors.ts";

// An encrypted private key in the Web3 Secret Storage format, version 3 (the JSON keystore geth,
// Clef, MetaMask exports, ethers and web3.js read and write): scrypt (or pbkdf2 when reading)
// derives a 32-byte key from the passphrase, its first half is the AES-128-CTR key for the private
// key, and keccak256(derived[16..32] ‖ ciphertext) is the MAC that tells a wrong passphrase from a
// right one before anything is decrypted. Only node:crypto primitives and viem's keccak256 are
// composed here; keystore.test.ts decrypts the specification's own test vectors.

/** scrypt cost of a new keystore. `standard` is geth's default; `light` fits a router's memory. */
export type ScryptStrength = "standard" | "light";

/**
 * scrypt parameters by strength. standard: n = 2^18, r = 8, p = 1 (geth's StandardScryptN/P):
 * 256 MiB of memory and about a second per unlock. light: n = 2^12, r = 8, p = 6 (geth's
 * LightScryptN/P): 4 MiB, for boxes with 128 MiB of RAM or less, at 64x less work per guess.
 */
export const SCRYPT_PARAMS: Record<ScryptStrength, { n: number; r: number; p: number }> = {
  standard: { n: 262_144, r: 8, p: 1 },
  light: { n: 4_096, r: 8, p: 6 },
};

/** The keystore cannot be used: unreadable, not a v3 keystore, or the passphrase is wrong. Never carries the passphrase. */
export class KeystoreError extends BaseError {
  override name = "KeystoreError";
  readonly path: string;
  readonly reason: "unreadable" | "malformed" | "wrong-passphrase" | "unsupported" | "exists";
  constructor({ path, reason, message, details, cause }: { path: string; reason: KeystoreError["reason"]; message: string; details?: string; cause?: unknown }) {
    super(`Keystore ${path}: ${message}`, { ...(details !== undefined ? { details } : {}), ...(cause !== undefined ? { cause } : {}) });
    this.path = path;
    this.reason = reason;
  }
}

const hex = (bytes?: number) => z.string().regex(bytes === undefined ? /^(0x)?([0-9a-fA-F]{2})+$/ : new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`), bytes === undefined ? "must be hex" : `must be ${bytes} bytes of hex`);
const scryptParams = z.object({ dklen: z.literal(32), n: z.number().int().min(2), r: z.number().int().min(1), p: z.number().int().min(1), salt: hex() });
const pbkdf2Params = z.object({ dklen: z.literal(32), c: z.number().int().min(1), prf: z.literal("hmac-sha256"), salt: hex() });

// Field names are matched case-insensitively at the top (some writers use "Crypto"), as ethers does.
const keystoreSchema = z.object({
  version: z.literal(3),
  id: z.string().optional(),
  address: z.string().optional(),
  crypto: z.object({
    cipher: z.literal("aes-128-ctr"),
    cipherparams: z.object({ iv: hex(16) }),
    ciphertext: hex(32),
    kdf: z.enum(["scrypt", "pbkdf2"]),
    kdfparams: z.union([scryptParams, pbkdf2Params]),
    mac: hex(32),
  }),
});

/** A parsed Web3 Secret Storage v3 document. */
export type Keystore = z.output<typeof keystoreSchema>;

const strip = (h: string): Hex => (h.startsWith("0x") ? h : `0x${h}`) as Hex;

async function deriveKey(passphrase: string, crypto: Keystore["crypto"]): Promise<Buffer> {
  const salt = Buffer.from(hexToBytes(strip(crypto.kdfparams.salt)));
  const password = Buffer.from(passphrase.normalize("NFKC"), "utf8");
  if (crypto.kdf === "scrypt") {
    const { n, r, p } = crypto.kdfparams as z.output<typeof scryptParams>;
    if ((n & (n - 1)) !== 0) throw new Error("scrypt n must be a power of two");
    // OpenSSL enforces RFC 7914's n < 2^(16·r), which other writers do not (the specification's own
    // test vector has n = 2^18 with r = 1): those keystores go through @noble/hashes' scrypt (viem's
    // own dependency, the same version), everything else through OpenSSL, which is several times faster.
    if (Math.log2(n) >= 16 * r) {
      const { scryptAsync } = await import("@noble/hashes/scrypt");
      return Buffer.from(await scryptAsync(password, salt, { N: n, r, p, dkLen: 32, maxmem: 2 ** 32 }));
    }
    // node's default maxmem (32 MiB) refuses geth's standard n = 2^18, r = 8 (128·n·r = 256 MiB).
    const maxmem = 128 * (n + 2) * r + 128 * r * p + 1024 * 1024;
    return new Promise((resolve, reject) => scrypt(password, salt, 32, { N: n, r, p, maxmem }, (e, key) => (e ? reject(e) : resolve(key))));
  }
  const { c } = crypto.kdfparams as z.output<typeof pbkdf2Params>;
  return new Promise((resolve, reject) => pbkdf2(password, salt, c, 32, "sha256", (e, key) => (e ? reject(e) : resolve(key))));
}

function mac(derived: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.from(hexToBytes(keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext]))));
}

/** Parses a keystore document; throws KeystoreError naming the bad field. */
export function parseKeystore(json: unknown, path = "<keystore>"): Keystore {
  // Accept "Crypto" (as some writers spell it) the way ethers and geth do.
  const raw = json !== null && typeof json === "object" && !("crypto" in json) && "Crypto" in json ? { ...json, crypto: (json as { Crypto: unknown }).Crypto } : json;
  const result = keystoreSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join(".") || "(root)";
    const unsupported = /^crypto\.(cipher|kdf|kdfparams\.prf)$/.test(field) || field === "version";
    throw new KeystoreError({
      path, reason: unsupported ? "unsupported" : "malformed",
      message: `${field}: ${issue.message}`,
      details: "Expected a Web3 Secret Storage v3 keystore (aes-128-ctr with scrypt or pbkdf2), as written by 'bandmint key new', geth or ethers.",
    });
  }
  return result.data;
}

/** Decrypts a keystore with `passphrase`; resolves with the private key. Throws KeystoreError on a wrong passphrase (MAC mismatch). */
export async function decryptKeystore(keystore: Keystore, passphrase: string, path = "<keystore>"): Promise<Hex> {
  const c = keystore.crypto;
  let derived: Buffer;
  try {
    derived = await deriveKey(passphrase, c);
  } catch (cause) {
    throw new KeystoreError({ path, reason: "unsupported", message: `cannot derive the key (${c.kdf} parameters)`, cause });
  }
  const ciphertext = Buffer.from(hexToBytes(strip(c.ciphertext)));
  if (!timingSafeEqual(mac(derived, ciphertext), Buffer.from(hexToBytes(strip(c.mac))))) {
    throw new KeystoreError({ path, reason: "wrong-passphrase", message: "wrong passphrase (the MAC does not match)" });
  }
  const decipher = createDecipheriv("aes-128-ctr", derived.subarray(0, 16), Buffer.from(hexToBytes(strip(c.cipherparams.iv))));
  const key = bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  if (keystore.address !== undefined && /^(0x)?[0-9a-fA-F]{40}$/.test(keystore.address)) {
    const stated = strip(keystore.address).toLowerCase();
    if (privateKeyToAddress(key).toLowerCase() !== stated) {
      throw new KeystoreError({ path, reason: "malformed", message: `the decrypted key's address is not the stated ${stated}` });
    }
  }
  return key;
}

/** Encrypts `privateKey` under `passphrase` into a new v3 keystore (fresh salt, IV and id). */
export async function encryptKeystore(privateKey: Hex, passphrase: string, options: { strength?: ScryptStrength } = {}): Promise<Keystore & { address: string; id: string }> {
  const { n, r, p } = SCRYPT_PARAMS[options.strength ?? "standard"];
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const crypto = {
    cipher: "aes-128-ctr" as const,
    cipherparams: { iv: iv.toString("hex") },
    ciphertext: "",
    kdf: "scrypt" as const,
    kdfparams: { dklen: 32 as const, n, r, p, salt: salt.toString("hex") },
    mac: "",
  };
  const derived = await deriveKey(passphrase, crypto);
  const cipher = createCipheriv("aes-128-ctr", derived.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(hexToBytes(privateKey)), cipher.final()]);
  crypto.ciphertext = ciphertext.toString("hex");
  crypto.mac = mac(derived, ciphertext).toString("hex");
  return { version: 3, id: randomUUID(), address: privateKeyToAddress(privateKey).slice(2).toLowerCase(), crypto };
}

/** The account address a keystore states (without decrypting), or undefined when it states none. */
export function keystoreAddress(keystore: Keystore): Address | undefined {
  return keystore.address !== undefined && /^(0x)?[0-9a-fA-F]{40}$/.test(keystore.address) ? (strip(keystore.address) as Address) : undefined;
}

/** Reads and parses a keystore file; throws KeystoreError (unreadable / malformed). */
export async function readKeystore(path: string): Promise<Keystore> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new KeystoreError({ path, reason: "unreadable", message: "cannot be read", cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeystoreError({ path, reason: "malformed", message: "is not JSON" });
  }
  return parseKeystore(json, path);
}

/**
 * Writes a keystore file readable by its owner only (0600), atomically; refuses to replace an
 * existing file unless `overwrite` (a lost keystore is a lost key).
 */
export async function writeKeystoreFile(path: string, keystore: Keystore, options: { overwrite?: boolean } = {}): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  // The umask cannot widen 0600, but a pre-existing tmp file could; be explicit.
  await chmod(tmp, 0o600);
  if (!options.overwrite) {
    try {
      await writeFile(path, "", { flag: "wx", mode: 0o600 });
    } catch (cause) {
      await rm(tmp, { force: true });
      throw new KeystoreError({ path, reason: "exists", message: "already exists; refusing to overwrite a key", cause });
    }
  }
  await rename(tmp, path);
}

/** Where a keystore's passphrase comes from: a file, the environment, or a prompt (in that order). */
export type PassphraseSource = {
  /** A file whose first line is the passphrase (a service's credentials file). */
  passphraseFile?: string | undefined;
  /** Looked up for BANDMINT_PASSPHRASE. */
  env?: Record<string, string | undefined>;
  /** Asks a person (no echo); absent when nobody is at a terminal. */
  prompt?: ((question: string) => Promise<string>) | undefined;
};

/** Reads a passphrase file: its first line, without the line ending (as geth's --password reads it). */
export async function readPassphraseFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new KeystoreError({ path, reason: "unreadable", message: "the passphrase file cannot be read", cause });
  }
  return text.split(/\r?\n/, 1)[0] ?? "";
}

/** The passphrase for the keystore at `path`, from the first source that has one; KeystoreError if none does. */
export async function keystorePassphrase(path: string, source: PassphraseSource): Promise<string> {
  if (source.passphraseFile !== undefined) return readPassphraseFile(source.passphraseFile);
  const fromEnv = source.env?.BANDMINT_PASSPHRASE;
  if (fromEnv !== undefined) return fromEnv;
  if (source.prompt !== undefined) return source.prompt(`Passphrase for ${path}: `);
  throw new KeystoreError({
    path, reason: "unreadable", message: "no passphrase given",
    details: "Set BANDMINT_PASSPHRASE, pass a passphrase file (passphraseFile in the config, --passphrase-file), or run at a terminal to be asked.",
  });
}

/** Reads the keystore at `path` and decrypts it with the passphrase from `source`. */
export async function unlockKeystore(path: string, source: PassphraseSource): Promise<Hex> {
  const keystore = await readKeystore(path);
  return decryptKeystore(keystore, await keystorePassphrase(path, source), path);
}
