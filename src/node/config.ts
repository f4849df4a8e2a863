import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import * as z from "zod";
import { unlockKeystore, type KeystoreError } from "../chain/keystore.ts";
import { BaseError } from "../protocol/errors.ts";
import { parseTokenAmount, TOKEN_SYMBOL, type InvalidAmountError } from "../protocol/tokenAmount.ts";
import { SECP256K1_CHOICES } from "../protocol/secp256k1.ts";
import { priceOfBytes } from "../protocol/ticketParams.ts";
import { defaultRedeemPolicy } from "./redeemer.ts";
import { parseHoursWindow } from "./limits/hoursSchedule.ts";
import { isTimeZone } from "./limits/zonedTime.ts";
import { defaultRelayOptions } from "./relay/createRelay.ts";

// The provider node's configuration, parsed once at the edge (the CLI) from a JSON or YAML file
// plus flags (flags win). Below this module nothing reads files, flags or the environment.

/** A config value is invalid; names the field and where it came from. */
export class NodeConfigError extends BaseError {
  override name = "NodeConfigError";
  field: string;
  source: string;
  constructor({ source, field, reason, cause }: { source: string; field: string; reason: string; cause?: unknown }) {
    super(`${source}: ${field}: ${reason}`, { cause });
    this.field = field;
    this.source = source;
  }
}

/**
 * Parses a config amount: a plain integer (string or JSON number) is wei ("1000"), anything with a
 * decimal point or the unit is tokens through the shared parser ("1.5 BAND"). A bare decimal such as
 * "1.5" is refused: in a node config it is ambiguous between wei and tokens.
 */
export function parseConfigAmount(value: string | number): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error("must be a non-negative integer (wei) or a string");
    return BigInt(value);
  }
  const s = value.trim();
  if (/^\d+$/.test(s)) return BigInt(s);
  if (!new RegExp(`${TOKEN_SYMBOL}$`, "i").test(s)) throw new Error(`"${value}" is neither an integer wei amount nor "<decimal> ${TOKEN_SYMBOL}"`);
  try {
    return parseTokenAmount(s);
  } catch (e) {
    throw new Error((e as InvalidAmountError).shortMessage ?? (e as Error).message, { cause: e });
  }
}

/** Bytes one ticket pays for unless configured (docs/protocol/payments.md §1.1, "Ticket size"). */
export const DEFAULT_BYTES_PER_TICKET = 8n << 20n;
/** Unpaid bytes a node serves ahead of payment unless configured: four tickets' worth. */
export const DEFAULT_CREDIT_WINDOW_BYTES = 4n * DEFAULT_BYTES_PER_TICKET;
/** Bytes whose price is the default face value (Livepeer's rule of thumb: a fee of ~1 % of face value at 1 MiB tickets). */
const FACE_VALUE_BYTES = 100n << 20n;

/**
 * The face value a node uses unless configured: the price of 100 MiB, or of one ticket if that is
 * more. It does not grow with the ticket size: a bigger ticket wins more often instead (winProb =
 * ticket price / face value), so senders' deposits, winners per GiB (redemption gas) and the
 * provider's payout variance stay what they are whatever `bytesPerTicket` is.
 */
export function defaultFaceValue(pricePerGiB: bigint, bytesPerTicket: bigint): bigint {
  return priceOfBytes(pricePerGiB, bytesPerTicket > FACE_VALUE_BYTES ? bytesPerTicket : FACE_VALUE_BYTES);
}

/** Parses "1048576", "4 MiB", "10GiB" (binary units) into bytes. */
export function parseByteSize(value: string | number): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error("must be a non-negative integer");
    return BigInt(value);
  }
  const m = /^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(value.trim());
  if (m === null) throw new Error(`"${value}" is not a byte size like 1048576 or "4 MiB"`);
  const unit = { B: 0n, KiB: 10n, MiB: 20n, GiB: 30n, TiB: 40n }[(m[2] ?? "B") as "B"];
  return BigInt(m[1]!) << unit;
}

