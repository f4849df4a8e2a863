import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { BaseError } from "../protocol/errors.ts";
import { parseTokenAmount, TOKEN_SYMBOL, type InvalidAmountError } from "../protocol/tokenAmount.ts";
import { defaultRedeemPolicy } from "./redeemer.ts";
import { parseHoursWindow } from "./limits/hoursSchedule.ts";
import { isTimeZone } from "./limits/zonedTime.ts";

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
const hexKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 32-byte 0x hex private key");

const fileSchema = z
  .object({
    rpcUrl: z.string().url().optional(),
    deployment: z.string().min(1),
    privateKey: hexKey.optional(),
    keyFile: z.string().optional(),
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65_535).default(7070),
    /** URL consumers reach this node at (registered on chain); defaults to http://host:port. */
    endpoint: z.string().url().optional(),
    dataDir: z.string().min(1),
    cacheDir: z.string().optional(),
    maxCacheBytes: bytes.default(10n << 30n),
    origins: z.array(z.string().url()).default([]),
    pricePerGiB: amount,
    bytesPerTicket: bytes.default(1n << 20n),
    faceValue: amount.optional(),
    creditWindowBytes: bytes.default(4n << 20n),
    ticketExpirySeconds: z.number().int().min(600).default(86_400),
    fundsTtlSeconds: z.number().int().min(0).default(10),
    /** Threads that recover ticket signatures off the event loop; 0 recovers inline. Default: one fewer than the cores, at most 4. */
    signerThreads: z.number().int().min(0).max(64).optional(),
    region: z.string().max(32).default(""),
    capacityMbps: z.number().int().positive().default(100),
    services: z.array(z.enum(["cdn", "relay"])).min(1).default(["cdn"]),
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
export type NodeConfig = Omit<z.output<typeof fileSchema>, "keyFile" | "privateKey" | "admin"> & {
  privateKey: `0x${string}`;
  cacheDir: string;
  faceValue: bigint;
  admin: Omit<z.output<typeof fileSchema>["admin"], "port"> & { port: number; portDefaulted: boolean };
};

/** Command-line flags that override file values (already typed by the CLI's parseArgs). */
export type NodeConfigFlags = Partial<Record<
  "rpc" | "deployment" | "key" | "key-file" | "host" | "port" | "endpoint" | "data-dir" | "cache-dir" | "max-cache-bytes" | "price-per-gib" | "bytes-per-ticket" | "face-value" | "credit-window-bytes" | "region" | "admin-host" | "admin-port",
  string
>> & { origin?: string[] };

const FLAG_FIELDS: Record<string, string> = {
  rpc: "rpcUrl", deployment: "deployment", key: "privateKey", "key-file": "keyFile", host: "host", port: "port",
  endpoint: "endpoint", "data-dir": "dataDir", "cache-dir": "cacheDir", "max-cache-bytes": "maxCacheBytes",
  "price-per-gib": "pricePerGiB", "bytes-per-ticket": "bytesPerTicket", "face-value": "faceValue",
  "credit-window-bytes": "creditWindowBytes", region: "region",
};

/**
 * Loads the node config: the file (JSON, or YAML by extension) if given, then flags on top, then
 * `env.BANDMINT_KEY` if no key was set. Relative paths in the file are relative to the file.
 * Throws NodeConfigError naming the field and the file (or "flags").
 */
export async function loadNodeConfig({ file, flags = {}, env = {} }: { file?: string; flags?: NodeConfigFlags; env?: Record<string, string | undefined> }): Promise<NodeConfig> {
  let raw: Record<string, unknown> = {};
  const source = file ?? "flags";
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (cause) {
      throw new NodeConfigError({ source: file, field: "(file)", reason: "cannot be read", cause });
    }
    try {
      const parsed: unknown = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
      raw = (parsed ?? {}) as Record<string, unknown>;
    } catch (cause) {
      throw new NodeConfigError({ source: file, field: "(file)", reason: `is not valid ${/\.ya?ml$/i.test(file) ? "YAML" : "JSON"}`, cause });
    }
    const base = dirname(resolve(file));
    for (const key of ["deployment", "keyFile", "dataDir", "cacheDir"]) {
      if (typeof raw[key] === "string") raw[key] = resolve(base, raw[key] as string);
    }
  }
  for (const [flag, field] of Object.entries(FLAG_FIELDS)) {
    const v = flags[flag as keyof NodeConfigFlags];
    if (typeof v === "string") raw[field] = field === "port" ? Number(v) : ["deployment", "keyFile", "dataDir", "cacheDir"].includes(field) ? resolve(v) : v;
  }
  if (flags.origin !== undefined && flags.origin.length > 0) raw.origins = flags.origin;
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
  let privateKey: string | undefined = c.privateKey ?? env.BANDMINT_KEY;
  if (privateKey === undefined && c.keyFile !== undefined) {
    try {
      privateKey = (await readFile(c.keyFile, "utf8")).trim() as `0x${string}`;
    } catch (cause) {
      throw new NodeConfigError({ source, field: "keyFile", reason: `cannot read ${c.keyFile}`, cause });
    }
  }
  if (privateKey === undefined || !/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
    throw new NodeConfigError({ source, field: "privateKey", reason: "set privateKey, keyFile, --key, --key-file or BANDMINT_KEY to a 32-byte 0x hex key" });
  }
  const { keyFile: _k, privateKey: _p, ...rest } = c;
  return {
    ...rest,
    privateKey: privateKey as `0x${string}`,
    cacheDir: c.cacheDir ?? resolve(c.dataDir, "cache"),
    admin: { ...c.admin, port: c.admin.port ?? (c.port === 0 || c.port === 65_535 ? 0 : c.port + 1), portDefaulted: c.admin.port === undefined },
    // Default face value: 100 tickets' worth, Livepeer's rule of thumb (fee ~1% of face value).
    faceValue: c.faceValue ?? ((c.pricePerGiB * c.bytesPerTicket + (1n << 30n) - 1n) >> 30n) * 100n,
  };
}