const amount = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseConfigAmount(v);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});
const bytes = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseByteSize(v);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});
// A price, a ticket size, a face value or a credit window of 0 cannot work (ticketParams and the
// registry refuse them): say so here, naming the field and the file, not when the node starts.
const positive = <T extends z.ZodType<bigint>>(schema: T) => schema.refine((v) => v > 0n, "must be greater than 0");
const port = z.number().int().min(1).max(65_535);
const hexKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 32-byte 0x hex private key");

const fileSchema = z
  .object({
    rpcUrl: z.string().url().optional(),
    deployment: z.string().min(1),
    privateKey: hexKey.optional(),
    keyFile: z.string().optional(),
    /** An encrypted keystore (Web3 Secret Storage v3) holding the provider key; see `bandmint key new`. */
    keystore: z.string().min(1).optional(),
    /** A file whose first line is the keystore's passphrase (else BANDMINT_PASSPHRASE, else a prompt). */
    passphraseFile: z.string().min(1).optional(),
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65_535).default(7070),
    /** URL consumers reach this node at (registered on chain); defaults to http(s)://host:port. */
    endpoint: z.string().url().optional(),
    /** Serve consumers over https with this PEM certificate (chain) and key; reloaded when the files change. */
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
    dataDir: z.string().min(1),
    cacheDir: z.string().optional(),
    maxCacheBytes: bytes.default(10n << 30n),
    origins: z.array(z.string().url()).default([]),
    pricePerGiB: positive(amount),
    bytesPerTicket: positive(bytes).default(DEFAULT_BYTES_PER_TICKET),
    faceValue: positive(amount).optional(),
    creditWindowBytes: positive(bytes).default(DEFAULT_CREDIT_WINDOW_BYTES),
    ticketExpirySeconds: z.number().int().min(600).default(86_400),
    fundsTtlSeconds: z.number().int().min(0).default(10),
    /** While the chain is unreachable, a sender's last funds read stand in for this long after that read (0: never). */
    fundsStaleSeconds: z.number().int().min(0).default(300),
    /** Threads that recover ticket signatures off the event loop; 0 recovers inline. Default follows the host (hostDefaults.ts). */
    signerThreads: z.number().int().min(0).max(64).optional(),
    /** Ask the router for a port forward (UPnP IGD or NAT-PMP), renewed while the node runs. */
    portMapping: z
      .object({
        protocol: z.enum(["upnp", "natpmp"]),
        /** UPnP: the gateway's root description URL; NAT-PMP: the router's address. Default: discovered. */
        gateway: z.string().min(1).optional(),
        /** This box's LAN address the router forwards to; default: the first non-loopback IPv4 address. */
        internalHost: z.string().min(1).optional(),
        leaseSeconds: z.number().int().min(120).default(3600),
      })
      .strict()
      .optional(),
    /** The self-check of whether consumers can reach this node (reported in /status). */
    reachability: z
      .object({
        /** Nodes asked to dial this one back; default: other providers from the registry. */
        peers: z.array(z.string().url()).optional(),
        intervalSeconds: z.number().int().min(10).default(1800),
        /** Answer other nodes' dial-back requests (they only ever reach the asker's own address). */
        serveDialback: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** Commit tickets on a writer thread (true) or on the event loop (false). Default follows the host's memory. */
    ticketWriterThread: z.boolean().optional(),
    /** Seconds without tickets after which the signer and writer threads stop (they restart on demand); 0 keeps them running. */
    threadIdleSeconds: z.number().min(0).default(60),
    /** Hot chunks kept in memory ("32 MiB"). Default follows the host's memory: 1/16 of it, 4 MiB to 256 MiB. */
    memoryCacheBytes: bytes.optional(),
    /** secp256k1 for ticket checks: native if it loads (auto, warns when it does not), native only, or javascript. Env BANDMINT_SECP256K1. */
    secp256k1: z.enum(SECP256K1_CHOICES).default("auto"),
    region: z.string().max(32).default(""),
    capacityMbps: z.number().int().positive().default(100),
    services: z.array(z.enum(["cdn", "relay"])).min(1).default(["cdn"]),
    /** Relay mode (docs/protocol/relay.md): where tunnels may go and how many a sender may hold. */
    relay: z
      .object({
        /** Destination ports refused (25: no spam through home connections). */
        denyPorts: z.array(port).default([25]),
        /** If set, the only destination ports allowed. */
        allowPorts: z.array(port).optional(),
        /** CIDRs ("203.0.113.0/24") and host names ("example.com", "*.example.com") refused. */
        denyDestinations: z.array(z.string().min(1)).default([]),
        /** If set, the only destinations allowed (CIDRs and host names). */
        allowDestinations: z.array(z.string().min(1)).optional(),
        /**
         * "host:port" pairs allowed even where the address is forbidden (loopback, private...): for
         * tests and the local network only. Empty by default: a home node never relays into its LAN.
         */
        testTargets: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:]+):\d{1,5}$/, 'must be "host:port"')).default([]),
        unpaidGraceSeconds: z.number().positive().default(defaultRelayOptions.unpaidGraceMs / 1000),
        maxTunnelsPerSender: z.number().int().positive().default(defaultRelayOptions.maxTunnelsPerSender),
        connectsPerMinutePerSender: z.number().int().positive().default(defaultRelayOptions.connectsPerMinutePerSender),
        maxTunnels: z.number().int().positive().default(defaultRelayOptions.maxTunnels),
        connectTimeoutSeconds: z.number().positive().default(defaultRelayOptions.connectTimeoutMs / 1000),
        idleTimeoutSeconds: z.number().positive().default(defaultRelayOptions.idleTimeoutMs / 1000),
      })
      .strict()
      .prefault({}),
    stake: amount.optional(),
    redeem: z
      .object({
        maxFeeShareBps: z.number().int().min(0).max(10_000).default(defaultRedeemPolicy.maxFeeShareBps),
        deadlineMarginSeconds: z.number().int().min(0).default(defaultRedeemPolicy.deadlineMarginSeconds),
        maxBatch: z.number().int().min(1).max(256).default(defaultRedeemPolicy.maxBatch),
        intervalSeconds: z.number().positive().default(defaultRedeemPolicy.intervalMs / 1000),
        maxBackoffSeconds: z.number().positive().default(defaultRedeemPolicy.maxBackoffMs / 1000),
        /** Token wei one native (gas) wei is worth, x 1e18: converts gas fees into token for the fee rule. */
        tokenPerNativeE18: amount.default(10n ** 18n),
      })
      .strict()
      // prefault, not default: zod 4 returns a default as is, unparsed, so `.default({})` left every
      // redeem field undefined without a config file (intervalSeconds undefined: a 1 ms redeem loop).
      .prefault({}),
    /** The operator's limits (payments.md §3.1); each is off unless set. */
    limits: z
      .object({
        /** IANA zone of `schedule` and of the quota's reset day. */
        timeZone: z.string().default("UTC").refine(isTimeZone, "is not an IANA time zone (e.g. \"Europe/Berlin\")"),
        /** Bytes per second for delivery and relay together, e.g. "10 MiB". */
        ratePerSecond: bytes.refine((b) => b > 0n, "must be positive").optional(),
        /** Token bucket size; default a quarter second at the rate (at least 64 KiB). */
        burstBytes: bytes.optional(),
        quota: z.object({ bytes: bytes.refine((b) => b > 0n, "must be positive"), resetDay: z.number().int().min(1).max(31).default(1) }).strict().optional(),
        /** Local hours ("HH:MM-HH:MM") during which the node takes new work. */
        schedule: z
          .array(z.string().superRefine((w, ctx) => {
            try {
              parseHoursWindow(w);
            } catch (e) {
              ctx.addIssue({ code: "custom", message: (e as Error).message });
            }
          }))
          .min(1)
          .optional(),
        maxSessions: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    /** The admin listener: dashboard, admin API, /metrics. */
    admin: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default("127.0.0.1"),
        /** Default: the node's port + 1 (any free port when the node's port is 0). */
        port: z.number().int().min(0).max(65_535).optional(),
        /** Required on every API request when set; generated into dataDir/admin.token when host is not loopback. */
        token: z.string().min(16).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The parsed node configuration (money and bytes as bigint, paths absolute). */
export type NodeConfig = Omit<z.output<typeof fileSchema>, "keyFile" | "privateKey" | "keystore" | "passphraseFile" | "admin"> & {
  privateKey: `0x${string}`;
  cacheDir: string;
  faceValue: bigint;
  admin: Omit<z.output<typeof fileSchema>["admin"], "port"> & { port: number; portDefaulted: boolean };
};

/** Command-line flags that override file values (already typed by the CLI's parseArgs). */
export type NodeConfigFlags = Partial<Record<
  "rpc" | "deployment" | "key" | "key-file" | "keystore" | "passphrase-file" | "host" | "port" | "endpoint" | "data-dir" | "cache-dir" | "max-cache-bytes" | "price-per-gib" | "bytes-per-ticket" | "face-value" | "credit-window-bytes" | "region" | "services" | "admin-host" | "admin-port",
  string
>> & { origin?: string[]; "relay-test-target"?: string[] };

// Fields holding file paths: relative ones resolve against the config file (or the working directory for flags).
const PATH_FIELDS = ["deployment", "keyFile", "keystore", "passphraseFile", "dataDir", "cacheDir"];

const FLAG_FIELDS: Record<string, string> = {
  rpc: "rpcUrl", deployment: "deployment", key: "privateKey", "key-file": "keyFile", keystore: "keystore", "passphrase-file": "passphraseFile", host: "host", port: "port",
  endpoint: "endpoint", "data-dir": "dataDir", "cache-dir": "cacheDir", "max-cache-bytes": "maxCacheBytes",
  "price-per-gib": "pricePerGiB", "bytes-per-ticket": "bytesPerTicket", "face-value": "faceValue",
  "credit-window-bytes": "creditWindowBytes", region: "region",
};

/**
 * Loads the node config: the file (JSON, or YAML by extension) if given, then flags on top, then
 * `env.BANDMINT_KEY` if no key was set. Relative paths in the file are relative to the file.
 * Throws NodeConfigError naming the field and the file (or "flags").
 */
export async function loadNodeConfig({ file, flags = {}, env = {}, prompt }: {
  file?: string;
  flags?: NodeConfigFlags;
  env?: Record<string, string | undefined>;
  /** Asks for the keystore passphrase when neither passphraseFile nor BANDMINT_PASSPHRASE gives it. */
  prompt?: ((question: string) => Promise<string>) | undefined;
}): Promise<NodeConfig> {
  let raw: Record<string, unknown> = {};
  const source = file ?? "flags";
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (cause) {
      throw new NodeConfigError({ source: file, field: "(file)", reason: "cannot be read", cause });
    }
    let parsed: unknown;
    try {
      parsed = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
    } catch (cause) {
      throw new NodeConfigError({ source: file, field: "(file)", reason: `is not valid ${/\.ya?ml$/i.test(file) ? "YAML" : "JSON"}`, cause });
    }
    // Flags and the environment are merged into it below: a list or a scalar would throw a TypeError there.
    if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) {
      throw new NodeConfigError({ source: file, field: "(file)", reason: `must hold a map of fields (a JSON object or YAML mapping), not ${Array.isArray(parsed) ? "a list" : `a ${typeof parsed}`}` });
    }
    raw = (parsed ?? {}) as Record<string, unknown>;
    const base = dirname(resolve(file));
    for (const key of PATH_FIELDS) {
      if (typeof raw[key] === "string") raw[key] = resolve(base, raw[key] as string);
    }
    const tls = raw.tls as Record<string, unknown> | undefined;
    if (tls !== null && typeof tls === "object") {
      for (const key of ["cert", "key"]) if (typeof tls[key] === "string") tls[key] = resolve(base, tls[key] as string);
    }
  }
  for (const [flag, field] of Object.entries(FLAG_FIELDS)) {
    const v = flags[flag as keyof NodeConfigFlags];
    if (typeof v === "string") raw[field] = field === "port" ? Number(v) : PATH_FIELDS.includes(field) ? resolve(v) : v;
  }
  if (flags.origin !== undefined && flags.origin.length > 0) raw.origins = flags.origin;
  // A key flag replaces the file's key of the other kind (flags win).
  if (typeof flags.key === "string") delete raw.keystore;
  if (typeof flags.keystore === "string") delete raw.privateKey;
  if (typeof flags.services === "string") raw.services = flags.services.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
  if (flags["relay-test-target"] !== undefined && flags["relay-test-target"].length > 0) {
    raw.relay = { ...(raw.relay as Record<string, unknown> | undefined), testTargets: flags["relay-test-target"] };
  }
  if (raw.secp256k1 === undefined && env.BANDMINT_SECP256K1 !== undefined) raw.secp256k1 = env.BANDMINT_SECP256K1;
  if (flags["admin-host"] !== undefined || flags["admin-port"] !== undefined) {
    const admin = typeof raw.admin === "object" && raw.admin !== null ? { ...(raw.admin as Record<string, unknown>) } : {};
    if (flags["admin-host"] !== undefined) admin.host = flags["admin-host"];
    if (flags["admin-port"] !== undefined) admin.port = Number(flags["admin-port"]);
    raw.admin = admin;
  }
  const result = fileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join(".") || (issue.code === "unrecognized_keys" ? issue.keys.join(",") : "(root)");
    throw new NodeConfigError({ source, field, reason: issue.message });
  }
  const c = result.data;
  for (const field of ["cert", "key"] as const) {
    const path = c.tls?.[field];
    if (path === undefined) continue;
    try {
      await access(path, constants.R_OK);
    } catch (cause) {
      throw new NodeConfigError({ source, field: `tls.${field}`, reason: `cannot read ${path}`, cause });
    }
  }
  if (c.privateKey !== undefined && c.keystore !== undefined) {
    throw new NodeConfigError({ source, field: "keystore", reason: "set either privateKey or keystore, not both" });
  }
  let privateKey: string | undefined = c.privateKey;
  if (privateKey === undefined && c.keystore !== undefined) {
    try {
      privateKey = await unlockKeystore(c.keystore, { passphraseFile: c.passphraseFile, env, prompt });
    } catch (cause) {
      // The keystore error names the file and the reason; it never carries the passphrase.
      throw new NodeConfigError({ source, field: "keystore", reason: (cause as KeystoreError).shortMessage ?? String(cause), cause });
    }
  }
  privateKey ??= env.BANDMINT_KEY;
  if (privateKey === undefined && c.keyFile !== undefined) {
    try {
      privateKey = (await readFile(c.keyFile, "utf8")).trim() as `0x${string}`;
    } catch (cause) {
      throw new NodeConfigError({ source, field: "keyFile", reason: `cannot read ${c.keyFile}`, cause });
    }
  }
  if (privateKey === undefined || !/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
    throw new NodeConfigError({ source, field: "privateKey", reason: "set keystore (see 'bandmint key new'), or privateKey, keyFile, --key, --key-file or BANDMINT_KEY to a 32-byte 0x hex key" });
  }
  const { keyFile: _k, privateKey: _p, keystore: _s, passphraseFile: _f, ...rest } = c;
  return {
    ...rest,
    privateKey: privateKey as `0x${string}`,
    cacheDir: c.cacheDir ?? resolve(c.dataDir, "cache"),
    admin: { ...c.admin, port: c.admin.port ?? (c.port === 0 || c.port === 65_535 ? 0 : c.port + 1), portDefaulted: c.admin.port === undefined },
    faceValue: c.faceValue ?? defaultFaceValue(c.pricePerGiB, c.bytesPerTicket),
  };
}
